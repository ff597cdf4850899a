"""Snakemake entry point: train one net on one condition/fold (model file + per-epoch log)."""

import torch

from mgrfaults.systems.dnn import train_net_files
from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.names import SystemSpec

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
torch.set_num_threads(snakemake.threads)
train_net_files(
    snakemake.input.frames,
    snakemake.input.partition,
    snakemake.input.metadata,
    SystemSpec.from_dict(snakemake.params.spec),
    dict(snakemake.params.variant),
    dict(snakemake.params.data),
    int(snakemake.params.seed),
    snakemake.output.model,
    snakemake.output.training_log,
    device=snakemake.params.device,
    hf=dict(snakemake.params.hf),
    rbm=dict(snakemake.params.rbm),
    expected_params=dict(snakemake.params.frame_params),
)
