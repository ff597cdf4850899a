"""Fetching with checksums and atomic extraction: a bad download leaves nothing behind."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.request
from pathlib import Path

from mgrfaults.config import section_defaults
from mgrfaults.errors import InputError
from mgrfaults.io import atomic_dir, atomic_path, is_disk_full

CHUNK = 1 << 20
# the schema's default (workflow/schemas/config.schema.yaml): the one place a default is written
AUDIO_EXTENSIONS = tuple(section_defaults("dataset.directory")["extensions"])


def audio_suffixes(extensions=AUDIO_EXTENSIONS) -> set[str]:
    """File suffixes of ``extensions`` (``"au"`` or ``".AU"``), lower case with the dot: what ``Path.suffix.lower()`` gives."""
    return {"." + e.lower().lstrip(".") for e in extensions}


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
            if is_disk_full(e):
                raise InputError(f"{dest}: cannot write the download of {url}: the disk holding {dest.parent} is full; "
                                 "free space there, or set `results` to a folder on a disk with room") from e
            hint = ""
            if local_key:
                hint = (f"; no network? download it elsewhere and set {local_key} to the local copy" if "://" in url
                        else f"; check {local_key}")
            raise InputError(f"{url}: cannot fetch: {e}{hint}") from e
        for algorithm, expected in (("md5", md5), ("sha256", sha256)):
            if expected:
                got = file_digest(tmp, algorithm)
                if got != expected.lower():
                    raise InputError(f"{url}: {algorithm} checksum mismatch: expected {expected}, got {got}"
                                     + checksum_hint(url, local_key))
    return dest


def checksum_hint(url: str, local_key: str | None) -> str:
    """What to check after a checksum mismatch: a local copy must be the published file byte for byte."""
    if "://" in url:  # local_key names the setting to use instead of the URL, not the URL's
        return "; the download is corrupt, or the file at the URL is another version than the checksum's"
    key = f"{local_key}: " if local_key else ""
    # editors and `git config core.autocrlf` rewrite line endings: the text looks the same, the bytes differ
    return (f"; {key}a local copy must be byte-identical to the published file: the same version, "
            "line endings not converted (CRLF), no re-encoding or edits")


def extract_tar(archive, dest_dir) -> Path:
    """Extract a tar archive into ``dest_dir`` atomically (a temporary folder renamed when complete).

    Members that would land outside ``dest_dir`` are refused (tarfile's ``data`` filter).
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    try:
        with atomic_dir(dest_dir) as tmp, tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, OSError) as e:
        if is_disk_full(e):
            raise InputError(f"{archive}: cannot extract into {dest_dir}: the disk holding it is full; free space "
                             "there, or set `results` to a folder on a disk with room") from e
        raise InputError(f"{archive}: cannot extract: {e}") from e
    return dest_dir


ARCHIVE_LITTER = ("__MACOSX",)
"""Folders that archivers add beside the content (macOS Finder's resource forks), never genres."""
SYSTEM_FOLDERS = frozenset({"lost+found", "$RECYCLE.BIN", "System Volume Information"})
"""Folders a file system or an operating system makes at a drive's root: never genres (often unreadable)."""


def _listed(folder: Path) -> list[Path]:
    # an unreadable folder counts as empty here: listing the audio then names it (dataset.list_audio_files)
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def is_appledouble(name: str) -> bool:
    """Whether a file is one of macOS's AppleDouble companions (``._<name>``: the resource fork and Finder's
    attributes of ``<name>``, written beside it on disks and shares without them), never audio. Other names that
    begin with a dot are files like any (``.38 Special - Hold On Loosely.wav``)."""
    return name.startswith("._")


def _holds_audio(folder: Path, exts) -> bool:
    """Whether ``folder`` holds an audio file itself (not in a sub-folder)."""
    return any(p.suffix.lower() in exts and not is_appledouble(p.name) and not p.is_dir() for p in _listed(folder))


def is_genre_folder(path: Path) -> bool:
    """Whether an entry of a folder of genre folders may be a genre: a folder, not hidden, not archive litter
    (``__MACOSX/``) nor a file system's own folder (:data:`SYSTEM_FOLDERS`)."""
    return path.is_dir() and not path.name.startswith(".") and path.name not in ARCHIVE_LITTER \
        and path.name not in SYSTEM_FOLDERS


def genre_folders(folder: Path) -> list[Path]:
    """The sub-folders of ``folder`` that may be genres (:func:`is_genre_folder`), sorted; none where it cannot be
    listed."""
    return [p for p in _listed(folder) if is_genre_folder(p)]


def find_genre_root(folder, extensions=AUDIO_EXTENSIONS) -> Path:
    """The folder that holds the genre folders: ``folder`` itself, or its sub-folder of genre folders (GTZAN's ``genres/``).

    Hidden folders and archive litter (``__MACOSX/``) beside ``genres/`` are ignored. A sub-folder
    that holds no audio itself but folders of audio (``genres/blues/...``) is the folder of genre
    folders when it is the only sub-folder, or when no other sub-folder holds audio.

    Raises
    ------
    InputError
        ``folder`` mixes both levels: a folder of genre folders beside folders that hold audio
        themselves (``genres/`` and ``docs/example.au``). Either choice would silently leave audio
        out, or make genres of the wrong folders; the message names both.
    """
    folder = Path(folder)
    exts = audio_suffixes(extensions)
    subdirs = genre_folders(folder)
    # a folder whose sub-folders hold audio is a folder of genre folders, whatever it holds itself (a stray file
    # in genres/ is warned about by list_audio_files, not made a genre)
    nested = [d for d in subdirs if any(_holds_audio(q, exts) for q in genre_folders(d))]
    if len(subdirs) == 1 and (nested or (genre_folders(subdirs[0]) and not _holds_audio(subdirs[0], exts))):
        return subdirs[0]
    direct = [d for d in subdirs if d not in nested and _holds_audio(d, exts)]
    if nested and direct:
        inner = [f"{d.name}/{q.name}/" for d in nested for q in genre_folders(d) if _holds_audio(q, exts)]
        raise InputError(
            f"{folder}: two levels of genre folders: {[d.name + '/' for d in nested][:5]} hold(s) folders of audio "
            f"({inner[:5]}), while {[d.name + '/' for d in direct][:5]} hold(s) audio itself. If those inner folders "
            "are albums or artists of a genre, move their audio up into the genre's folder: audio must lie directly "
            "in <root>/<genre>/ (sub-folders are not searched). If they are genres, set dataset.directory.root to the "
            "folder whose sub-folders they are (e.g. .../genres), or move the other audio out of it"
        )
    if len(nested) == 1:
        return nested[0]
    return folder
