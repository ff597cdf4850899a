"""The confound sweep: its points, the drop table and its summary, and the workflow target's plan."""

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from conftest import TINY_CONFIG, deep_update, run_snakemake
from mgrfaults.errors import InputError
from mgrfaults.evaluation import figures
from mgrfaults.evaluation.sweep import (conditions_missing_by_system, drop_summary, drop_table, mean_interval,
                                        plot_drop_by_strength, stack_points, sweep_points)


def test_points_cover_the_grid_and_the_control():
    points = sweep_points([0.0, 0.5, 1.0], [1, 2], no_fault_control=True)
    assert len(points) == (3 + 1) * 2
    assert len({p["name"] for p in points}) == len({p["folder"] for p in points}) == len(points)
    assert all(p["name"].isidentifier() for p in points)
    control = [p for p in points if p["faults"] == "none"]
    assert [p["confound_strength"] for p in control] == [0.0, 0.0] and control[0]["folder"] == "strength_0_nofaults/seed_1"
    assert len(sweep_points([0.0], [1], no_fault_control=False)) == 1
    with pytest.raises(InputError):
        sweep_points([0.0, 0.0], [1], True)
    # strengths one label apart only beyond 6 significant digits would share a point's folder and rules
    with pytest.raises(InputError, match=r"sweep\.strengths .* must not repeat .*6 significant digits"):
        sweep_points([0.5, 0.50000001], [1], True)


def _runs(standard, filtered, folds=1):
    rows = []
    for system, (a, b) in {"X": (standard, filtered), "Y": (standard - 0.1, filtered - 0.1)}.items():
        for fold in range(folds):
            rows += [
                {"system": system, "condition": "standard", "fold": fold, "accuracy": a, "normalized_accuracy": a - 0.01},
                {"system": system, "condition": "fault_filtered", "fold": fold, "accuracy": b, "normalized_accuracy": b},
            ]
    return pd.DataFrame(rows)


def test_drop_table_and_summary():
    points = sweep_points([0.0, 1.0], [1, 2, 3], no_fault_control=False)
    filtered = {0.0: [0.8, 0.82, 0.78], 1.0: [0.5, 0.45, 0.55]}
    runs = [(p, _runs(0.8, filtered[p["confound_strength"]][p["seed"] - 1], folds=2)) for p in points]
    drops = drop_table(runs)
    assert len(drops) == 2 * 6
    x = drops[(drops["system"] == "X") & (drops["confound_strength"] == 1.0)].sort_values("seed")
    np.testing.assert_allclose(x["drop"], [0.3, 0.35, 0.25])
    np.testing.assert_allclose(x["normalized_drop"], [0.29, 0.34, 0.24])
    summary = drop_summary(drops).set_index(["system", "confound_strength"])
    assert summary.loc[("X", 1.0), "n_seeds"] == 3
    assert summary.loc[("X", 1.0), "drop_mean"] == pytest.approx(0.3)
    assert summary.loc[("X", 1.0), "drop_sd"] == pytest.approx(0.05)
    # Student t with 2 degrees of freedom: half-width 4.303 * 0.05 / sqrt(3)
    assert summary.loc[("X", 1.0), "drop_ci_high"] == pytest.approx(0.3 + 4.3027 * 0.05 / np.sqrt(3), abs=1e-4)
    assert summary.loc[("all", 0.0), "drop_mean"] == pytest.approx(0.0, abs=1e-12)
    # the control's interval holds zero; the strong confound's excludes it
    assert summary.loc[("all", 0.0), "drop_interval_holds_zero"] and not summary.loc[("X", 1.0), "drop_interval_holds_zero"]
    with pytest.raises(InputError):
        drop_table([(points[0], _runs(0.8, 0.5).query("condition == 'standard'"))])


def test_a_system_missing_under_one_condition_is_named_with_its_point():
    # a bare KeyError: 'fault_filtered' named neither the system nor the point
    point = sweep_points([0.5], [2], no_fault_control=False)[0]
    runs = _runs(0.8, 0.5).query("not (system == 'Y' and condition == 'fault_filtered')")
    with pytest.raises(InputError, match=r"sweep point strength_0\.5/seed_2 \(confound strength 0\.5, seed 2, "
                                         r"faults as_configured\): runs table has no run of system 'Y' under "
                                         r"condition 'fault_filtered'"):
        drop_table([(point, runs)])
    assert conditions_missing_by_system(runs, ("standard", "fault_filtered")) == {"Y": ["fault_filtered"]}
    assert conditions_missing_by_system(_runs(0.8, 0.5), ("standard", "fault_filtered")) == {}


