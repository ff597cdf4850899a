"""Benchmark: time to generate the synthetic dataset (the data stage) through Snakemake.

    python benchmarks/synth.py [--preset default|gtzan_size|tiny] [--cores 2] [--workdir DIR]

Prints wall time, excerpts per second and seconds of audio rendered per second of wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default", choices=["default", "gtzan_size", "tiny"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"mgrfaults-synth-{args.preset}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = workdir / "bench.yaml"
    configfile.write_text(yaml.safe_dump({"dataset": {"source": "synthetic", "synthetic": {"preset": args.preset}}}))
    cmd = [sys.executable, "-m", "snakemake", "results/dataset/metadata.csv", "-s", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--cores", str(args.cores), "--configfile", str(configfile), "--forceall"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    meta = pd.read_csv(workdir / "results" / "dataset" / "metadata.csv")
    audio_seconds = meta["duration"].sum()
    print(f"preset              {args.preset}")
    print(f"excerpts            {len(meta)} x {meta['duration'].iloc[0]:g} s")
    print(f"cores               {args.cores}")
    print(f"wall time           {wall:.1f} s")
    print(f"excerpts / s        {len(meta) / wall:.2f}")
    print(f"audio s / wall s    {audio_seconds / wall:.1f}")
    print(f"workdir             {workdir}")


if __name__ == "__main__":
    main()
