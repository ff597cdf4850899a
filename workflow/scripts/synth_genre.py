"""Render one genre of the synthetic dataset as GTZAN-style .au files."""

import os
import shutil
import tempfile
from pathlib import Path

from mgrfaults.logs import setup_script_logging
from mgrfaults.synth import read_plan, write_genre

log = setup_script_logging(snakemake.log)
genre = snakemake.wildcards.genre
out = Path(snakemake.output[0])
plan = read_plan(snakemake.input[0])
# render into a temporary folder, renamed when every file is written
tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
try:
    rows = write_genre(plan, genre, tmp, layout="flat")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
log.info("%s: wrote %d excerpts", genre, len(rows))
