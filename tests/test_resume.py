"""End to end: a pipeline killed with SIGKILL twice and resumed gives the same results, byte for byte, as
the shared tiny run (same seed): metadata, partitions, predictions and the runs table's rows.

A module of its own, so that an xdist worker other than the one building the shared tiny run can run it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REDUCED_CONFIG, REPO, assert_same_results, run_snakemake

# one xdist worker runs this module: resumed_run (module scope) runs once
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("test_resume")]

RUNS_TABLE = "results/tables/runs.csv"


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
    """The reduced pipeline (conftest.REDUCED_CONFIG) killed with SIGKILL during feature extraction and again
    during training, then resumed on one core.

    It builds the runs table (every stage up to it: data, features, partitions, training, predictions,
    evaluation) of one baseline and one net; the figures, faults pages and report read that table and are
    the shared tiny run's to test.
    """
    workdir = tmp_path_factory.mktemp("killed_run")
    configfile = workdir / "test_config.yaml"
    configfile.write_text(yaml.safe_dump(REDUCED_CONFIG))
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
    # resumed on one core: Snakemake caps a job's threads at --cores, and the nets trained then must still be the
    # tiny run's (2 cores), their threads systems.threads (audit 55: they followed --cores, and differed)
    run_snakemake(workdir, REDUCED_CONFIG, targets=[RUNS_TABLE], extra_args=["--cores", "1"])
    return workdir, kills


def test_kill_and_resume_gives_the_same_results(resumed_run, tiny_run):
    """Killed twice, resumed: byte-identical metadata, partitions and predictions, and the same runs-table
    rows, as the uninterrupted tiny run with the same seed (its runs of the same systems)."""
    workdir, kills = resumed_run
    assert kills == ["features", "training"], f"the run was killed during {kills} only"
    assert_same_results(workdir, tiny_run, REDUCED_CONFIG["systems"]["run"])
