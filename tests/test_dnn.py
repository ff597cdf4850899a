"""The study's MLP: streamed minibatches, training with SGD / HF / RBM pre-training, model files, determinism."""

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO
from mgrfaults import GENRES
from mgrfaults.systems.learned import predict_net_files
from mgrfaults.config import schema_defaults
from mgrfaults.systems.dnn import (
    MLP,
    MomentumSGD,
    FrameBatches,
    TrainParams,
    frame_error,
    init_mlp,
    linear_ramp,
    load_model,
    prefetch,
    train_mlp,
    train_net_files,
)
from mgrfaults.errors import InputError
from mgrfaults.systems.parts import open_store, standardisation_stats
from mgrfaults.features.extract import ShardWriter
from mgrfaults.systems.names import parse_system

DIM = 12
CLASSES = GENRES[:3]

# every test taking ``device`` runs on the CPU, and on CUDA where a GPU is present (`pytest -m gpu`)
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device")])]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def make_run(tmp_path, n_per_class=8, frames=40, dim=DIM, seed=0, n_shards=2, spread=3.0):
    """A tiny separable frame store (2 shards), metadata and partition; returns their paths."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(CLASSES), dim)) * spread
    rows, parts = [], []
    tracks = {}
    for c, genre in enumerate(CLASSES):
        for k in range(n_per_class):
            tid = f"{genre}.{k:05d}"
            n = frames + int(rng.integers(0, 5))
            tracks[tid] = (np.abs(centres[c] + rng.normal(size=(n, dim))) * 10).astype(np.float32)
            rows.append(dict(track_id=tid, path=f"{tid}.au", genre=genre, artist=f"a{c}{k}", fault="none",
                             replica_of="", duration=1.0, sample_rate=22050))
            parts.append(dict(track_id=tid, part="train" if k < n_per_class // 2 else "valid" if k < 3 * n_per_class // 4 else "test"))
    ids = sorted(tracks)
    paths = []
    for s in range(n_shards):
        path = tmp_path / f"frames/shard_{s}.h5"
        path.parent.mkdir(exist_ok=True)
        with ShardWriter(path, "frames", {"n_fft": 1024}, dim=dim) as w:
            for tid in ids[s::n_shards]:
                w.append(tid, tracks[tid])
        paths.append(path)
    pd.DataFrame(rows).to_csv(tmp_path / "metadata.csv", index=False)
    pd.DataFrame(parts).to_csv(tmp_path / "partition.csv", index=False)
    return paths, tmp_path / "metadata.csv", tmp_path / "partition.csv", tracks


def batches_for(paths, partition, part, **kw):
    store = open_store(paths)
    df = pd.read_csv(partition)
    ids = sorted(df.track_id[df.part == part])
    labels = [CLASSES.index(t.split(".")[0]) for t in ids]
    mean, std = standardisation_stats(store, sorted(df.track_id[df.part == "train"]))
    return FrameBatches(store, ids, labels, mean, std, **kw), mean, std


@pytest.mark.parametrize("cache_mb", [0, 64])
def test_batches_cover_every_frame_once_shuffled_and_seeded(tmp_path, cache_mb):
    paths, _, partition, tracks = make_run(tmp_path)
    fb, mean, std = batches_for(paths, partition, "train", batch_size=32, buffer_frames=50, seed=3, cache_mb=cache_mb)
    assert (fb._cache is not None) == bool(cache_mb)
    xs, ys = zip(*fb.epoch(0))
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert len(y) == fb.n_frames == sum(len(tracks[t]) for t in fb.track_ids)
    assert all(len(b) == 32 for b in ys[:-1])
    expected = np.concatenate([(tracks[t] - mean) / std for t in fb.track_ids])
    # the same multiset of rows (sorted by their first column) with the right labels
    order, ref = np.lexsort(x.T[::-1]), np.lexsort(expected.T[::-1])
    np.testing.assert_allclose(x[order], expected[ref], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y[order], np.repeat(fb.labels, fb.lengths)[ref])
    assert not np.array_equal(y, np.repeat(fb.labels, fb.lengths))  # shuffled across tracks
    again = np.concatenate([b for _, b in fb.epoch(0)])
    other = np.concatenate([b for _, b in fb.epoch(1)])
    np.testing.assert_array_equal(again, y)
    assert not np.array_equal(other, y)


@pytest.mark.parametrize("cache_mb", [0, 64])
def test_frames_per_epoch_caps_the_epoch(tmp_path, cache_mb):
    paths, _, partition, _ = make_run(tmp_path)
    fb, _, _ = batches_for(paths, partition, "train", batch_size=16, frames_per_epoch=100, seed=1, cache_mb=cache_mb)
    sizes = [sum(len(y) for _, y in fb.epoch(e)) for e in range(5)]
    assert all(60 <= s <= 140 for s in sizes), sizes  # streamed: a random share per track, about 100
    if cache_mb:
        assert sizes == [100] * 5


def test_prefetch_keeps_order_and_raises():
    items = [(np.full((2, 3), i, np.float32), np.array([i, i])) for i in range(5)]
    got = [int(y[0]) for _, y in prefetch(iter(items), torch.device("cpu"))]
    assert got == list(range(5))

    def broken():
        yield items[0]
        raise InputError("shard_9.h5: broken")

    with pytest.raises(InputError, match="shard_9"):
        list(prefetch(broken(), torch.device("cpu")))


def test_linear_ramp():
    assert linear_ramp(0, 0.5, 0.9, 10) == 0.5
    assert linear_ramp(5, 0.5, 0.9, 10) == pytest.approx(0.7)
    assert linear_ramp(50, 0.1, 0.001, 10) == pytest.approx(0.001)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = MLP(6, [20, 20, 20], 3, "relu", keep_probs=[1.0, 0.5, 0.5, 0.5])
    x = torch.randn(50, 6)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    a, b = model(x), model(x)
    assert torch.equal(a, b)
    h = x
    for i, layer in enumerate(model.layers):  # eval = plain forward without masks or scaling
        h = layer(h)
        if i < 3:
            h = torch.relu(h)
    torch.testing.assert_close(a, h)


def test_init_schemes():
    model = init_mlp(MLP(100, [50], 3, "sigmoid"), "uniform", init_range=0.1, seed=0)
    w = model.layers[0].weight
    w = w.detach()
    assert 0.09 < float(w.abs().max()) <= 0.1 and float(model.layers[0].bias.detach().abs().max()) == 0
    model = init_mlp(model, "glorot", seed=0)
    assert float(model.layers[0].weight.detach().abs().max()) <= 4 * np.sqrt(6 / 150)


@pytest.mark.parametrize("optimizer, batch, lr", [("sgd", 16, 0.1), ("hf", 200, 0.0)])
def test_mlp_learns_separable_frames(tmp_path, optimizer, batch, lr, device):
    paths, _, partition, _ = make_run(tmp_path)
    train, mean, std = batches_for(paths, partition, "train", batch_size=batch, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    torch.manual_seed(0)
    model = init_mlp(MLP(DIM, [20, 20, 20], 10, "relu", [1.0, 1.0, 0.9, 0.9]), seed=0)
    params = TrainParams.study(learning_rate=lr, saturate=10, patience=3, max_epochs=6, batch_size=batch,
                         optimizer=optimizer, hf={"cg_max_iter": 20})
    model, log = train_mlp(model, train, valid, params, seed=0, device=device)
    assert list(log.columns[:4]) == ["epoch", "loss", "train_frame_error", "valid_frame_error"]
    assert log.valid_frame_error.min() < 0.05
    # the best epoch's model is the one returned
    _, err = frame_error(model, prefetch(valid.epoch(0), torch.device(device)), device)
    assert err == pytest.approx(log.valid_frame_error.min())
    assert not model.training


def test_early_stopping_patience(tmp_path, device):
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    model = init_mlp(MLP(DIM, [8, 8, 8], 10, "relu"), seed=0)
    # lr 0: nothing improves after the first epoch, so training stops after 1 + patience epochs
    model, log = train_mlp(model, train, valid, TrainParams.study(learning_rate=0.0, patience=2, max_epochs=50), seed=0,
                           device=device)
    assert len(log) == 3


def test_rbm_pretraining_option(tmp_path, device):
    from mgrfaults.systems.rbm import pretrain_mlp

    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=32, seed=0)
    model = init_mlp(MLP(DIM, [16, 16, 16], 10, "sigmoid"), seed=0)
    before = model.layers[1].weight.detach().clone()
    # the model stays on the CPU while the RBMs train on ``device`` (layers 2 and 3 propagate through the lower ones)
    errors = pretrain_mlp(model, train, epochs=3, learning_rate=0.01, seed=0, device=device)
    assert len(errors) == 3 and all(np.isfinite(errors))
    assert not torch.equal(before, model.layers[1].weight)
    model.to(device)  # and a model already on the device
    errors_on_device = pretrain_mlp(model, train, epochs=1, learning_rate=0.01, seed=0, device=device)
    assert all(np.isfinite(errors_on_device)) and model.layers[2].weight.device.type == device
    # the first layer's RBM reconstructs better after training than with its random start
    first = init_mlp(MLP(DIM, [16], 10, "sigmoid"), seed=0)
    untrained = pretrain_mlp(first, train, epochs=1, learning_rate=0.0, seed=0, device=device)
    trained = pretrain_mlp(first, train, epochs=4, learning_rate=0.01, seed=0, device=device)
    assert trained[0] < untrained[0]


VARIANT = dict(schema_defaults()["systems.dnn.variants"]["RS"], learning_rate=0.1, saturate=10, patience=4,
               max_epochs=6, batch_size=16, keep_probs=[1, 0.75, 0.75, 0.75], init="glorot")
DATA = dict(epoch_fraction=0.5, valid_frames=100, buffer_frames=128, cache_mb=0, precision="fp32", compile=False)


def _train_and_predict(tmp_path, paths, metadata, partition, tag, seed=7, device="cpu", system="20_RSD", variant=VARIANT,
                       **data):
    spec = parse_system(system)
    model_out, log_out = tmp_path / f"{tag}.pt", tmp_path / f"{tag}_log.csv"
    train_net_files(paths, partition, metadata, spec, variant, {**DATA, **data}, seed, model_out, log_out, device=device)
    # two systems sharing the net: its frame outputs are computed once, each decision is written
    outputs = {decision: tmp_path / f"{tag}_{decision}.csv" for decision in ("sum", "vote")}
    preds = predict_net_files(model_out, paths, partition, metadata, outputs, device=device)
    assert list(preds["vote"]["track_id"]) == list(preds["sum"]["track_id"])
    assert pd.read_csv(tmp_path / f"{tag}_vote.csv")["predicted"].tolist() == preds["vote"]["predicted"].tolist()
    return model_out, log_out, preds["sum"]


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_train_net_files_self_describing_and_deterministic(tmp_path, one_thread, device):
    # on CUDA this trains through the device-resident path (mgrfaults.systems.resident)
    paths, metadata, partition, _ = make_run(tmp_path)
    model_a, log_a, pred_a = _train_and_predict(tmp_path, paths, metadata, partition, "a", device=device)
    model_b, _, pred_b = _train_and_predict(tmp_path, paths, metadata, partition, "b", device=device)
    pd.testing.assert_frame_equal(pred_a, pred_b)  # same seed and threads: same predictions
    net, meta = load_model(model_a)
    net_b, _ = load_model(model_b)
    for (k, v), (_, w) in zip(net.state_dict().items(), net_b.state_dict().items()):
        assert torch.equal(v, w), k
    assert meta["architecture"] == {"n_inputs": DIM, "hidden": [20, 20, 20], "n_classes": len(CLASSES),
                                    "activation": "relu", "keep_probs": [1.0, 0.75, 0.75, 0.75],
                                    "input_scales": [1.0, 1 / 0.75, 1 / 0.75, 1 / 0.75]}
    assert meta["labels"] == list(CLASSES) and meta["mean"].shape == (DIM,)
    assert meta["info"]["seed"] == 7 and meta["info"]["feature_params"] == {"n_fft": 1024}
    assert meta["info"]["net"] == "20_RSD" and meta["info"]["training"]["learning_rate"] == 0.1
    assert meta["info"]["dropout_applied"] is True
    # what decides the float rounding besides the seed (README: reproducing the default's numbers)
    assert meta["info"]["torch"] == str(torch.__version__) and meta["info"]["threads"] == 1
    assert meta["info"]["cpu_kernels"] == torch.backends.cpu.get_cpu_capability()
    assert ("gpu" in meta["info"]) == (torch.device(device).type == "cuda")
    log = pd.read_csv(log_a)
    assert {"epoch", "loss", "train_frame_error", "valid_frame_error"} <= set(log.columns) and len(log) >= 3
    test_ids = sorted(pd.read_csv(partition).query("part == 'test'").track_id)
    assert list(pred_a.track_id) == test_ids
    assert list(pred_a.columns) == ["track_id", "true", "predicted"] + [f"score_{g}" for g in CLASSES]
    np.testing.assert_allclose(pred_a.filter(like="score_").sum(axis=1), 1.0, rtol=1e-6)
    assert (pred_a.true == pred_a.predicted).mean() == 1.0
    _, _, pred_c = _train_and_predict(tmp_path, paths, metadata, partition, "c", seed=8, device=device)
    assert not np.allclose(pred_c.filter(like="score_"), pred_a.filter(like="score_"))


@pytest.mark.parametrize("compile_step", [False, True])
def test_train_net_files_hands_the_step_settings_to_the_resident_path(tmp_path, one_thread, monkeypatch, compile_step):
    # systems.dnn.compile and precision reach the resident trainer (here recorded, then the streamed path runs)
    from mgrfaults.systems import resident

    asked = []
    monkeypatch.setattr(resident, "resident_run", lambda *args, **options: asked.append(options))
    paths, metadata, partition, _ = make_run(tmp_path)
    _train_and_predict(tmp_path, paths, metadata, partition, "a", compile=compile_step, precision="tf32")
    assert asked == [dict(precision="tf32", compiled=compile_step)]


@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_precision_keeps_the_validation_error(tmp_path, one_thread, device, precision):
    # systems.dnn.precision: on a CPU it changes nothing (bit for bit); on CUDA the device-resident
    # path trains in that precision and the validation frame error stays within noise of fp32's
    paths, metadata, partition, _ = make_run(tmp_path)
    model_32, log_32, _ = _train_and_predict(tmp_path, paths, metadata, partition, "fp32", device=device)
    model_lo, log_lo, _ = _train_and_predict(tmp_path, paths, metadata, partition, precision, device=device,
                                             precision=precision)
    errors_32 = pd.read_csv(log_32)["valid_frame_error"].to_numpy()
    errors_lo = pd.read_csv(log_lo)["valid_frame_error"].to_numpy()
    if device == "cpu":
        np.testing.assert_array_equal(errors_lo, errors_32)
        for (k, v), (_, w) in zip(load_model(model_32)[0].state_dict().items(), load_model(model_lo)[0].state_dict().items()):
            assert torch.equal(v, w), k
    else:
        assert abs(errors_lo.min() - errors_32.min()) <= 0.05  # early stopping may end at another epoch


def test_a_hessian_free_net_records_the_dropout_it_does_not_apply(tmp_path, one_thread):
    # HF trains the net deterministically (mgrfaults.systems.hessian_free): a "D" in its name selects RSD's
    # variant, whose dropout (and the job script's raw spectrum's) the model file does not claim (audit 43)
    paths, metadata, partition, _ = make_run(tmp_path)
    model_out, _, _ = _train_and_predict(tmp_path, paths, metadata, partition, "hf", system="20_RHD",
                                         variant=dict(VARIANT, raw_keep_prob=0.75, raw_input_scale=2.0, max_epochs=2))
    _, meta = load_model(model_out)
    assert meta["info"]["optimizer"] == "hf" and meta["info"]["dropout_applied"] is False
    assert meta["architecture"]["keep_probs"] == [1.0] * 4 and "raw_keep" not in meta["architecture"]
    assert meta["info"]["training"]["raw_keep_prob"] == 0.75  # the variant as configured, beside what was applied


def test_model_file_errors(tmp_path):
    with pytest.raises(InputError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="other.pt"):
        load_model(tmp_path / "other.pt")


def test_pretrained_net_trains_from_files(tmp_path, device):
    # an RBM-pretrained (..P) sigmoid net end to end: the path that failed on CUDA
    paths, metadata, partition, _ = make_run(tmp_path)
    _, log_out, pred = _train_and_predict(tmp_path, paths, metadata, partition, "p", device=device, system="20_SSP")
    assert len(pd.read_csv(log_out)) >= 1 and np.isfinite(pred.filter(like="score_").to_numpy()).all()


def test_pylearn2_dropout_scaling():
    # pylearn2's Dropout: kept units times input_scale in training (not 1/keep), identity in evaluation
    from mgrfaults.systems.dnn import PylearnDropout

    torch.manual_seed(0)
    x = torch.ones(200_000)
    drop = PylearnDropout(0.75, 2.0).train()
    y = drop(x)
    assert set(torch.unique(y).tolist()) == {0.0, 2.0}
    assert abs(float(y.mean()) - 1.5) < 0.01  # 0.75 x 2: the study's hidden-layer inputs
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(PylearnDropout(1.0, 1.0).train()(x), x)
    # include 1: pylearn2's apply_dropout returns the input, its scale unused (audit 43)
    assert torch.equal(PylearnDropout(1.0, 2.0).train()(x), x)
    assert MLP(6, [8], 3, "relu", [1.0, 0.75], [2.0, 2.0]).architecture()["input_scales"] == [1.0, 2.0]
    net = MLP(6, [8, 8, 8], 3, "relu", keep_probs=[0.8, 0.75, 0.75, 0.75], input_scales=[1.0, 2.0, 2.0, 2.0])
    assert net.architecture()["input_scales"] == [1.0, 2.0, 2.0, 2.0]
    assert [d.scale for d in net.dropouts] == [1.0, 2.0, 2.0, 2.0]
    inverted = MLP(6, [8, 8, 8], 3, "relu", keep_probs=[1.0, 0.5, 0.5, 0.5])
    assert isinstance(inverted.dropouts[0], torch.nn.Identity) and inverted.dropouts[1].scale == 2.0
    # a kept unit is x times the scale, rounded once, in every dtype: also where the scale itself is not
    # exact in the dtype (1 / 0.75 in bf16, as under bf16 autocast)
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(100_000).to(dtype).requires_grad_()
        y = PylearnDropout(0.75, 1 / 0.75).train()(x)
        kept = y != 0
        assert torch.equal(y[kept], x.detach()[kept] * (1 / 0.75)) and 0.7 < float(kept.float().mean()) < 0.8
        y.sum().backward()
        assert torch.equal(x.grad[kept], torch.ones_like(x)[kept] * (1 / 0.75))


def test_raw_spectrum_dropout_is_pylearn2s_dropout_before_standardising(tmp_path):
    """mlp_rlu_dropout2.yaml @539d2c5: Dropout drops the input of the standardising PreprocLayer, the raw
    spectrum. On standardised frames the module gives what dropping the raw bins, then standardising gives."""
    from mgrfaults.systems.dnn import RawSpectrumDropout, save_model

    gen = np.random.default_rng(0)
    raw = np.abs(gen.normal(3.0, 2.0, (400, 6))).astype(np.float32)
    mean, std = raw.mean(0), raw.std(0)
    z = torch.from_numpy((raw - mean) / std)
    drop = RawSpectrumDropout(0.75, 2.0, mean / std).train()
    torch.manual_seed(1)
    got = drop(z)
    torch.manual_seed(1)
    mask = torch.empty_like(z).bernoulli_(0.75).numpy()  # the same draw
    want = (raw * mask * 2.0 - mean) / std
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    assert 0.7 < mask.mean() < 0.8
    assert torch.equal(drop.eval()(z), z)  # evaluation: the plain standardised spectrum
    with pytest.raises(ValueError, match="keep probability"):
        RawSpectrumDropout(0.0, 2.0, mean / std)
    # in the net: before the input layer's own dropout; its offset follows the net to the device and stays out
    # of the state dict (the model file's mean and std are the standardisation)
    net = MLP(6, [8, 8, 8], 3, "relu", [0.8, 0.75, 0.75, 0.75], [1.0, 2.0, 2.0, 2.0], raw_keep=0.75, raw_scale=2.0,
              raw_offset=mean / std)
    assert set(net.state_dict()) == set(MLP(6, [8, 8, 8], 3, "relu").state_dict())
    assert net.architecture()["raw_keep"] == 0.75 and net.architecture()["raw_scale"] == 2.0
    assert "raw_keep" not in MLP(6, [8, 8, 8], 3, "relu", [0.8, 0.75, 0.75, 0.75]).architecture()
    with pytest.raises(ValueError, match="raw_offset"):
        MLP(6, [8, 8, 8], 3, "relu", raw_keep=0.75, raw_scale=2.0)
    # in training the net's first layer sees the standardised spectrum of the dropped raw one (the same draw)
    dropped = MLP(6, [8], 3, "relu", raw_keep=0.75, raw_scale=2.0, raw_offset=mean / std).train()
    plain = MLP(6, [8], 3, "relu")
    plain.load_state_dict(dropped.state_dict())
    torch.manual_seed(2)
    got = dropped(z)
    torch.manual_seed(2)
    mask = torch.empty_like(z).bernoulli_(0.75).numpy()
    torch.testing.assert_close(got, plain(torch.from_numpy((raw * mask * 2.0 - mean) / std)), rtol=1e-5, atol=1e-5)
    # include 1 with scale 2: no dropout at all, as pylearn2's apply_dropout (the scale unused)
    whole = MLP(6, [8], 3, "relu", raw_keep=1.0, raw_scale=2.0).train()
    assert isinstance(whole.raw_dropout, torch.nn.Identity) and "raw_keep" not in whole.architecture()
    save_model(tmp_path / "m.pt", net, mean, std, list("abc"))
    loaded, meta = load_model(tmp_path / "m.pt")
    assert loaded.raw_dropout.keep == 0.75 and not loaded.training
    np.testing.assert_allclose(loaded.raw_dropout.offset.numpy(), mean / std, rtol=1e-6)
    torch.testing.assert_close(loaded(z), net.eval()(z))


def test_momentum_sgd_is_torch_sgd_byte_for_byte():
    # MomentumSGD replaces torch.optim.SGD to spare every training job the torch._dynamo import;
    # the parameters must be equal bit for bit, also when the schedules change lr and momentum
    torch.manual_seed(0)
    model = MLP(DIM, [12, 12], 10, "relu")
    reference = MLP(DIM, [12, 12], 10, "relu")
    reference.load_state_dict(model.state_dict())
    ours = MomentumSGD(model.parameters(), lr=0.05, momentum=0.0)
    theirs = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.0)
    x, y = torch.randn(64, DIM), torch.randint(0, 10, (64,))
    for step, (lr, momentum) in enumerate([(0.05, 0.0), (0.05, 0.5), (0.03, 0.7), (0.01, 0.9)] * 2):
        ours.lr, ours.momentum = lr, momentum
        for group in theirs.param_groups:
            group["lr"], group["momentum"] = lr, momentum
        for net, opt in ((model, ours), (reference, theirs)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[step::2]), y[step::2]).backward()
            opt.step()
        for p, q in zip(model.parameters(), reference.parameters()):
            assert torch.equal(p, q)


def test_a_training_jobs_memory_counts_the_parts_held_and_the_shuffle_buffer():
    from mgrfaults.systems.parts import training_memory_mb

    # the schema's defaults: 1024 + 2 x 512 MiB + 2 buffers (training and validation part) of 65,536 frames of 513
    # float32 bins and an int64 label (129 MiB each)
    assert training_memory_mb(512, 65536, 513) == 1024 + 1024 + 2 * 129
    # nothing held, buffers of GTZAN's whole training part (645,000 frames, 1.3 GB)
    assert training_memory_mb(0, 655360, 513) == 1024 + 2 * 1288
    # a stack of 8 nets keeps each net's streams
    assert training_memory_mb(0, 65536, 513, n_nets=8) == 1024 + 8 * 2 * 129


def test_patience_counts_from_the_last_improvement_of_min_improvement():
    # the older pylearn2 MonitorBased (__call__): the reference moves only with a relative improvement of
    # prop_decrease. 0.9995 is none on 1.0, so 0.9989 (0.1 % below 1.0) starts the count again. The later one
    # (continue_learning) moves the reference to 0.9995 and would count on: benchmarks/stopping_replay.py replays
    # logs under both (audit 40)
    from mgrfaults.systems.dnn import EarlyStopping, TrainParams

    model = torch.nn.Linear(2, 2)
    stopping = EarlyStopping(TrainParams.study("RS", patience=2, min_improvement=0.001))
    rows = [stopping.update(model, epoch, 1.0, 0.5, 1.0, err, 0.1) for epoch, err in enumerate([1.0, 0.9995, 0.9989])]
    assert [r["epochs_without_improvement"] for r in rows] == [0, 1, 0]
    assert rows[-1]["stop"] == "" and stopping.best_epoch == 2


def test_patience_from_the_best_error_moves_its_reference_on_any_improvement():
    # the later MonitorBased (continue_learning): 0.9995 moves the reference without starting the count again, and
    # 0.9989 is no 0.1 % below 0.9995, so patience 2 ends training where the older rule counted from 0 again
    from mgrfaults.systems.dnn import EarlyStopping, TrainParams

    model = torch.nn.Linear(2, 2)
    errors = [1.0, 0.9995, 0.9989, 0.9970]
    stopping = EarlyStopping(TrainParams.study("RS", patience=2, min_improvement=0.001, patience_reference="best"))
    rows = [stopping.update(model, epoch, 1.0, 0.5, 1.0, err, 0.1) for epoch, err in enumerate(errors[:3])]
    assert [r["epochs_without_improvement"] for r in rows] == [0, 1, 2]
    assert rows[-1]["stop"] == "patience" and stopping.best_epoch == 2  # the best parameters kept all the same
    # an improvement of 0.1 % on the best so far starts the count again under both rules
    for reference in ("best", "last_improvement"):
        stopping = EarlyStopping(TrainParams.study("RS", patience=5, patience_reference=reference))
        rows = [stopping.update(model, epoch, 1.0, 0.5, 1.0, err, 0.1) for epoch, err in enumerate(errors)]
        counts = [r["epochs_without_improvement"] for r in rows]
        assert counts == ([0, 1, 2, 0] if reference == "best" else [0, 1, 0, 0])
    with pytest.raises(ValueError, match="patience_reference"):
        EarlyStopping(TrainParams.study("RS", patience_reference="lowest"))


@pytest.mark.parametrize("reference", ["last_improvement", "best"])
def test_early_stopping_stops_where_the_logs_replay_says(reference):
    # benchmarks/stopping_replay.py writes both rules again on its own, to replay logs: the two must agree on where
    # a run stops and which epoch it keeps, on error curves with plateaus, ties and slow creeps
    import importlib.util

    from mgrfaults.systems.dnn import EarlyStopping, TrainParams

    spec = importlib.util.spec_from_file_location("stopping_replay", REPO / "benchmarks" / "stopping_replay.py")
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    model, rng = torch.nn.Linear(2, 2), np.random.default_rng(7)
    differ = 0
    for _ in range(200):
        steps = rng.choice([0.0, 0.0004, 0.0008, 0.003, -0.002], size=80, p=[0.3, 0.25, 0.2, 0.15, 0.1])
        errors = np.round(0.6 - np.cumsum(steps), 4)
        stopping = EarlyStopping(TrainParams.study("RS", patience=4, patience_reference=reference))
        for epoch, err in enumerate(errors):
            if stopping.update(model, epoch, 1.0, 0.5, 1.0, float(err), 0.1)["stop"]:
                break
        older, later = (replay.replay(errors, 4, 0.001, moves) for moves in (False, True))
        assert (epoch, stopping.best_epoch) == (later if reference == "best" else older)
        differ += older != later
    assert differ > 20  # the curves tell the two rules apart


def test_the_gtzan_preset_counts_patience_from_the_best_error_and_the_default_keeps_its_nets_params():
    # the study's preset takes the later pylearn2 rule; the default's training settings do not name the key, so a
    # results folder made before it does not train its nets again
    from mgrfaults.config import ConfigError, complete_dnn_variants, load_config
    from mgrfaults.systems.names import training_settings

    gtzan = complete_dnn_variants(load_config(REPO / "config" / "gtzan.yaml")["systems"]["dnn"])
    default = complete_dnn_variants(load_config()["systems"]["dnn"])
    for name in ("50_RS", "500_RSD"):
        assert training_settings(gtzan, parse_system(name))["patience_reference"] == "best"
        assert "patience_reference" not in training_settings(default, parse_system(name))
    with pytest.raises(ConfigError, match="patience_reference: 'lowest' is not one of"):
        load_config({"systems": {"dnn": {"variants": {"RS": {"patience_reference": "lowest"}}}}})
