"""A directory dataset's annotations CSV read against the dataset's ids: bad input gets an error naming the file, the
line and the problem, or a right result (audit 14, items 4, 5, 9, 11, 12, 13, 15, 19)."""

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
    path.write_text("track_id,artist\nblues.00000,A\n\n\n   \n,\nblues.00001,B\n")
    with pytest.raises(InputError, match=r"ann\.csv: track_id: empty on line\(s\) \[6\]: give each row"):
        read_annotations(path)
    # a quoted value over two lines: the next row starts on the line after it
    path.write_text('track_id,artist\nblues.00000,"A\nB"\n,C\n')
    with pytest.raises(InputError, match=r"empty on line\(s\) \[4\]"):
        read_annotations(path)
    path.write_text("\ntrack_id,artist\r\nblues.00000,A\r\n\r\nblues.00001,B\r\n")
    assert list(read_annotations(path).index) == [3, 5]


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


# ---------------------------------------------------------------------------------------------------------------
# 11: a column given twice is named as written, not as pandas renames it


@pytest.mark.parametrize("header", ["track_id,artist,artist", "track_id, artist ,artist", "track_id,Artist,artist",
                                    "track_id,artist,fault,track_id"])
def test_column_given_twice_is_named(tmp_path, header):
    path = tmp_path / "ann.csv"
    twice = "track_id" if header.endswith("track_id") else "artist"
    path.write_text(f"{header}\n" + ",".join(["blues.00000"] + ["A"] * header.count(",")) + "\n")
    with pytest.raises(InputError, match=rf"ann\.csv: column\(s\) \['{twice}'\] given more than once") as error:
        read_annotations(path)
    assert ".1" not in str(error.value)
