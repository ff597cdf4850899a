"""Datasets on disk: a folder of genre-labelled audio, and the metadata table built from it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from mgrfaults.data.audio import load_audio
from mgrfaults.errors import AudioError, InputError
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DATASET = section_defaults("dataset")

log = logging.getLogger(__name__)

LISTING_COLUMNS = ("track_id", "path", "genre", "duration", "sample_rate")


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; an unreadable folder is an InputError naming it."""
    try:
        return sorted(folder.iterdir())
    except PermissionError as e:
        raise InputError(f"{folder}: permission denied: the folder cannot be listed (check its mode and owner)") from e
    except OSError as e:
        raise InputError(f"{folder}: cannot list the folder: {e.strerror or e}") from e


def list_audio_files(root, extensions=("au", "wav", "mp3", "flac", "ogg")) -> pd.DataFrame:
    """Find the audio of a folder in GTZAN's layout ``<root>/<genre>/<name>.<ext>``.

    Symbolic links whose target is missing or that loop are listed (decoding then names them
    as bad audio) rather than skipped without a trace. A genre folder that cannot be listed is a
    row with an empty track_id and its ``problem``: :func:`scan_audio` raises or skips it under
    ``on_bad_audio``.

    Returns
    -------
    DataFrame
        track_id (the file stem; ``<genre>.<stem>`` for every file when stems repeat across
        genres), path (str), genre, problem (``""`` for a file to decode), sorted by track_id.

    Raises
    ------
    InputError
        ``root`` missing or unreadable, or no audio in any genre folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset folder not found")
    exts = {"." + e.lower().lstrip(".") for e in extensions}
    rows, unreadable = [], []
    top = _entries(root)
    for p in top:
        if p.is_symlink() and not p.exists() and not p.name.startswith("."):
            # a genre folder behind a dangling or looping link: report it, do not lose the genre silently
            unreadable.append({"track_id": "", "path": str(p), "genre": p.name,
                               "problem": f"broken symbolic link (its target {os.readlink(p)!r} is missing, or the links loop)"})
    loose = [p.name for p in top if p.is_file() and p.suffix.lower() in exts]
    if loose:
        log.warning("%s: %d audio file(s) outside any <genre>/ folder are not used: %s", root, len(loose), loose[:5])
    for genre_dir in (p for p in top if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX"):
        try:
            entries = _entries(genre_dir)
        except InputError as e:
            unreadable.append({"track_id": "", "path": str(genre_dir), "genre": genre_dir.name, "problem": str(e).split(": ", 1)[1]})
            continue
        rows += [
            {"track_id": f.stem, "path": str(f), "genre": genre_dir.name, "problem": ""}
            for f in entries
            # a dangling or looping link is neither a file nor a folder: keep it so that it is reported
            if (f.is_file() or (f.is_symlink() and not f.exists())) and f.suffix.lower() in exts and not f.name.startswith(".")
        ]
    if not rows and not unreadable:
        raise InputError(f"{root}: no audio files ({', '.join(sorted(exts))}) in <genre>/ folders")
    df = pd.DataFrame(rows, columns=["track_id", "path", "genre", "problem"])
    if df["track_id"].duplicated().any():
        df["track_id"] = df["genre"] + "." + df["track_id"]
    dup = df["track_id"][df["track_id"].duplicated()]
    if len(dup):
        raise InputError(f"{root}: the same track id twice: {sorted(set(dup))[:10]}")
    df = pd.concat([df, pd.DataFrame(unreadable, columns=df.columns)], ignore_index=True)
    return df.sort_values(["track_id", "path"]).reset_index(drop=True)


def scan_audio(files: pd.DataFrame, sample_rate: int = _DATASET["sample_rate"], max_duration: float = _DATASET["max_duration"], on_bad_audio: str = _DATASET["on_bad_audio"]):
    """Decode every file once, to check it and measure it.

    Parameters
    ----------
    files : DataFrame
        From :func:`list_audio_files` (track_id, path, genre).
    sample_rate : int
        Hz, the rate features will be computed at.
    max_duration : float
        Seconds kept per file.
    on_bad_audio : {'error', 'skip'}
        ``error``: the first bad file raises :class:`AudioError` naming it; ``skip``: bad files
        are logged, left out of the listing and returned in ``bad``.

    Returns
    -------
    listing : DataFrame
        track_id, path, genre, duration (s, after the cut), sample_rate.
    bad : DataFrame
        path, reason.

    Raises
    ------
    AudioError
        The first bad file (``error``); a folder that cannot be listed is bad audio too.
    InputError
        Every file was bad (``skip``): an empty dataset is refused rather than written.
    """
    if on_bad_audio not in ("error", "skip"):
        raise ValueError(f"on_bad_audio must be 'error' or 'skip', got {on_bad_audio!r}")
    rows, bad = [], []
    for row in files.itertuples(index=False):
        try:
            if getattr(row, "problem", ""):
                raise AudioError(row.path, row.problem)
            y = load_audio(row.path, sample_rate=sample_rate, max_duration=max_duration)
        except AudioError as e:
            if on_bad_audio == "error":
                raise
            log.warning("skipping bad audio: %s", e)
            bad.append({"path": row.path, "reason": e.problem})
            continue
        rows.append(
            {"track_id": row.track_id, "path": row.path, "genre": row.genre,
             "duration": round(len(y) / sample_rate, 4), "sample_rate": sample_rate}
        )
    listing = pd.DataFrame(rows, columns=list(LISTING_COLUMNS))
    if listing.empty:
        first = "; ".join(f"{b['path']}: {b['reason']}" for b in bad[:3])
        raise InputError(
            f"dataset.on_bad_audio: every one of the {len(bad)} audio files was skipped as bad audio, "
            f"nothing is left to analyse (first: {first})"
        )
    return listing, pd.DataFrame(bad, columns=["path", "reason"])


def check_annotation_values(ann: pd.DataFrame, track_ids, source) -> None:
    """Normalise ``fault`` (lower case) in place and refuse values that would fail later under another file's name.

    Raises
    ------
    InputError
        Naming ``source``, the column and the rows: an unknown fault, a ``replica_of`` naming a
        track not in the dataset.
    """
    from mgrfaults.data.metadata import FAULTS

    if "fault" in ann.columns:
        ann["fault"] = ann["fault"].str.lower().replace("", "none")
        bad = ann[~ann["fault"].isin(FAULTS)]
        if len(bad):
            raise InputError(
                f"{source}: fault: unknown value(s) {sorted(set(bad['fault']))[:5]} "
                f"(track {bad['track_id'].iloc[0]}); one of {list(FAULTS)}"
            )
    if "replica_of" in ann.columns:
        bad = ann[(ann["replica_of"] != "") & ~ann["replica_of"].isin(set(track_ids))]
        if len(bad):
            raise InputError(
                f"{source}: replica_of: {len(bad)} row(s) name a track not in the dataset, "
                f"e.g. {bad['track_id'].iloc[0]} -> {bad['replica_of'].iloc[0]!r}"
            )


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

    meta = listing.copy()
    meta["artist"] = ""
    meta["fault"] = "none"
    meta["replica_of"] = ""
    if annotations:
        ann = read_annotations(annotations, require_artist=require_artist)
        unknown = sorted(set(ann["track_id"]) - set(meta["track_id"]))
        if unknown:
            raise InputError(
                f"{annotations}: track_id: {len(unknown)} id(s) not in the dataset: {unknown[:10]}"
            )
        check_annotation_values(ann, set(meta["track_id"]), annotations)
        ann = ann.set_index("track_id")
        for col in ("artist", "fault", "replica_of"):
            if col in ann.columns:
                values = meta["track_id"].map(ann[col])
                meta[col] = values.where(values.notna(), meta[col])
    return meta
