"""Datasets on disk: a folder of genre-labelled audio, and the metadata table built from it."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from mgrfaults.data.audio import load_audio
from mgrfaults.errors import AudioError, InputError

log = logging.getLogger(__name__)

LISTING_COLUMNS = ("track_id", "path", "genre", "duration", "sample_rate")


def list_audio_files(root, extensions=("au", "wav", "mp3", "flac", "ogg")) -> pd.DataFrame:
    """Find the audio of a folder in GTZAN's layout ``<root>/<genre>/<name>.<ext>``.

    Returns
    -------
    DataFrame
        track_id (the file stem; ``<genre>.<stem>`` for every file when stems repeat across
        genres), path (str), genre, sorted by track_id.

    Raises
    ------
    InputError
        ``root`` missing, or no audio in any genre folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset folder not found")
    exts = {"." + e.lower().lstrip(".") for e in extensions}
    rows = [
        {"track_id": f.stem, "path": str(f), "genre": genre_dir.name}
        for genre_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for f in sorted(genre_dir.iterdir())
        if f.is_file() and f.suffix.lower() in exts and not f.name.startswith(".")
    ]
    if not rows:
        raise InputError(f"{root}: no audio files ({', '.join(sorted(exts))}) in <genre>/ folders")
    df = pd.DataFrame(rows)
    if df["track_id"].duplicated().any():
        df["track_id"] = df["genre"] + "." + df["track_id"]
    dup = df["track_id"][df["track_id"].duplicated()]
    if len(dup):
        raise InputError(f"{root}: the same track id twice: {sorted(set(dup))[:10]}")
    return df.sort_values("track_id").reset_index(drop=True)


def scan_audio(files: pd.DataFrame, sample_rate: int = 22050, max_duration: float = 30.0, on_bad_audio: str = "error"):
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
    """
    if on_bad_audio not in ("error", "skip"):
        raise ValueError(f"on_bad_audio must be 'error' or 'skip', got {on_bad_audio!r}")
    rows, bad = [], []
    for row in files.itertuples(index=False):
        try:
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
    return listing, pd.DataFrame(bad, columns=["path", "reason"])


def directory_metadata(listing: pd.DataFrame, annotations=None) -> pd.DataFrame:
    """Metadata for any folder of genre-labelled audio.

    Without annotations each excerpt is its own artist (``unknown:<track_id>``, so artist
    filtering cannot merge strangers) and has no known fault. An annotations CSV with a
    ``track_id`` column and any of ``artist``, ``fault``, ``replica_of`` fills those in.
    """
    meta = listing.copy()
    meta["artist"] = ""
    meta["fault"] = "none"
    meta["replica_of"] = ""
    if annotations:
        ann = pd.read_csv(annotations, dtype=str, keep_default_na=False)
        if "track_id" not in ann.columns:
            raise InputError(f"{annotations}: an annotations table needs a track_id column")
        unknown = sorted(set(ann["track_id"]) - set(meta["track_id"]))
        if unknown:
            raise InputError(f"{annotations}: track id(s) not in the dataset: {unknown[:10]}")
        ann = ann.set_index("track_id")
        for col in ("artist", "fault", "replica_of"):
            if col in ann.columns:
                values = meta["track_id"].map(ann[col])
                meta[col] = values.where(values.notna(), meta[col])
    return meta
