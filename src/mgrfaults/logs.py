"""Logging for workflow scripts: to the rule's log file (and stderr), one format everywhere."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from mgrfaults.config import ConfigError
from mgrfaults.errors import InputError, Terminated
from mgrfaults.io import is_disk_full

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# errors a user can act on (bad input, a config value, no network): their message names the file or
# key and what to do, so the console shows only the message
EXPECTED_ERRORS = (InputError, ConfigError)


class ConsoleFormatter(logging.Formatter):
    """Leaves out the traceback of an expected error on the console; the rule's log file keeps it."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "traceback_in_log", False):
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)


def setup_script_logging(log_paths=(), level: int = logging.INFO) -> logging.Logger:
    """Send log records of the ``mgrfaults`` loggers to the rule's log file(s) and stderr.

    An exception that ends the script is logged there too. An expected error (``EXPECTED_ERRORS``:
    missing file, bad input, no network) prints one paragraph on stderr, its message, which names the
    file or config key and what to do, and where the traceback is; the traceback goes only to the log
    file. Any other exception (a bug) prints its traceback on stderr as well. SIGTERM ends the script
    through ``SystemExit(143)``, so that no half-written output stays (:func:`mgrfaults.io.atomic_path`).

    Parameters
    ----------
    log_paths : sequence of str
        ``snakemake.log`` (may be empty).
    """
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(ConsoleFormatter(FORMAT))
    for path in log_paths:
        open(path, "w").close()  # emptied here, appended to below: a handler a plugin's logging set-up closed reopens
    # backslashreplace: a message quoting an undecodable file name is written, escaped, not lost to an error
    files = [logging.FileHandler(p, mode="a", encoding="utf-8", errors="backslashreplace") for p in log_paths]
    for handler in files:
        handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=level, handlers=[console, *files], force=True)
    logging.captureWarnings(True)
    log = logging.getLogger("mgrfaults")
    log_files = ", ".join(str(p) for p in log_paths)

    def log_uncaught(exc_type, exc, tb):
        # the rule's log file then says why the job failed, not only Snakemake's console; an exception
        # without a message (KeyboardInterrupt) by its name
        message = str(exc) or exc_type.__name__
        disk_full = is_disk_full(exc)
        if disk_full:
            # the OS names no folder when a write finds the disk full (h5py's errors name a hidden temporary)
            message += (f": the disk holding this job's files is full (its log: {log_files or 'none'}); free space "
                        "there, or set `results` to a folder on a disk with room, and run again (nothing half-written "
                        "is kept)")
        if (issubclass(exc_type, EXPECTED_ERRORS) or disk_full) and files:
            final = log.makeRecord(log.name, logging.CRITICAL, __file__, 0, "failed: %s\n(traceback in %s)",
                                   (message, log_files), (exc_type, exc, tb), extra={"traceback_in_log": True})
        else:
            final = log.makeRecord(log.name, logging.CRITICAL, __file__, 0, "failed: %s", (message,),
                                   (exc_type, exc, tb))
        # to this job's own handlers, not through the loggers: a custom system's code (or a library it imports) may
        # have configured logging its own way (logging.config.dictConfig disables the loggers there were,
        # basicConfig(force=True) replaces the root's handlers, logging.disable mutes all), and the job's failure must
        # still be said on the console and in its log
        for handler in (console, *files):
            handler.handle(final)
        if disk_full and "h5py" in sys.modules:
            # an HDF5 file whose write found the disk full cannot be closed: freeing it as Python ends kills the
            # process by SIGSEGV, which is what Snakemake would report; the job's outputs are removed already
            logging.shutdown()
            os._exit(1)

    sys.excepthook = log_uncaught
    # the log file names the library the job ran (a second checkout, an installed release): not on the console,
    # once per job
    library = log.makeRecord(log.name, logging.INFO, __file__, 0, "library: %s", (Path(__file__).parent,), None)
    for handler in files:
        handler.handle(library)
    if threading.current_thread() is threading.main_thread():  # signal handlers belong to the main thread
        signal.signal(signal.SIGTERM, functools.partial(_exit_on_sigterm, os.getpid()))
        if not _SIGTERM_RESET_AT_FORK:
            os.register_at_fork(before=_hold_sigterm_over_a_fork, after_in_parent=_release_sigterm_after_a_fork,
                                after_in_child=_default_sigterm_in_a_forked_child)
            _SIGTERM_RESET_AT_FORK.append(True)
    return log


_SIGTERM_RESET_AT_FORK: list = []  # holds True once the fork hook below is registered: once per process


