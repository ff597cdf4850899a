"""Snakemake entry point: test predictions of the vote / sum-of-softmax DNN systems of one run."""

import torch

from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.learned import predict_nets_files

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
torch.set_num_threads(snakemake.threads)
systems = [dict(s, predictions=out) for s, out in zip(snakemake.params.systems, snakemake.output.predictions)]
frames = predict_nets_files(
    systems,
    snakemake.input.frames,
    snakemake.input.partition,
    snakemake.input.metadata,
    device=snakemake.params.device,
    expected_params=dict(snakemake.params.frame_params),
)
for system, df in frames.items():
    log.info("%s: %d test excerpts, accuracy %.3f", system, len(df), (df.true == df.predicted).mean())
