"""The bag-of-frames baseline (BFF): MFCC texture-window statistics, an RBF SVM or a random forest.

Each texture window of an excerpt (a row of the texture feature cache) is one example; features
are standardised with the training part's mean/std.

One decision rule, used both to choose the SVM's C and gamma and to label test excerpts: each
window's class is the classifier's ``predict`` (:func:`mgrfaults.systems.learned.row_decisions`:
for the RBF SVC, libsvm's one-vs-one vote), the excerpt takes the majority vote of its windows, ties
to the first class in label order (:func:`mgrfaults.systems.learned.majority_vote`), the rule of the
study's window-vote SVM (coreyker/dnn-mgr ``svm_train_test.py`` @f245676: ``svm.predict`` per window,
then ``np.argmax(np.bincount(...))``). That script is no MFCC baseline (a linear SVM on windows of a
net's hidden-layer outputs, ``aggregate_bof.py``, C chosen by window error, fit again on train and
valid), and coreyker/dnn-mgr holds no MFCC code: the rest of BFF (20 MFCCs of 128 mel bands, 5-s
windows, their means and variances, standardised, an RBF SVM or a forest) is this project's. C and
gamma are chosen by validation *excerpt* accuracy of exactly these votes; equal excerpt accuracies go
to the higher validation window accuracy of the same ``predict``, then to the first grid point; the
SVM is fit on the training part alone.
"""

from __future__ import annotations

import logging
import pickle
import time

import numpy as np

from mgrfaults.systems.learned import make_classifier, predictions_frame, row_decisions, votes_by_owner
from mgrfaults.errors import InputError
from mgrfaults.io import atomic_path, write_csv_atomic
from mgrfaults.seeds import derive
from mgrfaults.systems.parts import open_store, run_parts
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_BFF = section_defaults("systems.bff")

log = logging.getLogger(__name__)


def stack_windows(store, track_ids, labels=None):
    """All texture windows of ``track_ids``.

    Returns
    -------
    x : ndarray, shape (n_windows, dim)
    owner : ndarray of int, shape (n_windows,)
        Index into ``track_ids`` of each window's excerpt.
    y : ndarray of int, shape (n_windows,), or None
        The excerpt's label for each window (when ``labels`` maps track_id -> class index).
    """
    xs, owner = [], []
    for i, tid in enumerate(track_ids):
        x = np.asarray(store.read(tid), dtype=np.float64)
        if not len(x):
            raise InputError(f"texture features: track {tid!r} has no texture window")
        xs.append(x)
        owner.append(np.full(len(x), i))
    owner = np.concatenate(owner)
    y = None if labels is None else np.array([labels[track_ids[i]] for i in owner])
    return np.concatenate(xs), owner, y


def excerpt_votes(clf, x, owner, n_tracks, n_classes, window_labels=None):
    """Majority vote per excerpt of a fitted classifier's window decisions (the module's one rule).

    Parameters
    ----------
    window_labels : ndarray of int, optional
        :func:`~mgrfaults.systems.learned.row_decisions` of ``x`` when already computed.

    Returns
    -------
    predicted : ndarray of int, shape (n_tracks,)
    scores : ndarray, shape (n_tracks, n_classes)
        Vote shares.
    """
    return votes_by_owner(clf, x, owner, n_tracks, n_classes, row_labels=window_labels)


def fit_bff(kind, x_train, y_train, x_valid, y_valid, owner_valid, y_valid_tracks, n_classes, seed,
            n_trees=_BFF["rf_trees"], C_grid=tuple(_BFF["svm_C"]), gamma_grid=tuple(_BFF["svm_gamma"]), threads=1):
    """Fit the BFF classifier on standardised windows; the SVM's C and gamma chosen on validation.

    Parameters
    ----------
    x_train, x_valid : ndarray, shape (n_windows, dim)
        Standardised (the pipeline's scaler is fitted on ``x_train``).
    y_train, y_valid : ndarray of int
        Window labels.
    owner_valid : ndarray of int
        Excerpt index of each validation window.
    y_valid_tracks : ndarray of int
        Label of each validation excerpt.

    Returns
    -------
    classifier, selection : fitted estimator, dict
    """
    n_valid = len(y_valid_tracks)
    if kind == "rf":
        grid = [dict(n_trees=n_trees)]
    elif kind == "svm":
        grid = [dict(C=C, gamma=g) for C in C_grid for g in gamma_grid]
    else:
        raise ValueError(f"BFF classifier: svm or rf, got {kind!r}")
    best = None
    for hp in grid:
        clf = make_classifier(kind, seed, threads=threads, **hp).fit(x_train, y_train)
        windows = row_decisions(clf, x_valid)  # the one decision rule: selection and votes share it
        predicted, _ = excerpt_votes(clf, x_valid, owner_valid, n_valid, n_classes, window_labels=windows)
        key = (float(np.mean(predicted == y_valid_tracks)), float(np.mean(windows == y_valid)))
        if best is None or key > best[0]:
            best = (key, hp, clf)
    (excerpt_acc, window_acc), hp, clf = best
    return clf, {**hp, "valid_excerpt_accuracy": excerpt_acc, "valid_window_accuracy": window_acc}


def bff_files(spec, texture_paths, partition_csv, metadata_csv, params: dict, seed: int, model_out, predictions_out,
              threads=1, expected_params=None):
    """Train a BFF system on one condition/fold and write its model and test predictions.

    Parameters
    ----------
    spec : SystemSpec
        ``BFF_SVM`` or ``BFF_RF``.
    texture_paths : list of path
        The texture feature shards.
    params : dict
        ``systems.bff``, every key (the schema's defaults filled): ``svm_C``, ``svm_gamma`` (grids; gamma
        values or "scale"), ``rf_trees``.
    seed : int
        The run's seed (the forest's).
    """

    t0 = time.perf_counter()
    store = open_store(texture_paths, expected_params)
    parts, labels, label_order = run_parts(partition_csv, metadata_csv)
    n_classes = len(label_order)
    x_tr, _, y_tr = stack_windows(store, parts["train"], labels)
    x_va, owner_va, y_va = stack_windows(store, parts["valid"], labels)
    y_va_tracks = np.array([labels[t] for t in parts["valid"]])
    clf, selection = fit_bff(
        spec.classifier, x_tr, y_tr, x_va, y_va, owner_va, y_va_tracks, n_classes, seed=derive(seed, "bff"),
        n_trees=params["rf_trees"], C_grid=params["svm_C"], gamma_grid=params["svm_gamma"], threads=threads,
    )
    x_te, owner_te, _ = stack_windows(store, parts["test"])
    predicted, scores = excerpt_votes(clf, x_te, owner_te, len(parts["test"]), n_classes)
    true = [labels[t] for t in parts["test"]]
    df = predictions_frame(parts["test"], true, predicted, scores, label_order)
    with atomic_path(model_out) as tmp, open(tmp, "wb") as fh:
        pickle.dump(
            {
                "format": "mgrfaults.systems.bff/1", "system": spec.name, "classifier": clf, "selection": selection,
                "params": dict(params), "seed": int(seed), "labels": label_order,
                "feature_params": dict(getattr(store, "params", {}) or {}), "train_windows": int(len(y_tr)),
            },
            fh,
        )
    write_csv_atomic(df, predictions_out)
    log.info("%s: %s, %d training windows, %.1f s", spec.name, selection, len(y_tr), time.perf_counter() - t0)
    return df


__all__ = ["bff_files", "excerpt_votes", "fit_bff", "stack_windows"]
