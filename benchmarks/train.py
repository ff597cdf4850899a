"""Training throughput on a CPU or a GPU: frames/s, achieved TFLOP/s and the share of the device's matmul peak.

Loops compared (the same MLP, momentum SGD, cross-entropy, in one process, on one device):

- ``pipeline (HDF5 stream)``: the streamed path (FrameBatches from HDF5 shards, shuffle buffer,
  standardisation, background prefetch) into ``train_epoch``, what ``rule train_net`` runs on a CPU;
- ``bare in-memory loop``: shuffled minibatches sliced from one host tensor (the former reference);
- ``resident eager``: :class:`mgrfaults.systems.resident.ResidentSGD`, the part on the device, no graphs;
- ``resident graphs <precision>``: the same step captured in CUDA graphs (GPU only), fp32 and, with
  ``--precisions``, TF32 / bf16;
- ``resident graphs compiled <precision>`` (``--compiled``): the step's forward, loss, backward and update
  compiled by ``torch.compile`` (elementwise work fused between the matmuls), then captured; on a CPU
  ``resident eager compiled fp32``. Its compilation is timed apart (the warm-up epoch) and printed; a loop
  whose compilation fails is reported and left out, the others still run. ``--compile-modes
  max-autotune-no-cudagraphs`` adds ``resident graphs autotuned <precision>``: Inductor also tunes the
  matmuls (its Triton kernels, bias and ReLU fused in, against cuBLAS), at a longer compilation;
- ``stack of K, graphs <precision>``: K nets trained at once (:class:`mgrfaults.systems.stack.StackedSGD`,
  ``--stack K ...``), one batched matmul per layer for all of them; frames/s are summed over the K nets
  (each net sees every frame of the epoch), FLOP/s likewise; eager on a CPU;
- ``train_mlp (HDF5 -> resident)``: ``train_mlp`` end to end as the workflow calls it on this device
  (it picks the resident path on CUDA): part read from HDF5 onto the device, graph capture, every
  epoch's validation pass, all included in the time; ``train_stack of K``: the same for K nets at once
  (the last K of ``--stack``), as a ``train_stack_<shape>`` job runs them.

FLOP per frame of one SGD step (multiply-add = 2 FLOP), for layer sizes n0 -> n1 -> ... -> nL:
forward 2 * sum(n_i n_{i+1}); weight gradients the same; input gradients the same except the first
layer (no gradient w.r.t. the data): 2 * (3 * sum(n_i n_{i+1}) - n0 n1). 513-500-500-500-10:
4.06 MFLOP/frame; 513-50-50-50-10: 0.136 MFLOP/frame. Elementwise work (ReLU, dropout, softmax,
updates) is not counted. The matmul peak is measured in the same run: float32 (and TF32 / bf16)
square matmuls of ``--peak-size`` on the device.

The accuracy check (``--accuracy-epochs``) trains the 500-unit net from the same seed on learnable
synthetic frames in each precision and prints the validation frame error, to show where TF32 / bf16
leave the accuracy unchanged.

    PYTHONPATH=src python benchmarks/train.py                    # CPU, synthetic default size (150 x 429 frames)
    PYTHONPATH=src python benchmarks/train.py --gpu-suite        # the whole GPU benchmark: one command
    PYTHONPATH=src python benchmarks/train.py --device cuda --tracks 443 --frames 1290 --units 500 \
        --precisions fp32 tf32 --compiled --loops "resident graphs"  # the issue's one-net targets, compiled or not
    PYTHONPATH=src python benchmarks/train.py --device cuda --tracks 443 --frames 1290 --units 500 \
        --batch-sizes 100 --precisions tf32 --compiled --compile-modes default max-autotune-no-cudagraphs \
        --loops "resident graphs"                                    # batch 100: the matmuls tuned too
    PYTHONPATH=src python benchmarks/train.py --shards 'results/features/frames/shard_*.h5'

``--json PATH`` also writes every figure printed (device, peaks, one row per loop), for
``benchmarks/grid.py --rates-from PATH``.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mgrfaults.features.extract import ShardWriter
from mgrfaults.systems.dnn import MLP, FrameBatches, MomentumSGD, TrainParams, init_mlp, prefetch, resolve_device, train_epoch, train_mlp
from mgrfaults.systems.parts import open_store, standardisation_stats
from mgrfaults.systems.resident import ResidentSGD, resident_part, tf32_matmuls
from mgrfaults.systems.stack import PartStack, StackedSGD, train_stack

N_CLASSES = 10
#: the rows of each torch.compile mode of --compiled (--compile-modes)
COMPILED_NAMES = {"default": "compiled", "max-autotune-no-cudagraphs": "autotuned"}


def flop_per_frame(sizes) -> float:
    """FLOP of one training step per frame for layer sizes ``[n0, n1, ..., nL]`` (see the module docstring)."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * (3 * sum(products) - products[0])


