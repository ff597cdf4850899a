"""How often the artist-clustered interval holds the true difference when the test excerpts lie in several folds.

:func:`mgrfaults.evaluation.tables.artist_clustered_difference` centres its interval on the difference of the two
conditions' means over folds (the runs table's, which the difference table gives), with each artist's share of the
error taken about that mean and Student's t on Kish's effective number of artists (the folds' weights). This
simulation measures its coverage on cross-validated test parts: ``G`` artists of GTZAN-like skewed sizes (1 plus a
geometric count of mean 4, at most 40 excerpts), each in one fold (the artist filter) or, in two cases, with its
excerpts spread over the folds, the folds of equal or unequal shares (in one case b's folds drawn apart from a's); an artist's excerpts are right with chance ``expit(mu_c + sigma z)``, ``z`` the artist's normal
effect, correlated 0.5 between the two conditions. Paired cases score the same excerpts under both conditions (one
uniform draw an excerpt), unpaired ones a second test part of the same layout. The truth is the difference of the
two conditions' expected accuracies, ``E expit(mu_a + sigma z) - E expit(mu_b + sigma z)``.

Beside the project's interval: ``pooled``, the same function given no folds (each condition's pooled ``K / N``,
the interval before folds were taken into account, centred elsewhere than the difference shown where folds differ
in size, but on the same truth here, where the folds are alike in expectation).

Usage::

    PYTHONPATH=src python benchmarks/artist_interval_folds.py [--sims 1500] [--seed 0 1]

Prints one row per case and seed: G, fold shares, sigma, paired, what else differs (artists spread over folds,
b's folds drawn apart, accuracies near the ceiling), coverage of each interval and its mean width; then the range
of each interval's coverage. With ``--sims`` S the Monte Carlo standard error of a coverage near 0.95 is
sqrt(0.95 x 0.05 / S) (0.006 at 1500). All draws are seeded: a rerun prints the same figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import special

from mgrfaults.evaluation.tables import artist_clustered_difference

CASES = (  # G, fold shares, sigma (logit sd of the artists' effect), paired, and what else differs
    (16, (0.5, 0.3, 0.1, 0.1), 1.0, False, {}),
    (40, (0.4, 0.3, 0.2, 0.05, 0.05), 1.0, True, {}),
    (40, (0.4, 0.3, 0.2, 0.05, 0.05), 0.5, False, {}),
    (10, (0.7, 0.2, 0.1), 1.0, True, {}),
    (60, (0.1,) * 10, 1.0, False, {}),
    (40, (0.2,) * 5, 1.0, True, {}),
    (48, (1 / 3,) * 3, 1.0, True, {}),
    # drawn after audit 46: the excerpts of an artist spread over the folds (no artist filter, as in standard
    # cross-validation), the two conditions' folds differing, accuracies near the ceiling
    (30, (0.2,) * 5, 1.0, True, {"spread": True}),
    (30, (0.4, 0.3, 0.2, 0.05, 0.05), 1.0, True, {"spread": True}),
    (30, (0.4, 0.3, 0.2, 0.05, 0.05), 1.0, True, {"other_folds_b": True}),
    (40, (1 / 3,) * 3, 1.0, False, {"mu": (3.0, 2.0)}),
)
MU = (1.0, 0.2)  # logits of the two conditions' typical accuracy: 0.73 and 0.55


def draw(rng, n_artists, shares, sigma, paired, mu=MU, spread=False, other_folds_b=False, cross=0.5):
    """One simulated pair of test parts: correctness under a and b (Series by track id), artists, each one's folds.

    ``spread``: each excerpt in a fold of its own draw (an artist's excerpts in several folds), else each artist's
    excerpts in one fold; ``other_folds_b``: b's excerpts in folds drawn apart from a's."""
    shares = np.asarray(shares) / sum(shares)
    sizes = np.minimum(1 + rng.geometric(0.25, n_artists), 40)
    artist = np.repeat(np.arange(n_artists), sizes)
    if spread:
        folds = rng.choice(len(shares), artist.size, p=shares)
    else:
        fold_of = rng.choice(len(shares), n_artists, p=shares)
        fold_of[:len(shares)] = np.arange(len(shares))  # no fold empty
        folds = fold_of[artist]
    folds_b = rng.choice(len(shares), artist.size, p=shares) if other_folds_b else folds
    z_a = rng.standard_normal(n_artists)
    z_b = cross * z_a + np.sqrt(1 - cross**2) * rng.standard_normal(n_artists)
    u = rng.random(artist.size)
    ids_a = [f"a{i}" for i in range(artist.size)]
    ids_b = ids_a if paired else [f"b{i}" for i in range(artist.size)]
    right_a = u < special.expit(mu[0] + sigma * z_a[artist])
    right_b = (u if paired else rng.random(artist.size)) < special.expit(mu[1] + sigma * z_b[artist])
    artist_of = {t: f"A{g}" for t, g in zip(ids_a, artist)}
    artist_of.update({t: f"{'A' if paired else 'B'}{g}" for t, g in zip(ids_b, artist)})
    return pd.Series(right_a, index=ids_a), pd.Series(right_b, index=ids_b), artist_of, folds, folds_b


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1500)
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    truth_z = np.random.default_rng(99).standard_normal(2_000_000)
    rows = []
    for case, (n_artists, shares, sigma, paired, extra) in enumerate(CASES):
        mu = extra.get("mu", MU)
        truth = float(special.expit(mu[0] + sigma * truth_z).mean() - special.expit(mu[1] + sigma * truth_z).mean())
        for seed in args.seed:
            rng = np.random.default_rng([seed, case])
            hits = {"project": [], "pooled": []}
            widths = {"project": [], "pooled": []}
            for _ in range(args.sims):
                a, b, artist_of, folds_a, folds_b = draw(rng, n_artists, shares, sigma, paired, **extra)
                for name, interval in (
                        ("project", artist_clustered_difference(a, b, artist_of, 0.95, folds_a, folds_b)),
                        ("pooled", artist_clustered_difference(a, b, artist_of, 0.95))):
                    hits[name].append(interval[0] <= truth <= interval[1])
                    widths[name].append(interval[1] - interval[0])
            rows.append({"G": n_artists, "folds": "/".join(f"{s:.2f}" for s in shares), "sigma": sigma,
                         "paired": paired, "other": ",".join(f"{k}={v}" for k, v in extra.items()) or "-",
                         "seed": seed, **{f"coverage_{k}": np.mean(v) for k, v in hits.items()},
                         **{f"width_{k}": np.mean(v) for k, v in widths.items()}})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    print(f"coverage at 95 %: project {table.coverage_project.min():.3f} to {table.coverage_project.max():.3f} "
          f"(mean {table.coverage_project.mean():.3f}); pooled, no folds, {table.coverage_pooled.min():.3f} to "
          f"{table.coverage_pooled.max():.3f} (mean {table.coverage_pooled.mean():.3f})")
    print(f"{args.sims} simulated test parts a case and seed; Monte Carlo standard error of a coverage near 0.95: "
          f"{np.sqrt(0.95 * 0.05 / args.sims):.3f}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
