"""Download the GTZAN archive, verify its md5, extract it atomically."""

from pathlib import Path

from mgrfaults.data.download import extract_tar, fetch
from mgrfaults.logs import setup_script_logging

log = setup_script_logging(snakemake.log)
archive = Path(snakemake.params.archive)
fetch(snakemake.params.url, archive, md5=snakemake.params.md5,
      local_key="dataset.gtzan.root (a local folder of <genre>/<genre>.000NN.au)")
try:
    extract_tar(archive, snakemake.output[0])
finally:
    archive.unlink(missing_ok=True)
log.info("GTZAN extracted to %s", snakemake.output[0])
