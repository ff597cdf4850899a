"""Snakemake entry point: excerpt predictions of a trained net (sum of softmax, or majority vote)."""

import torch

from mgrfaults.systems.learned import predict_net_files
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
torch.set_num_threads(snakemake.threads)
df = predict_net_files(
    snakemake.input.model,
    snakemake.input.frames,
    snakemake.input.partition,
    snakemake.input.metadata,
    snakemake.params.decision,
    snakemake.output.predictions,
    device=snakemake.params.device,
    expected_params=dict(snakemake.params.frame_params),
)
log.info("%s: %d test excerpts, accuracy %.3f", snakemake.wildcards.system, len(df), (df.true == df.predicted).mean())
