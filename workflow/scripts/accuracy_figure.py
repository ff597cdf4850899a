"""Snakemake entry point: figures/{metric}_by_condition.png (systems side by side per condition)."""

import pandas as pd

from mgrfaults.evaluation.figures import plot_accuracy_by_condition
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

tables = {c: pd.read_csv(p) for c, p in zip(snakemake.params.conditions, snakemake.input.tables)}
plot_accuracy_by_condition(tables, snakemake.output[0], systems=snakemake.params.systems, metric=snakemake.wildcards.metric)
