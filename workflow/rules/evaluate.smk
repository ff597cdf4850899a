# Stage: evaluate. Per-run metrics, the runs table, the study's tables and figures.
# Reads predictions/{system}/{condition}/fold_{fold}.csv (train) and dataset/metadata.csv (data).

from mgrfaults.evaluation.summary import (
    config_digest as _config_digest,
    configuration_file_text as _configuration_file_text,
    git_commit as _git_commit,
    inputs_digest as _inputs_digest,
)
from mgrfaults.logs import snakefile_argument as _snakefile_argument

# provenance of results/summary.md: the checkout's commit and the digest of the validated config
SUMMARY_COMMIT = _git_commit(workflow.basedir)
SUMMARY_CONFIG_DIGEST = _config_digest(config)
PUBLISHED_ACCURACIES = str(Path(workflow.basedir) / "resources" / "published_accuracies.csv")
# and of the input files' states, as the jobs take them for rerun triggers: a file edited in place changes no
# configuration, and `snakemake --report` (which runs nothing) is refused where the summary was made from others
SUMMARY_INPUTS_DIGEST = _inputs_digest(
    {
        "audio": AUDIO_MANIFEST,
        "annotations": ANNOTATIONS_DIGEST,
        "lists": OWN_LISTS_DIGESTS,
        "custom_code": CUSTOM_CODE,
        "custom_data": CUSTOM_DATA,
        "published": content_digest([PUBLISHED_ACCURACIES]),
    }
)
# the validated config as a file that gives this run again (results/configuration.yaml)
CONFIGURATION_FILE = f"{RESULTS}/configuration.yaml"
# the -s a command run from this working folder needs (None where Snakemake finds the Snakefile by itself)
SNAKEFILE_ARGUMENT = _snakefile_argument(workflow.main_snakefile, Path.cwd())


wildcard_constraints:
    metric="accuracy|normalized_accuracy",


localrules:
    evaluate_runs,
    configuration,


rule evaluate_runs:
    """Per run: accuracy, normalised accuracy, per-class recall/precision/F and confusion (metrics JSON);
    the runs table, one row per (system, condition, fold); and the confound attribution table (accuracy per
    test group: artist_in_train, replica_in_train, neither). One job for every run: evaluating a run
    takes milliseconds, a Snakemake job ~1-3 s (a sweep point is one of these, not two)."""
    input:
        predictions=[f"{RESULTS}/predictions/{s}/{c}/fold_{f}.csv" for s, c, f in runs()],
        metadata=f"{RESULTS}/dataset/metadata.csv",
        partitions=_all_partitions(),
        # the attribution's replicas: annotated, or detected from the audio (a dataset without annotations has only
        # these); a synthetic dataset's annotations are its truth, which detection could only add false pairs to
        **({"detected": f"{RESULTS}/faults/detected.csv"} if DATASET.source != "synthetic" else {}),
    output:
        metrics=[f"{RESULTS}/metrics/{s}/{c}/fold_{f}.json" for s, c, f in runs()],
        table=report(
            f"{RESULTS}/tables/runs.csv",
            caption="../report/runs.rst",
            category="1. Accuracy tables",
            labels={"result": "runs table", "condition": "all", "format": "csv"},
        ),
        page=report(
            f"{RESULTS}/tables/html/runs.html",
            caption="../report/runs.rst",
            category="1. Accuracy tables",
            labels={"result": "runs table", "condition": "all", "format": "html"},
        ),
        attribution=report(
            f"{RESULTS}/tables/attribution.csv",
            caption="../report/attribution.rst",
            category="4. Confound attribution",
            labels={"result": "attribution table", "format": "csv"},
        ),
    params:
        runs=[list(r) for r in runs()],
        partitions=[list(cf) for cf in condition_folds()],  # the (condition, fold) of each input.partitions
        confidence=EVALUATE.confidence,
        seen_parts_of=SEEN_PARTS_OF,
    log:
        f"{RESULTS}/logs/evaluate/evaluate_runs.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/evaluate_runs.py"


rule condition_table:
    """Systems as rows: mean (std, 95% interval) accuracy and normalised accuracy over folds."""
    input:
        runs=f"{RESULTS}/tables/runs.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
        predictions=lambda wc: [p for s in SYSTEMS for p in _predictions(s, wc.condition)],
    output:
        table=report(
            f"{RESULTS}/tables/accuracy_{{condition}}.csv",
            caption="../report/accuracy_table.rst",
            category="1. Accuracy tables",
            labels={"result": "accuracy table", "condition": "{condition}", "format": "csv"},
        ),
        page=report(
            f"{RESULTS}/tables/html/accuracy_{{condition}}.html",
            caption="../report/accuracy_table.rst",
            category="1. Accuracy tables",
            labels={"result": "accuracy table", "condition": "{condition}", "format": "html"},
        ),
    params:
        predictions=_condition_predictions,
        systems=SYSTEMS,
        n_bootstrap=EVALUATE.bootstrap,
        confidence=EVALUATE.confidence,
        seed=lambda wc: derive(RESOLVED.seed, "evaluate", wc.condition),
    log:
        f"{RESULTS}/logs/evaluate/accuracy_{{condition}}.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/condition_table.py"


