"""End to end: the workflow on the tiny synthetic preset, its lint, and a run with another seed.

The killed-and-resumed run, and the byte-identical rerun it doubles as, are in test_resume.py."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml

from conftest import REDUCED_CONFIG, REPO, TINY_CONFIG, deep_update, run_snakemake
from mgrfaults.config import load_config, resolve

pytestmark = pytest.mark.workflow


def default_config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def expected_runs():
    resolved = resolve(load_config())
    systems = list(resolved.systems) + list(TINY_CONFIG["systems"]["custom"])  # the tiny run's plugin too
    return [(s, c, f) for s in systems for c, n in resolved.folds.items() for f in range(n)]


def test_tiny_run_produces_the_study(tiny_run):
    results = tiny_run / "results"
    meta = pd.read_csv(results / "dataset" / "metadata.csv", keep_default_na=False)
    assert len(meta) == 120 and meta["genre"].nunique() == 10
    assert sorted(p.name for p in (results / "features" / "frames").glob("*.h5"))
    for system, condition, fold in expected_runs():
        pred = pd.read_csv(results / "predictions" / system / condition / f"fold_{fold}.csv")
        part = pd.read_csv(results / "partitions" / condition / f"fold_{fold}.csv")
        assert set(pred["track_id"]) == set(part.loc[part["part"] == "test", "track_id"]), (system, condition)
    runs = pd.read_csv(results / "tables" / "runs.csv")
    assert {"system", "condition", "fold", "accuracy", "normalized_accuracy"} <= set(runs.columns)
    assert len(runs) == len(expected_runs())
    assert runs["accuracy"].between(0, 1).all() and runs["normalized_accuracy"].between(0, 1).all()
    # nothing half-written stays behind
    assert not [p for p in results.rglob("*") if p.name.startswith(".") and p.name.endswith((".tmp", ".h5", ".csv"))]


def test_lint_is_clean(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "-s", str(REPO / "Snakefile"),
                           "--directory", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert "Congratulations" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-4000:]


def test_a_second_checkouts_jobs_run_its_own_library(tmp_path):
    """Run from a copy of the workflow, a job's script imports the copy's library, not the one pip installed
    (this repository, installed editable): each job's log names the library it ran."""
    import shutil

    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("Snakefile", "workflow", "src", "config", "resources", "profiles"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, copy / name)
    work = tmp_path / "run"
    work.mkdir()
    (work / "config.yaml").write_text(yaml.safe_dump(REDUCED_CONFIG))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "results/dataset/metadata.csv", "-s",
                           str(copy / "Snakefile"), "--cores", "1", "--configfile", "config.yaml"],
                          cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    log = (work / "results" / "logs" / "data" / "synth_dataset.log").read_text()
    assert f"library: {copy / 'src' / 'mgrfaults'}" in log, log[:2000]


def test_other_seed_gives_other_partitions_and_models(tiny_run, tmp_path):
    config = deep_update(TINY_CONFIG, {"seed": default_config()["seed"] + 1})
    target = "results/predictions/50_RS/standard/fold_0.csv"
    run_snakemake(tmp_path, config, targets=[target])
    assert (tmp_path / "results/partitions/standard/fold_0.csv").read_bytes() != (
        tiny_run / "results/partitions/standard/fold_0.csv"
    ).read_bytes()
    assert (tmp_path / target).read_bytes() != (tiny_run / target).read_bytes()
    audio = "results/dataset/audio/blues/blues.00000.au"
    assert (tmp_path / audio).read_bytes() != (tiny_run / audio).read_bytes()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_the_workflows_nets_train_on_cuda_as_one_stack(tmp_path):
    # the GPU path through Snakemake itself: systems.device cuda, the nets of one shape in one train_stack job
    # (systems.dnn.stack: auto on a GPU), each net's model and test predictions written as on a CPU
    nets = ["50_RS", "50_RSD"]
    config = deep_update(TINY_CONFIG, {"systems": {"run": nets, "device": "cuda"}, "evaluate": {"figure_of_merit": nets}})
    config["systems"] = {k: v for k, v in config["systems"].items() if k != "custom"}
    targets = [f"results/predictions/{net}/standard/fold_0.csv" for net in nets]
    run_snakemake(tmp_path, config, targets=targets)
    results = tmp_path / "results"
    part = pd.read_csv(results / "partitions" / "standard" / "fold_0.csv")
    for net in nets:
        info = torch.load(results / "models" / net / "standard" / "fold_0.pt", weights_only=True)["info"]
        assert info["device"].startswith("cuda") and len(info["stack"]) >= 2, info
        pred = pd.read_csv(results / "predictions" / net / "standard" / "fold_0.csv")
        assert set(pred["track_id"]) == set(part.loc[part["part"] == "test", "track_id"])
    # trained at once (a stack whose parts do not fit the device trains its nets in turn, under the same labels)
    (stack_log,) = (results / "logs" / "train").glob("stack_*.log")
    assert "training 4 nets at once on cuda" in stack_log.read_text()
