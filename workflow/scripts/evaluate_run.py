"""Snakemake entry point: metrics JSON of one run from its predictions CSV."""

import logging

from mgrfaults.metadata import label_set, read_metadata
from mgrfaults.metrics import evaluate_file

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("evaluate_run")

try:
    labels = label_set(read_metadata(snakemake.input.metadata))
    result = evaluate_file(snakemake.input.predictions, labels, snakemake.output[0])
    log.info("%s: %d excerpts, accuracy %s, normalised accuracy %s", snakemake.input.predictions,
             result["n_excerpts"], result["accuracy"], result["normalized_accuracy"])
except Exception:
    log.exception("evaluation of %s failed", snakemake.input.predictions)
    raise
