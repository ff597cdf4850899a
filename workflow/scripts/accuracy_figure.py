"""Snakemake entry point: figures/{metric}_by_condition.png (systems side by side per condition)."""

import logging

import pandas as pd

from mgrfaults.figures import plot_accuracy_by_condition

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("accuracy_figure")

try:
    tables = {c: pd.read_csv(p) for c, p in zip(snakemake.params.conditions, snakemake.input.tables)}
    plot_accuracy_by_condition(tables, snakemake.output[0], systems=snakemake.params.systems, metric=snakemake.wildcards.metric)
except Exception:
    log.exception("accuracy figure failed")
    raise
