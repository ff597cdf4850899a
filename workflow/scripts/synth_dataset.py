"""The synthetic dataset: plan it, render it as GTZAN-style .au files (one folder per genre), list it."""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from mgrfaults.config import SyntheticSpec
from mgrfaults.data.metadata import write_metadata
from mgrfaults.data.synth import plan_dataset, plan_metadata, read_plan, write_genre_atomic
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)

synthetic = SyntheticSpec(**snakemake.params.synthetic)  # resolved in common.smk (mgrfaults.config.resolve)
plan = plan_dataset(**synthetic.plan_args(), seed=snakemake.params.seed, sample_rate=snakemake.params.sample_rate)
log.info("planned %d excerpts; faults: %s", len(plan), plan["fault"].value_counts().to_dict())
write_csv_atomic(plan, snakemake.output.plan)
plan = read_plan(snakemake.output.plan)  # render what the CSV holds (its types), as any reader of it would

genre_dirs = {Path(d).name: d for d in snakemake.output.audio}
with ProcessPoolExecutor(max_workers=max(1, min(snakemake.threads, len(genre_dirs)))) as pool:
    try:
        counts = pool.map(write_genre_atomic, [plan] * len(genre_dirs), list(genre_dirs), list(genre_dirs.values()))
        for genre, n in zip(genre_dirs, counts):
            log.info("%s: wrote %d excerpts", genre, n)
    except BaseException:  # a failure or SIGTERM: the genres not yet begun are not rendered on the way out
        pool.shutdown(wait=True, cancel_futures=True)
        raise

# the genre folders' parent holds the GTZAN-style layout the plan's paths are relative to
meta = plan_metadata(plan, Path(snakemake.output.audio[0]).parent)
write_metadata(meta, snakemake.output.metadata)
write_csv_atomic(pd.DataFrame(columns=["path", "reason"]), snakemake.output.bad)
log.info("metadata: %d excerpts, %d artists", len(meta), meta["artist"].nunique())
