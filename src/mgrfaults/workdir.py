"""Which working folder a results folder belongs to.

Snakemake keeps the records of what made each output (its parameters, code and input set) in the working folder's
``.snakemake/``, not beside the outputs. A results folder run from another working folder (another checkout, a
scratch copy, ``--directory``) has no records there: Snakemake then reruns a job only for an input newer than its
outputs, so a changed configuration (another seed, another feature setting) finds "nothing to be done" and the old
results pass for the new ones. Snakemake's lock lives in the working folder too, so two working folders could also
write one results folder at once.

So a results folder is marked with its working folder's id (:func:`claim_results`): at parse when the folder exists
unmarked (a run with nothing to do, or a dry run, claims it too: no hook runs then), and at the start of a run that
executes jobs, which refuses to start when the mark, made first by another, is not its own (two runs started at
once). Every invocation checks the mark at parse (:func:`results_owner_problem`). A results folder made before the
mark existed is claimed by the next invocation, from wherever it comes.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from mgrfaults.errors import InputError
from mgrfaults.io import write_text_atomic

WORKDIR_ID_FILE = Path(".snakemake") / "mgrfaults_workdir_id"
"""The working folder's id, beside Snakemake's own records: it moves and is copied with them."""
RESULTS_MARK_FILE = ".mgrfaults_workdir"
"""In the results folder: the id of the working folder whose records describe it, then that folder's path."""


def workdir_id(workdir) -> str | None:
    """The id of ``workdir`` (:data:`WORKDIR_ID_FILE`), or None where no run has started there yet."""
    try:
        return (Path(workdir) / WORKDIR_ID_FILE).read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def results_owner_problem(results, workdir) -> str | None:
    """Why ``results`` cannot be run from ``workdir`` (another working folder's records describe it), or None.

    Parameters
    ----------
    results : path
        The ``results`` folder, as the configuration names it (relative to ``workdir`` or absolute).
    workdir : path
        The working folder Snakemake runs in.
    """
    mark = Path(workdir) / results / RESULTS_MARK_FILE
    try:
        owner_id, _, owner_path = mark.read_text().partition("\n")
    except (FileNotFoundError, NotADirectoryError):
        return None
    if owner_id.strip() == workdir_id(workdir):
        return None
    owner_path = owner_path.strip()
    adopt = f"to take these results as this folder's own as they are, remove {mark}"
    if owner_path == str(Path(workdir).resolve()):
        return (f"results: {str(results)!r} was made from this working folder, but its Snakemake records "
                "(.snakemake/) were removed since, so Snakemake cannot tell which results a changed configuration "
                f"makes stale: it would keep them all. Rerun everything (--forceall), or {adopt}")
    return (f"results: {str(results)!r} holds the results of a run from another working folder "
            f"({owner_path or 'unknown'}). Snakemake keeps its records of what made each file in that folder's "
            ".snakemake/, so from here it cannot tell which results a changed configuration makes stale: it would "
            "keep them all. Run from that folder (snakemake --directory <it>), or name another results folder; "
            f"{adopt} (a moved or copied project)")


def claim_results(results, workdir, existing_only: bool = False) -> str | None:
    """Mark ``results`` as ``workdir``'s where it is unmarked; return the id the mark holds (None: not marked).

    The working folder's id is made first where it has none. The mark is created exclusively (``O_EXCL``): of two
    runs claiming at once one wins, and the other reads the winner's id back.

    Parameters
    ----------
    existing_only : bool
        Claim only a results folder that exists (at parse: nothing is made for a folder no job has written yet).
    """
    workdir = Path(workdir)
    folder = workdir / results
    if existing_only and not folder.is_dir():
        return None
    own_id = workdir_id(workdir)
    if own_id is None:
        own_id = uuid.uuid4().hex
        write_text_atomic(workdir / WORKDIR_ID_FILE, own_id + "\n")
    folder.mkdir(parents=True, exist_ok=True)
    mark = folder / RESULTS_MARK_FILE
    with contextlib.suppress(FileExistsError):
        # mode 0o666 under the umask, as open() gives; one write of a few bytes
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w") as f:
            f.write(f"{own_id}\n{workdir.resolve()}\n")
    return mark.read_text().partition("\n")[0].strip()


def claim_results_or_stop(results, workdir) -> None:
    """At the start of a run that executes jobs: claim ``results``, and stop if another run's mark got there first.

    Raises
    ------
    InputError
        The mark names another working folder (:func:`results_owner_problem`), or the folder cannot be written.
    """
    try:
        claim_results(results, workdir)
    except OSError as e:  # a folder the checks at parse could not see is unwritable (/proc, /sys as root)
        raise InputError(f"results: {str(results)!r} cannot be written: {e.strerror or e}; name a folder you can "
                         "write") from e
    problem = results_owner_problem(results, workdir)
    if problem:
        raise InputError(problem)


def jobs_import_library_from(src) -> None:
    """Put ``src`` (a checkout's library folder) first on ``PYTHONPATH``, which the processes of Snakemake's jobs
    inherit, so that each job's script imports the library of the workflow it belongs to.

    Without it a script imports whichever ``mgrfaults`` pip installed: run from a second checkout, a job would use
    the first's code while the Snakefile (whose own ``sys.path`` holds ``src``) uses its own. A conda environment
    (``--software-deployment-method conda``) blocks ``PYTHONPATH`` and installs the checkout itself
    (``workflow/envs/mgrfaults.yaml``). Parsing again (a cluster job) adds nothing twice.
    """
    src = str(src)
    given = os.environ.get("PYTHONPATH")
    # an empty entry kept: Python reads it as the working folder (`export PYTHONPATH=$PYTHONPATH:/x` makes one)
    paths = given.split(os.pathsep) if given else []
    if paths[:1] != [src]:
        os.environ["PYTHONPATH"] = os.pathsep.join([src] + paths)


__all__ = ["RESULTS_MARK_FILE", "WORKDIR_ID_FILE", "claim_results", "claim_results_or_stop", "jobs_import_library_from",
           "results_owner_problem", "workdir_id"]
