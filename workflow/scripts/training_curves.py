"""Snakemake entry point: figures/training/{condition}.png from the nets' training logs."""

import logging

import pandas as pd

from mgrfaults.figures import plot_training_curves

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("training_curves")

try:
    logs = {name: pd.read_csv(path) for name, path in zip(snakemake.params.names, snakemake.input)}
    plot_training_curves(logs, snakemake.output[0])
    log.info("%d training logs", len(logs))
except Exception:
    log.exception("training curves failed")
    raise
