"""Snakemake entry point: figures/attribution.png from tables/attribution.csv (confound attribution)."""

import pandas as pd

from mgrfaults.evaluation.attribution import confidence_label, plot_attribution
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
table = pd.read_csv(snakemake.input.table, keep_default_na=False, na_values=[""])
plot_attribution(table, snakemake.output.figure, confidence=snakemake.params.confidence)
log.info("%d rows drawn, %s Clopper-Pearson intervals", len(table), confidence_label(snakemake.params.confidence))
