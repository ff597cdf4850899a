# Stage: confound attribution. Per run, test excerpts grouped by what the training part shares with
# them (artist_in_train, replica_in_train, neither) and the accuracy of each group. The table is written
# by evaluate_runs (evaluate.smk), which reads every run's predictions already; this stage draws it.
# Reads tables/attribution.csv.


rule attribution_figure:
    """Accuracy per system and test group, grouped bars, with Clopper-Pearson intervals."""
    input:
        table=f"{RESULTS}/tables/attribution.csv",
    output:
        figure=report(
            f"{RESULTS}/figures/attribution.png",
            caption="../report/attribution.rst",
            category="4. Confound attribution",
            labels={"result": "attribution figure", "format": "png"},
        ),
    params:
        # the figure pools folds and recomputes the intervals: at the table's (and the caption's) coverage
        confidence=EVALUATE.confidence,
    log:
        f"{RESULTS}/logs/evaluate/attribution_figure.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/attribution_figure.py"