def write_store(folder: Path, n_tracks: int, n_frames: int, dim: int = 513, n_shards: int = 4, seed: int = 0,
                signal: float = 0.25):
    """Synthetic frame shards; track ``t`` has label ``t % 10`` and a class-dependent mean (learnable)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_CLASSES, dim)).astype(np.float32) * signal
    paths = []
    for s in range(n_shards):
        path = folder / f"shard_{s}.h5"
        with ShardWriter(path, "frames", {"n_fft": 1024, "hop_length": 512}, dim=dim) as w:
            for t in range(s, n_tracks, n_shards):
                x = rng.standard_normal((n_frames, dim), dtype=np.float32)
                x += centres[t % N_CLASSES]
                w.append(f"blues.{t:05d}", np.abs(x))
        paths.append(path)
    return paths


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device, precision="fp32", size=4096, repeats=20) -> float:
    """Measured FLOP/s of square ``size`` matmuls on ``device`` in ``precision`` (best of 3 runs)."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    with tf32_matmuls(precision == "tf32"):
        a @ b
        best = 0.0
        for _ in range(3):
            sync(device)
            t0 = time.perf_counter()
            for _ in range(repeats):
                a @ b
            sync(device)
            best = max(best, 2.0 * size**3 * repeats / (time.perf_counter() - t0))
    return best


def timed(fn, device) -> tuple[float, int]:
    sync(device)
    t0 = time.perf_counter()
    n = fn()
    sync(device)
    return time.perf_counter() - t0, n


def capped(batches, max_frames):
    """The first ``max_frames`` frames' batches of an epoch (the producer is closed after)."""
    n = 0
    for xb, yb in batches:
        if n >= max_frames:
            return
        n += len(yb)
        yield xb, yb


def make_model(dim, units, device, dropout=True, seed=0):
    keep = [1.0, 0.75, 0.75, 0.75] if dropout else None
    return init_mlp(MLP(dim, [units] * 3, N_CLASSES, "relu", keep), seed=seed).to(device)


