"""Shared fixtures: paths, the study's shared GTZAN files, and Snakemake runs in temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
# CI clones the repository into another folder with shared/ beside it, as here
SHARED_GTZAN = REPO.parent / "shared" / "gtzan"

# a pipeline small enough for CI: 10 genres x 12 excerpts x 6 s, short training
TINY_CONFIG = {
    "dataset": {"source": "synthetic", "synthetic": {"preset": "tiny"}},
    # a custom system (mgrfaults.systems.custom) beside the default ones: the worked scikit-learn example
    "systems": {
        "custom": {"Texture_LogReg": {
            "factory": "examples/custom_system/texture_sklearn.py:build", "input": "texture", "params": {"C": 1.0},
            "fit_on": "train_valid"}},
        # the tests check the plumbing, not convergence (the default run trains every net to patience):
        # a few epochs each, the other values of each variant are the schema's
        "dnn": {"variants": {"RS": {"max_epochs": 4, "patience": 2}, "RSD": {"max_epochs": 4, "patience": 2}}},
    },
}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_gtzan() -> Path:
    if not (SHARED_GTZAN / "metadata" / "GTZANindex.txt").exists():
        pytest.skip(f"the study's GTZAN files are not at {SHARED_GTZAN}")
    return SHARED_GTZAN


def deep_update(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_update(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# one baseline and one DNN system, no plugin: every kind of job up to the runs table (synthesis, features,
# partitions, DNN training + predictions, BFF, evaluation) at a fraction of the tiny run's cost; the SLURM
# and the killed-and-resumed runs use it and compare their results with the shared tiny run's
REDUCED_SYSTEMS = ["BFF_SVM", "50_RS"]
REDUCED_CONFIG = deep_update(TINY_CONFIG, {"systems": {"run": REDUCED_SYSTEMS},
                                           "evaluate": {"figure_of_merit": REDUCED_SYSTEMS}})
REDUCED_CONFIG["systems"] = {k: v for k, v in REDUCED_CONFIG["systems"].items() if k != "custom"}


def assert_same_results(workdir: Path, reference: Path, systems) -> None:
    """Byte-identical metadata, partitions and predictions, and the same runs-table rows, as ``reference``.

    Each system's results depend only on its own seeds, so a run of some systems must equal the rows and
    files of those systems in a run of all of them.
    """
    import pandas as pd

    results, reference_results = Path(workdir) / "results", Path(reference) / "results"
    same = ["dataset/metadata.csv"]
    same += [str(p.relative_to(results)) for p in sorted((results / "partitions").rglob("*.csv"))]
    predictions = [str(p.relative_to(results)) for p in sorted((results / "predictions").rglob("*.csv"))]
    assert {name.split("/")[1] for name in predictions} >= set(systems), predictions
    for name in same + predictions:
        assert (results / name).read_bytes() == (reference_results / name).read_bytes(), name
    key = ["system", "condition", "fold"]
    runs = pd.read_csv(results / "tables" / "runs.csv").sort_values(key).reset_index(drop=True)
    reference_runs = pd.read_csv(reference_results / "tables" / "runs.csv")
    reference_runs = reference_runs[reference_runs["system"].isin(systems)].sort_values(key).reset_index(drop=True)
    assert len(runs) == len(reference_runs) > 0
    pd.testing.assert_frame_equal(runs, reference_runs, check_exact=True)


def run_snakemake(workdir, config: dict | None = None, targets=(), extra_args=(), check=True, timeout=1800, env=None):
    """Run the workflow of this repository in ``workdir`` with ``config`` merged over the default.

    Returns the CompletedProcess (stdout and stderr together in ``.stdout``).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *extra_args]
    if config:
        configfile = workdir / "test_config.yaml"
        configfile.write_text(yaml.safe_dump(config))
        cmd += ["--configfile", str(configfile)]
    proc = subprocess.run(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc


# The suite runs on pytest-xdist workers (pyproject: `-n auto`). A module whose module-scoped fixture runs
# a pipeline marks itself `xdist_group` so that its tests share one worker and the pipeline runs once.


def pytest_collection_modifyitems(config, items):
    """Pipelines first: the workers start the long runs at once instead of meeting them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("workflow") is None)  # stable: file order kept within


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole pipeline once on the tiny synthetic preset; tests read its results (do not modify them).

    One run for the whole session, whatever the number of xdist workers: the first worker to ask builds it
    under a file lock in the session's common temporary folder; the others wait for it and read it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        workdir = tmp_path_factory.mktemp("tiny_run")
        run_snakemake(workdir, TINY_CONFIG)
        return workdir
    workdir = tmp_path_factory.getbasetemp().parent / "tiny_run"  # shared by the session's workers
    built = workdir / "built"
    with FileLock(f"{workdir}.lock"):
        if not built.exists():
            run_snakemake(workdir, TINY_CONFIG)
            built.write_text("the tiny run completed\n")
    return workdir
