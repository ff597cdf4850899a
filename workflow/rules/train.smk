# Stage: train. Each net is trained once per condition and fold and reused by every system derived
# from it (500_RSD, 500_RSD_sum, 500_RSD_AF_LAll); each system then writes its test predictions.
# Rules: train_net (DNN, and its vote / sum-of-softmax test predictions) -> train_learned (RF/SVM on learned
# features); train_bff (the MFCC baseline); train_custom (your own systems, systems.custom).
# System names: mgrfaults.systems.names, resolved once in common.smk (SYSTEM_SPECS, NET_SPECS, with
# systems.dnn.hidden_layers); each script receives its resolved spec (params.spec, SystemSpec.to_dict()),
# no script parses a name. The plugin protocol: mgrfaults.systems.custom.


rule train_net:
    input:
        frames=FRAME_SHARDS,
        partition=f"{RESULTS}/partitions/{{condition}}/fold_{{fold}}.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        model=f"{RESULTS}/models/{{net}}/{{condition}}/fold_{{fold}}.pt",
        training_log=f"{RESULTS}/training/{{net}}/{{condition}}/fold_{{fold}}_log.csv",
        # the test predictions of the net's two decision systems, made in the training job (torch is
        # imported there; a job of its own cost ~4 s): <net> (majority vote of frame argmaxes, the
        # 2014 code) and <net>_sum (summed softmax, the later code), written whether or not systems.run has them
        vote=f"{RESULTS}/predictions/{{net}}/{{condition}}/fold_{{fold}}.csv",
        sum=f"{RESULTS}/predictions/{{net}}_sum/{{condition}}/fold_{{fold}}.csv",
    wildcard_constraints:
        net=_one_of(NETS),
    params:
        spec=lambda wildcards: NET_SPECS[wildcards.net].to_dict(),
        variant=lambda wildcards: _variant(wildcards.net),
        data={k: v for k, v in DNN_CONFIG.items() if k not in ("variants", "head", "settings", "hf", "rbm")},
        hf=DNN_CONFIG["hf"],
        rbm=DNN_CONFIG["rbm"],
        seed=lambda wildcards: derive(RESOLVED.seed, "train", wildcards.net, wildcards.condition, wildcards.fold),
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
        seed=lambda wildcards: derive(RESOLVED.seed, "learned", wildcards.system, wildcards.condition, wildcards.fold),
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
        seed=lambda wildcards: derive(RESOLVED.seed, "bff", wildcards.system, wildcards.condition, wildcards.fold),
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


rule train_custom:
    """A custom system (systems.custom.<name>): the plugin fits on train (valid available), scores test."""
    input:
        unpack(_custom_inputs),
    output:
        predictions=f"{RESULTS}/predictions/{{system}}/{{condition}}/fold_{{fold}}.csv",
    wildcard_constraints:
        system=_one_of(list(CUSTOM_SYSTEMS)),
    params:
        spec=lambda wildcards: CUSTOM_SYSTEMS[wildcards.system],
        seed=lambda wildcards: derive(RESOLVED.seed, "custom", wildcards.system, wildcards.condition, wildcards.fold),
        device=TRAIN_DEVICE,
        sample_rate=DATASET.sample_rate,
        max_duration=DATASET.max_duration,
        feature_params=_custom_feature_params,
    log:
        f"{RESULTS}/logs/train/{{system}}/{{condition}}/fold_{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{system}}/{{condition}}/fold_{{fold}}.tsv"
    threads: TRAIN_THREADS
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/train_custom.py"