def _default_sigterm_in_a_forked_child():
    # A forked worker (a plugin's process pool) must end at SIGTERM at once, as by default. Inheriting the script's
    # handler, a Python function, it ran that only between two bytecodes: a SIGTERM come just before the worker
    # blocked in C (a pool worker waiting for its queue's lock, whose semaphore wait is then not interrupted) was
    # never handled, and the pool's terminate() waited for that worker for ever (1 run in about 10 of
    # test_a_plugin_whose_forked_workers_exit_still_runs, under load)
    if getattr(signal.getsignal(signal.SIGTERM), "func", None) is _exit_on_sigterm:  # the script's, not a plugin's own
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _release_sigterm_after_a_fork()  # held over the fork: one sent meanwhile ends this worker now, by default


_SIGTERM_HELD = threading.local()  # .held: this thread's fork holds SIGTERM back (:func:`_hold_sigterm_over_a_fork`)


def _hold_sigterm_over_a_fork():
    # A SIGTERM that came while a worker was being forked was lost: CPython clears a forked child's pending signals,
    # and one caught in the child before the hook above ran was the script's handler's, then cleared; in the parent,
    # its exception could be raised inside another at-fork hook, where Python ignores it. Blocked over the fork, it
    # stays pending in both processes until the hooks are done (audit 37)
    if hasattr(signal, "pthread_sigmask") and getattr(signal.getsignal(signal.SIGTERM), "func", None) is _exit_on_sigterm:
        # per thread, as the mask is: two threads forking at once each release their own (audit 38)
        _SIGTERM_HELD.held = signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def _release_sigterm_after_a_fork():
    if getattr(_SIGTERM_HELD, "held", False):
        _SIGTERM_HELD.held = False
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


