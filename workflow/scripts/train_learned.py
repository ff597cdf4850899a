"""Snakemake entry point: RF / SVM on a trained net's learned features (FF or AF), test predictions."""

import torch

from mgrfaults.systems.jobs import run_system_job
from mgrfaults.systems.learned import learned_features_files

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
torch.set_num_threads(snakemake.params.threads)  # systems.threads, whatever --cores
run_system_job(
    snakemake,
    learned_features_files,
    [snakemake.input.net_model, snakemake.input.frames],
    snakemake.params.learned,
    snakemake.params.frame_params,
    device=snakemake.params.device,
)
