"""Snakemake entry point: the BFF baseline (MFCC texture windows, SVM or RF) on one condition/fold."""

from threadpoolctl import threadpool_limits

from mgrfaults.systems.bff import bff_files
from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.names import SystemSpec

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
with threadpool_limits(limits=snakemake.threads):
    df = bff_files(
        SystemSpec.from_dict(snakemake.params.spec),
        snakemake.input.texture,
        snakemake.input.partition,
        snakemake.input.metadata,
        dict(snakemake.params.bff),
        int(snakemake.params.seed),
        snakemake.output.model,
        snakemake.output.predictions,
        threads=snakemake.threads,
        expected_params=dict(snakemake.params.texture_params),
    )
log.info("%s: %d test excerpts, accuracy %.3f", snakemake.wildcards.system, len(df), (df.true == df.predicted).mean())
