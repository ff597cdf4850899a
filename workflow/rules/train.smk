# Stage: train. Each net is trained once per condition and fold and reused by every system derived
# from it (500_RSD, 500_RSD_sum, 500_RSD_AF_LAll); each system then writes its test predictions.
# Rules: train_net (DNN) -> predict_dnn (vote / sum of softmax) or train_learned (RF/SVM on learned
# features); train_bff (the MFCC baseline). System names: mgrfaults.systems.names. Every name is
# resolved once, with systems.dnn.hidden_layers, and each script receives its resolved spec
# (params.spec, SystemSpec.to_dict()); no script parses a name.
import re

from mgrfaults.seeds import derive
from mgrfaults.systems.names import net_specs, resolve_systems

SYSTEMS_CONFIG = config["systems"]
DNN_CONFIG = SYSTEMS_CONFIG["dnn"]
SYSTEM_SPECS = resolve_systems(SYSTEMS_CONFIG)  # an unknown name or a missing layer fails here
NET_SPECS = net_specs(SYSTEM_SPECS)
NETS = list(NET_SPECS)
FRAME_SHARDS = expand(f"{RESULTS}/features/frames/shard_{{shard}}.h5", shard=SHARDS)
TEXTURE_SHARDS = expand(f"{RESULTS}/features/texture/shard_{{shard}}.h5", shard=SHARDS)
TRAIN_THREADS = int(SYSTEMS_CONFIG["threads"])
TRAIN_DEVICE = SYSTEMS_CONFIG["device"]


rule train_net:
    input:
        frames=FRAME_SHARDS,
        partition=f"{RESULTS}/partitions/{{condition}}/fold_{{fold}}.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        model=f"{RESULTS}/models/{{net}}/{{condition}}/fold_{{fold}}.pt",
        training_log=f"{RESULTS}/training/{{net}}/{{condition}}/fold_{{fold}}_log.csv",
    wildcard_constraints:
        net=_one_of(NETS),
    params:
        spec=lambda wildcards: NET_SPECS[wildcards.net].to_dict(),
        variant=lambda wildcards: _variant(wildcards.net),
        data={k: v for k, v in DNN_CONFIG.items() if k not in ("variants", "head", "settings", "hf", "rbm")},
        hf=DNN_CONFIG["hf"],
        rbm=DNN_CONFIG["rbm"],
        seed=lambda wildcards: derive(config["seed"], "train", wildcards.net, wildcards.condition, wildcards.fold),
        device=TRAIN_DEVICE,
        frame_params=FRAME_PARAMS,
    log:
        f"{RESULTS}/logs/train/{{net}}/{{condition}}/fold_{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{net}}/{{condition}}/fold_{{fold}}.tsv"
    threads: TRAIN_THREADS
    resources:
        mem_mb=lambda wildcards: 1024 + int(DNN_CONFIG["cache_mb"]) * 2,
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/train_dnn.py"


rule predict_dnn:
    input:
        model=_net_model,
        frames=FRAME_SHARDS,
        partition=f"{RESULTS}/partitions/{{condition}}/fold_{{fold}}.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        predictions=f"{RESULTS}/predictions/{{system}}/{{condition}}/fold_{{fold}}.csv",
    wildcard_constraints:
        system=_one_of(_systems_where(lambda s: s.kind == "dnn" and s.decision in ("sum", "vote"))),
    params:
        decision=lambda wildcards: SYSTEM_SPECS[wildcards.system].decision,
        spec=_system_spec,
        device=TRAIN_DEVICE,
        frame_params=FRAME_PARAMS,
    log:
        f"{RESULTS}/logs/predict/{{system}}/{{condition}}/fold_{{fold}}.log",
    threads: TRAIN_THREADS
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/predict_dnn.py"


rule train_learned:
    input:
        net_model=_net_model,
        frames=FRAME_SHARDS,
        partition=f"{RESULTS}/partitions/{{condition}}/fold_{{fold}}.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        model=f"{RESULTS}/models/{{system}}/{{condition}}/fold_{{fold}}.pkl",
        predictions=f"{RESULTS}/predictions/{{system}}/{{condition}}/fold_{{fold}}.csv",
    wildcard_constraints:
        system=_one_of(_systems_where(lambda s: s.decision == "learned")),
    params:
        spec=_system_spec,
        learned=SYSTEMS_CONFIG["learned"],
        seed=lambda wildcards: derive(config["seed"], "learned", wildcards.system, wildcards.condition, wildcards.fold),
        device=TRAIN_DEVICE,
        frame_params=FRAME_PARAMS,
    log:
        f"{RESULTS}/logs/train/{{system}}/{{condition}}/fold_{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{system}}/{{condition}}/fold_{{fold}}.tsv"
    threads: TRAIN_THREADS
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/train_learned.py"


rule train_bff:
    input:
        texture=TEXTURE_SHARDS,
        partition=f"{RESULTS}/partitions/{{condition}}/fold_{{fold}}.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        model=f"{RESULTS}/models/{{system}}/{{condition}}/fold_{{fold}}.pkl",
        predictions=f"{RESULTS}/predictions/{{system}}/{{condition}}/fold_{{fold}}.csv",
    wildcard_constraints:
        system=_one_of(_systems_where(lambda s: s.kind == "bff")),
    params:
        spec=_system_spec,
        bff=SYSTEMS_CONFIG["bff"],
        seed=lambda wildcards: derive(config["seed"], "bff", wildcards.system, wildcards.condition, wildcards.fold),
        texture_params=TEXTURE_PARAMS,
    log:
        f"{RESULTS}/logs/train/{{system}}/{{condition}}/fold_{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{system}}/{{condition}}/fold_{{fold}}.tsv"
    threads: TRAIN_THREADS
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/train_bff.py"
