"""Snakemake entry point: RF / SVM on a trained net's learned features (FF or AF), test predictions."""

import torch
from threadpoolctl import threadpool_limits

from mgrfaults.systems.learned import learned_features_files
from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.names import SystemSpec

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
torch.set_num_threads(snakemake.threads)
with threadpool_limits(limits=snakemake.threads):
    df = learned_features_files(
        SystemSpec.from_dict(snakemake.params.spec),
        snakemake.input.net_model,
        snakemake.input.frames,
        snakemake.input.partition,
        snakemake.input.metadata,
        dict(snakemake.params.learned),
        int(snakemake.params.seed),
        snakemake.output.model,
        snakemake.output.predictions,
        threads=snakemake.threads,
        device=snakemake.params.device,
        expected_params=dict(snakemake.params.frame_params),
    )
log.info("%s: %d test excerpts, accuracy %.3f", snakemake.wildcards.system, len(df), (df.true == df.predicted).mean())
