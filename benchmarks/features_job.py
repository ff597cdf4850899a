"""Where one feature job's time goes: start-up (imports), decoding, compute, HDF5 writes, vs bare librosa.

Writes ``--tracks`` synthetic excerpts of ``--seconds`` s (22050 Hz, 16-bit .au, as the synthetic
dataset), then, on one core (threadpool limited, as the workflow's job):

- start-up: a fresh interpreter importing what ``workflow/scripts/extract_features.py`` imports;
- ``extract_shard`` over the tracks (decode + STFT + MFCC + texture + both HDF5 shards), its wall;
- the bare librosa compute of ``benchmarks/features.py`` on the same tracks (decoding excluded);
- with ``--profile``, the top of a cProfile of ``extract_shard`` by internal time.

    PYTHONPATH=src python benchmarks/features_job.py --tracks 40 [--profile] [--dir /dev/shm]

``--dir`` is where the excerpts and shards are written (default: the system's temporary folder): a RAM disk
(``/dev/shm``) against the default disk tells what writing the frames costs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
JOB_IMPORTS = ("from threadpoolctl import threadpool_limits; "
               "from mgrfaults.features.extract import extract_shard, shard_rows; "
               "from mgrfaults.logs import setup_script_logging; from mgrfaults.data.metadata import read_metadata; "
               "import mgrfaults.data.audio")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--dir", default=None, help="folder for the excerpts and shards (default: the temporary folder)")
    args = ap.parse_args()
    from mgrfaults.config import load_config, resolve
    from mgrfaults.data.audio import load_audio, write_au
    from mgrfaults.features.extract import extract_shard

    features = resolve(load_config()).features  # the embedded default's, as the workflow resolves them
    frames, texture = features.frames, features.texture
    sr = frames["sample_rate"]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        t = np.arange(int(args.seconds * sr)) / sr
        paths = []
        for i in range(args.tracks):
            paths.append(tmp / f"t{i:03d}.au")
            write_au(paths[-1], 0.3 * np.sin(2 * np.pi * 220 * (1 + 0.05 * i) * t) + 0.05 * rng.standard_normal(len(t)))
        rows = pd.DataFrame({"track_id": [f"blues.{i:05d}" for i in range(args.tracks)], "path": paths})

        starts = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", JOB_IMPORTS], check=True)
            starts.append(time.perf_counter() - t0)

        def bare():
            import librosa

            total = 0.0
            for p in paths:
                y = load_audio(p, sample_rate=sr, max_duration=frames["max_duration"])
                t0 = time.perf_counter()
                mag = np.abs(librosa.stft(y, n_fft=1024, hop_length=512, window="hann", center=False))
                mel = librosa.feature.melspectrogram(S=mag**2, sr=sr, n_fft=1024, n_mels=texture["n_mels"])
                librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=texture["n_mfcc"])
                total += time.perf_counter() - t0
            return total

        with threadpool_limits(limits=1):
            extract_shard(rows[:2], tmp / "w_f.h5", tmp / "w_t.h5", frames, texture)  # warm caches
            bare_s, job_s = [], []
            for _ in range(3):
                bare_s.append(bare())
                t0 = time.perf_counter()
                extract_shard(rows, tmp / "f.h5", tmp / "t.h5", frames, texture)
                job_s.append(time.perf_counter() - t0)
            if args.profile:
                prof = cProfile.Profile()
                prof.enable()
                extract_shard(rows, tmp / "f.h5", tmp / "t.h5", frames, texture)
                prof.disable()
    b, j = float(np.median(bare_s)), float(np.median(job_s))
    print(f"{args.tracks} tracks x {args.seconds:g} s, one core, written under {args.dir or tempfile.gettempdir()}")
    print(f"job start-up (fresh interpreter, the script's imports): {np.median(starts):6.2f} s")
    print(f"extract_shard (decode + compute + texture + HDF5):      {j:6.2f} s  ({1e3 * j / args.tracks:.1f} ms/track)")
    print(f"bare librosa STFT + MFCC (decoding excluded):           {b:6.2f} s  ({1e3 * b / args.tracks:.1f} ms/track)")
    print(f"ratio extract_shard / bare: {j / b:5.2f}")
    if args.profile:
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
