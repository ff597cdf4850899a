"""Benchmark of the features stage: Snakemake wall time vs bare librosa compute, peak RSS per job.

Prints
    - wall time of the whole feature stage run through Snakemake (``--cores``), data stage excluded;
    - bare compute time of librosa STFT + MFCC on the same audio (decoding excluded), serial on one
      core, and the same work split over ``--cores`` processes (slowest process);
    - their ratios (target: stage wall / bare serial compute <= 1.5);
    - peak RSS of each job, from Snakemake's ``benchmark:`` files (target <= 2 GiB).

The bare compute is the least librosa work that yields both features: one uncentred STFT, its
magnitude, and MFCCs from that magnitude (mel power -> dB -> DCT), per track.

Usage::

    python benchmarks/features.py [--preset gtzan_size] [--workdir /tmp/bench_features] [--cores 2]

The synthetic dataset is generated first (untimed) through the workflow's data stage; a second
call reuses it and re-times only the features.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def snakemake_command(workdir: Path, configfile: Path, cores: int, targets: list[str]) -> list[str]:
    """The command line that runs this workflow on ``targets`` in ``workdir`` (the benchmarks' one way)."""
    return [sys.executable, "-m", "snakemake", *targets, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--cores", str(cores), "--configfile", str(configfile), "--quiet", "all"]


def snakemake(workdir: Path, configfile: Path, cores: int, targets: list[str]) -> float:
    """Run Snakemake on ``targets``; return its wall time in seconds."""
    cmd = snakemake_command(workdir, configfile, cores, targets)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def bare_compute(paths: list[str], sample_rate: int, max_duration: float, params: dict) -> float:
    """Seconds of librosa STFT + MFCC over ``paths`` (decoding excluded)."""
    import librosa

    from mgrfaults.data.audio import load_audio

    window = {"hann": "hann", "rectangular": "boxcar"}[params["window"]]
    total = 0.0
    for path in paths:
        y = load_audio(path, sample_rate=sample_rate, max_duration=max_duration)
        start = time.perf_counter()
        spec = librosa.stft(y, n_fft=params["n_fft"], hop_length=params["hop_length"], window=window, center=False)
        mag = np.abs(spec)
        mel = librosa.feature.melspectrogram(S=mag**2, sr=sample_rate, n_fft=params["n_fft"], n_mels=params["n_mels"])
        librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=params["n_mfcc"])
        total += time.perf_counter() - start
    return total


def _warm_then_compute(args) -> float:
    from threadpoolctl import threadpool_limits

    paths, sample_rate, max_duration, params = args
    # one core per process, as the stage's jobs: numpy's BLAS (librosa's mel product) would otherwise
    # use every core, and the "serial" figure would be neither serial nor stable
    with threadpool_limits(limits=1):
        bare_compute(paths[:1], sample_rate, max_duration, params)  # librosa's lazy imports, not compute
        return bare_compute(paths, sample_rate, max_duration, params)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="gtzan_size", choices=["tiny", "default", "gtzan_size"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_features"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--n-shards", type=int, default=4)
    args = parser.parse_args(argv)

    import yaml

    from mgrfaults.config import load_config, resolve
    from mgrfaults.data.metadata import read_metadata

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = workdir / "bench.yaml"
    configfile.write_text(yaml.safe_dump({"dataset": {"synthetic": {"preset": args.preset}},
                                          "features": {"n_shards": args.n_shards}}))
    results = workdir / "results"
    print(f"data stage ({args.preset}, untimed) ...", flush=True)
    snakemake(workdir, configfile, args.cores, ["results/dataset/metadata.csv"])
    meta = read_metadata(results / "dataset" / "metadata.csv")

    for sub in ("features", "benchmarks/features", "logs/features"):
        shutil.rmtree(results / sub, ignore_errors=True)
    targets = [f"results/features/{k}/shard_{s}.h5" for k in ("frames", "texture") for s in range(args.n_shards)]
    print(f"features stage: {len(meta)} tracks, {args.n_shards} shards, --cores {args.cores} ...", flush=True)
    load_before = os.getloadavg()[0]
    wall = snakemake(workdir, configfile, args.cores, targets)

    params = resolve(load_config(configfile)).features.texture  # what the run used
    paths = [str(p if Path(p).is_absolute() else workdir / p) for p in meta["path"]]
    sr, max_dur = params["sample_rate"], params["max_duration"]
    serial = _warm_then_compute((paths, sr, max_dur, params))
    chunks = [list(c) for c in np.array_split(np.array(paths, dtype=object), args.cores)]
    with mp.get_context("spawn").Pool(args.cores) as pool:
        parallel = max(pool.map(_warm_then_compute, [(c, sr, max_dur, params) for c in chunks]))

    tsvs = sorted((results / "benchmarks" / "features").glob("*.tsv"))
    bench = pd.concat([pd.read_csv(p, sep="\t") for p in tsvs])
    audio_hours = meta["duration"].sum() / 3600
    size_gb = sum(p.stat().st_size for p in (results / "features").rglob("*.h5")) / 1e9
    print()
    print(f"1-minute load average: {load_before:.2f} before the stage, {os.getloadavg()[0]:.2f} at the end "
          f"({os.cpu_count()} CPUs; the figures hold for a quiet machine only)")
    print(f"tracks: {len(meta)} ({audio_hours:.2f} h of audio), shards: {args.n_shards}, cache: {size_gb:.2f} GB")
    print(f"features stage through Snakemake, --cores {args.cores}: {wall:8.1f} s wall")
    print(f"bare librosa STFT+MFCC, serial (1 core):    {serial:8.1f} s compute")
    print(f"bare librosa STFT+MFCC, {args.cores} processes:        {parallel:8.1f} s compute (slowest process)")
    print(f"ratio stage wall / bare serial:   {wall / serial:5.2f}   (target <= 1.5)")
    print(f"ratio stage wall / bare {args.cores} procs:  {wall / parallel:5.2f}")
    print(f"per-job wall (s): {', '.join(f'{s:.1f}' for s in bench['s'])}")
    print(f"peak RSS per job (MiB): {', '.join(f'{m:.0f}' for m in bench['max_rss'])}; "
          f"max {bench['max_rss'].max() / 1024:.2f} GiB (target <= 2 GiB)")


if __name__ == "__main__":
    main()
