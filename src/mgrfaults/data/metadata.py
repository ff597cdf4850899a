"""The metadata table: one row per excerpt, the same format for synthetic, GTZAN and any folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mgrfaults.errors import InputError
from mgrfaults.io import write_csv_atomic

COLUMNS = ("track_id", "path", "genre", "artist", "fault", "replica_of", "duration", "sample_rate")
FAULTS = ("none", "exact_replica", "recording_replica", "distortion", "mislabel")

TRUSTED_COLUMN = "audio_trusted"
"""An optional column of the data stage's listing and of the metadata: ``True`` for a file ``dataset.trust_audio``
names, taken as it decodes by every stage that reads it (its content not judged); present only where the key names a
file, so that other runs' tables stay as they were."""


def audio_trusted(table: pd.DataFrame) -> np.ndarray:
    """Per row of a listing or metadata table, whether its file is taken as it decodes (:data:`TRUSTED_COLUMN`).

    Returns
    -------
    np.ndarray, shape (n_rows,), bool
        All ``False`` for a table without the column.
    """
    if TRUSTED_COLUMN not in table.columns:
        return np.zeros(len(table), dtype=bool)
    # True as pandas reads it back from CSV, or as the text a spreadsheet may have made of it
    return table[TRUSTED_COLUMN].astype(str).str.strip().str.lower().isin(("true", "1")).to_numpy()


def read_text_checked(path, what: str) -> str:
    """The text of a UTF-8 file; any other encoding, or an unreadable file, is an InputError naming it.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is (``annotations table``, ``partition list``), for the message.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"{path}: {what} not found") from e
    except IsADirectoryError as e:
        raise InputError(f"{path}: {what} is a folder, not a file") from e
    except PermissionError as e:
        raise InputError(f"{path}: {what} is not readable: permission denied (check its mode and owner)") from e
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: {what} is UTF-16 text; save it as UTF-8")
    # a spreadsheet saved in its own format: a zip archive (.xlsx, .ods) or an OLE2 compound file (.xls)
    for magic, kind in ((b"PK\x03\x04", "a zip archive (an .xlsx or .ods spreadsheet?)"),
                        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office compound file (an .xls spreadsheet?)")):
        if data.startswith(magic):
            raise InputError(f"{path}: {what} is {kind}, not text; save it from the spreadsheet as CSV (UTF-8)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: {what} is not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}; Latin-1?); save it as UTF-8"
        ) from e
    if "\x00" in text:
        raise InputError(f"{path}: {what} holds NUL bytes: binary data, or UTF-16/32 text without a BOM; save it as UTF-8")
    return text


def read_csv_checked(path, what: str, **kwargs) -> pd.DataFrame:
    """Read a CSV of strings through :func:`read_text_checked`; an empty or malformed file is an InputError naming it.

    Column names keep their spelling; extra ``kwargs`` go to :func:`pandas.read_csv`.
    """
    return read_csv_text(read_text_checked(path, what), path, what, **kwargs)


def read_csv_text(text: str, path, what: str, **kwargs) -> pd.DataFrame:
    """:func:`read_csv_checked` of a file's ``text`` already read (:func:`read_text_checked`)."""
    import io

    if not text.strip():
        raise InputError(f"{path}: {what} is empty (no header line)")
    kwargs.setdefault("dtype", str)
    kwargs.setdefault("keep_default_na", False)
    try:
        table = pd.read_csv(io.StringIO(text), **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise InputError(f"{path}: {what} is not a valid CSV: {e}") from e
    if "index_col" not in kwargs and not isinstance(table.index, pd.RangeIndex):
        # pandas makes the extra leading fields of rows longer than the header an index: every column shifts
        raise InputError(f"{path}: {what}: {longer_than_header(text)}: a value that holds a comma must be quoted "
                         '("Earth, Wind & Fire")')
    return table


def csv_rows(text: str) -> list[tuple[int, int, list[str]]]:
    """Every row of a CSV ``text`` as :mod:`csv` reads it, blank ones too: (first file line, last file line, cells),
    lines 1-based (a quoted value may run over several lines; universal newlines: a classic-Mac CR-only file too)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=None))
    rows, end = [], 0
    for row in reader:
        start, end = end + 1, reader.line_num
        rows.append((start, end, row))
    return rows


def csv_layout(text: str) -> tuple[list[str], list[int]]:
    """The header's cells as written and the file line each data row starts on, as :func:`pandas.read_csv` reads
    ``text`` (blank lines, and lines of spaces alone, skipped; a quoted value may run over several lines).

    Parameters
    ----------
    text : str
        A CSV file's text.

    Returns
    -------
    header : list of str
        The first non-blank row's cells, unstripped (``[]`` for a file of blank lines).
    lines : list of int
        One 1-based file line per data row.
    """
    rows = [(start, row) for start, _, row in csv_rows(text)
            if row and not (len(row) == 1 and row[0] and not row[0].strip())]
    return (rows[0][1], [start for start, _ in rows[1:]]) if rows else ([], [])


def longer_than_header(text: str) -> str:
    """Where a CSV's rows hold more fields than its header: ``line 2 has 4 fields, the header 3``."""
    import csv
    import io

    rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text, newline=None)), 1) if row]
    width = len(rows[0][1])
    longer = [(number, len(row)) for number, row in rows[1:] if len(row) > width]
    if not longer:
        return f"rows hold more fields than the header's {width}"
    number, fields = longer[0]
    return (f"line {number} has {fields} fields, the header {width}"
            + (f" (and {len(longer) - 1} more line(s) like it)" if len(longer) > 1 else ""))


