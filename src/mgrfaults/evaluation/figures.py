"""The study's figures: figure-of-merit heatmaps, accuracy per system and condition, training curves."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mgrfaults.errors import InputError  # noqa: E402
from mgrfaults.io import atomic_path  # noqa: E402


def _save(fig, path, dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def plot_figure_of_merit(fom: pd.DataFrame, path, title: str = "", dpi: int = 120) -> None:
    """Heatmap of a figure-of-merit table with the numbers written in.

    Parameters
    ----------
    fom : DataFrame, shape (n_labels + 1, n_labels + 1)
        :func:`mgrfaults.evaluation.metrics.figure_of_merit` (percent): rows = predicted + F-score,
        columns = true + Precision.
    path : str or Path
        PNG to write (atomically).
    title : str
    dpi : int
    """
    values = fom.to_numpy(dtype=float)
    n_rows, n_cols = values.shape
    fig, ax = plt.subplots(figsize=(0.62 * n_cols + 2.2, 0.5 * n_rows + 1.6))
    ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0, vmax=100, aspect="auto")
    for i in range(n_rows):
        for j in range(n_cols):
            value = values[i, j]
            text = "–" if np.isnan(value) else f"{value:.0f}"
            colour = "white" if not np.isnan(value) and value > 60 else "black"
            weight = "bold" if (i == j or i == n_rows - 1 or j == n_cols - 1) else "normal"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour, fontweight=weight)
    # separate the genre block from the precision column and the F-score row
    ax.axhline(n_rows - 1.5, color="black", linewidth=1)
    ax.axvline(n_cols - 1.5, color="black", linewidth=1)
    ax.set_xticks(range(n_cols), [str(c) for c in fom.columns], rotation=45, ha="right")
    ax.set_yticks(range(n_rows), [str(r) for r in fom.index])
    ax.set_xlabel("true genre")
    ax.set_ylabel("predicted genre")
    ax.set_title(title)
    _save(fig, path, dpi)


NO_INTERVAL_NOTE = "no interval (no error bar)"
"""Legend text of the marks drawn where a value has no interval (a bar or a point without an error bar)."""


def error_bar_lengths(centre, low, high) -> np.ndarray:
    """Lengths of the error bar below and above each value; NaN where its interval is missing.

    Parameters
    ----------
    centre, low, high : array-like of float, shape (n,)
        The values drawn and their interval bounds (NaN: no interval, e.g. ``evaluate.bootstrap: 0`` or one seed).

    Returns
    -------
    ndarray, shape (2, n)
        ``centre - low`` and ``high - centre``, clipped at 0 (matplotlib refuses negative lengths); NaN where a
        bound is NaN, never 0: a bar of length zero would read as an exact value.
    """
    centre, low, high = (np.asarray(a, dtype=float) for a in (centre, low, high))
    return np.vstack([np.clip(centre - low, 0, None), np.clip(high - centre, 0, None)])


def has_interval(lengths: np.ndarray) -> np.ndarray:
    """Which columns of :func:`error_bar_lengths` have an interval to draw (both lengths known)."""
    return np.isfinite(lengths).all(axis=0)


def draw_error_bars(ax, x, centre, lengths: np.ndarray, **style) -> np.ndarray:
    """Error bars at ``x`` only where :func:`has_interval`; returns that mask.

    The values without an interval get no bar at all (the caller marks them), not a bar of length zero.
    """
    x, centre = np.asarray(x, dtype=float), np.asarray(centre, dtype=float)
    drawn = has_interval(lengths)
    if drawn.any():
        ax.errorbar(x[drawn], centre[drawn], yerr=lengths[:, drawn], fmt="none", **style)
    return drawn


def plot_accuracy_by_condition(
    tables: Mapping[str, pd.DataFrame],
    path,
    systems: Sequence[str] | None = None,
    metric: str = "accuracy",
    dpi: int = 120,
) -> None:
    """Grouped bars: mean accuracy per system, one bar per condition, the tables' intervals as error bars.

    A bar whose table row has no interval (``evaluate.bootstrap: 0`` for a bootstrapped one) is hatched and has no
    error bar; the legend says so.

    Parameters
    ----------
    tables : mapping
        Condition -> :func:`mgrfaults.evaluation.tables.condition_table` (in the order the bars appear).
    path : str or Path
        PNG to write (atomically).
    systems : sequence of str, optional
        Bar groups in order; default the systems of the first table.
    metric : str
        ``accuracy`` or ``normalized_accuracy``.
    """
    from matplotlib.patches import Patch

    if not tables:
        raise InputError("accuracy figure: no condition table given")
    conditions = list(tables)
    if systems is None:
        systems = list(next(iter(tables.values()))["system"])
    width = 0.8 / len(conditions)
    x = np.arange(len(systems))
    fig, ax = plt.subplots(figsize=(1.2 * len(systems) + 2.5, 4.0))
    any_without_interval = False
    for k, condition in enumerate(conditions):
        table = tables[condition].set_index("system").reindex(systems)
        mean = table[f"{metric}_mean"].to_numpy(dtype=float) * 100
        lengths = error_bar_lengths(mean, table[f"{metric}_ci_low"].to_numpy(dtype=float) * 100,
                                    table[f"{metric}_ci_high"].to_numpy(dtype=float) * 100)
        pos = x - 0.4 + width * (k + 0.5)
        bars = ax.bar(pos, mean, width, label=condition.replace("_", " "))
        drawn = draw_error_bars(ax, pos, mean, lengths, ecolor="black", capsize=3)
        for bar, m, with_interval in zip(bars, mean, drawn):
            if np.isfinite(m) and not with_interval:
                bar.set_hatch("//")
                any_without_interval = True
        # values at the foot of the bars: the error bars run through their middle and top
        for p, m in zip(pos, mean):
            if np.isfinite(m):
                ax.text(p, 1.5, f"{m:.0f}", ha="center", va="bottom", fontsize=8, color="white", fontweight="bold")
    ax.set_xticks(x, systems, rotation=20, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel(("normalised accuracy" if metric == "normalized_accuracy" else "accuracy") + " (%)")
    handles, _ = ax.get_legend_handles_labels()
    if any_without_interval:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label=f"hatched: {NO_INTERVAL_NOTE}"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles), fontsize=8,
              frameon=False)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path, dpi)


def plot_training_curves(logs: Mapping[str, pd.DataFrame], path, dpi: int = 120, condition: str | None = None) -> None:
    """Training loss and frame errors per epoch, one line per run.

    Parameters
    ----------
    logs : mapping
        Run name -> training log (columns epoch, loss, train_frame_error, valid_frame_error).
    path : str or Path
        PNG to write (atomically).
    condition : str, optional
        The partition condition the nets were trained under, named in the figure's title (one figure
        per condition: without it two figures look alike).
    """
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(10, 3.8))
    if condition is not None:
        fig.suptitle(f"Training under the {condition} partition")
    for name, log in logs.items():
        missing = [c for c in ("epoch", "loss", "train_frame_error", "valid_frame_error") if c not in log.columns]
        if missing:
            raise InputError(f"training log of {name}: missing column(s) {missing}")
        (line,) = ax_loss.plot(log["epoch"], log["loss"], label=name)
        ax_err.plot(log["epoch"], log["train_frame_error"], color=line.get_color(), linestyle="--")
        ax_err.plot(log["epoch"], log["valid_frame_error"], color=line.get_color(), label=name)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_err.set_xlabel("epoch")
    ax_err.set_ylabel("frame error (dashed: train, solid: valid)")
    if logs:
        ax_loss.legend(fontsize=7)
    _save(fig, path, dpi)
