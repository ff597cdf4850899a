"""Snakemake entry point: fault descriptors (PCM hash, clip measure, landmarks, log-mel) of one shard of excerpts."""

import time

from threadpoolctl import threadpool_limits

from mgrfaults.data.metadata import read_metadata
from mgrfaults.faults.shards import describe_rows, write_shard
from mgrfaults.features.extract import shard_rows
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
shard, n_shards = int(snakemake.wildcards.shard), snakemake.params.n_shards
rows = shard_rows(read_metadata(snakemake.input.metadata), n_shards, shard)
log.info("fault descriptors of shard %d of %d: %d excerpts", shard, n_shards, len(rows))
start = time.perf_counter()
with threadpool_limits(limits=snakemake.threads):
    descriptors = describe_rows(rows, snakemake.params.max_duration, snakemake.params.peaks)
write_shard(descriptors, snakemake.output[0])
log.info("done in %.1f s: %d landmarks", time.perf_counter() - start, int(descriptors["lengths"].sum()))
