"""Excerpt decisions from frame outputs, and second classifiers on a net's learned features.

Two ways (the study reports both):

(a) from the net's softmax outputs: the majority vote of the frames' argmaxes (:func:`frame_vote`;
    the 2014 code, coreyker/dnn-mgr ``test_mlp_script.py`` ``file_misclass_error``), or the sum over
    the excerpt's frames, argmax (:func:`sum_of_softmax`; the later code, system suffix ``_sum``);
(b) a random forest (500 trees) or an RBF SVM trained on learned features -- the outputs of hidden
    layer 1, 2, 3 or all -- either frame-level (FF: 100 random frames per excerpt, for training and
    test excerpts alike, ``train_classifier_on_dnn_feats.py`` @05f95ff ``get_features``) or
    aggregated (AF: mean and std over windows of 200 frames = 4.64 s, hop 100), then a majority vote
    over the excerpt (:func:`learned_features_files`).

One vote rule everywhere (DNN frames, FF frames, AF windows, BFF texture windows): each row's
decision is the classifier's own (``argmax`` of the softmax; ``predict`` of a second classifier),
the excerpt takes the most frequent decision, and a tie goes to the class that comes first in the
label order -- ``np.argmax(np.bincount(...))``, as the study's code did (:func:`majority_vote`).
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mgrfaults.errors import InputError
from mgrfaults.io import atomic_path, write_csv_atomic
from mgrfaults.seeds import derive
from mgrfaults.systems.parts import open_store, run_parts
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_SYSTEMS = section_defaults("systems")
_LEARNED = section_defaults("systems.learned")

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# excerpt decisions
# --------------------------------------------------------------------------------------------------


def sum_of_softmax(frame_probs: np.ndarray) -> tuple[int, np.ndarray]:
    """Excerpt decision: the class with the largest sum of softmax outputs over the frames.

    Parameters
    ----------
    frame_probs : ndarray, shape (n_frames, n_classes)

    Returns
    -------
    label : int
    scores : ndarray, shape (n_classes,)
        The mean softmax output (sums to 1); ``label`` is its argmax (first on ties).
    """
    frame_probs = np.asarray(frame_probs, dtype=np.float64)
    if frame_probs.ndim != 2 or not len(frame_probs):
        raise ValueError(f"sum_of_softmax: need (n_frames > 0, n_classes) outputs, got shape {frame_probs.shape}")
    scores = frame_probs.mean(axis=0)
    return int(np.argmax(scores)), scores


def majority_vote(frame_labels, n_classes: int) -> tuple[int, np.ndarray]:
    """Excerpt decision: the most frequent frame (or window) label.

    Ties go to the class first in the label order (the lowest index), as ``np.argmax`` of the
    vote counts does in the study's code; no other score is consulted.

    Parameters
    ----------
    frame_labels : array of int, shape (n_frames,)
        Class index of each frame's decision, in ``range(n_classes)``.
    n_classes : int

    Returns
    -------
    label : int
    scores : ndarray, shape (n_classes,)
        The share of votes of each class (sums to 1).
    """
    frame_labels = np.asarray(frame_labels, dtype=np.int64)
    if not len(frame_labels):
        raise ValueError("majority_vote: no frames to vote")
    if frame_labels.min() < 0 or frame_labels.max() >= n_classes:
        raise ValueError(f"majority_vote: labels must be in range({n_classes}), got {frame_labels.min()}..{frame_labels.max()}")
    votes = np.bincount(frame_labels, minlength=n_classes).astype(np.float64)
    return int(np.argmax(votes)), votes / votes.sum()


def frame_vote(frame_probs: np.ndarray) -> tuple[int, np.ndarray]:
    """Majority vote of the frames' argmaxes (:func:`majority_vote`: ties to the first class).

    Parameters
    ----------
    frame_probs : ndarray, shape (n_frames, n_classes)
        Softmax outputs; a frame whose maximum is shared votes for the first of those classes.
    """
    frame_probs = np.asarray(frame_probs)
    if frame_probs.ndim != 2 or not len(frame_probs):
        raise ValueError(f"frame_vote: need (n_frames > 0, n_classes) outputs, got shape {frame_probs.shape}")
    return majority_vote(frame_probs.argmax(axis=1), frame_probs.shape[1])


def predictions_frame(track_ids, true, predicted, scores, label_order) -> pd.DataFrame:
    """The predictions table: track_id, true, predicted, score_<genre> (label order)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(track_ids), len(label_order))
    df = pd.DataFrame(
        {
            "track_id": list(track_ids),
            "true": [label_order[i] for i in true],
            "predicted": [label_order[i] for i in predicted],
        }
    )
    for j, genre in enumerate(label_order):
        df[f"score_{genre}"] = scores[:, j]
    return df


