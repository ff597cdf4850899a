"""The 2014 grid's training time on this device, measured: each net trained for the epochs it ran to patience.

``benchmarks/grid.py`` measures, through the workflow, how many epochs each net of the study's grid trains
before patience runs out (at GTZAN size: ``benchmarks/reference/grid_gtzan_size_cpu.tsv``). The epochs are the
data's and the schedules', not the machine's; what a machine changes is what those epochs cost. A GPU machine
that cannot run the workflow (the lent ones lack Snakemake and librosa) can still time them: every net of a
nets table is trained here by ``train_mlp``, the call ``rule train_net`` makes (on a GPU: the part read from
HDF5 onto the device, CUDA-graph steps), with its variant's 2014 settings (``TrainParams.study``), for exactly
the table's epochs (patience off), on synthetic frames: a training part of the table's ``train_frames``
(tracks of ``--frames-per-track`` frames) and a validation part of ``--valid-tracks`` tracks, evaluated after
every epoch as in the workflow. Each net's wall seconds include its HDF5 read, graph capture and validation
passes; the store is written once, before, untimed. Not included: Snakemake's start-up and the job's own
reading of the partition (about 1 s a job on a CPU). ``--stack`` trains the nets of one shape at once
(``train_stack``, each net to its own epochs), as the workflow does on a GPU (``systems.dnn.stack: auto``): the
time is then the stack's.

    PYTHONPATH=src python benchmarks/grid_replay.py                       # the reference table, on cuda if present
    PYTHONPATH=src python benchmarks/grid_replay.py --stack               # the same nets, stacked by shape
    PYTHONPATH=src python benchmarks/grid_replay.py --conditions standard # the standard condition's four nets
    PYTHONPATH=src python benchmarks/grid_replay.py --train-frames 5000 --frames-per-track 50 --valid-tracks 20 \
        --max-epochs 2 --device cpu                                        # a smoke run, seconds

The validation part defaults to 250 tracks of 30 s: the standard condition's split of 1000 excerpts
(500/250/250, as the table's 645,000 training frames are 500 x 1290).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from grid import read_nets_table  # noqa: E402
from train import N_CLASSES, sync, write_store  # noqa: E402 (the throughput benchmark's synthetic store)
from mgrfaults.systems.dnn import (MLP, FrameBatches, TrainParams, epoch_hyper, frame_error, init_mlp,  # noqa: E402
                                   resolve_device, train_mlp)
from mgrfaults.systems.resident import ResidentSGD, resident_part, validation_batches  # noqa: E402
from mgrfaults.systems.parts import open_store, standardisation_stats  # noqa: E402
from mgrfaults.systems.stack import train_stack  # noqa: E402

REFERENCE_TABLE = REPO / "benchmarks" / "reference" / "grid_gtzan_size_cpu.tsv"


def variant_of(net: str) -> str:
    """The DNN variant of a grid net's name: ``500_RSD`` -> ``RSD``."""
    return net.split("_", 1)[1]


def net_run(store, train_ids, valid_ids, labels, mean, std, units: int, variant: str, epochs: int, seed: int = 0):
    """A grid net ready to train for exactly ``epochs`` epochs: its model, parts and settings.

    Parameters
    ----------
    store : FrameStore
    train_ids, valid_ids : list of str
        The tracks of its training and validation parts.
    labels : dict
        Track id -> class index.
    mean, std : ndarray, shape (n_bins,)
        Standardisation statistics.
    units : int
        Units per hidden layer (three hidden layers, as the study).
    variant : str
        The study's variant (``RS``, ``RSD``, ...): learning rate, momentum, dropout, batch size.
    epochs : int
        Epochs to train: patience is set beyond them, so every one runs.
    seed : int
        Its initialisation, batch order and dropout seed.

    Returns
    -------
    model : MLP
    train, valid : FrameBatches
    params : TrainParams
    """
    params = TrainParams.study(variant, max_epochs=int(epochs), patience=int(epochs) + 1)
    train = FrameBatches(store, train_ids, [labels[t] for t in train_ids], mean, std,
                         batch_size=params.batch_size, seed=seed)
    valid = FrameBatches(store, valid_ids, [labels[t] for t in valid_ids], mean, std, batch_size=8192,
                         shuffle=False)
    model = MLP(len(mean), [int(units)] * 3, N_CLASSES, "relu", params.keep_probs, params.input_scales)
    init_mlp(model, params.init, params.init_range, seed=seed)
    return model, train, valid, params