def throughput(args, device, store, ids, labels, mean, std, peaks, save=None):
    """Each loop's frames/s, one row per loop, batch size and units; ``save(rows)`` after each batch size and
    units' rows (a run cut short, a device check's step at its limit, keeps what it measured)."""
    dim = len(mean)
    x_host = y_host = None
    x_dev = y_dev = None
    rows = []
    for batch_size, units in itertools.product(args.batch_sizes, args.units):
        flop = flop_per_frame([dim, units, units, units, N_CLASSES])
        streamed = FrameBatches(store, ids, labels, mean, std, batch_size=batch_size, seed=0, cache_mb=0)
        if x_dev is None:
            x_dev, y_dev = resident_part(streamed, device)
            if args.bare:
                x_host, y_host = x_dev.cpu(), y_dev.cpu()
        n_total = len(y_dev)
        # the host-fed loops at batch 100 are slow: they are timed on the first frames of an epoch
        host_cap = args.host_frames or n_total
        loops = {}
        loops["pipeline (HDF5 stream)"] = lambda m, o, e: train_epoch(
            m, o, capped(prefetch(streamed.epoch(e), device, depth=3 if device.type == "cuda" else 0), host_cap),
            device)[2]
        if args.bare:
            def bare(m, o, e):
                perm = torch.randperm(n_total, generator=torch.Generator().manual_seed(e))[:host_cap]
                batches = ((x_host[i].to(device), y_host[i].to(device)) for i in perm.split(batch_size))
                return train_epoch(m, o, batches, device)[2]
            loops["bare in-memory loop"] = bare
        cuda = device.type == "cuda"
        resident_variants = [("resident eager", False, "fp32", False)]
        if cuda:
            resident_variants += [(f"resident graphs {p}", True, p, False) for p in args.precisions]
        if args.compiled:
            mode = "graphs" if cuda else "eager"
            # Inductor's default mode, then (--compile-modes) the one that also tunes the matmuls
            resident_variants += [(f"resident {mode} {COMPILED_NAMES[c]} {p}", cuda, p, True if c == "default" else c)
                                  for c in args.compile_modes for p in (args.precisions if cuda else ["fp32"])]
        for name, graphs, precision, compiled in resident_variants:
            loops[name] = (graphs, precision, 1, compiled)
        for k in args.stack:  # K nets at once (mgrfaults.systems.stack): graphs on a GPU, eager on a CPU
            for precision in (args.precisions if cuda else ["fp32"]):
                mode = "graphs" if cuda else "eager"
                loops[f"stack of {k}, {mode} {precision}"] = (cuda, precision, k, False)
        if args.loops:  # only the loops named (by the start of their names)
            loops = {name: loop for name, loop in loops.items() if name.startswith(tuple(args.loops))}
        state = {}
        for name, loop in loops.items():
            model = make_model(dim, units, device)
            if isinstance(loop, tuple) and loop[2] > 1:  # a stack: frames/s counted over its nets
                graphs, precision, k, _ = loop
                models = [make_model(dim, units, device, seed=i) for i in range(k)]
                cap = None if graphs else [min(host_cap, n_total)] * k
                trainer = StackedSGD(models, PartStack.of([(x_dev, y_dev)] * k), batch_size, list(range(k)), cap,
                                     use_graphs=graphs, precision=precision)
                trainer.set_hyper([0.01] * k, [0.5] * k)
                fn = lambda m, o, e, t=trainer: sum(r[2] for r in t.train_epoch(e))
                opt = None
            elif isinstance(loop, tuple):
                graphs, precision, _, compiled = loop
                trainer = ResidentSGD(model, x_dev, y_dev, batch_size, seed=0, use_graphs=graphs, precision=precision,
                                      compiled=compiled)
                trainer.set_hyper(0.01, 0.5)
                if not graphs:  # eager steps are host-bound too: timed on a capped epoch
                    trainer.frames_per_epoch = min(host_cap, n_total)
                fn = lambda m, o, e, t=trainer: t.train_epoch(e)[2]
                opt = None
            else:
                opt = MomentumSGD(model.parameters(), lr=0.01, momentum=0.5)  # as train_mlp
                fn = loop
            try:
                seconds, _ = timed(lambda: fn(model, opt, 0), device)  # warm-up (compilation, graph capture)
            except Exception as error:  # a compilation that fails here (no compiler, say) costs its row only
                if not (isinstance(loop, tuple) and loop[3]):
                    raise
                print(f"batch {batch_size:5d} {units:4d} units  {name:30s} failed: {type(error).__name__}: "
                      f"{str(error)[:300]}", flush=True)
                continue
            if isinstance(loop, tuple) and loop[3]:
                print(f"batch {batch_size:5d} {units:4d} units  {name:30s} compiled and captured in {seconds:.1f} s "
                      "(the warm-up epoch)", flush=True)
            state[name] = (model, opt, fn, [])
        for e in range(1, args.epochs + 1):  # interleaved, so drifting load hits every loop alike
            for name, (model, opt, fn, rates) in state.items():
                seconds, n = timed(lambda: fn(model, opt, e), device)
                rates.append(n / seconds)
        for name, (_, _, _, rates) in state.items():
            rate = float(np.median(rates))
            precision = name.split()[-1] if name.split()[-1] in peaks else "fp32"
            tflops = rate * flop / 1e12
            nets = loops[name][2] if isinstance(loops[name], tuple) else 1
            rows.append(dict(batch=batch_size, units=units, loop=name, nets=nets, frames_per_s=rate, tflops=tflops,
                             peak_share=tflops * 1e12 / peaks[precision]))
            per_net = f"  ({rate / nets:,.0f} per net)" if nets > 1 else ""
            print(f"batch {batch_size:5d} {units:4d} units  {name:30s} {rate:11,.0f} frames/s"
                  f"  {tflops:8.4f} TFLOP/s  {tflops * 1e12 / peaks[precision]:6.1%} of the {precision} peak{per_net}",
                  flush=True)
        if save is not None:
            save(rows)
    return rows


