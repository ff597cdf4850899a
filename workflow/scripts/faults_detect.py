"""Snakemake entry point: exact and recording replicas and distortions of every excerpt (results/faults/detected.csv)."""

import time

from mgrfaults.faults.landmarks import DEFAULT_MATCH_PARAMS
from mgrfaults.faults.shards import detect, read_shards
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
start = time.perf_counter()
descriptors = read_shards(snakemake.input)
match = {**DEFAULT_MATCH_PARAMS, **snakemake.params.match}
detected, pairs = detect(descriptors, match, snakemake.params.clip_threshold)
write_csv_atomic(detected, snakemake.output.detected)
write_csv_atomic(pairs, snakemake.output.pairs)
log.info("%d excerpts in %.1f s; detected: %s", len(detected), time.perf_counter() - start,
         detected["fault"].replace("", "none").value_counts().to_dict())
