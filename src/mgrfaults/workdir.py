"""Which working folder a results folder belongs to.

Snakemake keeps the records of what made each output (its parameters, code and input set) in the working folder's
``.snakemake/``, not beside the outputs. A results folder run from another working folder (another checkout, a
scratch copy, ``--directory``) has no records there: Snakemake then reruns a job only for an input newer than its
outputs, so a changed configuration (another seed, another feature setting) finds "nothing to be done" and the old
results pass for the new ones. Snakemake's lock lives in the working folder too, so two working folders could also
write one results folder at once.

So a run marks its results folder with its working folder's id (:func:`claim_results`, at the start of a run that
executes jobs), and every later invocation checks the mark (:func:`results_owner_problem`, at parse). A results folder
made before the mark existed is claimed by the next run, from wherever it comes.
"""

from __future__ import annotations

import uuid
from pathlib import Path

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
    return (f"results: {str(results)!r} holds the results of a run from another working folder "
            f"({owner_path.strip() or 'unknown'}). Snakemake keeps its records of what made each file in that folder's "
            ".snakemake/, so from here it cannot tell which results a changed configuration makes stale: it would keep "
            "them all. Run from that folder (snakemake --directory <it>), or name another results folder; to take "
            f"these results as this folder's own as they are (a moved or copied project), remove {mark}")


def claim_results(results, workdir) -> None:
    """Mark ``results`` as ``workdir``'s (its id made first where it has none); a mark already there is kept.

    Called at the start of a run that executes jobs (Snakemake's ``onstart``), never at parse: a dry run writes
    nothing.
    """
    workdir = Path(workdir)
    own_id = workdir_id(workdir)
    if own_id is None:
        own_id = uuid.uuid4().hex
        write_text_atomic(workdir / WORKDIR_ID_FILE, own_id + "\n")
    mark = workdir / results / RESULTS_MARK_FILE
    if not mark.exists():
        write_text_atomic(mark, f"{own_id}\n{workdir.resolve()}\n")


__all__ = ["RESULTS_MARK_FILE", "WORKDIR_ID_FILE", "claim_results", "results_owner_problem", "workdir_id"]
