"""Snakemake entry point: train one net on one condition/fold (model file + per-epoch log), then write the
test predictions of its two decision systems, <net> (majority vote) and <net>_sum (summed softmax)."""

import torch

from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.dnn import train_net_files
from mgrfaults.systems.learned import predict_net_files
from mgrfaults.systems.names import SystemSpec

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
setup_script_logging(snakemake.log)  # the library's log lines (epochs, accuracies) go to the rule's log
torch.set_num_threads(snakemake.params.threads)  # systems.threads, whatever --cores
spec = SystemSpec.from_dict(snakemake.params.spec)
train_net_files(
    snakemake.input.frames,
    snakemake.input.partition,
    snakemake.input.metadata,
    spec,
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
predict_net_files(
    snakemake.output.model,  # read back: the predictions are those of the net as saved
    snakemake.input.frames,
    snakemake.input.partition,
    snakemake.input.metadata,
    {"vote": snakemake.output.vote, "sum": snakemake.output.sum},
    device=snakemake.params.device,
    expected_params=dict(snakemake.params.frame_params),
)
