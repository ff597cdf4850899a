"""Excerpt decisions (sum of softmax, majority vote with ties) and classifiers on learned features."""

import numpy as np
import pandas as pd
import pytest

from mgrfaults import GENRES
from mgrfaults.errors import InputError
from mgrfaults.config import section_defaults
from mgrfaults.systems.learned import (
    aggregate_windows,
    fit_selecting,
    frame_vote,
    learned_features_files,
    majority_vote,
    votes_by_owner,
    predictions_frame,
    random_frames,
    sum_of_softmax,
)
from mgrfaults.systems.dnn import MLP, init_mlp, save_model
from mgrfaults.systems.parts import open_store, standardisation_stats
from mgrfaults.features.extract import ShardWriter
from mgrfaults.systems.names import parse_system

DIM = 10
CLASSES = GENRES[:3]


def test_sum_of_softmax_can_differ_from_the_vote():
    # two frames narrowly for class 0, one frame overwhelmingly for class 1
    probs = np.array([[0.5, 0.4, 0.1], [0.5, 0.4, 0.1], [0.0, 1.0, 0.0]])
    label, scores = sum_of_softmax(probs)
    assert label == 1
    np.testing.assert_allclose(scores, [1 / 3, 0.6, 0.2 / 3])
    label, shares = frame_vote(probs)
    assert label == 0
    np.testing.assert_allclose(shares, [2 / 3, 1 / 3, 0])


def test_vote_ties_go_to_the_first_class_in_label_order():
    # classes 0 and 2 have two votes each; class 2's frames are far more confident, yet the vote
    # ignores confidence: the tie goes to class 0, the first in label order (the study's np.argmax)
    probs = np.array([[0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.1, 0.0, 0.9], [0.0, 0.0, 1.0], [0.1, 0.5, 0.4]])
    label, shares = frame_vote(probs)
    assert label == 0
    np.testing.assert_allclose(shares, [0.4, 0.2, 0.4])
    assert majority_vote([2, 2, 1, 1], 3)[0] == 1
    assert majority_vote([2, 1, 0], 3)[0] == 0  # three-way tie
    assert majority_vote([2, 2, 2, 0, 1], 3)[0] == 2  # a clear majority wins whatever its index
    # a frame whose maximum is shared votes for the first of those classes
    assert frame_vote(np.array([[0.0, 0.5, 0.5], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]))[0] == 1
    with pytest.raises(ValueError):
        majority_vote([], 3)
    with pytest.raises(ValueError):
        majority_vote([0, 3], 3)


def test_votes_by_owner_uses_predict_and_the_same_tie_rule():
    class Fixed:  # predict says class 2 for rows with x > 0, else class 1; no scores at all
        classes_ = np.array([0, 1, 2])

        def predict(self, x):
            return np.where(x[:, 0] > 0, 2, 1)

    x = np.array([[1.0], [-1.0], [1.0], [1.0], [-1.0]])
    owner = np.array([0, 0, 1, 1, 1])
    predicted, scores = votes_by_owner(Fixed(), x, owner, 2, 3)
    assert predicted.tolist() == [1, 2]  # excerpt 0 ties 1 vs 2: the first class, 1
    np.testing.assert_allclose(scores, [[0, 0.5, 0.5], [0, 1 / 3, 2 / 3]])


def test_aggregate_windows_mean_std_200_hop_100():
    x = np.arange(429 * 2, dtype=np.float32).reshape(429, 2)
    w = aggregate_windows(x)
    assert w.shape == (3, 4)  # starts 0, 100, 200
    np.testing.assert_allclose(w[1], np.concatenate([x[100:300].mean(0), x[100:300].std(0)]))
    short = aggregate_windows(x[:150])
    assert short.shape == (1, 4)
    np.testing.assert_allclose(short[0, :2], x[:150].mean(0))


def test_random_frames():
    x = np.arange(300).reshape(300, 1)
    rng = np.random.default_rng(0)
    picked = random_frames(x, 100, rng)
    assert len(picked) == 100 and len(np.unique(picked)) == 100
    assert np.array_equal(random_frames(x[:50], 100, rng), x[:50])


def test_predictions_frame_columns():
    df = predictions_frame(["a", "b"], [0, 1], [0, 2], [[1, 0, 0], [0.2, 0.3, 0.5]], list(CLASSES))
    assert list(df.columns) == ["track_id", "true", "predicted", "score_blues", "score_classical", "score_country"]
    assert df.predicted.tolist() == ["blues", "country"]


