"""How often the artist-clustered interval of an accuracy difference holds the true difference: a simulation.

The difference table's interval of accuracy(condition a) - accuracy(condition b) with the test excerpts clustered
by artist (:func:`mgrfaults.evaluation.tables.artist_clustered_difference`: Student's t with the cluster-robust,
linearised standard error of each condition's pooled accuracy, floored at what independent excerpts would give with
a pseudo-count, Welch-Satterthwaite degrees of freedom; paired, each artist's residual under a minus under b) is
measured on simulated test sets of known truth, beside the percentile cluster bootstrap the tables used before
(each condition's artists drawn with replacement) and the same t interval without its floor.

The model. Condition c (a or b) has a test set of G_c artists with fixed excerpt counts n_1..n_G (a case's
*shape*). Each artist has its own chance p of a correct decision, drawn from a Beta distribution of mean mu_c
(two pairs by default, (mu_a, mu_b) = (0.85, 0.55) and, near the ceiling, (0.97, 0.90); ``--mu A B`` for others)
and intra-artist correlation rho (Beta(mu (1 - rho) / rho, (1 - mu) (1 - rho) / rho),
whose beta-binomial intra-class correlation is rho; rho = 0: p = mu for every artist, the excerpts independent);
each excerpt is right with the artist's p. Unpaired cases draw the two conditions' artists and excerpts
independently (the project's two test sets share excerpts; that dependence is left out here, as the interval
leaves it out). Paired cases score the same excerpts of the same artists under both conditions, correlated at
both levels through a Gaussian copula (correlation ``CROSS`` = 0.5 between an artist's two latent p's and between
an excerpt's two latent outcomes), and the interval takes its paired branch (the same artists drawn for both).

The estimand. Each condition's figure is the pooled accuracy K / N (right excerpts over excerpts) of a draw of
artists with their excerpts, a ratio estimator; the cluster bootstrap targets its population value
E[k_g] / E[n_g] (k_g, n_g: one artist's right excerpts and excerpts). With the counts fixed and p independent of
them, E[K / N] = sum_g n_g mu / N = mu exactly, which is also the artists' mean accuracy. The truth held against
each interval is therefore the difference of the population means, mu_a - mu_b; an interval that holds it
covers.

Compared, on the same simulated test sets (95 % by default):

- ``project``: the project's interval, called as the tables call it; the script checks that its vectorised copy
  (:func:`cluster_t_interval` with the per-excerpt correctness, for the floor) gives the same interval within 1e-12;
- ``bootstrap``: the percentile cluster bootstrap the tables used before (``evaluate.bootstrap`` resamples, the
  same artists drawn under both conditions when paired; :func:`cluster_draws`);
- ``t_no_floor``: the project's interval without its floor (a part all right, or all wrong, has variance 0);
- ``wald``: the excerpt-level normal interval that ignores artists (:func:`excerpt_wald_interval`; paired: the
  Wald interval of the mean of the per-excerpt differences).

Usage::

    PYTHONPATH=src python benchmarks/artist_interval_coverage.py [--sims 400] [--resamples 1000] [--seed 0]
        [--mu 0.85 0.55 --mu 0.97 0.90] [--quick]

Prints one row per accuracy pair, case and method: mu_a, mu_b, G_a, G_b, excerpts (N_a/N_b), rho, coverage (share
of the simulated test sets whose interval holds mu_a - mu_b), miss_low (interval entirely below the truth),
miss_high (entirely above), mean width. With ``--sims`` S the Monte Carlo standard error of a coverage near 0.95 is sqrt(0.95 x 0.05 / S) (0.011 at
400), then each method's lowest and mean coverage and width over the cases of each pair. ``--quick``: 60 simulated
test sets per case (Monte Carlo error 0.03). All draws are seeded: a rerun prints the same figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from mgrfaults.config import section_defaults
from mgrfaults.evaluation.tables import artist_clustered_difference

EVALUATE = section_defaults("evaluate")  # bootstrap 1000, confidence 0.95: what the tables use
CROSS = 0.5  # paired cases: latent correlation between conditions, per artist and per excerpt
METHODS = ("project", "bootstrap", "t_no_floor", "wald")


def skewed_counts(n_artists: int, n_excerpts: int) -> np.ndarray:
    """Excerpts per artist, one at least each, the rest shared in proportion to 1 / rank (a few artists hold many).

    Parameters
    ----------
    n_artists, n_excerpts : int
        ``n_excerpts >= n_artists``.

    Returns
    -------
    ndarray of int, shape (n_artists,)
        Decreasing, summing to ``n_excerpts`` (largest remainders round the shares, ties to the lower rank).
    """
    weights = 1.0 / np.arange(1, n_artists + 1)
    share = (n_excerpts - n_artists) * weights / weights.sum()
    counts = np.floor(share).astype(int)
    left = n_excerpts - n_artists - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:left]] += 1
    return 1 + counts


def _case(name, counts_a, counts_b, rho, paired=False):
    return {"case": name, "counts_a": np.asarray(counts_a), "counts_b": np.asarray(counts_b), "rho": rho,
            "paired": paired}


def cases() -> list[dict]:
    """The simulated shapes: GTZAN-like skewed test parts, a sweep of the artist count, paired cases."""
    standard, filtered = skewed_counts(30, 40), skewed_counts(16, 41)
    out = [_case("gtzan-like", standard, filtered, rho) for rho in (0.0, 0.2, 0.5)]
    out += [_case("uniform m=3", np.full(g, 3), np.full(g, 3), rho)
            for g in (5, 8, 16, 30, 60) for rho in (0.0, 0.2, 0.5)]
    out += [_case("uniform m=3", np.full(30, 3), np.full(8, 3), 0.2)]
    out += [_case("paired skewed", filtered, filtered, rho, paired=True) for rho in (0.2, 0.5)]
    out += [_case("paired skewed", standard, standard, 0.2, paired=True)]
    out += [_case("paired m=3", np.full(g, 3), np.full(g, 3), 0.2, paired=True) for g in (5, 8, 60)]
    return out


def _artist_p(mu: float, rho: float, u: np.ndarray) -> np.ndarray:
    """Each artist's chance of a right decision: the Beta(mean mu, intra-class correlation rho) quantile of u."""
    if rho == 0:
        return np.full(u.shape, mu)
    total = (1.0 - rho) / rho
    return stats.beta.ppf(u, mu * total, (1.0 - mu) * total)