def end_to_end(args, device, store, ids, labels, mean, std):
    """``train_mlp`` as the workflow runs it on this device: frames/s over the epochs, everything included."""
    rows = []
    n_valid = max(1, len(ids) // 5)
    train_ids, valid_ids = ids[n_valid:], ids[:n_valid]
    y_of = dict(zip(ids, labels))
    for batch_size, units in itertools.product(args.batch_sizes, args.units):
        train = FrameBatches(store, train_ids, [y_of[t] for t in train_ids], mean, std, batch_size=batch_size, seed=0)
        valid = FrameBatches(store, valid_ids, [y_of[t] for t in valid_ids], mean, std, batch_size=8192, shuffle=False)
        params = TrainParams.study(learning_rate=0.01, batch_size=batch_size, max_epochs=args.e2e_epochs, patience=1000)
        model = make_model(len(mean), units, "cpu")
        seconds, _ = timed(lambda: train_mlp(model, train, valid, params, seed=0, device=device), device)
        rate = train.n_frames * args.e2e_epochs / seconds
        print(f"batch {batch_size:5d} {units:4d} units  {'train_mlp (HDF5 -> this device)':30s} {rate:11,.0f}"
              f" frames/s  ({args.e2e_epochs} epochs of {train.n_frames} frames + validation, load included, "
              f"{seconds:.1f} s)", flush=True)
        rows.append(dict(batch=batch_size, units=units, loop="train_mlp (HDF5 -> device)", nets=1, frames_per_s=rate))
        for k in args.stack[-1:]:  # train_stack as train_stack_files calls it (the last K given): own orders
            trains = [FrameBatches(store, train_ids, [y_of[t] for t in train_ids], mean, std, batch_size=batch_size,
                                   seed=i) for i in range(k)]
            models = [make_model(len(mean), units, "cpu", seed=i) for i in range(k)]
            seconds, _ = timed(lambda: train_stack(models, trains, [valid] * k, [params] * k, list(range(k)), device,
                                                   steps_per_graph=16), device)
            rate = k * train.n_frames * args.e2e_epochs / seconds
            print(f"batch {batch_size:5d} {units:4d} units  {f'train_stack of {k} (HDF5 -> device)':30s} "
                  f"{rate:11,.0f} frames/s  ({rate / k:,.0f} per net; {args.e2e_epochs} epochs + validation, load "
                  f"included, {seconds:.1f} s)", flush=True)
            rows.append(dict(batch=batch_size, units=units, loop=f"train_stack of {k} (HDF5 -> device)", nets=k,
                             frames_per_s=rate))
    return rows


def accuracy(args, device, store, ids, labels, mean, std):
    """Validation frame error after the same seeded training in each precision (same batches, same init)."""
    n_valid = max(1, len(ids) // 5)
    train_ids, valid_ids = ids[n_valid:], ids[:n_valid]
    y_of = dict(zip(ids, labels))
    train = FrameBatches(store, train_ids, [y_of[t] for t in train_ids], mean, std, batch_size=1200, seed=0)
    valid = FrameBatches(store, valid_ids, [y_of[t] for t in valid_ids], mean, std, batch_size=8192, shuffle=False)
    from mgrfaults.systems.dnn import frame_error
    from mgrfaults.systems.resident import validation_batches

    x, y = resident_part(train, device)
    xv, yv = resident_part(valid, device)
    for precision in ["fp32"] + [p for p in (args.accuracy_precisions or args.precisions) if p != "fp32"]:
        model = make_model(len(mean), 500, device, dropout=False)
        trainer = ResidentSGD(model, x, y, 1200, seed=0, precision=precision)
        errors = []
        for e in range(args.accuracy_epochs):
            trainer.set_hyper(0.05, 0.9)
            trainer.train_epoch(e)
            errors.append(frame_error(model, validation_batches(model, xv, yv), device)[1])
        print(f"accuracy  500 units  {precision:5s} validation frame error by epoch: "
              + " ".join(f"{err:.4f}" for err in errors), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", help="glob of existing frame shards (default: write synthetic ones)")
    ap.add_argument("--tracks", type=int, default=150, help="tracks of the synthetic store")
    ap.add_argument("--frames", type=int, default=429, help="frames per synthetic track (10 s: 429, 30 s: 1290)")
    ap.add_argument("--units", type=int, nargs="+", default=[50, 500])
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1200, 100])
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per loop (after one warm-up), interleaved")
    ap.add_argument("--host-frames", type=int, default=None,
                    help="frames per timed epoch of the host-fed and eager loops (default: all)")
    ap.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "tf32", "bf16"])
    ap.add_argument("--bare", action="store_true", help="also time the bare in-memory loop")
    ap.add_argument("--compiled", action="store_true",
                    help="also time the resident step compiled by torch.compile (in each of --precisions)")
    ap.add_argument("--compile-modes", nargs="+", default=["default"], choices=list(COMPILED_NAMES),
                    help="torch.compile modes of --compiled (max-autotune-no-cudagraphs: also the matmuls tuned; "
                         "its rows are named 'autotuned')")
    ap.add_argument("--loops", nargs="+", default=None,
                    help="time only the loops whose names start with one of these, e.g. 'resident graphs'")
    ap.add_argument("--stack", type=int, nargs="*", default=[],
                    help="also time stacks of K nets trained at once (frames/s summed over the nets), e.g. 4 8 16")
    ap.add_argument("--e2e-epochs", type=int, default=0, help="epochs of the train_mlp end-to-end run (0: skip)")
    ap.add_argument("--accuracy-epochs", type=int, default=0, help="epochs of the precision check (0: skip)")
    ap.add_argument("--accuracy-precisions", nargs="+", default=None, choices=["fp32", "tf32", "bf16"],
                    help="precisions of the precision check (default: --precisions)")
    ap.add_argument("--peak-size", type=int, default=None, help="matmul size of the peak (default: GPU 8192, CPU 1024)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", help="also write the figures to this JSON file (for benchmarks/grid.py --rates-from)")
    ap.add_argument("--gpu-suite", action="store_true",
                    help="the whole GPU benchmark: GTZAN's filtered training part (443 x 1290 frames), batch 1200 "
                         "and 100, fp32/TF32, end-to-end train_mlp and the precision check (fp32/TF32/bf16), on cuda")
    args = ap.parse_args()
    if args.gpu_suite:
        args.device, args.tracks, args.frames = "cuda", 443, 1290
        # bf16 steps ran slower than TF32 ones at every size on an H100 and an H200 (README): timed on request
        args.precisions = args.precisions if args.precisions != ["fp32"] else ["fp32", "tf32"]
        args.accuracy_precisions = args.accuracy_precisions or ["fp32", "tf32", "bf16"]
        args.stack = args.stack or [4, 16]  # and train_stack end to end with 16: the suite stays within minutes
        args.host_frames = args.host_frames or 120_000
        args.e2e_epochs = args.e2e_epochs or 3
        args.accuracy_epochs = args.accuracy_epochs or 4
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    peak_size = args.peak_size or (8192 if device.type == "cuda" else 1024)
    precisions = ["fp32"] + ([p for p in args.precisions if p != "fp32"] if device.type == "cuda" else [])
    peaks = {p: matmul_peak(device, p, peak_size) for p in precisions}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({name}); measured matmul peak ({peak_size}^2): "
          + ", ".join(f"{p} {v / 1e12:.2f} TFLOP/s" for p, v in peaks.items()), flush=True)
    for units in args.units:
        print(f"FLOP per frame, 513-{units}-{units}-{units}-10: {flop_per_frame([513, units, units, units, 10]) / 1e6:.3f} M")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = sorted(glob.glob(args.shards)) if args.shards else write_store(Path(tmp), args.tracks, args.frames)
        store = open_store(paths)
        ids = list(store.track_ids)
        labels = [int(t.split(".")[-1]) % N_CLASSES for t in ids]  # write_store's labels (any labels for --shards)
        mean, std = standardisation_stats(store, ids)
        n_total = int(sum(store.length(t) for t in ids))
        print(f"{len(ids)} tracks, {n_total} frames x {len(mean)} (store ready in {time.perf_counter() - t0:.1f} s)",
              flush=True)

        def save(so_far):  # written as soon as there are figures: a run cut short keeps what it measured
            if args.json:
                write_figures(args.json, device.type, name, peaks, n_total, so_far)

        rows = throughput(args, device, store, ids, labels, mean, std, peaks, save)
        save(rows)
        if args.e2e_epochs:
            rows += end_to_end(args, device, store, ids, labels, mean, std)
            save(rows)
        if args.accuracy_epochs:
            accuracy(args, device, store, ids, labels, mean, std)


def write_figures(path, device_type: str, device_name: str, peaks: dict, n_frames: int, rows: list[dict]):
    """The run's figures as JSON: ``{"device", "device_name", "peaks_flop_per_s", "frames", "rows": [...]}``."""
    figures = dict(device=device_type, device_name=device_name, peaks_flop_per_s=peaks, frames=n_frames, rows=rows,
                   load_1min_at_end=os.getloadavg()[0])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
