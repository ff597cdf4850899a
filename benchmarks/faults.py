"""Benchmark: fault detection time at GTZAN size (1000 excerpts x 30 s) on a given number of cores.

    python benchmarks/faults.py [--render 20] [--descriptors results/faults/descriptors/shard_*.npz] [--cores 2]

Detection has two stages, timed separately:

1. describe (one job per shard, embarrassingly parallel): decode, PCM hash, clip measure,
   spectral peaks, landmarks, log-mel. Timed on ``--render`` excerpts of the ``gtzan_size`` preset
   (30 s each, rendered first, not timed; rendering 1000 of them takes about an hour of CPU),
   then extrapolated: 1000 x CPU seconds per excerpt / cores.
2. match (one job): the landmark index, the fine check and the grouping, timed at full size on
   1000 pseudo-excerpts of 30 s made from real descriptors: three 10-s excerpts of the synthetic
   default (``--descriptors``, the shards of a default run) side by side, each set of 300 copied
   with its spectral peaks moved up by a few bins (a different "piece" with the same peak
   statistics), so the index holds as many landmarks, and hashes as skewed, as the real thing.
   Without ``--descriptors`` the rendered excerpts are used that way instead (more collisions: a
   pessimistic figure).

Prints the measured and extrapolated figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mgrfaults.data.synth import plan_dataset, render_excerpt
from mgrfaults.data.audio import write_au
from mgrfaults.faults.distortion import CLIP_FRACTION_THRESHOLD
from mgrfaults.faults.landmarks import DEFAULT_MATCH_PARAMS
from mgrfaults.faults.shards import describe_rows, detect, read_shards

N_TARGET, SECONDS = 1000, 30.0


def time_describe(n: int, workdir: Path) -> tuple[float, float]:
    """(CPU seconds per 30-s excerpt, wall seconds per excerpt) of the describe stage on ``n`` rendered excerpts."""
    plan = plan_dataset(n_per_genre=100, duration=SECONDS, seed=20141205)
    # n excerpts spread over the genres, replicas and distortions among them as they fall
    rows = plan.groupby("genre").head(max(1, n // 10)).head(n)
    paths = []
    for _, row in rows.iterrows():
        path = workdir / f"{row['track_id']}.au"
        write_au(path, render_excerpt(row), int(row["sample_rate"]))
        paths.append(str(path))
    meta = pd.DataFrame({"track_id": rows["track_id"].to_numpy(), "path": paths})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    describe_rows(meta, SECONDS)
    return (time.process_time() - cpu0) / len(meta), (time.perf_counter() - wall0) / len(meta)


def full_size_descriptors(base: dict, per_excerpt: int) -> dict:
    """1000 pseudo-excerpts: ``per_excerpt`` base excerpts side by side, copies with peaks moved up by 3 bins each."""
    n_base = len(base["track_ids"])
    out = {"track_ids": [], "pcm_hashes": [], "clip_fractions": [], "hashes": [], "times": [], "mels": []}
    version, k = 0, 0
    while len(out["track_ids"]) < N_TARGET:
        members = [(k + j) % n_base for j in range(per_excerpt)]
        k += per_excerpt
        if k >= n_base:
            k, version = 0, version + 1
        shift = 3 * version  # move anchor bins (top bits of the hash), wrapping within 257 bins
        hashes, times, mels, frames = [], [], [], 0
        for m in members:
            h = base["hashes"][m]
            bins = ((h >> 12) + shift) % 257
            hashes.append((bins << 12) | (h & 0xFFF))
            times.append(base["times"][m] + frames)
            mels.append(base["mels"][m])
            frames += base["mels"][m].shape[1]
        i = len(out["track_ids"])
        out["track_ids"].append(f"pseudo.{i:05d}")
        out["pcm_hashes"].append(f"{version}:" + "+".join(str(base["pcm_hashes"][m]) for m in members))
        out["clip_fractions"].append(max(float(base["clip_fractions"][m]) for m in members))
        out["hashes"].append(np.concatenate(hashes))
        out["times"].append(np.concatenate(times))
        out["mels"].append(np.concatenate(mels, axis=1))
    for key in ("track_ids", "pcm_hashes", "clip_fractions"):
        out[key] = np.asarray(out[key])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--render", type=int, default=20, help="gtzan_size excerpts rendered and described")
    parser.add_argument("--descriptors", nargs="*", default=None, help="shards of a synthetic default run")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mgrfaults-bench-faults-") as tmp:
        cpu_per, wall_per = time_describe(args.render, Path(tmp))
        if args.descriptors:
            base, per_excerpt = read_shards(sorted(args.descriptors)), 3
        else:
            meta = pd.DataFrame({"track_id": [p.stem for p in sorted(Path(tmp).glob("*.au"))],
                                 "path": [str(p) for p in sorted(Path(tmp).glob("*.au"))]})
            base, per_excerpt = describe_rows(meta, SECONDS), 1
            base = read_shards_from_dict(base)
    full = full_size_descriptors(base, per_excerpt)
    n_landmarks = sum(len(h) for h in full["hashes"])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    detected, pairs = detect(full, dict(DEFAULT_MATCH_PARAMS), CLIP_FRACTION_THRESHOLD)
    match_cpu, match_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    describe_total = N_TARGET * cpu_per / args.cores
    print(f"load (1-min average) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"describe             {args.render} x 30 s measured: {cpu_per:.3f} s CPU, {wall_per:.3f} s wall per excerpt")
    print(f"describe, 1000 x 30 s extrapolated on {args.cores} cores: {describe_total:.0f} s")
    print(f"match                1000 pseudo-excerpts x ~30 s, {n_landmarks} landmarks, measured: "
          f"{match_cpu:.1f} s CPU, {match_wall:.1f} s wall; {len(pairs)} verified pairs")
    print(f"total (describe extrapolated + match measured): {describe_total + match_wall:.0f} s "
          f"(target 300 s)")


def read_shards_from_dict(shard: dict) -> dict:
    """A describe_rows result in read_shards' form (lists per excerpt)."""
    ends = np.cumsum(shard["lengths"])[:-1]
    mel_ends = np.cumsum(shard["mel_lengths"])[:-1]
    return {"track_ids": shard["track_ids"], "pcm_hashes": shard["pcm_hashes"],
            "clip_fractions": shard["clip_fractions"], "hashes": np.split(shard["hashes"], ends),
            "times": np.split(shard["times"], ends), "mels": np.split(shard["mels"], mel_ends, axis=1)}


if __name__ == "__main__":
    main()
