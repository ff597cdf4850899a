"""Data sources: downloads with checksums, folders of audio, bad-audio handling, metadata checks."""

import hashlib
import os
import tarfile

import numpy as np
import pandas as pd
import pytest

from mgrfaults.data.audio import write_au
from mgrfaults.data.dataset import audio_manifest, directory_metadata, list_audio_files, scan_audio
from mgrfaults.data.download import extract_tar, fetch, find_genre_root
from mgrfaults.errors import AudioError, InputError
from mgrfaults.data.metadata import metadata_summary, read_metadata, validate_metadata, write_metadata


def make_folder(root, genres=("blues", "rock"), n=2, seconds=0.5):
    for genre in genres:
        for i in range(n):
            t = np.arange(int(seconds * 22050)) / 22050
            write_au(root / genre / f"{genre}.{i:05d}.au", 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t))
    return root


def test_fetch_verifies_checksum(tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("hello")
    digest = hashlib.sha256(b"hello").hexdigest()
    assert fetch(src.as_uri(), tmp_path / "out" / "a.txt", sha256=digest).read_text() == "hello"
    with pytest.raises(InputError, match="checksum mismatch"):
        fetch(src.as_uri(), tmp_path / "out" / "b.txt", sha256="0" * 64)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]  # nothing half-written


def test_a_download_or_extraction_onto_a_full_disk_says_so(tmp_path, monkeypatch):
    # the OS's "[Errno 28] No space left on device" came with "no network?" or the archive blamed
    import errno
    import shutil

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    src = tmp_path / "a.txt"
    src.write_text("hello")
    monkeypatch.setattr(shutil, "copyfileobj", full)
    with pytest.raises(InputError, match=r"b\.txt: cannot write the download of .*a\.txt: the disk holding .* is full"):
        fetch(src.as_uri(), tmp_path / "out" / "b.txt", local_key="dataset.gtzan.index")
    archive = tmp_path / "g.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(src, arcname="a.txt")
    monkeypatch.setattr(tarfile.TarFile, "extractall", full)
    with pytest.raises(InputError, match=r"g\.tar: cannot extract into .*x: the disk holding it is full"):
        extract_tar(archive, tmp_path / "x")


def test_tarball_download_and_extraction(tmp_path):
    make_folder(tmp_path / "genres")
    archive = tmp_path / "genres.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "genres", arcname="genres")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    got = fetch(archive.as_uri(), tmp_path / "dl" / "g.tar.gz", md5=md5)
    out = extract_tar(got, tmp_path / "dl" / "audio")
    root = find_genre_root(out)
    assert root.name == "genres" and sorted(p.name for p in root.iterdir()) == ["blues", "rock"]
    with pytest.raises(InputError, match="md5 checksum mismatch"):
        fetch(archive.as_uri(), tmp_path / "bad" / "g.tar.gz", md5="0" * 32)
    assert not list((tmp_path / "bad").iterdir())


def test_list_and_scan_folder(tmp_path):
    root = make_folder(tmp_path / "audio")
    files = list_audio_files(root)
    assert list(files["track_id"]) == ["blues.00000", "blues.00001", "rock.00000", "rock.00001"]
    listing, bad = scan_audio(files)
    assert len(listing) == 4 and bad.empty and (listing["duration"] == 0.5).all()


def test_bad_audio_error_or_skip(tmp_path):
    root = make_folder(tmp_path / "audio")
    (root / "blues" / "blues.00054.au").write_bytes(b"garbage" * 100)
    files = list_audio_files(root)
    with pytest.raises(AudioError, match="blues.00054.au"):
        scan_audio(files, on_bad_audio="error")
    listing, bad = scan_audio(files, on_bad_audio="skip")
    assert "blues.00054" not in set(listing["track_id"])
    assert len(bad) == 1 and bad["path"].iloc[0].endswith("blues.00054.au") and "header" in bad["reason"].iloc[0]


def test_directory_metadata_and_annotations(tmp_path):
    listing, _ = scan_audio(list_audio_files(make_folder(tmp_path / "audio")))
    meta = validate_metadata(directory_metadata(listing))
    assert meta["artist"].tolist() == [f"unknown:{t}" for t in meta["track_id"]]
    ann = tmp_path / "ann.csv"
    pd.DataFrame({"track_id": ["rock.00001"], "artist": ["Band"], "fault": ["exact_replica"],
                  "replica_of": ["rock.00000"]}).to_csv(ann, index=False)
    meta = validate_metadata(directory_metadata(listing, ann))
    row = meta.set_index("track_id").loc["rock.00001"]
    assert (row["artist"], row["fault"], row["replica_of"]) == ("Band", "exact_replica", "rock.00000")
    pd.DataFrame({"track_id": ["pop.00001"], "artist": ["X"]}).to_csv(ann, index=False)
    with pytest.raises(InputError, match="pop.00001"):
        directory_metadata(listing, ann)


