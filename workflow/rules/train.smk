# Stage: train. Each net is trained once per condition and fold and reused by every system derived
# from it (500_RSD, 500_RSD_sum, 500_RSD_AF_LAll); each system then writes its test predictions.
# Rules: train_net (DNN, and its vote / sum-of-softmax test predictions), or train_stack_<shape> (the nets of
# one shape, every condition and fold, at once: systems.dnn.stack) -> train_learned (RF/SVM on learned
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
        # the test predictions of the net's two decision systems are made in the training job (torch is
        # imported there; a job of its own cost ~4 s), written whether or not systems.run has them
        **net_outputs("{net}", "{condition}", "{fold}"),
    wildcard_constraints:
        net=_one_of(ALONE_NETS),
    params:
        threads=TRAIN_THREADS,  # the nets' arithmetic follows it: not --cores, which caps a job's threads
        spec=lambda wildcards: NET_SPECS[wildcards.net].to_dict(),
        variant=lambda wildcards: _variant(wildcards.net),
        data=DNN_DATA,
        # each net's own settings only: an RBM or Hessian-free setting retrains the nets that use it, no other
        hf=lambda wildcards: DNN_CONFIG["hf"] if NET_SPECS[wildcards.net].optimizer == "hf" else {},
        rbm=lambda wildcards: DNN_CONFIG["rbm"] if NET_SPECS[wildcards.net].pretrain else {},
        seed=lambda wildcards: net_run_seed(wildcards.net, wildcards.condition, wildcards.fold),
        device=TRAIN_DEVICE,
        frame_params=FRAME_PARAMS,
    log:
        f"{RESULTS}/logs/train/{{net}}/{{condition}}/fold_{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{net}}/{{condition}}/fold_{{fold}}.tsv"
    threads: TRAIN_THREADS
    resources:
        mem_mb=train_mem_mb(),
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/train_dnn.py"


# systems.dnn.stack: the SGD nets of one shape train together, every condition and fold of them in one
# job (on a GPU: K small nets in about the time of one); its outputs are exactly train_net's for each
for _stack in NET_STACKS:

    rule:
        name:
            f"train_stack_{_stack}"
        input:
            frames=FRAME_SHARDS,
            partitions=sorted(set(stack_output(_stack, "partition"))),
            metadata=f"{RESULTS}/dataset/metadata.csv",
        output:
            models=stack_output(_stack, "model"),
            training_logs=stack_output(_stack, "training_log"),
            votes=stack_output(_stack, "vote"),
            sums=stack_output(_stack, "sum"),
        params:
            threads=TRAIN_THREADS,  # the nets' arithmetic follows it: not --cores, which caps a job's threads
            members=stack_members(_stack),
            data=DNN_DATA,
            rbm=DNN_CONFIG["rbm"] if any(NET_SPECS[net].pretrain for net in NET_STACKS[_stack]) else {},
            device=TRAIN_DEVICE,
            frame_params=FRAME_PARAMS,
        log:
            f"{RESULTS}/logs/train/stack_{_stack}.log",
        benchmark:
            f"{RESULTS}/benchmarks/train/stack_{_stack}.tsv"
        threads: TRAIN_THREADS
        resources:
            mem_mb=train_mem_mb(n_nets=len(stack_members(_stack))),
            # minutes, on a cluster (its name depends on the config, so profiles/slurm cannot list it): every
            # net of the shape under every condition and fold, in one job
            runtime=lambda wildcards, attempt: 960 * attempt,
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/train_stack.py"


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
        threads=TRAIN_THREADS,  # the nets' arithmetic follows it: not --cores, which caps a job's threads
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
        threads=TRAIN_THREADS,  # the plugin's threads (context.threads): not --cores, which caps a job's threads
        # its data files are inputs, not parameters
        spec=lambda wildcards: {k: v for k, v in CUSTOM_SYSTEMS[wildcards.system].items() if k != "files"},
        seed=lambda wildcards: derive(RESOLVED.seed, "custom", wildcards.system, wildcards.condition, wildcards.fold),
        device=TRAIN_DEVICE,
        sample_rate=DATASET.sample_rate,
        max_duration=DATASET.max_duration,
        feature_params=_custom_feature_params,
        code=lambda wildcards: CUSTOM_CODE[wildcards.system],  # not read by the script: a rerun trigger
        data=lambda wildcards: CUSTOM_DATA[wildcards.system],  # not read either: its data files' sizes and times
    log:
        f"{RESULTS}/logs/train/{{system}}/{{condition}}/fold_{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{system}}/{{condition}}/fold_{{fold}}.tsv"
    threads: TRAIN_THREADS
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/train_custom.py"
