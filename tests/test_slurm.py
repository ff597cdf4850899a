"""The SLURM profile on a real single-node SLURM cluster: the same results as a local run.

Runs only where a cluster is reachable (`sinfo` answers) or when asked for with
MGRFAULTS_REQUIRE_SLURM=1 (CI, .ci/run); otherwise it is skipped with the reason, so a user's plain
`pytest` installs nothing and starts no daemon. Asked for and no cluster reachable,
tests/slurm/start_cluster.sh installs slurm-wlm + munge (apt-get, as root) when missing and starts
munged, slurmctld and slurmd on this host; the fixture stops exactly those pids afterwards, also when
a test fails. A cluster that cannot be started when asked for is a failure, not a skip.

    MGRFAULTS_REQUIRE_SLURM=1 pytest -m slurm     # as root on a Debian/Ubuntu host, or on a cluster
"""

from __future__ import annotations

import os
import re
import subprocess

import pandas as pd
import pytest

from conftest import REDUCED_CONFIG, REPO, assert_same_results, run_snakemake
from mgrfaults.config import load_config

# one xdist worker runs this module: the cluster and slurm_run (module scope) start once
pytestmark = [pytest.mark.slurm, pytest.mark.workflow, pytest.mark.xdist_group("test_slurm")]

SCRIPTS = REPO / "tests" / "slurm"

# rules that must have gone through sbatch, and the profile's local rules that must not have
SUBMITTED_RULES = {"synth_dataset", "extract_features", "train_net", "train_bff"}
LOCAL_RULES = {"evaluate_runs"}


def cluster_reachable() -> bool:
    """`sinfo` runs and answers: a SLURM controller is reachable from here."""
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


SLURM_REQUIRED = os.environ.get("MGRFAULTS_REQUIRE_SLURM") == "1"
CLUSTER_REACHABLE = cluster_reachable()
# decided at collection, not in a fixture: the session fixture tiny_run would otherwise run the whole
# tiny pipeline before the skip
pytestmark.append(pytest.mark.skipif(
    not (CLUSTER_REACHABLE or SLURM_REQUIRED),
    reason="no SLURM cluster reachable (`sinfo` fails); `MGRFAULTS_REQUIRE_SLURM=1 pytest -m slurm` "
           "installs and starts a single-node cluster here (as root, apt-get)",
))


@pytest.fixture(scope="module")
def slurm_cluster():
    """A reachable cluster, or (asked for) a single-node one started here and stopped at the end."""
    if CLUSTER_REACHABLE:
        yield
        return
    proc = subprocess.run([str(SCRIPTS / "start_cluster.sh")], capture_output=True, text=True, timeout=900)
    try:
        assert proc.returncode == 0, f"start_cluster.sh failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        yield
    finally:
        subprocess.run([str(SCRIPTS / "stop_cluster.sh")], timeout=120)


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    """The reduced pipeline through --profile profiles/slurm: (workdir, snakemake's output)."""
    workdir = tmp_path_factory.mktemp("slurm_run")
    proc = run_snakemake(
        workdir,
        REDUCED_CONFIG,
        # the runs table: every kind of job up to it goes through sbatch (see SUBMITTED_RULES), and
        # evaluate_runs, a local rule, must not; the figures and report add sbatch round trips, nothing new
        targets=["results/tables/runs.csv"],
        extra_args=[
            "--profile", str(REPO / "profiles" / "slurm"),
            # the jobs take seconds: poll from 2 s on instead of the profile's 20 (set for real clusters)
            "--slurm-init-seconds-before-status-checks", "2",
        ],
        timeout=1500,
    )
    return workdir, proc.stdout


def slurm_jobs(run_output: str) -> pd.DataFrame:
    """The SLURM jobs of one Snakemake run (job name = the run's id), as squeue still lists them."""
    run_id = re.search(r"SLURM run ID: (\S+)", run_output).group(1)
    listing = subprocess.run(["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%C|%k"],
                             capture_output=True, text=True, check=True).stdout
    rows = [line.split("|") for line in listing.splitlines() if line.strip()]
    jobs = pd.DataFrame(rows, columns=["job_id", "state", "cpus", "comment"])
    # the plugin's comment: rule_<name> or rule_<name>_wildcards_<values>
    jobs["rule"] = jobs["comment"].str.extract(r"^rule_(.+?)(?:_wildcards_.*)?$", expand=False)
    jobs["cpus"] = jobs["cpus"].astype(int)
    return jobs


def test_jobs_ran_as_slurm_jobs(slurm_run):
    workdir, output = slurm_run
    jobs = slurm_jobs(output)
    submitted = len(re.findall(r"has been submitted with SLURM jobid", output))
    assert len(jobs) == submitted > 0
    assert (jobs["state"] == "COMPLETED").all(), jobs[jobs["state"] != "COMPLETED"]
    assert SUBMITTED_RULES <= set(jobs["rule"])
    assert not LOCAL_RULES & set(jobs["rule"])
    # SLURM reserved exactly the threads the scripts give torch / librosa
    threads = load_config()["systems"]["threads"]  # the default config, validated: the schema's default filled
    assert set(jobs.loc[jobs["rule"].isin(["train_net", "train_bff"]), "cpus"]) == {threads}
    assert set(jobs.loc[jobs["rule"] == "extract_features", "cpus"]) == {1}


def test_same_results_as_a_local_run(slurm_run, tiny_run):
    """Byte-identical data, partitions and predictions, and the same runs table, as the local tiny run.

    The local reference is the shared tiny run (all systems); each system's results depend only on
    its own seeds, so the reduced run's rows must equal that run's rows for the same systems.
    """
    workdir, _ = slurm_run
    assert_same_results(workdir, tiny_run, REDUCED_CONFIG["systems"]["run"])
