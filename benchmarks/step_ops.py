"""The operations of one training step of the resident path, counted: what a captured CUDA step replays.

A GPU step of one study net at batch 1200 is bound by its count of small kernels rather than by its FLOPs
(``benchmarks/train.py --gpu-suite``: 20 % of the fp32 matmul peak for one 500-unit net, 46 % for 16 stacked). This
script lists the top-level ATen operations of one :class:`mgrfaults.systems.resident.ResidentSGD` step, run eagerly
on a CPU under ``torch.profiler``: each is roughly one kernel of the captured CUDA step (a composite such as
``cross_entropy_loss`` is two or three; views and allocations launch none and are left out). It needs no GPU.

    PYTHONPATH=src python benchmarks/step_ops.py                 # RS and RSD, 500 units, batch 1200

It also counts the operations of one validation pass over the standard condition's validation part (250 tracks x
1290 frames), in the 8192-frame batches the resident trainers used before and in theirs now
(:func:`mgrfaults.systems.resident.valid_batch_size`): a pass that the host launches between two epochs.
"""

from __future__ import annotations

import argparse
import collections

import torch

from mgrfaults.systems.dnn import MLP, TrainParams, init_mlp
from mgrfaults.systems.resident import ResidentSGD, resident_batches, valid_batch_size

#: ATen operations that launch no kernel (views, allocations, scalar reads)
NO_KERNEL = {"aten::view", "aten::reshape", "aten::t", "aten::transpose", "aten::expand", "aten::as_strided",
             "aten::detach", "aten::alias", "aten::unsqueeze", "aten::squeeze", "aten::_unsafe_view", "aten::empty",
             "aten::empty_like", "aten::empty_strided", "aten::result_type", "aten::to", "aten::lift_fresh",
             "aten::resolve_conj", "aten::resolve_neg", "aten::permute", "aten::select", "aten::slice"}


def study_net(variant: str, units: int, seed: int = 0) -> tuple[MLP, TrainParams]:
    """The study's ``variant`` net with 3 hidden layers of ``units`` (513 inputs, 10 classes), initialised from
    ``seed``, and its 2014 training settings."""
    params = TrainParams.study(variant)
    return init_mlp(MLP(513, [units] * 3, 10, "relu", params.keep_probs, params.input_scales), seed=seed), params


def step_ops(variant: str, units: int, batch_size: int) -> collections.Counter:
    """Top-level ATen operations of one eager ResidentSGD step of the study's ``variant`` net (3 x ``units``)."""
    model, params = study_net(variant, units)
    n = 4 * batch_size
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 513, generator=generator), torch.randint(0, 10, (n,), generator=generator)
    trainer = ResidentSGD(model, x, y, batch_size, seed=0, use_graphs=False)
    trainer.set_hyper(params.learning_rate, params.momentum_start)
    trainer.perm[:n].copy_(trainer.epoch_order(0))
    model.train()
    trainer._step()  # the first step allocates the momentum buffers' first values; profile the second
    return top_level_ops(trainer._step)


def validation_ops(units: int, n_frames: int, batch_size: int | None = None) -> collections.Counter:
    """Top-level ATen operations of one validation pass of the study's net (3 x ``units``) over ``n_frames``
    resident frames, as ``train_mlp``'s resident path runs it after every epoch, in batches of ``batch_size``
    frames (None: :func:`mgrfaults.systems.resident.valid_batch_size`, the trainers')."""
    from mgrfaults.systems.dnn import frame_error_sums

    model, _ = study_net("RS", units)
    x, y = torch.zeros(n_frames, 513), torch.zeros(n_frames, dtype=torch.int64)
    batch_size = valid_batch_size(model) if batch_size is None else int(batch_size)
    return top_level_ops(lambda: frame_error_sums(model, resident_batches(x, y, batch_size), "cpu"))


def top_level_ops(fn) -> collections.Counter:
    """The top-level ATen operations ``fn()`` runs that launch a kernel on a GPU, counted by name."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn()
    top = [e for e in prof.events() if e.name.startswith("aten::")
           and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))]
    return collections.Counter(e.name for e in top if e.name not in NO_KERNEL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=["RS", "RSD"])
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=1200)
    ap.add_argument("--valid-frames", type=int, default=322_500,
                    help="frames of the validation part whose pass is counted (250 tracks x 1290: the standard "
                         "condition's); 0: none")
    args = ap.parse_args()
    for variant in args.variants:
        counts = step_ops(variant, args.units, args.batch_size)
        matmuls = counts["aten::mm"] + counts["aten::linear"] + counts["aten::addmm"]
        print(f"{variant}, {args.units} units, batch {args.batch_size}: {sum(counts.values())} operations a step, "
              f"{matmuls} of them matmuls")
        print("  " + ", ".join(f"{name.removeprefix('aten::')} {k}" for name, k in counts.most_common()))
    if args.valid_frames:
        for batch_size in (8192, None):  # the 8192-frame batches the trainers used before, and theirs now
            counts = validation_ops(args.units, args.valid_frames, batch_size)
            size = batch_size or valid_batch_size(study_net("RS", args.units)[0])
            print(f"validation pass, {args.units} units, {args.valid_frames:,} frames in {size}-frame batches: "
                  f"{-(-args.valid_frames // size)} batches, {sum(counts.values())} operations")


if __name__ == "__main__":
    main()
