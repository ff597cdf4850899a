"""GTZAN's annotations: Sturm's artist index, the study's partition lists, and the metadata built from them.

Sources
-------
- ``GTZANindex.txt``: B. L. Sturm's per-excerpt artist and title index of GTZAN (Sturm 2012,
  "An analysis of the GTZAN music genre dataset"), one line per excerpt,
  ``reggae.00000.wav ::: Bob Marley ::: Is This Love``, with ``##`` header lines; an empty
  artist is unknown.
- The partition lists of Kereliuk, Sturm & Larsen (repository coreyker/dnn-mgr, folder
  ``gtzan/``): ``{train,valid,test}_{filtered,stratified}.txt``, one relative path a line
  (``blues/blues.00029.wav``). The *filtered* lists hold 930 excerpts: the 70 they leave out are
  the faults the study removed.

Faults of the 70 left-out excerpts
----------------------------------
The lists say only *that* an excerpt was removed, not why. :func:`infer_removed_faults` uses the
index to tell replicas from the rest:

- a left-out excerpt whose artist and title (compared case- and punctuation-blind, titles also
  nearly equal: ``How Strange`` ~ ``How Strang``) match another excerpt is a replica; it gets
  ``fault = exact_replica`` and ``replica_of`` = a member of its group that the lists keep
  (the lowest track id), so the automatic ``fault_filtered`` condition keeps one member of each
  group, as the study did. The index cannot tell an exact replica from a recording replica
  (same recording, another excerpt or master); both are removed by the study's filter, so
  ``exact_replica`` is used for both.
- when the lists keep no member of a group (Britney Spears' "(You Drive Me) Crazy":
  pop.00015, 21, 22, 37), every member is marked ``exact_replica``; the first has no
  ``replica_of`` (its original is not among the kept excerpts), the others point at the first,
  so all are removed, as in the study. (No cycle: a replica cycle keeps one member,
  :func:`mgrfaults.partitions.split.remove_faults`.)
- a left-out excerpt with no twin in the index is marked ``distortion`` (the remaining fault
  class the study removed). On the shared copy these are country.00052, reggae.00086 (whose
  index titles match no other excerpt).

Sturm's mislabelings are not in these sources: every kept excerpt has ``fault = none``.

Artist names
------------
Artists are grouped by their names everywhere downstream (artist-filtered partitions, the published lists' artist
check, the attribution table). The readers (:func:`read_gtzan_index`, :func:`read_annotations`) merge spellings of
one artist into one and log each merge and each credit naming several artists (``Lauryn Hill and Bob Marley``):
:mod:`mgrfaults.data.artists`.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from mgrfaults.errors import InputError
from mgrfaults.io import csv_read_back
from mgrfaults.data.metadata import (COLUMNS, TRUSTED_COLUMN, csv_layout, csv_rows, read_csv_text, read_text_checked,
                                     validate_metadata)
from mgrfaults.config import section_defaults
from mgrfaults.data.artists import canonical_artists, is_unknown_artist, normalise_text

log = logging.getLogger(__name__)

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_PUBLISHED = section_defaults("partitions.conditions.published")

PARTS = ("train", "valid", "test")
LIST_SETS = ("filtered", "stratified")
ANNOTATION_COLUMNS = ("track_id", "artist", "fault", "replica_of", "title")
"""Columns an annotations CSV may hold (names compared blind to case, spaces, hyphens and underscores)."""
INDEX_SEPARATOR = ":::"
TITLE_SIMILARITY = 0.9
"""Two titles of one artist whose normalised forms are at least this similar name the same song."""


ID_EXTENSIONS = frozenset({"wav", "au", "mp3", "flac", "ogg", "aif", "aiff"})
"""Extensions :func:`track_id_from_path` drops from any name (a GTZAN stem holds a dot itself, ``blues.00012``)."""


def track_id_from_path(path: str, extensions=()) -> str:
    """The GTZAN stem of a file path: ``blues/blues.00012.wav`` -> ``blues.00012``.

    Parameters
    ----------
    path : str
        A file's path or name.
    extensions : iterable of str
        Extensions dropped beside :data:`ID_EXTENSIONS` (``opus``, ``.AIFC``: a dataset's own), case-blind.
    """
    name = Path(str(path).strip()).name
    stem, dot, ext = name.rpartition(".")
    # GTZAN stems hold a dot themselves (genre.000NN): drop only a real audio extension
    if dot and ext.lower() in ID_EXTENSIONS | {e.lower().lstrip(".") for e in extensions}:
        return stem
    return name


GTZAN_NAME = re.compile(r"^[a-z]+\.\d{5}$")
"""A GTZAN excerpt's stem, ``<genre>.000NN``."""


def _cell_readings(value: str) -> list[tuple[str, str]]:
    """The (name, folder) readings of an id or path cell: ``/`` separates; a cell that holds ``\\`` is read a second
    time with ``\\`` as a separator too (a Windows path, ``jazz\\jazz.00000.au``, ``C:\\Users\\me\\jazz\\x.wav``)."""
    text = str(value).strip()
    readings = [(PurePosixPath(text).name, PurePosixPath(text).parent.name)]
    if "\\" in text:
        readings.append((PureWindowsPath(text).name, PureWindowsPath(text).parent.name))
    return readings


def _fallback_reading(value: str, extensions) -> tuple[str, str]:
    """(stem, folder) of a cell by its last reading (:func:`_cell_readings`: ``\\`` as a separator where it holds
    one), its audio extension dropped; ``("", "")`` for an empty cell."""
    if not value:
        return "", ""
    name, folder = _cell_readings(value)[-1]
    return track_id_from_path(name, extensions), folder


def _candidate_ids(value: str, extensions) -> list[str]:
    """The ids a cell may be written as, in order: the name as written (``<folder>.<name>`` first for a path), then
    the name without its audio extension (:func:`track_id_from_path`); ``/`` readings before ``\\`` ones."""
    candidates = []
    for name, folder in _cell_readings(value):
        stem = track_id_from_path(name, extensions)
        for part in (name, stem):
            candidates += [f"{folder}.{part}", part] if folder else [part]
    return list(dict.fromkeys(c for c in candidates if c))


def _loose_id(track_id: str) -> str:
    """An id as a reader sees it: NFC (macOS writes file names in NFD, a spreadsheet keeps NFC) and stripped (a file
    `` 7.au`` is id `` 7``, annotation cells are stripped)."""
    return unicodedata.normalize("NFC", str(track_id)).strip()


def ids_by_loose_form(track_ids) -> dict[str, set[str]]:
    """The dataset's ids grouped by their :func:`_loose_id` form: a form held by one id names it; by several, none."""
    groups: dict[str, set[str]] = {}
    for track_id in track_ids:
        groups.setdefault(_loose_id(track_id), set()).add(track_id)
    return groups


def _match_known(candidates, known: set, loose: dict) -> str | None:
    """The dataset id the first of ``candidates`` names: one written as an id of ``known``, else one whose
    :func:`_loose_id` is one id's alone (``loose``: loose form -> ids); None when no candidate names one."""
    for candidate in candidates:
        if candidate in known:
            return candidate
    for candidate in candidates:
        ids = loose.get(_loose_id(candidate), ())
        if len(ids) == 1:
            return next(iter(ids))
    return None


def track_ids_from_paths(*columns, known_ids=None, extensions=()) -> list[list[str]]:
    """Track ids of columns that may name files by path, as the data stage names the files.

    A file's id is its stem (:func:`track_id_from_path`), or ``<folder>.<stem>`` for every file when stems repeat
    across genre folders (:func:`mgrfaults.data.dataset.list_audio_files`): ``blues/track01.wav`` and
    ``rock/track01.wav`` are ``blues.track01`` and ``rock.track01``, not one id twice. ``\\`` separates folders as
    ``/`` does (a path written on Windows).

    Parameters
    ----------
    *columns : sequence of str
        Values written as ids or paths (``""``: none); one decision for all of them.
    known_ids : collection of str, optional
        The dataset's ids. A cell is then the dataset id it is written as, if any (``x.mp3``, the id of file
        ``x.mp3.au``, is not file ``x.au``); else the id it names once its audio extension is dropped, a path being
        the one of its two readings the dataset holds (``blues.track01`` or ``track01``), so a file that lists a few
        tracks reads as the whole dataset is named; else the one id it names in NFC form, stripped (a dataset id
        written in NFD, macOS' form, or `` 7``, the id of file `` 7.au``), where one id alone has that form. A cell
        the dataset does not hold in any reading falls back to the rule above.
    extensions : iterable of str
        Audio extensions to drop beside :data:`ID_EXTENSIONS`: those of the dataset's files (``opus``).

    Returns
    -------
    list of list of str
        Each column's ids.
    """
    # the fallback reading: the last of a cell's readings (a cell holding \ is a Windows path)
    parsed = [[_fallback_reading(v, extensions) for v in column] for column in columns]
    folders_of = {}
    for stem, folder in (pair for column in parsed for pair in column):
        if folder:
            folders_of.setdefault(stem, set()).add(folder)
    # a GTZAN name (blues.00012) is its own id in any folder: twice is one track twice
    prefixed = any(len(folders) > 1 and not GTZAN_NAME.match(stem) for stem, folders in folders_of.items())
    known = set(known_ids) if known_ids is not None else set()
    loose = ids_by_loose_form(known)

    def track_id(value: str, stem: str, folder: str) -> str:
        found = _match_known(_candidate_ids(value, extensions), known, loose) if value and known else None
        if found is not None:
            return found
        return f"{folder}.{stem}" if prefixed and folder else stem

    return [[track_id(v, stem, folder) for v, (stem, folder) in zip(column, parsed_column)]
            for column, parsed_column in zip(columns, parsed)]


def read_gtzan_index(path) -> pd.DataFrame:
    """Read Sturm's GTZANindex.txt.

    Parameters
    ----------
    path : str or Path
        The index file: ``##`` comment lines, then ``<file> ::: <artist> ::: <title>``.

    Returns
    -------
    DataFrame
        Columns track_id (GTZAN stem), artist, title; one row per excerpt in file order.
        An empty artist becomes ``unknown:<track_id>`` (each unknown is its own artist);
        spellings of one artist are merged into one (:func:`canonical_artists`).

    Raises
    ------
    InputError
        Missing file, a line without the two separators, a duplicate track id.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: GTZAN index not found")
    rows = []
    for lineno, line in enumerate(read_text_checked(path, "GTZAN index").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("##"):
            continue
        fields = [f.strip() for f in line.split(INDEX_SEPARATOR)]
        if len(fields) != 3 or not fields[0]:
            raise InputError(
                f"{path}:{lineno}: expected '<file> ::: <artist> ::: <title>', got {line.strip()!r}"
            )
        track_id = track_id_from_path(fields[0])
        rows.append((track_id, fields[1] or f"unknown:{track_id}", fields[2]))
    if not rows:
        raise InputError(f"{path}: GTZAN index holds no entries")
    index = pd.DataFrame(rows, columns=["track_id", "artist", "title"])
    dup = index["track_id"][index["track_id"].duplicated()]
    if len(dup):
        raise InputError(f"{path}: duplicate track id(s) {sorted(set(dup))[:10]}")
    index["artist"] = canonical_artists(index["artist"], path)
    return index


NO_ARTIST_ADVICE = ("to remove the annotated faults with no artist known, give that condition `method: stratified` "
                    "(or `stratified_cv`) and its `remove_faults` (dropping the annotations drops the faults too)")
"""What an artist-filtered condition on annotations without artists can do instead."""


def partition_list_lines(path, known_ids=None) -> list[str]:
    """The lines of one partition list that name a track (blank lines and ``#`` comments skipped).

    With ``known_ids`` (the dataset's), a line starting with ``#`` is a track where the whole line, no folder in it,
    is an excerpt's id or file name that itself starts with ``#`` (``#1 Crush`` or ``#1 Crush.wav``, the file
    ``#1 Crush.wav``); a line commented out, ``# jazz/jazz.00054.wav``, ``#jazz/jazz.00054.wav``, ``#pop/#1 Crush.wav``,
    stays a comment (audits 56, 57). Where the dataset also holds the id without the ``#`` (``1 Crush``), the line is
    refused naming both: it may be either.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: partition list not found")
    known = None if known_ids is None else set(map(str, known_ids))
    lines = read_text_checked(path, "partition list").splitlines()

    def names_a_track(number: int, line: str) -> bool:
        text = line.strip()
        if not text.startswith("#"):
            return True
        if known is None or "/" in text or "\\" in text:
            return False
        track_id = track_ids_from_paths([text], known_ids=known)[0][0]
        if track_id not in known or not track_id.startswith("#"):
            return False
        uncommented = track_ids_from_paths([text[1:].strip()], known_ids=known)[0][0]
        if uncommented in known:
            raise InputError(f"{path}:{number}: {text!r} names the excerpt {track_id!r}, or comments out "
                             f"{uncommented!r}, both in the dataset: write the excerpt as a path with its folder "
                             f"(<genre>/{text}...) or remove the line")
        return True

    return [line for number, line in enumerate(lines, 1) if line.strip() and names_a_track(number, line)]


def read_partition_list(path, ids: list[str] | None = None) -> list[str]:
    """Read one published partition list: one relative path a line -> track ids (:func:`track_ids_from_paths`).

    A track listed twice, a file that is not UTF-8 text, or one that lists no track is an error naming the file.
    ``ids``: the list's ids already read with the other lists of its set (:func:`read_list_files`).
    """
    path = Path(path)
    ids = ids if ids is not None else track_ids_from_paths(partition_list_lines(path))[0]
    if not ids:
        raise InputError(f"{path}: partition list is empty (no track listed)")
    dup = pd.Index(ids)[pd.Index(ids).duplicated()]
    if len(dup):
        raise InputError(f"{path}: track id(s) listed twice: {sorted(set(dup))[:10]}")
    return ids


def _column_name(written: str, columns=ANNOTATION_COLUMNS) -> str:
    """The one of ``columns`` a header cell names, blind to case, spaces, hyphens and underscores (``Track ID``,
    ``track-id`` and ``TRACK_ID`` are ``track_id``, as spreadsheets and other tools write them); a cell that names
    none, lower-cased and stripped (refused as unknown, as written)."""
    key = re.sub(r"[\s_-]+", "", str(written)).lower()
    return next((c for c in columns if c.replace("_", "") == key), str(written).strip().lower())


def blank_columns(table: pd.DataFrame) -> list:
    """A table's columns with no name and no value: a spreadsheet's trailing separators (``track_id,artist,,``, or
    ``, `` with a space), which pandas reads as ``Unnamed: <n>`` (or as the space)."""
    return [c for c in table.columns if (str(c).startswith("Unnamed: ") or not str(c).strip())
            and (table[c].fillna("").astype(str).str.strip() == "").all()]


def table_column_names(written, columns, path, what: str) -> list[str]:
    """The names of a table's header cells, ``written`` as the file writes them, among ``columns``
    (:func:`_column_name`: blind to case, spaces, hyphens and underscores).

    Raises
    ------
    InputError
        Naming the file and the cells: a cell that names none of ``columns`` (a misspelt ``artsit``, a British
        ``normalised_accuracy``: its values would be dropped without a word; a header holding ``;`` or a tab: the
        table is not comma-separated), or one column given twice (pandas would read the second as ``name.1``).
    """
    names = [_column_name(c, columns) for c in written]
    unknown = [orig for orig, name in zip(written, names) if name not in columns]
    if unknown:
        other = [sep for sep in (";", "\t", "|") if any(sep in str(c) for c in unknown)]
        advice = (f"the header holds {other[0]!r}: the table must be comma-separated (save it as CSV with ',')"
                  if other else "rename or remove them")
        raise InputError(f"{path}: unknown column(s) {unknown}; {what} holds {list(columns)} (names are blind to "
                         f"case, spaces, hyphens and underscores): {advice}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"{path}: column(s) {twice} given more than once (names are blind to case, spaces, "
                         "hyphens and underscores): keep one of each")
    return names


def read_annotations(path, require_artist: bool = False, known_ids=None, extensions=(),
                     genres: dict | None = None) -> pd.DataFrame:
    """Read a folder dataset's annotations CSV (track_id plus any of artist, fault, replica_of, title).

    Column names are compared case- and whitespace-blind (``Track_ID``, `` artist``), cell values
    are stripped, ids written as paths (``blues/blues.00012.wav``) become stems. Columns with neither
    a name nor a value (a spreadsheet's trailing commas) are dropped, and so are rows with no value (``,,,``); ``#``
    comment lines before the header and Excel's ``sep=,`` hint on line 1 are skipped; an artist written as a missing
    value (``NA``, ``N/A``, ``None``, ...: the cells ``pandas.read_csv`` reads as missing by default,
    :func:`mgrfaults.io.csv_read_back`) or as :func:`mgrfaults.data.artists.is_unknown_artist` reads it
    (``Unknown``, ``-``, ``—``, ``?``, ``n.a.``, ``Various Artists``, a zero-width space alone) is unknown, as an
    empty cell: each such excerpt its own artist. Anything that would silently change the result
    is refused.

    Parameters
    ----------
    path : str or Path
    require_artist : bool
        A partition condition filters by artist: a table without an artist column is refused
        (every excerpt would silently become its own artist).
    known_ids : collection of str, optional
        The dataset's ids: a cell is matched against them as written first (:func:`track_ids_from_paths`).
    extensions : iterable of str
        The extensions of the dataset's files, dropped from ids written as file names beside :data:`ID_EXTENSIONS`.
    genres : dict, optional
        Track id -> the dataset's genre (its folder). A ``track_id`` or ``replica_of`` cell written as a path whose
        folder names another of the dataset's genres than its excerpt's (``rock/a0.wav`` for the blues excerpt
        ``a0``) is then refused, as a partition list's line is (:func:`check_annotation_genres`).

    Returns
    -------
    DataFrame
        Columns among :data:`ANNOTATION_COLUMNS`, named in lower case; values stripped strings;
        spellings of one artist merged into one (:func:`canonical_artists`). Its index is the file line of each
        row (blank lines counted), for messages that name a row.

    Raises
    ------
    InputError
        Naming the file and the column or ids: not UTF-8, empty, no track_id column, an unknown
        column (a misspelt ``artsit`` would be dropped), a column given twice, an empty or
        duplicate track id, no artist column when ``require_artist``, a path in another genre's folder (``genres``).
    """
    text = _without_empty_rows(_without_preamble(read_text_checked(path, "annotations table"), path))
    table = read_csv_text(text, path, "annotations table", skipinitialspace=True)
    header, lines = csv_layout(text)  # the file's own reading: its header as written, each row's line
    # where the two readings disagree (a quoted value of spaces alone), rows are numbered as if no line were blank
    table.index = lines if len(lines) == len(table) else range(2, len(table) + 2)
    blank = blank_columns(table)
    written = dict(zip(table.columns, _header_as_written(header, table.columns)))
    table = table.drop(columns=blank)
    # and rows with no value at all (,,, at a spreadsheet export's end): as blank lines are; a row with an id stays
    table = table[~(table.fillna("").apply(lambda col: col.astype(str).str.strip()) == "").all(axis=1)]
    names = table_column_names([written[c] for c in table.columns], ANNOTATION_COLUMNS, path, "an annotations table")
    table.columns = names
    if "track_id" not in names:
        raise InputError(f"{path}: track_id: an annotations table needs a track_id column, it has {names}")
    if require_artist and "artist" not in names:
        raise InputError(
            f"{path}: artist: no artist column, but a partition condition filters by artist "
            f"(every excerpt would count as its own artist); add the column, or {NO_ARTIST_ADVICE}"
        )
    table = table.apply(lambda col: col.astype(str).str.strip())
    # ids written as paths (blues/blues.00012.wav) name the same track as its stem (<genre>.<stem> where stems repeat)
    columns = [col for col in ("track_id", "replica_of") if col in table.columns]
    for col, ids in zip(columns, track_ids_from_paths(*(table[col] for col in columns), known_ids=known_ids,
                                                      extensions=extensions)):
        if genres is not None:
            check_annotation_genres(path, col, table[col], ids, genres)
        table[col] = ids
    empty = table.index[table["track_id"] == ""]
    if len(empty):
        raise InputError(f"{path}: track_id: empty on line(s) {[int(i) for i in empty[:5]]}: give each row "
                         "the id of its excerpt, or delete the row")
    dup = sorted(set(table["track_id"][table["track_id"].duplicated()]))
    if dup:
        raise InputError(f"{path}: track_id: {len(dup)} id(s) annotated more than once: {dup[:10]}")
    if "artist" in table.columns:
        # a spreadsheet's "unknown" (NA, N/A, None; Unknown, Unknown Artist, -, ?): not one artist shared by all
        # those excerpts, whom artist filtering would then keep in one part
        placeholder = (table["artist"] != "") & (csv_read_back(table["artist"]).isna().to_numpy()
                                                 | table["artist"].map(is_unknown_artist).to_numpy(dtype=bool))
        if placeholder.any():
            log.info("%s: %d artist cell(s) %s read as unknown (each excerpt its own artist)", path,
                     int(placeholder.sum()), sorted(set(table["artist"][placeholder])))
            table.loc[placeholder, "artist"] = ""
        table["artist"] = canonical_artists(table["artist"], path)
    return table


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_EXCEL_SEP_HINT = re.compile(r'"?sep=(.)"?,*', re.IGNORECASE)


def _without_preamble(text: str, path, columns=ANNOTATION_COLUMNS, what: str = "annotations table") -> str:
    """A table's ``text`` (an annotations table's, or another of ``columns``, ``what``) with the lines before its
    header blanked: ``#`` comments (as a partition list has) and, on line 1, Excel's separator hint ``sep=,``.

    Blanked, not removed: pandas and :func:`csv_layout` skip blank lines, and every row keeps its file line.

    Parameters
    ----------
    text : str
        The file's text (:func:`read_text_checked`).
    path : str or Path
        The file, for messages.

    Raises
    ------
    InputError
        Naming the line: a hint of another separator (``sep=;``: the table must be comma-separated), or a comment
        that reads as the header itself (``#track_id,artist``: the next line would pass for the header); a file of
        comments alone.
    """
    lines = _LINE.findall(text)
    for number, line in enumerate(lines, 1):
        content = line.strip()
        # spaces alone stripped: a tab is a hint's separator (sep=\t)
        hint = _EXCEL_SEP_HINT.fullmatch(line.rstrip("\r\n").strip(" ")) if number == 1 else None
        if hint and hint.group(1) != ",":
            raise InputError(f"{path}: {what}: line 1 is Excel's separator hint {hint.group(0)!r}: "
                             "the table must be comma-separated: save it as CSV with ',' (no hint line)")
        # `#,track_id,artist`: a header whose first column is named '#' (a spreadsheet's row numbers), no comment
        if not (hint or (content.startswith("#") and not content.startswith("#,"))):
            if content:  # the header: only what comes before it is a preamble
                break
            continue
        names = [_column_name(cell.strip().strip('"'), columns) for cell in content.lstrip("#").split(",")]
        if not hint and columns[0] in names and set(names) <= set(columns):
            raise InputError(f"{path}: {what}: line {number} is a comment that reads as the header "
                             f"({content!r}): delete its '#' (lines starting with '#' before the header are skipped)")
        lines[number - 1] = line[len(line.rstrip("\r\n")):]  # its line ending alone
    else:
        if text.strip():  # else read_csv_text names it empty
            raise InputError(f"{path}: {what} holds comment lines alone: no header line "
                             f"(its first line names its columns: {', '.join(columns)})")
    return "".join(lines)


def _without_empty_rows(text: str) -> str:
    """``text`` with its rows of separators alone blanked (``,,`` at a spreadsheet export's end, whatever their count
    against the header's columns: pandas refuses a row longer than the header, and such a row holds no value).

    Blanked as :func:`_without_preamble` blanks, each row keeping its file line. Rows are found as :mod:`csv` reads
    them (a quoted value's lines, a ``"`` inside an unquoted value, ``12" Single``, as written): a line of commas
    inside a quoted value is that value's text and stays.
    """
    lines = _LINE.findall(text)
    for start, end, row in csv_rows(text):
        if start == end and len(row) > 1 and not "".join(row).strip():
            lines[start - 1] = lines[start - 1][len(lines[start - 1].rstrip("\r\n")):]
    return "".join(lines)


def _header_as_written(header: list[str], columns) -> list[str]:
    """The names of ``columns`` (pandas' reading) as ``header`` (:func:`csv_layout`'s) writes them: pandas renames a
    name given twice (``artist``, ``artist.1``); a cell with no name keeps pandas' ``Unnamed: <n>``."""
    if len(header) != len(columns):
        return [str(c) for c in columns]
    return [cell.strip() or str(c) for cell, c in zip(header, columns)]


def partition_list_paths(lists_dir, list_set: str) -> dict[str, Path]:
    """Paths of ``{part}_{list_set}.txt`` for the three parts in ``lists_dir``."""
    return {part: Path(lists_dir) / f"{part}_{list_set}.txt" for part in PARTS}


def read_partition_lists(lists_dir, list_set: str = _PUBLISHED["set"], known_ids=None) -> dict[str, list[str]]:
    """Read the three lists ``{train,valid,test}_{list_set}.txt`` of ``lists_dir`` (:func:`read_list_files`).

    Returns
    -------
    dict
        part -> track ids, in file order.
    """
    return read_list_files(partition_list_paths(lists_dir, list_set), known_ids)


def read_list_files(paths: dict, known_ids=None, genres: dict | None = None) -> dict[str, list[str]]:
    """Read a partition's list files (part -> path) together: one reading of the paths they name.

    A stem in train and the same stem in another genre's folder in test are two tracks (:func:`track_ids_from_paths`,
    given the dataset's ``known_ids`` where the caller has them). With ``genres`` (track id -> the dataset's genre), a
    line whose folder names another of the dataset's genres than its excerpt's (``rock/a0.wav`` for the blues
    excerpt ``a0``: lists made for another copy or labelling of the data) is refused, naming the file and line.
    """
    lines = {part: partition_list_lines(p, known_ids) for part, p in paths.items()}
    ids = dict(zip(paths, track_ids_from_paths(*lines.values(), known_ids=known_ids)))
    if genres is not None:
        check_list_genres(paths, lines, ids, genres)
    return {part: read_partition_list(p, ids[part]) for part, p in paths.items()}


def check_list_genres(paths: dict, lines: dict, ids: dict, genres: dict) -> None:
    """Refuse a list line whose folder names another of the dataset's genres than its excerpt's (``rock/a0.wav`` for
    the blues excerpt ``a0``: lists made for another copy or labelling of the data), naming the file and line.

    Parameters
    ----------
    paths, lines, ids : dict
        Part -> the list file, its lines (:func:`partition_list_lines`), their track ids (:func:`track_ids_from_paths`).
    genres : dict
        Track id -> the dataset's genre.
    """
    for part, path in paths.items():
        clashes = genre_folder_clashes(lines[part], ids[part], genres)
        if clashes:
            position, folder = clashes[0]
            line, track_id = lines[part][position].strip(), ids[part][position]
            raise InputError(f"{path}: {line!r} names the genre folder {folder!r}, but the dataset's excerpt "
                             f"{track_id!r} is {genres[track_id]!r}: these lists were made for another copy or "
                             "labelling of the data; give the dataset's paths or ids")


def check_annotation_genres(path, column: str, cells: pd.Series, ids, genres: dict) -> None:
    """Refuse annotation cells written as paths in another of the dataset's genre folders than their excerpt's, as
    :func:`check_list_genres` refuses list lines: matched, the row would annotate an excerpt of another genre (a table
    made before a mislabelled file was moved to its right folder, or for another copy of the data).

    Parameters
    ----------
    path : str or Path
        The annotations file, for the message.
    column : str
        ``track_id`` or ``replica_of``.
    cells : Series
        The column's cells as written (stripped), indexed by file line.
    ids : sequence of str
        Their track ids (:func:`track_ids_from_paths`).
    genres : dict
        Track id -> the dataset's genre.

    Raises
    ------
    InputError
        Naming the file, the column, the first such cell and its line, its folder's genre and its excerpt's genre,
        and the lines of the others.
    """
    clashes = genre_folder_clashes(cells, ids, genres)
    if clashes:
        position, folder = clashes[0]
        lines = [int(cells.index[p]) for p, _ in clashes]
        track_id = ids[position]
        others = f" ({len(clashes)} such rows, line(s) {lines[:10]})" if len(clashes) > 1 else ""
        raise InputError(f"{path}: {column}: line {lines[0]}: {cells.iloc[position]!r} names the genre folder "
                         f"{folder!r}, but the dataset's excerpt {track_id!r} is {genres[track_id]!r}: this table "
                         f"was made for another copy or labelling of the data; give the dataset's paths or ids{others}")


def genre_folder_clashes(cells, ids, genres: dict) -> list[tuple[int, str]]:
    """The cells written in another of the dataset's genre folders than their excerpt's: (position, folder) each.

    A cell's folder is the one its file is written in (by ``/``, or ``\\`` too: :func:`_cell_readings`), the folders
    above it aside (``Data/genres_original/blues/a0.wav`` is in ``blues``); a folder that names no genre of the dataset
    (``audio/a0.wav``) or a bare id says nothing. A cell one of whose readings is in the excerpt's own folder is no
    clash (a Linux file name may hold ``\\``).

    Parameters
    ----------
    cells : sequence of str
        Ids or paths, as written.
    ids : sequence of str
        Their track ids (:func:`track_ids_from_paths`): an id the dataset lacks is left to the caller.
    genres : dict
        Track id -> the dataset's genre.
    """
    known_genres = set(genres.values())
    clashes = []
    for position, (cell, track_id) in enumerate(zip(cells, ids)):
        folders = [folder for _, folder in _cell_readings(cell)]
        if track_id not in genres or genres[track_id] in folders:
            continue
        # the last reading is the one ids fall back to (a cell holding \ is a Windows path)
        folder = next((f for f in reversed(folders) if f in known_genres), None)
        if folder is not None:
            clashes.append((position, folder))
    return clashes


def _same_song(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Same artist (normalised) and same or nearly the same title (normalised)."""
    if a[0] != b[0] or not a[1] or not b[1]:
        return False
    return a[1] == b[1] or difflib.SequenceMatcher(None, a[1], b[1]).ratio() >= TITLE_SIMILARITY


def infer_removed_faults(index: pd.DataFrame, removed, kept) -> pd.DataFrame:
    """Guess the fault of each excerpt that the study's filtered lists leave out.

    Parameters
    ----------
    index : DataFrame
        From :func:`read_gtzan_index` (track_id, artist, title).
    removed : iterable of str
        Track ids the filtered lists leave out.
    kept : iterable of str
        Track ids the filtered lists hold.

    Returns
    -------
    DataFrame
        Columns track_id, fault (exact_replica or distortion), replica_of (a track id or
        ``""``), one row per removed id, sorted by track_id. See the module docstring for the rules.
    """
    kept = set(kept)
    removed = sorted(set(removed))
    key = {
        row.track_id: ("" if row.artist.startswith("unknown:") else normalise_text(row.artist), normalise_text(row.title))
        for row in index.itertuples()
    }
    rows = []
    for tid in removed:
        twins = sorted(o for o in key if o != tid and tid in key and _same_song(key[tid], key[o]))
        kept_twins = [o for o in twins if o in kept]
        if kept_twins:
            rows.append((tid, "exact_replica", kept_twins[0]))
        elif twins:
            # the study dropped the whole group: the rest point at the first, which points nowhere
            # (a cycle would make the partitions keep one member)
            group = sorted([tid] + twins)
            rows.append((tid, "exact_replica", "" if tid == group[0] else group[0]))
        else:
            rows.append((tid, "distortion", ""))
    return pd.DataFrame(rows, columns=["track_id", "fault", "replica_of"])


def gtzan_metadata(listing: pd.DataFrame, index_path, lists_dir=None, list_set: str = _PUBLISHED["set"]) -> pd.DataFrame:
    """Build the project's metadata table for real GTZAN.

    Parameters
    ----------
    listing : DataFrame
        The decoded audio: columns track_id (GTZAN stem), path, genre, duration (s),
        sample_rate (Hz). Excerpts skipped as bad audio are simply absent.
    index_path : str or Path
        Sturm's GTZANindex.txt (:func:`read_gtzan_index`).
    lists_dir : str or Path, optional
        Folder with the study's ``{train,valid,test}_{list_set}.txt``; the excerpts they leave out
        get a fault (:func:`infer_removed_faults`). None: every fault is ``none``.
    list_set : str
        Which lists mark the faults: ``filtered`` (the 930-excerpt fault-filtered lists).

    Returns
    -------
    DataFrame
        The metadata columns (track_id, path, genre, artist, fault, replica_of, duration,
        sample_rate) plus ``title``, validated and sorted by track_id.

    Raises
    ------
    InputError
        A listed excerpt missing from the index, or a list naming a track absent from the index.
    """
    needed = ["track_id", "path", "genre", "duration", "sample_rate"]
    missing = [c for c in needed if c not in listing.columns]
    if missing:
        raise InputError(f"GTZAN listing: missing column(s) {missing}; needs {needed}")
    index = read_gtzan_index(index_path)
    marks = [c for c in (TRUSTED_COLUMN,) if c in listing.columns]  # files dataset.trust_audio names, where it does
    meta = listing[needed + marks].copy()
    meta["track_id"] = meta["track_id"].astype(str)
    not_indexed = sorted(set(meta["track_id"]) - set(index["track_id"]))
    if not_indexed:
        raise InputError(f"{index_path}: no index entry for track(s) {not_indexed[:10]} of the audio listing")
    meta = meta.merge(index, on="track_id", how="left")
    meta["fault"] = "none"
    meta["replica_of"] = ""
    if lists_dir is not None:
        lists = read_partition_lists(lists_dir, list_set)
        kept = {tid for ids in lists.values() for tid in ids}
        unknown = sorted(kept - set(index["track_id"]))
        if unknown:
            raise InputError(f"{lists_dir}: the {list_set} lists name track(s) not in GTZAN: {unknown[:10]}")
        faults = infer_removed_faults(index, set(index["track_id"]) - kept, kept).set_index("track_id")
        hit = meta["track_id"].isin(faults.index)
        meta.loc[hit, "fault"] = faults.loc[meta.loc[hit, "track_id"], "fault"].to_numpy()
        meta.loc[hit, "replica_of"] = faults.loc[meta.loc[hit, "track_id"], "replica_of"].to_numpy()
        # a twin skipped as bad audio is no longer in the table: keep the fault, drop the dangling link
        meta.loc[~meta["replica_of"].isin(set(meta["track_id"]) | {""}), "replica_of"] = ""
    meta = validate_metadata(meta, source="GTZAN metadata")
    return meta[list(COLUMNS) + ["title"] + marks]


# --------------------------------------------------------------------------------------------------
# The layouts real GTZAN copies come in, and the check of a local copy by the ids it holds
# --------------------------------------------------------------------------------------------------

GTZAN_EXCERPTS_PER_GENRE = 100
DEAD_GTZAN_URLS = ("http://opihi.cs.uvic.ca/sound/genres.tar.gz", "https://opihi.cs.uvic.ca/sound/genres.tar.gz")
"""The original archive's address: it has not answered since 2022 (mirdata issue 549, torchaudio PR 2763)."""

GTZAN_LAYOUTS = {
    # name: folders below the configured root that may hold the ten genre folders, in order
    "kaggle": ("Data/genres_original", "genres_original"),
    "original": ("genres", "gtzan/genres"),
}
"""Kaggle's copy (``Data/genres_original/<genre>/<genre>.000NN.wav``, with a corrupt jazz.00054.wav)
and the original archive and its mirrors (``genres/<genre>/<genre>.000NN.au``); either may also be
given as the genre folders' parent itself."""

GTZAN_DOWNLOAD_HELP = (
    "Download a copy of GTZAN and name its folder in a config file of your own, given after the preset: "
    "snakemake --cores all --configfile config/gtzan.yaml my_gtzan.yaml, my_gtzan.yaml holding "
    "`dataset: {gtzan: {root: /path/to/copy}}`. Either copy works: the Kaggle copy "
    "'andradaolteanu/gtzan-dataset-music-genre-classification' (root = the folder holding "
    "Data/genres_original/<genre>/<genre>.000NN.wav) or a mirror of the original genres.tar.gz, extracted "
    "(root = the folder holding genres/<genre>/<genre>.000NN.au). Or set dataset.gtzan.url (and md5) there to a "
    "mirror of genres.tar.gz that answers."
)


def gtzan_expected_ids(genres=None) -> list[str]:
    """GTZAN's 1000 track ids: ``<genre>.000NN`` for the ten genres and NN = 00..99."""
    from mgrfaults import GENRES

    return [f"{g}.{i:05d}" for g in (genres or GENRES) for i in range(GTZAN_EXCERPTS_PER_GENRE)]


def gtzan_source_problem(gtzan: dict) -> str | None:
    """Why the ``dataset.gtzan`` section cannot give audio without waiting on a dead server, or None.

    ``root: null`` with the original URL (dead since 2022) is a problem: the message says what to
    download, from where, and which key to set. A root or another URL (a mirror) is fine here.
    """
    if gtzan.get("root"):
        return None
    url = gtzan.get("url")
    if not url:
        return f"dataset.gtzan.root is null and no dataset.gtzan.url is set. {GTZAN_DOWNLOAD_HELP}"
    if url in DEAD_GTZAN_URLS:
        return (
            f"dataset.gtzan.root is null, so the archive would be downloaded from {url}, which has not answered "
            f"since 2022 (mirdata issue 549, torchaudio PR 2763). {GTZAN_DOWNLOAD_HELP}"
        )
    return None


GTZAN_SEARCH_DEPTH = 4
"""Folders below dataset.gtzan.root searched for the genre folders when no layout holds them, to name where they are."""


def _holds_genre_folders(folder: Path, genres, any_case: bool = False) -> bool:
    """``folder`` holds a folder named as one of ``genres``; with ``any_case``, in any letter case (a copy whose
    folders are all capitalised, ``Blues/``, is then found and the check of its names says which to rename: audit 50,
    it got the download help). Tried after the names as written, so that a folder of one's own (``Rock/``) beside a
    copy is not taken for a second copy (audit 51)."""
    if not any_case:
        return folder.is_dir() and any((folder / g).is_dir() for g in genres)
    try:
        names = {p.name.lower() for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    except OSError:
        return False
    return bool(names & {g.lower() for g in genres})


def gtzan_genre_root(root, genres=None) -> tuple[Path, str]:
    """Find the folder of GTZAN's genre folders in a local copy, whichever layout it comes in.

    Parameters
    ----------
    root : str or Path
        ``dataset.gtzan.root``: the Kaggle copy's folder (holding ``Data/genres_original``), an
        extracted original archive (holding ``genres/``), or the genre folders' parent itself.

    Returns
    -------
    genre_root : Path
        The folder holding ``blues/``, ``classical/``, ...
    layout : {"kaggle", "original", "flat"}
        Which layout matched (``flat``: ``root`` itself holds the genre folders).

    Raises
    ------
    InputError
        ``root`` missing, none of the layouts found below it (the message lists where it looked), or more than
        one (a Kaggle copy beside an extracted archive: which is the study's is not for the workflow to guess).
    """
    from mgrfaults import GENRES

    genres = genres or GENRES
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputError(f"dataset.gtzan.root: {root} is not a folder. {GTZAN_DOWNLOAD_HELP}")
    looked = [(root / sub, layout) for layout, subfolders in GTZAN_LAYOUTS.items() for sub in subfolders]
    found = [(folder, layout) for folder, layout in looked + [(root, "flat")] if _holds_genre_folders(folder, genres)]
    if not found:  # folders named in other letters (Blues/): found so, the check of their names says what to rename
        found = [(folder, layout) for folder, layout in looked + [(root, "flat")]
                 if _holds_genre_folders(folder, genres, any_case=True)]
    if len(found) > 1:
        raise InputError(
            f"dataset.gtzan.root: {root} holds {len(found)} copies of GTZAN's genre folders: "
            f"{', '.join(f'{folder} ({layout})' for folder, layout in found)}. Set dataset.gtzan.root to the one to use."
        )
    if found:
        return found[0]
    raise InputError(
        f"dataset.gtzan.root: {root} holds no GTZAN genre folders ({', '.join(genres[:3])}, ...); looked in "
        f"{[str(folder) for folder, _ in looked] + [str(root)]}. {_genre_root_hint(root, genres)}"
    )


def _genre_root_hint(root: Path, genres) -> str:
    """What to set ``dataset.gtzan.root`` to where no layout holds the genre folders: the parent of a genre folder
    given as the root (one level too deep), the folder holding them deeper down, or else where to get a copy."""
    if _is_gtzan_genre_folder(root, genres):
        return (f"It looks like GTZAN's {root.name!r} folder itself (its files are {root.name}.000NN.*): set "
                f"dataset.gtzan.root to its parent, {root.parent}, the folder of the genre folders (or to the copy's "
                "folder holding it).")
    deeper = _genre_folders_below(root, genres)
    if deeper:
        return (f"They are in {deeper}, deeper than any layout puts them (an archive extracted into a folder of its "
                f"own name, genres/genres/, say): set dataset.gtzan.root to {deeper}.")
    return GTZAN_DOWNLOAD_HELP


def _is_gtzan_genre_folder(folder: Path, genres) -> bool:
    """``folder`` is one of GTZAN's genre folders: named after a genre, holding that genre's excerpts
    (``blues/blues.00000.wav``; by name, whatever the extension)."""
    if folder.name not in genres:
        return False
    try:
        stems = (track_id_from_path(p.name) for p in folder.iterdir() if p.is_file())
        return any(GTZAN_NAME.match(stem) and stem.split(".")[0] == folder.name for stem in stems)
    except OSError:  # an unreadable folder: the download help stays
        return False


def _genre_folders_below(root: Path, genres, max_depth: int = GTZAN_SEARCH_DEPTH) -> Path | None:
    """The first folder (in name order, shallowest first) at most ``max_depth`` below ``root`` that holds genre
    folders, hidden folders and macOS's ``__MACOSX`` left out; None where there is none."""
    level = [root]
    for _ in range(max_depth):
        below = []
        for folder in level:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX")))
            except OSError:
                continue
            for child in children:
                if _holds_genre_folders(child, genres):
                    return child
            below += children
        level = below
    return None


def gtzan_id_check(found_ids, bad_ids=(), expected_ids=None) -> dict[str, list[str]]:
    """Compare a local copy's track ids (file stems, any extension) with GTZAN's.

    Parameters
    ----------
    found_ids : iterable of str
        Stems of the audio files found (``blues.00000`` from ``blues.00000.wav`` or ``.au``).
    bad_ids : iterable of str
        Stems of the files that could not be decoded.
    expected_ids : list of str, optional
        Default: :func:`gtzan_expected_ids` (1000).

    Returns
    -------
    dict
        ``missing`` (expected, no file), ``undecodable`` (a file that does not decode),
        ``unexpected`` (a file whose stem is no GTZAN id), each sorted.
    """
    expected = set(expected_ids if expected_ids is not None else gtzan_expected_ids())
    found = set(found_ids)
    return {
        "missing": sorted(expected - found),
        "undecodable": sorted(set(bad_ids) & expected),
        "unexpected": sorted(found - expected),
    }


def check_gtzan_copy(root, found_ids, expected_ids=None, partial: bool = False, paths=None) -> list[str]:
    """Raise naming ``root`` when a local GTZAN copy lacks ids or holds files that are no GTZAN id.

    A re-packaged copy never matches the archive's checksum; its ids are checked instead. Missing
    excerpts would silently change every partition of the study, so they are an error, unless the copy
    is declared part of GTZAN (``partial``, ``dataset.gtzan.partial``): then they are logged, per genre. ``paths``
    (id -> file) names the files that are no GTZAN excerpt by their paths.

    Returns
    -------
    list of str
        The GTZAN ids the copy lacks (empty for a whole copy).
    """
    check = gtzan_id_check(found_ids, expected_ids=expected_ids)
    n_expected = len(expected_ids) if expected_ids is not None else len(gtzan_expected_ids())
    if partial and check["missing"]:
        per_genre = pd.Series([tid.split(".")[0] for tid in check["missing"]]).value_counts().sort_index()
        log.warning("dataset.gtzan.partial: %s holds %d of the %d GTZAN excerpts; missing per genre: %s (first: %s). "
                    "Sturm's index and the study's lists are applied to the excerpts present", root,
                    n_expected - len(check["missing"]), n_expected,
                    ", ".join(f"{g} {n}" for g, n in per_genre.items()), check["missing"][:5])
    missing = [] if partial else check["missing"]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of the {n_expected} GTZAN excerpts missing: {missing[:20]}")
    if check["unexpected"]:
        named = [str(paths.get(tid, tid)) if paths else tid for tid in check["unexpected"][:20]]
        problems.append(f"{len(check['unexpected'])} file(s) that are no GTZAN excerpt: {named}")
    if problems:
        # a few missing: most likely a file that did not decode, deleted by hand (the Kaggle copy's jazz.00054.wav)
        restore = (" A file deleted because it does not decode belongs back in the copy (the Kaggle copy's "
                   "jazz.00054.wav is one): dataset.on_bad_audio: skip, config/gtzan.yaml's setting, skips it and "
                   "lists it in bad_audio.csv." if 0 < len(missing) <= 5 else "")
        raise InputError(
            f"dataset.gtzan.root: {root}: " + "; ".join(problems)
            + (". Use a complete copy, or set dataset.gtzan.partial: true to run on the excerpts it holds (Sturm's "
               "index and the study's lists applied to them), or dataset.source: directory for excerpts of another "
               "dataset." if missing else ". Move them out of the copy (or use dataset.source: directory for "
               "another set of excerpts).") + restore
        )
    return check["missing"]
