"""Snakemake entry point: tables/runs.csv, one row per run, from the metrics JSON files."""

from mgrfaults.io import write_csv_atomic, write_text_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.evaluation.metrics import read_metrics
from mgrfaults.evaluation.tables import html_page, runs_table

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

records = []
for (system, condition, fold), path in zip(snakemake.params.runs, snakemake.input):
    records.append({**read_metrics(path), "system": system, "condition": condition, "fold": int(fold)})
table = runs_table(records)
write_csv_atomic(table.round(6), snakemake.output.table)
write_text_atomic(snakemake.output.page, html_page(table, "All runs", "accuracy and normalised accuracy (mean per-class recall) as fractions"))
log.info("%d runs", len(table))