def _tiny_net_run(tmp_path, seed=0, n_hidden=3):
    """Frames of 3 separable classes, a partition, metadata, and a net whose hidden layers carry the class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, DIM)) * 3
    tracks, rows, parts = {}, [], []
    for c, genre in enumerate(CLASSES):
        for k in range(6):
            tid = f"{genre}.{k:05d}"
            tracks[tid] = (centres[c] + rng.normal(size=(230, DIM))).astype(np.float32)
            rows.append(dict(track_id=tid, path="x.au", genre=genre, artist=f"a{c}{k}", fault="none", replica_of="",
                             duration=1.0, sample_rate=22050))
            parts.append(dict(track_id=tid, part=["train", "train", "train", "valid", "test", "test"][k]))
    with ShardWriter(tmp_path / "frames.h5", "frames", {"n_fft": 1024}, dim=DIM) as w:
        for tid in sorted(tracks):
            w.append(tid, tracks[tid])
    pd.DataFrame(rows).to_csv(tmp_path / "metadata.csv", index=False)
    pd.DataFrame(parts).to_csv(tmp_path / "partition.csv", index=False)
    store = open_store([tmp_path / "frames.h5"])
    mean, std = standardisation_stats(store, [p["track_id"] for p in parts if p["part"] == "train"])
    net = init_mlp(MLP(DIM, [16] * n_hidden, len(CLASSES), "relu"), "glorot", seed=seed)
    save_model(tmp_path / "net.pt", net, mean, std, list(CLASSES), net="16_RS", seed=seed)
    return tmp_path / "frames.h5", tmp_path / "metadata.csv", tmp_path / "partition.csv", tmp_path / "net.pt"


@pytest.mark.parametrize("system", ["16_RS_FF_L2", "16_RS_AF_LAll", "16_RS_FF_L1_SVM", "16_RS_AF_L3_SVM"])
def test_learned_feature_systems_run_on_tiny_data(tmp_path, system):
    frames, metadata, partition, net = _tiny_net_run(tmp_path)
    params = dict(section_defaults("systems.learned"), ff_frames=20, ff_test_frames=None, af_window=100, af_hop=50,
                  rf_trees=20, svm_C=[0.1, 10.0])
    out = tmp_path / f"{system}.csv"
    df = learned_features_files(parse_system(system), net, [frames], partition, metadata, params, seed=1,
                                model_out=tmp_path / f"{system}.pkl", predictions_out=out, device="cpu")
    assert out.exists() and (tmp_path / f"{system}.pkl").exists()
    test_ids = sorted(pd.read_csv(partition).query("part == 'test'").track_id)
    assert df.track_id.tolist() == test_ids
    # even a random net's hidden layers keep the classes apart: the second classifier finds them
    assert (df.true == df.predicted).mean() == 1.0
    np.testing.assert_allclose(df.filter(like="score_").sum(axis=1), 1.0)
    again = learned_features_files(parse_system(system), net, [frames], partition, metadata, params, seed=1,
                                   model_out=tmp_path / "again.pkl", predictions_out=tmp_path / "again.csv", device="cpu")
    pd.testing.assert_frame_equal(df, again)


@pytest.mark.parametrize("kind", ["rf", "svm"])
def test_the_second_classifier_is_fit_on_train_and_valid_as_the_studys(kind):
    # train_classifier_on_dnn_feats.py @05f95ff fits on np.vstack((X_train, X_valid)): a class the validation part
    # alone holds is one the classifier learns; fit_on: train keeps the validation part unseen
    rng = np.random.default_rng(0)
    centres = np.eye(3, DIM) * 8
    x_train = np.concatenate([centres[c] + rng.normal(size=(30, DIM)) for c in (0, 1)])
    y_train = np.repeat([0, 1], 30)
    x_valid = np.concatenate([centres[c] + rng.normal(size=(30, DIM)) for c in (0, 1, 2)])
    y_valid = np.repeat([0, 1, 2], 30)
    grid = dict(n_trees=20, C_grid=[10.0, 100.0])
    clf, selection = fit_selecting(kind, x_train, y_train, x_valid, y_valid, seed=1, **grid)
    assert list(clf.classes_) == [0, 1, 2] and selection["fit_on"] == "train_valid"
    assert np.mean(clf.predict(centres[2] + rng.normal(size=(20, DIM))) == 2) == 1.0
    alone, selection = fit_selecting(kind, x_train, y_train, x_valid, y_valid, seed=1, fit_on="train", **grid)
    assert list(alone.classes_) == [0, 1] and selection["valid_accuracy"] == pytest.approx(2 / 3)
    if kind == "svm":  # C chosen on the validation part either way
        assert selection["C"] in (10.0, 100.0)


@pytest.mark.parametrize("n_hidden", [2, 4])
@pytest.mark.parametrize("features", ["FF", "AF"])
def test_learned_features_take_every_configured_layer(tmp_path, n_hidden, features):
    # the spec the workflow hands the script (resolve_systems with systems.dnn.hidden_layers, then
    # to_dict/from_dict as a Snakemake param): LAll is every hidden layer of a 2- or 4-layer net
    from mgrfaults.systems.names import SystemSpec, resolve_systems

    frames, metadata, partition, net = _tiny_net_run(tmp_path, n_hidden=n_hidden)
    system = f"16_RS_{features}_LAll"
    spec = resolve_systems({"run": [system], "dnn": {"hidden_layers": n_hidden}})[system]
    spec = SystemSpec.from_dict(spec.to_dict())
    assert spec.layers == tuple(range(1, n_hidden + 1))
    params = dict(section_defaults("systems.learned"), ff_frames=20, ff_test_frames=20, af_window=100, af_hop=50,
                  rf_trees=10)
    learned_features_files(spec, net, [frames], partition, metadata, params, seed=1,
                           model_out=tmp_path / "m.pkl", predictions_out=tmp_path / "p.csv", device="cpu")
    import pickle

    with open(tmp_path / "m.pkl", "rb") as fh:
        saved = pickle.load(fh)
    per_frame = 16 * n_hidden
    assert saved["layers"] == list(range(1, n_hidden + 1))
    assert saved["classifier"].n_features_in_ == (per_frame if features == "FF" else 2 * per_frame)
    # a spec resolved for the study's 3 layers is refused on this net, naming both depths
    wrong = resolve_systems({"run": [f"16_RS_{features}_L2"], "dnn": {"hidden_layers": 3}})[f"16_RS_{features}_L2"]
    with pytest.raises(InputError, match=f"3 hidden layers.*has {n_hidden}"):
        learned_features_files(wrong, net, [frames], partition, metadata, params, seed=1,
                               model_out=tmp_path / "w.pkl", predictions_out=tmp_path / "w.csv", device="cpu")
    assert not (tmp_path / "w.csv").exists()
