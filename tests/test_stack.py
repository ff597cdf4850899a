"""Stacked training of same-shape nets: per net, the solo device-resident run's semantics."""

import copy
import shutil

import pandas as pd
import pytest
import torch

from conftest import TINY_CONFIG, deep_update, run_snakemake
from mgrfaults.workdir import RESULTS_MARK_FILE
from mgrfaults.config import complete_dnn_variants, schema_defaults
from mgrfaults.systems.dnn import MLP, TrainParams, init_mlp, load_model, train_mlp
from mgrfaults.systems.names import net_specs, net_stacks, parse_system, stack_nets
from mgrfaults.systems.resident import ResidentSGD, resident_part
from mgrfaults.systems import stack as stack_module
from mgrfaults.systems.dnn import train_net_files
from mgrfaults.systems.stack import PartStack, StackedSGD, stack_fits, train_stack, train_stack_files
from test_dnn import DATA, DEVICES, DIM, VARIANT, batches_for, make_run, one_thread  # noqa: F401 (a fixture)


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def nets(n, hidden=(16, 16), keep=None, seed=0, device="cpu"):
    return [init_mlp(MLP(DIM, list(hidden), 10, "relu", keep), seed=seed + i).to(device) for i in range(n)]


@pytest.mark.parametrize("use_graphs", [False, True])
def test_stacked_epochs_equal_each_nets_solo_run(tmp_path, device, use_graphs):
    """Three nets, two on one part and one on a smaller part (fewer steps: padded and gated off),
    each with its own seed, learning rate and momentum: after two epochs every net's parameters,
    loss and frame error are those of its ResidentSGD run."""
    if use_graphs and device == "cpu":
        pytest.skip("CUDA graphs need a GPU")
    paths, _, partition, _ = make_run(tmp_path, n_per_class=12)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    other, _, _ = batches_for(paths, partition, "valid", batch_size=16, seed=0)
    big, small = resident_part(train, device), resident_part(other, device)
    assert len(big[1]) // 16 > len(small[1]) // 16 + 2 and len(small[1]) % 16  # padded steps, a smaller last batch
    models = nets(3, device=device)
    solo = copy.deepcopy(models)
    parts, seeds = [big, big, small], [5, 6, 7]
    hyper = [[(0.05, 0.5), (0.1, 0.9), (0.02, 0.5)], [(0.02, 0.9), (0.05, 0.6), (0.01, 0.7)]]
    stack = StackedSGD(models, PartStack.of(parts), 16, seeds, use_graphs=use_graphs, steps_per_graph=3)
    assert stack.x.data_ptr() != big[0].data_ptr() and len(stack.y) == len(big[1]) + len(small[1])  # big held once
    assert stack.starts == [0, 0, len(big[1])]
    trainers = [ResidentSGD(m, x, y, 16, seed=s, use_graphs=use_graphs, steps_per_graph=3)
                for m, (x, y), s in zip(solo, parts, seeds)]
    for epoch, rates in enumerate(hyper):
        stack.set_hyper(*zip(*rates))
        got = stack.train_epoch(epoch)
        for k, (trainer, (lr, momentum)) in enumerate(zip(trainers, rates)):
            trainer.set_hyper(lr, momentum)
            want = trainer.train_epoch(epoch)
            assert got[k][2] == want[2] == len(parts[k][1])
            assert got[k][0] == pytest.approx(want[0], rel=1e-4) and got[k][1] == pytest.approx(want[1])
    for k, model in enumerate(models):
        stack.write_back(k, model)
        for p, q in zip(model.parameters(), solo[k].parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert not torch.equal(models[0].layers[0].weight, models[1].layers[0].weight)


def test_stacked_frames_per_epoch_and_resumed_momentum(tmp_path, device):
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    part = resident_part(train, device)
    models = nets(2, device=device)
    solo = copy.deepcopy(models)
    stack = StackedSGD(models, PartStack.of([part, part]), 16, [1, 2], frames_per_epoch=[50, None])
    stack.set_hyper([0.05, 0.05], [0.9, 0.9])
    assert [r[2] for r in stack.train_epoch(0)] == [50, len(part[1])]
    # a stack rebuilt with net 1 alone (net 0 stopped) carries its momentum: as if it had never been rebuilt
    stack.write_back(1, models[1])
    alone = StackedSGD([models[1]], PartStack.of([part]), 16, [2], buffers=[stack.buffers(1)])
    assert alone.x is part[0]  # one part: held as it is, no copy
    reference = ResidentSGD(solo[1], *part, 16, seed=2)
    for epoch in range(2):
        reference.set_hyper(0.05, 0.9)
        reference.train_epoch(epoch)
    alone.set_hyper([0.05], [0.9])
    alone.train_epoch(1)
    alone.write_back(0, models[1])
    for p, q in zip(models[1].parameters(), solo[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_stacked_dropout_is_per_net(device):
    torch.manual_seed(0)
    models = nets(2, hidden=(32,), keep=None, device=device)
    models[1] = init_mlp(MLP(DIM, [32], 10, "relu", [0.5, 0.75], [2.0, 1.5]), seed=1).to(device)
    part = (torch.randn(64, DIM, device=device), torch.zeros(64, dtype=torch.int64, device=device))
    stack = StackedSGD(models, PartStack.of([part, part]), 16, [0, 1])
    assert stack.dropout_layers == {0, 1}
    x = torch.randn(2, 4000, DIM, device=device)
    trained, evaluated = stack.forward(x, train=True), stack.forward(x, train=False)
    torch.testing.assert_close(trained[0], evaluated[0])  # net 0 has no dropout
    assert not torch.allclose(trained[1], evaluated[1])
    # the share of units net 1 keeps on its input layer: its keep probability
    first = torch.bernoulli(stack.keep[0].expand(2, 4000, DIM))
    assert first[0].mean().item() == 1.0 and first[1].mean().item() == pytest.approx(0.5, abs=0.02)
    with torch.no_grad():  # evaluation: the nets' own forward passes
        for k, model in enumerate(models):
            torch.testing.assert_close(evaluated[k], model.eval()(x[k]), rtol=1e-5, atol=1e-5)


def test_stacked_raw_spectrum_dropout_is_per_net(device):
    # the raw spectrum's dropout before standardising (settings: job_script): only for the net that has it, with its
    # own offset (mean / std); the stack's first draw of a step is that mask, so it is drawn again here
    torch.manual_seed(0)
    offset = torch.rand(DIM) + 0.5
    models = nets(1, hidden=(32,), device=device)
    models.append(init_mlp(MLP(DIM, [32], 10, "relu", raw_keep=0.75, raw_scale=2.0, raw_offset=offset.numpy()),
                           seed=1).to(device))
    part = (torch.randn(64, DIM, device=device), torch.zeros(64, dtype=torch.int64, device=device))
    stack = StackedSGD(models, PartStack.of([part, part]), 16, [0, 1])
    assert stack.raw_dropout and stack.dropout_layers == set()
    assert stack.raw_offset[0].abs().sum().item() == 0.0
    x = torch.randn(2, 4000, DIM, device=device)
    torch.manual_seed(3)
    trained = stack.forward(x, train=True)
    torch.manual_seed(3)
    kept = torch.bernoulli(stack.raw_keep.expand(x.shape))
    assert kept[0].mean().item() == 1.0 and kept[1].mean().item() == pytest.approx(0.75, abs=0.02)
    with torch.no_grad():
        torch.testing.assert_close(trained[0], models[0].eval()(x[0]))  # net 0: its input unchanged
        dropped = x[1] * kept[1] * 2.0 + offset.to(device) * (kept[1] * 2.0 - 1.0)
        torch.testing.assert_close(trained[1], models[1].eval()(dropped), rtol=1e-5, atol=1e-5)


def test_train_stack_equals_train_mlp_per_net(tmp_path, device):
    """Early stopping per net: a net with less patience leaves the stack (rebuilt without it), the
    others go on; every net's log and best parameters are those of its own resident train_mlp."""
    paths, _, partition, _ = make_run(tmp_path, n_per_class=10)
    trains, valids = [], []
    for seed in (3, 4, 5):
        trains.append(batches_for(paths, partition, "train", batch_size=16, seed=seed)[0])
        valids.append(batches_for(paths, partition, "valid", batch_size=256, shuffle=False)[0])
    params = [TrainParams.study(learning_rate=lr, saturate=4, patience=patience, max_epochs=max_epochs,
                                batch_size=16, min_improvement=0.5)
              for lr, patience, max_epochs in [(0.05, 1, 8), (0.1, 3, 8), (0.02, 8, 5)]]
    models = nets(3, device=device)
    solo = copy.deepcopy(models)
    got = train_stack(models, trains, valids, params, [11, 12, 13], device)
    lengths = []
    for k in range(3):
        model, log = train_mlp(solo[k], trains[k], valids[k], params[k], seed=11 + k, device=device, resident=True)
        got_model, got_log = got[k]
        assert list(got_log.columns) == list(log.columns) and len(got_log) == len(log)
        assert list(got_log.stop) == list(log.stop) and got_model.best_epoch == model.best_epoch
        cols = ["loss", "train_frame_error", "valid_frame_error", "learning_rate", "momentum"]
        torch.testing.assert_close(torch.tensor(got_log[cols].values), torch.tensor(log[cols].values),
                                   rtol=1e-4, atol=1e-5)
        for p, q in zip(got_model.parameters(), model.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
        lengths.append(len(log))
    assert lengths[2] == 5 and len(set(lengths)) > 1  # max_epochs and patience ended nets at different epochs
    assert got[2][1].stop.iloc[-1] == "max_epochs"


def test_train_stack_validates_each_epoch_while_the_next_trains(tmp_path, device, monkeypatch):
    """Epoch e is validated while e + 1 trains: a net that e ends leaves the stack after e + 1 (that epoch
    dropped for it, the others going on from theirs), and no epoch is trained past every net's max_epochs."""
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    params = [TrainParams.study(learning_rate=0.05, patience=100, max_epochs=m, batch_size=16) for m in (2, 4)]
    launched = []
    launch = StackedSGD.launch_epoch
    monkeypatch.setattr(StackedSGD, "launch_epoch", lambda self, epoch: launched.append((self.k, epoch)) or
                        launch(self, epoch))
    models = nets(2, device=device)
    solo = copy.deepcopy(models)
    got = train_stack(models, [train] * 2, [valid] * 2, params, [1, 2], device)
    # both nets train epochs 0-2 (epoch 2 dropped for the first, which epoch 1 ended), the second alone epoch 3
    assert launched == [(2, 0), (2, 1), (2, 2), (1, 3)]
    assert [len(log) for _, log in got] == [2, 4] and [log.stop.iloc[-1] for _, log in got] == ["max_epochs"] * 2
    for k in range(2):
        model, log = train_mlp(solo[k], train, valid, params[k], seed=1 + k, device=device, resident=True)
        cols = ["loss", "train_frame_error", "valid_frame_error", "valid_loss"]
        torch.testing.assert_close(torch.tensor(got[k][1][cols].values), torch.tensor(log[cols].values),
                                   rtol=1e-4, atol=1e-5)
        for p, q in zip(got[k][0].parameters(), model.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="max_epochs of at least 1"):
        train_stack(nets(1), [train], [valid], [TrainParams.study(max_epochs=0, batch_size=16)], [0], "cpu")


def test_stack_refuses_what_it_cannot_stack(tmp_path):
    paths, _, partition, _ = make_run(tmp_path)
    train, _, _ = batches_for(paths, partition, "train", batch_size=16, seed=0)
    valid, _, _ = batches_for(paths, partition, "valid", batch_size=256, shuffle=False)
    part = resident_part(train, "cpu")
    with pytest.raises(ValueError, match="share one shape"):
        StackedSGD(nets(1) + nets(1, hidden=(8, 8)), PartStack.of([part, part]), 16, [0, 1])
    with pytest.raises(ValueError, match="one part and one seed"):
        StackedSGD(nets(2), PartStack.of([part]), 16, [0, 1])
    rs = TrainParams.study(batch_size=16)
    with pytest.raises(ValueError, match="SGD nets only"):
        train_stack(nets(2), [train] * 2, [valid] * 2, [rs, TrainParams.study(optimizer="hf")], [0, 1], "cpu")
    with pytest.raises(ValueError, match="one batch size"):
        train_stack(nets(2), [train] * 2, [valid] * 2, [rs, TrainParams.study(batch_size=32)], [0, 1], "cpu")
    assert stack_fits([train, train], [valid], "cpu")


def test_train_stack_files_writes_each_net_and_falls_back_when_parts_do_not_fit(tmp_path, one_thread, device,
                                                                               monkeypatch):
    paths, metadata, partition, _ = make_run(tmp_path)
    systems = ["20_RS", "20_RSD"]

    def members(tag):
        return [dict(spec=parse_system(net), variant=VARIANT, partition=partition, seed=7 + i, label=f"{net} {tag}",
                     model=tmp_path / f"{tag}_{net}.pt", training_log=tmp_path / f"{tag}_{net}_log.csv")
                for i, net in enumerate(systems)]

    def state(path):
        return load_model(path)[0].state_dict()

    from mgrfaults.systems import dnn as dnn_module

    standardised = []  # the training parts whose statistics were computed: one pass for the stack's two nets
    stats = dnn_module.standardisation_stats
    monkeypatch.setattr(dnn_module, "standardisation_stats", lambda store, ids: standardised.append(ids) or
                        stats(store, ids))
    for tag in ("a", "b"):
        logs = train_stack_files(paths, metadata, members(tag), DATA, device=device)
        assert [len(log) for log in logs] == [len(pd.read_csv(m["training_log"])) for m in members(tag)]
    assert len(standardised) == 2  # one a stack
    for net in systems:
        _, meta = load_model(tmp_path / f"a_{net}.pt")
        assert meta["info"]["stack"] == ["20_RS a", "20_RSD a"] and meta["info"]["net"] == net
        for (key, got), want in zip(state(tmp_path / f"a_{net}.pt").items(), state(tmp_path / f"b_{net}.pt").values()):
            assert torch.equal(got, want), key  # a rerun writes the same nets
    # parts too big for the device together: each net trains alone, exactly as train_net_files trains it
    monkeypatch.setattr(stack_module, "stack_fits", lambda *args: False)
    train_stack_files(paths, metadata, members("alone"), DATA, device=device)
    for i, net in enumerate(systems):
        train_net_files(paths, partition, metadata, parse_system(net), VARIANT, DATA, 7 + i,
                        tmp_path / f"solo_{net}.pt", tmp_path / f"solo_{net}_log.csv", device=device)
        solo = state(tmp_path / f"solo_{net}.pt")
        for key, got in state(tmp_path / f"alone_{net}.pt").items():
            assert torch.equal(got, solo[key]), key
        assert not torch.equal(state(tmp_path / f"a_{net}.pt")["layers.0.weight"], solo["layers.0.weight"])


def test_net_stacks_group_sgd_nets_by_shape_and_batch():
    nets = net_specs({name: parse_system(name) for name in
                      ["50_RS", "50_RSD", "500_RSD", "500_RS", "500_RSP", "50_RH", "500_RS_AF_LAll", "50_SSD"]})
    dnn = complete_dnn_variants({})
    stacks = net_stacks(nets, dnn)
    # 50_SSD: sigmoid; 50_RH: Hessian-free; so 50-unit ReLU SGD nets are one stack, 500-unit ones another
    assert stacks == {"50x3_relu_b1200": ["50_RS", "50_RSD"], "500x3_relu_b1200": ["500_RSD", "500_RS", "500_RSP"]}
    dnn["variants"]["RSD"]["batch_size"] = 100  # another batch size: another stack, and a net alone trains alone
    assert net_stacks(nets, dnn) == {"500x3_relu_b1200": ["500_RS", "500_RSP"]}


def test_stack_nets_decides_at_planning(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert schema_defaults()["systems.dnn.stack"] == "auto"
    gpus, dev = tmp_path / "gpus", tmp_path / "dev"
    dev.mkdir()
    (dev / "nvidiactl").touch()  # the driver's control file alone is no GPU
    assert not stack_nets("auto", "auto", gpus, dev) and stack_nets("auto", "cuda", gpus, dev)
    assert not stack_nets("auto", "cpu", gpus, dev)
    (gpus / "0000:00:1e.0").mkdir(parents=True)  # the driver lists a GPU
    assert stack_nets("auto", "auto", gpus, dev) and not stack_nets("auto", "cpu", gpus, dev)
    assert stack_nets("always", "cpu", gpus, dev) and not stack_nets("never", "cuda", gpus, dev)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not stack_nets("auto", "auto", gpus, dev)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    (gpus / "0000:00:1e.0").rmdir()
    (dev / "nvidia0").touch()  # a container: the device file, no driver folder
    assert stack_nets("auto", "auto", gpus, dev)


@pytest.mark.workflow
def test_workflow_trains_a_stack_in_one_job(tiny_run, tmp_path):
    """systems.dnn.stack: always on the tiny run's data: the 50-unit nets of both conditions train in one
    job, which writes exactly what their train_net jobs write, the same test excerpts predicted."""
    workdir = tmp_path / "stacked"
    shutil.copytree(tiny_run / "results", workdir / "results")  # mtimes kept, no metadata: nothing upstream reruns
    (workdir / "results" / RESULTS_MARK_FILE).unlink()  # taken as this folder's own, as they are (mgrfaults.workdir)
    config = deep_update(TINY_CONFIG, {"systems": {"dnn": {"stack": "always"}}})
    members = [(net, condition) for net in ("50_RS", "50_RSD") for condition in ("standard", "fault_filtered")]
    targets = [f"results/predictions/{net}_sum/{condition}/fold_0.csv" for net, condition in members]
    run = run_snakemake(workdir, config, targets, ["--forcerun", "train_stack_50x3_relu_b1200"]).stdout
    plan = run[run.index("Job stats"):]
    assert "train_stack_50x3_relu_b1200        1" in plan and "train_net" not in plan, plan
    for net, condition in members:
        model, meta = load_model(workdir / f"results/models/{net}/{condition}/fold_0.pt")
        assert meta["info"]["net"] == net and len(meta["info"]["stack"]) == 4
        assert meta["info"]["data"]["cache_mb"] == 0 and model.hidden_units == [50, 50, 50]
        log = pd.read_csv(workdir / f"results/training/{net}/{condition}/fold_0_log.csv")
        alone = pd.read_csv(tiny_run / f"results/training/{net}/{condition}/fold_0_log.csv")
        assert list(log.columns) == list(alone.columns) and log.stop.iloc[-1] in ("patience", "max_epochs")
        for system in (net, f"{net}_sum"):
            stacked = pd.read_csv(workdir / f"results/predictions/{system}/{condition}/fold_0.csv")
            reference = pd.read_csv(tiny_run / f"results/predictions/{system}/{condition}/fold_0.csv")
            pd.testing.assert_frame_equal(stacked[["track_id", "true"]], reference[["track_id", "true"]])
