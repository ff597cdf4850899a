"""Script logging: an expected error prints one paragraph, its traceback goes to the rule's log file."""

import signal
import subprocess
import sys

SCRIPT = """
import sys
from mgrfaults.errors import InputError
from mgrfaults.logs import setup_script_logging
setup_script_logging([sys.argv[1]])
if sys.argv[2].startswith("plugin_"):  # what a custom system's code may do to logging before it fails
    import logging, logging.config
    {"plugin_dictConfig": lambda: logging.config.dictConfig({"version": 1, "root": {"level": "INFO"}}),
     "plugin_disable": lambda: logging.disable(logging.CRITICAL),
     "plugin_basicConfig": lambda: logging.basicConfig(level=logging.INFO, force=True)}[sys.argv[2]]()
    logging.getLogger("mgrfaults").warning("said before the failure")
    raise InputError("custom system Mine: predict() returned scores of shape (3, 11)")
if sys.argv[2] == "expected":
    raise InputError("some/file.csv: column 'artist' missing; add it")
if sys.argv[2].startswith("disk_full"):
    import atexit, errno, os
    if sys.argv[2] == "disk_full_h5py":  # an HDF5 file that found the disk full kills Python's ending (SIGSEGV)
        import h5py
        atexit.register(print, "Python ended as usual")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
raise RuntimeError("a bug")
"""


def run_script(tmp_path, kind):
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "rule.log"), kind], capture_output=True,
                          text=True, timeout=60)


def run_failing_script(tmp_path, kind):
    proc = run_script(tmp_path, kind)
    assert proc.returncode == 1
    return proc.stderr, (tmp_path / "rule.log").read_text()


def test_expected_error_prints_a_paragraph(tmp_path):
    stderr, log = run_failing_script(tmp_path, "expected")
    assert "some/file.csv: column 'artist' missing; add it" in stderr
    assert str(tmp_path / "rule.log") in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 3
    assert "Traceback" in log and "InputError" in log


def test_a_full_disk_is_named_as_such_with_the_way_out(tmp_path):
    # the OS's words alone, "[Errno 28] No space left on device", named no folder and no way out
    stderr, log = run_failing_script(tmp_path, "disk_full")
    assert "No space left on device: the disk holding this job's files is full (its log: " in stderr
    assert "set `results` to a folder on a disk with room" in stderr and str(tmp_path / "rule.log") in stderr
    assert "Traceback" not in stderr and "Traceback" in log  # one paragraph, as an expected error


def test_a_full_disk_with_hdf5_loaded_ends_the_job_without_pythons_ending(tmp_path):
    proc = run_script(tmp_path, "disk_full_h5py")
    assert proc.returncode == 1 and "the disk holding this job's files is full" in proc.stderr
    assert "Python ended as usual" not in proc.stdout  # os._exit, after the log was written
    assert "the disk holding this job's files is full" in (tmp_path / "rule.log").read_text()


def test_a_job_says_its_failure_whatever_a_plugin_did_to_logging(tmp_path):
    # dictConfig disables the loggers there were and closes the root's handlers, logging.disable mutes every logger,
    # basicConfig(force=True) replaces the handlers: the failure was then said nowhere, or on the console alone (audit 34)
    for kind in ("plugin_dictConfig", "plugin_disable", "plugin_basicConfig"):
        stderr, log = run_failing_script(tmp_path, kind)
        assert "failed: custom system Mine: predict() returned scores of shape (3, 11)" in stderr, kind
        assert "failed: custom system Mine: predict() returned scores of shape (3, 11)" in log, kind
        assert "library: " in log and "Traceback" in log, kind


def test_unexpected_error_keeps_the_traceback_on_the_console(tmp_path):
    stderr, log = run_failing_script(tmp_path, "bug")
    assert "Traceback" in stderr and "RuntimeError: a bug" in stderr
    assert "Traceback" in log


def test_finished_message_names_the_answer_and_the_report_command():
    from mgrfaults.logs import finished_message

    text = finished_message("results/gtzan", "results/gtzan/tables/difference.csv", ["config/gtzan.yaml"])
    assert "results/gtzan/tables/difference.csv" in text
    assert "snakemake --report results/gtzan/report.html --configfile config/gtzan.yaml" in text
    assert "earlier build" not in text
    again = finished_message("results", "results/tables/runs.csv", config_overrides=True, report_exists=True)
    assert "snakemake --report results/report.html --config" in again and "earlier build" in again
    # a path with spaces is quoted: the printed command pastes as it reads
    spaced = finished_message("/tmp/my results", "/tmp/my results/tables/runs.csv", ["my config.yaml"])
    assert "snakemake --report '/tmp/my results/report.html' --configfile 'my config.yaml'" in spaced
    # the run's configuration file holds its --config values: the report command takes it, and it is named
    configured = finished_message("results", "results/tables/runs.csv", ["my.yaml"], config_overrides=True,
                                  configuration="results/configuration.yaml")
    assert "snakemake --report results/report.html --configfile results/configuration.yaml\n" in configured
    assert "every default filled in: results/configuration.yaml" in configured
    plain = finished_message("results", "results/tables/runs.csv", ["my.yaml"], configuration="results/configuration.yaml")
    assert "snakemake --report results/report.html --configfile my.yaml\n" in plain


