# Stage: features. One job per shard of tracks computes the STFT frames (DNN systems) and the
# MFCC texture windows (BFF baseline) of its tracks and writes both HDF5 shards.

rule extract_features:
    input:
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        frames=f"{RESULTS}/features/frames/shard_{{shard}}.h5",
        texture=f"{RESULTS}/features/texture/shard_{{shard}}.h5",
    params:
        # the whole parameter sets (common.smk): a change re-runs the stage, and they land in the shards' attrs
        n_shards=N_SHARDS,
        frames=FRAME_PARAMS,
        texture=TEXTURE_PARAMS,
    log:
        f"{RESULTS}/logs/features/shard_{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/features/shard_{{shard}}.tsv"
    threads: 1  # librosa's STFT is single-threaded: shards, not threads, use the cores
    resources:
        mem_mb=2048,
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/extract_features.py"
