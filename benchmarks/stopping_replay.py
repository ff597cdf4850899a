"""Replay training logs' validation errors under the two early-stopping rules of pylearn2's ``MonitorBased``.

The older rule (``__call__``) moves its reference only with an improvement of ``prop_decrease``; the later one
(``continue_learning``) moves it on any improvement and starts the count again only on one of ``prop_decrease`` below
it. :class:`mgrfaults.systems.dnn.EarlyStopping` follows either, as a variant's ``patience_reference`` says
(``last_improvement``, the older, where the variant does not name it; ``best``, the later, in config/gtzan.yaml).
A run's training up to its stop does not depend on the rule, so a log of a run that patience ended says where each
rule would have stopped it and which epoch it would have kept: where both agree, the rule changes nothing in that
run's model or predictions.

    python benchmarks/stopping_replay.py 'results/training/*/*/fold_*_log.csv' [more patterns]

Prints each log where the rules disagree, then the counts. Logs that ``max_epochs`` ended are left out.
"""

from __future__ import annotations

import argparse
import glob

import numpy as np
import pandas as pd


def replay(errors: np.ndarray, patience: int, min_improvement: float, moves_on_any: bool) -> tuple[int, int]:
    """(stopping epoch, best epoch) of validation ``errors`` under one rule; the last epoch if patience never ends."""
    reference, since, best, best_epoch = np.inf, 0, np.inf, -1
    for epoch, err in enumerate(errors):
        if err < best:
            best, best_epoch = err, epoch
        if err < reference * (1.0 - min_improvement):
            reference, since = err, 0
        else:
            since += 1
            if moves_on_any:
                reference = min(reference, err)
        if since >= patience:
            return epoch, best_epoch
    return len(errors) - 1, best_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="+", help="glob patterns of training logs (fold_<k>_log.csv)")
    parser.add_argument("--min-improvement", type=float, default=0.001, help="the variants' min_improvement")
    args = parser.parse_args()
    agree = differ = 0
    for path in sorted({p for pattern in args.patterns for p in glob.glob(pattern, recursive=True)}):
        log = pd.read_csv(path)
        if log.empty or str(log["stop"].fillna("").iloc[-1]) != "patience":
            continue
        errors = log["valid_frame_error"].to_numpy()
        patience = int(log["epochs_without_improvement"].iloc[-1])
        older, later = (replay(errors, patience, args.min_improvement, any_) for any_ in (False, True))
        if older == later:
            agree += 1
        else:
            differ += 1
            print(f"{path}: older rule stops at {older[0]} keeping {older[1]}, later at {later[0]} keeping {later[1]}")
    print(f"logs ended by patience: {agree + differ}; the rules agree on {agree}, differ on {differ}")


if __name__ == "__main__":
    main()