def test_finished_message_names_a_snakefile_snakemake_would_not_find(tmp_path):
    from mgrfaults.logs import finished_message, snakefile_argument

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "Snakefile").write_text("")
    assert snakefile_argument(tmp_path / "repo" / "Snakefile", tmp_path / "repo") is None  # found there by itself
    assert snakefile_argument(tmp_path / "repo" / "Snakefile", tmp_path) == "repo/Snakefile"
    (tmp_path / "work").mkdir()
    assert snakefile_argument(tmp_path / "repo" / "Snakefile", tmp_path / "work") == str(tmp_path / "repo" / "Snakefile")
    (tmp_path / "work" / "Snakefile").write_text("")  # another workflow's Snakefile there: -s is still needed
    assert snakefile_argument(tmp_path / "repo" / "Snakefile", tmp_path / "work") == str(tmp_path / "repo" / "Snakefile")
    text = finished_message("results", "results/tables/runs.csv", ["my.yaml"], snakefile="/x/main/Snakefile")
    assert "snakemake -s /x/main/Snakefile --report results/report.html --configfile my.yaml" in text
    unbuilt = finished_message("results", "results/tables/runs.csv", ["my.yaml"], answer_exists=False,
                               snakefile="/x/main/Snakefile")
    assert "run `snakemake -s /x/main/Snakefile --configfile my.yaml`" in unbuilt


def test_finished_message_after_other_targets_does_not_point_at_an_unbuilt_answer():
    from mgrfaults.logs import finished_message

    text = finished_message("results", "results/tables/difference.csv", answer_exists=False)
    assert "is not all built for this configuration yet" in text and "results/tables/difference.csv" in text and "--report" not in text
    assert "profile" not in text
    # after `snakemake dataset_check`: the profile it made is named
    checked = finished_message("results", "results/tables/difference.csv", ["my.yaml"], answer_exists=False,
                               profile_exists=True)
    assert "run `snakemake --configfile my.yaml`" in checked and "results/faults/profile.md" in checked


def test_finished_message_of_a_sweep_names_its_target_and_its_report():
    from mgrfaults.logs import finished_message

    text = finished_message("results", "results/sweep/drop_summary.csv", ["config/sweep.yaml"], sweep=True)
    assert "the sweep's tables and figure in results/sweep" in text
    assert "snakemake sweep --report results/sweep/report.html --configfile config/sweep.yaml" in text
    unbuilt = finished_message("results", "results/sweep/drop_summary.csv", ["config/sweep.yaml"], sweep=True,
                               answer_exists=False)
    assert "run `snakemake sweep --configfile config/sweep.yaml`" in unbuilt


TERMINATED = """
import os, signal, sys
from pathlib import Path
from mgrfaults.io import atomic_path
from mgrfaults.logs import setup_script_logging
setup_script_logging([sys.argv[1]])
with atomic_path(Path(sys.argv[2])) as tmp:
    tmp.write_text("half")
    os.kill(os.getpid(), signal.SIGTERM)  # as SLURM's time limit, scancel or timeout end a job
    tmp.write_text("half, and more")
"""