rule difference_table:
    """Per system: accuracy under the first compared condition minus the second, with a test, and its interval with
    the test excerpts clustered by artist (the metadata's artists)."""
    input:
        runs=f"{RESULTS}/tables/runs.csv",
        predictions=[p for s in SYSTEMS for c in COMPARE if c in CONDITIONS for p in _predictions(s, c)],
        metadata=f"{RESULTS}/dataset/metadata.csv",
    output:
        table=report(
            f"{RESULTS}/tables/difference.csv",
            caption="../report/difference_table.rst",
            category="2. Condition difference",
            labels={"result": "difference table", "condition": COMPARE_LABEL, "format": "csv"},
        ),
        page=report(
            f"{RESULTS}/tables/html/difference.html",
            caption="../report/difference_table.rst",
            category="2. Condition difference",
            labels={"result": "difference table", "condition": COMPARE_LABEL, "format": "html"},
        ),
    params:
        predictions={
            f"{s}/{c}": _predictions(s, c) for s in SYSTEMS for c in COMPARE if c in CONDITIONS
        },
        systems=SYSTEMS,
        conditions=COMPARE,
        confidence=EVALUATE.confidence,
    log:
        f"{RESULTS}/logs/evaluate/difference.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/difference_table.py"


rule figure_of_merit:
    """The study's figure-of-merit table of one system and condition (folds pooled), CSV and heatmap."""
    input:
        metrics=lambda wc: [
            f"{RESULTS}/metrics/{wc.system}/{wc.condition}/fold_{f}.json"
            for f in range(CONDITIONS[wc.condition])
        ],
    output:
        table=report(
            f"{RESULTS}/tables/figure_of_merit/{{system}}/{{condition}}.csv",
            caption="../report/figure_of_merit.rst",
            category="3. Figures of merit",
            subcategory="{system}",
            labels={"system": "{system}", "condition": "{condition}", "kind": "table"},
        ),
        figure=report(
            f"{RESULTS}/figures/figure_of_merit/{{system}}/{{condition}}.png",
            caption="../report/figure_of_merit.rst",
            category="3. Figures of merit",
            subcategory="{system}",
            labels={"system": "{system}", "condition": "{condition}", "kind": "heatmap"},
        ),
    log:
        f"{RESULTS}/logs/evaluate/figure_of_merit/{{system}}/{{condition}}.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/figure_of_merit.py"


rule accuracy_figure:
    """Accuracy per system, one bar per condition side by side, with 95% intervals."""
    input:
        tables=[f"{RESULTS}/tables/accuracy_{c}.csv" for c in CONDITIONS],
    output:
        report(
            f"{RESULTS}/figures/{{metric}}_by_condition.png",
            caption="../report/accuracy_figure.rst",
            category="1. Accuracy tables",
            labels={"result": "{metric} figure", "condition": "all", "format": "png"},
        ),
    params:
        conditions=list(CONDITIONS),
        systems=SYSTEMS,
    log:
        f"{RESULTS}/logs/evaluate/{{metric}}_by_condition.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/accuracy_figure.py"


rule training_curves:
    """Training loss and train/valid frame error per epoch of every net of one condition."""
    input:
        lambda wc: list(_training_logs(wc).values()),
    output:
        report(
            f"{RESULTS}/figures/training/{{condition}}.png",
            caption="../report/training_curves.rst",
            category="6. Training",
            labels={"result": "training curves", "condition": "{condition}"},
        ),
    params:
        names=lambda wc: list(_training_logs(wc)),
    log:
        f"{RESULTS}/logs/evaluate/training_curves/{{condition}}.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/training_curves.py"


rule configuration:
    """results/configuration.yaml: the validated configuration, every default filled in, as a file that
    `--configfile` alone runs again (the digest summary.md names)."""
    output:
        report(
            CONFIGURATION_FILE,
            caption="../report/configuration.rst",
            category="9. Configuration",
            labels={"result": "configuration as run", "format": "yaml"},
        ),
    params:
        text=_configuration_file_text(config, SUMMARY_CONFIG_DIGEST, CONFIGURATION_FILE, SNAKEFILE_ARGUMENT),
    log:
        f"{RESULTS}/logs/evaluate/configuration.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/configuration.py"


rule summary:
    """results/summary.md: accuracy and normalised accuracy, systems x conditions, the difference,
    intervals, test sizes, the published values when filled in, the accuracy per test group (artist or
    replica in train, neither), the dataset's artists and detected faults, the commit and config digest,
    and the command that runs its configuration again."""
    input:
        configuration=CONFIGURATION_FILE,
        tables=[f"{RESULTS}/tables/accuracy_{c}.csv" for c in CONDITIONS],
        difference=[f"{RESULTS}/tables/difference.csv"] if HAS_DIFFERENCE else [],
        published=PUBLISHED_ACCURACIES,
        attribution=f"{RESULTS}/tables/attribution.csv",
        profile=f"{RESULTS}/faults/profile.csv",
        bad_audio=f"{RESULTS}/dataset/bad_audio.csv",
    output:
        f"{RESULTS}/summary.md",
    params:
        conditions=list(CONDITIONS),
        systems=SYSTEMS,
        compare=COMPARE if HAS_DIFFERENCE else None,
        confidence=EVALUATE.confidence,
        commit=SUMMARY_COMMIT,
        digest=SUMMARY_CONFIG_DIGEST,
        inputs_digest=SUMMARY_INPUTS_DIGEST,
        snakefile=SNAKEFILE_ARGUMENT,
        # part of GTZAN (dataset.gtzan.partial): the page says so first, and that the study's lists were cut down
        partial_gtzan=PARTIAL_GTZAN,
        published=PUBLISHED_CONDITIONS,
    log:
        f"{RESULTS}/logs/evaluate/summary.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/summary.py"
