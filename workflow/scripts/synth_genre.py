"""Render one genre of the synthetic dataset as GTZAN-style .au files."""

from mgrfaults.io import atomic_dir
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.synth import read_plan, write_genre

log = setup_script_logging(snakemake.log)
genre = snakemake.wildcards.genre
plan = read_plan(snakemake.input[0])
# render into a temporary folder, renamed when every file is written
with atomic_dir(snakemake.output[0]) as tmp:
    rows = write_genre(plan, genre, tmp, layout="flat")
log.info("%s: wrote %d excerpts", genre, len(rows))