@pytest.mark.parametrize("genres, problem", [
    (["solo"], r"1 genre folder\(s\) \['solo'\]: genre recognition needs at least 2"),
    (["Rock", "rock", "jazz"], r"differ only in case, Unicode form, spaces, hyphens or underscores: \[\['Rock', 'rock'\]\]"),
    (["m\u00fasica", "mu\u0301sica", "jazz"], r"differ only in case, .*: \[\['mu\\u0301sica', 'm\\xfasica'\]\]"),
    (["hip hop", "hip-hop", "Hip_Hop", "jazz"], r"differ only in case, .*: \[\['Hip_Hop', 'hip hop', 'hip-hop'\]\]"),
    (["rock ", "jazz"], r"genre folder\(s\) \[\"'rock '\"\]: a space before or after a genre's name"),
    (["drum\nbass", "jazz"], r"genre folder\(s\) \['drum\\nbass'\]: a control character"),
    (["predicted", "jazz"], r"genre folder\(s\) \['predicted'\]: the tables name their own rows"),
    (["all", "rock"], r"genre folder\(s\) \['all'\]: the tables name their own rows"),
    (["F-score", "Precision", "rock"], r"\['F-score', 'Precision'\]"),
    # names a table reader takes for a number, a boolean or a missing value: they would stop matching themselves
    (["01", "02", "10"], r"\['01', '02', '10'\]: a table reader takes such a name for a number"),
    (["NA", "None", "rock"], r"\['NA', 'None'\]: .*missing value"),
    (["True", "rock"], r"\['True'\]"),
])
def test_genre_folders_that_make_no_recognition_task_are_refused(genres, problem):
    listing = pd.DataFrame({"track_id": [f"{g}.{i}" for g in genres for i in range(3)],
                            "genre": [g for g in genres for _ in range(3)]})
    listing["path"], listing["duration"], listing["sample_rate"] = listing["track_id"] + ".wav", 3.0, 22050
    with pytest.raises(InputError, match=r"dataset\.directory\.root: .*" + problem):
        directory_metadata(listing)
    # spaces, unicode, dots and digits after a letter are genre names like any other
    directory_metadata(listing.assign(genre=(["hip hop", "électro", "r.n.b", "90s", "n/a rock"] * len(listing))[: len(listing)]))


def test_numeric_genre_folders_are_named_as_the_folders_are():
    # the workflow's listing.csv read back with pandas' defaults: folder 01 became the number 1
    folders = ["01", "02", "10"]
    listing = pd.DataFrame({"track_id": [f"t{i}" for i in range(6)], "genre": [int(f) for f in folders] * 2,
                            "path": [f"/data/{f}/t{i}.wav" for i, f in enumerate(folders * 2)]})
    listing["duration"], listing["sample_rate"] = 3.0, 22050
    with pytest.raises(InputError, match=r"genre folder\(s\) \['01', '02', '10'\]: a table reader"):
        directory_metadata(listing)


def metadata_frame(**changes):
    df = pd.DataFrame({
        "track_id": ["blues.00000", "blues.00001"], "path": ["a.au", "b.au"], "genre": ["blues", "blues"],
        "artist": ["A", ""], "fault": ["none", "exact_replica"], "replica_of": ["", "blues.00000"],
        "duration": [30.0, 30.0], "sample_rate": [22050, 22050],
    })
    for key, value in changes.items():
        df[key] = value
    return df


def test_metadata_summary_counts_artists_as_written(tmp_path):
    # two excerpts without a known artist are two artists (unknown:<track_id> each) in metadata.csv, and in its log
    written = write_metadata(metadata_frame(artist=["", ""]), tmp_path / "m.csv")
    assert metadata_summary(written) == "metadata: 2 excerpts, 2 artists"
    assert metadata_summary(read_metadata(tmp_path / "m.csv")) == metadata_summary(written)


