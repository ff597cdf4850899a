"""Device-resident SGD training: same step semantics as the streamed loop, seeded device shuffles, CUDA graphs."""

import copy
import gc
import weakref

import numpy as np
import pandas as pd
import pytest
import torch

from mgrfaults.systems.dnn import (MLP, EarlyStopping, TrainParams, epoch_hyper, frame_error, init_mlp, prefetch,
                                   train_epoch, train_mlp)
from mgrfaults.systems.resident import (ResidentRun, ResidentSGD, compile_mode, fits, resident_batches, resident_part,
                                       resident_run, valid_batch_size)
from test_dnn import DEVICES, DIM, batches_for, make_run


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def test_resident_part_holds_the_standardised_frames(tmp_path, device):
    paths, _, partition, tracks = make_run(tmp_path)
    train, mean, std = batches_for(paths, partition, "train", batch_size=16, seed=0)
    x, y = resident_part(train, device, chunk_frames=50)  # chunks smaller than a few tracks
    expected = np.concatenate([(tracks[t] - mean) / std for t in train.track_ids])
    np.testing.assert_allclose(x.cpu().numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y.cpu().numpy(), np.repeat(train.labels, train.lengths))
    # a validation part: exactly the frames the streamed evaluation sees (bit for bit, standardised on the
    # device or not), the whole part and a capped subset
    for cap in (None, 70):
        valid, _, _ = batches_for(paths, partition, "valid", batch_size=64, shuffle=False, frames_per_epoch=cap)
        xv, yv = resident_part(valid, device, chunk_frames=50)
        xs, ys = zip(*valid.epoch(0))
        np.testing.assert_array_equal(xv.cpu().numpy(), np.concatenate(xs))
        np.testing.assert_array_equal(yv.cpu().numpy(), np.concatenate(ys))
        assert (len(yv) < valid.n_frames) == (cap is not None)
    assert fits([train, valid], device)