@contextlib.contextmanager
def sigterm_raises_in_a_worker():
    """In a forked pool worker, whose SIGTERM ends it at once (:func:`_default_sigterm_in_a_forked_child`): SIGTERM
    raises :class:`Terminated` while the block runs, so that the files it writes atomically remove their
    temporaries (a SLURM time limit or ``scancel`` signals every process of the job, the workers too), and the
    worker then ends by the signal. Outside the block, and in a process that handles SIGTERM already (the script's
    own), nothing changes."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    requested = []

    def raise_terminated(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not interrupt the cleanup itself
        requested.append(signum)
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if requested:
            # the block's cleanup ran, or Python swallowed the exception (raised in a finalizer, say): either way the
            # worker ends now, as it would have at once outside the block. Handed back to the pool as a task's
            # result, the exception would leave the worker taking the next task (audit 35)
            os.kill(os.getpid(), signal.SIGTERM)


def _exit_on_sigterm(script_pid, signum, frame):
    # Snakemake (on Ctrl-C or a failed sibling), SLURM (a time limit, scancel) and timeout end a job with
    # SIGTERM, whose default action ends the process at once: the cleanup of atomic_path would not run and a
    # half-written hidden file would stay in the results folder. As an exception the cleanup runs.
    if os.getpid() != script_pid:
        # a forked worker (a process pool) inherits the handler: it would hand the exception back as a task's
        # result and take the next task; it ends at once, as before
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if _in_frames_of(frame, _hold_sigterm_over_a_fork) or _in_frames_of(frame, _release_sigterm_after_a_fork):
        # handled inside an at-fork hook of ours (before the hold took, or as it was released), whose exceptions
        # Python ignores: sent again, to be handled once the fork has returned (audits 37, 38)
        threading.Timer(0.01, os.kill, (script_pid, signum)).start()
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not interrupt the cleanup itself
    logging.getLogger("mgrfaults").error("terminated (SIGTERM): outputs being written are removed")
    _pass_sigterm_to_workers()
    raise Terminated(128 + signum)


def _in_frames_of(frame, function, depth: int = 10) -> bool:
    """Whether ``frame`` or one of the ``depth`` that called it runs ``function`` (a signal handler's frame is where
    the signal was handled: inside ``signal.pthread_sigmask``'s wrapper, say)."""
    while frame is not None and depth > 0:
        if frame.f_code is function.__code__:
            return True
        frame, depth = frame.f_back, depth - 1
    return False


def _pass_sigterm_to_workers():
    # A pool's worker forked just before the signal may have lost it: CPython clears a forked child's pending
    # signals, and one that came before the fork hook ran was caught by the script's Python handler there. The pool
    # is then shut down before its manager thread has begun, which tells the workers nothing, and the script waits
    # for them at exit for ever, or leaves them running (audit 36). So the workers hear it again from here (a SLURM
    # time limit or scancel meant every process of the job).
    children = set()
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        children.update(child.pid for child in multiprocessing.active_children())
    # and those forked but not registered yet (the signal came between the fork and the pool's records), where
    # Linux lists a process's children
    with contextlib.suppress(OSError, ValueError):
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as listed:
                children.update(int(pid) for pid in listed.read().split())
    for pid in children:
        with contextlib.suppress(OSError):  # ended meanwhile
            os.kill(pid, signal.SIGTERM)


def report_path(results, sweep: bool = False) -> str:
    """Where the README's report command writes the report: ``<results>/report.html``, or the sweep's
    ``<results>/sweep/report.html`` under ``sweep.enabled``."""
    return f"{results}/sweep/report.html" if sweep else f"{results}/report.html"


def snakefile_argument(snakefile, cwd) -> str | None:
    """The ``-s`` value a printed command needs to run ``snakefile`` from ``cwd`` (relative where below it), or
    None where Snakemake finds it there by itself (the first of ``Snakefile``, ``snakefile``, ``workflow/Snakefile``,
    ``workflow/snakefile`` that exists)."""
    snakefile, cwd = Path(snakefile).resolve(), Path(cwd).resolve()
    found = next((cwd / name for name in ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")
                  if (cwd / name).is_file()), None)
    if found is not None and found.resolve() == snakefile:
        return None
    return os.path.relpath(snakefile, cwd) if snakefile.is_relative_to(cwd) else str(snakefile)


def snakemake_program(snakefile: str | None = None) -> str:
    """``snakemake``, with ``-s <snakefile>`` when the run needed it (:func:`snakefile_argument`): how every command
    this workflow prints or writes (the end message, ``configuration.yaml``, ``summary.md``) begins."""
    import shlex

    return f"snakemake -s {shlex.quote(snakefile)}" if snakefile else "snakemake"


def finished_message(results: str, summary_table: str, configfiles=(), config_overrides: bool = False,
                     report_exists: bool = False, answer_exists: bool = True, sweep: bool = False,
                     profile_exists: bool = False, configuration: str | None = None,
                     snakefile: str | None = None) -> str:
    """What a finished run prints last: where the answer is and how to build the report.

    Parameters
    ----------
    results : str
        The results folder (config ``results``).
    summary_table : str
        The table that answers the study (the difference table, or the runs table without one; the sweep's
        summary under ``sweep``).
    configfiles : sequence of str
        The run's ``--configfile`` values: the report command must see the same configuration.
    config_overrides : bool
        The run had ``--config`` values (repeated as a reminder, not spelled out).
    report_exists : bool
        The report the command names exists already (from an earlier ``--report``; a run never writes it).
    answer_exists : bool
        ``summary_table`` exists and was made under this configuration: False after a run of other targets (a
        stage's files, a benchmark, ``dataset_check``) that left it unbuilt or an earlier configuration's, which
        then says so instead of pointing at a table it did not build.
    sweep : bool
        ``sweep.enabled``: the answer is the sweep's, built by the ``sweep`` target, whose report is
        ``<results>/sweep/report.html``.
    profile_exists : bool
        ``<results>/faults/profile.md`` exists (the ``dataset_check`` target): named when the answer is not built.
    configuration : str, optional
        ``<results>/configuration.yaml``, when the run wrote it: named, and the report command of a run with
        ``--config`` values takes it instead (it holds them).
    snakefile : str, optional
        The run's Snakefile when Snakemake would not find it from the working folder (the run gave ``-s``):
        each command names it.
    """
    import shlex

    program = snakemake_program(snakefile)

    def with_config(command: str) -> str:
        if configfiles:
            command += " --configfile " + " ".join(shlex.quote(str(f)) for f in configfiles)
        if config_overrides:
            command += " --config <the same values as this run>"
        return command

    if not answer_exists:
        builds = with_config(f"{program} sweep" if sweep else program)
        # the table alone may be built (a target asked for it) while the summary and report pages are not
        text = (f"Finished the requested targets. The answer ({summary_table}, with {results}/summary.md and the "
                f"report's pages) is not all built for this configuration yet: run `{builds}` to build it.")
        if profile_exists:
            text += f" The dataset's profile (artists and faults per genre): {results}/faults/profile.md."
        return text
    report = report_path(results, sweep)
    # a path with spaces is pasted as one argument
    command = f"{program} {'sweep ' if sweep else ''}--report {shlex.quote(report)}"
    # --config values cannot be spelled out again here; the configuration file holds them, and every other value
    command = (f"{command} --configfile {shlex.quote(configuration)}" if configuration and config_overrides
               else with_config(command))
    where = f"the sweep's tables and figure in {results}/sweep" if sweep else \
        f"all tables in {results}/tables, figures in {results}/figures"
    lines = [f"Finished. The answer: {summary_table}; {where}.",
             f"Report (one HTML page, tables and figures): {command}"]
    if report_exists:
        lines.append(f"  ({report} exists from an earlier build: rebuild it to include this run.)")
    if configuration:
        lines.append(f"This run's configuration, every default filled in: {configuration} (`--configfile` it "
                     "alone to run or report the same configuration again).")
    return "\n".join(lines)