def test_metadata_roundtrip_and_checks(tmp_path):
    write_metadata(metadata_frame(), tmp_path / "m.csv")
    meta = read_metadata(tmp_path / "m.csv")
    assert meta["artist"].tolist() == ["A", "unknown:blues.00001"]
    with pytest.raises(InputError, match="duplicate track id"):
        validate_metadata(metadata_frame(track_id=["x.1", "x.1"], replica_of=["", ""]))
    with pytest.raises(InputError, match="unknown fault 'broken'"):
        validate_metadata(metadata_frame(fault=["none", "broken"]))
    with pytest.raises(InputError, match="genre 'polka' is not in the label set"):
        validate_metadata(metadata_frame(genre=["blues", "polka"]), genres=["blues", "rock"])
    with pytest.raises(InputError, match="replica_of names unknown track"):
        validate_metadata(metadata_frame(replica_of=["", "blues.00099"]))
    with pytest.raises(InputError, match="missing column"):
        validate_metadata(metadata_frame().drop(columns=["artist"]))
    with pytest.raises(InputError, match="not found"):
        read_metadata(tmp_path / "nope.csv")


def test_very_short_file_keeps_a_positive_duration(tmp_path):
    root = make_folder(tmp_path / "audio", genres=("blues", "rock"), n=1)
    write_au(root / "blues" / "blues.00001.au", np.array([0.1]))  # one sample decodes: it is no bad audio
    listing, bad = scan_audio(list_audio_files(root))
    assert bad.empty and listing.set_index("track_id").loc["blues.00001", "duration"] == pytest.approx(1 / 22050)
    validate_metadata(directory_metadata(listing))  # a 4-decimal rounding made it 0.0 and refused it here


def test_metadata_bad_duration_names_file_with_plain_number():
    with pytest.raises(InputError) as info:
        validate_metadata(metadata_frame(duration=[30.0, 0.0]), source="metadata.csv")
    message = str(info.value)
    assert "metadata.csv: duration: track blues.00001: 0.0 is not a positive finite number (file b.au)" in message
    assert "np." not in message


def touch(path, ns):
    os.utime(path, ns=(ns, ns))


def test_audio_manifest_changes_with_any_audio_file(tmp_path):
    root = make_folder(tmp_path / "audio")
    for f in root.rglob("*.au"):
        touch(f, 10**18)
    first = audio_manifest(root)
    assert first == audio_manifest(root) and first.startswith("4 audio files, ")  # deterministic
    (root / "blues" / "notes.txt").write_text("not audio")
    assert audio_manifest(root) == first
    path = root / "rock" / "rock.00001.au"
    data = path.read_bytes()
    path.write_bytes(data[:-2] + b"\x7f\x7f")  # rewritten in place, same size: the mtime tells
    touch(path, 10**18 + 1)
    second = audio_manifest(root)
    assert second != first
    (root / "rock" / "rock.00002.au").write_bytes(data)  # added
    third = audio_manifest(root)
    assert third.startswith("5 audio files, ") and third != second
    (root / "rock" / "rock.00002.au").unlink()  # removed again
    assert audio_manifest(root) == second
    assert audio_manifest(tmp_path / "nowhere") == "no audio files"


def test_audio_manifest_covers_the_files_the_scan_reads_only(tmp_path):
    # a .DS_Store, a README or a log beside the genre folders (the working folder as root), a hidden folder's audio:
    # none is read by the scan, and each reran the whole study (audit 23)
    root = make_folder(tmp_path / "audio")
    first = audio_manifest(root)
    (root / ".DS_Store").write_bytes(b"Bud1")
    (root / "README.txt").write_text("my dataset")
    (root / "blues" / "notes.txt").write_text("liner notes")
    (root / ".Trashes" / "501").mkdir(parents=True)
    (root / ".Trashes" / "501" / "y.au").write_bytes(b"y")
    assert audio_manifest(root) == first
    # GTZAN's original layout, root/genres/<genre>/: the scan's folder of genre folders is found first
    wrapped = tmp_path / "copy"
    wrapped.mkdir()
    os.rename(root, wrapped / "genres")
    again = audio_manifest(wrapped)
    assert again.startswith("4 audio files, ") and again != first  # the paths are relative to the root given
    (wrapped / "genres" / "rock" / "rock.00009.au").write_bytes(b"z")
    assert audio_manifest(wrapped).startswith("5 audio files, ")


def test_audio_manifest_follows_looping_folder_links(tmp_path):
    root = make_folder(tmp_path / "audio", genres=("blues",))
    os.symlink(root, root / "blues" / "loop")  # a folder link back to the root: walked once
    os.symlink(tmp_path / "gone.au", root / "blues" / "blues.00009.au")  # dangling: counted, not an error
    assert audio_manifest(root).startswith("3 audio files, ")


