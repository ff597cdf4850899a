"""Snakemake entry point: features of one shard of tracks (frames and texture HDF5 files)."""

import time

from threadpoolctl import threadpool_limits

from mgrfaults.features.extract import extract_shard, shard_rows
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.metadata import read_metadata

log = setup_script_logging(snakemake.log)
shard, n_shards = int(snakemake.wildcards.shard), snakemake.params.n_shards
rows = shard_rows(read_metadata(snakemake.input.metadata), n_shards, shard)
log.info("features of shard %d of %d: %d tracks", shard, n_shards, len(rows))
start = time.perf_counter()
with threadpool_limits(limits=snakemake.threads):  # one core per shard: the shards fill the cores
    stats = extract_shard(
        rows, snakemake.output.frames, snakemake.output.texture, snakemake.params.frames, snakemake.params.texture
    )
log.info("done in %.1f s: %s", time.perf_counter() - start, stats)
