"""Fetch one annotation file (URL or local path) and verify its checksum."""

from mgrfaults.data.download import fetch
from mgrfaults.logs import setup_script_logging

log = setup_script_logging(snakemake.log)
fetch(snakemake.params.source, snakemake.output[0], sha256=snakemake.params.sha256,
      local_key=snakemake.params.local_key)
log.info("fetched %s -> %s", snakemake.params.source, snakemake.output[0])
