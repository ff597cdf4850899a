"""A directory dataset's annotations CSV read against the dataset's ids: bad input gets an error naming the file, the
line and the problem, or a right result (audit 14, items 4, 5, 9, 11, 12, 13, 15, 19; adv44 finding 3)."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pytest

from mgrfaults.data.annotations import read_annotations
from mgrfaults.data.dataset import directory_metadata
from mgrfaults.data.metadata import validate_metadata
from mgrfaults.errors import InputError

SR = 22050


def listing_of(paths):
    """A listing as the data stage's scan gives it for ``<genre>/<file>`` paths: the id is the file's stem."""
    rows = [{"track_id": p.rsplit("/", 1)[1].rsplit(".", 1)[0], "path": f"/data/{p}", "genre": p.split("/")[0],
             "duration": 30.0, "sample_rate": SR} for p in paths]
    return pd.DataFrame(rows)


GTZAN_LIKE = listing_of(["blues/blues.00000.au", "blues/blues.00001.au", "blues/blues.00002.au",
                         "blues/blues.00003.au", "rock/rock.00000.au"])


def annotate(tmp_path, text, listing=GTZAN_LIKE):
    """``directory_metadata`` of ``listing`` with an annotations file holding ``text``, validated, by track id."""
    path = tmp_path / "ann.csv"
    path.write_text(text, encoding="utf-8")
    return validate_metadata(directory_metadata(listing, path)).set_index("track_id")


# ---------------------------------------------------------------------------------------------------------------
# 19: a row is named by its line in the file, blank lines counted


def test_empty_row_after_blank_lines_is_named_by_its_file_line(tmp_path):
    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist\nblues.00000,A\n\n\n   \n,X\nblues.00001,B\n")
    with pytest.raises(InputError, match=r"ann\.csv: track_id: empty on line\(s\) \[6\]: give each row"):
        read_annotations(path)
    # a quoted value over two lines: the next row starts on the line after it
    path.write_text('track_id,artist\nblues.00000,"A\nB"\n,C\n')
    with pytest.raises(InputError, match=r"empty on line\(s\) \[4\]"):
        read_annotations(path)
    path.write_text("\ntrack_id,artist\r\nblues.00000,A\r\n\r\nblues.00001,B\r\n")
    assert list(read_annotations(path).index) == [3, 5]
    # classic-Mac line endings (CR alone): read, rows named by their lines (csv's own reader stopped on them)
    path.write_bytes(b"track_id,artist\rblues.00000,A\r\rblues.00001,B\r,C\r")
    with pytest.raises(InputError, match=r"empty on line\(s\) \[5\]"):
        read_annotations(path)
    path.write_bytes(b"track_id,artist\rblues.00000,A\r\rblues.00001,B\r")
    table = read_annotations(path)
    assert list(table.index) == [2, 4] and list(table["artist"]) == ["A", "B"]
    # a quoted artist holding a line break typed in a spreadsheet cell (a lone CR): the cell itself, no numpy error
    path.write_bytes(b'track_id,artist\r\nblues.00000,"Line1\rLine2"\r\nblues.00001,NA\r\n')
    table = read_annotations(path)
    assert list(table["artist"]) == ["Line1\rLine2", ""]


# ---------------------------------------------------------------------------------------------------------------
# 4: replica_of on a row whose fault is no replica


@pytest.mark.parametrize("fault", ["mislabel", "distortion", "Mislabel", "none", ""])
def test_replica_of_on_a_fault_that_is_no_replica_is_refused(tmp_path, fault):
    # partitioning reads replica_of only on replicas: fault_filtered put blues.00002 in train, blues.00003 in test
    shown = fault.lower() or "none"
    with pytest.raises(InputError, match=rf"ann\.csv: replica_of: 1 row\(s\) name an original but their fault is "
                                         rf"{shown}, e\.g\. blues\.00002 -> 'blues\.00003': give fault exact_replica "
                                         r"or recording_replica .*\(line\(s\) \[3\]\)"):
        annotate(tmp_path, f"track_id,artist,fault,replica_of\nblues.00001,A,none,\nblues.00002,B,{fault},blues.00003\n")


def test_replica_faults_keep_their_link_and_other_faults_without_one_pass(tmp_path):
    meta = annotate(tmp_path, "track_id,fault,replica_of\nblues.00001,recording_replica,blues.00000\n"
                              "blues.00002,mislabel,\nblues.00003,distortion,\n")
    assert meta.loc["blues.00001", ["fault", "replica_of"]].tolist() == ["recording_replica", "blues.00000"]
    assert meta.loc[["blues.00002", "blues.00003"], "fault"].tolist() == ["mislabel", "distortion"]
    # several rows of several faults: each fault named, each line
    with pytest.raises(InputError, match=r"2 row\(s\) name an original but their fault is distortion, mislabel, "
                                         r"e\.g\. blues\.00001 -> 'blues\.00000'.*\(line\(s\) \[2, 4\]\)"):
        annotate(tmp_path, "track_id,fault,replica_of\nblues.00001,distortion,blues.00000\n"
                           "blues.00002,exact_replica,blues.00000\nblues.00003,mislabel,rock.00000\n")


def test_replicas_named_without_their_original_are_warned_of(tmp_path, caplog):
    # replica sets typed in as such (every copy marked, none named): fault_filtered removes them all (audit 34)
    with caplog.at_level("WARNING"):
        meta = annotate(tmp_path, "track_id,fault,replica_of\nblues.00000,exact_replica,\nblues.00001,exact_replica,\n"
                                  "blues.00002,recording_replica,blues.00003\n")
    assert meta.loc[["blues.00000", "blues.00001"], "fault"].tolist() == ["exact_replica"] * 2
    warned = [r.getMessage() for r in caplog.records if "with no replica_of" in r.getMessage()]
    assert len(warned) == 1 and warned[0].endswith(
        "ann.csv: 2 row(s) marked a replica with no replica_of (['blues.00000', 'blues.00001'], line(s) [2, 3]): the "
        "fault-filtered partitions remove each, and so keep no copy of a recording whose copies are all marked so; to "
        "keep one, leave it unmarked and name it in the others' replica_of")


# ---------------------------------------------------------------------------------------------------------------
# 11: a column given twice is named as written, not as pandas renames it


@pytest.mark.parametrize("header", ["track_id,artist,artist", "track_id, artist ,artist", "track_id,Artist,artist",
                                    "track_id,artist,fault,track_id", "track_id,artist,fault,Track ID"])
def test_column_given_twice_is_named(tmp_path, header):
    path = tmp_path / "ann.csv"
    twice = "track_id" if header.lower().replace(" ", "_").endswith("track_id") else "artist"
    path.write_text(f"{header}\n" + ",".join(["blues.00000"] + ["A"] * header.count(",")) + "\n")
    with pytest.raises(InputError, match=rf"ann\.csv: column\(s\) \['{twice}'\] given more than once") as error:
        read_annotations(path)
    assert ".1" not in str(error.value)


# ---------------------------------------------------------------------------------------------------------------
# 5, 12, 13: a cell is the dataset id it is written as; else the file it names, by / or \, any extension of the dataset


def test_cell_written_as_a_dataset_id_is_that_id_before_any_extension_is_dropped(tmp_path):
    # files x.au (id x) and x.mp3.au (id x.mp3): the cell x.mp3 is the second, not the first
    listing = listing_of(["jazz/x.au", "jazz/x.mp3.au", "rock/y.au"])
    meta = annotate(tmp_path, "track_id,artist\nx.mp3,Converted Artist\nx,Other Artist\n", listing)
    assert meta.loc["x.mp3", "artist"] == "Converted Artist" and meta.loc["x", "artist"] == "Other Artist"
    meta = annotate(tmp_path, "track_id,artist\nx.mp3,Converted Artist\n", listing)
    assert meta.loc["x.mp3", "artist"] == "Converted Artist" and meta.loc["x", "artist"] == "unknown:x"
    # as metadata.csv shows it, without a file of the shorter name: not refused as 'blues.00000'
    listing = listing_of(["blues/blues.00000.mp3.au", "rock/rock.00000.au"])
    meta = annotate(tmp_path, "track_id,artist\nblues.00000.mp3,A\n", listing)
    assert meta.loc["blues.00000.mp3", "artist"] == "A"
    # a cell naming the file by its full name, and replica_of alike
    meta = annotate(tmp_path, "track_id,artist,fault,replica_of\nblues/blues.00000.mp3.au,A,exact_replica,rock.00000.au\n",
                    listing)
    assert meta.loc["blues.00000.mp3", ["artist", "replica_of"]].tolist() == ["A", "rock.00000"]


@pytest.mark.parametrize("cell", [r"jazz\jazz.00000.au", r"C:\Users\me\gtzan\jazz\jazz.00000.wav",
                                  r"\\server\share\jazz\jazz.00000.au", r"D:\music/jazz\jazz.00000.au"])
def test_windows_paths_name_the_file_as_forward_slash_paths_do(tmp_path, cell):
    listing = listing_of(["jazz/jazz.00000.au", "rock/rock.00000.au"])
    meta = annotate(tmp_path, f"track_id,artist\r\n{cell},Miles Davis\r\n", listing)
    assert meta.loc["jazz.00000", "artist"] == "Miles Davis"


def test_windows_paths_of_repeated_stems_name_the_genre_folder(tmp_path):
    listing = listing_of(["jazz/track01.au", "rock/track01.au"]).assign(track_id=["jazz.track01", "rock.track01"])
    meta = annotate(tmp_path, "track_id,artist,fault,replica_of\n"
                              r"C:\gtzan\rock\track01.wav,B,exact_replica,jazz\track01.au" "\n", listing)
    assert meta.loc["rock.track01", ["artist", "replica_of"]].tolist() == ["B", "jazz.track01"]
    # a file name that holds a backslash itself (possible on Linux) is still its own id
    listing = listing_of(["jazz/a\\b.au", "rock/c.au"])
    assert annotate(tmp_path, "track_id,artist\na\\b,A\n", listing).loc["a\\b", "artist"] == "A"


def test_path_form_ids_drop_the_extensions_the_dataset_files_have(tmp_path):
    listing = listing_of(["jazz/jazz.00000.opus", "rock/rock.00000.aifc", "rock/rock.00001.AIFC"])
    meta = annotate(tmp_path, "track_id,artist\njazz/jazz.00000.opus,A\nrock.00000.aifc,B\nrock/rock.00001.AIFC,C\n",
                    listing)
    assert meta["artist"].tolist() == ["A", "B", "C"]
    # an extension no file of the dataset has is still refused: 'rock.00000.m4a' names no file of this dataset
    with pytest.raises(InputError, match=r"track_id: 1 id\(s\) not in the dataset: \['rock\.00000\.m4a'\]"):
        annotate(tmp_path, "track_id,artist\nrock/rock.00000.m4a,B\n", listing)


def test_an_id_a_spreadsheet_stripped_of_its_leading_zeros_is_named_with_the_file_it_reads_as(tmp_path):
    # audit 49: refused with no hint
    listing = listing_of(["jazz/001.au", "rock/002.au"])
    with pytest.raises(InputError, match=r"not in the dataset: \['1'\].*'1' reads as the dataset's '001' with its "
                                         r"leading zeros dropped"):
        annotate(tmp_path, "track_id,artist\n1,A\n002,B\n", listing)
    assert annotate(tmp_path, "track_id,artist\n001,A\n002,B\n", listing)["artist"].tolist() == ["A", "B"]
    # a stem of digits int() does not read ('²') is no number to compare (audit 51: ValueError)
    with pytest.raises(InputError, match=r"not in the dataset: \['3'\]"):
        annotate(tmp_path, "track_id,artist\n3,A\n", listing_of(["jazz/\u00b2.au", "rock/002.au"]))


# ---------------------------------------------------------------------------------------------------------------
# 9, 15: a cell matches the one dataset id of its NFC, stripped form (file names in NFD, a file ' 7.au')


def nfd(text):
    return unicodedata.normalize("NFD", text)


def test_ids_match_across_unicode_forms_and_the_dataset_keeps_its_own_id(tmp_path):
    # a macOS copy: file names in NFD; a spreadsheet's cells in NFC
    listing = listing_of([nfd("pop/Beyoncé - Halo.au"), nfd("pop/Sigur Rós - Hoppípolla.au"), "rock/x.au"])
    text = ("track_id,artist,fault,replica_of\nBeyoncé - Halo,Beyoncé,,\n"
            "pop/Sigur Rós - Hoppípolla.au,Sigur Rós,exact_replica,Beyoncé - Halo.au\n")
    assert unicodedata.is_normalized("NFC", text)
    meta = annotate(tmp_path, text, listing)
    halo, hopp = nfd("Beyoncé - Halo"), nfd("Sigur Rós - Hoppípolla")
    assert set(meta.index) == set(listing["track_id"]) and halo in meta.index  # the dataset's own ids, in NFD
    assert meta.loc[halo, "artist"] == "Beyoncé" and meta.loc[hopp, "replica_of"] == halo
    # the other way round: NFD cells, NFC file names
    listing = listing_of(["pop/Beyoncé - Halo.au", "rock/x.au"])
    assert annotate(tmp_path, nfd("track_id,artist\nBeyoncé - Halo,A\n"), listing).loc["Beyoncé - Halo", "artist"] == "A"


def test_two_ids_of_one_unicode_form_are_matched_as_written_or_refused(tmp_path):
    listing = listing_of(["jazz/éé.au", nfd("jazz/éé.au"), "rock/x.au"])
    meta = annotate(tmp_path, f"track_id,artist\néé,A\n{nfd('éé')},B\n", listing)
    assert meta.loc["éé", "artist"] == "A" and meta.loc[nfd("éé"), "artist"] == "B"
    # half NFC, half NFD is neither: both ids read as it, so it names none; the message says which
    mixed = "é" + nfd("é")
    with pytest.raises(InputError, match=r"not in the dataset: \[.*\] \(line\(s\) \[2\]\).*could be any of 2 "
                                         r"dataset ids that differ from it only in Unicode form") as error:
        annotate(tmp_path, f"track_id,artist\n{mixed},A\n", listing)
    assert ascii("éé") in str(error.value) and ascii(nfd("éé")) in str(error.value)


def test_a_file_name_with_a_leading_space_can_be_annotated(tmp_path):
    listing = listing_of(["jazz/ 7.au", "jazz/ 8 .au", "rock/x.au"])
    meta = annotate(tmp_path, "track_id,artist,fault,replica_of\n7,A,exact_replica, 8\n8,A,,\n", listing)
    assert meta.loc[" 7", ["artist", "fault", "replica_of"]].tolist() == ["A", "exact_replica", " 8 "]
    assert meta.loc[" 8 ", "artist"] == "A"
    # a path names it too
    assert annotate(tmp_path, "track_id,artist\njazz/ 7.au,A\n", listing).loc[" 7", "artist"] == "A"
    # where the stripped id exists, a cell is that id, as written
    listing = listing_of(["jazz/ 7.au", "jazz/7.au", "rock/x.au"])
    meta = annotate(tmp_path, "track_id,artist\n7,A\n", listing)
    assert meta.loc["7", "artist"] == "A" and meta.loc[" 7", "artist"] == "unknown: 7"


# ---------------------------------------------------------------------------------------------------------------
# audit 23, BAD-6: lines before the header (a comment, Excel's sep= hint) and rows with no value (a spreadsheet's ,,,)

ROWS = ('track_id,artist,fault,replica_of\nblues.00000,"Earth, Wind & Fire",none,\n'
        "blues.00001,B,exact_replica,blues.00000\n")


@pytest.mark.parametrize("preamble", ["# my annotations\n", "sep=,\n", '"sep=,"\r\n', "SEP=,,,\n",
                                      "sep=,\n# exported 2024-05-01, by me\n\n#\n"])
def test_comment_lines_and_excels_separator_hint_before_the_header_are_skipped(tmp_path, preamble):
    # read as the partition lists are, not refused as "a value that holds a comma must be quoted"
    path = tmp_path / "ann.csv"
    path.write_text(preamble + ROWS, encoding="utf-8", newline="")
    table = read_annotations(path)
    skipped = preamble.count("\n")
    assert list(table.index) == [2 + skipped, 3 + skipped]  # rows named by their file lines
    assert table["artist"].tolist() == ["Earth, Wind & Fire", "B"]
    assert table["replica_of"].tolist() == ["", "blues.00000"]
    path.write_text(preamble + "track_id,artist\nblues.00000,A\n,C\n", encoding="utf-8", newline="")
    with pytest.raises(InputError, match=rf"track_id: empty on line\(s\) \[{3 + skipped}\]"):
        read_annotations(path)


@pytest.mark.parametrize("text, message", [
    ("sep=;\ntrack_id;artist\nblues.00000;A\n", r"line 1 is Excel's separator hint 'sep=;': the table must be "
                                                r"comma-separated: save it as CSV with ','"),
    ("sep=\t\ntrack_id\tartist\nblues.00000\tA\n", r"line 1 is Excel's separator hint 'sep=\\t'"),
    ("# annotations\n#track_id, Artist\nblues.00000,A\n", r"line 2 is a comment that reads as the header "
                                                          r"\('#track_id, Artist'\): delete its '#'"),
    ("# annotations\n\n# nothing yet\n", r"holds comment lines alone: no header line"),
])
def test_a_preamble_that_cannot_be_read_right_is_refused_naming_its_line(tmp_path, text, message):
    path = tmp_path / "ann.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"ann\.csv: annotations table.*" + message):
        read_annotations(path)


def test_a_header_whose_first_column_is_named_hash_is_a_header(tmp_path):
    # `#,track_id,artist` (a spreadsheet's row numbers under '#') was skipped as a comment, and the error then named the
    # first row's values as unknown columns (audit 24)
    path = tmp_path / "ann.csv"
    path.write_text("#,track_id,artist\n1,blues.00000,A\n2,blues.00001,B\n")
    with pytest.raises(InputError, match=r"ann\.csv: unknown column\(s\) \['#'\]; an annotations table holds"):
        read_annotations(path)


def test_rows_with_no_value_are_dropped_as_blank_lines_are(tmp_path):
    # a spreadsheet export's trailing ,,, rows (with or without its trailing empty columns); a row with an id is kept
    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist,fault\r\nblues.00000,A,none\r\n, ,\r\nblues.00001,,\r\n,,\r\n,,\r\n")
    table = read_annotations(path)
    assert table["track_id"].tolist() == ["blues.00000", "blues.00001"] and list(table.index) == [2, 4]
    path.write_text("track_id,artist,,\nblues.00000,A,,\n,,,\n,,,\n")
    assert read_annotations(path).to_dict("list") == {"track_id": ["blues.00000"], "artist": ["A"]}
    # more separators than the header has (an export of a wider sheet): no value either, not an unquoted comma
    path.write_text("track_id,artist\nblues.00000,A\n,,\n, ,,\nblues.00001,B\n")
    table = read_annotations(path)
    assert table["track_id"].tolist() == ["blues.00000", "blues.00001"] and list(table.index) == [2, 5]
    # inside a quoted value, a line of commas is that value's text; a '"' inside an unquoted value opens none (audit 28)
    path.write_text('track_id,artist\nblues.00000,"A\n,,\nB"\n')
    assert read_annotations(path)["artist"].tolist() == ["A\n,,\nB"]
    path.write_text('track_id,artist\nblues.00000,12" Single Band\nblues.00001,"A\n,,,\nB"\n,,,\n')
    assert read_annotations(path)["artist"].tolist() == ['12" Single Band', "A\n,,,\nB"]
    # a row with a value but no id is still refused, naming its line
    path.write_text("track_id,artist,fault\nblues.00000,A,none\n,,\n,B,\n")
    with pytest.raises(InputError, match=r"track_id: empty on line\(s\) \[4\]"):
        read_annotations(path)


@pytest.mark.parametrize("header", ["Track ID,Artist,Fault,Replica Of", "track-id,artist,fault,replica-of",
                                    "TRACK_ID,ARTIST,FAULT,REPLICA_OF", "TrackID,artist,fault,ReplicaOf"])
def test_column_names_are_blind_to_case_spaces_hyphens_and_underscores(tmp_path, header):
    # `Track ID` and `Replica Of`, as spreadsheets and other tools write them, were refused as unknown columns
    path = tmp_path / "ann.csv"
    path.write_text(f"{header}\nblues.00000,A,none,\nblues.00001,A,exact_replica,blues.00000\n")
    table = read_annotations(path)
    assert list(table.columns) == ["track_id", "artist", "fault", "replica_of"]
    assert table["replica_of"].tolist()[-1] == "blues.00000"
    path.write_text("track id,artists\nblues.00000,A\n")  # a near miss is still named as written
    with pytest.raises(InputError, match=r"unknown column\(s\) \['artists'\].*blind to case, spaces, hyphens"):
        read_annotations(path)


# ---------------------------------------------------------------------------------------------------------------
# adv44 finding 3: an id written as a path in another genre's folder is refused, as a partition list's line is
# (check_list_genres), not matched to the excerpt of the dataset's other genre

MOVED = listing_of(["blues/blues.00000.au", "blues/blues.00001.au", "rock/rock.00000.au", "rock/track0.au"])


@pytest.mark.parametrize("cell, excerpt, folder", [
    ("rock/blues.00001.wav", "blues.00001", "rock"),  # the file moved from rock/ to blues/ to fix its mislabel
    (r"C:\gtzan\rock\blues.00001.wav", "blues.00001", "rock"),  # a Windows path
    ("Data/genres_original/blues/track0.wav", "track0", "blues"),  # a plain stem; the folders above say nothing
])
def test_track_id_path_in_another_genres_folder_is_refused(tmp_path, cell, excerpt, folder):
    genre = MOVED.set_index("track_id").loc[excerpt, "genre"]
    with pytest.raises(InputError, match=rf"ann\.csv: track_id: line 3: {re.escape(repr(cell))} names the genre "
                                         rf"folder '{folder}', but the dataset's excerpt '{excerpt}' is '{genre}': "
                                         r"this table was made for another copy or labelling of the data; give the "
                                         r"dataset's paths or ids$"):
        annotate(tmp_path, f"track_id,artist,fault\nrock.00000,A,\n{cell},Muddy Waters,mislabel\n", MOVED)


def test_replica_of_path_in_another_genres_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"ann\.csv: replica_of: line 2: 'blues/rock\.00000\.wav' names the genre "
                                         r"folder 'blues', but the dataset's excerpt 'rock\.00000' is 'rock'.*"
                                         r"ids \(2 such rows, line\(s\) \[2, 3\]\)$"):
        annotate(tmp_path, "track_id,fault,replica_of\nblues.00000,exact_replica,blues/rock.00000.wav\n"
                           "blues.00001,exact_replica,blues/rock.00000.au\n", MOVED)


@pytest.mark.parametrize("cell", ["blues.00001", "blues/blues.00001.wav", "Data/genres_original/blues/blues.00001.wav",
                                  "audio/blues.00001.wav", r"C:\gtzan\genres\blues\blues.00001.au"])
def test_ids_as_stems_or_paths_in_the_excerpts_own_or_no_genre_folder_pass(tmp_path, cell):
    meta = annotate(tmp_path, f"track_id,artist,fault,replica_of\nblues.00000,A,,\n"
                              f"{cell},A,exact_replica,blues/blues.00000.au\n", MOVED)
    assert meta.loc["blues.00001", ["artist", "fault", "replica_of"]].tolist() == ["A", "exact_replica", "blues.00000"]
