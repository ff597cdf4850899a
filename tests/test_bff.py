"""The bag-of-frames baseline on tiny texture data: SVM (grid on validation) and RF, window votes."""

import pickle

import numpy as np
import pandas as pd
import pytest

from mgrfaults import GENRES
from mgrfaults.systems.bff import bff_files, excerpt_votes, fit_bff
from mgrfaults.errors import InputError
from mgrfaults.features.extract import ShardWriter
from mgrfaults.systems.names import parse_system

CLASSES = GENRES[:4]


def texture_run(tmp_path, n_per_class=8, windows=5, dim=6, seed=0, spread=4.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(CLASSES), dim)) * spread
    tracks, rows, parts = {}, [], []
    for c, genre in enumerate(CLASSES):
        for k in range(n_per_class):
            tid = f"{genre}.{k:05d}"
            tracks[tid] = (centres[c] + rng.normal(size=(windows, dim)) * [1, 10, 100, 1, 1, 1]).astype(np.float32)
            rows.append(dict(track_id=tid, path="x.au", genre=genre, artist=f"a{c}{k}", fault="none", replica_of="",
                             duration=1.0, sample_rate=22050))
            parts.append(dict(track_id=tid, part="train" if k < 4 else "valid" if k < 6 else "test"))
    paths = []
    for s in range(2):
        path = tmp_path / f"texture_{s}.h5"
        with ShardWriter(path, "texture", {"n_mfcc": 3}, dim=dim) as w:
            for tid in sorted(tracks)[s::2]:
                w.append(tid, tracks[tid])
        paths.append(path)
    pd.DataFrame(rows).to_csv(tmp_path / "metadata.csv", index=False)
    pd.DataFrame(parts).to_csv(tmp_path / "partition.csv", index=False)
    return paths, tmp_path / "metadata.csv", tmp_path / "partition.csv"


@pytest.mark.parametrize("system", ["BFF_SVM", "BFF_RF"])
def test_bff_runs_and_learns(tmp_path, system):
    paths, metadata, partition = texture_run(tmp_path)
    params = dict(svm_C=[0.01, 1, 100], svm_gamma=["scale", 0.1], rf_trees=25)
    df = bff_files(parse_system(system), paths, partition, metadata, params, seed=3,
                   model_out=tmp_path / "m.pkl", predictions_out=tmp_path / "p.csv", expected_params={"n_mfcc": 3})
    test_ids = sorted(pd.read_csv(partition).query("part == 'test'").track_id)
    assert df.track_id.tolist() == test_ids
    # the dataset's own genres: four of GTZAN's are a four-genre task
    assert list(df.columns) == ["track_id", "true", "predicted"] + [f"score_{g}" for g in CLASSES]
    assert (df.true == df.predicted).mean() == 1.0
    with open(tmp_path / "m.pkl", "rb") as fh:
        model = pickle.load(fh)
    assert model["system"] == system and model["labels"] == list(CLASSES)
    if system == "BFF_SVM":
        assert model["selection"]["C"] in (1, 100)  # C = 0.01 underfits the validation part
        assert model["selection"]["valid_excerpt_accuracy"] == 1.0
    again = bff_files(parse_system(system), paths, partition, metadata, params, seed=3,
                      model_out=tmp_path / "m2.pkl", predictions_out=tmp_path / "p2.csv")
    pd.testing.assert_frame_equal(df, again)


def test_bff_refuses_other_feature_parameters(tmp_path):
    paths, metadata, partition = texture_run(tmp_path)
    with pytest.raises(InputError, match="n_mfcc"):
        bff_files(parse_system("BFF_RF"), paths, partition, metadata, {}, seed=0, model_out=tmp_path / "m.pkl",
                  predictions_out=tmp_path / "p.csv", expected_params={"n_mfcc": 20})
    assert not (tmp_path / "p.csv").exists()


def test_window_votes_per_excerpt():
    class Fixed:  # a classifier whose window decisions are given by predict; its scores disagree
        classes_ = np.array([0, 1, 2])

        def predict(self, x):
            return np.argmax(x, axis=1)

        def decision_function(self, x):
            return -x

    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0.6, 0.4], [0, 0, 1], [0, 0.4, 0.6]], dtype=float)
    owner = np.array([0, 0, 0, 1, 1])
    predicted, scores = excerpt_votes(Fixed(), x, owner, 2, 3)
    assert predicted.tolist() == [1, 2]
    np.testing.assert_allclose(scores[0], [1 / 3, 2 / 3, 0])


def test_selection_and_test_votes_use_one_decision_rule():
    # An RBF SVC whose predict (one-vs-one vote) and argmax of decision_function (one-vs-rest
    # shape) disagree on some windows: the selection's excerpt accuracy must be that of the votes
    # bff's test predictions use, i.e. of predict.
    from sklearn.svm import SVC

    from mgrfaults.systems.learned import row_decisions

    rng = np.random.default_rng(3)
    n_classes, per = 10, 20
    centres = rng.normal(size=(n_classes, 5))
    y = np.repeat(np.arange(n_classes), per)
    x = centres[y] + rng.normal(size=(len(y), 5)) * 1.5
    owner = np.arange(len(y)) // 4  # 4 windows per excerpt, excerpts of one class
    y_tracks = y[::4]
    clf, selection = fit_bff("svm", x, y, x, y, owner, y_tracks, n_classes, seed=0, C_grid=(1.0,), gamma_grid=(0.5,))
    by_predict = row_decisions(clf, x)
    by_decision = np.argmax(clf.decision_function(x), axis=1)
    assert isinstance(clf[-1], SVC) and np.any(by_predict != by_decision)  # the two rules do differ here
    predicted, _ = excerpt_votes(clf, x, owner, len(y_tracks), n_classes)
    assert selection["valid_excerpt_accuracy"] == np.mean(predicted == y_tracks)
    assert selection["valid_window_accuracy"] == np.mean(by_predict == y)
