"""The confound sweep: the drop between two conditions as a function of the synthetic confound strength.

Each sweep point is one full run of the study (dataset, partitions, systems) at one
``confound_strength`` and one master seed, in its own results folder; the runs tables of the
points are combined here into one row per (system, strength, seed) and summarised over seeds.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mgrfaults.errors import InputError
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_EVALUATE = section_defaults("evaluate")

FAULTS_AS_CONFIGURED = "as_configured"
NO_FAULTS = "none"


def sweep_points(strengths: Sequence[float], seeds: Sequence[int], no_fault_control: bool) -> list[dict]:
    """Every point of the sweep: each strength x seed, plus strength 0 with no faults x seed.

    Returns
    -------
    list of dict
        ``name`` (a Python identifier, unique), ``folder`` (relative to the sweep folder),
        ``confound_strength``, ``seed``, ``faults`` (:data:`FAULTS_AS_CONFIGURED` or :data:`NO_FAULTS`).
    """
    labels = [f"{float(s):g}" for s in strengths]  # a point's folder and rule names: 6 significant digits
    if len(set(labels)) != len(labels):
        raise InputError(f"sweep.strengths {list(strengths)} must not repeat (told apart to 6 significant digits)")
    if len(set(seeds)) != len(seeds):
        raise InputError(f"sweep.seeds {list(seeds)} must not repeat")
    grid = [(float(s), FAULTS_AS_CONFIGURED) for s in strengths]
    if no_fault_control:
        grid.append((0.0, NO_FAULTS))
    points = []
    for strength, faults in grid:
        label = f"{strength:g}" + ("_nofaults" if faults == NO_FAULTS else "")
        for seed in seeds:
            points.append(
                {
                    "name": f"sweep_s{label.replace('.', 'p')}_seed{int(seed)}_",
                    "folder": f"strength_{label}/seed_{int(seed)}",
                    "confound_strength": strength,
                    "seed": int(seed),
                    "faults": faults,
                }
            )
    return points


def conditions_missing_by_system(runs: pd.DataFrame, conditions: Sequence[str]) -> dict[str, list[str]]:
    """The compared conditions each system of a runs table has no run under (systems lacking none left out).

    Parameters
    ----------
    runs : DataFrame
        ``tables/runs.csv`` of one sweep point (system, condition, ...).
    conditions : sequence of str

    Returns
    -------
    dict
        System -> its missing conditions, in ``conditions`` order; systems in the table's order.
    """
    present = set(zip(runs["system"], runs["condition"]))
    missing = {system: [c for c in conditions if (system, c) not in present]
               for system in dict.fromkeys(runs["system"])}
    return {system: lacked for system, lacked in missing.items() if lacked}


def drop_table(
    runs_by_point: Sequence[tuple[Mapping, pd.DataFrame]], conditions: Sequence[str] = ("standard", "fault_filtered")
) -> pd.DataFrame:
    """One row per (system, point): accuracies under both conditions (mean over folds) and the drop.

    Parameters
    ----------
    runs_by_point : sequence of (point, runs table)
        A point of :func:`sweep_points` and its ``tables/runs.csv`` (system, condition, fold,
        accuracy, normalized_accuracy).
    conditions : (str, str)
        The compared conditions; drop = first - second.

    Raises
    ------
    InputError
        A point lacks a compared condition, or a system has no run under one of them (naming the point, its strength
        and seed, the system and the condition).

    Returns
    -------
    DataFrame
        system, confound_strength, faults, seed, standard_accuracy, fault_filtered_accuracy, drop,
        standard_normalized_accuracy, fault_filtered_normalized_accuracy, normalized_drop
        (fractions; names follow ``conditions``), sorted by faults, strength, system, seed.
    """
    first, second = conditions
    rows = []
    for point, runs in runs_by_point:
        missing = sorted(set(conditions) - set(runs["condition"]))
        if missing:
            raise InputError(f"sweep point {point['folder']}: runs table has no condition(s) {missing}")
        # a drop needs both accuracies of a system: name the system and the point, not a bare KeyError
        lacking = conditions_missing_by_system(runs, conditions)
        if lacking:
            named = "; ".join(f"system {system!r} under condition {' or '.join(repr(c) for c in lacked)}"
                              for system, lacked in lacking.items())
            raise InputError(
                f"sweep point {point['folder']} (confound strength {point['confound_strength']:g}, "
                f"seed {point['seed']}, faults {point['faults']}): runs table has no run of {named}, so no drop"
            )
        means = runs.groupby(["system", "condition"])[["accuracy", "normalized_accuracy"]].mean()
        for system in dict.fromkeys(runs["system"]):
            a, b = means.loc[(system, first)], means.loc[(system, second)]
            rows.append(
                {
                    "system": system,
                    "confound_strength": point["confound_strength"],
                    "faults": point["faults"],
                    "seed": point["seed"],
                    f"{first}_accuracy": a["accuracy"],
                    f"{second}_accuracy": b["accuracy"],
                    "drop": a["accuracy"] - b["accuracy"],
                    f"{first}_normalized_accuracy": a["normalized_accuracy"],
                    f"{second}_normalized_accuracy": b["normalized_accuracy"],
                    "normalized_drop": a["normalized_accuracy"] - b["normalized_accuracy"],
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(["faults", "confound_strength", "system", "seed"], kind="stable").reset_index(drop=True)


def stack_points(tables_by_point: Sequence[tuple[Mapping, pd.DataFrame]]) -> pd.DataFrame:
    """One table of the points' tables, each row prefixed by its point's confound_strength, faults and seed."""
    frames = []
    for point, table in tables_by_point:
        table = table.copy()
        for i, key in enumerate(("confound_strength", "faults", "seed")):
            table.insert(i, key, point[key])
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def mean_interval(values: Sequence[float], confidence: float = _EVALUATE["confidence"]) -> dict:
    """Mean, sample sd and the Student-t interval of the mean of ``values`` (NaN bounds for n < 2; NaN throughout
    where a value is NaN: a seed without its figure is no replication)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    if n > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = math.nan
    return {"n_seeds": n, "mean": mean, "sd": sd, "ci_low": low, "ci_high": high}


