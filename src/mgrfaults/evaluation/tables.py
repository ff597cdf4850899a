"""The study's tables: runs, accuracy per condition with intervals, and the condition difference.

Inputs are the per-run metrics (:mod:`mgrfaults.evaluation.metrics`) and the per-run predictions
(``predictions/{system}/{condition}/fold_{fold}.csv``); every table is a pandas DataFrame
with one row per system, in the order the systems are given.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mgrfaults.errors import InputError
from mgrfaults.evaluation.metrics import confusion_matrix, figure_of_merit
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_EVALUATE = section_defaults("evaluate")

RUN_COLUMNS = ("system", "condition", "fold", "accuracy", "normalized_accuracy")

PAIRED_TEST = "McNemar exact (two-sided binomial test on the discordant excerpts)"
UNPAIRED_TEST = "Fisher exact (two-sided, 2x2 correct/wrong x condition)"


def runs_table(records: Sequence[Mapping]) -> pd.DataFrame:
    """The tidy table of all runs.

    Parameters
    ----------
    records : sequence of mapping
        Each with ``system``, ``condition``, ``fold``, ``accuracy``, ``normalized_accuracy``
        (e.g. a metrics dict updated with its run's names).

    Returns
    -------
    DataFrame
        Columns :data:`RUN_COLUMNS`, one row per run, in the given order.
    """
    rows = []
    for record in records:
        missing = [c for c in RUN_COLUMNS if c not in record]
        if missing:
            raise InputError(f"run record {dict((k, record[k]) for k in record if k in RUN_COLUMNS)}: missing {missing}")
        rows.append({c: record[c] for c in RUN_COLUMNS})
    df = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    df["fold"] = df["fold"].astype(int)
    for column in ("accuracy", "normalized_accuracy"):
        df[column] = pd.to_numeric(df[column]).astype(float)
    duplicated = df.duplicated(["system", "condition", "fold"])
    if duplicated.any():
        row = df[duplicated].iloc[0]
        raise InputError(f"run {row.system}/{row.condition}/fold_{row.fold} appears twice")
    return df


def stale_runs_table(path, expected_runs) -> str | None:
    """Why the runs table at ``path`` does not hold exactly ``expected_runs``, or None (also when it does not exist).

    ``snakemake --report`` builds from the files as they are: after systems, conditions or folds were added to
    the configuration (or removed) and not yet run, the report would show an earlier configuration's tables as
    this one's.

    Parameters
    ----------
    path : str or Path
        ``tables/runs.csv``.
    expected_runs : iterable of (system, condition, fold)
        The configuration's runs.
    """
    path = Path(path)
    if not path.exists():
        return None
    table = pd.read_csv(path, dtype={"system": str, "condition": str}, keep_default_na=False)
    have = set(zip(table["system"], table["condition"], table["fold"].astype(int)))
    want = {(str(s), str(c), int(f)) for s, c, f in expected_runs}
    missing, extra = sorted(want - have), sorted(have - want)
    if not missing and not extra:
        return None
    named = [f"lacks {len(missing)} run(s) of this configuration (first: "
             f"{', '.join(f'{s}/{c}/fold_{f}' for s, c, f in missing[:3])})"] if missing else []
    named += [f"holds {len(extra)} run(s) this configuration does not have (first: "
              f"{', '.join(f'{s}/{c}/fold_{f}' for s, c, f in extra[:3])})"] if extra else []
    return (f"{path} {' and '.join(named)}: the report would show an earlier configuration's tables as this one's. "
            "Run snakemake with this configuration first (the same --configfile and --config), then --report")


def clopper_pearson(n_correct: int, n_total: int, confidence: float = _EVALUATE["confidence"]) -> tuple[float, float]:
    """Exact binomial (Clopper-Pearson) interval of a proportion; (nan, nan) when ``n_total`` is 0."""
    if n_total == 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(n_correct), int(n_total)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def bootstrap_intervals(
    folds: Sequence[pd.DataFrame],
    labels: Sequence[str],
    n_bootstrap: int = _EVALUATE["bootstrap"],
    confidence: float = _EVALUATE["confidence"],
    seed: int = 0,
    run: str | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of the accuracy and normalised accuracy, from adjusted recalls.

    Both are linear functions of the ``m`` recalls of the run (one per true genre, ``k`` right of ``n`` test
    excerpts; over several folds each genre's test excerpts of every fold pooled, each excerpt tested once in a
    cross-validation). Each resample draws every genre's correct count from Binomial(``n``, p~), where
    p~ = (k + 2/m) / (n + 4/m) is Price & Bonett's adjusted proportion for a linear function of binomial
    proportions (Computational Statistics & Data Analysis 45, 2004; one proportion: Agresti & Coull's "add two
    successes and two failures"); the stratified test design is kept (the class counts ``n`` as they are). The
    interval is widened to hold the observed value (the folds' mean, as the tables give it) where the resamples fall
    short of it. The plain bootstrap, Binomial(n, k/n), draws no spread from a genre whose recall is 0 or 1, so a few
    test excerpts a genre gave intervals of zero width. In ``benchmarks/interval_coverage.py`` (10 genres, 1 to 10
    test excerpts each, recalls 0.1 to 1) the plain bootstrap's 95 % intervals held the true value in 0-94 % of
    simulated runs, draws from each recall's Jeffreys posterior (which shrink every genre toward 1/2) in 60-97 %, and
    these in 93-99.5 % (one fold). Cells of one fold and one genre, resampled apart, each hold the 1 to 3 test
    excerpts of a 10-fold cross-validation of a small dataset, and the adjustment 2/m fades with their number: such
    intervals held the true value in 54-89 % of simulated runs (audit 53), hence the genres pooled over folds.

    Parameters
    ----------
    folds : sequence of DataFrame
        Predictions of one system and condition, one frame per fold (columns true, predicted).
    labels : sequence of str
    n_bootstrap : int
        Number of resamples (config ``evaluate.bootstrap``); 0 gives NaN intervals.
    confidence : float
        Coverage of the two-sided interval.
    seed : int
        Seed of the resampling stream.
    run : str, optional
        Whose predictions the folds are (``system X under condition Y``), named in the error an empty fold raises.

    Returns
    -------
    dict
        ``accuracy`` and ``normalized_accuracy`` -> (low, high).

    Raises
    ------
    InputError
        A fold has no test excerpt (nothing to resample), naming ``run`` and the fold.
    """
    if n_bootstrap <= 0 or not folds:
        return {"accuracy": (math.nan, math.nan), "normalized_accuracy": (math.nan, math.nan)}
    n_class = np.zeros(len(labels), dtype=np.int64)
    correct_class = np.zeros(len(labels), dtype=np.int64)
    observed = np.zeros((2, len(folds)))  # accuracy and normalised accuracy of each fold
    for f, df in enumerate(folds):
        confusion = confusion_matrix(df["true"].tolist(), df["predicted"].tolist(), labels)
        n_per_class = confusion.sum(axis=0)
        present = n_per_class > 0
        if not present.any():
            raise InputError(f"{run + ', ' if run else ''}fold {f}: no test excerpt to bootstrap (an empty test part)")
        n_class += n_per_class
        correct_class += np.diag(confusion)
        observed[:, f] = (np.diag(confusion).sum() / n_per_class.sum(),
                          (np.diag(confusion)[present] / n_per_class[present]).mean())
    present = n_class > 0
    n_class, correct_class = n_class[present], correct_class[present]
    m = len(n_class)  # the recalls the accuracies are linear functions of
    adjusted = (correct_class + 2 / m) / (n_class + 4 / m)
    # (n_bootstrap, n_present_classes) resampled correct counts per class
    draws = np.random.default_rng(seed).binomial(n_class, adjusted, size=(n_bootstrap, m))
    alpha = 1.0 - confidence
    quantiles = [alpha / 2, 1 - alpha / 2]
    out = {}
    for name, values, seen in (("accuracy", draws.sum(axis=1) / n_class.sum(), observed[0].mean()),
                               ("normalized_accuracy", (draws / n_class).mean(axis=1), observed[1].mean())):
        low, high = np.quantile(values, quantiles)
        out[name] = (float(min(low, seen)), float(max(high, seen)))
    return out


def condition_table(
    runs: pd.DataFrame,
    predictions: Mapping[str, Sequence[pd.DataFrame]],
    condition: str,
    labels: Sequence[str],
    systems: Sequence[str] | None = None,
    n_bootstrap: int = _EVALUATE["bootstrap"],
    confidence: float = _EVALUATE["confidence"],
    seed: int = 0,
) -> pd.DataFrame:
    """Table of one condition: systems as rows, mean, std and 95% interval over folds.

    The accuracy interval is exact binomial (Clopper-Pearson) of the test excerpts' correct count,
    over several folds of their test parts pooled (a cross-validation tests each excerpt once; the
    folds' models differ, which narrows the count's spread below a binomial's, so the interval is
    conservative), widened to hold the folds' mean where unequal folds put that outside; the
    normalised accuracy, not a binomial proportion, gets the bootstrap of adjusted recalls of
    :func:`bootstrap_intervals`.

    Parameters
    ----------
    runs : DataFrame
        :func:`runs_table` (all conditions; the rows of ``condition`` are used).
    predictions : mapping
        System -> predictions of each fold of ``condition`` (frames with true, predicted).
    condition : str
    labels : sequence of str
    systems : sequence of str, optional
        Row order; default the order of ``runs``.
    n_bootstrap, confidence, seed
        See :func:`bootstrap_intervals`; each system's stream is ``seed`` + its row number.

    Returns
    -------
    DataFrame
        system, n_folds, n_test, accuracy_mean, accuracy_std, accuracy_ci_low,
        accuracy_ci_high, normalized_accuracy_mean, normalized_accuracy_std,
        normalized_accuracy_ci_low, normalized_accuracy_ci_high, accuracy_interval
        (the method). Fractions in [0, 1]; std over folds (ddof 1, NaN for one fold).
    """
    rows = runs[runs["condition"] == condition]
    if systems is None:
        systems = list(dict.fromkeys(rows["system"]))
    out = []
    for i, system in enumerate(systems):
        sys_rows = rows[rows["system"] == system].sort_values("fold")
        if sys_rows.empty:
            raise InputError(f"tables/runs.csv: no run of system {system!r} under condition {condition!r}")
        folds = list(predictions.get(system, ()))
        if len(folds) != len(sys_rows):
            raise InputError(
                f"{system}/{condition}: {len(sys_rows)} runs but predictions of {len(folds)} folds"
            )
        n_test = int(sum(len(df) for df in folds))
        boot = bootstrap_intervals(folds, labels, n_bootstrap, confidence, seed + i,
                                   run=f"system {system!r} under condition {condition!r}")
        n_correct = int(sum((df["true"] == df["predicted"]).sum() for df in folds))
        accuracy_ci = clopper_pearson(n_correct, n_test, confidence)
        method = "Clopper-Pearson exact binomial"
        if len(folds) > 1:
            mean = float(sys_rows["accuracy"].mean())
            accuracy_ci = (min(accuracy_ci[0], mean), max(accuracy_ci[1], mean))
            method += " (the folds' test excerpts pooled)"
        out.append(
            {
                "system": system,
                "n_folds": len(sys_rows),
                "n_test": n_test,
                "accuracy_mean": sys_rows["accuracy"].mean(),
                "accuracy_std": sys_rows["accuracy"].std(ddof=1) if len(sys_rows) > 1 else math.nan,
                "accuracy_ci_low": accuracy_ci[0],
                "accuracy_ci_high": accuracy_ci[1],
                "normalized_accuracy_mean": sys_rows["normalized_accuracy"].mean(),
                "normalized_accuracy_std": sys_rows["normalized_accuracy"].std(ddof=1) if len(sys_rows) > 1 else math.nan,
                "normalized_accuracy_ci_low": boot["normalized_accuracy"][0],
                "normalized_accuracy_ci_high": boot["normalized_accuracy"][1],
                "accuracy_interval": method,
            }
        )
    return pd.DataFrame(out)


def _pooled_correctness(folds: Sequence[pd.DataFrame]) -> pd.Series:
    """Per-excerpt correctness (bool) over all folds, indexed by track_id (may repeat)."""
    if not folds:
        return pd.Series([], dtype=bool)
    df = pd.concat([f[["track_id", "true", "predicted"]] for f in folds], ignore_index=True)
    return pd.Series((df["true"] == df["predicted"]).to_numpy(), index=df["track_id"].to_numpy())


def _pooled_folds(folds: Sequence[pd.DataFrame]) -> np.ndarray:
    """The fold (its position in ``folds``) of each entry of :func:`_pooled_correctness`, in its order."""
    return np.repeat(np.arange(len(folds)), [len(f) for f in folds]).astype(np.int64)


def compare_conditions(correct_a: pd.Series, correct_b: pd.Series) -> dict:
    """Test whether per-excerpt correctness differs between two conditions.

    Paired (McNemar exact) when both conditions tested exactly the same excerpts, each once:
    then each excerpt is its own control and only the discordant excerpts carry information.
    Otherwise (the fault-filtered condition removes excerpts and re-partitions by artist, so
    the test sets differ) the 2x2 table correct/wrong x condition gets Fisher's exact test,
    valid for the small counts of a test set. It takes the two test sets for independent
    samples, which they are not where they share excerpts (``n_shared``). Where a shared
    excerpt tends to be right or wrong under both conditions (its correctness positively
    correlated across them, as a shared excerpt's usually is), the difference varies less
    than the test assumes and the test is conservative (its p-value too large); were the
    correlation negative, its p-value could be too small. Either test takes the trained
    systems as fixed: it measures the chance of
    the test excerpts drawn, not of a training seed (which a sweep's seeds measure).

    Parameters
    ----------
    correct_a, correct_b : Series of bool indexed by track_id

    Returns
    -------
    dict
        test, statistic (McNemar: excerpts right only under a; Fisher: odds ratio),
        p_value, n_a, n_b, n_shared, n_only_a_correct, n_only_b_correct (paired only).
    """
    ids_a, ids_b = correct_a.index, correct_b.index
    shared = set(ids_a) & set(ids_b)
    out = {"n_a": int(len(correct_a)), "n_b": int(len(correct_b)), "n_shared": len(shared)}
    paired = (
        len(correct_a) > 0
        and ids_a.is_unique
        and ids_b.is_unique
        and set(ids_a) == set(ids_b)
    )
    if paired:
        b_aligned = correct_b.reindex(ids_a)
        only_a = int((correct_a & ~b_aligned).sum())
        only_b = int((~correct_a & b_aligned).sum())
        discordant = only_a + only_b
        p_value = stats.binomtest(only_a, discordant, 0.5).pvalue if discordant else 1.0
        out.update(
            test=PAIRED_TEST,
            statistic=float(only_a),
            p_value=float(p_value),
            n_only_a_correct=only_a,
            n_only_b_correct=only_b,
        )
    else:
        table = [
            [int(correct_a.sum()), int((~correct_a).sum())],
            [int(correct_b.sum()), int((~correct_b).sum())],
        ]
        if len(correct_a) == 0 or len(correct_b) == 0:
            odds, p_value = math.nan, math.nan
        else:
            result = stats.fisher_exact(table)
            odds, p_value = float(result.statistic), float(result.pvalue)
        out.update(test=UNPAIRED_TEST, statistic=odds, p_value=p_value, n_only_a_correct=None, n_only_b_correct=None)
    return out


def artist_clustered_difference(
    correct_a: pd.Series,
    correct_b: pd.Series,
    artist_of: Mapping[str, str],
    confidence: float = _EVALUATE["confidence"],
    fold_a: Sequence | None = None,
    fold_b: Sequence | None = None,
) -> tuple[float, float]:
    """Interval of accuracy under a minus under b with the test excerpts clustered by artist (cluster-robust t).

    The tests of :func:`compare_conditions` and the Clopper-Pearson intervals take every test excerpt for an
    independent draw. Excerpts of one artist are not, to the question whether a system recognises the genre of
    artists it has not heard: an artist-filtered test part of 41 excerpts by 16 artists holds 16 draws of that
    question, not 41. Each condition's accuracy is the mean over its ``F`` folds of each fold's ``r_f = K_f / N_f``
    (the runs table's mean, which :func:`difference_table` gives as the difference; one fold: ``K / N``), a ratio
    estimator over ``G`` artists drawn at random. Its linearised variance sums each artist's share of the error,
    ``e_g = sum_i (c_i - m) / (F N_f(i))`` over the artist's excerpts ``i`` (right ``c_i = 1`` or wrong 0) in
    whichever folds they are, ``m`` the mean of the ``r_f``, as ``G / (G - 1) * sum_g e_g^2`` (Cochran, *Sampling
    Techniques*, 3rd ed., 1977, section 6.9, with the small-sample factor of cluster-robust variances). The shares
    are taken about the mean, not about each fold's own ``r_f``: the folds of one partition are alike in
    expectation, and centring each on its own accuracy would spend a degree of freedom a fold (with folds of under
    10 artists, or unequal ones, the interval then held the true difference 80 to 90 % of the time; audit 45);
    folds that do differ widen the interval.

    Student's t takes Kish's effective number of artists less one for its degrees of freedom,
    ``(sum_g m_g)^2 / sum_g m_g^2 - 1`` with ``m_g`` the mean over an artist's excerpts of ``N / (F N_f)``: where
    folds differ in size, the few artists of a small fold weigh most in the mean (one fold, or equal ones: all
    ``m_g`` are 1, ``G - 1``). Two conditions that tested the same excerpts (the paired case of
    :func:`compare_conditions`) take each artist's share under a minus under b, with the smaller of the two
    conditions' degrees of freedom (their folds may differ); otherwise the two variances add, with
    Welch-Satterthwaite's degrees of freedom, and where the two test parts share excerpts that dependence is
    ignored, as Fisher's test does. The interval is the difference of the two fold means plus or minus Student's t
    quantile times the standard error, cut to [-1, 1]. ``benchmarks/artist_interval_folds.py`` measures its
    coverage on simulated cross-validated test parts (README, beside the default's intervals).

    Excerpts of one artist are taken to be alike (a design effect of at least 1), so no variance is let below that
    of independent excerpts, with a pseudo-count that keeps a part all right (or all wrong) from a zero-width
    interval (near an accuracy of one half a little below the plain ``p (1 - p) / N``): Agresti & Caffo's one right
    and one wrong excerpt a fold, ``p_f (1 - p_f) / (N_f + 2)`` with ``p_f = (K_f + 1) / (N_f + 2)`` (The American
    Statistician 54, 2000), over ``F^2`` summed over the folds, and paired, the variance of the per-excerpt
    differences pooled over folds with one disagreement each way added (Bonett & Price, Journal of Educational and
    Behavioral Statistics 37, 2012).

    ``benchmarks/artist_interval_coverage.py`` measures how often the interval holds the true difference on
    simulated test parts of one fold (5 to 60 artists, GTZAN-like skewed ones, excerpts of an artist correlated up
    to 0.5, two pairs of accuracies; its figures are in the README beside the default run's intervals), against
    the percentile bootstrap of the artists used here before and the same t interval without the floor.

    Parameters
    ----------
    correct_a, correct_b : Series of bool indexed by track_id
        Per-excerpt correctness under each condition, pooled over folds (:func:`_pooled_correctness`); an excerpt
        tested in several folds appears once for each.
    artist_of : mapping track_id -> str
        The cluster of each excerpt: its artist group (:func:`mgrfaults.data.artists.artist_groups`: excerpts linked
        by a credited artist, ``A and B`` with every excerpt of A and of B; an unknown artist's excerpt is its own).
    confidence : float
        Coverage of the two-sided interval.
    fold_a, fold_b : sequence, optional
        The fold of each entry of ``correct_a`` (``correct_b``), in its order (:func:`_pooled_correctness`); not
        given, one fold.

    Returns
    -------
    (low, high) : tuple of float
        Fractions; NaN where a condition has fewer than 2 artists in its test part (one artist: no spread between
        artists to measure).

    Raises
    ------
    InputError
        An excerpt without an artist, a correctness that is not right or wrong (NaN, a number other than 0 or 1),
        folds that are not one label for each correctness, or a missing label.
    """
    shares, means, floors, groups, dofs = [], [], [], [], []
    for name, correct, fold in (("correct_a", correct_a, fold_a), ("correct_b", correct_b, fold_b)):
        missing = sorted(set(correct.index) - set(artist_of))[:5]
        if missing:
            raise InputError(f"test excerpts {missing} have no artist in the metadata")
        values = pd.to_numeric(pd.Series(np.asarray(correct, dtype=object)), errors="coerce").to_numpy(np.float64)
        unsure = ~np.isin(values, (0.0, 1.0))
        if unsure.any():
            raise InputError(f"{name}: excerpts {list(correct.index[unsure][:5])} are neither right nor wrong "
                             f"({list(np.asarray(correct, dtype=object)[unsure][:5])}): a correctness is a bool")
        labels = np.zeros(len(values), dtype=np.int64) if fold is None else np.asarray(fold, dtype=object)
        if labels.ndim != 1 or len(labels) != len(values):
            raise InputError(f"{name}: {len(values)} excerpts but folds of shape {labels.shape}: a fold for each excerpt")
        fold = pd.factorize(labels)[0]
        if (fold < 0).any():
            raise InputError(f"{name}: excerpts {list(correct.index[fold < 0][:5])} have no fold (a missing label)")
        n_folds = int(fold.max()) + 1 if len(fold) else 0
        n = np.bincount(fold, minlength=n_folds).astype(np.float64)
        k = np.bincount(fold, weights=values, minlength=n_folds)
        ratios = k / np.where(n > 0, n, 1.0)
        means.append(float(ratios.mean()) if n_folds else math.nan)
        # each excerpt's share of the fold mean's linearised error, taken about the fold mean: about its own fold's
        # accuracy it would spend a degree of freedom a fold, and folds of few artists then cover 80-90 % (audit 45)
        share = (values - means[-1]) / (n_folds * n[fold]) if n_folds else values
        artists = np.asarray([artist_of[t] for t in correct.index], dtype=object)
        shares.append(pd.Series(share).groupby(artists).sum())
        # the artists' weights in the fold mean, relative to the pooled ratio's (1 in one fold or equal ones): where
        # folds differ in size a few artists of a small fold weigh most, and the t takes Kish's effective number of
        # artists, sum(m)^2 / sum(m^2), less one for its degrees of freedom (one fold: G - 1)
        weight = pd.Series(n.sum() / (n_folds * n[fold]) if n_folds else values).groupby(artists).mean().to_numpy()
        dofs.append(float(weight.sum() ** 2 / (weight**2).sum()) - 1.0 if len(weight) else 0.0)
        adjusted = (k + 1.0) / (n + 2.0)
        floors.append(float(np.sum(adjusted * (1.0 - adjusted) / (n + 2.0))) / max(n_folds, 1) ** 2)
        groups.append(len(shares[-1]))
    g_a, g_b = groups
    if min(groups) < 2:
        return math.nan, math.nan
    paired = (shares[0].index.equals(shares[1].index) and correct_a.index.is_unique and correct_b.index.is_unique
              and set(correct_a.index) == set(correct_b.index))
    if paired:  # the same artists: each one's share under a minus under b keeps their covariance
        d = np.asarray(correct_a, dtype=np.float64) - np.asarray(correct_b.reindex(correct_a.index), dtype=np.float64)
        size = len(d) + 2.0
        only_a, only_b = (np.sum(d > 0) + 1.0) / size, (np.sum(d < 0) + 1.0) / size
        variance = max(g_a / (g_a - 1) * float(((shares[0] - shares[1]) ** 2).sum()),
                       (only_a + only_b - (only_a - only_b) ** 2) / size)
        dof = min(dofs)  # the two conditions' folds may weigh the same artists differently
    else:
        v_a = max(g_a / (g_a - 1) * float((shares[0] ** 2).sum()), floors[0])
        v_b = max(g_b / (g_b - 1) * float((shares[1] ** 2).sum()), floors[1])
        variance = v_a + v_b
        dof = variance**2 / (v_a**2 / dofs[0] + v_b**2 / dofs[1])
    difference = means[0] - means[1]
    half = float(stats.t.ppf((1 + confidence) / 2, dof)) * math.sqrt(variance)
    return max(-1.0, difference - half), min(1.0, difference + half)


def tied_decisions(predictions: pd.DataFrame) -> tuple[float, float]:
    """The decisions of one predictions table that were ties, and its accuracy with each tie shared.

    A majority vote of texture windows or frames (:func:`mgrfaults.systems.learned.majority_vote`) gives a tie to
    the genre first in label order, as the study's code does (``np.argmax`` of the vote counts). With few votes per
    excerpt ties are common (2 texture windows of 5 s in a 10-s excerpt: a 1-1 vote), and then the alphabetical
    order of the genre names decides part of the accuracy. Sharing each tie among its genres (1/t of a correct
    decision where the true genre is one of the t tied) gives the accuracy that a fair coin would give on average.

    Parameters
    ----------
    predictions : DataFrame
        track_id, true, predicted, score_<genre> for every genre (a system's decision is the argmax of its scores).

    Returns
    -------
    n_tied : float
        Excerpts whose top score two or more genres share (a count); NaN where the scores cannot tell: no score
        columns, a missing score, a true or predicted genre without one, or a predicted genre not at its row's top
        score (the scores do not give the decisions).
    accuracy_ties_shared : float
        In [0, 1]; NaN where ``n_tied`` is.
    """
    columns = [c for c in predictions.columns if c.startswith("score_")]
    genres = [c[len("score_"):] for c in columns]
    if (not columns or not len(predictions) or not predictions["true"].isin(genres).all()
            or not predictions["predicted"].isin(genres).all()):
        return math.nan, math.nan
    scores = predictions[columns].to_numpy(dtype=np.float64)
    rows = np.arange(len(predictions))
    if np.isnan(scores).any():
        return math.nan, math.nan
    at_top = scores == scores.max(axis=1, keepdims=True)
    if not at_top[rows, [genres.index(g) for g in predictions["predicted"]]].all():
        return math.nan, math.nan
    n_top = at_top.sum(axis=1)
    true_at_top = at_top[rows, [genres.index(g) for g in predictions["true"]]]
    return float((n_top > 1).sum()), float(np.mean(np.where(true_at_top, 1.0 / n_top, 0.0)))


def holm_adjusted(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values for testing them together (Holm 1979).

    The k-th smallest of m p-values is multiplied by m - k + 1, kept at least as large as the one before it and
    at most 1; a hypothesis is rejected at level alpha where its adjusted p-value is below alpha, which holds the
    chance of any false rejection among the m at alpha whatever their dependence.

    Parameters
    ----------
    p_values : sequence of float, shape (m,)
        NaN entries (no test) are left out of m and stay NaN.

    Returns
    -------
    ndarray, shape (m,)
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
    return adjusted


def difference_table(
    runs: pd.DataFrame,
    predictions: Mapping[tuple[str, str], Sequence[pd.DataFrame]],
    condition_a: str = "standard",
    condition_b: str = "fault_filtered",
    systems: Sequence[str] | None = None,
    artist_of: Mapping[str, str] | None = None,
    confidence: float = _EVALUATE["confidence"],
    mislabelled: Collection[str] | None = None,
) -> pd.DataFrame:
    """Per system: mean accuracy under ``condition_a`` minus under ``condition_b``, with a test.

    Parameters
    ----------
    runs : DataFrame
        :func:`runs_table`.
    predictions : mapping
        (system, condition) -> predictions of each fold.
    condition_a, condition_b : str
        The difference is a - b (default: standard - fault_filtered, the drop).
    systems : sequence of str, optional
        Row order; default the systems of ``runs`` in order.
    artist_of : mapping track_id -> artist, optional
        Given, the difference's interval at ``confidence`` with the test excerpts clustered by artist
        (:func:`artist_clustered_difference`) and each condition's count of test artists (artist groups).
    mislabelled : collection of str, optional
        Track ids annotated as mislabelled (``fault == "mislabel"``). Given, each condition's count of them among
        its test excerpts, and the accuracies and difference without them: a filter that keeps mislabelings (the
        study's keeps them; so does ``fault_filtered``'s default) scores a system that hears such an excerpt's
        real genre as wrong, and where one condition's test part holds more of them than the other's, the
        difference holds that too.

    Returns
    -------
    DataFrame
        system, accuracy_<a>, accuracy_<b>, difference, normalized_accuracy_<a>,
        normalized_accuracy_<b>, normalized_difference, then the fields of
        :func:`compare_conditions` (pooled over folds), ``p_holm`` (:func:`holm_adjusted` over the table's
        systems), and per condition ``n_tied_<c>`` (tied decisions, summed over folds) and
        ``accuracy_ties_shared_<c>`` (mean over folds, :func:`tied_decisions`), with ``difference_ties_shared``;
        with ``artist_of``, ``n_artists_<c>`` per condition and ``difference_ci_low_artists``,
        ``difference_ci_high_artists``; with ``mislabelled``, ``n_mislabelled_<c>`` (summed over folds) and
        ``accuracy_without_mislabelled_<c>`` (mean over folds) per condition, and ``difference_without_mislabelled``.
    """
    if systems is None:
        systems = list(dict.fromkeys(runs["system"]))
    out = []
    for system in systems:
        row = {"system": system}
        means = {}
        for condition in (condition_a, condition_b):
            sel = runs[(runs["system"] == system) & (runs["condition"] == condition)]
            if sel.empty:
                raise InputError(f"tables/runs.csv: no run of system {system!r} under condition {condition!r}")
            means[condition] = (sel["accuracy"].mean(), sel["normalized_accuracy"].mean())
        row[f"accuracy_{condition_a}"] = means[condition_a][0]
        row[f"accuracy_{condition_b}"] = means[condition_b][0]
        row["difference"] = means[condition_a][0] - means[condition_b][0]
        row[f"normalized_accuracy_{condition_a}"] = means[condition_a][1]
        row[f"normalized_accuracy_{condition_b}"] = means[condition_b][1]
        row["normalized_difference"] = means[condition_a][1] - means[condition_b][1]
        correct = {c: _pooled_correctness(predictions.get((system, c), ())) for c in (condition_a, condition_b)}
        row.update(compare_conditions(correct[condition_a], correct[condition_b]))
        for condition in (condition_a, condition_b):
            ties = [tied_decisions(fold) for fold in predictions.get((system, condition), ())]
            row[f"n_tied_{condition}"] = float(sum(n for n, _ in ties)) if ties else math.nan  # NaN: cannot tell
            row[f"accuracy_ties_shared_{condition}"] = float(np.mean([a for _, a in ties])) if ties else math.nan
        row["difference_ties_shared"] = row[f"accuracy_ties_shared_{condition_a}"] - row[f"accuracy_ties_shared_{condition_b}"]
        if mislabelled is not None:
            for condition in (condition_a, condition_b):
                folds = predictions.get((system, condition), ())
                kept = [f[~f["track_id"].isin(mislabelled)] for f in folds]
                row[f"n_mislabelled_{condition}"] = sum(len(f) - len(k) for f, k in zip(folds, kept))
                row[f"accuracy_without_mislabelled_{condition}"] = (
                    float(np.mean([(k["true"] == k["predicted"]).mean() for k in kept])) if kept and all(len(k) for k in kept)
                    else math.nan)
            row["difference_without_mislabelled"] = (row[f"accuracy_without_mislabelled_{condition_a}"]
                                                     - row[f"accuracy_without_mislabelled_{condition_b}"])
        if artist_of is not None:
            for condition in (condition_a, condition_b):
                row[f"n_artists_{condition}"] = len({artist_of.get(t) for t in correct[condition].index})
            row["difference_ci_low_artists"], row["difference_ci_high_artists"] = artist_clustered_difference(
                correct[condition_a], correct[condition_b], artist_of, confidence,
                *(_pooled_folds(predictions.get((system, c), ())) for c in (condition_a, condition_b)))
        out.append(row)
    table = pd.DataFrame(out)
    # the systems' drops are tested together: a reader scans the column for any significant one
    table.insert(table.columns.get_loc("p_value") + 1, "p_holm", holm_adjusted(table["p_value"]) if len(table) else [])
    return table


def round_for_csv(table: pd.DataFrame, decimals: int = 6, exact: Sequence[str] = ("p_value", "p_holm")) -> pd.DataFrame:
    """Round a table's numbers for its CSV, except the ``exact`` columns (kept unrounded).

    p-values of a clear drop are far below 1e-6 (Fisher's test on a few hundred excerpts: ~1e-8);
    rounded to 6 decimals every one would read 0.0.
    """
    return table.round({c: decimals for c in table.columns if c not in exact})


def pooled_figure_of_merit(confusions: Sequence[np.ndarray], labels: Sequence[str], scale: float = 100.0) -> pd.DataFrame:
    """Figure of merit of the confusion matrices of all folds summed (see :func:`figure_of_merit`)."""
    if not confusions:
        raise InputError("figure of merit: no confusion matrix given")
    total = np.sum([np.asarray(c, dtype=np.int64) for c in confusions], axis=0)
    return figure_of_merit(total, labels, scale)


_HTML_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1e293b; }
h1 { font-size: 1.2em; }
p.notes { max-width: 60em; font-size: 0.9em; color: #475569; }
div.wide { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #cbd5e1; text-align: right; }
td { white-space: nowrap; }
th { background: #f1f5f9; white-space: normal; vertical-align: bottom; }
td:first-child, th:first-child { text-align: left; }
"""


def _artist_intervals(table: pd.DataFrame) -> list[str]:
    """Each row's difference interval with the test excerpts clustered by artist, ``[+9.2, +54.5]`` (points)."""
    return [f"[{100 * low:+.1f}, {100 * high:+.1f}]" if not (math.isnan(low) or math.isnan(high)) else ""
            for low, high in zip(table["difference_ci_low_artists"], table["difference_ci_high_artists"])]


def _percent(value, digits: int = 1) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.{digits}f}"


def format_condition_table(table: pd.DataFrame) -> pd.DataFrame:
    """A readable version of :func:`condition_table`: percent, ``mean ± std [low, high]`` per metric."""

    def cell(row, metric):
        text = _percent(row[f"{metric}_mean"])
        if not math.isnan(row[f"{metric}_std"]):
            text += f" ± {_percent(row[f'{metric}_std'])}"
        if not math.isnan(row[f"{metric}_ci_low"]):
            text += f" [{_percent(row[f'{metric}_ci_low'])}, {_percent(row[f'{metric}_ci_high'])}]"
        return text

    return pd.DataFrame(
        {
            "system": table["system"],
            "folds": table["n_folds"],
            "test excerpts": table["n_test"],
            "accuracy (%)": [cell(r, "accuracy") for _, r in table.iterrows()],
            "normalised accuracy (%)": [cell(r, "normalized_accuracy") for _, r in table.iterrows()],
            "accuracy interval": table["accuracy_interval"],
        }
    )


def format_difference_table(table: pd.DataFrame, condition_a: str, condition_b: str) -> pd.DataFrame:
    """A readable version of :func:`difference_table`: accuracies and differences in percent points."""
    return pd.DataFrame(
        {
            "system": table["system"],
            f"{condition_a} (%)": table[f"accuracy_{condition_a}"].map(_percent),
            f"{condition_b} (%)": table[f"accuracy_{condition_b}"].map(_percent),
            "difference (points)": table["difference"].map(_percent),
            "normalised difference (points)": table["normalized_difference"].map(_percent),
            "test excerpts": [f"{a} / {b} ({s} shared)" for a, b, s in zip(table["n_a"], table["n_b"], table["n_shared"])],
            "test": table["test"].str.split(" ").str[:2].str.join(" "),
            "p-value": table["p_value"].map(p_text),
            "p (Holm)": table["p_holm"].map(p_text),
            "tied decisions": [" / ".join("?" if math.isnan(n) else f"{n:.0f}" for n in pair)
                               for pair in zip(table[f"n_tied_{condition_a}"], table[f"n_tied_{condition_b}"])],
            "difference, ties shared (points)": table["difference_ties_shared"].map(_percent),
            **({"difference, clustered by artist (interval, points)": _artist_intervals(table),
                "test artists": [f"{a} / {b}" for a, b in
                                 zip(table[f"n_artists_{condition_a}"], table[f"n_artists_{condition_b}"])]}
               if "difference_ci_low_artists" in table.columns else {}),
        }
    )


SIGNIFICANCE_LEVEL = 0.05
"""The level the tables' texts name ("significant at 5 % ... below 0.05"); a p-value is never rounded across it."""


def p_text(p: float, digits: int = 3) -> str:
    """``p`` to ``digits`` significant digits, or more where fewer would put it on the other side of
    :data:`SIGNIFICANCE_LEVEL` (0.0499 is not shown as 0.05); empty for NaN."""
    if math.isnan(p):
        return ""
    text = f"{p:.{digits}g}"
    while digits < 12 and (float(text) < SIGNIFICANCE_LEVEL) != (p < SIGNIFICANCE_LEVEL):
        digits += 1
        text = f"{p:.{digits}g}"
    return text


def html_page(table: pd.DataFrame, title: str, notes: str = "", float_format: str = "{:.4g}") -> str:
    """A standalone HTML page showing ``table`` (the report shows HTML in place; a CSV is only downloaded).

    Parameters
    ----------
    table : DataFrame
        Shown without its index (unless the index is named, e.g. a figure of merit).
    title : str
    notes : str
        A paragraph under the title (plain text, escaped).
    float_format : str
        Format of float cells; NaN shows as an empty cell.
    """
    import html

    show_index = table.index.name is not None
    body = table.to_html(
        index=show_index,
        na_rep="",
        float_format=lambda v: float_format.format(v),
        border=0,
        escape=True,
    )
    notes_html = f'<p class="notes">{html.escape(notes)}</p>' if notes else ""
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_HTML_STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>{notes_html}\n"
        # a table wider than the report's frame scrolls instead of being cut off
        f'<div class="wide">\n{body}\n</div>\n</body></html>\n'
    )


def answer_table(runs: pd.DataFrame, difference: pd.DataFrame | None = None) -> pd.DataFrame:
    """The study's answer in one table, for the report's first page.

    Parameters
    ----------
    runs : DataFrame
        :func:`runs_table` (system, condition, fold, accuracy, ...).
    difference : DataFrame, optional
        :func:`difference_table`; adds the drop (points), its p-value and Holm's.

    Returns
    -------
    DataFrame
        One row per system (in the runs table's order): mean accuracy over folds in percent per
        condition (in the runs table's order), then ``drop (points)``, ``p-value`` and ``p (Holm)`` when given,
        ``drop, clustered by artist (interval)`` where the difference table has it (:func:`artist_clustered_difference`),
        and ``drop, ties shared (points)`` where a system's votes tied (:func:`tied_decisions`).
    """
    mean = runs.groupby(["system", "condition"], sort=False)["accuracy"].mean().unstack("condition")
    systems, conditions = list(dict.fromkeys(runs["system"])), list(dict.fromkeys(runs["condition"]))
    mean = mean.loc[systems, conditions]
    out = pd.DataFrame({"system": systems})
    for condition in conditions:
        out[f"{condition} (%)"] = mean[condition].map(_percent).to_numpy()
    if difference is not None:
        diff = difference.set_index("system").reindex(systems)
        out["drop (points)"] = diff["difference"].map(_percent).to_numpy()
        out["p-value"] = diff["p_value"].map(lambda p: p_text(p, 2)).to_numpy()
        out["p (Holm)"] = diff["p_holm"].map(lambda p: p_text(p, 2)).to_numpy()
        if "difference_ci_low_artists" in diff.columns:
            out["drop, clustered by artist (interval)"] = _artist_intervals(diff)
        tied = [c for c in diff.columns if c.startswith("n_tied_")]
        if tied and np.nansum(diff[tied].to_numpy(dtype=np.float64)) > 0:
            # where votes tied, the drop with each tie shared beside the drop as decided (the study's rule)
            out["drop, ties shared (points)"] = diff["difference_ties_shared"].map(_percent).to_numpy()
    return out


def markdown_code_to_html(text: str) -> str:
    """``text`` HTML-escaped, its Markdown code spans (`` `x` ``) as ``<code>`` elements."""
    import html
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def html_fragment(table: pd.DataFrame, css_class: str = "mgrfaults-table") -> str:
    """``table`` as an HTML fragment (a styled ``<table>``, no page) to embed in another page.

    The style is scoped by ``css_class`` so that it changes nothing else of the embedding page.
    """
    c = f"table.{css_class}"
    style = (f"{c} {{ border-collapse: collapse; font-size: 0.95em; margin: 0.5em 0 1em 0; }} "
             f"{c} th, {c} td {{ padding: 0.25em 0.9em; border-bottom: 1px solid #cbd5e1; text-align: right; }} "
             f"{c} th {{ background: #f1f5f9; }} "
             f"{c} td:first-child, {c} th:first-child {{ text-align: left; }}")
    body = table.to_html(index=False, na_rep="", border=0, escape=True, classes=css_class)
    return f"<style>{style}</style>\n{body}\n"


def html_image(png_path, alt: str) -> str:
    """An ``<img>`` holding a PNG as a data URI: an HTML fragment that needs no file beside it.

    (Snakemake's ``embeddedimage`` rst directive keeps the file path in the report's first page
    instead of embedding the image, so the page embeds its figure through this.)
    """
    import base64
    import html
    from pathlib import Path

    data = base64.b64encode(Path(png_path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width: 100%;">\n'
