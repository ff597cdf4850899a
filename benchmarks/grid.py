"""The 2014 grid's training through the workflow: its wall time, each net's epochs, and an estimate elsewhere.

Runs the nets of the study's grid ({50, 500} units x {RS, RSD}, config/gtzan.yaml's DNN settings: the 2014
schedules, every net to patience, every training frame every epoch) on a synthetic dataset
(``--preset gtzan_size``: 1000 excerpts of 30 s, as GTZAN) under the two conditions a synthetic dataset
has (standard and fault_filtered; the published lists need GTZAN's ids), through Snakemake, in two
invocations: first the data, features and partitions, then the training alone, which is timed. Reports:

- the training stage's wall time (the second invocation, Snakemake's start-up included) and each
  training job's seconds (Snakemake's benchmark files);
- each net: epochs run (to patience), best epoch, training frames, so the net-frames it trained;
- with ``--rates 50=<frames/s> 500=<frames/s>`` (one net's training frames/s on another machine, from
  ``benchmarks/train.py`` there): the training time the same epochs would take there.

    PYTHONPATH=src python benchmarks/grid.py --preset gtzan_size --device cuda   # the issue's measure, on a GPU
    PYTHONPATH=src python benchmarks/grid.py --preset tiny --stack always        # a smoke run on a CPU (~1 min)

``--stack auto`` (the default) stacks the nets of one shape on a GPU (``systems.dnn.stack``); ``never``
trains one net per job, for the comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from features import snakemake  # noqa: E402 (the benchmarks' Snakemake runner: wall seconds of one invocation)
NETS = ["50_RS", "50_RSD", "500_RS", "500_RSD"]
CONDITIONS = {"standard": {"method": "stratified"}, "fault_filtered": {"method": "artist_filtered"}}


def grid_config(preset: str, device: str, stack: str, threads: int, max_epochs: int | None) -> dict:
    """The grid's config: config/gtzan.yaml's DNN settings on a synthetic dataset, the two conditions."""
    study = yaml.safe_load((REPO / "config" / "gtzan.yaml").read_text())
    dnn = dict(study["systems"]["dnn"], stack=stack)
    if max_epochs:  # a smoke run: the grid's plumbing, not its convergence
        dnn["variants"] = {v: {"max_epochs": max_epochs} for v in ("RS", "RSD")}
    return {
        "results": "results",
        "dataset": {"source": "synthetic", "synthetic": {"preset": preset}},
        "partitions": {"conditions": CONDITIONS},
        "systems": {"run": NETS, "threads": threads, "device": device, "dnn": dnn},
        "evaluate": {"figure_of_merit": ["500_RSD"]},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="gtzan_size", choices=["gtzan_size", "default", "tiny"])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--stack", default="auto", choices=["auto", "always", "never"])
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads", type=int, default=2, help="threads per training job (systems.threads)")
    ap.add_argument("--max-epochs", type=int, default=None, help="cap every net's epochs (smoke runs only)")
    ap.add_argument("--workdir", default="/tmp/mgrfaults_grid")
    ap.add_argument("--rates", nargs="*", default=[],
                    help="UNITS=FRAMES_PER_S of one net elsewhere (benchmarks/train.py), e.g. 50=380000 500=17000")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config = grid_config(args.preset, args.device, args.stack, args.threads, args.max_epochs)
    (workdir / "grid.yaml").write_text(yaml.safe_dump(config))
    results = workdir / "results"
    models = [f"results/models/{net}/{c}/fold_0.pt" for net in NETS for c in CONDITIONS]
    partitions = [f"results/partitions/{c}/fold_0.csv" for c in CONDITIONS]
    print(f"load before: {os.getloadavg()[0]:.2f}; cuda: "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}; stack: {args.stack}", flush=True)
    data_seconds = snakemake(workdir, workdir / "grid.yaml", args.cores, partitions)
    print(f"data, features, partitions: {data_seconds:.1f} s", flush=True)
    train_seconds = snakemake(workdir, workdir / "grid.yaml", args.cores, models)
    print(f"training stage: {train_seconds:.1f} s wall ({train_seconds / 60:.1f} min), load after: "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    for tsv in sorted((results / "benchmarks" / "train").rglob("*.tsv")):
        job = tsv.relative_to(results / "benchmarks" / "train").with_suffix("")
        print(f"  job {str(job):40s} {pd.read_csv(tsv, sep=chr(9))['s'].iloc[0]:8.1f} s")
    rows = []
    for net in NETS:
        for condition in CONDITIONS:
            info = torch.load(results / "models" / net / condition / "fold_0.pt", weights_only=True)["info"]
            rows.append(dict(net=net, condition=condition, units=int(net.split("_")[0]), epochs=info["epochs"],
                             best_epoch=info["best_epoch"], train_frames=info["train_frames"],
                             net_frames=info["epochs"] * info["train_frames"], device=info["device"],
                             stacked=len(info.get("stack", [])) > 0))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    rates = {int(k): float(v) for k, v in (r.split("=") for r in args.rates)}
    if rates:
        per_units = table.groupby("units").net_frames.sum()
        seconds = sum(per_units[u] / rates[u] for u in per_units.index)
        print("at " + ", ".join(f"{u} units {rates[u]:,.0f} frames/s" for u in per_units.index)
              + f": {seconds:,.0f} s ({seconds / 3600:.1f} h) of training steps, validation passes not counted")


if __name__ == "__main__":
    main()
