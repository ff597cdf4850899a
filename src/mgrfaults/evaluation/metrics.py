"""Excerpt-level metrics of one run, laid out as in the study.

Orientation: a confusion matrix here has **columns = true genre, rows = predicted genre**
(Sturm's figure-of-merit layout, the transpose of scikit-learn's). Undefined quantities (the
recall of a genre with no test excerpt, the precision of a genre never predicted) are NaN,
never silently 0, and the normalised accuracy is the mean recall over the genres that have
test excerpts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix

from mgrfaults.errors import InputError
from mgrfaults.io import write_text_atomic

PREDICTION_COLUMNS = ("track_id", "true", "predicted")
"""Columns every predictions CSV has, followed by ``score_<genre>`` for each genre in label order."""


def confusion_matrix(true: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Count excerpts per (predicted, true) genre pair.

    Parameters
    ----------
    true, predicted : sequence of str, length n_excerpts
        Ground-truth and predicted genre of each excerpt.
    labels : sequence of str, length n_labels
        Label order of rows and columns.

    Returns
    -------
    np.ndarray, int64, shape (n_labels, n_labels)
        ``C[i, j]`` = number of excerpts of true genre ``labels[j]`` predicted as ``labels[i]``
        (columns = true, rows = predicted, as in the study).
    """
    labels = list(labels)
    unknown = sorted((set(true) | set(predicted)) - set(labels))
    if unknown:
        raise InputError(f"labels {unknown} are not in the label set {labels}")
    if len(true) == 0:
        return np.zeros((len(labels), len(labels)), dtype=np.int64)
    return _sk_confusion_matrix(list(true), list(predicted), labels=labels).T.astype(np.int64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ``numerator / denominator``, NaN where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def accuracy(confusion: np.ndarray) -> float:
    """Fraction of excerpts classified correctly (trace / total); NaN for no excerpt."""
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else math.nan


def recall(confusion: np.ndarray) -> np.ndarray:
    """Per-class recall, shape (n_labels,): diagonal / column sums (true counts); NaN for absent classes."""
    return _ratio(np.diag(confusion), confusion.sum(axis=0))


def precision(confusion: np.ndarray) -> np.ndarray:
    """Per-class precision, shape (n_labels,): diagonal / row sums (predicted counts); NaN if never predicted."""
    return _ratio(np.diag(confusion), confusion.sum(axis=1))


def f_score(confusion: np.ndarray) -> np.ndarray:
    """Per-class F1 score, shape (n_labels,): harmonic mean of precision and recall.

    ``2 TP / (2 TP + FP + FN)``: 0 when a class has excerpts or predictions but no hit,
    NaN only when it has neither.
    """
    true_positive = np.diag(confusion)
    return _ratio(2 * true_positive, confusion.sum(axis=0) + confusion.sum(axis=1))


def normalized_accuracy(confusion: np.ndarray) -> float:
    """Mean per-class recall over the classes that have at least one true excerpt (NaN if none)."""
    per_class = recall(confusion)
    present = ~np.isnan(per_class)
    return float(per_class[present].mean()) if present.any() else math.nan


def evaluate(true: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """All metrics of one run.

    Returns
    -------
    dict
        ``labels`` (list), ``n_excerpts``, ``accuracy``, ``normalized_accuracy``, ``recall``,
        ``precision``, ``f_score`` (dicts genre -> value, NaN as None), and ``confusion``
        (list of rows; rows = predicted, columns = true, in label order).
    """
    labels = list(labels)
    confusion = confusion_matrix(true, predicted, labels)

    def per_label(values):
        return {label: _json_number(v) for label, v in zip(labels, values)}

    return {
        "labels": labels,
        "n_excerpts": int(confusion.sum()),
        "accuracy": _json_number(accuracy(confusion)),
        "normalized_accuracy": _json_number(normalized_accuracy(confusion)),
        "recall": per_label(recall(confusion)),
        "precision": per_label(precision(confusion)),
        "f_score": per_label(f_score(confusion)),
        "confusion": confusion.tolist(),
        "confusion_orientation": "rows = predicted, columns = true",
    }


def _json_number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def figure_of_merit(confusion: np.ndarray, labels: Sequence[str], scale: float = 100.0) -> pd.DataFrame:
    """The study's figure-of-merit table of one system and condition.

    Parameters
    ----------
    confusion : np.ndarray, shape (n_labels, n_labels)
        Counts, rows = predicted, columns = true (e.g. summed over folds).
    labels : sequence of str, length n_labels
    scale : float
        100 for percent (the study's unit), 1 for fractions.

    Returns
    -------
    DataFrame, shape (n_labels + 1, n_labels + 1)
        Index = predicted genres + ``"F-score"``; columns = true genres + ``"Precision"``.
        Column ``j`` of the genre block is the distribution of true genre ``j`` over the
        predictions (recalls on the diagonal, confusions off it); the right-most column holds
        per-class precision, the bottom row per-class F-score, and the lower-right corner the
        normalised accuracy. NaN where undefined.
    """
    labels = list(labels)
    n = len(labels)
    if confusion.shape != (n, n):
        raise InputError(f"confusion matrix of shape {confusion.shape} does not match {n} labels")
    table = np.full((n + 1, n + 1), np.nan)
    table[:n, :n] = _ratio(confusion, np.broadcast_to(confusion.sum(axis=0), confusion.shape))
    table[:n, n] = precision(confusion)
    table[n, :n] = f_score(confusion)
    table[n, n] = normalized_accuracy(confusion)
    return pd.DataFrame(
        table * scale,
        index=pd.Index(labels + ["F-score"], name="predicted"),
        columns=pd.Index(labels + ["Precision"], name="true"),
    )


def read_predictions(path, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a predictions CSV (track_id, true, predicted, score_<genre>...) and check it.

    Raises
    ------
    InputError
        Missing file or column, duplicate track id, or a genre outside ``labels``; the message
        names the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: predictions file not found")
    df = pd.read_csv(path, dtype={"track_id": str, "true": str, "predicted": str}, keep_default_na=False)
    missing = [c for c in PREDICTION_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; predictions need {list(PREDICTION_COLUMNS)} + score_<genre>")
    duplicated = df["track_id"][df["track_id"].duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: duplicate track id(s) {sorted(set(duplicated))[:10]}")
    if labels is not None:
        for column in ("true", "predicted"):
            bad = df[~df[column].isin(list(labels))]
            if len(bad):
                row = bad.iloc[0]
                raise InputError(
                    f"{path}: track {row.track_id}: {column} genre {row[column]!r} is not in the label set {list(labels)}"
                )
    return df


def evaluate_file(predictions_path, labels: Sequence[str], metrics_path) -> tuple[dict, pd.DataFrame]:
    """Compute :func:`evaluate` for a predictions CSV and write it as JSON (atomically).

    Returns the metrics and the predictions as read (:func:`read_predictions`), so that a caller that
    needs the rows too (the attribution table) reads the file once.
    """
    df = read_predictions(predictions_path, labels)
    result = evaluate(df["true"].tolist(), df["predicted"].tolist(), labels)
    write_text_atomic(metrics_path, json.dumps(result, indent=1) + "\n")
    return result, df


def read_metrics(path) -> dict:
    """Read a metrics JSON written by :func:`evaluate_file` (``None`` back to NaN in the scalars)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: metrics file not found")
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from err
    for key in ("accuracy", "normalized_accuracy", "confusion", "labels"):
        if key not in result:
            raise InputError(f"{path}: missing key {key!r}")
    for key in ("accuracy", "normalized_accuracy"):
        if result[key] is None:
            result[key] = math.nan
    return result