def test_local_copy_checksum_mismatch_names_key_and_hint(tmp_path):
    src = tmp_path / "GTZANindex.txt"
    src.write_bytes(b"blues.00000.wav ::: John Lee Hooker ::: One Bourbon\r\n")  # CRLF: another checksum
    lf = hashlib.sha256(b"blues.00000.wav ::: John Lee Hooker ::: One Bourbon\n").hexdigest()
    with pytest.raises(InputError) as info:
        fetch(str(src), tmp_path / "out" / "index.txt", sha256=lf, local_key="dataset.gtzan.index")
    message = str(info.value)
    assert "GTZANindex.txt: sha256 checksum mismatch" in message
    assert "dataset.gtzan.index" in message and "byte-identical" in message and "CRLF" in message


def test_the_label_set_is_the_datasets_own_genres():
    from mgrfaults import GENRES
    from mgrfaults.data.metadata import label_set

    # folders named as two of GTZAN's genres are a two-genre task: no empty classes a system could predict
    assert label_set(pd.DataFrame({"genre": ["rock", "blues", "rock"]})) == ["blues", "rock"]
    assert label_set(pd.DataFrame({"genre": list(GENRES)[::-1]})) == list(GENRES)  # GTZAN's, in its order
    assert label_set(pd.DataFrame({"genre": ["b", "a"]})) == ["a", "b"]


def test_audio_of_an_unlisted_extension_is_named_in_a_warning(tmp_path, caplog):
    # .aiff and .m4a beside .au files: left out (not in dataset.directory.extensions), named; a cover image is not
    root = make_folder(tmp_path / "audio", genres=("blues", "rock"), n=2)
    for name in ("blues/blues.00009.aiff", "blues/blues.00010.m4a", "blues/cover.jpg", "blues/.hidden.aiff",
                 "blues/._blues.00009.aiff"):  # the last, macOS's AppleDouble companion of the first: no audio
        (root / name).write_bytes(b"x")
    with caplog.at_level("WARNING"):
        files = list_audio_files(root)
    assert sorted(files["track_id"]) == ["blues.00000", "blues.00001", "rock.00000", "rock.00001"]
    warned = [r.getMessage() for r in caplog.records if "not in dataset.directory.extensions" in r.getMessage()]
    assert len(warned) == 1
    assert "blues: 3 audio file(s) of an extension not in dataset.directory.extensions" in warned[0]
    assert "left out: 2 .aiff, 1 .m4a (e.g. ['.hidden.aiff', 'blues.00009.aiff', 'blues.00010.m4a'])" in warned[0]


def test_audio_whose_name_begins_with_a_dot_is_used_and_appledouble_files_are_not(tmp_path, caplog):
    # `.38 Special - Hold On Loosely.au` was dropped without a word ("18 files decoded, 0 skipped" of 21); a `._`
    # file is macOS's resource fork of its namesake, written beside it on disks without one (audit 23)
    root = make_folder(tmp_path / "audio", genres=("blues", "rock"), n=1)
    au = (root / "rock" / "rock.00000.au").read_bytes()
    for name in (".38 Special - Hold On Loosely.au", "...And You Will Know Us by the Trail of Dead - Relative Ways.au"):
        (root / "rock" / name).write_bytes(au)
    (root / "blues" / "._blues.00000.au").write_bytes(b"\x00\x05\x16\x07" + bytes(80))
    with caplog.at_level("INFO"):
        files = list_audio_files(root)
    assert sorted(files["track_id"]) == sorted([".38 Special - Hold On Loosely", "blues.00000", "rock.00000",
                                                "...And You Will Know Us by the Trail of Dead - Relative Ways"])
    assert "rock: 2 audio file(s) whose names begin with a dot (hidden by file browsers) used" in caplog.text
    before = audio_manifest(root)
    (root / "rock" / "._rock.00000.au").write_bytes(b"\x00\x05\x16\x07")  # Finder writes one: nothing to rerun
    assert audio_manifest(root) == before and before.startswith("4 audio files, ")


def test_audio_hidden_by_its_name_or_twinned_by_case_is_named_and_system_folders_skipped(tmp_path, caplog):
    root = make_folder(tmp_path / "audio", genres=("blues", "rock"), n=2)
    for name in ("blues/x1.wave", "blues/x2.mpga", "blues/x3.au ", "blues/x4.au."):
        (root / name).write_bytes(b"x")
    (root / "rock" / "Rock.00000.au").write_bytes((root / "rock" / "rock.00000.au").read_bytes())
    (root / "lost+found").mkdir()  # a drive's root: the file system's folder (unreadable to users), no genre
    with caplog.at_level("INFO"):
        files = list_audio_files(root)
    assert sorted(files["genre"].unique()) == ["blues", "rock"] and len(files) == 5
    text = caplog.text
    assert "1 .mpga, 1 .wave" in text  # of an extension not listed
    assert "2 audio file(s) left out, their names ending in a space or a dot after the extension: " \
           "[\"'x3.au '\", \"'x4.au.'\"]" in text
    assert "1 group(s) of audio files whose names differ only in case or Unicode form" in text
    assert "'Rock.00000.au' / 'rock.00000.au'" in text
    assert "['lost+found'] left out: a file system's own folder(s), no genre" in text


