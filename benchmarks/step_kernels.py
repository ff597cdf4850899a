"""Where a captured training step's GPU time goes: the step, its matmuls alone, and its kernels one by one.

``benchmarks/step_ops.py`` counts a step's operations on a CPU; this script times them on a GPU. For each
batch size and precision it measures, with CUDA events over many replays:

- ``step``: one :class:`mgrfaults.systems.resident.ResidentSGD` step of the study's net (``--units 500``:
  513-500-500-500-10), replayed from its CUDA graphs, as ``benchmarks/train.py`` times "resident graphs";
- ``matmuls alone``: the step's 11 matmuls (4 forward, 4 weight gradients, 3 input gradients) of the same
  shapes and precision, captured in a graph of their own: the floor left if every other kernel cost nothing;
- ``kernels``: ``torch.profiler``'s device time of each kernel of the replayed steps (it sees inside the
  graphs; on an H200 it saw as many kernels there as in eager steps, which it also lists), summed per kernel
  name; their sum beside the step's time says how much of it is kernels running and how much the gaps.

With ``--blas cublaslt`` the matmuls go through cuBLASLt (``torch.backends.cuda.preferred_blas_library``), a
second row beside the default's. ``--compiled`` adds the step compiled by ``torch.compile``, in each of
``--compile-modes`` (``max-autotune-no-cudagraphs``: Inductor also tunes the matmuls). Needs a GPU (it says so
and exits 2 without one)::

    PYTHONPATH=src python benchmarks/step_kernels.py --json OUT/kernels.json
    PYTHONPATH=src python benchmarks/step_kernels.py --blas cublas --batch-sizes 100 --precisions tf32 \
        --compiled --compile-modes default max-autotune-no-cudagraphs   # batch 100's matmuls, tuned or not
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

import torch
import torch.nn.functional as F

from mgrfaults.systems.resident import COMPILE_MODES, ResidentSGD, tf32_matmuls
from step_ops import study_net

DIM, N_CLASSES = 513, 10


def event_time(fn, device, repeats: int) -> float:
    """Seconds per call of ``fn`` (median of 5 runs of ``repeats`` calls, timed by CUDA events)."""
    fn()
    torch.cuda.synchronize(device)
    runs = []
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeats):
            fn()
        end.record()
        torch.cuda.synchronize(device)
        runs.append(start.elapsed_time(end) / 1e3 / repeats)
    return sorted(runs)[2]


def trainer_for(variant, units, batch_size, precision, device, compiled=False, n_batches=64, seed=0):
    model, params = study_net(variant, units, seed)
    model.to(device)
    n = n_batches * batch_size
    generator = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(n, DIM, generator=generator, device=device)
    y = torch.randint(0, N_CLASSES, (n,), generator=generator, device=device)
    trainer = ResidentSGD(model, x, y, batch_size, seed=seed, steps_per_graph=16, precision=precision,
                          compiled=compiled)
    trainer.set_hyper(params.learning_rate, params.momentum_start)
    model.train()
    trainer._ensure_graphs()
    trainer.perm[:n].copy_(trainer.epoch_order(0))
    return trainer, n_batches


def step_seconds(trainer, n_batches, device) -> float:
    """Seconds per step of the captured 16-step graphs, replayed over an epoch's full batches."""
    return event_time(lambda: trainer._run_steps(n_batches), device, repeats=5) / n_batches


def matmul_chain(sizes, batch_size, precision, device):
    """A function running the step's matmuls (shapes of layer ``sizes``) once, and its tensors."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    gen = torch.Generator(device=device).manual_seed(1)
    acts = [torch.randn(batch_size, n, generator=gen, device=device, dtype=dtype) for n in sizes]
    weights = [torch.randn(b, a, generator=gen, device=device, dtype=dtype) * 0.01 for a, b in zip(sizes, sizes[1:])]
    biases = [torch.zeros(b, device=device, dtype=dtype) for b in sizes[1:]]

    def run():
        for i, (w, b) in enumerate(zip(weights, biases)):  # forward: addmm with the weight transposed
            F.linear(acts[i], w, b)
        for i in reversed(range(len(weights))):  # backward: the weight gradient, then the input gradient
            torch.mm(acts[i + 1].t(), acts[i])
            if i > 0:
                torch.mm(acts[i + 1], weights[i])
    return run


def graphed(fn, device, k: int = 16):
    """``fn`` run ``k`` times, captured in one CUDA graph; returns the replay."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream(device).wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(k):
            fn()
    return g.replay


