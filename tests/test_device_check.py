"""What benchmarks/device_check.sh runs on a GPU machine whose image lacks the workflow's packages.

The wheels benchmarks/device_wheels.py carries there: what the project needs, followed through extras and the
markers as they read on Python 3.12, less what the image has.

The GPU tests' modules and the three benchmarks it calls import without Snakemake, librosa, soundfile,
audioread, pulp or jsonschema; grid.py's estimate of the grid's training time from measured epochs and
another machine's rates; grid_replay.py's training of each net of a nets table for its epochs.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from device_wheels import IMAGE_PACKAGES, machine_environment, requirement_closure, wheels_to_carry  # noqa: E402
from grid import epochs_logged, grid_conditions, grid_config, grid_coverage, one_net_seconds, run_for, rates_from, stacked_seconds  # noqa: E402
from grid_replay import time_breakdown  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ABSENT_ON_THE_GPU_IMAGE = ["snakemake", "librosa", "soundfile", "audioread", "pulp", "jsonschema", "soxr"]
BLOCK_AND_IMPORT = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {absent}:
            raise ImportError(f"{{name}} is not on the GPU image")
sys.meta_path.insert(0, Absent())
sys.path[:0] = ["src", "tests", "benchmarks"]
import test_dnn, test_resident, test_stack, train, grid, grid_replay, step_kernels
print("imported")
"""


def test_device_check_imports_nothing_the_gpu_image_lacks():
    code = BLOCK_AND_IMPORT.format(absent=set(ABSENT_ON_THE_GPU_IMAGE))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]
    # and the blocker does block: librosa, asked for, fails under it
    failed = subprocess.run([sys.executable, "-c", code.replace("import test_dnn,", "import librosa,")],
                            cwd=REPO, capture_output=True, text=True)
    assert failed.returncode != 0 and "is not on the GPU image" in failed.stderr


TABLE = pd.DataFrame(dict(units=[500, 500, 500, 50], epochs=[3, 1, 2, 4], train_frames=[1000, 600, 1000, 500],
                          net_frames=[3000, 600, 2000, 2000]))


def test_one_net_seconds_sums_each_nets_frames_at_its_rate():
    assert one_net_seconds(TABLE, {500: 100.0, 50: 1000.0}) == pytest.approx(5600 / 100 + 2000 / 1000)


def test_stacked_epochs_run_the_largest_active_part_for_every_active_net():
    rates = {500: {1: 100.0, 3: 200.0}, 50: {1: 1000.0, 4: 1000.0}}
    # 500 units: epoch 1 has 3 nets (3 x 1000 frames at 200/s), epoch 2 two (2 x 1000 at R(2) = 150/s
    # interpolated), epoch 3 one (1000 at 100/s); the one 50-unit net: 4 epochs of 500 frames at 1000/s
    expected = 3000 / 200 + 2000 / 150 + 1000 / 100 + 4 * 500 / 1000
    assert stacked_seconds(TABLE, rates) == pytest.approx(expected)


def test_rates_from_picks_the_workflows_loops_at_the_batch(tmp_path):
    rows = [dict(batch=1200, units=500, loop="resident graphs fp32", nets=1, frames_per_s=10.0),
            dict(batch=1200, units=500, loop="resident graphs tf32", nets=1, frames_per_s=99.0),
            dict(batch=1200, units=500, loop="stack of 4, graphs fp32", nets=4, frames_per_s=30.0),
            dict(batch=1200, units=500, loop="stack of 4, graphs bf16", nets=4, frames_per_s=99.0),
            dict(batch=1200, units=500, loop="pipeline (HDF5 stream)", nets=1, frames_per_s=99.0),
            dict(batch=100, units=500, loop="resident graphs fp32", nets=1, frames_per_s=99.0)]
    path = tmp_path / "train.json"
    path.write_text(json.dumps(dict(device="cuda", device_name="a GPU", rows=rows)))
    assert rates_from(path, 1200) == ("a GPU", {500: {1: 10.0, 4: 30.0}})
    with pytest.raises(SystemExit, match="no training rates at batch 50"):
        rates_from(path, 50)


