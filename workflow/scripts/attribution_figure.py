"""Snakemake entry point: figures/attribution.png from tables/attribution.csv (confound attribution)."""

import pandas as pd

from mgrfaults.evaluation.attribution import plot_attribution
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
table = pd.read_csv(snakemake.input.table, keep_default_na=False, na_values=[""])
plot_attribution(table, snakemake.output.figure)
log.info("%d rows drawn", len(table))
