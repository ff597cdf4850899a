"""Training throughput: frames/s of the full training step through the HDF5 pipeline vs a bare loop.

The pipeline is what `rule train_net` runs: frames streamed track by track from HDF5 shards
(FrameBatches, seeded shuffle buffer, standardisation) through the background prefetch into the
SGD step. The bare loop holds the same frames as one in-memory torch tensor and slices shuffled
minibatches from it. Both train the same MLP with the same optimizer in the same process.
Target: pipeline / bare >= 0.9.

    PYTHONPATH=src python benchmarks/train.py                       # synthetic default size (300 x 10 s)
    PYTHONPATH=src python benchmarks/train.py --tracks 1000 --frames 1290   # GTZAN size (~2.7 GB of shards)
    PYTHONPATH=src python benchmarks/train.py --shards 'results/features/frames/shard_*.h5'
"""

from __future__ import annotations

import argparse
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mgrfaults.systems.dnn import MLP, FrameBatches, init_mlp, prefetch, resolve_device, train_epoch
from mgrfaults.systems.parts import open_store, standardisation_stats
from mgrfaults.features.extract import ShardWriter


def write_store(folder: Path, n_tracks: int, n_frames: int, dim: int = 513, n_shards: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    paths = []
    for s in range(n_shards):
        path = folder / f"shard_{s}.h5"
        with ShardWriter(path, "frames", {"n_fft": 1024, "hop_length": 512}, dim=dim) as w:
            for t in range(s, n_tracks, n_shards):
                w.append(f"blues.{t:05d}", np.abs(rng.standard_normal((n_frames, dim), dtype=np.float32)))
        paths.append(path)
    return paths


def bare_loop(model, opt, x, y, batch_size, n_frames, device, seed):
    """Shuffled minibatches sliced from in-memory tensors: the reference throughput."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=gen)[:n_frames]
    batches = ((x[idx].to(device), y[idx].to(device)) for idx in perm.split(batch_size))
    return train_epoch(model, opt, batches, device)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", help="glob of existing frame shards (default: write synthetic ones)")
    ap.add_argument("--tracks", type=int, default=150, help="training tracks of the synthetic store")
    ap.add_argument("--frames", type=int, default=429, help="frames per synthetic track (10 s: 429)")
    ap.add_argument("--units", type=int, nargs="+", default=[50, 500])
    ap.add_argument("--batch-size", type=int, default=1200)
    ap.add_argument("--frames-per-epoch", type=int, default=None, help="cap per epoch (default: all)")
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs per loop (after one warm-up), interleaved")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(glob.glob(args.shards)) if args.shards else write_store(Path(tmp), args.tracks, args.frames)
        store = open_store(paths)
        ids = list(store.track_ids)
        labels = [i % 10 for i in range(len(ids))]
        mean, std = standardisation_stats(store, ids)
        n_total = int(sum(store.length(t) for t in ids))
        print(f"{len(ids)} tracks, {n_total} frames x {len(mean)}, device {device}, {torch.get_num_threads()} threads")
        loops = {}
        streamed = FrameBatches(store, ids, labels, mean, std, batch_size=args.batch_size,
                                frames_per_epoch=args.frames_per_epoch, seed=0, cache_mb=0)
        cached = FrameBatches(store, ids, labels, mean, std, batch_size=args.batch_size,
                              frames_per_epoch=args.frames_per_epoch, seed=0, cache_mb=1e9)
        x_mem = torch.from_numpy(cached._cache[0])
        y_mem = torch.from_numpy(cached._cache[1])
        n_epoch = args.frames_per_epoch or n_total
        loops["pipeline (HDF5 stream)"] = lambda m, o, e: train_epoch(m, o, prefetch(streamed.epoch(e), device), device)
        loops["pipeline (stream, no thread)"] = lambda m, o, e: train_epoch(
            m, o, prefetch(streamed.epoch(e), device, depth=0), device)
        loops["pipeline (RAM cache)"] = lambda m, o, e: train_epoch(m, o, prefetch(cached.epoch(e), device), device)
        loops["bare in-memory loop"] = lambda m, o, e: bare_loop(m, o, x_mem, y_mem, args.batch_size, n_epoch, device, e)
        for units in args.units:
            state = {}
            for name, loop in loops.items():
                model = init_mlp(MLP(len(mean), [units] * 3, 10, "relu", [1, 0.75, 0.75, 0.75]), seed=0).to(device)
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
                loop(model, opt, 0)  # warm-up
                state[name] = (model, opt, [])
            # loops interleaved epoch by epoch, so drifting load on a shared machine hits all alike
            for e in range(1, args.epochs + 1):
                for name, loop in loops.items():
                    model, opt, rates = state[name]
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    n = loop(model, opt, e)[2]
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    rates.append(n / (time.perf_counter() - t0))
            bare = float(np.median(state["bare in-memory loop"][2]))
            for name, (_, _, rates) in state.items():
                rate = float(np.median(rates))
                print(f"{units:4d} units  {name:28s} {rate:10.0f} frames/s (median of {len(rates)} epochs)"
                      f"   ratio {rate / bare:5.2f}")


if __name__ == "__main__":
    main()
