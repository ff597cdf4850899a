"""Snakemake entry point: results/configuration.yaml (the run's configuration, every default filled in)."""

from mgrfaults.io import write_text_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
write_text_atomic(snakemake.output[0], snakemake.params.text)
log.info("wrote %s", snakemake.output[0])
