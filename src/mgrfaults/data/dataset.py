"""Datasets on disk: a folder of genre-labelled audio, and the metadata table built from it."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from mgrfaults import GENRES
from mgrfaults.data.audio import CUT_MARGIN, load_audio, stored_format
from mgrfaults.data.download import (AUDIO_EXTENSIONS, SYSTEM_FOLDERS, audio_suffixes, find_genre_root, is_appledouble,
                                     is_genre_folder)
from mgrfaults.errors import AudioError, InputError, NoMusicError
from mgrfaults.io import csv_reads_back
from mgrfaults.data.metadata import TRUSTED_COLUMN
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DATASET = section_defaults("dataset")

GTZAN_ID = re.compile(r"^([a-z]+)\.\d{5}$")
"""A GTZAN excerpt's file stem, ``<genre>.<5 digits>``: its genre is GTZAN's label for it."""

log = logging.getLogger(__name__)

LISTING_COLUMNS = ("track_id", "path", "genre", "duration", "sample_rate")

TRUST_ADVICE = ("if you have listened to it and it is music, list it in dataset.trust_audio (its track id or its path "
                "from its genre folder on, <genre>/<file>): these checks are heuristics, and a file so listed is taken as it "
                "decodes")
"""What a refusal by the content checks (:class:`~mgrfaults.errors.NoMusicError`) adds: the way past a wrong one."""


def trusted_files(files: pd.DataFrame, entries, root=None) -> np.ndarray:
    """Which files ``dataset.trust_audio`` names.

    An entry names a file whose track id (``jazz.00054``), path below the folder of genre folders
    (``jazz/jazz.00054.wav``), path below ``root`` (a Kaggle copy's ``Data/genres_original/jazz/jazz.00054.wav``) or
    absolute path it is, as written (a name holding ``[``, ``*`` or ``?`` names that file alone). Otherwise an entry
    holding ``*``, ``?`` or ``[`` is a shell pattern (case-sensitive; ``*`` crosses folders) matched against the ids
    and the relative paths, and against the absolute paths where it is absolute itself (so ``*live*`` does not take
    every file of a root folder named ``live``). Names are compared in Unicode's NFC form (a macOS copy's names are
    NFD); ``\\`` is read as ``/``, and a leading ``./`` or ``~`` as the shell reads it.

    Parameters
    ----------
    files : DataFrame
        :func:`list_audio_files`' table (track_id, path, genre).
    entries : sequence of str
        ``dataset.trust_audio``.
    root : str or Path, optional
        The dataset's folder (``dataset.<source>.root``), for the paths below it.

    Returns
    -------
    np.ndarray, shape (n_files,), bool

    Raises
    ------
    InputError
        An entry that names no file of the dataset (a typo would otherwise trust nothing without a word).
    """
    def nfc(text: str) -> str:
        return unicodedata.normalize("NFC", text)

    # absolute and relative paths with '..' resolved, as the shell would (a root given as ../audio)
    absolute = [nfc(Path(os.path.abspath(p)).as_posix()) for p in files["path"]]
    below_genres = ["/".join(a.split("/")[-2:]) for a in absolute]
    base = os.path.abspath(root) if root is not None else None
    below_root = [nfc(os.path.relpath(a, base).replace(os.sep, "/")) if base is not None else b
                  for a, b in zip(absolute, below_genres)]
    as_listed = [nfc(Path(os.path.normpath(p)).as_posix()) for p in files["path"]]  # as a refusal names the file
    relative_names = [[nfc(str(t)) for t in files["track_id"]], below_genres, below_root]
    # a genre folder that cannot be listed is a row without a track id (list_audio_files): no file an entry could
    # name (nor an example), but named in the refusal
    listed = [t != "" for t in files["track_id"]]
    example = next((i for i, is_file in enumerate(listed) if is_file), None)
    unlistable = [str(p) for p, is_file in zip(files["path"], listed) if not is_file]
    files_named: dict[str, set] = {}  # every name a file goes by -> the files' rows
    for names in (*relative_names, absolute, as_listed):
        for i, name in enumerate(names):
            if listed[i]:
                files_named.setdefault(name, set()).add(i)
    trusted = np.zeros(len(files), dtype=bool)
    genre_folders = {name.split("/")[0] for name in below_genres}
    for entry in entries:
        written = nfc(entry)
        # as written first (an id may begin with '~'), then as a path the shell would read
        spellings = [written, written.replace("\\", "/"), os.path.normpath(written.replace("\\", "/"))]
        if written.startswith("~"):
            spellings.append(os.path.abspath(os.path.expanduser(written)))
        rows = next((files_named[w] for w in spellings if w in files_named), set())
        if not rows and any(c in written for c in "*?["):
            pattern = spellings[1].removeprefix("./")
            searched = [absolute] if pattern.startswith("/") else relative_names
            rows = {i for names in searched for i, name in enumerate(names)
                    if listed[i] and fnmatch.fnmatchcase(name, pattern)}
        if not rows and spellings[2].strip("/") in genre_folders:  # a genre folder: its files are what it means
            raise InputError(f"dataset.trust_audio: {entry!r} names a genre folder, no audio file: "
                             f"'{spellings[2].strip('/')}/*' trusts every file in it")
        if not rows:
            raise InputError(f"dataset.trust_audio: {entry!r} names no audio file of the dataset (an entry is a "
                             f"track id, such as {relative_names[0][example]!r}, or a path below the folder of genre "
                             f"folders, such as {below_genres[example]!r}, or a shell pattern matching either, such as "
                             f"{below_genres[example].split('/')[0] + '/*'!r})"
                             + (f"; {len(unlistable)} genre folder(s) could not be listed, their files unknown: "
                                f"{unlistable[:3]}" if unlistable else "")
                             if example is not None else f"dataset.trust_audio: {entry!r}: the dataset has no audio "
                             f"files" + (f" that could be listed ({unlistable[:3]} could not)" if unlistable else ""))
        trusted[sorted(rows)] = True
    return trusted


def trusted_file_names(root, entries, extensions=AUDIO_EXTENSIONS, gtzan: bool = False) -> list[str]:
    """``dataset.trust_audio`` resolved to the files it names: their paths below the folder of genre folders.

    The data stage's parameter (``workflow/rules/data.smk``): the same files named otherwise (a track id for its
    path, a pattern for the files it matches) rerun nothing, and a file added that a pattern matches reruns the
    data stage. The folder is listed as the scan lists it (:func:`list_audio_files`; a GTZAN copy's genre folders
    found as :func:`mgrfaults.data.annotations.gtzan_genre_root` finds them), its log messages left to the scan.

    Parameters
    ----------
    root : str or Path
        ``dataset.<source>.root``.
    entries : sequence of str
        ``dataset.trust_audio``.
    extensions : sequence of str
        ``dataset.directory.extensions``.
    gtzan : bool
        A GTZAN copy.

    Returns
    -------
    list of str
        ``<genre>/<file name>`` of each file the entries name (:func:`trusted_files`), sorted; the entries as
        written where the folder cannot be listed (not there yet, or a problem the scan names), for the scan to
        resolve.

    Raises
    ------
    InputError
        An entry that names no file of the dataset (:func:`trusted_files`).
    """
    loggers = [log, logging.getLogger("mgrfaults.data.annotations")]
    quiet = [logger.disabled for logger in loggers]
    try:
        for logger in loggers:
            logger.disabled = True  # what the listing finds is the scan's to log, not every Snakemake invocation's
        files = list_audio_files(genre_folders_root(root, extensions, gtzan), extensions, gtzan=gtzan)
    except (InputError, OSError):
        return list(entries)
    finally:
        for logger, was in zip(loggers, quiet):
            logger.disabled = was
    trusted = files["path"][trusted_files(files, entries, root)]
    return sorted({unicodedata.normalize("NFC", "/".join(Path(p).parts[-2:])) for p in trusted})


def genre_folders_root(root, extensions=AUDIO_EXTENSIONS, gtzan: bool = False) -> Path:
    """The folder of genre folders in ``root``: a GTZAN copy's as
    :func:`mgrfaults.data.annotations.gtzan_genre_root` finds it (either layout), a directory dataset's as
    :func:`mgrfaults.data.download.find_genre_root` does; an InputError where there is none."""
    if gtzan:
        from mgrfaults.data.annotations import gtzan_genre_root  # it imports this module

        return gtzan_genre_root(root)[0]
    return find_genre_root(root, extensions)


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; an unreadable folder is an InputError naming it."""
    try:
        return sorted(folder.iterdir())
    except PermissionError as e:
        raise InputError(f"{folder}: permission denied: the folder cannot be listed (check its mode and owner)") from e
    except OSError as e:
        raise InputError(f"{folder}: cannot list the folder: {e.strerror or e}") from e


def _relative(path, root: Path) -> str:
    """``path`` below ``root`` (``rock/blues.00005.au``), for messages that name several files."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _is_audio(path: Path, exts) -> bool:
    # a dangling or looping link is neither a file nor a folder: keep it so that it is reported
    return ((path.is_file() or (path.is_symlink() and not path.exists())) and path.suffix.lower() in exts
            and not is_appledouble(path.name))


OTHER_AUDIO_SUFFIXES = frozenset({".aif", ".aiff", ".aifc", ".caf", ".w64", ".rf64", ".wv", ".ape", ".opus", ".oga",
                                   ".m4a", ".mp4", ".aac", ".alac", ".wma", ".mp2", ".snd", ".au", ".wav", ".flac",
                                   ".ogg", ".mp3", ".wave", ".mpga", ".mpeg", ".m4b", ".spx", ".amr", ".dsf", ".mka"})
"""Suffixes of audio files: one in a genre folder but not among ``dataset.directory.extensions`` is named in a warning
(its excerpt is left out), where a cover image or a README is not."""


def _broken_genre_links(top: list[Path]) -> list[Path]:
    """The entries of a dataset's root that are links to a missing folder or that loop: genre folders lost."""
    return [p for p in top if p.is_symlink() and not p.exists() and not p.name.startswith(".")]


def _genre_folder_files(genre_dir: Path, exts) -> list[Path]:
    """The audio files of one genre folder; what is left out of it is logged, never dropped silently.

    Sub-folders are not searched (the layout is ``<root>/<genre>/<file>``), audio files of an extension not in
    ``dataset.directory.extensions`` are left out, and a folder with no audio file loses its genre: each gets a
    warning naming the folder.
    """
    entries = _entries(genre_dir)
    files = [f for f in entries if _is_audio(f, exts)]
    # `x.au ` or `x.au.`: the extension hidden by what follows it (a copy from Windows, a typo)
    trailing = sorted(f.name for f in entries if f.is_file() and f.name != f.name.rstrip(" .")
                      and Path(f.name.rstrip(" .")).suffix.lower() in exts | OTHER_AUDIO_SUFFIXES)
    if trailing:
        log.warning("%s: %d audio file(s) left out, their names ending in a space or a dot after the extension: %s; "
                    "rename them", genre_dir, len(trailing), [repr(n) for n in trailing[:5]])
    _warn_name_twins(genre_dir, files)
    hidden = [f.name for f in files if f.name.startswith(".")]
    if hidden:  # a file browser hides them: say that they are used
        log.info("%s: %d audio file(s) whose names begin with a dot (hidden by file browsers) used: %s", genre_dir,
                 len(hidden), hidden[:5])
    other_audio = OTHER_AUDIO_SUFFIXES - set(exts)
    unlisted = sorted(f.name for f in entries if f.suffix.lower() in other_audio
                      and not is_appledouble(f.name) and f.is_file())
    if unlisted:
        kinds = pd.Series([Path(n).suffix.lower() for n in unlisted]).value_counts().sort_index()
        # the extensions to add named as the key takes them: `unlisted` holds only suffixes not among `exts`
        log.warning("%s: %d audio file(s) of an extension not in dataset.directory.extensions (%s) left out: %s (e.g. "
                    "%s); add %s to dataset.directory.extensions to use them (libsndfile reads AIFF, CAF, W64, RF64, "
                    "FLAC, Ogg, Opus and MP3; AAC, M4A and WMA need converting first)", genre_dir, len(unlisted),
                    ", ".join(sorted(exts)), ", ".join(f"{n} {k}" for k, n in kinds.items()), unlisted[:3],
                    ", ".join(k.lstrip(".") for k in kinds.index))
    subfolders = [f.name for f in entries if f.is_dir() and not f.name.startswith(".")]
    if subfolders:
        log.warning("%s: %d sub-folder(s) not searched (audio must lie directly in <root>/<genre>/): %s",
                    genre_dir, len(subfolders), subfolders[:5])
    if not files:
        others = sorted({f.suffix.lower() or f.name for f in entries if f.is_file() and not f.name.startswith(".")})
        log.warning("%s: no audio file (%s) in this genre folder, genre %r left out%s", genre_dir,
                    ", ".join(sorted(exts)), genre_dir.name, f"; it holds other files: {others[:5]}" if others else "")
    return files


def library_layout_problem(genre_dir: Path, files: list[Path], exts) -> str:
    """Why a genre folder laid out as a music library, ``<genre>/<artist>/<file>``, is refused: more audio (of
    ``exts``) in its sub-folders than in it (``files``), a run on the few loose files passing for one on the dataset
    (audit 54); ``""`` otherwise. Files below named after one of the folder's own files (``segments/x_0.au`` for
    ``x.au``: cuts made from the excerpts, audit 56) are not counted, and fewer files below than in the folder (a
    ``live/``) are logged, not refused. Hidden folders are left out."""
    subfolders = sorted(p.name for p in _entries(genre_dir) if p.is_dir() and not p.name.startswith("."))
    stems = tuple(f.stem for f in files)
    below, holding = 0, []
    for sub in subfolders:
        count = 0
        for _, dirs, names in os.walk(genre_dir / sub, onerror=lambda error: None):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            count += sum(Path(n).suffix.lower() in exts and not is_appledouble(n)
                         and not (stems and Path(n).stem.startswith(stems)) for n in names)
        below += count
        holding += [sub] if count else []
    if below <= len(files):
        return ""
    return (f"{genre_dir}: {below} audio file(s) lie in its sub-folder(s) {holding[:3]} and {len(files)} directly in "
            "it; only <root>/<genre>/<file> is read (a <genre>/<artist>/<file> library?): move the excerpts into "
            f"{genre_dir.name}/, their artists into an annotations table's artist column "
            "(dataset.directory.annotations), and any other audio out of the dataset's root")


def _warn_name_twins(genre_dir: Path, files: list[Path]) -> None:
    """Warn of audio files in one folder whose names differ only in case or Unicode form (``Track.au``, ``track.au``;
    ``café`` composed and decomposed): two excerpts here, one file where the dataset is copied to macOS or Windows."""
    groups: dict[str, list[str]] = {}
    for f in files:
        groups.setdefault(unicodedata.normalize("NFC", f.name).casefold(), []).append(f.name)
    twins = [sorted(names) for names in groups.values() if len(names) > 1]
    if twins:
        log.warning("%s: %d group(s) of audio files whose names differ only in case or Unicode form, each file its own "
                    "excerpt here but one file on macOS and Windows (a copy there keeps one): %s", genre_dir,
                    len(twins), [" / ".join(ascii(n) for n in names) for names in twins[:5]])


def shared_ids(files: pd.DataFrame, ids: pd.Series, root, shown: pd.Series | None = None) -> list[str]:
    """One phrase per id held by more than one file: ``blues/blues.00000.au and rock/blues.00000.au share the id blues.00000``.

    Parameters
    ----------
    files : DataFrame
        With a ``path`` column.
    ids : Series
        The key of each row of ``files``; rows of one key clash.
    root : str or Path
        Paths are named relative to it.
    shown : Series, optional
        The id named for each row (default: ``ids``).
    """
    shown = ids if shown is None else shown
    clash = ids.duplicated(keep=False)
    groups = files.loc[clash].assign(_shown=shown[clash]).groupby(ids[clash], sort=True)
    return [" and ".join(_relative(p, Path(root)) for p in sorted(group["path"])) + f" share the id {group['_shown'].iloc[0]}"
            for _, group in groups]


def misplaced_gtzan_files(files: pd.DataFrame) -> pd.DataFrame:
    """The rows whose file is named as a GTZAN excerpt of another genre than its folder's.

    ``rock/blues.00005.au``: GTZAN's label is the genre in its file name (blues), the folder's would
    silently relabel it rock.

    Returns
    -------
    DataFrame
        The rows of ``files`` concerned, with a ``named_genre`` column added.
    """
    named = files["track_id"].str.extract(GTZAN_ID, expand=False)
    wrong = named.isin(GENRES) & (named != files["genre"])
    return files[wrong].assign(named_genre=named[wrong])


def _check_gtzan_names(files: pd.DataFrame, root: Path, gtzan: bool) -> None:
    """Refuse (``gtzan``) or warn about files named as another genre's GTZAN excerpt."""
    wrong = misplaced_gtzan_files(files)
    if wrong.empty:
        return
    said = [f"{_relative(r.path, root)}: its id {r.track_id} says {r.named_genre}, its folder says {r.genre}"
            for r in wrong.itertuples()]
    if gtzan:
        # a folder named as its genre in other letters (Blues): its excerpts are all in place, the folder is not
        renamed = sorted({(r.genre, r.named_genre) for r in wrong.itertuples() if r.genre.lower() == r.named_genre})
        fix = ("rename the folder(s) " + ", ".join(f"{folder} to {genre}" for folder, genre in renamed)
               + " (GTZAN's genre folders are lower case)" if renamed else
               "move each file back to its genre's folder (or use dataset.source: directory to relabel excerpts)")
        raise InputError(
            f"dataset.gtzan.root: {root}: {len(wrong)} GTZAN excerpt(s) in another genre's folder: {'; '.join(said[:5])}. "
            f"A GTZAN excerpt's genre is the one in its file name: {fix}"
        )
    # a directory dataset may relabel on purpose (Sturm's mislabelings): the folder decides, but say so
    log.warning("%s: %d file(s) named as another genre's GTZAN excerpt are labelled by their folder: %s",
                root, len(wrong), said[:5])


def _track_ids(files: pd.DataFrame, root: Path, gtzan: bool) -> pd.Series:
    """Each file's track id: its stem, or ``<genre>.<stem>`` for every file when stems repeat across genres.

    Raises
    ------
    InputError
        Naming the files: two files of one stem in one genre folder (``x.au`` and ``x.wav``), any
        repeated stem in a GTZAN copy (each excerpt is there once: a stray copy would otherwise
        rename every id), or ids that still repeat once prefixed.
    """
    stems = files["track_id"]
    where = f"dataset.gtzan.root: {root}" if gtzan else str(root)
    # one stem twice in one folder (x.au and x.wav): prefixing the genre cannot tell them apart
    same_folder = shared_ids(files, files["genre"] + "/" + stems, root, shown=stems)
    if same_folder:
        raise InputError(f"{where}: {len(same_folder)} track id(s) held by two files: {'; '.join(same_folder[:5])}; "
                         "keep one file per excerpt")
    clashes = shared_ids(files, stems, root)
    if not clashes:
        return stems
    if gtzan:
        raise InputError(
            f"dataset.gtzan.root: {root}: {len(clashes)} GTZAN excerpt(s) found twice: {'; '.join(clashes[:5])}. "
            "A GTZAN copy holds each excerpt once: remove the stray copies"
        )
    log.warning("%s: %d file stem(s) repeat across genre folders (%s): every track id is <genre>.<stem>, "
                "so annotations and partition lists must use those ids", root, len(clashes), "; ".join(clashes[:3]))
    ids = files["genre"] + "." + stems
    again = shared_ids(files, ids, root)
    if again:
        raise InputError(f"{root}: the same track id twice: {'; '.join(again[:5])}; rename one of the files")
    return ids


def _check_utf8_names(paths) -> None:
    """Refuse file and folder names that are not UTF-8 (a byte such as Latin-1's ``\\xe9``), naming them.

    Python holds such a name with surrogate escapes, which no table, HDF5 file or log line can be written
    with, and libsndfile cannot open it: better a message naming it than a crash midway.
    """
    bad = []
    for path in paths:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            bad.append(path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))
    if bad:
        raise InputError(f"{len(bad)} file or folder name(s) are not UTF-8 text: {bad[:5]}; rename them "
                         "(e.g. convmv -f latin1 -t utf8 -r --notest <folder>)")