def test_a_drop_missing_at_one_seed_leaves_the_mean_over_systems_missing_not_smaller():
    # audit 53: the mean over systems skipped a system's missing drop, averaging fewer systems at that seed
    points = sweep_points([1.0], [1, 2, 3], no_fault_control=False)
    drops = drop_table([(p, _runs(0.8, 0.5)) for p in points])
    drops.loc[(drops["system"] == "Y") & (drops["seed"] == 2), "drop"] = np.nan
    summary = drop_summary(drops).set_index("system")
    assert np.isnan(summary.loc["all", "drop_mean"]) and np.isnan(summary.loc["Y", "drop_mean"])
    assert summary.loc["X", "drop_mean"] == pytest.approx(0.3)


def test_one_seed_gives_no_verdict_on_the_interval():
    # no interval: the flag is empty (pd.NA), not False, which would read as a negative control that failed
    points = sweep_points([0.0], [1], no_fault_control=False)
    summary = drop_summary(drop_table([(points[0], _runs(0.8, 0.8))]))
    assert summary["drop_interval_holds_zero"].isna().all() and summary["drop_ci_low"].isna().all()


def test_sweep_figure_draws_no_error_bar_where_one_seed_gives_no_interval(tmp_path, monkeypatch):
    # one seed at strength 0, three at strength 1: the strength-0 points had zero-length error bars
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, dpi: drawn.append(fig.axes[0]))
    points = sweep_points([0.0, 1.0], [1, 2, 3], no_fault_control=False)
    runs = [(p, _runs(0.8, 0.5 + 0.02 * p["seed"])) for p in points if p["confound_strength"] == 1.0 or p["seed"] == 1]
    plot_drop_by_strength(drop_summary(drop_table(runs)), tmp_path / "drop.png")
    (ax,) = drawn
    error_bars = [segment for c in ax.containers if isinstance(c, ErrorbarContainer)
                  for collection in c.lines[2] for segment in collection.get_segments()]
    # X, Y and all at strength 1 only, each bar of nonzero length
    assert len(error_bars) == 3 and {s[0, 0] for s in error_bars} == {1.0}
    assert all(s[1, 1] - s[0, 1] > 0 for s in error_bars)
    # the three points without one are hollow, and the legend says what that means
    hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white"]
    assert sum(len(line.get_xdata()) for line in hollow) == 3 and all(line.get_xdata()[0] == 0.0 for line in hollow)
    assert "hollow: one seed, no interval (no error bar)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_mean_interval_of_one_value_has_no_interval():
    one = mean_interval([0.2])
    assert one["mean"] == 0.2 and np.isnan(one["sd"]) and np.isnan(one["ci_low"])


def test_stack_points_prefixes_rows():
    points = sweep_points([0.5], [4], no_fault_control=False)
    table = stack_points([(points[0], pd.DataFrame({"system": ["X"], "n": [3]}))])
    assert list(table.columns[:3]) == ["confound_strength", "faults", "seed"] and table.at[0, "seed"] == 4


def _planned_jobs(output: str) -> int:
    match = re.search(r"^total\s+(\d+)", output, flags=re.M)
    assert match, output[-3000:]
    return int(match.group(1))


@pytest.mark.workflow
def test_sweep_dry_run_plans_every_point(tmp_path):
    """Every point plans the stages a single run needs for its runs and attribution tables, nothing shared."""
    single = run_snakemake(tmp_path / "single", TINY_CONFIG, targets=["results/tables/runs.csv", "results/tables/attribution.csv"],
                           extra_args=["-n"])
    per_point = _planned_jobs(single.stdout)
    sweep = deep_update(TINY_CONFIG, {"sweep": {"enabled": True, "strengths": [0.0, 1.0], "seeds": [1, 2], "no_fault_control": True}})
    planned = run_snakemake(tmp_path / "sweep", sweep, targets=["sweep"], extra_args=["-n"])
    n_points = (2 + 1) * 2
    # + sweep_tables, the configuration file and the target
    assert _planned_jobs(planned.stdout) == n_points * per_point + 3
    assert "results/sweep/strength_0_nofaults/seed_2/dataset/plan.csv" in planned.stdout
    # --config values reach every point through the main config, but not over a point's own results folder and
    # seed (they were: every point planned the same files, an AmbiguousRuleException)
    moved = run_snakemake(tmp_path / "sweep", sweep, targets=["sweep"], extra_args=["-n", "--config", "results=moved"])
    assert _planned_jobs(moved.stdout) == n_points * per_point + 3
    assert "moved/sweep/strength_0_nofaults/seed_2/dataset/plan.csv" in moved.stdout


@pytest.mark.workflow
def test_the_sweep_target_without_the_sweep_names_the_key(tmp_path):
    plan = run_snakemake(tmp_path, None, targets=["sweep"], extra_args=["-n"], check=False)
    assert plan.returncode != 0 and "the sweep target needs sweep.enabled: true" in plan.stdout
