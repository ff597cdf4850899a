"""How often the tables' intervals of the normalised accuracy hold the true value: a simulation.

For 10 genres with given true recalls and ``n`` test excerpts each in each of ``folds`` folds (a cross-validation's
test parts), draw the correct counts, make each interval and count how often it holds the true normalised accuracy
(the mean recall). Compared:

- ``adjusted``: the tables' (:func:`mgrfaults.evaluation.tables.bootstrap_intervals`): resamples from Price &
  Bonett's adjusted recalls;
- ``plain``: the bootstrap the tables used before, resamples from Binomial(n, k/n);
- ``jeffreys``: draws of each recall from its Jeffreys posterior, Beta(k + 1/2, n - k + 1/2)

(the last two on each genre's counts pooled over the folds).

Usage::

    PYTHONPATH=src python benchmarks/interval_coverage.py [--runs 400] [--resamples 1000] [--seed 0] [--folds 1 10]

Prints one row per scenario: the true recalls, ``n``, the folds, and each method's coverage and mean width (95 %
intervals).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from mgrfaults.evaluation.tables import bootstrap_intervals

N_GENRES = 10
SCENARIOS = {
    "all 0.9": np.full(N_GENRES, 0.9),
    "all 0.5": np.full(N_GENRES, 0.5),
    "all 0.1": np.full(N_GENRES, 0.1),
    "0.3 to 1": np.linspace(0.3, 1.0, N_GENRES),
    "half 1, half 0.6": np.r_[np.full(N_GENRES // 2, 1.0), np.full(N_GENRES - N_GENRES // 2, 0.6)],
    "all 0.99": np.full(N_GENRES, 0.99),
}


def _fold(correct: np.ndarray, n: int) -> pd.DataFrame:
    """Predictions of one fold: genre g has n excerpts, the first correct[g] right, the others taken for g + 1."""
    rows = [(f"g{g}", f"g{g}" if i < correct[g] else f"g{(g + 1) % len(correct)}")
            for g in range(len(correct)) for i in range(n)]
    return pd.DataFrame(rows, columns=["true", "predicted"])


def _percentile(values: np.ndarray, observed: float, confidence: float) -> tuple[float, float]:
    low, high = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return min(low, observed), max(high, observed)


def coverage(recalls, n: int, runs: int, resamples: int, seed: int, confidence: float = 0.95, folds: int = 1) -> dict:
    """Each method's share of ``runs`` simulated test sets whose interval holds the mean of ``recalls``, and its
    mean width."""
    rng = np.random.default_rng(seed)
    labels = [f"g{g}" for g in range(len(recalls))]
    truth = float(np.mean(recalls))
    held = {"adjusted": 0, "plain": 0, "jeffreys": 0}
    width = dict.fromkeys(held, 0.0)
    for run in range(runs):
        correct_by_fold = rng.binomial(n, recalls, size=(folds, len(recalls)))
        correct, pooled = correct_by_fold.sum(axis=0), n * folds
        observed = float(np.mean(correct_by_fold / n))
        intervals = {
            "adjusted": bootstrap_intervals([_fold(c, n) for c in correct_by_fold], labels, resamples, confidence,
                                            seed=run)["normalized_accuracy"],
            "plain": _percentile(rng.binomial(pooled, correct / pooled, size=(resamples, len(recalls))).mean(axis=1)
                                 / pooled, observed, confidence),
            "jeffreys": _percentile(rng.beta(correct + 0.5, pooled - correct + 0.5,
                                             size=(resamples, len(recalls))).mean(axis=1), observed, confidence),
        }
        for method, (low, high) in intervals.items():
            held[method] += low <= truth <= high
            width[method] += high - low
    return {f"{m}_coverage": held[m] / runs for m in held} | {f"{m}_width": width[m] / runs for m in held}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=400, help="simulated test sets per scenario")
    parser.add_argument("--resamples", type=int, default=1000, help="resamples (draws) per interval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, nargs="+", default=[1, 10],
                        help="folds of the simulated cross-validation (n test excerpts a genre in each)")
    args = parser.parse_args(argv)
    rows = []
    for folds in args.folds:
        for name, recalls in SCENARIOS.items():
            for n in ((1, 4, 10) if folds == 1 else (1, 2, 4)):
                rows.append({"recalls": name, "n_per_genre": n, "folds": folds,
                             **coverage(recalls, n, args.runs, args.resamples, args.seed, folds=folds)})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.precision", 3):
        print(table.to_string(index=False))
    print("\nfewest held:", {m: float(table[f"{m}_coverage"].min()) for m in ("adjusted", "plain", "jeffreys")})


if __name__ == "__main__":
    main()