@pytest.mark.parametrize("stack", [False, True])
def test_grid_replay_trains_each_net_for_its_tables_epochs_on_a_part_of_its_size(tmp_path, stack):
    table = tmp_path / "nets.tsv"
    table.write_text("# a grid run's nets\nnet\tcondition\tunits\tepochs\ttrain_frames\n50_RS\tstandard\t50\t3\t600\n"
                     "500_RSD\tfault_filtered\t500\t2\t400\n500_RS\tstandard\t500\t1\t600\n")
    out = tmp_path / "replay.json"
    done = subprocess.run([sys.executable, "benchmarks/grid_replay.py", "--nets-table", str(table),
                           "--frames-per-track", "40", "--valid-tracks", "5", "--device", "cpu", "--json", str(out),
                           "--precision", "tf32", "--compiled"] + ["--stack"] * stack,
                          cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": "src", "PATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    rows = {tuple(r["nets"]): r for r in figures["rows"]}
    # stacked: the 500-unit nets in one train_stack, each to its own epochs, on its own part (10 or 15 tracks)
    groups = [("50_RS",), ("500_RSD", "500_RS")] if stack else [("50_RS",), ("500_RSD",), ("500_RS",)]
    assert sorted(rows) == sorted(groups)
    assert (rows[("50_RS",)]["epochs"], rows[("50_RS",)]["train_frames"]) == ([3], [600])
    big = [rows[g] for g in groups if "500_RSD" in g][0]
    assert big["epochs"][0] == 2 and big["train_frames"][0] == 400 and big["conditions"][0] == "fault_filtered"
    assert figures["total_seconds"] == pytest.approx(sum(r["seconds"] for r in rows.values()), abs=0.05)
    assert "grid_replay.py --nets-table" in figures["command"]
    for r in rows.values():  # each net's lowest validation error; the step as it ran (a CPU: fp32, never compiled)
        errors = r["best_valid_frame_error"]
        assert len(errors) == len(r["nets"]) and all(0 <= e <= 1 for e in errors)
        assert (r["precision"], r["compiled"]) == ("fp32", False)
    alone = [r for r in rows.values() if len(r["nets"]) == 1]
    for r in alone:  # a net trained alone says where its seconds went, and its rate against the bare loop's
        assert 0 <= r["capture_s"] < r["seconds"] and r["setup_s"] < r["seconds"] and r["validation_pass_s"] > 0
        # of_loop is written to 3 decimals, so a small ratio (0.02 on a busy CPU) is within 0.0005 of the exact one
        assert r["of_loop"] == pytest.approx(r["frames_per_s"] / r["loop_frames_per_s"], rel=0.01, abs=6e-4)


def test_time_breakdown_splits_a_runs_seconds():
    # 0.5 s outside the epochs; the first epoch 0.4 s longer than the median later one; 4000 frames in 5 s
    # against a loop of 1000 frames/s: the run at 0.8 of the loop
    parts = time_breakdown(5.0, [1.4, 1.1, 1.0, 1.0], 0.1, 4000, 1000.0)
    assert parts == dict(setup_s=0.5, capture_s=pytest.approx(0.4), validation_pass_s=0.1, loop_frames_per_s=1000,
                         of_loop=0.8)
    assert time_breakdown(2.0, [1.5], 0.2, 10, 5.0)["capture_s"] == 0.0  # one epoch: nothing to compare with


def test_grid_replay_rejects_a_table_without_epochs(tmp_path):
    table = tmp_path / "nets.tsv"
    table.write_text("net\tunits\ttrain_frames\n50_RS\t50\t600\n")
    done = subprocess.run([sys.executable, "benchmarks/grid_replay.py", "--nets-table", str(table), "--device", "cpu"],
                          cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": "src", "PATH": ""})
    assert done.returncode != 0 and "epochs" in done.stderr and str(table) in done.stderr


def test_step_ops_counts_a_steps_matmuls_and_the_dropout_draws():
    from step_ops import step_ops

    plain, dropout = step_ops("RS", 20, 64), step_ops("RSD", 20, 64)
    # 4 forward matmuls (linear), 4 weight gradients and 3 input gradients (mm): the first layer's input needs none
    assert (plain["aten::linear"], plain["aten::mm"]) == (4, 7) == (dropout["aten::linear"], dropout["aten::mm"])
    assert plain["aten::bernoulli_"] == 0 and dropout["aten::bernoulli_"] == 4  # one mask per layer's input
    # the dropout scale folded into each mask: one multiplication forward per layer's input, one backward for
    # every layer but the first, and one scaling of the mask where the scale is not 1 (hidden layers: 2)
    assert (dropout["aten::mul"], dropout["aten::mul_"]) == (7, 3)
    # the bookkeeping: the batch rows advanced by one kernel, the predicted classes stored (errors counted
    # once an epoch), the gradient's seed preallocated
    assert plain["aten::add_"] == 2 and plain["aten::index_copy_"] == 1 and "aten::ones_like" not in plain
    assert sum(plain.values()) == 35 and sum(dropout.values()) == 49
    assert "aten::view" not in plain and "aten::empty" not in plain


def test_validation_ops_grow_with_the_batches_of_a_pass():
    from step_ops import validation_ops

    one, ten = validation_ops(20, 1000, 1000), validation_ops(20, 1000, 100)
    # the pass's two accumulators, then the same operations each batch: 4 forward matmuls among them
    per_batch = sum(one.values()) - 2
    assert one["aten::linear"] == 4 and sum(ten.values()) == 10 * per_batch + 2 and ten["aten::linear"] == 40
    assert sum(validation_ops(20, 1000).values()) == sum(one.values())  # the trainers' batches: one here


def test_grid_replay_names_a_condition_the_table_lacks(tmp_path):
    table = tmp_path / "nets.tsv"
    table.write_text("net\tcondition\tunits\tepochs\ttrain_frames\n50_RS\tstandard\t50\t3\t600\n")
    done = subprocess.run([sys.executable, "benchmarks/grid_replay.py", "--nets-table", str(table), "--device", "cpu",
                           "--conditions", "standard", "fault_filtered"],
                          cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": "src", "PATH": ""})
    assert done.returncode != 0 and "no nets of fault_filtered" in done.stderr
    assert "its conditions: standard" in done.stderr


def test_step_kernels_matmul_floor_runs_the_steps_eleven_matmuls():
    # the floor step_kernels.py times on a GPU: the products of a step of the study's net shape (3 hidden
    # layers), 4 forward (with bias), 4 weight gradients and 3 input gradients (none for the first layer's
    # input), as step_ops counts them
    import torch
    from step_kernels import matmul_chain

    run = matmul_chain([30, 20, 20, 20, 10], batch_size=8, precision="fp32", device=torch.device("cpu"))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    ops = [e.name for e in prof.events() if e.cpu_parent is None]
    assert (ops.count("aten::linear"), ops.count("aten::mm")) == (4, 7)


def test_the_wheels_carried_are_what_the_project_needs_and_the_image_lacks():
    carry = wheels_to_carry()
    # what the lent machines' image lacks (test_device_check_imports_nothing_the_gpu_image_lacks), and what
    # Snakemake's report and the SLURM executor need
    assert {"snakemake", "librosa", "soundfile", "audioread", "pulp", "jsonschema", "soxr", "snakemake-executor-plugin-slurm",
            "rpds-py", "pydantic-core"} <= set(carry)
    assert not {"numpy", "scipy", "pandas", "h5py", "torch", "scikit-learn", "pyyaml", "pygments"} & set(carry)
    assert "mgrfaults" not in carry and set(carry).isdisjoint(IMAGE_PACKAGES)
    import importlib.metadata
    assert carry["snakemake"] == importlib.metadata.version("snakemake")  # the versions CI tests


def test_the_closure_follows_extras_and_reads_markers_as_on_the_machine():
    requires = {
        "app": ["lib[fast]>=1", "old; python_version < '3.11'", "linux-only; sys_platform == 'linux'",
                "win-only; sys_platform == 'win32'", "docs; extra == 'docs'"],
        "lib": ["core", "speedup; extra == 'fast'"],
        "core": ["lib"],  # a cycle ends
        "speedup": [], "linux-only": [], "old": [], "win-only": [], "docs": [],
    }
    closure = requirement_closure("app", machine_environment("3.12.3"), requires.__getitem__)
    assert closure == {"lib": {"fast"}, "core": set(), "speedup": set(), "linux-only": set()}
    # a package the machine provides is listed, its own requirements left to it
    assert requirement_closure("app", machine_environment("3.12.3"), requires.__getitem__, provided={"lib"}) == {
        "lib": {"fast"}, "linux-only": set()}
    assert "old" in requirement_closure("app", machine_environment("3.10.4"), requires.__getitem__)


def test_epochs_logged_reads_a_nets_own_log_and_its_stacks(tmp_path):
    logs = tmp_path / "logs" / "train"
    (logs / "50_RS" / "standard").mkdir(parents=True)
    (logs / "50_RS" / "standard" / "fold_0.log").write_text(
        "x INFO 50_RS epoch 0: loss 2\nx INFO 50_RS epoch 1: loss 2\n")
    (logs / "stack_500x3_relu_b1200.log").write_text(
        "x INFO training 2 nets at once\n" + "".join(
            f"x INFO {net} {condition} fold 0 epoch {e}: loss 1\n"
            for e in range(3) for net in ("500_RS", "500_RSD") for condition in ("standard", "fault_filtered")
            if not (net == "500_RSD" and condition == "fault_filtered" and e == 2)))
    assert epochs_logged(tmp_path, "50_RS", "standard") == 2
    assert epochs_logged(tmp_path, "50_RS", "fault_filtered") == 0
    assert epochs_logged(tmp_path, "500_RS", "standard") == 3  # not 500_RSD's lines
    assert epochs_logged(tmp_path, "500_RSD", "fault_filtered") == 2


def test_the_grid_runs_gtzan_yamls_four_conditions_where_the_lists_are_given(tmp_path):
    from mgrfaults.config import load_config

    assert list(grid_conditions()) == ["standard", "fault_filtered"]
    conditions = grid_conditions(str(tmp_path))
    study = load_config(REPO / "config" / "gtzan.yaml")["partitions"]["conditions"]
    assert list(conditions) == list(study)  # the study's four, in its order
    for name in ("published_filtered", "published_stratified"):
        assert conditions[name]["method"] == "published" and conditions[name]["set"] == study[name].get("set", "filtered")
        assert conditions[name]["lists"] == str(tmp_path.resolve()) and conditions[name]["check_artists"] is False
    # the grid's config is one the workflow accepts
    config = grid_config("tiny", "cpu", "never", 2, 2, conditions)
    (tmp_path / "grid.yaml").write_text(__import__("yaml").safe_dump(config))
    for name in ("train", "valid", "test"):
        for kind in ("filtered", "stratified"):
            (tmp_path / f"{name}_{kind}.txt").write_text("blues.00000\n")
    from mgrfaults.config import check_config, resolve

    loaded = load_config(tmp_path / "grid.yaml")
    check_config(loaded)  # the lists folder holds the six lists the two published conditions read
    assert list(resolve(loaded).conditions) == list(study)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_run_for_stops_its_command_at_the_limit_and_kills_one_that_ignores_sigterm(tmp_path):
    seconds, code = run_for(["sleep", "30"], 0.5)
    assert code is None and 0.5 <= seconds < 10
    assert run_for(["true"], 10)[1] == 0 and run_for(["false"], None)[1] == 1
    pidfile = tmp_path / "pid"
    stubborn = [sys.executable, "-c", "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                f"open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"]
    killed = []
    seconds, code = run_for(stubborn, 1.0, grace=0.5, after_kill=lambda: killed.append(True))
    assert code is None and killed == [True] and _gone(int(pidfile.read_text()))


def test_run_for_passes_a_sigterm_on_to_its_command(tmp_path):
    # the device check's time limit signals grid.py's own process group; Snakemake runs in a session of its own
    pidfile = tmp_path / "pid"
    child = [sys.executable, "-c", f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"]
    script = (f"import sys; sys.path.insert(0, 'benchmarks'); sys.path.insert(0, 'src'); from grid import run_for; "
              f"print('stopped' if run_for({child!r}, None)[1] is None else 'ended')")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text():
            break
        __import__("time").sleep(0.1)
    parent.send_signal(__import__("signal").SIGTERM)
    out, _ = parent.communicate(timeout=30)
    assert "stopped" in out and _gone(int(pidfile.read_text()))


def test_grid_coverage_names_the_nets_an_estimate_leaves_out():
    study = ["standard", "fault_filtered", "published_filtered", "published_stratified"]
    nets = ["50_RS", "50_RSD", "500_RS", "500_RSD"]
    full = pd.DataFrame([dict(net=n, condition=c) for c in study for n in nets])
    assert grid_coverage(full) == "the table holds config/gtzan.yaml's 16 nets"
    text = grid_coverage(full[~((full.net == "500_RS") & (full.condition == "published_filtered"))])
    assert "holds 15 of config/gtzan.yaml's 16 nets; not estimated: 500_RS/published_filtered (" in text


def device_check(tmp_path, **env):
    """Run benchmarks/device_check.sh on this machine with ``env``; return (exit status, output)."""
    done = subprocess.run(["bash", "benchmarks/device_check.sh", str(tmp_path / "out")], cwd=REPO, capture_output=True,
                          text=True, env=dict(os.environ, PYTHON=sys.executable, **env))
    return done.returncode, done.stdout + done.stderr


def test_device_check_runs_its_steps_in_the_order_named(tmp_path):
    # kernels needs a GPU (exit 2 here); grid_replay trains one epoch of a small part on the CPU
    status, output = device_check(tmp_path, STEPS="grid_replay kernels", REPLAY_ARGS=(
        "--train-frames 600 --frames-per-track 40 --valid-tracks 5 --max-epochs 1 --device cpu --conditions standard"))
    assert output.index("== grid_replay: exit 0") < output.index("== kernels: exit 2")
    assert status == 1 and "failed: kernels" in output
    assert (tmp_path / "out" / "replay.json").exists()


def test_device_check_skips_the_steps_its_budget_leaves_no_time_for(tmp_path):
    status, output = device_check(tmp_path, STEPS="kernels grid_replay", BUDGET_S="0")
    assert "== kernels: skipped" in output and "== grid_replay: skipped" in output
    assert "skipped (less than 20 s of BUDGET_S=0 left): kernels grid_replay" in output
    assert status == 1 and not (tmp_path / "out" / "kernels.txt").exists()
    status, output = device_check(tmp_path, STEPS="kernels", BUDGET_S="9 minutes")
    assert status == 2 and "BUDGET_S: a whole number of seconds" in output


def test_train_writes_its_figures_after_each_batch_size(tmp_path, monkeypatch):
    # a device check's step stopped at its limit (autotuned, compiled, train) keeps the rows it measured in its JSON,
    # not only in its text output: the figures are rewritten after each batch size, not once at the end
    import train

    written = []
    monkeypatch.setattr(train, "write_figures", lambda path, *args: written.append([r["batch"] for r in args[-1]]))
    monkeypatch.setattr(sys, "argv", ["train.py", "--device", "cpu", "--tracks", "10", "--frames", "30", "--units", "8",
                                      "--batch-sizes", "64", "32", "--loops", "resident eager", "--epochs", "1",
                                      "--peak-size", "64", "--threads", "1", "--json", str(tmp_path / "t.json")])
    train.main()
    assert written[:2] == [[64], [64, 32]]
