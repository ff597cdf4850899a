"""Atomic file writes: nothing half-written is ever left where a later run would trust it."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def current_umask() -> int:
    """The process umask, read without changing it where the OS says it (Linux /proc), else set and restored."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _readable_as_open_gives(path: Path, directory: bool = False) -> None:
    """Give ``path`` the mode a plain ``open()`` (0o666) or ``mkdir`` (0o777) gets under the umask.

    mkstemp/mkdtemp create 0600/0700 whatever the umask: on a shared cluster no one else could
    read the results.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


TEMPORARY_RANDOM = r"[a-z0-9_]{8}"
"""The random part tempfile.mkstemp and mkdtemp give a name (8 of ``tempfile._RandomNameSequence``'s characters)."""


def remove_dead_temporaries(path: Path, suffix: str = "") -> list[Path]:
    """Remove what a killed writer of ``path`` left: ``.<name>.<8 random characters><suffix>`` beside it.

    SIGKILL (an out-of-memory kill, a cluster's hard limit) ends a job before :func:`atomic_path` can remove its
    temporary file, and nothing else would: one of a feature shard's is hundreds of MB, and mode 0600. One job
    writes a file at a time (Snakemake's lock), so a temporary of ``path`` that exists when its writer starts is
    a dead one's.

    Returns
    -------
    list of Path
        What was removed.
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.{TEMPORARY_RANDOM}{re.escape(suffix)}")
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path.parent):
            if pattern.fullmatch(entry.name):
                dead = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(dead, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        dead.unlink()
                removed.append(dead)
    return removed


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    The temporary file lives in the same folder (so the rename is atomic on POSIX) and keeps
    the extension of ``path`` (libraries that choose a format by extension still work). On an
    exception it is removed and ``path`` is left untouched; one that a killed writer left is removed
    first (:func:`remove_dead_temporaries`).

    Parameters
    ----------
    path : str or Path
        The final file.
    suffix : str, optional
        Extension of the temporary file; default: that of ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    remove_dead_temporaries(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _readable_as_open_gives(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` when the block succeeds.

    An existing ``path`` is removed first (folders cannot be renamed over). On an exception the
    temporary folder is removed and ``path`` is left as it was; one that a killed writer left is removed
    first (:func:`remove_dead_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        _readable_as_open_gives(tmp, directory=True)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_csv_atomic(df, path, **kwargs) -> None:
    """Write a pandas DataFrame as CSV (no index) through :func:`atomic_path`."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
"""OSError numbers of a write that found no room: the disk full, or the user's quota reached."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a write that found no room (:data:`DISK_FULL`), which the OS's words name no folder of."""
    return isinstance(error, OSError) and error.errno in DISK_FULL


def csv_read_back(values) -> "pd.Series":
    """``values`` as a plain ``pandas.read_csv`` gives them back from a one-column CSV: with its default
    missing-value cells (``NA``, ``N/A``, ``None``, ``null``, ``nan``, ...) as NaN, numbers as numbers."""
    import io

    import pandas as pd

    column = pd.Series(list(values), name="value", dtype=object)
    if column.empty:
        return column
    broken = column.map(lambda v: isinstance(v, str) and ("\r" in v or "\n" in v)).to_numpy(dtype=bool)
    if not broken.any():
        return pd.read_csv(io.StringIO(column.to_csv(index=False)))["value"]
    # a value holding a line break (a quoted cell over two lines) is no missing-value word or number: itself; read
    # back with the others, it would be split into rows and the column's length lost
    out = column.copy()
    if not broken.all():
        out[~broken] = csv_read_back(column[~broken]).to_numpy()
    return out


def csv_reads_back(name: str) -> bool:
    """Whether ``name``, written as a CSV cell, is read back as the same text by a plain ``pandas.read_csv``.

    Names of genres, conditions and systems are written into tables that readers (ours, and a user's
    notebook) open with the defaults: ``NA``, ``None``, ``null`` or ``nan`` come back as missing values,
    ``01`` as the number 1, ``True`` as a boolean. Such a name would silently stop matching itself.
    """
    cell = csv_read_back([name]).iloc[0]
    return isinstance(cell, str) and cell == name


def content_digest(paths) -> str:
    """SHA-256 of the files' bytes, in the order given; a missing or unreadable file counts as absent.

    For small text inputs that a rule takes as a parameter too: Snakemake reruns a job for an input newer than its
    outputs, not for one replaced by a different file with an older time (``cp -p``, ``rsync -a``, ``tar x``, ``mv``).
    Whoever reads the file reports a missing one; the digest only has to change.
    """
    digest = hashlib.sha256()
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = None
        digest.update(b"absent" if data is None else hashlib.sha256(data).digest())
    return digest.hexdigest()