def label_set(metadata: pd.DataFrame) -> list[str]:
    """The label order: the dataset's genres, sorted (GTZAN's ten for GTZAN, whose names sort in its order).

    Only the genres the dataset holds: a directory dataset of ``blues`` and ``rock`` folders is a two-genre
    task, not GTZAN's ten with eight empty classes a system could predict.
    """
    return sorted(set(metadata["genre"]))


def _plain(value):
    """A numpy scalar as the Python number it holds, so that a message shows ``0.0``, not ``np.float64(0.0)``."""
    return value.item() if isinstance(value, np.generic) else value


def validate_metadata(df: pd.DataFrame, source="metadata", genres=None) -> pd.DataFrame:
    """Check a metadata table and return it normalised (types, sorted by track_id).

    Parameters
    ----------
    df : DataFrame
        With at least the columns in :data:`COLUMNS`.
    source : str
        Name of the table (its file) for error messages.
    genres : sequence of str, optional
        The allowed labels; a genre outside them is an error naming the track.

    Raises
    ------
    InputError
        Missing column, empty or duplicate track id, unknown fault or genre, empty artist,
        ``replica_of`` naming an unknown track.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {missing}; a metadata table needs {list(COLUMNS)}")
    if df.empty:
        raise InputError(f"{source}: no excerpts: the table has a header but no rows (every file skipped as bad audio?)")
    df = df.copy()
    for col in ("track_id", "path", "genre", "artist", "fault", "replica_of"):
        df[col] = df[col].fillna("").astype(str)
    if (df["track_id"] == "").any():
        raise InputError(f"{source}: empty track_id in row(s) {list(df.index[df['track_id'] == ''][:5])}")
    dup = df["track_id"][df["track_id"].duplicated()]
    if len(dup):
        raise InputError(f"{source}: duplicate track id(s) {sorted(set(dup))[:10]}")
    bad_fault = df[~df["fault"].isin(FAULTS)]
    if len(bad_fault):
        row = bad_fault.iloc[0]
        raise InputError(f"{source}: track {row.track_id}: unknown fault {row.fault!r}; one of {list(FAULTS)}")
    if genres is not None:
        bad = df[~df["genre"].isin(list(genres))]
        if len(bad):
            row = bad.iloc[0]
            raise InputError(
                f"{source}: track {row.track_id}: genre {row.genre!r} is not in the label set {list(genres)}"
            )
    empty_artist = df["artist"].str.strip() == ""
    df.loc[empty_artist, "artist"] = "unknown:" + df.loc[empty_artist, "track_id"]
    ids = set(df["track_id"])
    # spaces around an id are dropped, unless they are the id's own (a file ' 7.au' is id ' 7')
    df["replica_of"] = df["replica_of"].where(df["replica_of"].isin(ids), df["replica_of"].str.strip())
    bad_rep = df[(df["replica_of"] != "") & ~df["replica_of"].isin(ids)]
    if len(bad_rep):
        row = bad_rep.iloc[0]
        raise InputError(f"{source}: track {row.track_id}: replica_of names unknown track {row.replica_of!r}")
    for col, kind in (("duration", float), ("sample_rate", int)):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df[values.isna() | ~np.isfinite(values.astype(float)) | (values <= 0)]
        if len(bad):
            row = bad.iloc[0]
            raise InputError(
                f"{source}: {col}: track {row.track_id}: {_plain(row[col])!r} is not a positive finite number "
                f"(file {row.path or '?'})"
            )
        df[col] = values.astype(kind)
    return df.sort_values("track_id", kind="stable").reset_index(drop=True)


def read_metadata(path, genres=None) -> pd.DataFrame:
    """Read and validate a metadata CSV (see :func:`validate_metadata`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: metadata table not found")
    df = read_csv_checked(path, "metadata table", dtype={"track_id": str, "replica_of": str, "artist": str})
    return validate_metadata(df, source=str(path), genres=genres)


def write_metadata(df: pd.DataFrame, path) -> pd.DataFrame:
    """Validate and write a metadata table atomically, spec columns first.

    Parameters
    ----------
    df : DataFrame
        The table to check (:func:`validate_metadata`) and write.
    path : str or Path
        Where to write it.

    Returns
    -------
    DataFrame
        The table as written: normalised, each unknown artist filled in as ``unknown:<track_id>``.
    """
    df = validate_metadata(df, source=str(path))
    extra = [c for c in df.columns if c not in COLUMNS]
    df = df[list(COLUMNS) + extra]
    write_csv_atomic(df, path)
    return df


def metadata_summary(df: pd.DataFrame) -> str:
    """The log line of a metadata table: ``metadata: 18 excerpts, 18 artists``.

    Parameters
    ----------
    df : DataFrame
        The table as written (:func:`write_metadata`'s result): counted before validation, the excerpts without
        a known artist would count as one artist, not as their own ``unknown:<track_id>`` each.
    """
    return f"metadata: {len(df)} excerpts, {df['artist'].nunique()} artists"