def simulate(case: dict, sims: int, mu_a: float, mu_b: float, rng: np.random.Generator):
    """Per-excerpt correctness of ``sims`` test sets of one case under each condition (bool, sims x excerpts)."""
    counts_a, counts_b, rho = case["counts_a"], case["counts_b"], case["rho"]
    if case["paired"]:
        cov = [[1.0, CROSS], [CROSS, 1.0]]
        artist_u = stats.norm.cdf(rng.multivariate_normal([0, 0], cov, size=(sims, len(counts_a))))
        excerpt_u = stats.norm.cdf(rng.multivariate_normal([0, 0], cov, size=(sims, counts_a.sum())))
        p_a = np.repeat(_artist_p(mu_a, rho, artist_u[..., 0]), counts_a, axis=1)
        p_b = np.repeat(_artist_p(mu_b, rho, artist_u[..., 1]), counts_a, axis=1)
        return excerpt_u[..., 0] < p_a, excerpt_u[..., 1] < p_b
    out = []
    for mu, counts in ((mu_a, counts_a), (mu_b, counts_b)):
        p = np.repeat(_artist_p(mu, rho, rng.random((sims, len(counts)))), counts, axis=1)
        out.append(rng.random((sims, counts.sum())) < p)
    return tuple(out)


def _by_artist(correct: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Right excerpts per artist (float, ... x G) from per-excerpt correctness laid out artist by artist."""
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    return np.add.reduceat(correct.astype(np.float64), starts, axis=-1)


def cluster_draws(k_a, n_a, k_b, n_b, paired: bool, n_bootstrap: int, seed: int):
    """Cluster-bootstrap resamples of each condition's pooled accuracy (the tables' interval before).

    Parameters
    ----------
    k_a, n_a, k_b, n_b : ndarray, shape (G_a,), (G_a,), (G_b,), (G_b,)
        Right excerpts and excerpts per artist, in the order of the artists' sorted names.
    paired : bool
        The same artists drawn under both conditions.
    n_bootstrap, seed : int

    Returns
    -------
    (draws_a, draws_b) : ndarray, shape (n_bootstrap,) each
    """
    rng = np.random.default_rng(seed)
    draws, counts = [], None
    for k, n in ((k_a, n_a), (k_b, n_b)):
        if counts is None or not paired:
            counts = rng.multinomial(len(k), np.full(len(k), 1.0 / len(k)), size=n_bootstrap)
        draws.append(counts @ k / (counts @ n))
    return draws[0], draws[1]


def percentile_interval(differences: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile interval of resampled differences.

    Parameters
    ----------
    differences : ndarray, shape (B,)
    confidence : float

    Returns
    -------
    (low, high) : tuple of float
    """
    alpha = 1.0 - confidence
    low, high = np.quantile(differences, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _ratio_residuals(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled accuracy K / N per row and each artist's linearisation residual k_g - (K / N) n_g, divided by N."""
    total = n.sum(axis=-1)
    ratio = k.sum(axis=-1) / total
    return ratio, (k - ratio[..., None] * n) / total[..., None]


def cluster_t_interval(k_a, n_a, k_b, n_b, paired: bool, confidence: float, correct_a=None, correct_b=None):
    """Difference of pooled accuracies +- t quantile x cluster-robust standard error (vectorised over rows).

    Each condition's pooled accuracy r = K / N is a ratio estimator; its linearised variance over G artists drawn
    at random is G / (G - 1) x sum_g (k_g - r n_g)^2 / N^2. Unpaired, the two variances add (Welch-Satterthwaite
    degrees of freedom); paired, the residual of an artist is its residual under a minus under b (the same
    artists), which keeps their covariance (G - 1 degrees of freedom). With ``correct_a`` and ``correct_b`` given,
    each variance is floored as the project floors it: unpaired at Agresti & Caffo's p (1 - p) / (N + 2), p =
    (K + 1) / (N + 2); paired at the variance of the per-excerpt differences with one disagreement each way added.

    Parameters
    ----------
    k_a, k_b : ndarray, shape (S, G_a), (S, G_b)
        Right excerpts per artist, one row per simulated test set.
    n_a, n_b : ndarray, shape (G_a,), (G_b,)
        Excerpts per artist.
    paired : bool
        The same artists (and excerpts) under both conditions.
    confidence : float
    correct_a, correct_b : ndarray of bool, shape (S, N_a), (S, N_b), optional
        Per-excerpt correctness (paired: excerpt for excerpt); None: no floor.

    Returns
    -------
    (low, high) : ndarray, shape (S,) each, cut to [-1, 1]
    """
    r_a, e_a = _ratio_residuals(k_a, n_a)
    r_b, e_b = _ratio_residuals(k_b, n_b)
    g_a, g_b = k_a.shape[-1], k_b.shape[-1]
    floored = correct_a is not None
    if paired:
        variance = g_a / (g_a - 1) * ((e_a - e_b) ** 2).sum(axis=-1)
        if floored:
            d = correct_a.astype(np.float64) - correct_b
            size = d.shape[-1] + 2.0
            only_a, only_b = ((d > 0).sum(axis=-1) + 1.0) / size, ((d < 0).sum(axis=-1) + 1.0) / size
            variance = np.maximum(variance, (only_a + only_b - (only_a - only_b) ** 2) / size)
        dof = np.full(variance.shape, g_a - 1.0)
    else:
        v_a = g_a / (g_a - 1) * (e_a ** 2).sum(axis=-1)
        v_b = g_b / (g_b - 1) * (e_b ** 2).sum(axis=-1)
        if floored:
            for v, k, n in ((v_a, k_a, n_a), (v_b, k_b, n_b)):
                adjusted = (k.sum(axis=-1) + 1.0) / (n.sum() + 2.0)
                np.maximum(v, adjusted * (1.0 - adjusted) / (n.sum() + 2.0), out=v)
        variance = v_a + v_b
        denominator = v_a ** 2 / (g_a - 1) + v_b ** 2 / (g_b - 1)
        dof = np.full(variance.shape, min(g_a, g_b) - 1.0)
        positive = denominator > 0
        dof[positive] = variance[positive] ** 2 / denominator[positive]
    half = stats.t.ppf((1 + confidence) / 2, dof) * np.sqrt(variance)
    return np.maximum(-1.0, r_a - r_b - half), np.minimum(1.0, r_a - r_b + half)


def excerpt_wald_interval(correct_a, correct_b, paired: bool, confidence: float):
    """The normal interval of the difference of two proportions that takes every excerpt for an independent draw.

    Parameters
    ----------
    correct_a, correct_b : ndarray of bool, shape (S, N_a), (S, N_b)
        Per-excerpt correctness, one row per simulated test set.
    paired : bool
        The same excerpts, column for column: the variance of the mean per-excerpt difference,
        mean((d - mean d)^2) / N.
    confidence : float

    Returns
    -------
    (low, high) : ndarray, shape (S,) each
    """
    p_a, p_b = correct_a.mean(axis=-1), correct_b.mean(axis=-1)
    if paired:
        difference = correct_a.astype(np.float64) - correct_b
        variance = difference.var(axis=-1) / correct_a.shape[-1]
    else:
        variance = p_a * (1 - p_a) / correct_a.shape[-1] + p_b * (1 - p_b) / correct_b.shape[-1]
    half = stats.norm.ppf((1 + confidence) / 2) * np.sqrt(variance)
    return p_a - p_b - half, p_a - p_b + half


def coverage(case: dict, sims: int, resamples: int, confidence: float, mu_a: float, mu_b: float,
             seed: int) -> list[dict]:
    """Each method's coverage of mu_a - mu_b over ``sims`` simulated test sets of one case, misses and width."""
    rng = np.random.default_rng(seed)
    correct_a, correct_b = simulate(case, sims, mu_a, mu_b, rng)
    counts_a, counts_b, paired = case["counts_a"], case["counts_b"], case["paired"]
    n_a, n_b = counts_a.astype(np.float64), counts_b.astype(np.float64)
    k_a, k_b = _by_artist(correct_a, counts_a), _by_artist(correct_b, counts_b)
    # the project's inputs: track ids and artist names whose sorted order is the order of the simulated artists
    prefix_b = "a" if paired else "b"
    tracks_a = [f"a{g:03d}_{i:02d}" for g, c in enumerate(counts_a) for i in range(c)]
    tracks_b = [f"{prefix_b}{g:03d}_{i:02d}" for g, c in enumerate(counts_b) for i in range(c)]
    artist_of = {t: t.split("_")[0] for t in tracks_a + tracks_b}
    intervals = {m: np.empty((sims, 2)) for m in METHODS}
    for s in range(sims):
        intervals["project"][s] = artist_clustered_difference(pd.Series(correct_a[s], index=tracks_a),
                                                              pd.Series(correct_b[s], index=tracks_b),
                                                              artist_of, confidence)
        draws_a, draws_b = cluster_draws(k_a[s], n_a, k_b[s], n_b, paired, resamples, seed=s)
        intervals["bootstrap"][s] = percentile_interval(draws_a - draws_b, confidence)
    copy = np.column_stack(cluster_t_interval(k_a, n_a, k_b, n_b, paired, confidence, correct_a, correct_b))
    if not np.allclose(copy, intervals["project"], rtol=0, atol=1e-12):
        raise AssertionError(f"{case['case']}: the vectorised copy of the project's interval differs")
    intervals["t_no_floor"] = np.column_stack(cluster_t_interval(k_a, n_a, k_b, n_b, paired, confidence))
    intervals["wald"] = np.column_stack(excerpt_wald_interval(correct_a, correct_b, paired, confidence))
    truth = mu_a - mu_b
    rows = []
    for method, bounds in intervals.items():
        low, high = bounds[:, 0], bounds[:, 1]
        rows.append({"case": case["case"], "paired": paired, "G_a": len(counts_a), "G_b": len(counts_b),
                     "excerpts": f"{counts_a.sum()}/{counts_b.sum()}", "rho": case["rho"], "method": method,
                     "coverage": float(np.mean((low <= truth) & (truth <= high))),
                     "miss_low": float(np.mean(high < truth)), "miss_high": float(np.mean(low > truth)),
                     "width": float(np.mean(high - low))})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=400, help="simulated test sets per case")
    parser.add_argument("--resamples", type=int, default=EVALUATE["bootstrap"], help="bootstrap resamples per interval")
    parser.add_argument("--confidence", type=float, default=EVALUATE["confidence"])
    parser.add_argument("--mu", type=float, nargs=2, action="append", metavar=("A", "B"),
                        help="population accuracies under conditions a and b (repeat for more pairs; default: "
                             "0.85 0.55 and 0.97 0.90)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="60 simulated test sets per case (about 20 s)")
    args = parser.parse_args(argv)
    sims = 60 if args.quick else args.sims
    pairs = args.mu or [(0.85, 0.55), (0.97, 0.90)]
    started = time.perf_counter()
    print(f"{sims} test sets per case, {args.resamples} resamples, {args.confidence:.0%} intervals, "
          f"truth mu_a - mu_b; paired cases: latent correlation {CROSS}")
    all_cases = cases()
    shapes = {tuple(c[k]) for c in all_cases for k in ("counts_a", "counts_b") if len(set(c[k])) > 1}
    for shape in sorted(shapes, key=len):
        print(f"skewed shape, {len(shape)} artists / {sum(shape)} excerpts: {[int(c) for c in shape]}")
    rows = []
    for mu_a, mu_b in pairs:
        for index, case in enumerate(all_cases):
            seed = int(np.random.SeedSequence([args.seed, index, round(1000 * mu_a), round(1000 * mu_b)])
                       .generate_state(1)[0])
            rows += [{"mu_a": mu_a, "mu_b": mu_b, **row}
                     for row in coverage(case, sims, args.resamples, args.confidence, mu_a, mu_b, seed=seed)]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.precision", 3, "display.max_rows", None):
        print(table.to_string(index=False))
    summary = table.pivot_table(index=["mu_a", "mu_b", "method"], values=["coverage", "width"],
                                aggfunc=["min", "mean"], sort=False)
    print("\nover the cases:")
    with pd.option_context("display.width", 200, "display.precision", 3):
        print(summary.to_string())
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