def kernel_table(fn, steps: int) -> tuple[dict, float]:
    """Device microseconds per step of each kernel name while ``fn`` runs ``steps`` steps, and their sum."""
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        fn()
        torch.cuda.synchronize()
    per_name = collections.defaultdict(lambda: [0.0, 0])
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            per_name[e.name][0] += e.time_range.elapsed_us() / steps
            per_name[e.name][1] += 1
    table = {name: {"us_per_step": round(t, 2), "per_step": round(c / steps, 2)} for name, (t, c) in per_name.items()}
    return dict(sorted(table.items(), key=lambda kv: -kv[1]["us_per_step"])), sum(t for t, _ in per_name.values())


def measure(variant, units, batch_size, precision, device, compiled, top):
    sizes = [DIM, units, units, units, N_CLASSES]
    trainer, n_batches = trainer_for(variant, units, batch_size, precision, device, compiled)
    step = step_seconds(trainer, n_batches, device)
    with tf32_matmuls(precision == "tf32"):
        replay = graphed(matmul_chain(sizes, batch_size, precision, device), device)
        floor = event_time(replay, device, repeats=20) / 16
    replayed, replayed_sum = kernel_table(lambda: trainer._run_steps(n_batches), n_batches)

    def eager_steps():
        trainer._rewind()
        for _ in range(16):
            trainer._step()
    eager, eager_sum = kernel_table(eager_steps, 16)
    row = {"variant": variant, "units": units, "batch": batch_size, "precision": precision, "compiled": compiled,
           "blas": str(torch.backends.cuda.preferred_blas_library()),
           "step_us": round(step * 1e6, 1), "frames_per_s": round(batch_size / step),
           "matmuls_alone_us": round(floor * 1e6, 1),
           "replayed_kernels_us": round(replayed_sum, 1), "replayed_kernels_per_step": round(
               sum(v["per_step"] for v in replayed.values()), 1),
           "eager_kernels_us": round(eager_sum, 1), "eager_kernels_per_step": round(
               sum(v["per_step"] for v in eager.values()), 1),
           "eager_kernels": dict(list(eager.items())[:top])}
    how = {False: "", True: " compiled"}.get(compiled, f" compiled {compiled}")
    print(f"{variant} {units} units, batch {batch_size}, {precision}{how}, "
          f"{row['blas']}: step {row['step_us']} us ({row['frames_per_s'] / 1e6:.2f} M frames/s); matmuls alone "
          f"{row['matmuls_alone_us']} us; kernels seen in replay {row['replayed_kernels_us']} us "
          f"({row['replayed_kernels_per_step']} a step); eager kernels {row['eager_kernels_us']} us "
          f"({row['eager_kernels_per_step']} a step)", flush=True)
    for name, v in row["eager_kernels"].items():
        print(f"    {v['us_per_step']:8.2f} us  x{v['per_step']:<5} {name[:110]}", flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=["RSD"])
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1200, 100])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "tf32"], choices=["fp32", "tf32", "bf16"])
    ap.add_argument("--compiled", action="store_true", help="also the compiled step (torch.compile)")
    ap.add_argument("--compile-modes", nargs="+", default=["default"], choices=list(COMPILE_MODES),
                    help="torch.compile modes of --compiled (max-autotune-no-cudagraphs: the matmuls tuned too)")
    ap.add_argument("--blas", nargs="+", default=["cublas", "cublaslt"], help="matmul libraries to compare")
    ap.add_argument("--top", type=int, default=12, help="kernels listed per row")
    ap.add_argument("--json")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("step_kernels.py needs a CUDA GPU", file=sys.stderr)
        sys.exit(2)
    device = torch.device("cuda")
    rows = []
    # the uncompiled rows first (each library), then the compiled ones (the default library): a compilation that
    # runs long leaves the others measured
    configs = [(blas, b, p, v, False) for blas in args.blas for b in args.batch_sizes for p in args.precisions
               for v in args.variants]
    if args.compiled:
        configs += [(args.blas[0], b, p, v, True if mode == "default" else mode) for mode in args.compile_modes
                    for b in args.batch_sizes for p in args.precisions for v in args.variants]
    for blas, batch_size, precision, variant, compiled in configs:
        torch.backends.cuda.preferred_blas_library(blas)
        try:
            rows.append(measure(variant, args.units, batch_size, precision, device, compiled, args.top))
        except Exception as exc:  # one failing row leaves the others their time
            print(f"{variant} batch {batch_size} {precision} {blas} compiled={compiled}: failed: {exc!r}", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"command": " ".join(["python", "benchmarks/step_kernels.py", *sys.argv[1:]]),
                           "device_name": torch.cuda.get_device_name(device), "torch": torch.__version__,
                           "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
