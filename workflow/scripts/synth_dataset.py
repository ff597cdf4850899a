"""Render the synthetic dataset as GTZAN-style .au files, one folder per genre, and its metadata table."""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from mgrfaults.data.metadata import write_metadata
from mgrfaults.data.synth import plan_metadata, read_plan, write_genre_atomic
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
plan = read_plan(snakemake.input[0])
genre_dirs = {Path(d).name: d for d in snakemake.output.audio}
with ProcessPoolExecutor(max_workers=max(1, min(snakemake.threads, len(genre_dirs)))) as pool:
    counts = pool.map(write_genre_atomic, [plan] * len(genre_dirs), list(genre_dirs), list(genre_dirs.values()))
    for genre, n in zip(genre_dirs, counts):
        log.info("%s: wrote %d excerpts", genre, n)
# the genre folders' parent holds the GTZAN-style layout the plan's paths are relative to
meta = plan_metadata(plan, Path(snakemake.output.audio[0]).parent)
write_metadata(meta, snakemake.output.metadata)
write_csv_atomic(pd.DataFrame(columns=["path", "reason"]), snakemake.output.bad)
log.info("metadata: %d excerpts, %d artists", len(meta), meta["artist"].nunique())