def replay_alone(run, device, seed: int = 0, precision: str = "fp32", compiled: bool = False
                 ) -> tuple[float, pd.DataFrame]:
    """Wall seconds of ``train_mlp`` on one :func:`net_run` (device synchronised), as ``rule train_net``,
    and its log (one row per epoch, with the epoch's seconds: training steps and validation pass)."""
    model, train, valid, params = run
    sync(device)
    t0 = time.perf_counter()
    _, log = train_mlp(model, train, valid, params, seed=seed, device=device, precision=precision, compiled=compiled)
    sync(device)
    if len(log) != params.max_epochs:
        raise RuntimeError(f"trained {len(log)} epochs, asked {params.max_epochs}")
    return time.perf_counter() - t0, log


def validation_pass_seconds(model, valid, device, repeats: int = 3) -> float:
    """Median wall seconds of one validation pass of ``model`` over ``valid`` held on the device, as
    ``train_mlp`` runs after every epoch on the resident path (the part is read before, untimed)."""
    x, y = resident_part(valid, device)
    times = []
    for _ in range(int(repeats)):
        sync(device)
        t0 = time.perf_counter()
        frame_error(model, validation_batches(model, x, y), device)  # ends by reading the error: synchronised
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def resident_loop_rate(run, device, epochs: int = 2, precision: str = "fp32", compiled: bool = False) -> float:
    """Frames/s of the bare resident loop on a :func:`net_run`'s training part: :class:`ResidentSGD` epochs
    (CUDA graphs on a GPU) of a copy of its net with its settings, after a warm-up epoch; the median epoch.
    What ``train_mlp`` adds to it (reading the parts, capture, validation) is the rest of its time."""
    model, train, _, params = run
    x, y = resident_part(train, device)
    trainer = ResidentSGD(copy.deepcopy(model).to(device), x, y, params.batch_size, seed=train.seed,
                          precision=precision, compiled=compiled)
    trainer.set_hyper(*epoch_hyper(params, 0))
    rates = []
    for epoch in range(int(epochs) + 1):
        sync(device)
        t0 = time.perf_counter()
        n = trainer.train_epoch(epoch)[2]  # ends by reading the epoch's loss: synchronised
        rates.append(n / (time.perf_counter() - t0))
    return float(np.median(rates[1:]))


def time_breakdown(seconds: float, epoch_seconds, validation_pass: float, frames: int, loop_rate: float) -> dict:
    """Where one net's wall ``seconds`` of ``train_mlp`` went, against the bare resident loop.

    Parameters
    ----------
    seconds : float
        The whole call.
    epoch_seconds : array_like, shape (n_epochs,)
        Its log's ``seconds``: each epoch's training, the start of its validation pass and the wait for
        its result (on the resident path a GPU validates an epoch while the next trains).
    validation_pass : float
        Seconds of one validation pass on its own (:func:`validation_pass_seconds`).
    frames : int
        Training frames over all its epochs.
    loop_rate : float
        Frames/s of the bare resident loop on the same part (:func:`resident_loop_rate`).

    Returns
    -------
    dict
        ``setup_s``: outside the epochs (reading the parts from HDF5 onto the device, before the first;
        returning the best parameters, after the last); ``capture_s``: the first epoch's excess over
        the median epoch (graph capture and warm-up, at least 0); ``validation_pass_s``: one pass;
        ``loop_frames_per_s``; ``of_loop``: the whole call's frames/s over the loop's (the issue's
        "HDF5-fed pipeline against your own GPU-resident loop").
    """
    epochs = np.asarray(epoch_seconds, dtype=float)
    capture = max(float(epochs[0] - np.median(epochs[1:])), 0.0) if len(epochs) > 1 else 0.0
    return dict(setup_s=round(float(seconds - epochs.sum()), 3), capture_s=round(capture, 3),
                validation_pass_s=round(float(validation_pass), 4), loop_frames_per_s=round(float(loop_rate)),
                of_loop=round(frames / seconds / loop_rate, 3))


