"""Snakemake entry point: the metrics JSON of every run from its predictions CSV, and tables/runs.csv."""

from mgrfaults.data.metadata import label_set, read_metadata
from mgrfaults.evaluation.metrics import evaluate_file, read_metrics
from mgrfaults.evaluation.tables import html_page, runs_table
from mgrfaults.io import write_csv_atomic, write_text_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

labels = label_set(read_metadata(snakemake.input.metadata))
records = []
for (system, condition, fold), predictions, metrics in zip(
    snakemake.params.runs, snakemake.input.predictions, snakemake.output.metrics
):
    result = evaluate_file(predictions, labels, metrics)
    log.info("%s: %d excerpts, accuracy %s, normalised accuracy %s", predictions,
             result["n_excerpts"], result["accuracy"], result["normalized_accuracy"])
    # read back as the tables read it (a metric of an empty test part: None in JSON, NaN here)
    records.append({**read_metrics(metrics), "system": system, "condition": condition, "fold": int(fold)})
table = runs_table(records)
write_csv_atomic(table.round(6), snakemake.output.table)
write_text_atomic(snakemake.output.page, html_page(table, "All runs", "accuracy and normalised accuracy (mean per-class recall) as fractions"))
log.info("%d runs", len(table))
