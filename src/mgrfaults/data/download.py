"""Fetching with checksums and atomic extraction: a bad download leaves nothing behind."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.request
from pathlib import Path

from mgrfaults.errors import InputError
from mgrfaults.io import atomic_dir, atomic_path

CHUNK = 1 << 20


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``md5`` or ``sha256``), read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest, md5: str | None = None, sha256: str | None = None, timeout: float = 60.0,
          local_key: str | None = None) -> Path:
    """Download ``url`` (http(s):// or file://) or copy a local path to ``dest``, verifying a checksum.

    Parameters
    ----------
    url : str
        Source; a plain path is copied.
    dest : str or Path
        Final file; written to a temporary name and renamed only once the checksum matches.
    md5, sha256 : str, optional
        Expected hex digest; at least one should be given for data that results depend on.
    local_key : str, optional
        The config key that gives a local copy instead (``dataset.gtzan.index``, ...): named in the
        error, so that a user without network knows what to set.

    Raises
    ------
    InputError
        The source cannot be read, or its checksum differs (naming the URL, expected and got).
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        try:
            if "://" in url:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out, CHUNK)
            else:
                shutil.copyfile(url, tmp)
        except (OSError, ValueError) as e:
            hint = ""
            if local_key:
                hint = (f"; no network? download it elsewhere and set {local_key} to the local copy" if "://" in url
                        else f"; check {local_key}")
            raise InputError(f"{url}: cannot fetch: {e}{hint}") from e
        for algorithm, expected in (("md5", md5), ("sha256", sha256)):
            if expected:
                got = file_digest(tmp, algorithm)
                if got != expected.lower():
                    raise InputError(f"{url}: {algorithm} checksum mismatch: expected {expected}, got {got}")
    return dest


def extract_tar(archive, dest_dir) -> Path:
    """Extract a tar archive into ``dest_dir`` atomically (a temporary folder renamed when complete).

    Members that would land outside ``dest_dir`` are refused (tarfile's ``data`` filter).
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    try:
        with atomic_dir(dest_dir) as tmp, tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise InputError(f"{archive}: cannot extract: {e}") from e
    return dest_dir


ARCHIVE_LITTER = ("__MACOSX",)
"""Folders that archivers add beside the content (macOS Finder's resource forks), never genres."""


def find_genre_root(folder) -> Path:
    """The folder that holds the genre folders: ``folder`` itself, or its single sub-folder (GTZAN's ``genres/``).

    Hidden folders and archive litter (``__MACOSX/``) beside ``genres/`` are ignored.
    """
    folder = Path(folder)
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in ARCHIVE_LITTER]
    if len(subdirs) == 1 and any(q.is_dir() for q in subdirs[0].iterdir()):
        return subdirs[0]
    return folder