def list_audio_files(root, extensions=AUDIO_EXTENSIONS, gtzan: bool = False) -> pd.DataFrame:
    """Find the audio of a folder in GTZAN's layout ``<root>/<genre>/<name>.<ext>``.

    Symbolic links whose target is missing or that loop are listed (decoding then names them
    as bad audio) rather than skipped without a trace. A genre folder that cannot be listed is a
    row with an empty track_id and its ``problem``: :func:`scan_audio` raises or skips it under
    ``on_bad_audio``. Sub-folders of genre folders, and genre folders without audio, are logged.

    Parameters
    ----------
    root : str or Path
        The folder of genre folders.
    extensions : sequence of str
        Audio file extensions, case-blind.
    gtzan : bool
        A GTZAN copy: a file's genre is the one its name says (``blues.00005``), and each excerpt
        is there once. A file in another genre's folder, or a stem found twice, is refused
        (a directory dataset only logs the first and prefixes ids for the second).

    Returns
    -------
    DataFrame
        track_id (the file stem; ``<genre>.<stem>`` for every file when stems repeat across
        genres), path (str), genre, problem (``""`` for a file to decode), sorted by track_id.

    Raises
    ------
    InputError
        ``root`` missing or unreadable, no audio in any genre folder, a track id held by two
        files (naming them), or (``gtzan``) a misplaced or repeated GTZAN excerpt.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset folder not found")
    exts = audio_suffixes(extensions)
    rows, unreadable = [], []
    top = _entries(root)
    for p in _broken_genre_links(top):
        # a genre folder behind a dangling or looping link: report it, do not lose the genre silently
        unreadable.append({"track_id": "", "path": str(p), "genre": p.name, "problem": f"broken symbolic link (its "
                           f"target {os.readlink(p)!r} is missing, or the links loop)"})
    loose = [p.name for p in top if p.is_file() and p.suffix.lower() in exts]
    if loose:
        log.warning("%s: %d audio file(s) outside any <genre>/ folder are not used: %s", root, len(loose), loose[:5])
    system = sorted(p.name for p in top if p.name in SYSTEM_FOLDERS)
    if system:
        log.info("%s: %s left out: a file system's own folder(s), no genre", root, system)
    for genre_dir in filter(is_genre_folder, top):
        try:
            files = _genre_folder_files(genre_dir, exts)
        except InputError as e:
            unreadable.append({"track_id": "", "path": str(genre_dir), "genre": genre_dir.name, "problem": str(e).split(": ", 1)[1]})
            continue
        if not gtzan and (problem := library_layout_problem(genre_dir, files, exts)):
            raise InputError(problem)  # a GTZAN copy's excerpts are named and counted: all must be there anyway
        rows += [{"track_id": f.stem, "path": str(f), "genre": genre_dir.name, "problem": ""} for f in files]
    if not rows and not unreadable:
        raise InputError(f"{root}: no audio files ({', '.join(sorted(exts))}) in <genre>/ folders")
    _check_utf8_names([r["path"] for r in rows] + [r["path"] for r in unreadable])
    check_genre_folder_names({r["genre"] for r in rows})  # before hours of decoding, not after
    df = pd.DataFrame(rows, columns=["track_id", "path", "genre", "problem"])
    ids = _track_ids(df, root, gtzan)
    _check_gtzan_names(df, root, gtzan)  # on the stems, before any <genre>. prefix hides a GTZAN name
    df["track_id"] = ids
    df = pd.concat([df, pd.DataFrame(unreadable, columns=df.columns)], ignore_index=True)
    return df.sort_values(["track_id", "path"]).reset_index(drop=True)


def audio_manifest(root, extensions=AUDIO_EXTENSIONS, gtzan: bool = False) -> str:
    """A short, deterministic digest of the audio files the data stage reads below ``root``: relative path, size,
    st_mtime_ns.

    The data stage takes it as a parameter: Snakemake would see only the root folder's own mtime, which misses a file
    rewritten in place or added to a genre folder, and changes with any file written beside the genre folders (a
    ``.DS_Store``, a README, a config file where ``root`` is the working folder). So it covers exactly the files
    :func:`list_audio_files` lists (no sub-folder of a genre folder, hidden folder or AppleDouble file), in the folder
    of genre folders the scan finds (:func:`mgrfaults.data.download.find_genre_root`, or GTZAN's layouts). Only
    ``stat`` is called, once per file; a folder that cannot be listed counts as one entry.

    Parameters
    ----------
    root : str or Path
        ``dataset.<source>.root``.
    extensions : sequence of str
        ``dataset.directory.extensions``.
    gtzan : bool
        A GTZAN copy: its genre folders found as :func:`mgrfaults.data.annotations.gtzan_genre_root` finds them.

    Returns
    -------
    str
        ``<n> audio files, <16 hex digits>``; ``no audio files`` for a root that is missing or holds none; where no
        folder of genre folders is found, the problem (the scan names it; a folder mended changes the digest).
    """
    root = Path(root)
    if not root.is_dir():
        return "no audio files"
    exts = audio_suffixes(extensions)
    try:
        genre_root = genre_folders_root(root, extensions, gtzan)
    except InputError as e:
        return f"no folder of genre folders: {e}"
    top = _entries(genre_root)
    paths = _broken_genre_links(top)
    for genre_dir in filter(is_genre_folder, top):
        try:
            paths += [f for f in _entries(genre_dir) if _is_audio(f, exts)]
        except InputError:
            paths.append(genre_dir)  # unreadable: the scan names it; readable again, its files count
    lines = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:  # a dangling link: its own size and time, so that fixing it counts as a change
            st = os.lstat(path)
        lines.append(f"{Path(path).relative_to(root).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}\n")
    if not lines:
        return "no audio files"
    digest = hashlib.sha256("".join(sorted(lines)).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{len(lines)} audio files, {digest[:16]}"


_ON_BAD_AUDIO_ERROR = ("dataset.on_bad_audio: error; with skip, files that do not decode or hold no music are left out "
                       "and listed in dataset/bad_audio.csv")
"""The key that lets the run go on without a bad file, as a refusal names it."""

_TRUST_CANNOT_WAIVE = ("; dataset.trust_audio names this file, but it waives the heuristic checks alone: a file that "
                       "does not decode, holds no signal at all or whose channels cancel is refused all the same")
"""What the refusal of a trusted file adds: the key was read, and cannot take this file."""


def scan_audio(files: pd.DataFrame, sample_rate: int = _DATASET["sample_rate"], max_duration: float = _DATASET["max_duration"],
               on_bad_audio: str | dict = _DATASET["on_bad_audio"], trust_audio=tuple(_DATASET["trust_audio"]),
               root=None):
    """Decode every file once, to check it and measure it.

    Parameters
    ----------
    files : DataFrame
        From :func:`list_audio_files` (track_id, path, genre).
    sample_rate : int
        Hz, the rate features will be computed at.
    max_duration : float
        Seconds kept per file.
    on_bad_audio : {'error', 'skip'} or dict
        ``error``: the first bad file raises :class:`AudioError` naming it; ``skip``: bad files
        are logged, left out of the listing and returned in ``bad``. A dict holds this function's keyword
        arguments ``on_bad_audio``, ``trust_audio`` and ``root``: the data stage's parameter where
        ``dataset.trust_audio`` names files (``workflow/rules/data.smk``: a parameter of its own would rerun
        every results folder's data stage, and all after it).
    trust_audio : sequence of str
        ``dataset.trust_audio``: files taken as they decode (:func:`trusted_files`), whatever the content checks
        say (what they say is logged).
    root : str or Path, optional
        The dataset's folder, for ``trust_audio``'s relative paths.

    Returns
    -------
    listing : DataFrame
        track_id, path, genre, duration (s, after the cut), sample_rate, and :data:`TRUSTED_COLUMN` where
        ``trust_audio`` names a file. Files longer than :data:`CUT_MARGIN`
        times ``max_duration`` are logged (a warning: count, longest, first files).
    bad : DataFrame
        path, reason.

    Raises
    ------
    AudioError
        The first bad file (``error``); a folder that cannot be listed is bad audio too.
    InputError
        Every file was bad (``skip``): an empty dataset is refused rather than written.
    """
    if isinstance(on_bad_audio, dict):
        return scan_audio(files, sample_rate, max_duration, **on_bad_audio)
    if on_bad_audio not in ("error", "skip"):
        raise ValueError(f"on_bad_audio must be 'error' or 'skip', got {on_bad_audio!r}")
    trusted = trusted_files(files, trust_audio, root) if len(trust_audio) else np.zeros(len(files), dtype=bool)
    rows, bad, cut = [], [], []
    for row, trust in zip(files.itertuples(index=False), trusted):
        try:
            if getattr(row, "problem", ""):
                raise AudioError(row.path, row.problem)
            y = load_audio(row.path, sample_rate=sample_rate, max_duration=max_duration)
        except NoMusicError as e:
            if not trust:
                if on_bad_audio == "error":
                    raise NoMusicError(e.path, f"{e.problem} ({_ON_BAD_AUDIO_ERROR}; {TRUST_ADVICE})") from e
                log.warning("skipping bad audio: %s (%s)", e, TRUST_ADVICE)
                bad.append({"path": row.path, "reason": e.problem})
                continue
            # said, so that the log tells what was waived and why a later look at the excerpt may surprise
            log.warning("%s: taken as it decodes (dataset.trust_audio names it), though the content checks say: %s",
                        e.path, e.problem)
            y = load_audio(row.path, sample_rate=sample_rate, max_duration=max_duration, judge_content=False)
        except AudioError as e:
            if on_bad_audio == "error":
                raise AudioError(e.path, f"{e.problem} ({_ON_BAD_AUDIO_ERROR}"
                                         f"{_TRUST_CANNOT_WAIVE if trust else ''})") from e
            log.warning("skipping bad audio: %s%s", e, _TRUST_CANNOT_WAIVE if trust else "")
            bad.append({"path": row.path, "reason": e.problem})
            continue
        if len(y) >= int(max_duration * sample_rate):  # the decoder stopped at max_duration: was the file longer?
            stored = stored_format(row.path)[2]
            if stored is not None and stored > CUT_MARGIN * max_duration:
                cut.append((row.path, stored))
        rows.append(
            {"track_id": row.track_id, "path": row.path, "genre": row.genre,
             # unrounded: a very short file must keep a positive duration (4 decimals made 1 sample 0.0)
             "duration": len(y) / sample_rate, "sample_rate": sample_rate, TRUSTED_COLUMN: bool(trust)}
        )
    if cut:
        # the excerpts are the files' first seconds: a dataset of whole songs is analysed on its intros
        longest = max(cut, key=lambda c: c[1])
        log.warning("%d of %d files are longer than dataset.max_duration (%g s) and were cut to their first %g s "
                    "(the longest, %s, holds %.1f s; first: %s); raise dataset.max_duration to analyse more of them",
                    len(cut), len(files), max_duration, max_duration, longest[0], longest[1],
                    ", ".join(str(p) for p, _ in cut[:3]))
    listing = pd.DataFrame(rows, columns=list(LISTING_COLUMNS) + [TRUSTED_COLUMN])
    if trusted.any():
        log.info("%d file(s) named by dataset.trust_audio, taken as they decode: %s", int(trusted.sum()),
                 ", ".join(files["track_id"][trusted].astype(str)[:10]))
    else:
        listing = listing.drop(columns=TRUSTED_COLUMN)  # the listing of a run without the key, as before it
    if listing.empty:
        first = "; ".join(f"{b['path']}: {b['reason']}" for b in bad[:3])
        raise InputError(
            f"dataset.on_bad_audio: every one of the {len(bad)} audio files was skipped as bad audio, "
            f"nothing is left to analyse (first: {first})"
        )
    return listing, pd.DataFrame(bad, columns=["path", "reason"])


def check_fault_values(ann: pd.DataFrame, source) -> None:
    """Normalise ``fault`` (lower case, spaces and hyphens as underscores, as a table's column names are read:
    ``Exact Replica`` is ``exact_replica``; empty: ``none``) in place and refuse a value that is no fault.

    Parameters
    ----------
    ann : DataFrame
        :func:`mgrfaults.data.annotations.read_annotations`' table, indexed by file line.
    source : str or Path
        The annotations file, for the messages.

    Raises
    ------
    InputError
        Naming ``source``, the values, the first row's track and line, and the values allowed.
    """
    from mgrfaults.data.metadata import FAULTS

    if "fault" in ann.columns:
        ann["fault"] = ann["fault"].str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True).replace("", "none")
        bad = ann[~ann["fault"].isin(FAULTS)]
        if len(bad):
            raise InputError(
                f"{source}: fault: unknown value(s) {sorted(set(bad['fault']))[:5]} "
                f"(track {bad['track_id'].iloc[0]}, line {bad.index[0]}); one of {list(FAULTS)}"
            )


def check_annotation_values(ann: pd.DataFrame, track_ids, source) -> None:
    """Normalise ``fault`` (lower case) in place and refuse values that would fail later under another file's name.

    Parameters
    ----------
    ann : DataFrame
        :func:`mgrfaults.data.annotations.read_annotations`' table, indexed by file line.
    track_ids : collection of str
        The dataset's ids.
    source : str or Path
        The annotations file, for the messages.

    Raises
    ------
    InputError
        Naming ``source``, the column, the rows and their lines: an unknown fault, a ``replica_of`` naming a
        track not in the dataset, a ``replica_of`` on a row whose fault is no replica (``none``, ``distortion``,
        ``mislabel``: partitioning ignores the link there, so a copy could be tested beside its original). Links in a
        circle (a self-replica too) are taken: the fault-filtered partitions keep one member of each
        (:func:`mgrfaults.partitions.split.replica_cycle_keepers`).
    """
    check_fault_values(ann, source)
    if "replica_of" in ann.columns:
        bad = ann[(ann["replica_of"] != "") & ~ann["replica_of"].isin(set(track_ids))]
        if len(bad):
            raise InputError(
                f"{source}: replica_of: {len(bad)} row(s) name a track not in the dataset, "
                f"e.g. {bad['track_id'].iloc[0]} -> {bad['replica_of'].iloc[0]!r} (line {bad.index[0]})"
            )
        unmarked = non_replica_links(ann)
        if len(unmarked):
            raise InputError(
                f"{source}: replica_of: {len(unmarked)} row(s) name an original but their fault is "
                f"{_fault_words(ann, unmarked)}, e.g. {unmarked['track_id'].iloc[0]} -> "
                f"{unmarked['replica_of'].iloc[0]!r}: give fault exact_replica or recording_replica (the copy of "
                "another excerpt), or empty replica_of, else the fault-filtered partition ignores the link and can "
                f"test the copy beside its original in train (line(s) {[int(i) for i in unmarked.index[:10]]})"
            )
    from mgrfaults.faults.groups import REPLICA_FAULTS

    if "fault" in ann.columns:
        unlinked = ann[ann["fault"].isin(REPLICA_FAULTS)
                       & (ann["replica_of"] == "" if "replica_of" in ann.columns else True)]
        if len(unlinked):
            # as GTZAN's own faults have it where the study's lists keep no copy (mgrfaults.data.annotations), but
            # typed as a list of replica sets it drops every copy of a recording: said, not refused
            log.warning("%s: %d row(s) marked a replica with no replica_of (%s, line(s) %s): the fault-filtered "
                        "partitions remove each, and so keep no copy of a recording whose copies are all marked so; "
                        "to keep one, leave it unmarked and name it in the others' replica_of", source, len(unlinked),
                        list(unlinked["track_id"][:5]), [int(i) for i in unlinked.index[:10]])


def non_replica_links(ann: pd.DataFrame) -> pd.DataFrame:
    """The rows of an annotations table that name an original (``replica_of``) while their fault is no replica fault
    (:data:`mgrfaults.faults.groups.REPLICA_FAULTS`; no fault column: ``none``). Only replicas' links are read: the
    partitions remove a ``distortion`` or ``mislabel`` excerpt as itself and keep a ``none`` one."""
    from mgrfaults.faults.groups import REPLICA_FAULTS

    faults = ann["fault"] if "fault" in ann.columns else pd.Series("none", index=ann.index)
    return ann[(ann["replica_of"] != "") & ~faults.isin(REPLICA_FAULTS)]


def _fault_words(ann: pd.DataFrame, rows: pd.DataFrame) -> str:
    """The faults of ``rows`` in words: ``none``, ``distortion, mislabel``, or ``not given (no fault column)``."""
    if "fault" not in ann.columns:
        return "not given (no fault column)"
    return ", ".join(sorted(set(rows["fault"])))


def _prefixed_hint(listing: pd.DataFrame) -> str:
    """A hint for unknown ids when the listing's ids are ``<genre>.<stem>`` (stems repeat across genres)."""
    stems = listing["path"].map(lambda p: Path(p).stem)
    if len(listing) and (listing["track_id"] == listing["genre"] + "." + stems).all():
        return ("; this dataset's track ids are <genre>.<stem> (e.g. "
                f"{listing['track_id'].iloc[0]}), because file stems repeat across genre folders (see the scan_audio log)")
    return ""


def _look_alike_hint(unknown, track_ids) -> str:
    """A hint for unknown ids that are a dataset's id with its leading zeros dropped (``1`` for ``001``), or that read
    as two or more of the dataset's ids (``éé`` half composed: the files ``éé`` composed and ``éé`` decomposed),
    which an annotation is matched to only where it names one of them alone."""
    from mgrfaults.data.annotations import _loose_id, ids_by_loose_form

    def ascii_number(text) -> bool:  # '²' is a digit to str.isdigit, not to int() (audit 51)
        return re.fullmatch(r"[0-9]+", str(text)) is not None

    # a spreadsheet drops an id's leading zeros (001 -> 1): name the dataset's id that the number reads as
    padded = {}
    for track_id in track_ids:
        if ascii_number(track_id):
            padded.setdefault(int(track_id), []).append(str(track_id))
    for track_id in unknown:
        if ascii_number(track_id) and int(track_id) in padded and str(track_id) not in padded[int(track_id)]:
            return (f"; {track_id!r} reads as the dataset's {padded[int(track_id)][0]!r} with its leading zeros "
                    "dropped, as a spreadsheet drops them: write the ids as text (the file's name as it is)")
    by_form = ids_by_loose_form(track_ids)
    for track_id in unknown:
        alike = sorted(by_form.get(_loose_id(track_id), ()))
        if len(alike) > 1:
            return (f"; {ascii(track_id)} could be any of {len(alike)} dataset ids that differ from it only in Unicode "
                    f"form (composed or decomposed accents) or spaces around it: {ascii(alike[:5])}; write it as its "
                    "file's name writes it")
    return ""


def _unlisted_files(listing: pd.DataFrame, track_ids) -> dict[str, str]:
    """Those of ``track_ids`` that name an audio file in the listing's genre folders which the listing does not
    hold (a file the scan skipped as undecodable, or of an extension ``dataset.directory.extensions`` left out),
    each with its file's suffix (lower case, with its dot). An id is a file's stem, or ``<genre>.<stem>`` where stems
    repeat across genres; an audio file has one of the listing's own suffixes or one of :data:`AUDIO_EXTENSIONS` (a
    ``notes.txt`` beside the audio is no excerpt)."""
    if not len(track_ids) or "path" not in listing or not len(listing):
        return {}
    listed = {Path(p).absolute() for p in listing["path"]}
    suffixes = {Path(p).suffix.lower() for p in listing["path"]} | audio_suffixes(AUDIO_EXTENSIONS)
    unlisted = {}
    for folder in sorted({Path(p).parent for p in listing["path"]}):
        for entry in _entries(folder) if folder.is_dir() else []:
            if _is_audio(entry, suffixes) and entry.absolute() not in listed:
                for track_id in (entry.stem, f"{folder.name}.{entry.stem}"):
                    unlisted.setdefault(track_id, entry.suffix.lower())
    wanted = set(track_ids) - set(listing["track_id"])
    return {t: unlisted[t] for t in sorted(wanted & set(unlisted))}


def relink_orphaned_replicas(ann: pd.DataFrame, skipped_rows: dict, present_ids, annotations) -> pd.DataFrame:
    """Annotations whose ``replica_of`` names a file the scan skipped, linked to one another instead.

    The copies of one skipped original are still copies of each other. Where the skipped file was itself annotated
    as a replica of an excerpt that is there (following skipped files), its copies become replicas of that one;
    else the first of those marked replicas (by track id) stands for the original (its fault becomes ``none``, no
    link) and the others become its replicas. Either way a fault-filtered partition removes
    them as it removes any replica, and no two of them land in train and test (audit 49). A relinked copy is an
    ``exact_replica`` of its new original only where both were exact copies (the same samples as the skipped file),
    else a ``recording_replica``; a copy whose fault is no replica kind (a ``distortion``) keeps it, unlinked. A single
    copy is an excerpt of its own.

    Parameters
    ----------
    ann : DataFrame
        Annotation rows (``track_id``, ``replica_of``, optionally ``fault``), the skipped files' own rows left out.
    skipped_rows : dict
        Each skipped file's id -> its own row's ``(replica_of, fault)`` (``("", "none")`` where it has none).
    present_ids : collection of str
        The dataset's track ids (the files the scan kept).
    annotations : str or Path
        The annotations file, for the log.

    Returns
    -------
    DataFrame
        ``ann``, a copy where a link was changed.
    """
    from mgrfaults.faults.groups import REPLICA_FAULTS

    orphans = ann["replica_of"].isin(set(skipped_rows))
    if not orphans.any():
        return ann
    ann = ann.copy()
    has_faults = "fault" in ann.columns
    # without a fault column every copy is linked all the same: check_annotation_values then refuses the links of no
    # replica fault, as it refuses any (audit 52: they were dropped without a word)
    faults = ann["fault"].copy() if has_faults else pd.Series("exact_replica", index=ann.index)
    present = set(present_ids)

    def root(original: str) -> tuple[str, bool, bool]:
        """The end of a skipped file's chain of originals through skipped files: a present excerpt (True), or the
        chain's last skipped file (the smallest of a cycle) standing for the group (False); exact all the way."""
        chain, exact = [original], True
        target = original
        while target in skipped_rows:
            link, kind = skipped_rows[target]
            exact &= not link or kind == "exact_replica"  # each link followed: the same samples all along
            if link in chain:  # a cycle among skipped files: one key for all of it
                return min(chain[chain.index(link):]), False, exact
            if not link or link not in skipped_rows:
                return (link, True, exact) if link in present else (target, False, exact)
            chain.append(link)
            target = link
        return target, False, exact

    links = ann.loc[orphans, "replica_of"].copy()  # each copy's skipped file, as annotated
    resolved = {original: root(original) for original in set(links)}
    group_of = links.map(lambda o: resolved[o][0])
    relinked = []
    for key, members_all in group_of.groupby(group_of, sort=True):
        group = ann.loc[members_all.index]
        to_present = resolved[links[members_all.index[0]]][1]
        itself = group.index[group["track_id"] == key]  # the original, annotated as a copy of its own copy: a cycle
        copies = group[faults[group.index].isin(REPLICA_FAULTS) & (group["track_id"] != key)]
        ann.loc[group.index.difference(copies.index), "replica_of"] = ""  # a distortion is removed as itself
        if has_faults and len(itself):
            marked = ann.loc[itself, "fault"]
            ann.loc[itself, "fault"] = marked.where(~marked.isin(REPLICA_FAULTS), "none")
        if to_present:
            kept, members, new_original = None, copies.index, key
        elif len(copies):
            order = copies.sort_values("track_id")
            kept, members = order.index[0], order.index[1:]
            new_original = ann.loc[kept, "track_id"]
            ann.loc[kept, "replica_of"] = ""
            if has_faults:
                ann.loc[kept, "fault"] = "none"
        else:
            continue
        ann.loc[members, "replica_of"] = new_original
        if has_faults:
            # exact only where the copy and its new original hold one file's samples: both exact copies of the
            # skipped file, or an exact copy of it where the skipped file is an exact copy of the original, all along
            if kept is not None:
                same_samples = pd.Series([faults[kept] == "exact_replica" and resolved[links[kept]][2]
                                          and resolved[links[i]][2] for i in members], index=members, dtype=bool)
            else:
                same_samples = pd.Series([resolved[links[i]][2] for i in members], index=members, dtype=bool)
            exact = (faults[members] == "exact_replica") & same_samples
            ann.loc[members, "fault"] = np.where(exact, "exact_replica", "recording_replica")
        copies_now = list(ann.loc[members, "track_id"])
        relinked.append(f"{key}: {copies_now} now replicas of its own original {new_original}" if kept is None
                        else f"{key}: {new_original} stands for it"
                        + (f", {copies_now} now its replicas" if copies_now else ""))
    log.warning("%s: %d excerpt(s) annotated as replicas of a file the scan skipped are linked to one another instead "
                "(to the skipped file's own original where it is there, else to the first copy): %s", annotations,
                int(orphans.sum()), relinked[:10])
    return ann


def _listing_extensions(listing: pd.DataFrame) -> set[str]:
    """The extensions of the listing's files (``opus``, ``aifc``: whatever ``dataset.directory.extensions`` let in),
    lower case without the dot: an annotation that names a file by its name drops them."""
    paths = listing["path"] if "path" in listing else []
    return {Path(p).suffix.lower().lstrip(".") for p in paths if Path(p).suffix}


def _warn_unannotated(track_ids: pd.Series, annotated: pd.Series, source) -> None:
    """Log the excerpts an annotations file leaves out: each becomes its own artist, with no known fault."""
    missing = sorted(set(track_ids) - set(annotated))
    if missing:
        # a partial file is allowed (annotations are optional), but it quietly weakens artist filtering
        log.warning("%s: %d of the %d excerpts are not annotated (first: %s): each of them is its own artist "
                    "(unknown:<track_id>) with fault none", source, len(missing), len(track_ids), missing[:5])


#: names the tables give their own rows and columns: the partition and fault summaries' total row ("all"),
#: the figure-of-merit table's F-score row and precision column; a genre of that name would repeat them
RESERVED_GENRES = ("all", "F-score", "Precision", "predicted")


def check_genre_names(genres: pd.Series) -> None:
    """Refuse a directory dataset's genre folders that cannot make a genre recognition task, naming them.

    At least 2 genres (one genre makes every system right: accuracy 1.0, and SVMs refuse it); no two
    names that differ only in case, Unicode form, spaces, hyphens or underscores (``Rock``, ``rock``: one folder on
    macOS and Windows; ``música`` composed and decomposed, ``hip hop`` and ``hip-hop``: one name to a reader, two
    classes here); no space before or after a name (invisible in the tables); no control character (a line
    break or tab splits a row of the Markdown and text tables); none of :data:`RESERVED_GENRES` (the tables'
    own row and column names); none that a CSV reader takes for a number, a boolean or a missing value
    (:func:`mgrfaults.io.csv_reads_back`).
    """
    names = sorted(set(map(str, genres)))
    if len(names) < 2:
        raise InputError(f"dataset.directory.root: the audio that decodes lies in {len(names)} genre folder(s) "
                         f"{names}: genre recognition needs at least 2 genres")
    check_genre_folder_names(names)


def check_genre_folder_names(names) -> None:
    """The name rules of :func:`check_genre_names`, on folder names alone: checked when the folders are listed,
    before any file is decoded."""
    names = sorted(set(map(str, names)))
    controlled = [g for g in names if any(unicodedata.category(c) == "Cc" for c in g)]
    if controlled:
        raise InputError(f"dataset.directory.root: genre folder(s) {controlled}: a control character (line break, "
                         "tab) in a genre's name splits the rows of the tables; rename the folder(s)")
    padded = [g for g in names if g != g.strip()]
    if padded:
        raise InputError(f"dataset.directory.root: genre folder(s) {[repr(g) for g in padded]}: a space before or "
                         "after a genre's name is invisible in every table, where it reads as another genre; rename "
                         "the folder(s) without it")
    # `hip hop`, `hip-hop`, `Hip_Hop`: one genre spelt two ways would be two classes, each excerpt "wrong" in the other
    folded = pd.Series(names).map(lambda g: re.sub(r"[\s_-]+", "", unicodedata.normalize("NFC", g).casefold()))
    by_case = pd.Series(names).groupby(folded).agg(list)
    same = [group for group in by_case if len(group) > 1]
    if same:
        raise InputError(f"dataset.directory.root: genre folders whose names differ only in case, Unicode form, "
                         f"spaces, hyphens or underscores: {ascii(same[:5])}; they read as one genre (and case-blind "
                         "file systems, macOS and Windows, hold case twins as one folder): rename or merge them")
    reserved = [g for g in names if g in RESERVED_GENRES]
    if reserved:
        raise InputError(f"dataset.directory.root: genre folder(s) {reserved}: the tables name their own rows "
                         f"{list(RESERVED_GENRES)}; rename the folder(s)")
    unreadable = [g for g in names if not csv_reads_back(g)]
    if unreadable:
        raise InputError(f"dataset.directory.root: genre folder(s) {unreadable}: a table reader takes such a name "
                         "for a number, a boolean or a missing value (NA, None, null, nan), so the genre would stop "
                         "matching itself in the results' tables; rename the folder(s), e.g. with a letter first")


def directory_metadata(listing: pd.DataFrame, annotations=None, require_artist: bool = False) -> pd.DataFrame:
    """Metadata for any folder of genre-labelled audio.

    Without annotations each excerpt is its own artist (``unknown:<track_id>``, so artist
    filtering cannot merge strangers) and has no known fault. An annotations CSV
    (:func:`mgrfaults.data.annotations.read_annotations`: a ``track_id`` column and any of
    ``artist``, ``fault``, ``replica_of``, ``title``) fills those in.

    Parameters
    ----------
    require_artist : bool
        A condition filters by artist: an annotations file without an artist column is refused
        (it would silently make every excerpt its own artist).
    """
    from mgrfaults.data.annotations import read_annotations

    # a listing read back with pandas' defaults holds folder 01 as the number 1: name the folder as it is
    paths = listing["path"] if "path" in listing else [""] * len(listing)
    folders = [g if isinstance(g, str) or not Path(p).parent.name else Path(p).parent.name
               for g, p in zip(listing["genre"], paths)]
    check_genre_names(pd.Series(folders, dtype=object))
    meta = listing.copy()
    meta["artist"] = ""
    meta["fault"] = "none"
    meta["replica_of"] = ""
    if annotations:
        # genres: a path in another genre's folder than its excerpt's is refused, as a partition list's line is
        ann = read_annotations(annotations, require_artist=require_artist, known_ids=meta["track_id"],
                               extensions=_listing_extensions(meta), genres=dict(zip(meta["track_id"], folders)))
        check_fault_values(ann, annotations)  # lower case first: the relinking below reads them (audit 52)
        unknown = sorted(set(ann["track_id"]) - set(meta["track_id"]))
        # a skipped file named only as another's original (no row of its own) is skipped all the same (audit 52)
        named = set(ann["replica_of"]) - {""} if "replica_of" in ann.columns else set()
        unlisted = _unlisted_files(meta, sorted(set(unknown) | (named - set(meta["track_id"]))))
        skipped = sorted(unlisted)
        if skipped:
            # files in the dataset's genre folders that the scan skipped: annotated all the same. One of a suffix the
            # listing holds was refused as audio (on_bad_audio: skip); another may have been left out by
            # dataset.directory.extensions instead, which bad_audio.csv does not list
            held = {Path(p).suffix.lower() for p in meta["path"]} if "path" in meta else set()
            bad = [t for t in skipped if unlisted[t] in held]
            other = [t for t in skipped if unlisted[t] not in held]
            if bad:
                log.warning("%s: %d annotated excerpt(s) were skipped as bad audio (dataset/bad_audio.csv says why): "
                            "%s; their rows are left out", annotations, len(bad), bad[:10])
            if other:
                log.warning("%s: %d annotated excerpt(s) are files the scan left out, of an extension no listed file "
                            "has (%s): not in dataset.directory.extensions, or skipped as bad audio "
                            "(dataset/bad_audio.csv, and the scan_audio log, say which): %s; their rows are left out",
                            annotations, len(other), sorted({unlisted[t] for t in other}), other[:10])
            own = ann[ann["track_id"].isin(skipped)]
            rows = {t: (r, f) for t, r, f in zip(own["track_id"], own.get("replica_of", pd.Series("", index=own.index)),
                                                 own.get("fault", pd.Series("none", index=own.index)))}
            ann = ann[~ann["track_id"].isin(skipped)]
            unknown = sorted(set(unknown) - set(skipped))
            if "replica_of" in ann.columns:
                ann = relink_orphaned_replicas(ann, {t: rows.get(t, ("", "none")) for t in skipped}, meta["track_id"],
                                               annotations)
        if unknown:
            lines = [int(i) for i in ann.index[ann["track_id"].isin(unknown)][:10]]
            raise InputError(
                f"{annotations}: track_id: {len(unknown)} id(s) not in the dataset: {unknown[:10]} (line(s) {lines})"
                f"{_prefixed_hint(meta)}{_look_alike_hint(unknown, meta['track_id'])}"
            )
        check_annotation_values(ann, set(meta["track_id"]), annotations)
        _warn_unannotated(meta["track_id"], ann["track_id"], annotations)
        ann = ann.set_index("track_id")
        for col in ("artist", "fault", "replica_of"):
            if col in ann.columns:
                values = meta["track_id"].map(ann[col])
                meta[col] = values.where(values.notna(), meta[col])
    return meta
