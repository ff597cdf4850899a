"""Snakemake entry point: figures/training/{condition}.png from the nets' training logs."""

import pandas as pd

from mgrfaults.evaluation.figures import plot_training_curves
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

logs = {name: pd.read_csv(path) for name, path in zip(snakemake.params.names, snakemake.input)}
plot_training_curves(logs, snakemake.output[0], condition=snakemake.wildcards.condition)
log.info("%d training logs", len(logs))
