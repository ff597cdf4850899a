"""Snakemake entry point: tables/accuracy_{condition}.csv (systems as rows, mean, std, 95% interval)."""

import pandas as pd

from mgrfaults.io import write_csv_atomic, write_text_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.metadata import label_set, read_metadata
from mgrfaults.evaluation.attribution import confidence_label
from mgrfaults.evaluation.metrics import read_predictions
from mgrfaults.evaluation.tables import condition_table, format_condition_table, html_page, round_for_csv

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

labels = label_set(read_metadata(snakemake.input.metadata))
predictions = {
    system: [read_predictions(path, labels) for path in paths]
    for system, paths in snakemake.params.predictions.items()
}
table = condition_table(
    pd.read_csv(snakemake.input.runs),
    predictions,
    snakemake.wildcards.condition,
    labels,
    systems=snakemake.params.systems,
    n_bootstrap=snakemake.params.n_bootstrap,
    confidence=snakemake.params.confidence,
    seed=snakemake.params.seed,
)
# 6 decimals: the summary rounds these to 0.1 point, which 4 decimals would round twice (0.64352 -> 0.6435 -> 64.3, not 64.4)
write_csv_atomic(round_for_csv(table), snakemake.output.table)
condition = snakemake.wildcards.condition
notes = (f"Mean ± standard deviation over folds [{confidence_label(snakemake.params.confidence)} interval], percent. "
         "The normalised accuracy is the mean per-class recall; its interval always comes from a bootstrap of "
         "adjusted recalls (mgrfaults.evaluation.tables.bootstrap_intervals).")
write_text_atomic(snakemake.output.page, html_page(format_condition_table(table), f"Accuracy: {condition}", notes))
log.info("\n%s", table.to_string())
