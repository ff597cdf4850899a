"""Figures name what they show."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from mgrfaults.evaluation import figures


def test_training_curves_name_their_condition(tmp_path, monkeypatch):
    titles = []
    original = figures._save
    monkeypatch.setattr(figures, "_save", lambda fig, path, dpi: (titles.append(fig._suptitle.get_text()),
                                                                   original(fig, path, dpi)))
    log = pd.DataFrame({"epoch": [0, 1], "loss": [2.0, 1.5], "train_frame_error": [0.8, 0.6],
                        "valid_frame_error": [0.85, 0.7]})
    figures.plot_training_curves({"500_RSD fold 0": log}, tmp_path / "fault_filtered.png", condition="fault_filtered")
    assert titles == ["Training under the fault_filtered partition"]
    assert (tmp_path / "fault_filtered.png").stat().st_size > 0


def _error_bar_segments(ax) -> list:
    """Every error bar drawn on ``ax``: one (2, 2) array of its two ends per bar."""
    return [segment for container in ax.containers if isinstance(container, ErrorbarContainer)
            for collection in container.lines[2] for segment in collection.get_segments()]


def test_error_bar_lengths_are_missing_without_an_interval():
    lengths = figures.error_bar_lengths([90.0, 60.0, 50.0], [80.0, np.nan, 50.0], [97.0, np.nan, 50.0])
    np.testing.assert_allclose(lengths, [[10.0, np.nan, 0.0], [7.0, np.nan, 0.0]])
    # a degenerate interval [50, 50] is one; a missing one is not
    assert figures.has_interval(lengths).tolist() == [True, False, True]


def test_accuracy_figure_draws_no_error_bar_without_an_interval(tmp_path, monkeypatch):
    # evaluate.bootstrap: 0 leaves a bootstrapped row without an interval; its bar had a zero-length error bar
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, dpi: drawn.append(fig.axes[0]))
    standard = pd.DataFrame({"system": ["A", "B"], "accuracy_mean": [0.9, 0.6], "accuracy_ci_low": [0.8, np.nan],
                             "accuracy_ci_high": [0.97, np.nan]})
    filtered = pd.DataFrame({"system": ["A", "B"], "accuracy_mean": [0.6, 0.5], "accuracy_ci_low": [0.45, 0.35],
                             "accuracy_ci_high": [0.75, 0.62]})
    figures.plot_accuracy_by_condition({"standard": standard, "fault_filtered": filtered}, tmp_path / "a.png")
    (ax,) = drawn
    segments = _error_bar_segments(ax)
    assert len(segments) == 3 and all(abs(s[1, 1] - s[0, 1]) > 1 for s in segments)
    # the bar without one is hatched, and the legend says what that means
    hatched = [bar for bar in ax.patches if bar.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_height() == pytest.approx(60.0)
    assert "hatched: no interval (no error bar)" in [t.get_text() for t in ax.get_legend().get_texts()]
    # every interval present: no hatch, no note
    drawn.clear()
    figures.plot_accuracy_by_condition({"fault_filtered": filtered}, tmp_path / "b.png")
    assert len(_error_bar_segments(drawn[0])) == 2 and not any(bar.get_hatch() for bar in drawn[0].patches)
    assert not any("no interval" in t.get_text() for t in drawn[0].get_legend().get_texts())