def test_sigterm_leaves_no_half_written_output(tmp_path):
    out = tmp_path / "results" / "shard_0.h5"
    proc = subprocess.run([sys.executable, "-c", TERMINATED, str(tmp_path / "rule.log"), str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 143, proc.stderr
    assert not out.exists() and list(out.parent.iterdir()) == []  # the hidden temporary file removed too
    assert "terminated (SIGTERM)" in (tmp_path / "rule.log").read_text()


FORKED = """
import os, signal, sys, time
from mgrfaults.logs import setup_script_logging
setup_script_logging([sys.argv[1]])
pid = os.fork()
if pid == 0:  # a pool worker: inherits the handler
    time.sleep(30)
    os._exit(0)
time.sleep(0.5)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
pid = os.fork()
if pid == 0:  # the default action from the fork on, not a Python handler run between two bytecodes
    os._exit(0 if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else 3)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0)
"""


def test_a_forked_worker_ends_on_sigterm_at_once(tmp_path):
    # only the script's own process turns SIGTERM into an exception; a pool worker would hand it back as a task's
    # result and take the next task; and a worker that kept the script's Python handler missed a SIGTERM come just
    # before it blocked in C (a pool's terminate() then waited for it for ever)
    proc = subprocess.run([sys.executable, "-c", FORKED, str(tmp_path / "rule.log")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.split() == ["True", "True"], proc.stderr


WORKER_WRITING = """
import os, signal, sys, time
from mgrfaults.io import atomic_dir
from mgrfaults.logs import setup_script_logging, sigterm_raises_in_a_worker
setup_script_logging([sys.argv[1]])
pid = os.fork()
if pid == 0:  # a pool worker writing a folder atomically (a synthetic genre)
    try:
        with sigterm_raises_in_a_worker(), atomic_dir(sys.argv[2]) as tmp:
            (tmp / "half.au").write_text("half")
            time.sleep(30)
    except BaseException:  # as a process pool's worker hands a task's exception back, and takes the next task
        open(sys.argv[2] + ".went_on", "w").close()
    os._exit(0)
time.sleep(1)
os.kill(pid, signal.SIGTERM)  # SLURM's time limit and scancel signal every process of the job
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_a_forked_worker_writing_atomically_removes_its_temporary_on_sigterm(tmp_path):
    # a synthetic genre's worker, ended at once by SIGTERM, left `.classical.XXXXXXXX/` with half its excerpts (audit 34)
    out = tmp_path / "audio" / "classical"
    proc = subprocess.run([sys.executable, "-c", WORKER_WRITING, str(tmp_path / "rule.log"), str(out)],
                          capture_output=True, text=True, timeout=60)
    # ended by the signal once its temporary is removed, not handed back to the pool (audit 35)
    assert proc.returncode == 0 and proc.stdout.split() == [str(-signal.SIGTERM)], proc.stderr
    assert list(out.parent.iterdir()) == []  # neither the folder nor its hidden temporary, nor a sign it went on


LOST_SIGNAL = """
import os, signal, sys, time
from mgrfaults.logs import setup_script_logging
setup_script_logging([sys.argv[1]])
pid = os.fork()
if pid == 0:  # a pool worker whose SIGTERM was lost at its fork: it waits for work for ever
    time.sleep(30)
    os._exit(0)
time.sleep(0.5)
try:
    os.kill(os.getpid(), signal.SIGTERM)  # the script's own, as SLURM's time limit sends it
    time.sleep(5)
except SystemExit:
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_the_scripts_sigterm_reaches_its_workers(tmp_path):
    # one forked just before the signal lost it (CPython clears a forked child's pending signals), and the pool,
    # shut down before its manager thread began, told it nothing: the script waited for it for ever (audit 36)
    proc = subprocess.run([sys.executable, "-c", LOST_SIGNAL, str(tmp_path / "rule.log")], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.split() == [str(-signal.SIGTERM)], proc.stderr


HELD_OVER_FORK = """
import os, signal, sys
from mgrfaults.logs import setup_script_logging
setup_script_logging([sys.argv[1]])
signal.signal(signal.SIGUSR1, lambda *a: None)
pid = os.fork()
blocked = signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])
if pid == 0:
    os._exit(10 + blocked)
print(blocked, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_sigterm_is_held_over_a_fork_alone(tmp_path):
    # blocked while the fork runs (one sent then is not lost in the child, nor raised in an at-fork hook in the
    # parent, where Python ignores exceptions: audit 37), and unblocked after it in both processes
    proc = subprocess.run([sys.executable, "-c", HELD_OVER_FORK, str(tmp_path / "rule.log")], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.split() == ["False", "10"], proc.stderr


CONCURRENT_FORKS = """
import os, signal, sys, threading
from mgrfaults.logs import setup_script_logging
setup_script_logging([sys.argv[1]])
left = []

def forker():
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            os._exit(3 if signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []) else 0)
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]):
            left.append("child")
    if signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []):
        left.append(threading.current_thread().name)

threads = [threading.Thread(target=forker) for _ in range(2)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(left))
"""


def test_threads_forking_at_once_each_release_sigterm(tmp_path):
    # the mask is per thread: one flag for the process left a thread, and the children it forked, with SIGTERM
    # blocked for good, which neither SLURM nor a pool's terminate() could end (audit 38)
    proc = subprocess.run([sys.executable, "-c", CONCURRENT_FORKS, str(tmp_path / "rule.log")], capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.split() == ["0"], proc.stderr
