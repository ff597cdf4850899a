"""Snakemake entry point: metrics JSON of one run from its predictions CSV."""

from mgrfaults.logs import setup_script_logging
from mgrfaults.data.metadata import label_set, read_metadata
from mgrfaults.evaluation.metrics import evaluate_file

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

labels = label_set(read_metadata(snakemake.input.metadata))
result = evaluate_file(snakemake.input.predictions, labels, snakemake.output[0])
log.info("%s: %d excerpts, accuracy %s, normalised accuracy %s", snakemake.input.predictions,
         result["n_excerpts"], result["accuracy"], result["normalized_accuracy"])
