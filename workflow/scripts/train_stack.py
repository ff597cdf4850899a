"""Snakemake entry point: train the nets of a stack (one shape, every condition and fold) at once, then
write each one's test predictions of its two decision systems, <net> (majority vote) and <net>_sum."""

import torch

from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.learned import predict_net_files
from mgrfaults.systems.names import SystemSpec
from mgrfaults.systems.stack import train_stack_files

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
setup_script_logging(snakemake.log)  # the library's log lines (epochs, accuracies) go to the rule's log
torch.set_num_threads(snakemake.params.threads)  # systems.threads, whatever --cores
members = [{**member, "spec": SystemSpec.from_dict(member["spec"])} for member in snakemake.params.members]
train_stack_files(
    snakemake.input.frames,
    snakemake.input.metadata,
    members,
    dict(snakemake.params.data),
    device=snakemake.params.device,
    rbm=dict(snakemake.params.rbm),
    expected_params=dict(snakemake.params.frame_params),
)
for member in members:
    predict_net_files(
        member["model"],  # read back: the predictions are those of the net as saved
        snakemake.input.frames,
        member["partition"],
        snakemake.input.metadata,
        {"vote": member["vote"], "sum": member["sum"]},
        device=snakemake.params.device,
        expected_params=dict(snakemake.params.frame_params),
        label=member["run"],  # the system names the net
    )