@pytest.mark.parametrize("use_graphs", [False, True])
def test_resident_epoch_equals_sgd_over_the_same_batches(tmp_path, device, use_graphs):
    if use_graphs and device == "cpu":
        pytest.skip("CUDA graphs need a GPU")
    paths, _, partition, _ = make_run(tmp_path, n_per_class=12)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    x, y = resident_part(train, device)
    model = init_mlp(MLP(DIM, [20, 20, 20], 10, "relu"), seed=0).to(device)
    reference = copy.deepcopy(model)
    trainer = ResidentSGD(model, x, y, batch_size=16, seed=5, use_graphs=use_graphs, steps_per_graph=3)
    opt = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.5)
    for epoch, (lr, momentum) in enumerate([(0.05, 0.5), (0.02, 0.9)]):
        trainer.set_hyper(lr, momentum)
        for group in opt.param_groups:
            group["lr"], group["momentum"] = lr, momentum
        order = trainer.epoch_order(epoch)
        assert sorted(order.tolist()) == list(range(len(y)))  # every frame once
        assert len(y) % 16 and len(y) // 16 > 3  # a smaller last batch; both graphs replayed
        got = trainer.train_epoch(epoch)
        want = train_epoch(reference, opt, ((x[i], y[i]) for i in order.split(16)), device)
        assert got[2] == want[2] == len(y)
        assert got[0] == pytest.approx(want[0], rel=1e-5) and got[1] == pytest.approx(want[1])
        for p, q in zip(model.parameters(), reference.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert not torch.equal(trainer.epoch_order(0), trainer.epoch_order(1))
    torch.testing.assert_close(trainer.epoch_order(1), trainer.epoch_order(1))


def test_resident_frames_per_epoch(tmp_path, device):
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    x, y = resident_part(train, device)
    model = init_mlp(MLP(DIM, [8], 10, "relu"), seed=0).to(device)
    trainer = ResidentSGD(model, x, y, batch_size=16, frames_per_epoch=50, seed=1)
    trainer.set_hyper(0.01, 0.5)
    assert trainer.train_epoch(0)[2] == 50
    first, second = trainer.epoch_order(0), trainer.epoch_order(1)
    assert len(first) == 50 and len(set(first.tolist())) == 50 and not torch.equal(first, second)


def test_train_mlp_resident_learns_and_is_deterministic(tmp_path, device):
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    params = TrainParams.study(learning_rate=0.1, saturate=10, patience=3, max_epochs=6, batch_size=16)

    def run():
        model = init_mlp(MLP(DIM, [20, 20, 20], 10, "relu", [1.0, 1.0, 0.9, 0.9]), seed=0)
        return train_mlp(model, train, valid, params, seed=0, device=device, resident=True)

    model, log = run()
    assert log.valid_frame_error.min() < 0.05
    _, err = frame_error(model, prefetch(valid.epoch(0), torch.device(device)), device)
    assert err == pytest.approx(log.valid_frame_error.min())  # the best epoch's model, on the streamed frames too
    model_b, log_b = run()
    np.testing.assert_array_equal(log.valid_frame_error, log_b.valid_frame_error)
    for p, q in zip(model.parameters(), model_b.parameters()):
        assert torch.equal(p, q)


def test_resident_run_picks_the_path(tmp_path):
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    model = MLP(DIM, [8], 10)
    sgd, hf = TrainParams.study(), TrainParams.study(optimizer="hf")
    assert resident_run(model, train, valid, sgd, "cpu") is None  # the CPU streams unless forced
    assert resident_run(model, train, valid, hf, "cpu", resident=True) is None  # SGD only
    run = resident_run(model, train, valid, sgd, "cpu", resident=True)
    xs = torch.cat([x for x, _ in run.valid_batches()])
    assert len(xs) == valid.n_frames and len(list(resident_batches(xs, xs[:, 0], 7))) == -(-len(xs) // 7)
    # validation batches of at most VALID_ACTIVATION_BYTES in the widest layer (the inputs of the study's nets)
    assert valid_batch_size(MLP(513, [500, 500, 500], 10)) == (128 << 20) // (4 * 513)
    assert valid_batch_size(MLP(513, [4096], 10)) == 8192  # at least 8192 frames


def test_resident_part_smaller_than_the_capture_warm_up(tmp_path, device):
    # 2 full batches and a partial one: fewer frames than the 3 warm-up steps of a graph capture use
    x = torch.randn(70, DIM, device=device)
    y = torch.arange(70, device=device) % 3
    model = init_mlp(MLP(DIM, [8], 10, "relu"), seed=0).to(device)
    trainer = ResidentSGD(model, x, y, batch_size=30, seed=0)
    trainer.set_hyper(0.1, 0.5)
    losses = [trainer.train_epoch(e)[0] for e in range(20)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_compiled_step_trains_as_the_uncompiled_one(device):
    # no dropout: the compiled step (fused elementwise kernels, captured on a GPU) computes the same
    # function, so the same parameters up to float rounding; a last partial batch included (1000 = 7 x 128 + 104)
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(1000, DIM, generator=generator), torch.randint(0, 10, (1000,), generator=generator)
    from torch._dynamo.utils import counters

    trained = {}
    for compiled in (False, True):
        graphs_before = counters["stats"]["unique_graphs"]
        model = init_mlp(MLP(DIM, [16, 16], 10, "relu"), seed=0).to(device)
        trainer = ResidentSGD(model, x.to(device), y.to(device), 128, seed=0, compiled=compiled)
        results = []
        for epoch in range(3):
            trainer.set_hyper(0.05, 0.5)
            results.append(trainer.train_epoch(epoch))
        trained[compiled] = results, [p.detach().cpu() for p in model.parameters()]
        # torch compiled the step's graphs (the loss, the update) only when asked
        assert (counters["stats"]["unique_graphs"] > graphs_before) == compiled
    (plain, plain_params), (fused, fused_params) = trained[False], trained[True]
    assert [r[2] for r in fused] == [r[2] for r in plain]
    # the same frame errors, but for a frame or two whose top classes tie within float rounding
    np.testing.assert_allclose([r[1] for r in fused], [r[1] for r in plain], atol=2 / 1000)
    np.testing.assert_allclose([r[0] for r in fused], [r[0] for r in plain], rtol=1e-5)
    for a, b in zip(fused_params, plain_params):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_compile_modes_are_those_a_captured_step_allows():
    # the default mode, or the one that also tunes the matmuls; never a mode capturing CUDA graphs inside ours
    assert compile_mode(True) is None and compile_mode("default") is None and compile_mode(False) is None
    assert compile_mode("max-autotune-no-cudagraphs") == "max-autotune-no-cudagraphs"
    x, y = torch.zeros(64, DIM), torch.zeros(64, dtype=torch.int64)
    for mode in ("reduce-overhead", "max-autotune"):
        with pytest.raises(ValueError, match="max-autotune-no-cudagraphs"):
            ResidentSGD(MLP(DIM, [8], 10), x, y, 16, compiled=mode)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("compiled", [False, True])
def test_captured_steps_draw_fresh_dropout_masks_at_every_replay(compiled):
    # every frame the same and a learning rate of 0: a step's loss depends on its dropout mask alone, so a
    # graph replaying the masks it drew at capture would give every epoch the same loss
    x = torch.randn(1, DIM, device="cuda").expand(4 * 64, DIM).contiguous()
    y = torch.zeros(4 * 64, dtype=torch.int64, device="cuda")
    model = init_mlp(MLP(DIM, [32], 10, "relu", keep_probs=[0.5, 1.0]), seed=0).to("cuda")
    trainer = ResidentSGD(model, x, y, 64, seed=0, steps_per_graph=1, compiled=compiled)
    assert trainer.use_graphs
    trainer.set_hyper(0.0, 0.0)
    losses = [trainer.train_epoch(epoch)[0] for epoch in range(4)]
    assert len(set(losses)) == 4, losses


@pytest.mark.parametrize("ends_by", ["patience", "max_epochs"])
def test_train_mlp_resident_validates_each_epoch_while_the_next_trains(tmp_path, device, ends_by):
    # the overlapped loop (epoch e validated while e + 1 trains, that epoch dropped when e ends training) gives
    # the log and the best parameters of validating each epoch before training the next
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    ending = dict(patience=2, min_improvement=0.5, max_epochs=40) if ends_by == "patience" else dict(max_epochs=4)
    params = TrainParams.study(learning_rate=0.05, saturate=10, batch_size=16, **ending)

    def new_model():
        return init_mlp(MLP(DIM, [20, 20], 10, "relu", [1.0, 0.8, 0.8]), seed=0)

    model, log = train_mlp(new_model(), train, valid, params, seed=0, device=device, resident=True)
    assert log.stop.iloc[-1] == ends_by and (len(log) < params.max_epochs) == (ends_by == "patience")

    # the same epochs one after the other: train, validate, decide
    reference = new_model().to(device)
    torch.manual_seed(0)  # as train_mlp seeds the dropout masks: after the model is built
    run = resident_run(reference, train, valid, params, device, resident=True)
    stopping = EarlyStopping(params)
    for epoch in range(params.max_epochs):
        loss, train_err, _ = run.train_epoch(epoch, *epoch_hyper(params, epoch))
        valid_loss, valid_err = frame_error(reference, run.valid_batches(), device)
        if stopping.update(reference, epoch, loss, train_err, valid_loss, valid_err, 0.0)["stop"]:
            break
    expected = pd.DataFrame(stopping.rows)
    pd.testing.assert_frame_equal(log.drop(columns="seconds"), expected.drop(columns="seconds"))
    assert (log.seconds > 0).all()
    stopping.best_model(reference)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)


def test_finished_trainers_go_at_once_and_captures_run_without_the_collector(tmp_path, device, monkeypatch):
    # A trainer is no reference cycle: its part, its graphs and their memory go with its last reference, not
    # with the cyclic collector, which may run at any allocation, inside a later trainer's capture too (where
    # the CUDA calls of freeing them break the capture). And a capture runs with the collector off.
    from mgrfaults.systems.stack import PartStack, StackedSGD

    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    params = TrainParams.study(learning_rate=0.1, max_epochs=1, batch_size=16)
    x, y = torch.randn(100, DIM, device=device), torch.randint(0, 10, (100,), device=device)

    def model():
        return init_mlp(MLP(DIM, [16, 16], 10, "relu", [1.0, 0.8, 0.8]), seed=0).to(device)

    def resident_sgd():
        trainer = ResidentSGD(model(), x, y, 16, seed=0)
        trainer.set_hyper(0.1, 0.5)
        trainer.train_epoch(0)
        return trainer

    def stacked_sgd():
        trainer = StackedSGD([model(), model()], PartStack.of([(x, y), (x, y)]), 16, [0, 1])
        trainer.set_hyper([0.1, 0.1], [0.5, 0.5])
        trainer.train_epoch(0)
        return trainer

    def resident_run_with_validation():
        trainer = resident_run(model(), train, valid, params, device, resident=True)
        trainer.train_epoch(0, 0.1, 0.5)
        ResidentRun.valid_result(trainer.start_validation())
        return trainer

    collecting = gc.isenabled()
    gc.disable()
    try:
        for trained in (resident_sgd, stacked_sgd, resident_run_with_validation):
            gone = weakref.ref(trained())
            assert gone() is None, f"{trained.__name__}: freed only by the cyclic collector"
    finally:
        if collecting:
            gc.enable()
    seen = []
    trainer = ResidentSGD(model(), x, y, 16, seed=0)
    monkeypatch.setattr(trainer, "_capture_steps", lambda: seen.append(gc.isenabled()))
    trainer._capture()
    assert seen == [False] and gc.isenabled() == collecting