def drop_summary(drops: pd.DataFrame, confidence: float = _EVALUATE["confidence"]) -> pd.DataFrame:
    """Per (system, strength, faults) and over all systems (``system == 'all'``): the drop over seeds.

    The ``all`` rows average the systems within each seed first, then summarise those per-seed
    means over seeds (the seeds are the independent replications).

    Returns
    -------
    DataFrame
        system, confound_strength, faults, n_seeds, drop_mean, drop_sd, drop_ci_low, drop_ci_high,
        drop_interval_holds_zero (the interval contains 0: no drop beyond the seeds' spread; empty with
        one seed, which gives no interval), and the same for normalized_drop (fractions). For the
        negative control an interval holding 0 is no evidence of no drop: with 3 seeds the t quantile
        is 4.30 and the interval is wide; its upper end bounds the drop the partitions alone cause.
    """
    keys = ["confound_strength", "faults"]
    # a system's drop missing at one seed leaves that seed's mean over systems missing, not the mean of the others
    per_seed_all = (drops.groupby(keys + ["seed"], sort=False)[["drop", "normalized_drop"]]
                    .agg(lambda column: column.mean(skipna=False)).reset_index())
    per_seed_all["system"] = "all"
    rows = []
    for frame in (drops, per_seed_all):
        for (system, strength, faults), group in frame.groupby(["system"] + keys, sort=False):
            row = {"system": system, "confound_strength": strength, "faults": faults}
            for column in ("drop", "normalized_drop"):
                summary = mean_interval(group[column], confidence)
                row["n_seeds"] = summary["n_seeds"]
                row.update({f"{column}_{k}": summary[k] for k in ("mean", "sd", "ci_low", "ci_high")})
                # one seed gives no interval: neither true nor false (empty in the CSV), since False would read
                # as a negative control that failed
                low, high = summary["ci_low"], summary["ci_high"]
                row[f"{column}_interval_holds_zero"] = (bool(low <= 0.0 <= high) if np.isfinite([low, high]).all()
                                                        else pd.NA)
            rows.append(row)
    return pd.DataFrame(rows)


def plot_drop_by_strength(summary: pd.DataFrame, path, column: str = "drop", dpi: int = 120) -> None:
    """Drop (points) against confound strength, one line per system, error bars = the seeds' interval.

    The no-fault control (strength 0, every fault rate 0) is drawn as separate markers. A point without an
    interval (one seed) is a hollow marker without an error bar; the legend says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from mgrfaults.evaluation.figures import NO_INTERVAL_NOTE, _save, draw_error_bars, error_bar_lengths

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = plt.get_cmap("tab10")
    systems = [s for s in dict.fromkeys(summary["system"]) if s != "all"] + ["all"]
    any_without_interval = False
    for i, system in enumerate(systems):
        rows = summary[summary["system"] == system]
        style = {"color": "black", "linewidth": 2.5} if system == "all" else {"color": colours(i % 10)}
        for faults, marker, dashed in ((FAULTS_AS_CONFIGURED, "o", False), (NO_FAULTS, "s", True)):
            part = rows[rows["faults"] == faults].sort_values("confound_strength")
            if part.empty:
                continue
            x = (part["confound_strength"] + (0.01 * i if faults == NO_FAULTS else 0)).to_numpy(dtype=float)
            mean = 100 * part[f"{column}_mean"].to_numpy(dtype=float)
            lengths = error_bar_lengths(mean, 100 * part[f"{column}_ci_low"].to_numpy(dtype=float),
                                        100 * part[f"{column}_ci_high"].to_numpy(dtype=float))
            ax.plot(x, mean, marker=marker, linestyle="none" if dashed else "-",
                    label=system if faults == FAULTS_AS_CONFIGURED else f"{system} (no faults)", **style)
            drawn = draw_error_bars(ax, x, mean, lengths, ecolor=style["color"], capsize=3)
            # hollow over the filled marker: the point stands, its missing interval shows
            hollow = ~drawn & np.isfinite(mean)
            if hollow.any():
                ax.plot(x[hollow], mean[hollow], marker=marker, linestyle="none", markerfacecolor="white",
                        markeredgecolor=style["color"])
                any_without_interval = True
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("confound strength")
    ax.set_ylabel(f"{'normalised ' if column == 'normalized_drop' else ''}accuracy drop (points)")
    handles, _ = ax.get_legend_handles_labels()
    if any_without_interval:
        handles.append(Line2D([], [], marker="o", linestyle="none", color="grey", markerfacecolor="white",
                              label=f"hollow: one seed, {NO_INTERVAL_NOTE}"))
    ax.legend(handles=handles, fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(fig, path, dpi)