def test_annotations_and_lists_written_as_paths_name_prefixed_ids_where_stems_repeat(tmp_path):
    # stems repeat across genre folders: the dataset's ids are <genre>.<stem>, and so are paths' ids
    from mgrfaults.data.annotations import read_partition_lists

    root = tmp_path / "audio"
    t = np.arange(11025) / 22050
    for genre, stem in (("blues", "track01"), ("rock", "track01"), ("blues", "track02"), ("rock", "track03")):
        write_au(root / genre / f"{stem}.au", 0.3 * np.sin(2 * np.pi * 300 * t))
    listing, _ = scan_audio(list_audio_files(root))
    assert sorted(listing["track_id"]) == ["blues.track01", "blues.track02", "rock.track01", "rock.track03"]
    ann = tmp_path / "ann.csv"
    ann.write_text("track_id,artist,fault,replica_of\nblues/track01.wav,A,none,\nrock/track01.wav,B,exact_replica,"
                   "blues/track01.wav\nblues/track02.wav,A,none,\nrock/track03.wav,C,none,\n")
    meta = directory_metadata(listing, ann).set_index("track_id")
    assert meta.loc["rock.track01", ["artist", "replica_of"]].tolist() == ["B", "blues.track01"]
    lists = tmp_path / "lists"
    lists.mkdir()
    for part, lines in (("train", "blues/track01.wav\nblues/track02.wav\n"), ("valid", "rock/track03.wav\n"),
                        ("test", "rock/track01.wav\n")):
        (lists / f"{part}_mine.txt").write_text(lines)
    assert read_partition_lists(lists, "mine") == {"train": ["blues.track01", "blues.track02"],
                                                   "valid": ["rock.track03"], "test": ["rock.track01"]}
    # a file naming a few tracks, whose stems do not repeat among its own lines: read as the dataset names them
    ann.write_text("track_id,artist\nblues/track02.wav,A\nrock/track03.wav,C\n")
    meta = directory_metadata(listing, ann).set_index("track_id")
    assert meta.loc[["blues.track02", "rock.track03"], "artist"].tolist() == ["A", "C"]
    (lists / "test_mine.txt").write_text("rock/track01.wav\n")
    (lists / "train_mine.txt").write_text("blues/track02.wav\n")
    assert read_partition_lists(lists, "mine", known_ids=listing["track_id"]) == {
        "train": ["blues.track02"], "valid": ["rock.track03"], "test": ["rock.track01"]}


def test_a_csv_row_longer_than_its_header_is_refused_naming_the_line(tmp_path):
    # an unquoted comma in a value: pandas would make the extra field an index and shift every column
    from mgrfaults.data.annotations import read_annotations

    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist\nblues.00000,Earth, Wind & Fire\nblues.00001,Muddy Waters\n")
    with pytest.raises(InputError, match=r"ann\.csv: annotations table: line 2 has 3 fields, the header 2: a value "
                                         r"that holds a comma must be quoted"):
        read_annotations(path)


@pytest.mark.parametrize("head, kind", [(b"PK\x03\x04\x14\x00\x06\x00", r"a zip archive \(an \.xlsx or \.ods spreadsheet\?\)"),
                                        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", r"an Office compound file \(an \.xls spreadsheet\?\)")])
def test_a_spreadsheet_in_its_own_format_is_named_as_such(tmp_path, head, kind):
    from mgrfaults.data.annotations import read_annotations

    path = tmp_path / "ann.csv"
    path.write_bytes(head + bytes(range(256)))
    with pytest.raises(InputError, match=rf"ann\.csv: annotations table is {kind}, not text; save it from the "
                                         r"spreadsheet as CSV \(UTF-8\)"):
        read_annotations(path)


def test_genre_folders_spelt_two_ways_are_refused_when_listed_before_any_decoding(tmp_path):
    # the files hold no audio at all: the listing refuses the names before a file is decoded
    for folder in ("hip hop", "hip-hop", "rock"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder[:3]}.00000.au").write_bytes(b"not audio")
    with pytest.raises(InputError, match=r"genre folders whose names differ only in case, .*: \[\['hip hop', 'hip-hop'\]\]"):
        list_audio_files(tmp_path)
