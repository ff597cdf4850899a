# Stage: faults. Fault detection from the audio, for any dataset (annotated or not): one job per
# shard decodes its excerpts and computes their descriptors (PCM hash, clip measure, landmark
# hashes, log-mel spectrogram); one job matches them all (landmark index, then a fine check) and
# groups the replicas; one compares the detections with the annotated faults; the report gets
# the counts, the confusion table and the replica pairs as HTML pages.


rule faults_describe:
    input:
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        f"{RESULTS}/faults/descriptors/shard_{{shard}}.npz",
    params:
        n_shards=FAULT_SHARDS_N,
        max_duration=DATASET.max_duration,
        peaks={"peaks_per_second": config["faults"]["peaks_per_second"]},
        clip_measure={"version": CLIP_MEASURE_VERSION},  # not read by the script: a rerun trigger
    log:
        f"{RESULTS}/logs/faults/describe_{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/faults/describe_{{shard}}.tsv"
    threads: 1
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/faults_describe.py"


rule faults_detect:
    input:
        expand(f"{RESULTS}/faults/descriptors/shard_{{shard}}.npz", shard=range(FAULT_SHARDS_N)),
    output:
        detected=f"{RESULTS}/faults/detected.csv",
        pairs=f"{RESULTS}/faults/landmark_pairs.csv",
    params:
        match={
            "min_matches": config["faults"]["min_matches"],
            "min_correlation": config["faults"]["min_correlation"],
            "min_band_correlation": config["faults"]["min_band_correlation"],
        },
        clip_threshold=config["faults"]["clip_threshold"],
    log:
        f"{RESULTS}/logs/faults/detect.log",
    benchmark:
        f"{RESULTS}/benchmarks/faults/detect.tsv"
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/faults_detect.py"


rule faults_evaluate:
    input:
        metadata=f"{RESULTS}/dataset/metadata.csv",
        detected=f"{RESULTS}/faults/detected.csv",
    output:
        evaluation=f"{RESULTS}/faults/evaluation.csv",
        counts=f"{RESULTS}/faults/counts_per_genre.csv",
        confusion=f"{RESULTS}/faults/confusion.csv",
        replica_pairs=f"{RESULTS}/faults/replica_pairs.csv",
    params:
        clip_threshold=config["faults"]["clip_threshold"],
    log:
        f"{RESULTS}/logs/faults/evaluate.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/faults_evaluate.py"


for _table in FAULT_TABLES:

    rule:
        """A fault table (evaluation, counts per genre, confusion, replica pairs) as an HTML page."""
        name:
            f"report_faults_{_table}"
        input:
            f"{RESULTS}/faults/{_table}.csv",
        output:
            report(
                f"{RESULTS}/report/faults/{_table}.html",
                caption=f"../report/faults_{_table}.rst",
                category="7. Faults",
                labels={"table": _table},
            ),
        params:
            table=_table,
        log:
            f"{RESULTS}/logs/report/faults/{_table}.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/faults_table_page.py"


rule faults_profile:
    """The dataset's fault profile: each genre's artist concentration beside its detected faults and durations."""
    input:
        metadata=f"{RESULTS}/dataset/metadata.csv",
        detected=f"{RESULTS}/faults/detected.csv",
        bad_audio=f"{RESULTS}/dataset/bad_audio.csv",
    output:
        table=f"{RESULTS}/faults/profile.csv",
        markdown=f"{RESULTS}/faults/profile.md",
        page=report(
            f"{RESULTS}/report/faults/profile.html",
            caption="../report/faults_profile.rst",
            category="7. Faults",
            labels={"table": "profile"},
        ),
    params:
        source=DATASET_LABEL,
        max_duration=DATASET.max_duration,
    log:
        f"{RESULTS}/logs/faults/profile.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/faults_profile.py"


rule dataset_check:
    """Target: a dataset's problems before any training: its undecodable files, faults detected from the audio and
    artist concentration (results/faults/profile.md), without features, partitions or systems."""
    input:
        rules.faults_profile.output,
        f"{RESULTS}/faults/counts_per_genre.csv",
        f"{RESULTS}/faults/replica_pairs.csv",
    message:
        f"The dataset's profile: {RESULTS}/faults/profile.md (artists and detected faults per genre); undecodable "
        f"files: {RESULTS}/dataset/bad_audio.csv; detected replica pairs: {RESULTS}/faults/replica_pairs.csv"
