"""Metrics of one run against scikit-learn on crafted predictions."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mgrfaults import GENRES
from mgrfaults.errors import InputError
from mgrfaults.evaluation.metrics import (
    accuracy,
    confusion_matrix,
    evaluate,
    evaluate_file,
    f_score,
    figure_of_merit,
    normalized_accuracy,
    precision,
    read_metrics,
    read_predictions,
    recall,
)

LABELS = ["blues", "classical", "country", "disco"]


@pytest.fixture
def crafted():
    """Imbalanced predictions: every class has excerpts, 'disco' is never predicted correctly."""
    rng = np.random.default_rng(3)
    true = np.repeat(LABELS, [10, 6, 4, 3])
    predicted = true.copy()
    flip = rng.random(len(true)) < 0.4
    predicted[flip] = rng.choice(LABELS[:3], flip.sum())
    predicted[true == "disco"] = "blues"
    return list(true), list(predicted)


def test_confusion_columns_are_true_rows_are_predicted():
    true = ["blues", "blues", "blues", "classical"]
    predicted = ["classical", "classical", "blues", "classical"]
    conf = confusion_matrix(true, predicted, LABELS)
    # two blues excerpts predicted classical: row classical (1), column blues (0)
    assert conf[1, 0] == 2
    assert conf[0, 1] == 0
    assert conf.sum(axis=0).tolist() == [3, 1, 0, 0]  # column sums = true counts
    np.testing.assert_array_equal(conf, skm.confusion_matrix(true, predicted, labels=LABELS).T)


def test_metrics_match_sklearn(crafted):
    true, predicted = crafted
    conf = confusion_matrix(true, predicted, LABELS)
    assert accuracy(conf) == pytest.approx(skm.accuracy_score(true, predicted))
    assert normalized_accuracy(conf) == pytest.approx(skm.balanced_accuracy_score(true, predicted))
    kwargs = dict(labels=LABELS, average=None, zero_division=np.nan)
    np.testing.assert_allclose(recall(conf), skm.recall_score(true, predicted, **kwargs))
    np.testing.assert_allclose(precision(conf), skm.precision_score(true, predicted, **kwargs))
    np.testing.assert_allclose(f_score(conf), skm.f1_score(true, predicted, **kwargs))


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_undefined_is_nan_and_ignored_by_normalized_accuracy():
    # 'country' and 'disco' have no test excerpt; 'disco' is predicted once
    true = ["blues", "blues", "classical", "classical"]
    predicted = ["blues", "disco", "classical", "blues"]
    conf = confusion_matrix(true, predicted, LABELS)
    assert np.isnan(recall(conf)[2]) and np.isnan(recall(conf)[3])
    assert np.isnan(precision(conf)[2])  # never predicted
    assert precision(conf)[3] == 0.0
    assert f_score(conf)[3] == 0.0  # predicted but never right: 0, not undefined
    assert normalized_accuracy(conf) == pytest.approx(skm.balanced_accuracy_score(true, predicted))
    assert normalized_accuracy(conf) == pytest.approx(0.5)


def test_unknown_label_is_an_error():
    with pytest.raises(InputError, match="rock"):
        confusion_matrix(["blues"], ["rock"], LABELS)


def test_evaluate_json_safe(crafted):
    true, predicted = crafted
    result = evaluate(true, predicted, LABELS + ["rock"])  # rock: no excerpt -> None
    text = json.dumps(result)  # no NaN tokens
    assert "NaN" not in text
    assert result["recall"]["rock"] is None
    assert result["n_excerpts"] == len(true)
    assert result["confusion"][0][0] == sum(t == p == "blues" for t, p in zip(true, predicted))


def test_figure_of_merit_layout(crafted):
    true, predicted = crafted
    conf = confusion_matrix(true, predicted, LABELS)
    fom = figure_of_merit(conf, LABELS)
    assert list(fom.columns) == LABELS + ["Precision"]
    assert list(fom.index) == LABELS + ["F-score"]
    n = len(LABELS)
    np.testing.assert_allclose(np.diag(fom.to_numpy()[:n, :n]), 100 * recall(conf))
    np.testing.assert_allclose(fom.to_numpy()[:n, n], 100 * precision(conf))
    np.testing.assert_allclose(fom.to_numpy()[n, :n], 100 * f_score(conf))
    assert fom.iloc[n, n] == pytest.approx(100 * skm.balanced_accuracy_score(true, predicted))
    # each true-genre column of the genre block is a distribution over predictions
    np.testing.assert_allclose(fom.to_numpy()[:n, :n].sum(axis=0), 100.0)
    # an off-diagonal cell: share of true blues predicted as classical
    share = sum(t == "blues" and p == "classical" for t, p in zip(true, predicted)) / true.count("blues")
    assert fom.loc["classical", "blues"] == pytest.approx(100 * share)


def _write_predictions(path, true, predicted, labels):
    df = pd.DataFrame({"track_id": [f"{t}.{i:05d}" for i, t in enumerate(true)], "true": true, "predicted": predicted})
    for label in labels:
        df[f"score_{label}"] = 0.1
    df.to_csv(path, index=False)


def test_evaluate_file_roundtrip(tmp_path, crafted):
    true, predicted = crafted
    pred_path = tmp_path / "fold_0.csv"
    _write_predictions(pred_path, true, predicted, GENRES)
    out = tmp_path / "metrics" / "fold_0.json"
    evaluate_file(pred_path, GENRES, out)
    back = read_metrics(out)
    assert back["accuracy"] == pytest.approx(skm.accuracy_score(true, predicted))
    assert back["labels"] == list(GENRES)
    assert back["recall"]["rock"] is None  # no rock excerpt: undefined, not 0
    assert math.isnan(back["normalized_accuracy"]) is False
    assert not list(tmp_path.joinpath("metrics").glob(".*"))  # no temp file left


def test_read_predictions_errors(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"track_id": ["a"], "true": ["blues"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="predicted"):
        read_predictions(path)
    _write_predictions(path, ["blues", "polka"], ["blues", "blues"], GENRES)
    with pytest.raises(InputError, match="polka"):
        read_predictions(path, GENRES)
    with pytest.raises(InputError, match="not found"):
        read_predictions(tmp_path / "missing.csv")