def replay_stacked(runs, device, precision: str = "fp32") -> tuple[float, list]:
    """Wall seconds of ``train_stack`` on same-shape :func:`net_run` s at once, as a ``train_stack_<shape>`` job,
    and each net's log."""
    models, trains, valids, params = (list(column) for column in zip(*runs))
    sync(device)
    t0 = time.perf_counter()
    trained = train_stack(models, trains, valids, params, list(range(len(runs))), device, precision=precision)
    sync(device)
    for (_, log), p in zip(trained, params):
        if len(log) != p.max_epochs:
            raise RuntimeError(f"a stacked net trained {len(log)} epochs, asked {p.max_epochs}")
    return time.perf_counter() - t0, [log for _, log in trained]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets-table", default=str(REFERENCE_TABLE.relative_to(REPO)),
                    help="grid.py's grid_nets.tsv (default: %(default)s)")
    ap.add_argument("--frames-per-track", type=int, default=1290, help="frames per synthetic track (30 s: 1290)")
    ap.add_argument("--valid-tracks", type=int, default=250)
    ap.add_argument("--max-epochs", type=int, default=None, help="cap each net's epochs (a smoke run)")
    ap.add_argument("--train-frames", type=int, default=None,
                    help="every net's training part in frames instead of the table's (a smoke run)")
    ap.add_argument("--conditions", nargs="+", default=None,
                    help="replay only the nets of these conditions (the table's condition column), e.g. standard")
    ap.add_argument("--stack", action="store_true",
                    help="train the nets of one shape at once (train_stack), as systems.dnn.stack: auto on a GPU")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"],
                    help="matmul precision on CUDA (systems.dnn.precision)")
    ap.add_argument("--compiled", action="store_true",
                    help="nets trained alone: the step compiled by torch.compile (systems.dnn.compile)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the figures (one row per net, or per stack) to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    table = read_nets_table(REPO / args.nets_table)
    if args.conditions:
        if "condition" not in table:
            raise SystemExit(f"--conditions: {args.nets_table} has no condition column")
        missing = sorted(set(args.conditions) - set(table.condition))
        if missing:
            raise SystemExit(f"--conditions: {args.nets_table} has no nets of {', '.join(missing)} "
                             f"(its conditions: {', '.join(sorted(set(table.condition)))})")
        table = table[table.condition.isin(args.conditions)]
    if args.max_epochs:
        table["epochs"] = table.epochs.clip(upper=args.max_epochs)
    if args.train_frames:
        table["train_frames"] = args.train_frames
    rows = []

    def save(rows):  # after every row: a run cut short (a device's time limit) keeps what it measured
        if args.json:
            command = " ".join(["python", "benchmarks/grid_replay.py", *sys.argv[1:]])
            Path(args.json).write_text(json.dumps(dict(
                command=command, device=device.type, device_name=name, nets_table=args.nets_table,
                stack=args.stack, precision=args.precision, compiled=args.compiled, max_epochs=args.max_epochs,
                train_frames=args.train_frames, rows=rows,
                total_seconds=float(sum(r["seconds"] for r in rows)), load_1min_at_end=os.getloadavg()[0]),
                indent=1) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        # one store: the validation tracks, then as many training tracks as the largest part; a net's part is
        # the first of them (standardised with the largest part's statistics: the time does not depend on them)
        table["tracks"] = (table.train_frames / args.frames_per_track).round().clip(lower=1).astype(int)
        t0 = time.perf_counter()
        store = open_store(write_store(Path(tmp), int(table.tracks.max()) + args.valid_tracks, args.frames_per_track))
        ids = list(store.track_ids)
        labels = {t: int(t.split(".")[-1]) % N_CLASSES for t in ids}  # write_store's labels
        valid_ids, train_ids = ids[: args.valid_tracks], ids[args.valid_tracks :]
        mean, std = standardisation_stats(store, train_ids)
        # the settings act on a GPU's resident path only: a CPU streams its parts, fp32 and uncompiled
        cuda = device.type == "cuda"
        how = ("stacked by shape" if args.stack else "one at a time") + (
            f", {args.precision}" + (", compiled alone" if args.compiled else "") if cuda else ", fp32 (a CPU)")
        print(f"{name}: training parts of {', '.join(map(str, sorted(set(table.tracks))))} tracks x "
              f"{args.frames_per_track} frames, {len(valid_ids)} validation tracks (store written in "
              f"{time.perf_counter() - t0:.1f} s, not timed); nets {how}", flush=True)
        runs = {net.Index: net_run(store, train_ids[: net.tracks], valid_ids, labels, mean, std, net.units,
                                   variant_of(net.net), net.epochs, seed=net.Index)
                for net in table.itertuples()}
        if args.stack:
            groups = [list(g.index) for _, g in table.groupby("units", sort=False)]
        else:
            groups = [[i] for i in table.index]
        for group in groups:
            nets = table.loc[group]
            frames = int((nets.epochs * nets.tracks).sum() * args.frames_per_track)
            breakdown = {}
            if len(group) > 1:
                seconds, logs = replay_stacked([runs[i] for i in group], device, args.precision)
            else:
                run = runs[group[0]]
                seconds, log = replay_alone(run, device, group[0], args.precision, args.compiled)  # its run's seed
                logs = [log]
                breakdown = time_breakdown(seconds, log.seconds, validation_pass_seconds(run[0], run[2], device),
                                           frames, resident_loop_rate(run, device, precision=args.precision,
                                                                      compiled=cuda and args.compiled))
            rows.append(dict(nets=list(nets.net), conditions=list(nets.get("condition", [""] * len(nets))),
                             units=int(nets.units.iloc[0]), epochs=[int(e) for e in nets.epochs],
                             train_frames=[int(t) * args.frames_per_track for t in nets.tracks],
                             seconds=round(seconds, 2), frames_per_s=round(frames / seconds),
                             # the step as it ran: stacks never compile
                             precision=args.precision if cuda else "fp32",
                             compiled=cuda and args.compiled and len(group) == 1,
                             # each net's lowest validation frame error: the same within noise in every precision
                             best_valid_frame_error=[round(float(g.valid_frame_error.min()), 5) for g in logs],
                             **breakdown))
            names = [f"{n}/{c}" if c else n for n, c in zip(rows[-1]["nets"], rows[-1]["conditions"])]
            print(f"  {' + '.join(names):24s} {'+'.join(map(str, nets.epochs)):>10s} epochs  {seconds:8.1f} s  "
                  f"{rows[-1]['frames_per_s']:12,} frames/s (validation, load and capture included); best validation "
                  f"frame error {', '.join(f'{e:.4f}' for e in rows[-1]['best_valid_frame_error'])}", flush=True)
            if breakdown:
                print(f"  {'':24s} setup {breakdown['setup_s']:.2f} s, capture {breakdown['capture_s']:.2f} s, "
                      f"a validation pass {breakdown['validation_pass_s']:.3f} s; the bare resident loop "
                      f"{breakdown['loop_frames_per_s']:,} frames/s: the whole run at {breakdown['of_loop']:.2f} "
                      "of it", flush=True)
            save(rows)
    total = float(sum(r["seconds"] for r in rows))
    print(f"{name}: the table's {len(table)} nets, {how}, "
          f"{total:.1f} s ({total / 60:.1f} min) of training; load 1 min at the end {os.getloadavg()[0]:.2f}")
    save(rows)


if __name__ == "__main__":
    main()
