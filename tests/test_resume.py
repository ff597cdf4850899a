"""End to end: the tiny pipeline killed with SIGKILL twice and resumed gives the same tables, and the
same seed gives byte-identical predictions and partitions (the resumed run against the shared tiny run).

A module of its own, so that an xdist worker other than the one building the shared tiny run can run it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, TINY_CONFIG, run_snakemake

# one xdist worker runs this module: resumed_run (module scope) runs once
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("test_resume")]

RUNS_TABLE = "results/tables/runs.csv"


def result_files(workdir: Path, pattern: str) -> dict[str, bytes]:
    root = workdir / "results"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))}


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


def test_kill_and_resume_gives_the_same_tables(resumed_run, tiny_run):
    workdir, kills = resumed_run
    assert kills == ["features", "training"], f"the run was killed during {kills} only"
    assert (workdir / "results" / "tables" / "runs.csv").read_bytes() == (
        tiny_run / "results" / "tables" / "runs.csv"
    ).read_bytes()


def test_same_seed_gives_byte_identical_predictions(resumed_run, tiny_run):
    workdir, _ = resumed_run
    first, second = result_files(tiny_run, "predictions/**/*.csv"), result_files(workdir, "predictions/**/*.csv")
    assert first and first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    assert result_files(tiny_run, "partitions/**/*.csv") == result_files(workdir, "partitions/**/*.csv")
