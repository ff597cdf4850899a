"""The 2014 grid's training through the workflow: its wall time, each net's epochs, and an estimate elsewhere.

Runs the nets of the study's grid ({50, 500} units x {RS, RSD}, config/gtzan.yaml's DNN settings: the 2014
schedules, every net to patience, every training frame every epoch) on a synthetic dataset
(``--preset gtzan_size``: 1000 excerpts of 30 s, as GTZAN) under standard and fault_filtered, and with
``--lists DIR`` (the study's partition lists: the synthetic excerpts bear GTZAN's ids) under config/gtzan.yaml's
two published-list conditions too, through Snakemake, in two invocations: first the data, features and partitions, then the training alone, which is timed. Reports:

- the training stage's wall time (the second invocation, Snakemake's start-up included) and each
  training job's seconds (Snakemake's benchmark files);
- each net: epochs run (to patience), best epoch, training frames, so the net-frames it trained; the
  table is also written to ``<workdir>/grid_nets.tsv``;
- the training time the same epochs would take on another machine, from one net's frames/s there
  (``--rates 50=<frames/s> 500=<frames/s>``) or from ``benchmarks/train.py --json`` run there
  (``--rates-from``), which also gives the nets trained as stacks (:func:`stacked_seconds`).

``--nets-table TSV`` reuses a run's table instead of running the grid: the epochs are the data's and the
schedules', not the machine's, so a table measured on a CPU serves the estimate for a GPU whose image
cannot run the workflow (the lent GPU machines lack Snakemake and librosa: benchmarks/device_check.sh).

    PYTHONPATH=src python benchmarks/grid.py --preset gtzan_size --device cuda   # the issue's measure, on a GPU
    PYTHONPATH=src python benchmarks/grid.py --preset tiny --stack always        # a smoke run on a CPU (~1 min)
    PYTHONPATH=src python benchmarks/grid.py --nets-table benchmarks/reference/grid_gtzan_size_cpu.tsv \
        --rates-from train.json                                                 # an estimate from measured rates

``--nets`` trains some of the four nets only; the config, so every job's parameters, stays the whole grid's,
so runs for other nets in the same ``--workdir`` reuse its data and each other's models (stacked, a net's job is
its shape's: ``--nets 50_RS`` trains 50_RSD too, and the time is both's). ``--stack auto`` (the
default) stacks the nets of one shape on a GPU (``systems.dnn.stack``); ``never`` trains one net per job, for
the comparison. ``--train-limit S`` stops the training after S seconds (Snakemake ended by SIGTERM, as a
scheduler would, so its jobs clean up) and still prints the table: the nets that did not reach patience have
``complete`` False and the epochs their logs show. On a lent GPU machine the workflow's packages come as wheels
(``benchmarks/device_wheels.py``) and ``benchmarks/device_check.sh``'s step ``workflow_grid`` runs this script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from features import snakemake, snakemake_command  # noqa: E402 (the benchmarks' Snakemake runner)
from mgrfaults.systems.parts import open_store  # noqa: E402

NETS = ["50_RS", "50_RSD", "500_RS", "500_RSD"]
CONDITIONS = {"standard": {"method": "stratified"}, "fault_filtered": {"method": "artist_filtered"}}
PUBLISHED = ("published_filtered", "published_stratified")  # config/gtzan.yaml's other two conditions


def grid_conditions(lists: str | None = None) -> dict:
    """The grid's conditions: standard and fault_filtered, and with ``lists`` (a folder of the study's
    ``{train,valid,test}_{filtered,stratified}.txt``) config/gtzan.yaml's two published-list conditions too.

    The synthetic presets name their excerpts as GTZAN does (``blues.00000`` ...), so the lists select from the
    GTZAN-size preset's 1000 excerpts parts of the study's sizes (443/197/290 and 500/250/250 excerpts; a smaller
    preset lacks most listed ids, and the partitions stage refuses it). Its artists are not GTZAN's, so
    ``check_artists`` is off.
    """
    if lists is None:
        return dict(CONDITIONS)
    lists = str(Path(lists).resolve())
    published = dict(method="published", lists=lists, check_artists=False)
    return {**CONDITIONS, **{name: dict(published, set=name.split("_")[1]) for name in PUBLISHED}}


def grid_config(preset: str, device: str, stack: str, threads: int, max_epochs: int | None,
                conditions: dict = CONDITIONS) -> dict:
    """The grid's config: config/gtzan.yaml's DNN settings on a synthetic dataset, under ``conditions``
    (:func:`grid_conditions`)."""
    study = yaml.safe_load((REPO / "config" / "gtzan.yaml").read_text())
    dnn = dict(study["systems"]["dnn"], stack=stack)
    if max_epochs:  # a smoke run: the grid's plumbing, not its convergence
        dnn["variants"] = {v: {"max_epochs": max_epochs} for v in ("RS", "RSD")}
    return {
        "results": "results",
        "dataset": {"source": "synthetic", "synthetic": {"preset": preset}},
        "partitions": {"conditions": conditions},
        "systems": {"run": NETS, "threads": threads, "device": device, "dnn": dnn},
        "evaluate": {"figure_of_merit": ["500_RSD"]},
    }


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:  # the group ended meanwhile
        pass


def run_for(cmd: list[str], limit: float | None, grace: float = 60.0, after_kill=None) -> tuple[float, int | None]:
    """Run ``cmd`` in a process group of its own for at most ``limit`` seconds (None: to its end).

    At the limit, or when this process gets SIGTERM (the device check's time limit), the group gets SIGTERM, as a
    scheduler's time limit sends, then SIGKILL after ``grace`` seconds, and ``after_kill()`` runs. The command
    never outlives this call: its own session escapes a signal sent to this process's group.

    Returns ``(seconds, exit status)``; the status is None when the command was stopped.
    """
    stop_asked = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop_asked.append(signum))
    start = time.perf_counter()
    try:
        with subprocess.Popen(cmd, start_new_session=True) as run:
            while run.poll() is None:
                if stop_asked or (limit is not None and time.perf_counter() - start >= limit):
                    why = "SIGTERM" if stop_asked else f"its limit, {limit:g} s"
                    print(f"stopped at {why}: {' '.join(map(str, cmd[:4]))} ...", flush=True)
                    _signal_group(run.pid, signal.SIGTERM)
                    try:
                        run.wait(timeout=grace)
                    except subprocess.TimeoutExpired:
                        _signal_group(run.pid, signal.SIGKILL)
                        run.wait()
                        if after_kill:
                            after_kill()
                    return time.perf_counter() - start, None
                time.sleep(0.2)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return time.perf_counter() - start, run.returncode


def snakemake_for(limit: float | None, workdir: Path, configfile: Path, cores: int, targets: list[str]):
    """Run Snakemake on ``targets`` for at most ``limit`` seconds (None: to the end), by :func:`run_for`.

    Returns ``(seconds, finished)``. Stopped, Snakemake ends its running jobs, which remove their outputs; one
    killed after the grace leaves its lock, which is released.
    """
    cmd = snakemake_command(workdir, configfile, cores, targets)
    unlock = snakemake_command(workdir, configfile, cores, []) + ["--unlock"]
    seconds, code = run_for(cmd, limit, after_kill=lambda: subprocess.run(unlock, check=False))
    if code is None:
        return seconds, False
    if code != 0:
        raise SystemExit(f"snakemake exited with {code}: {' '.join(cmd)}")
    return seconds, True


def run_grid(args) -> pd.DataFrame:
    """Run the grid through Snakemake (data first, then the training, timed); return the per-net table."""
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.lists and args.preset != "gtzan_size":
        raise SystemExit(f"--lists: the study's lists select from GTZAN's 1000 ids: --preset gtzan_size, not {args.preset}")
    conditions = grid_conditions(args.lists)
    config = grid_config(args.preset, args.device, args.stack, args.threads, args.max_epochs, conditions)
    (workdir / "grid.yaml").write_text(yaml.safe_dump(config))
    results = workdir / "results"
    models = [f"results/models/{net}/{c}/fold_0.pt" for net in args.nets for c in conditions]
    partitions = [f"results/partitions/{c}/fold_0.csv" for c in conditions]
    print(f"load before: {os.getloadavg()[0]:.2f}; cuda: "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}; stack: {args.stack}", flush=True)
    data_seconds = snakemake(workdir, workdir / "grid.yaml", args.cores, partitions)
    print(f"data, features, partitions: {data_seconds:.1f} s", flush=True)
    train_seconds, finished = snakemake_for(args.train_limit, workdir, workdir / "grid.yaml", args.cores, models)
    print(f"training stage{'' if finished else ', stopped'}: {train_seconds:.1f} s wall ({train_seconds / 60:.1f} min), load after: "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    for tsv in sorted((results / "benchmarks" / "train").rglob("*.tsv")):
        job = tsv.relative_to(results / "benchmarks" / "train").with_suffix("")
        print(f"  job {str(job):40s} {pd.read_csv(tsv, sep=chr(9))['s'].iloc[0]:8.1f} s")
    table = nets_table(results, list(conditions), args.nets)
    table.to_csv(workdir / "grid_nets.tsv", sep="\t", index=False)
    return table


def read_nets_table(path) -> pd.DataFrame:
    """A nets table written by :func:`main` (``grid_nets.tsv``): one row per net with at least ``net``, ``units``,
    ``epochs`` and ``train_frames``; ``#`` lines are comments."""
    table = pd.read_csv(path, sep="\t", comment="#")
    missing = {"net", "units", "epochs", "train_frames"} - set(table.columns)
    if missing:
        raise SystemExit(f"{path}: a nets table needs the columns {sorted(missing)}")
    return table


def epochs_logged(results: Path, net: str, condition: str) -> int:
    """The epochs a net's training logs show for fold 0 of ``condition``: its own job's log (``<net> epoch N:``
    lines) or its stack's (``<net> <condition> fold 0 epoch N:``), as :func:`mgrfaults.systems.dnn.epoch_logger`
    writes them."""
    logs = results / "logs" / "train"
    text = "".join(log.read_text() for log in [logs / net / condition / "fold_0.log", *sorted(logs.glob("stack_*.log"))]
                   if log.exists())
    return len(re.findall(rf"(?<![\w.]){re.escape(net)}(?: {re.escape(condition)} fold 0)? epoch \d+:", text))


def nets_table(results: Path, conditions=None, nets=NETS) -> pd.DataFrame:
    """Each of ``nets`` in a grid run's ``results`` folder, under each of ``conditions`` (default: those it has
    partitions of): its epochs, best epoch, frames and seconds.

    A net still training or never started (a run stopped early) has ``complete`` False, the epochs its
    logs show so far (:func:`epochs_logged`), and the frames of its condition's training part (read from the
    run's files).
    """
    if conditions is None:
        conditions = sorted(p.name for p in (results / "partitions").iterdir() if (p / "fold_0.csv").exists())
    rows = []
    for net in nets:
        for condition in conditions:
            model = results / "models" / net / condition / "fold_0.pt"
            if not model.exists():
                rows.append(dict(net=net, condition=condition, units=int(net.split("_")[0]),
                                 epochs=epochs_logged(results, net, condition), complete=False))
                continue
            info = torch.load(model, weights_only=True)["info"]
            rows.append(dict(net=net, condition=condition, units=int(net.split("_")[0]), epochs=info["epochs"],
                             best_epoch=info["best_epoch"], train_frames=info["train_frames"],
                             batch_size=info["batch_size"], train_seconds=round(info["train_seconds"], 1),
                             device=info["device"], stacked=len(info.get("stack", [])) > 0, complete=True))
    table = pd.DataFrame(rows)
    if not table.complete.all():
        shards = sorted((results / "features" / "frames").glob("shard_*.h5"))
        if not shards:  # stopped before the feature stage wrote its shards: no training part to count
            raise SystemExit(f"{results}: no frame features yet, so no training part to count: the run stopped before "
                             "the feature stage ended (give --train-limit the time it takes too)")
        store = open_store(shards)
        for i in table.index[~table.complete]:
            partition = pd.read_csv(results / "partitions" / table.condition[i] / "fold_0.csv")
            table.loc[i, "train_frames"] = int(store.lengths(partition.track_id[partition.part == "train"]).sum())
    table["train_frames"] = table.train_frames.astype(int)
    table.insert(table.columns.get_loc("train_frames") + 1, "net_frames", table.epochs * table.train_frames)
    return table


def grid_coverage(table: pd.DataFrame) -> str:
    """What a nets table's estimate covers of config/gtzan.yaml's grid (4 nets x 4 conditions), and what not."""
    have = set(zip(table.net, table.get("condition", pd.Series([""] * len(table)))))
    missing = [f"{net}/{condition}" for condition in [*CONDITIONS, *PUBLISHED] for net in NETS
               if (net, condition) not in have]
    if not missing:
        return "the table holds config/gtzan.yaml's 16 nets"
    return (f"the table holds {16 - len(missing)} of config/gtzan.yaml's 16 nets; not estimated: {', '.join(missing)} "
            "(their epochs are not measured)")


def rates_from(path, batch_size: int) -> tuple[str, dict[int, dict[int, float]]]:
    """Training frames/s by units and stack size from ``benchmarks/train.py --json``, at ``batch_size``.

    Returns the device's name and ``{units: {K: frames/s summed over the K nets}}``. K = 1 is the loop
    the workflow trains one net with on that device (the resident path with CUDA graphs on a GPU, the
    HDF5 stream on a CPU); K > 1 are the fp32 stacks (graphs on a GPU, eager on a CPU).
    """
    figures = json.loads(Path(path).read_text())
    one_net = "resident graphs fp32" if figures["device"] == "cuda" else "pipeline (HDF5 stream)"
    rates: dict[int, dict[int, float]] = {}
    for row in figures["rows"]:
        if row["batch"] != batch_size:
            continue
        loop, k = row["loop"], int(row["nets"])
        if (k == 1 and loop == one_net) or (k > 1 and loop.startswith("stack of") and loop.endswith(" fp32")):
            rates.setdefault(int(row["units"]), {})[k] = float(row["frames_per_s"])
    if not rates:
        raise SystemExit(f"{path}: no training rates at batch {batch_size} ({one_net!r} or 'stack of K ... fp32')")
    return figures["device_name"], rates


def one_net_seconds(table: pd.DataFrame, rates: dict[int, float]) -> float:
    """Seconds of training steps when every net trains alone at ``rates[units]`` frames/s."""
    per_units = table.groupby("units").net_frames.sum()
    return float(sum(per_units[u] / rates[u] for u in per_units.index))


def stacked_seconds(table: pd.DataFrame, rates: dict[int, dict[int, float]]) -> float:
    """Seconds of training steps when the nets of one shape train as one stack (``systems.dnn.stack``).

    A stack's epoch runs as many steps as its largest active part needs (the smaller parts' nets sit
    the extra steps out), for every net still training; a net leaves at its last epoch. An epoch with
    K nets active therefore takes ``K * max(train_frames) / R(K)`` seconds, ``R(K)`` the stack's
    summed frames/s, interpolated linearly between the measured stack sizes (and held beyond them).
    Validation passes are not counted.
    """
    total = 0.0
    for units, nets in table.groupby("units"):
        sizes = sorted(rates[units])
        for epoch in range(1, int(nets.epochs.max()) + 1):
            active = nets[nets.epochs >= epoch]
            k = len(active)
            total += k * active.train_frames.max() / np.interp(k, sizes, [rates[units][s] for s in sizes])
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="gtzan_size", choices=["gtzan_size", "default", "tiny"])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--stack", default="auto", choices=["auto", "always", "never"])
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--threads", type=int, default=2, help="threads per training job (systems.threads)")
    ap.add_argument("--max-epochs", type=int, default=None, help="cap every net's epochs (smoke runs only)")
    ap.add_argument("--train-limit", type=float, default=None,
                    help="stop the training after this many seconds; the table then holds the epochs run so far")
    ap.add_argument("--nets", nargs="+", default=NETS, choices=NETS,
                    help="train only these of the grid's nets (default: all four, under each condition)")
    ap.add_argument("--workdir", default="/tmp/mgrfaults_grid")
    ap.add_argument("--lists", help="a folder of the study's partition lists ({train,valid,test}_{filtered,stratified}"
                                    ".txt, e.g. ../shared/gtzan/partitions): config/gtzan.yaml's two published "
                                    "conditions too, so all four")
    ap.add_argument("--nets-table", help="an earlier run's grid_nets.tsv, or its workdir: estimate from it, run nothing")
    ap.add_argument("--rates", nargs="*", default=[],
                    help="UNITS=FRAMES_PER_S of one net elsewhere (benchmarks/train.py), e.g. 50=380000 500=17000")
    ap.add_argument("--rates-from", help="a benchmarks/train.py --json file from the machine to estimate for")
    args = ap.parse_args()
    if args.nets_table and Path(args.nets_table).is_dir():
        table = nets_table(Path(args.nets_table) / "results")
    elif args.nets_table:
        table = read_nets_table(args.nets_table)
    else:
        table = run_grid(args)
    print(table.to_string(index=False))
    if "complete" in table and not table.complete.all():  # a run stopped early: its last nets' epochs so far
        print(f"{(~table.complete).sum()} of {len(table)} nets did not reach patience in that run: their epochs are "
              "those run so far, and every estimate below is a lower bound")
    rates = {int(k): float(v) for k, v in (r.split("=") for r in args.rates)}
    if rates:
        seconds = one_net_seconds(table, rates)
        print("at " + ", ".join(f"{u} units {rates[u]:,.0f} frames/s" for u in sorted(rates))
              + f": {seconds:,.0f} s ({seconds / 3600:.2f} h) of training steps")
    if args.rates_from:
        batch_size = int(table.batch_size.iloc[0]) if "batch_size" in table else 1200
        name, measured = rates_from(args.rates_from, batch_size)
        print(f"{name}, batch {batch_size}, frames/s by stack size (summed over its nets): "
              + "; ".join(f"{u} units " + ", ".join(f"K={k} {r:,.0f}" for k, r in sorted(measured[u].items()))
                          for u in sorted(measured)))
        alone = {u: measured[u][1] for u in measured if 1 in measured[u]}
        if set(alone) >= set(table.units):
            seconds = one_net_seconds(table, alone)
            print(f"  one net at a time: {seconds:,.0f} s ({seconds / 60:.1f} min) of training steps")
        if all(len(measured.get(u, {})) > 1 for u in set(table.units)):
            seconds = stacked_seconds(table, measured)
            print(f"  stacked by shape: {seconds:,.0f} s ({seconds / 60:.1f} min) of training steps")
    if rates or args.rates_from:  # one caveat for every estimate above
        print("validation passes not counted; " + grid_coverage(table))


if __name__ == "__main__":
    main()
