"""Peak RSS and wall time of every job of a local Snakemake run, per rule: the figures behind
profiles/slurm/config.yaml's mem_mb and runtime.

Runs the workflow locally and watches /proc: each job's script process
(``.snakemake/scripts/tmpXXXX.<script>.py``) is followed until it exits; its peak RSS is the
kernel's high-water mark (VmHWM, exact, not sampled) and its wall time the span it was seen alive
(0.2 s resolution). Prints one row per script: jobs, max peak RSS (MiB), max and total wall (s).

    python tests/slurm/measure_rules.py --workdir /tmp/measure --configfile small.yaml [--cores 2]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT_RE = re.compile(r"\.snakemake/scripts/tmp[^/\s]*?\.([A-Za-z0-9_]+)\.py")


def job_processes() -> dict[int, str]:
    """pid -> script name of every running job script process."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        match = SCRIPT_RE.search(cmdline)
        if match:
            found[int(proc.name)] = match.group(1)
    return found


def peak_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--configfile", type=Path)
    parser.add_argument("--cores", default="2")
    parser.add_argument("snakemake_args", nargs="*", help="passed to snakemake (after --)")
    args = parser.parse_args(argv)

    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(args.workdir),
           "--cores", args.cores, *args.snakemake_args]
    if args.configfile:
        cmd += ["--configfile", str(args.configfile.resolve())]
    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    run = subprocess.Popen(cmd, cwd=args.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[int, dict] = {}  # pid -> script, first, last, peak KiB
    while run.poll() is None:
        now = time.monotonic()
        for pid, script in job_processes().items():
            entry = seen.setdefault(pid, {"script": script, "first": now, "last": now, "peak": 0})
            entry["last"] = now
            entry["peak"] = max(entry["peak"], peak_rss_kib(pid) or 0)
        time.sleep(0.2)
    wall = time.monotonic() - start

    per_script = defaultdict(list)
    for entry in seen.values():
        per_script[entry["script"]].append(entry)
    print(f"snakemake exit status {run.returncode}; wall time {wall:.1f} s ({' '.join(cmd[3:])})")
    print(f"{'script':<22} {'jobs':>4} {'peak RSS MiB':>12} {'max wall s':>10} {'sum wall s':>10}")
    for script, entries in sorted(per_script.items()):
        walls = [e["last"] - e["first"] for e in entries]
        print(f"{script:<22} {len(entries):>4} {max(e['peak'] for e in entries) / 1024:>12.0f} "
              f"{max(walls):>10.1f} {sum(walls):>10.1f}")
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
