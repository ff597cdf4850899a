"""End to end: the workflow on the tiny synthetic preset, killed and resumed, and rerun for determinism."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, TINY_CONFIG, deep_update, run_snakemake
from mgrfaults.config import load_config, resolve

# one xdist worker runs this module: resumed_run (module scope) runs once
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("test_workflow")]

RUNS_TABLE = "results/tables/runs.csv"


def default_config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def expected_runs():
    resolved = resolve(load_config())
    systems = list(resolved.systems) + list(TINY_CONFIG["systems"]["custom"])  # the tiny run's plugin too
    return [(s, c, f) for s in systems for c, n in resolved.folds.items() for f in range(n)]


def result_files(workdir: Path, pattern: str) -> dict[str, bytes]:
    root = workdir / "results"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))}


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


def wait_for(predicate, process, timeout=900.0):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def kill_group(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    """The tiny pipeline killed with SIGKILL during feature extraction and again during training, then resumed.

    It builds the runs table (every stage up to it: data, features, partitions, training, predictions,
    evaluation); the figures, faults pages and report read that table and are the shared tiny run's to test.
    """
    workdir = tmp_path_factory.mktemp("killed_run")
    configfile = workdir / "test_config.yaml"
    configfile.write_text(yaml.safe_dump(TINY_CONFIG))
    cmd = [sys.executable, "-m", "snakemake", RUNS_TABLE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", "--configfile", str(configfile)]
    results = workdir / "results"
    kills = []
    for stage, started in (
        ("features", lambda: any((results / "features").rglob("*"))),
        ("training", lambda: any((results / "models").rglob("*")) if (results / "models").exists() else False),
    ):
        subprocess.run(cmd + ["--unlock"], cwd=workdir, capture_output=True)
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        if wait_for(started, proc):
            kill_group(proc)
            kills.append(stage)
        else:
            proc.wait()
    subprocess.run(cmd + ["--unlock"], cwd=workdir, capture_output=True)
    run_snakemake(workdir, TINY_CONFIG, targets=[RUNS_TABLE])
    return workdir, kills


def test_kill_and_resume_gives_the_same_tables(tiny_run, resumed_run):
    workdir, kills = resumed_run
    assert kills == ["features", "training"], f"the run was killed during {kills} only"
    assert (workdir / "results" / "tables" / "runs.csv").read_bytes() == (
        tiny_run / "results" / "tables" / "runs.csv"
    ).read_bytes()


def test_same_seed_gives_byte_identical_predictions(tiny_run, resumed_run):
    workdir, _ = resumed_run
    first, second = result_files(tiny_run, "predictions/**/*.csv"), result_files(workdir, "predictions/**/*.csv")
    assert first and first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    assert result_files(tiny_run, "partitions/**/*.csv") == result_files(workdir, "partitions/**/*.csv")


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