# --------------------------------------------------------------------------------------------------
# learned features
# --------------------------------------------------------------------------------------------------


def random_frames(features: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """FF: ``n`` frames drawn without replacement (all, in order, when there are fewer)."""
    if n is None or len(features) <= n:
        return features
    return features[np.sort(rng.choice(len(features), n, replace=False))]


def aggregate_windows(features: np.ndarray, window: int = _LEARNED["af_window"], hop: int = _LEARNED["af_hop"]) -> np.ndarray:
    """AF: mean and std of the frame features over windows.

    Parameters
    ----------
    features : ndarray, shape (n_frames, dim)
    window, hop : int
        In frames (200 frames = 4.64 s at hop 512 and 22050 Hz). An excerpt shorter than one window
        gives one window over all its frames.

    Returns
    -------
    ndarray, shape (n_windows, 2 * dim)
        ``[mean, std]`` per window.
    """
    n = len(features)
    if n == 0:
        raise ValueError("aggregate_windows: no frames")
    starts = range(0, n - window + 1, hop) if n >= window else [0]
    out = [np.concatenate([features[s : s + window].mean(0), features[s : s + window].std(0)]) for s in starts]
    return np.asarray(out, dtype=np.float32)


def make_classifier(kind: str, seed: int, n_trees: int = _LEARNED["rf_trees"], C: float = 1.0, gamma="scale", threads: int = 1):
    """The second classifier: ``rf`` (random forest) or ``svm`` (standardised inputs, RBF SVM)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if kind == "rf":
        return RandomForestClassifier(n_estimators=int(n_trees), random_state=int(seed) % 2**31, n_jobs=int(threads))
    if kind == "svm":
        return make_pipeline(StandardScaler(), SVC(kernel="rbf", C=float(C), gamma=gamma))
    raise ValueError(f"classifier: rf or svm, got {kind!r}")


def fit_selecting(kind, x_train, y_train, x_valid, y_valid, seed, n_trees=_LEARNED["rf_trees"], C_grid=(1.0,), gamma_grid=("scale",),
                  threads=1, fit_on=_LEARNED["fit_on"]):
    """Fit the second classifier; for the SVM choose C (and gamma) by accuracy on the validation data.

    Validation accuracy is that of :func:`row_decisions` (the rows the excerpt votes are made of).

    Parameters
    ----------
    kind : {"rf", "svm"}
    x_train, x_valid : ndarray, shape (n_rows, n_features)
    y_train, y_valid : ndarray, shape (n_rows,)
    seed : int
    n_trees : int
    C_grid, gamma_grid : sequence
        The SVM's grid.
    threads : int
    fit_on : {"train_valid", "train"}
        The rows the returned classifier is fit on. ``"train_valid"``: both parts, as the study's
        ``train_classifier_on_dnn_feats.py`` @05f95ff does (``X_all = np.vstack((np.vstack(X_train),
        np.vstack(X_valid)))``); an SVM is fit on both again with the C and gamma chosen on the validation part.

    Returns
    -------
    classifier : fitted estimator
    selection : dict
        The chosen hyper-parameters, the rows the classifier was fit on (``fit_on``) and, where the validation part
        was not among them, its accuracy then (an SVM's: that of the choice, fit on the training part).
    """
    both = fit_on == "train_valid"
    if fit_on not in ("train_valid", "train"):
        raise ValueError(f"fit_on: train_valid or train, got {fit_on!r}")
    x_all, y_all = (np.concatenate([x_train, x_valid]), np.concatenate([y_train, y_valid])) if both else (x_train, y_train)
    if kind == "rf":
        clf = make_classifier("rf", seed, n_trees=n_trees, threads=threads).fit(x_all, y_all)
        selection = {"n_trees": int(n_trees), "fit_on": fit_on}
        if not both:
            selection["valid_accuracy"] = float(np.mean(row_decisions(clf, x_valid) == y_valid))
        return clf, selection
    best = None
    for C in C_grid:
        for gamma in gamma_grid:
            clf = make_classifier("svm", seed, C=C, gamma=gamma).fit(x_train, y_train)
            acc = float(np.mean(row_decisions(clf, x_valid) == y_valid))
            if best is None or acc > best[0]:
                best = (acc, C, gamma, clf)
    acc, C, gamma, clf = best
    if both:
        clf = make_classifier("svm", seed, C=C, gamma=gamma).fit(x_all, y_all)
    return clf, {"C": float(C), "gamma": gamma, "valid_accuracy": acc, "fit_on": fit_on}


def parts_fit_on(spec, fit_on: str = _LEARNED["fit_on"]) -> tuple[str, ...]:
    """The partition's parts a built-in system is fit on: a classifier on learned features (``spec.decision ==
    "learned"``) on ``train`` and ``valid`` under ``fit_on: train_valid`` (:func:`fit_selecting`), every other one
    on ``train`` (the validation part only selects: a net's stopping epoch, an SVM's C and gamma). The attribution
    counts these parts seen (:func:`mgrfaults.evaluation.attribution.attribution_table`)."""
    return ("train", "valid") if spec.decision == "learned" and fit_on == "train_valid" else ("train",)


def row_decisions(clf, x: np.ndarray) -> np.ndarray:
    """Each row's class: the classifier's own ``predict`` (for an SVC, libsvm's one-vs-one vote;
    for a forest, the argmax of the mean tree probabilities), as the study's code used it.

    Every selection on validation data and every excerpt vote goes through this one function.

    Returns
    -------
    ndarray of int, shape (n_rows,)
    """
    return np.asarray(clf.predict(x), dtype=np.int64)


def votes_by_owner(clf, x: np.ndarray, owner: np.ndarray, n_tracks: int, n_classes: int, row_labels=None):
    """Majority vote per excerpt of a fitted classifier's row (frame or window) decisions.

    The classifier decides all rows in one call (a forest's per-call overhead is large).

    Parameters
    ----------
    clf : fitted classifier
    x : ndarray, shape (n_rows, dim)
    owner : ndarray of int, shape (n_rows,)
        Excerpt index of each row, in ``range(n_tracks)``.
    row_labels : ndarray of int, shape (n_rows,), optional
        :func:`row_decisions` of ``x`` when already computed.

    Returns
    -------
    predicted : ndarray of int, shape (n_tracks,)
    scores : ndarray, shape (n_tracks, n_classes)
        Vote shares (:func:`majority_vote`: ties to the first class in label order).
    """
    row_labels = row_decisions(clf, x) if row_labels is None else np.asarray(row_labels, dtype=np.int64)
    owner = np.asarray(owner, dtype=np.int64)
    predicted, scores = np.zeros(n_tracks, dtype=np.int64), np.zeros((n_tracks, n_classes))
    for i in range(n_tracks):
        rows = owner == i
        if not rows.any():
            raise InputError(f"excerpt {i}: no rows to vote")
        predicted[i], scores[i] = majority_vote(row_labels[rows], n_classes)
    return predicted, scores


# --------------------------------------------------------------------------------------------------
# runs from files (called by workflow/scripts/train_dnn.py and train_learned.py)
# --------------------------------------------------------------------------------------------------


def predict_net_files(model_path, frame_paths, partition_csv, metadata_csv, outputs, device=_SYSTEMS["device"],
                      expected_params=None, label=""):
    """Excerpt predictions of a trained net on the test part of its run, one CSV per decision.

    Parameters
    ----------
    model_path : path
        The trained net (.pt).
    frame_paths, partition_csv, metadata_csv
        The run's frame shards, partition and metadata.
    outputs : mapping
        Decision -> CSV to write: ``"vote"`` (the 2014 code's majority vote of frame argmaxes) and/or
        ``"sum"`` (the later code's summed softmax). The net's frame outputs are computed once.
    label : str
        Added to each decision system's logged test accuracy (``<net>`` and ``<net>_sum``), e.g. the
        condition and fold of a net trained in a stack.

    Returns
    -------
    dict
        Decision -> its predictions DataFrame.
    """
    from mgrfaults.systems.dnn import load_model, resolve_device, track_outputs

    device = resolve_device(device)
    parts, labels, label_order = run_parts(partition_csv, metadata_csv)
    store = open_store(frame_paths, expected_params)
    model, meta = load_model(model_path, device)
    _check_labels(model_path, meta["labels"], label_order)
    test = list(parts["test"])
    probs = [track_outputs(model, store, tid, meta["mean"], meta["std"], device)[0] for tid in test]
    written = {}
    for decision, path in outputs.items():
        decide = {"vote": frame_vote, "sum": sum_of_softmax}[decision]
        decided = [decide(p) for p in probs]
        df = predictions_frame(test, [labels[t] for t in test], [label for label, _ in decided],
                               [score for _, score in decided], label_order)
        write_csv_atomic(df, path)
        written[decision] = df
        system = meta["info"].get("net", Path(model_path).stem) + {"vote": "", "sum": "_sum"}[decision]
        log.info("%s%s: %d test excerpts, accuracy %.3f", system, f" {label}" if label else "", len(df),
                 (df.true == df.predicted).mean())
    return written


def _check_labels(path, model_labels, label_order):
    if list(model_labels) != list(label_order):
        # a model from before the label set became the dataset's own genres (GTZAN's ten for any subset of them)
        raise InputError(f"{path}: the model's labels {model_labels} differ from the metadata's {label_order}: it was "
                         "trained on another label set; delete it, and snakemake trains it again")


def learned_features(model, meta, store, track_ids, spec, params, rng, device, frames_cap):
    """Feature rows and their track index for ``track_ids`` (FF: sampled frames; AF: windows)."""
    from mgrfaults.systems.dnn import track_outputs

    rows, owner = [], []
    for i, tid in enumerate(track_ids):
        _, hidden = track_outputs(model, store, tid, meta["mean"], meta["std"], device,
                                  hidden_indices=spec.hidden_indices)
        if spec.features == "FF":
            feats = random_frames(hidden, frames_cap, rng)
        else:
            feats = aggregate_windows(hidden, params["af_window"], params["af_hop"])
        rows.append(feats)
        owner.append(np.full(len(feats), i))
    return np.concatenate(rows), np.concatenate(owner)


def learned_features_files(
    spec, net_model_path, frame_paths, partition_csv, metadata_csv, params: dict, seed: int,
    model_out, predictions_out, threads=1, device=_SYSTEMS["device"], expected_params=None,
):
    """Train a second classifier on a net's learned features and predict the test excerpts.

    Parameters
    ----------
    spec : SystemSpec
        A system with ``decision == "learned"`` (e.g. ``500_RSD_AF_LAll``).
    params : dict
        ``systems.learned``, every key (the schema's defaults filled): ``ff_frames``, ``ff_test_frames``
        (None: all), ``af_window``, ``af_hop``, ``rf_trees``, ``fit_on``, ``svm_C`` (grid), ``svm_gamma`` (grid).
    seed : int
        The run's seed (frame sampling, forest).
    """
    from mgrfaults.systems.dnn import load_model, resolve_device

    t0 = time.perf_counter()
    device = resolve_device(device)
    model, meta = load_model(net_model_path, device)
    parts, labels, label_order = run_parts(partition_csv, metadata_csv)
    _check_labels(net_model_path, meta["labels"], label_order)
    n_hidden = len(meta["architecture"]["hidden"])
    if spec.hidden_layers != n_hidden or any(i >= n_hidden for i in spec.hidden_indices):
        raise InputError(
            f"{net_model_path}: system {spec.name} resolved for {spec.hidden_layers} hidden layers "
            f"(layers {list(spec.layers)}), but the net has {n_hidden}"
        )
    store = open_store(frame_paths, expected_params)
    rng = np.random.default_rng(derive(seed, "frames"))
    xs, ys = {}, {}
    for part in ("train", "valid"):
        x, owner = learned_features(model, meta, store, parts[part], spec, params, rng, device, params["ff_frames"])
        xs[part], ys[part] = x, np.array([labels[parts[part][i]] for i in owner])
    clf, selection = fit_selecting(
        spec.classifier, xs["train"], ys["train"], xs["valid"], ys["valid"], seed=derive(seed, "classifier"),
        n_trees=params["rf_trees"], C_grid=params["svm_C"], gamma_grid=params["svm_gamma"], threads=threads,
        fit_on=params["fit_on"],
    )
    fit_rows = len(ys["train"]) + (len(ys["valid"]) if params["fit_on"] == "train_valid" else 0)
    x_test, owner = learned_features(
        model, meta, store, parts["test"], spec, params, rng, device, params["ff_test_frames"]
    )
    pred, scores = votes_by_owner(clf, x_test, owner, len(parts["test"]), len(label_order))
    ids, true = parts["test"], [labels[t] for t in parts["test"]]
    df = predictions_frame(ids, true, pred, scores, label_order)
    with atomic_path(model_out) as tmp, open(tmp, "wb") as fh:
        pickle.dump(
            {
                "format": "mgrfaults.learned/1", "system": spec.name, "net_model": str(net_model_path),
                "features": spec.features, "layers": list(spec.layers), "classifier": clf,
                "selection": selection, "params": dict(params), "seed": int(seed), "labels": label_order,
                "fit_rows": fit_rows,
            },
            fh,
        )
    write_csv_atomic(df, predictions_out)
    log.info("%s: %s fit on %d rows, %s, %.1f s", spec.name, spec.classifier, fit_rows, selection,
             time.perf_counter() - t0)
    return df
