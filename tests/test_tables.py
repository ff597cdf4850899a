"""The study's tables on crafted runs and predictions."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mgrfaults.errors import InputError
from mgrfaults.evaluation.metrics import confusion_matrix, evaluate
from mgrfaults.evaluation.tables import (
    artist_clustered_difference,
    PAIRED_TEST,
    UNPAIRED_TEST,
    answer_table,
    bootstrap_intervals,
    clopper_pearson,
    compare_conditions,
    condition_table,
    difference_table,
    format_condition_table,
    format_difference_table,
    html_fragment,
    html_page,
    pooled_figure_of_merit,
    round_for_csv,
    runs_table,
)

LABELS = ["blues", "classical", "country"]


def fold(n_per_class, n_wrong_per_class, prefix="t", offset=0):
    """Predictions of one fold: the first n_wrong excerpts of each class are predicted as the next class."""
    rows = []
    for c, (label, n, wrong) in enumerate(zip(LABELS, n_per_class, n_wrong_per_class)):
        for i in range(n):
            predicted = LABELS[(c + 1) % len(LABELS)] if i < wrong else label
            rows.append({"track_id": f"{label}.{prefix}{offset + i:04d}", "true": label, "predicted": predicted})
    return pd.DataFrame(rows)


def runs_of(predictions):
    """runs.csv records from {(system, condition): [fold frames]}."""
    records = []
    for (system, condition), folds in predictions.items():
        for k, df in enumerate(folds):
            m = evaluate(df["true"].tolist(), df["predicted"].tolist(), LABELS)
            records.append({**m, "system": system, "condition": condition, "fold": k})
    return runs_table(records)


def test_runs_table_columns_and_duplicates():
    preds = {("A", "standard"): [fold([4, 4, 4], [1, 0, 2])], ("A", "fault_filtered"): [fold([3, 3, 3], [2, 2, 2])]}
    runs = runs_of(preds)
    assert list(runs.columns) == ["system", "condition", "fold", "accuracy", "normalized_accuracy"]
    assert runs.loc[runs.condition == "standard", "accuracy"].item() == pytest.approx(9 / 12)
    with pytest.raises(InputError, match="twice"):
        runs_table([runs.iloc[0].to_dict(), runs.iloc[0].to_dict()])
    with pytest.raises(InputError, match="missing"):
        runs_table([{"system": "A"}])


def test_clopper_pearson_known_values():
    low, high = clopper_pearson(0, 10)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 10))
    low, high = clopper_pearson(7, 10)
    assert low == pytest.approx(stats.beta.ppf(0.025, 7, 4))
    assert high == pytest.approx(stats.beta.ppf(0.975, 8, 3))
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_bootstrap_interval_contains_estimate_and_shrinks():
    small = [fold([10, 10, 10], [3, 5, 1])]
    big = [fold([200, 200, 200], [60, 100, 20])]  # same recalls, 20x the excerpts
    ci_small = bootstrap_intervals(small, LABELS, 2000, seed=1)
    ci_big = bootstrap_intervals(big, LABELS, 2000, seed=1)
    for ci in (ci_small, ci_big):
        assert ci["accuracy"][0] < 0.7 < ci["accuracy"][1]
        assert ci["normalized_accuracy"][0] < 0.7 < ci["normalized_accuracy"][1]
    assert (ci_big["accuracy"][1] - ci_big["accuracy"][0]) < 0.5 * (ci_small["accuracy"][1] - ci_small["accuracy"][0])
    assert bootstrap_intervals(small, LABELS, 500, seed=4) == bootstrap_intervals(small, LABELS, 500, seed=4)
    assert all(np.isnan(bootstrap_intervals(small, LABELS, 0)["accuracy"]))


def test_interval_has_width_where_a_genre_is_all_right_or_has_one_test_excerpt():
    # the plain bootstrap drew Binomial(n, k/n): no spread at recall 0 or 1, so an interval of zero width
    # (100.0 [100.0, 100.0]; one excerpt a genre: 48.0 [48.0, 48.0]) where the data are thinnest
    perfect = bootstrap_intervals([fold([5, 5, 5], [0, 0, 0])], LABELS, 4000, seed=2)
    for low, high in perfect.values():
        assert high == 1.0 and 0.6 < low < 0.95
    one_each = bootstrap_intervals([fold([1, 1, 1], [0, 1, 0])], LABELS, 4000, seed=2)
    low, high = one_each["normalized_accuracy"]
    assert low < 2 / 3 < high and high - low > 0.3
    # one genre alone: resamples around Agresti & Coull's adjusted recall (14 + 2) / (20 + 4), near their interval
    alone = bootstrap_intervals([fold([20, 0, 0], [6, 0, 0])], LABELS, 40000, seed=3)
    adjusted = 16 / 24
    half = stats.norm.ppf(0.975) * np.sqrt(adjusted * (1 - adjusted) / 20)
    np.testing.assert_allclose(alone["accuracy"], [adjusted - half, adjusted + half], atol=0.03)
    # several folds at 100, 40 and 100 % cannot read 80.0 [80.0, 80.0]
    folds = [fold([2, 2, 1], [0, 0, 0]), fold([2, 2, 1], [2, 1, 0]), fold([2, 2, 1], [0, 0, 0])]
    low, high = bootstrap_intervals(folds, LABELS, 4000, seed=2)["accuracy"]
    assert low < 0.8 - 0.05 and high > 0.8


def test_condition_table_accuracy_interval_exact_of_one_fold_or_of_the_folds_pooled():
    preds = {
        ("A", "standard"): [fold([10, 10, 10], [2, 2, 2])],
        ("B", "standard"): [fold([10, 10, 10], [5, 5, 5])],
        ("A", "cv"): [fold([5, 5, 5], [1, 1, 1], offset=k * 5) for k in range(3)],
        ("B", "cv"): [fold([5, 5, 5], [k, k, k], offset=k * 5) for k in range(3)],
    }
    runs = runs_of(preds)
    one = condition_table(runs, {"A": preds[("A", "standard")], "B": preds[("B", "standard")]}, "standard", LABELS,
                          systems=["B", "A"], n_bootstrap=200)
    assert list(one["system"]) == ["B", "A"]
    row = one.set_index("system").loc["A"]
    assert row["accuracy_mean"] == pytest.approx(24 / 30)
    assert np.isnan(row["accuracy_std"])
    assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == pytest.approx(clopper_pearson(24, 30))
    assert "Clopper-Pearson" in row["accuracy_interval"]
    assert row["n_test"] == 30 and row["n_folds"] == 1

    many = condition_table(runs, {"A": preds[("A", "cv")], "B": preds[("B", "cv")]}, "cv", LABELS, n_bootstrap=200)
    row = many.set_index("system").loc["B"]
    assert row["accuracy_mean"] == pytest.approx(np.mean([1.0, 0.8, 0.6]))
    assert row["accuracy_std"] == pytest.approx(np.std([1.0, 0.8, 0.6], ddof=1))
    # Clopper-Pearson of the folds' test excerpts pooled: 36 right of 45
    assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == pytest.approx(clopper_pearson(36, 45))
    assert "Clopper-Pearson" in row["accuracy_interval"] and "pooled" in row["accuracy_interval"]
    with pytest.raises(InputError, match="predictions of 1 folds"):
        condition_table(runs, {"A": preds[("A", "standard")], "B": preds[("B", "standard")]}, "cv", LABELS)
    with pytest.raises(InputError, match="'C'"):
        condition_table(runs, {}, "cv", LABELS, systems=["C"])


def test_an_empty_test_part_is_named_by_system_condition_and_fold():
    # the error named the fold alone: which system's, under which condition, was left to guess
    empty = pd.DataFrame({"track_id": [], "true": [], "predicted": []}, dtype=str)
    runs = pd.DataFrame({"system": ["A", "B", "B"], "condition": ["cv"] * 3, "fold": [0, 0, 1],
                         "accuracy": [0.8, 0.6, np.nan], "normalized_accuracy": [0.8, 0.6, np.nan]})
    predictions = {"A": [fold([5, 5, 5], [1, 1, 1])], "B": [fold([5, 5, 5], [2, 2, 2]), empty]}
    with pytest.raises(InputError, match=r"^system 'B' under condition 'cv', fold 1: no test excerpt to bootstrap"):
        condition_table(runs, predictions, "cv", LABELS, n_bootstrap=100)
    with pytest.raises(InputError, match=r"^fold 1: no test excerpt"):
        bootstrap_intervals(predictions["B"], LABELS, 100)


def test_intervals_over_many_small_folds_are_as_wide_as_over_their_excerpts_pooled():
    # audit 53: resampled apart, cells of one fold and one genre holding one excerpt each drew almost no spread (the
    # adjustment 2/m fades with m = folds x genres): 10 folds x 5 excerpts of each genre, 80 % right, gave the
    # accuracy [75.3, 83.3] where Clopper-Pearson of the 150 excerpts gives [72.7, 86.1]
    folds = [fold([5, 5, 5], [1, 1, 1], offset=5 * k) for k in range(10)]
    pooled = bootstrap_intervals([pd.concat(folds, ignore_index=True)], LABELS, 4000, seed=5)
    per_fold = bootstrap_intervals(folds, LABELS, 4000, seed=5)
    assert per_fold == pooled
    low, high = per_fold["normalized_accuracy"]
    cp_low, cp_high = clopper_pearson(120, 150)
    assert high - low > 0.8 * (cp_high - cp_low)
    runs = runs_of({("A", "cv"): folds})
    row = condition_table(runs, {"A": folds}, "cv", LABELS, n_bootstrap=200).iloc[0]
    assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == pytest.approx((cp_low, cp_high))
    # unequal folds: the interval still holds the folds' mean it stands beside
    uneven = [fold([1, 1, 1], [0, 0, 0], offset=100), fold([9, 9, 9], [6, 6, 6])]
    row = condition_table(runs_of({("A", "cv"): uneven}), {"A": uneven}, "cv", LABELS, n_bootstrap=200).iloc[0]
    assert row["accuracy_mean"] == pytest.approx((1 + 1 / 3) / 2)
    assert row["accuracy_ci_low"] <= row["accuracy_mean"] <= row["accuracy_ci_high"]
    assert row["normalized_accuracy_ci_low"] <= row["normalized_accuracy_mean"] <= row["normalized_accuracy_ci_high"]


def test_p_values_are_never_rounded_across_the_significance_level():
    from mgrfaults.evaluation.tables import p_text

    assert p_text(0.04985229442285262, 2) == "0.0499" and p_text(0.0502, 2) == "0.05"  # 0.05: not below it
    assert p_text(0.0123, 2) == "0.012" and p_text(0.5, 2) == "0.5" and p_text(float("nan")) == ""
    assert p_text(0.0499999999, 2).startswith("0.0499")


def test_paired_mcnemar_when_same_excerpts():
    ids = [f"blues.{i:05d}" for i in range(30)]
    a = pd.Series([True] * 20 + [False] * 10, index=ids)
    b = a.copy()
    b.iloc[:8] = False  # 8 right only under a
    b.iloc[25:27] = True  # 2 right only under b
    result = compare_conditions(a, b.sample(frac=1, random_state=0))  # order must not matter
    assert result["test"] == PAIRED_TEST
    assert (result["n_only_a_correct"], result["n_only_b_correct"]) == (8, 2)
    assert result["p_value"] == pytest.approx(stats.binomtest(8, 10, 0.5).pvalue)
    assert compare_conditions(a, a)["p_value"] == 1.0


def test_unpaired_fisher_when_excerpts_differ():
    a = pd.Series([True] * 25 + [False] * 5, index=[f"x{i}" for i in range(30)])
    b = pd.Series([True] * 10 + [False] * 14, index=[f"x{i}" for i in range(6, 30)])  # a subset: faults removed
    result = compare_conditions(a, b)
    assert result["test"] == UNPAIRED_TEST
    assert result["n_shared"] == 24
    assert result["p_value"] == pytest.approx(stats.fisher_exact([[25, 5], [10, 14]]).pvalue)


def test_difference_table_sign_and_test_choice():
    preds = {
        ("A", "standard"): [fold([10, 10, 10], [1, 1, 1])],
        ("A", "fault_filtered"): [fold([8, 8, 8], [4, 4, 4], prefix="f")],
        ("B", "standard"): [fold([10, 10, 10], [1, 1, 1])],
        ("B", "fault_filtered"): [fold([10, 10, 10], [3, 3, 3])],  # same excerpts: paired
    }
    runs = runs_of(preds)
    diff = difference_table(runs, preds, "standard", "fault_filtered").set_index("system")
    assert diff.loc["A", "difference"] == pytest.approx(0.9 - 0.5)
    assert diff.loc["A", "accuracy_standard"] == pytest.approx(0.9)
    assert diff.loc["A", "test"] == UNPAIRED_TEST
    assert diff.loc["B", "test"] == PAIRED_TEST
    assert diff.loc["B", "difference"] == pytest.approx(0.2)
    assert diff.loc["B", "n_only_a_correct"] == 6
    with pytest.raises(InputError, match="'nope'"):
        difference_table(runs, preds, "standard", "nope")


def test_pooled_figure_of_merit_sums_folds():
    folds = [fold([4, 4, 4], [1, 0, 0]), fold([4, 4, 4], [1, 2, 0], offset=4)]
    confusions = [confusion_matrix(f["true"], f["predicted"], LABELS) for f in folds]
    fom = pooled_figure_of_merit(confusions, LABELS)
    assert fom.loc["blues", "blues"] == pytest.approx(100 * 6 / 8)
    assert fom.loc["country", "classical"] == pytest.approx(100 * 2 / 8)
    with pytest.raises(InputError):
        pooled_figure_of_merit([], LABELS)


def test_readable_tables_and_html_page():
    preds = {
        ("A", "standard"): [fold([10, 10, 10], [1, 1, 1])],
        ("A", "fault_filtered"): [fold([8, 8, 8], [4, 4, 4], prefix="f")],
    }
    runs = runs_of(preds)
    table = condition_table(runs, {"A": preds[("A", "standard")]}, "standard", LABELS, n_bootstrap=50)
    readable = format_condition_table(table)
    low, high = clopper_pearson(27, 30)
    assert readable.loc[0, "accuracy (%)"] == f"90.0 [{100 * low:.1f}, {100 * high:.1f}]"  # one fold: no std
    diff = format_difference_table(difference_table(runs, preds), "standard", "fault_filtered")
    assert diff.loc[0, "difference (points)"] == "40.0"
    assert diff.loc[0, "test"] == "Fisher exact"
    page = html_page(diff, "standard - fault_filtered <drop>", notes="a & b")
    assert page.startswith("<!DOCTYPE html>") and "<table" in page and "40.0" in page
    assert "&lt;drop&gt;" in page and "a &amp; b" in page  # escaped


def test_p_values_survive_the_csv(tmp_path):
    table = pd.DataFrame({"system": ["A"], "difference": [0.123456789], "p_value": [5.21e-08]})
    path = tmp_path / "difference.csv"
    round_for_csv(table).to_csv(path, index=False)
    back = pd.read_csv(path)
    assert back.loc[0, "p_value"] == 5.21e-08
    assert back.loc[0, "difference"] == 0.123457


def test_answer_table_orders_and_drops():
    runs = pd.DataFrame({"system": ["S", "S", "S", "B", "B"], "condition": ["std", "std", "ff", "std", "ff"],
                         "fold": [0, 1, 0, 0, 0], "accuracy": [0.8, 0.9, 0.4, 0.7, 0.6]})
    difference = pd.DataFrame({"system": ["B", "S"], "difference": [0.1, 0.45], "p_value": [0.5, 3.2e-9],
                               "p_holm": [0.5, 6.4e-9], "n_tied_std": [0, 0], "n_tied_ff": [0, 0],
                               "difference_ties_shared": [0.1, 0.45]})
    table = answer_table(runs, difference)
    assert list(table.columns) == ["system", "std (%)", "ff (%)", "drop (points)", "p-value", "p (Holm)"]
    assert table.values.tolist() == [["S", "85.0", "40.0", "45.0", "3.2e-09", "6.4e-09"],
                                     ["B", "70.0", "60.0", "10.0", "0.5", "0.5"]]
    # a tied vote anywhere: the drop with each tie shared beside
    tied = answer_table(runs, difference.assign(n_tied_ff=[3, 0], difference_ties_shared=[0.05, 0.45]))
    assert tied["drop, ties shared (points)"].tolist() == ["45.0", "5.0"]
    assert list(answer_table(runs).columns) == ["system", "std (%)", "ff (%)"]
    fragment = html_fragment(table)
    assert fragment.startswith("<style>") and "<html" not in fragment and "3.2e-09" in fragment


def test_stale_runs_table_names_runs_missing_and_runs_left_over(tmp_path):
    from mgrfaults.evaluation.tables import stale_runs_table

    path = tmp_path / "runs.csv"
    assert stale_runs_table(path, [("A", "standard", 0)]) is None  # nothing built yet: nothing to report from
    pd.DataFrame({"system": ["A", "B"], "condition": ["standard", "standard"], "fold": [0, 0],
                  "accuracy": 0.5, "normalized_accuracy": 0.5}).to_csv(path, index=False)
    assert stale_runs_table(path, [("A", "standard", 0), ("B", "standard", 0)]) is None
    problem = stale_runs_table(path, [("A", "standard", 0), ("A", "standard", 1)])
    assert "lacks 1 run(s) of this configuration (first: A/standard/fold_1)" in problem
    assert "holds 1 run(s) this configuration does not have (first: B/standard/fold_0)" in problem


def test_intervals_hold_the_true_normalised_accuracy_in_simulation():
    # benchmarks/interval_coverage.py, small: 10 genres of 4 test excerpts at recalls 0.9 and 0.99, where the plain
    # bootstrap held the truth in 90 % and 32 % of runs and Jeffreys-posterior draws in 60 % and 68 %
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "interval_coverage.py"
    spec = importlib.util.spec_from_file_location("interval_coverage", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for recalls in (np.full(10, 0.9), np.full(10, 0.99)):
        held = module.coverage(recalls, n=4, runs=200, resamples=500, seed=1)
        assert held["adjusted_coverage"] >= 0.9 and held["adjusted_coverage"] > held["jeffreys_coverage"] + 0.1


def test_tied_decisions_share_each_tie_among_its_genres():
    from mgrfaults.evaluation.tables import tied_decisions

    # two windows per excerpt: vote shares 1.0 or 0.5/0.5; a tie goes to the genre first in label order
    predictions = pd.DataFrame({
        "track_id": ["a", "b", "c", "d"],
        "true": ["blues", "country", "jazz", "blues"],
        "predicted": ["blues", "blues", "blues", "blues"],
        "score_blues": [0.5, 0.5, 0.5, 1.0], "score_country": [0.5, 0.5, 0.0, 0.0], "score_jazz": [0.0, 0.0, 0.5, 0.0],
    })
    n_tied, shared = tied_decisions(predictions)
    # a: tie won by its true genre (1/2), b: tie lost by its true genre (1/2), c: the same, d: no tie (1)
    assert n_tied == 3 and shared == pytest.approx((0.5 + 0.5 + 0.5 + 1.0) / 4)
    # as decided: a and d right
    assert (predictions["true"] == predictions["predicted"]).mean() == 0.5
    # scores that do not give the decisions, a missing score, or none at all: the ties cannot be told, not 0
    for cannot_tell in (predictions.assign(predicted="jazz"), predictions.assign(score_jazz=[0.0, 0.0, np.nan, 0.0]),
                        predictions[["track_id", "true", "predicted"]]):
        assert np.isnan(tied_decisions(cannot_tell)).all()


def test_holm_adjusts_step_down_and_leaves_missing_tests_out():
    from mgrfaults.evaluation.tables import holm_adjusted

    adjusted = holm_adjusted([0.01, 0.04, float("nan"), 0.03, 0.5])
    # m = 4: 0.01 * 4, 0.03 * 3, 0.04 * 2 (kept at least 0.09), 0.5 * 1
    assert adjusted[[0, 3, 1, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert np.isnan(adjusted[2])
    assert holm_adjusted([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def _correct(n_right, n, prefix):
    return pd.Series([True] * n_right + [False] * (n - n_right), index=[f"{prefix}{i:02d}" for i in range(n)])


def test_the_difference_clustered_by_artist_widens_with_artists_of_one_outcome():
    # 36 of 40 right under a, 24 of 40 under b; b's excerpts by 40 artists, then by 4 of 10 excerpts each whose
    # excerpts are right or wrong together (10, 10, 4, 0 right): 4 draws of the question, not 40
    a, b = _correct(36, 40, "a"), _correct(24, 40, "b")
    own = {**{t: t for t in a.index}, **{t: t for t in b.index}}
    by_four = {**own, **{t: f"artist{i // 10}" for i, t in enumerate(b.index)}}
    low, high = artist_clustered_difference(a, b, own)
    # one artist an excerpt: each condition's variance r (1 - r) / (G - 1), at least Agresti & Caffo's p (1 - p) /
    # (N + 2) with p = (K + 1) / (N + 2) (a's, 0.0025 > 0.0023), Welch's degrees of freedom
    v_a, v_b = max(0.9 * 0.1 / 39, 37 / 42 * 5 / 42 / 42), max(0.6 * 0.4 / 39, 25 / 42 * 17 / 42 / 42)
    assert v_a == 37 / 42 * 5 / 42 / 42 and v_b == 0.6 * 0.4 / 39
    half = stats.t.ppf(0.975, (v_a + v_b) ** 2 / (v_a**2 / 39 + v_b**2 / 39)) * np.sqrt(v_a + v_b)
    assert (low, high) == pytest.approx((0.3 - half, 0.3 + half), abs=1e-12)
    # four artists under b: residuals (10 - 6, 10 - 6, 4 - 6, 0 - 6) / 40, variance 4 / 3 of their squares' sum
    v_b4 = 4 / 3 * (0.1**2 + 0.1**2 + 0.05**2 + 0.15**2)
    half4 = stats.t.ppf(0.975, (v_a + v_b4) ** 2 / (v_a**2 / 39 + v_b4**2 / 3)) * np.sqrt(v_a + v_b4)
    low4, high4 = artist_clustered_difference(a, b, by_four)
    assert low4 == pytest.approx(0.3 - half4, abs=1e-12) and high4 == 1.0  # cut to a difference's range
    assert (high4 - low4) > 1.6 * (high - low)
    assert artist_clustered_difference(a, b, own, confidence=0.9)[0] > low  # narrower at 90 %
    assert all(np.isnan(artist_clustered_difference(a, b.iloc[:0], own)))
    # every excerpt right under both: no spread between artists, yet not a zero-width interval
    floor = 41 / 42 * 1 / 42 / 42  # each condition's: (K + 1) / (N + 2) = 41 / 42
    half_1 = stats.t.ppf(0.975, 4 / (1 / 39 + 1 / 3)) * np.sqrt(2 * floor)
    assert artist_clustered_difference(_correct(40, 40, "a"), _correct(40, 40, "b"), by_four) == pytest.approx(
        (-half_1, half_1), abs=1e-12)
    # one artist: no spread between artists to measure (audit 42)
    assert all(np.isnan(artist_clustered_difference(a, b, {**own, **{t: "one" for t in b.index}})))
    # the same excerpts under both conditions (the paired case): each artist's residual under a minus under b, 9
    # degrees of freedom. Wrong under a on artist 9's excerpts, under b on artists 8's and 9's: the artist wrong
    # under both adds no spread to the difference, as it does when the excerpts under b are other ones
    ten = {t: f"artist{i // 4}" for i, t in enumerate(a.index)}
    under_a = pd.Series([True] * 36 + [False] * 4, index=a.index)
    under_b = pd.Series([True] * 32 + [False] * 8, index=a.index)
    low_p, high_p = artist_clustered_difference(under_a, under_b, ten)
    half_p = stats.t.ppf(0.975, 9) * np.sqrt(10 / 9 * (9 * 0.01**2 + 0.09**2))
    assert (low_p, high_p) == pytest.approx((0.1 - half_p, 0.1 + half_p), abs=1e-12)
    # the same decisions under both: the floor, the paired variance with one disagreement each way, (2 / 42) / 42
    low_s, high_s = artist_clustered_difference(under_a, under_a, ten)
    assert (low_s, high_s) == pytest.approx((-stats.t.ppf(0.975, 9) * np.sqrt(2 / 42 / 42),
                                            stats.t.ppf(0.975, 9) * np.sqrt(2 / 42 / 42)), abs=1e-12)
    elsewhere = under_b.set_axis([f"x{t}" for t in a.index])
    low_i, high_i = artist_clustered_difference(under_a, elsewhere, {**ten, **{f"x{t}": g for t, g in ten.items()}})
    assert high_i - low_i > 1.5 * (high_p - low_p)
    with pytest.raises(InputError, match=r"\['b00'"):
        artist_clustered_difference(a, b, {t: t for t in a.index})


def test_the_difference_clustered_by_artist_is_of_the_fold_means_the_table_gives():
    # under a two folds of unequal size, 9 of 10 right and 15 of 30: the runs table's mean 0.7, where the pooled
    # 24 / 40 is 0.6; under b one fold of 40 by 40 artists, 20 right. Fold 0's excerpts are by 10 artists, fold 1's
    # by 5 of 6 excerpts each (6, 6, 3, 0, 0 right): shares of the fold mean's error about it, (c - 0.7) / 20 in
    # fold 0 (0.015 nine times, -0.035), (c - 0.7) / 60 in fold 1 (0.005 right, -0.7 / 60 wrong), an artist's 0.03,
    # 0.03, -0.02, -0.07, -0.07: all of them sum to 0
    a = pd.Series([True] * 9 + [False] + [True] * 15 + [False] * 15, index=[f"a{i:02d}" for i in range(40)])
    fold_a = [0] * 10 + [1] * 30
    b = _correct(20, 40, "b")
    artists = {**{t: t if i < 10 else f"artist{(i - 10) // 6}" for i, t in enumerate(a.index)},
               **{t: t for t in b.index}}
    v_a = 15 / 14 * (9 * 0.015**2 + 0.035**2 + 2 * 0.03**2 + 0.02**2 + 2 * 0.07**2)
    v_b = max(40 / 39 * 40 * (0.5 / 40) ** 2, 0.25 / 42)
    # Kish's effective number of artists under a: weights N / (F N_f), 2 for fold 0's ten and 2 / 3 for fold 1's
    # five, (70 / 3)^2 / (40 + 20 / 9) = 4900 / 380 of them, less one
    dof_a = 4900 / 380 - 1
    half = stats.t.ppf(0.975, (v_a + v_b) ** 2 / (v_a**2 / dof_a + v_b**2 / 39)) * np.sqrt(v_a + v_b)
    low, high = artist_clustered_difference(a, b, artists, fold_a=fold_a)
    assert (low, high) == pytest.approx((0.2 - half, 0.2 + half), abs=1e-12)
    # fold labels are names, not positions; one fold is the pooled ratio
    assert artist_clustered_difference(a, b, artists, fold_a=["x"] * 10 + ["y"] * 30) == (low, high)
    assert artist_clustered_difference(a, b, artists, fold_a=[3] * 40) == artist_clustered_difference(a, b, artists)
    # the difference table centres it on its own difference, the runs' fold means
    runs = pd.DataFrame({"system": ["S"] * 3, "condition": ["standard"] * 2 + ["fault_filtered"], "fold": [0, 1, 0],
                         "accuracy": [0.9, 0.5, 0.5], "normalized_accuracy": [0.9, 0.5, 0.5]})
    frame = lambda c: pd.DataFrame({"track_id": c.index, "true": "rock", "predicted": np.where(c, "rock", "pop")})
    folds = {("S", "standard"): [frame(a.iloc[:10]), frame(a.iloc[10:])], ("S", "fault_filtered"): [frame(b)]}
    row = difference_table(runs, folds, artist_of=artists).iloc[0]
    assert row["difference"] == pytest.approx(0.2)
    assert (row["difference_ci_low_artists"], row["difference_ci_high_artists"]) == (low, high)
    # a correctness that is neither right nor wrong, or folds that do not match, is named, not counted
    with pytest.raises(InputError, match=r"correct_b: excerpts \['b01'\] are neither right nor wrong \(\[nan\]\)"):
        artist_clustered_difference(a, b.where(b.index != "b01"), artists)
    with pytest.raises(InputError, match=r"correct_a: 40 excerpts but folds of shape \(2,\)"):
        artist_clustered_difference(a, b, artists, fold_a=[0, 1])
    with pytest.raises(InputError, match=r"correct_a: excerpts \['a03'\] have no fold"):
        artist_clustered_difference(a, b, artists, fold_a=[0, 0, 0, None] + [0] * 6 + [1] * 30)
    # paired, the two conditions' folds differing: the interval of a - b mirrors that of b - a (audit 46)
    under_b = pd.Series(np.roll(a.to_numpy(), 7), index=a.index)
    ab = artist_clustered_difference(a, under_b, artists, fold_a=fold_a, fold_b=[0] * 30 + [1] * 10)
    ba = artist_clustered_difference(under_b, a, artists, fold_a=[0] * 30 + [1] * 10, fold_b=fold_a)
    assert ab == pytest.approx((-ba[1], -ba[0]), abs=1e-12)


def test_the_difference_table_gives_the_artist_clustered_interval_and_the_artists():
    runs = pd.DataFrame({"system": ["S", "S"], "condition": ["standard", "fault_filtered"], "fold": [0, 0],
                         "accuracy": [0.9, 0.6], "normalized_accuracy": [0.9, 0.6]})
    folds = {}
    for condition, right in (("standard", 36), ("fault_filtered", 24)):
        ids = [f"{condition[0]}{i:02d}" for i in range(40)]
        folds[("S", condition)] = [pd.DataFrame({"track_id": ids, "true": "rock",
                                                 "predicted": ["rock"] * right + ["pop"] * (40 - right)})]
    artists = {t: f"artist{int(t[1:]) // 10}" if t[0] == "f" else t for (_, c) in folds for t in folds[("S", c)][0].track_id}
    table = difference_table(runs, folds, artist_of=artists, confidence=0.9)
    row = table.iloc[0]
    assert (row["n_artists_standard"], row["n_artists_fault_filtered"]) == (40, 4)
    assert (row["difference_ci_low_artists"], row["difference_ci_high_artists"]) == artist_clustered_difference(
        *(pd.Series((f[0].true == f[0].predicted).to_numpy(), index=f[0].track_id) for f in folds.values()), artists,
        confidence=0.9)
    assert "difference_ci_low_artists" not in difference_table(runs, folds).columns
    # the report's first page gives it beside the drop
    low, high = (f"{100 * row[c]:+.1f}" for c in ("difference_ci_low_artists", "difference_ci_high_artists"))
    assert answer_table(runs, table)["drop, clustered by artist (interval)"].tolist() == [f"[{low}, {high}]"]
    assert "drop, clustered by artist (interval)" not in answer_table(runs, difference_table(runs, folds)).columns


def test_the_difference_table_gives_the_difference_without_mislabelled_test_excerpts():
    # fault_filtered keeps mislabelings (as the study's filter does): two of its test excerpts, predicted as their real
    # genre, are scored wrong; the table counts them and gives the accuracies without them
    runs = pd.DataFrame({"system": ["S", "S"], "condition": ["standard", "fault_filtered"], "fold": [0, 0],
                         "accuracy": [0.9, 0.6], "normalized_accuracy": [0.9, 0.6]})
    folds = {("S", "standard"): [pd.DataFrame({"track_id": [f"s{i}" for i in range(10)], "true": "rock",
                                               "predicted": ["rock"] * 9 + ["pop"]})],
             ("S", "fault_filtered"): [pd.DataFrame({"track_id": [f"f{i}" for i in range(10)], "true": "rock",
                                                     "predicted": ["rock"] * 6 + ["metal"] * 4})]}
    row = difference_table(runs, folds, mislabelled={"f8", "f9", "elsewhere"}).iloc[0]
    assert (row["n_mislabelled_standard"], row["n_mislabelled_fault_filtered"]) == (0, 2)
    assert row["accuracy_without_mislabelled_fault_filtered"] == pytest.approx(6 / 8)
    assert row["difference_without_mislabelled"] == pytest.approx(0.9 - 0.75)
    from mgrfaults.evaluation.summary import mislabelled_markdown
    text = "\n".join(mislabelled_markdown(difference_table(runs, folds, mislabelled={"f8"}), ["standard", "fault_filtered"]))
    assert "0 of 10 under standard, 1 of 10 under fault_filtered" in text and "- S: 90.0 and 66.7, difference +23.3" in text
    assert mislabelled_markdown(difference_table(runs, folds, mislabelled=set()), ["standard", "fault_filtered"]) == []
