# Stage: confound attribution. Per run, test excerpts grouped by what the training part shares with
# them (artist_in_train, replica_in_train, neither) and the accuracy of each group.
# Reads dataset/metadata.csv, partitions/{condition}/fold_{fold}.csv, predictions/{system}/{condition}/fold_{fold}.csv.


rule attribution:
    """Accuracy per (system, condition, fold) and test group, with Clopper-Pearson intervals; grouped bars."""
    input:
        metadata=f"{RESULTS}/dataset/metadata.csv",
        partitions=_attribution_partitions(),
        predictions=[f"{RESULTS}/predictions/{s}/{c}/fold_{f}.csv" for s, c, f in runs()],
    output:
        table=report(
            f"{RESULTS}/tables/attribution.csv",
            caption="../report/attribution.rst",
            category="4. Confound attribution",
            labels={"result": "attribution table", "format": "csv"},
        ),
        figure=report(
            f"{RESULTS}/figures/attribution.png",
            caption="../report/attribution.rst",
            category="4. Confound attribution",
            labels={"result": "attribution figure", "format": "png"},
        ),
    params:
        runs=[list(r) for r in runs()],
        partitions=[[c, f] for c, n_folds in CONDITIONS.items() for f in range(n_folds)],
        confidence=EVALUATE.confidence,
    log:
        f"{RESULTS}/logs/evaluate/attribution.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/attribution.py"
