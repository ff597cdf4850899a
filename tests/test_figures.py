"""Figures name what they show."""

import pandas as pd

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
