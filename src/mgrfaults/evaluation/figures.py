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


def plot_accuracy_by_condition(
    tables: Mapping[str, pd.DataFrame],
    path,
    systems: Sequence[str] | None = None,
    metric: str = "accuracy",
    dpi: int = 120,
) -> None:
    """Grouped bars: mean accuracy per system, one bar per condition, 95% intervals as error bars.

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
    if not tables:
        raise InputError("accuracy figure: no condition table given")
    conditions = list(tables)
    if systems is None:
        systems = list(next(iter(tables.values()))["system"])
    width = 0.8 / len(conditions)
    x = np.arange(len(systems))
    fig, ax = plt.subplots(figsize=(1.2 * len(systems) + 2.5, 4.0))
    for k, condition in enumerate(conditions):
        table = tables[condition].set_index("system").reindex(systems)
        mean = table[f"{metric}_mean"].to_numpy(dtype=float) * 100
        low = table[f"{metric}_ci_low"].to_numpy(dtype=float) * 100
        high = table[f"{metric}_ci_high"].to_numpy(dtype=float) * 100
        err = np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)])
        err = np.nan_to_num(err)
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(pos, mean, width, yerr=err, capsize=3, label=condition.replace("_", " "))
        # values at the foot of the bars: the error bars run through their middle and top
        for p, m in zip(pos, mean):
            if np.isfinite(m):
                ax.text(p, 1.5, f"{m:.0f}", ha="center", va="bottom", fontsize=8, color="white", fontweight="bold")
    ax.set_xticks(x, systems, rotation=20, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel(("normalised accuracy" if metric == "normalized_accuracy" else "accuracy") + " (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(conditions), fontsize=8, frameon=False)
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
