"""The bad-input matrix: each case gets a clear error naming the file/key/id and the problem, or a
documented behaviour (decoded correctly, a finite value, a logged skip) — never a deep traceback,
never a half-written output."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO, run_snakemake
from mgrfaults.features import extract as features
from mgrfaults.features.store import FeatureStore
from mgrfaults.partitions import split as partitions
from mgrfaults.data.audio import load_audio, write_au
from mgrfaults.data.dataset import list_audio_files
from mgrfaults.config import ConfigError, check_config, load_config
from mgrfaults.data.download import fetch
from mgrfaults.errors import AudioError, InputError
from mgrfaults.data.metadata import validate_metadata

SR = 22050
FRAMES = features.frame_params()
TEXTURE = features.texture_params()


def tone(seconds, sr=SR, freq=330.0):
    return (0.4 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def left_behind(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------------
# 1-5: audio


def case_corrupt_audio(tmp_path):
    for name in ("jazz.00054.au", "x.wav"):
        (tmp_path / name).write_bytes(os.urandom(3000))
        with pytest.raises(AudioError, match=name.replace(".", r"\.") + ": not an? (AU|WAV) file"):
            load_audio(tmp_path / name)


def case_truncated_audio(tmp_path):
    sf.write(tmp_path / "full.au", tone(1.0), SR, subtype="PCM_16", format="AU")
    (tmp_path / "cut.au").write_bytes((tmp_path / "full.au").read_bytes()[:10000])
    with pytest.raises(AudioError, match=r"cut\.au: truncated: the header promises 44100 bytes"):
        load_audio(tmp_path / "cut.au")


def case_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: empty file \(0 bytes\)"):
        load_audio(tmp_path / "empty.wav")


def case_shorter_than_a_frame_or_texture_window(tmp_path):
    # documented: audio shorter than one frame is zero-padded to one frame; shorter than one
    # texture window gives one window over what there is
    magnitude, texture = features.extract_track(tone(0.01), FRAMES, TEXTURE)
    assert magnitude.shape == (1, 513) and texture.shape[0] == 1
    magnitude, texture = features.extract_track(tone(2.0), FRAMES, TEXTURE)
    assert magnitude.shape[0] == features.n_frames(2 * SR) and texture.shape[0] == 1
    assert np.isfinite(magnitude).all() and np.isfinite(texture).all()


def case_other_formats_decode(tmp_path):
    y = tone(1.0, 44100)
    sf.write(tmp_path / "stereo44.wav", np.stack([y, y], 1), 44100, subtype="PCM_16")
    sf.write(tmp_path / "u8.wav", tone(1.0), SR, subtype="PCM_U8")
    sf.write(tmp_path / "float.wav", tone(1.0), SR, subtype="FLOAT")
    for name in ("stereo44.wav", "u8.wav", "float.wav"):
        out = load_audio(tmp_path / name)
        assert out.ndim == 1 and abs(len(out) - SR) <= 1
        assert abs(np.argmax(np.abs(np.fft.rfft(out))) * SR / len(out) - 330) < 3, name


def case_silent_and_dc_audio(tmp_path):
    for y in (np.zeros(3 * SR, np.float32), np.full(3 * SR, 0.5, np.float32)):
        magnitude, texture = features.extract_track(y, FRAMES, TEXTURE)
        assert np.isfinite(magnitude).all() and np.isfinite(texture).all()


# ---------------------------------------------------------------------------------------------
# 7-9: partitions and metadata


def small_metadata():
    rows = [
        {"track_id": f"{g}.{i:05d}", "genre": g, "artist": f"{g}_a{i // 2}", "fault": "none"}
        for g in ("blues", "rock")
        for i in range(10)
    ]
    return pd.DataFrame(rows)


def case_partition_names_unknown_id(tmp_path):
    meta = small_metadata()
    lists = {"train": ["blues.00000", "rock.00000"], "valid": ["blues.00001", "rock.00001"],
             "test": ["blues.00002", "rock.00099"]}
    with pytest.raises(InputError, match=r"test_filtered\.txt: 1 of 6 listed ids are absent .*\['rock\.00099'\]"):
        partitions.published_split(meta, lists, source="test_filtered.txt")


def case_partition_id_in_two_parts(tmp_path):
    meta = small_metadata()
    lists = {"train": ["blues.00000", "rock.00000"], "valid": ["blues.00001", "rock.00001"],
             "test": ["blues.00000", "rock.00002"]}
    with pytest.raises(InputError, match=r"more than one part.*blues\.00000"):
        partitions.published_split(meta, lists)
    path = tmp_path / "fold_0.csv"
    pd.DataFrame({"track_id": ["a", "a"], "part": ["train", "test"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="fold_0.csv"):
        partitions.read_partition(path)


def case_artist_crosses_parts(tmp_path):
    meta = small_metadata()
    # blues_a0 holds blues.00000 and blues.00001: one in train, one in test
    part = pd.DataFrame({
        "track_id": [f"{g}.{i:05d}" for g in ("blues", "rock") for i in range(6)],
        "part": ["train", "valid", "valid", "test", "test", "train"] * 2,
    })
    partitions.check_partition(part, meta, artist_filtered=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match=r"artist.*blues_a0"):
            partitions.check_partition(part, meta, artist_filtered=True, source="claimed_filtered")


def case_metadata_unknown_genre_and_duplicate_ids(tmp_path):
    meta = pd.DataFrame({"track_id": ["a.1", "a.2"], "path": ["x", "y"], "genre": ["blues", "polka"],
                         "artist": ["A", "B"], "fault": ["none", "none"], "replica_of": ["", ""],
                         "duration": [30, 30], "sample_rate": [SR, SR]})
    with pytest.raises(InputError, match=r"a\.2: genre 'polka' is not in the label set"):
        validate_metadata(meta, source="metadata.csv", genres=["blues", "rock"])
    meta["track_id"] = ["a.1", "a.1"]
    with pytest.raises(InputError, match=r"metadata\.csv: duplicate track id\(s\) \['a\.1'\]"):
        validate_metadata(meta, source="metadata.csv")
    meta["track_id"] = ["a.1", "a.2"]
    meta["genre"] = ["blues", "blues"]
    for bad in ("thirty", "nan", "-1"):
        meta["duration"] = ["30", bad]
        with pytest.raises(InputError, match=rf"metadata\.csv: duration: track a\.2: '{bad}' is not a positive finite number"):
            validate_metadata(meta, source="metadata.csv")


# ---------------------------------------------------------------------------------------------
# 10-12: config, downloads, caches


def base_config():
    from mgrfaults.config import load_config

    return load_config()  # the embedded default, validated: every default filled by the schema


SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def case_config_errors(tmp_path):
    bad_key = base_config()
    bad_key["features"]["frames"]["nfft"] = 2048
    with pytest.raises(WorkflowError, match="nfft"):
        validate(bad_key, SCHEMA)
    bad_type = base_config()
    bad_type["features"]["n_shards"] = "four"
    with pytest.raises(WorkflowError, match="four"):
        validate(bad_type, SCHEMA)
    bad_sum = base_config()
    bad_sum["partitions"]["conditions"]["standard"]["proportions"]["test"] = 0.5
    with pytest.raises(ConfigError, match=r"standard\.proportions: must sum to 1, they sum to 1\.2"):
        check_config(bad_sum)
    bad_k = base_config()
    bad_k["partitions"]["conditions"]["cv"] = {"method": "stratified_cv", "k": 1}
    with pytest.raises(WorkflowError, match=r"(?s)minimum of 3.*\['cv'\]\['k'\]"):  # the schema's bound
        validate(bad_k, SCHEMA)


def case_download_wrong_checksum(tmp_path):
    (tmp_path / "genres").mkdir()
    write_au(tmp_path / "genres" / "blues" / "blues.00000.au", tone(0.5))
    with tarfile.open(tmp_path / "g.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "genres", arcname="genres")
    out = tmp_path / "download"
    with pytest.raises(InputError, match="md5 checksum mismatch"):
        fetch((tmp_path / "g.tar.gz").as_uri(), out / "gtzan.tar.gz", md5=hashlib.md5(b"other").hexdigest())
    assert left_behind(out) == []


def case_feature_cache_with_other_parameters(tmp_path):
    meta = pd.DataFrame({"track_id": ["t.1"], "path": [str(tmp_path / "t.au")]})
    write_au(tmp_path / "t.au", tone(1.0))
    features.extract_shard(meta, tmp_path / "frames.h5", tmp_path / "texture.h5", FRAMES, TEXTURE)
    assert FeatureStore(tmp_path / "frames.h5", expected_params=FRAMES).read("t.1").shape[1] == 513
    other = features.frame_params(n_fft=2048)
    with pytest.raises(InputError, match=r"frames\.h5: feature cache made with other parameters.*n_fft"):
        FeatureStore(tmp_path / "frames.h5", expected_params=other)


CASES = {
    "1 corrupt audio": case_corrupt_audio,
    "2 truncated audio": case_truncated_audio,
    "3 empty file": case_empty_file,
    "4 shorter than a frame / texture window": case_shorter_than_a_frame_or_texture_window,
    "5 stereo, 44.1 kHz, 8-bit, float": case_other_formats_decode,
    "6 silent or DC": case_silent_and_dc_audio,
    "7a partition id not in dataset": case_partition_names_unknown_id,
    "7b same id in two parts": case_partition_id_in_two_parts,
    "8 artist crosses parts": case_artist_crosses_parts,
    "9 metadata genre / duplicate ids": case_metadata_unknown_genre_and_duplicate_ids,
    "10 config errors": case_config_errors,
    "11 download wrong checksum": case_download_wrong_checksum,
    "12 feature cache other parameters": case_feature_cache_with_other_parameters,
}


# ---------------------------------------------------------------------------------------------
# second round (issue 16): no silent wrong results, readable outputs, bounded configs, partial datasets


def make_listing(ids):
    return pd.DataFrame({"track_id": ids, "path": [f"{t}.au" for t in ids], "genre": [t.split(".")[0] for t in ids],
                         "duration": 30.0, "sample_rate": SR})


def case_annotation_columns_case_and_space(tmp_path):
    from mgrfaults.data.dataset import directory_metadata

    listing = make_listing(["blues.00000", "blues.00001", "rock.00000"])  # two genres: a recognition task
    for header in ("track_id, artist", "Track_ID,Artist", " TRACK_ID , Artist "):
        path = tmp_path / "ann.csv"
        path.write_text(f"{header}\nblues.00000, Muddy Waters\nblues/blues.00001.au,Muddy Waters\n")
        meta = validate_metadata(directory_metadata(listing, path, require_artist=True))
        assert list(meta["artist"]) == ["Muddy Waters", "Muddy Waters", "unknown:rock.00000"], header


def case_annotation_unknown_column_or_no_artist(tmp_path):
    from mgrfaults.data.annotations import read_annotations

    path = tmp_path / "ann.csv"
    path.write_text("track_id,artsit\nblues.00000,Muddy Waters\n")
    with pytest.raises(InputError, match=r"ann\.csv: unknown column\(s\) \['artsit'\]"):
        read_annotations(path)
    path.write_text("track_id,fault\nblues.00000,none\n")
    assert list(read_annotations(path).columns) == ["track_id", "fault"]
    with pytest.raises(InputError, match=r"ann\.csv: artist: no artist column, but a partition condition filters by artist"):
        read_annotations(path, require_artist=True)
    # through the config: a directory dataset whose annotations lack artists, with an artist-filtered condition
    config = base_config()
    config["dataset"] = {"source": "directory", "directory": {"root": str(tmp_path), "annotations": str(path)}}
    with pytest.raises(ConfigError, match=r"dataset\.directory\.annotations .*fault_filtered.*ann\.csv: artist"):
        check_config(config)
    # an artist column that names no artist (a header alone, or every cell empty or NA): the filter filters nothing
    for text in ("track_id,artist\n", "track_id,artist\nblues.00000,\nblues.00001,N/A\n"):
        path.write_text(text)
        with pytest.raises(ConfigError, match=r"ann\.csv names no artist .*fault_filtered filters by artist"):
            check_config(config)
    path.write_text("track_id,artist\nblues.00000,\nblues.00001,Muddy Waters\n")
    check_config(config)
    # a fault that is none of the faults: refused at start (check-config too), not after the whole audio scan
    path.write_text("track_id,artist,fault\nblues.00000,A,none\nblues.00001,B,exact copy\n")
    unfiltered = copy.deepcopy(config)  # with no condition filtering by artist, too
    unfiltered["partitions"]["conditions"] = {"standard": config["partitions"]["conditions"]["standard"]}
    unfiltered["evaluate"]["compare"] = []
    for config in (config, unfiltered):
        with pytest.raises(ConfigError, match=r"dataset\.directory\.annotations.*ann\.csv: fault: unknown value\(s\) "
                                              r"\['exact_copy'\] \(track blues\.00001, line 3\)"):
            check_config(config)


def case_annotation_duplicate_ids_and_encodings(tmp_path):
    from mgrfaults.data.annotations import read_annotations, read_partition_list

    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist\nblues.00000,A\nblues.00000,B\n")
    with pytest.raises(InputError, match=r"ann\.csv: track_id: 1 id\(s\) annotated more than once: \['blues\.00000'\]"):
        read_annotations(path)
    text = "track_id,artist\nblues.00000,Beyoncé\n"
    for name, data, problem in (
        ("latin1.csv", text.encode("latin-1"), "not UTF-8 text"),
        ("utf16.csv", text.encode("utf-16"), "UTF-16"),
        ("empty.csv", b"", "empty"),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=rf"{name}: annotations table .*{problem}"):
            read_annotations(tmp_path / name)
        (tmp_path / f"list_{name}").write_bytes(data.replace(b"track_id,artist", b"#"))
        with pytest.raises(InputError, match=rf"list_{name}: partition list"):
            read_partition_list(tmp_path / f"list_{name}")


def case_dangling_and_looping_symlinks(tmp_path):
    from mgrfaults.data.dataset import list_audio_files, scan_audio

    root = tmp_path / "audio"
    write_au(root / "blues" / "blues.00000.au", tone(0.5))
    write_au(root / "blues" / "blues.00001.au", tone(0.5))
    os.symlink(tmp_path / "gone.au", root / "blues" / "blues.00002.au")
    os.symlink(root / "blues" / "blues.00004.au", root / "blues" / "blues.00003.au")
    os.symlink(root / "blues" / "blues.00003.au", root / "blues" / "blues.00004.au")
    os.symlink(tmp_path / "elsewhere", root / "rock")  # a genre folder behind a dangling link
    files = list_audio_files(root)
    assert len(files) == 6
    with pytest.raises(AudioError, match=r"(blues\.00002\.au|rock): broken symbolic link"):
        scan_audio(files, max_duration=1.0)
    listing, bad = scan_audio(files, max_duration=1.0, on_bad_audio="skip")
    assert list(listing["track_id"]) == ["blues.00000", "blues.00001"]
    assert len(bad) == 4 and bad["reason"].str.contains("broken symbolic link").all()


def case_float_samples_far_outside_range(tmp_path, caplog):
    for peak in (300.0, 4e29):
        path = tmp_path / f"loud_{peak:g}.wav"
        sf.write(path, tone(1.0) / 0.4 * peak, SR, subtype="FLOAT")
        with caplog.at_level("WARNING", logger="mgrfaults.data.audio"):
            y = load_audio(path)
        assert np.isfinite(y).all() and np.abs(y).max() <= 1.0 + 1e-6
        assert f"loud_{peak:g}.wav: samples reach" in caplog.text and "rescaled" in caplog.text
        magnitude, texture = features.extract_track(y, FRAMES, TEXTURE)
        assert np.isfinite(magnitude).all() and np.isfinite(texture).all()
    # whatever reaches the shard writer: non-finite stored values are refused, never written
    meta = pd.DataFrame({"track_id": ["t.1"], "path": ["loud.wav"]})
    with pytest.raises(InputError, match=r"loud\.wav: track t\.1: samples reach 300"):
        features.extract_shard(meta, tmp_path / "f.h5", tmp_path / "t.h5", FRAMES, TEXTURE,
                               load=lambda *a, **k: tone(1.0) * 750)
    with pytest.raises(InputError, match=r"f16\.h5: track t\.1: non-finite frames features as float16"):
        with features.ShardWriter(tmp_path / "f16.h5", "frames", FRAMES, 2, "float16") as writer:
            writer.append("t.1", np.array([[1.0, 1e6]]))
    assert not (tmp_path / "f16.h5").exists()


def au_header(rate, channels, n_bytes=400):
    return b".snd" + np.array([24, n_bytes, 3, rate, channels], dtype=">u4").tobytes() + bytes(n_bytes)


def case_absurd_sample_rate_or_channels(tmp_path):
    (tmp_path / "slow.au").write_bytes(au_header(1, 1))
    with pytest.raises(AudioError, match=r"slow\.au: sample rate 1 Hz is outside \[1000, 768000\] Hz"):
        load_audio(tmp_path / "slow.au")
    (tmp_path / "wide.au").write_bytes(au_header(SR, 1000, 2000 * 2))
    with pytest.raises(AudioError, match=r"wide\.au: 1000 channels: outside \[1, 64\]"):
        load_audio(tmp_path / "wide.au")


def case_replica_cycle_keeps_one_member(tmp_path):
    meta = small_metadata()
    meta["replica_of"] = ""
    meta.loc[meta["track_id"] == "blues.00001", ["fault", "replica_of"]] = ["exact_replica", "blues.00002"]
    meta.loc[meta["track_id"] == "blues.00002", ["fault", "replica_of"]] = ["exact_replica", "blues.00001"]
    meta.loc[meta["track_id"] == "rock.00003", ["fault", "replica_of"]] = ["exact_replica", "rock.00003"]
    # a chain into a cycle: only the cycle keeps a member
    meta.loc[meta["track_id"] == "rock.00004", ["fault", "replica_of"]] = ["exact_replica", "rock.00003"]
    kept, removed = partitions.remove_faults(meta, ["exact_replica"])
    assert set(removed["track_id"]) == {"blues.00002", "rock.00004"}
    assert {"blues.00001", "rock.00003"} <= set(kept["track_id"])


def case_compare_or_figure_of_merit_names_absent(tmp_path):
    config = base_config()
    config["evaluate"]["compare"] = ["standard", "filtered"]
    with pytest.raises(ConfigError, match=r"evaluate\.compare: condition\(s\) \['filtered'\] are not in partitions\.conditions"):
        check_config(config)
    config = base_config()
    config["evaluate"]["figure_of_merit"] = ["BFF_SVM", "500_RSDX"]
    with pytest.raises(ConfigError, match=r"evaluate\.figure_of_merit: system\(s\) \['500_RSDX'\] are not in systems\.run"):
        check_config(config)


def case_results_empty_or_root(tmp_path):
    for results in ("", "/", "//"):
        config = base_config()
        config["results"] = results
        with pytest.raises(WorkflowError):
            validate(config, SCHEMA)
        with pytest.raises(ConfigError, match=r"results: "):
            check_config(config)
    config = base_config()
    config["results"] = "/."
    with pytest.raises(ConfigError, match=r"results: '/\.' is the filesystem root"):
        check_config(config)


def case_unreadable_file_or_folder(tmp_path, monkeypatch):
    from pathlib import Path

    from mgrfaults.data.dataset import list_audio_files, scan_audio

    root = tmp_path / "audio"
    for genre in ("blues", "rock"):
        write_au(root / genre / f"{genre}.00000.au", tone(0.5))
        write_au(root / genre / f"{genre}.00001.au", tone(0.5))
    locked_file, locked_dir = root / "blues" / "blues.00001.au", root / "rock"
    if os.geteuid() == 0:  # root reads everything: make the OS say no
        real_access, real_iterdir = os.access, Path.iterdir
        monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == locked_file else real_access(p, m, *a, **k))

        def iterdir(self):
            if self == locked_dir:
                raise PermissionError(13, "Permission denied", str(self))
            return real_iterdir(self)

        monkeypatch.setattr(Path, "iterdir", iterdir)
    else:
        locked_file.chmod(0)
        locked_dir.chmod(0)
    try:
        files = list_audio_files(root)
        with pytest.raises(AudioError, match=r"permission denied"):
            scan_audio(files, max_duration=1.0)
        listing, bad = scan_audio(files, max_duration=1.0, on_bad_audio="skip")
        assert list(listing["track_id"]) == ["blues.00000"]
        assert sorted(bad["path"]) == sorted([str(locked_file), str(locked_dir)])
        assert bad["reason"].str.contains("permission denied").all()
    finally:
        if os.geteuid() != 0:
            locked_dir.chmod(0o755)
            locked_file.chmod(0o644)


def case_every_file_skipped(tmp_path):
    from mgrfaults.data.dataset import list_audio_files, scan_audio

    root = tmp_path / "audio"
    (root / "blues").mkdir(parents=True)
    (root / "blues" / "blues.00000.au").write_bytes(os.urandom(500))
    with pytest.raises(InputError, match=r"dataset\.on_bad_audio: every one of the 1 audio files was skipped.*blues\.00000\.au"):
        scan_audio(list_audio_files(root), on_bad_audio="skip")
    empty = pd.DataFrame(columns=["track_id", "path", "genre", "artist", "fault", "replica_of", "duration", "sample_rate"])
    with pytest.raises(InputError, match=r"metadata\.csv: no excerpts"):
        validate_metadata(empty, source="metadata.csv")


def case_published_lists_partial_dataset(tmp_path, caplog):
    meta = small_metadata()
    ids = [f"{g}.{i:05d}" for g in ("blues", "rock", "jazz") for i in range(10)]  # jazz is absent
    lists = {"train": ids[0::3], "valid": ids[1::3], "test": ids[2::3]}
    files = {p: f"lists/{p}_filtered.txt" for p in partitions.PARTS}
    condition = {"method": "published"}
    with pytest.raises(InputError, match=r"partitions\.conditions\.mine: 10 of 30 listed ids are absent from the dataset: "
                                         r"lists/train_filtered\.txt: \d+ of 10 listed ids are absent .*on_missing: drop"):
        partitions.make_partitions(meta, condition, 0, lists, name="mine", list_files=files)
    condition["on_missing"] = "drop"
    with caplog.at_level("WARNING", logger="mgrfaults.partitions.split"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (part,) = partitions.make_partitions(meta, condition, 0, lists, name="mine", list_files=files)
    assert len(part) == 20 and not part["track_id"].str.startswith("jazz").any()
    assert "mine: on_missing: drop: 10 of 30 listed ids" in caplog.text and "train/jazz: " in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ((part, summary),) = partitions.run_condition(meta, condition, 0, lists, name="mine", list_files=files)
    assert summary.set_index("genre").loc["all", "absent_listed"] == 10


def case_k_larger_than_genre(tmp_path):
    meta = small_metadata()  # 10 excerpts and 5 artists per genre
    with pytest.raises(InputError, match=r"partitions\.conditions\.cv\.k: k = 12 blocks, .*blues: 10.*use k <= 10"):
        partitions.make_partitions(meta, {"method": "stratified_cv", "k": 12}, 0, name="cv")
    with pytest.raises(InputError, match=r"partitions\.conditions\.acv\.k: k = 6 blocks, .*fewer artists.*use k <= 5"):
        partitions.make_partitions(meta, {"method": "artist_filtered_cv", "k": 6}, 0, name="acv")


def case_config_late_failures(tmp_path):
    config = base_config()
    config["features"]["texture"].update(n_mfcc=40, n_mels=20)
    with pytest.raises(ConfigError, match=r"features\.texture\.n_mfcc: 40 MFCCs from 20 mel bands"):
        check_config(config)
    for value in (float("nan"), float("inf")):
        config = base_config()
        config["dataset"]["max_duration"] = value
        with pytest.raises(ConfigError, match=r"dataset\.max_duration: (nan|inf) is not a finite number"):
            check_config(config)
    # a texture window that cannot hold a whole frame: at parse time, with the rule's true bound (1500 < 1535)
    config = base_config()
    config["dataset"]["sample_rate"] = 1000
    config["features"]["texture"].update(window_seconds=1.5, hop_seconds=1.5)
    with pytest.raises(ConfigError, match=r"features\.texture: .*1500 samples at 1000 Hz.*at least n_fft \+ "
                                          r"hop_length - 1 = 1535 samples"):
        check_config(config)
    config["features"]["texture"].update(window_seconds=1.535, hop_seconds=1.5)
    check_config(config)


def case_macosx_beside_genres(tmp_path):
    from mgrfaults.data.dataset import list_audio_files
    from mgrfaults.data.download import find_genre_root

    write_au(tmp_path / "genres" / "blues" / "blues.00000.au", tone(0.5))
    (tmp_path / "__MACOSX" / "genres" / "blues").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "genres" / "blues" / "._blues.00000.au").write_bytes(b"\0" * 100)
    assert find_genre_root(tmp_path) == tmp_path / "genres"
    assert list(list_audio_files(find_genre_root(tmp_path))["track_id"]) == ["blues.00000"]


def case_random_bytes_mp3_has_a_reason(tmp_path):
    (tmp_path / "x.mp3").write_bytes(os.urandom(4000))
    with pytest.raises(AudioError) as info:
        load_audio(tmp_path / "x.mp3")
    assert "x.mp3: " in str(info.value) and len(info.value.problem) > len("cannot decode: ")


def _numbers_without_maximum(node, key=""):
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number") or node.get("type") in (["integer", "null"], ["number", "null"]):
            if "maximum" not in node and "exclusiveMaximum" not in node:
                yield key
        for name, value in node.items():
            yield from _numbers_without_maximum(value, f"{key}.{name}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers_without_maximum(value, f"{key}[{i}]")


def case_runaway_counts_and_rates(tmp_path):
    schema = yaml.safe_load(open(SCHEMA))
    assert list(_numbers_without_maximum(schema)) == []
    for set_value in (
        lambda c: c["partitions"]["conditions"]["standard_cv"].update(k=3_000_000),
        lambda c: c["features"].update(n_shards=3_000_000),
        lambda c: c["evaluate"].update(bootstrap=10**9),
        lambda c: c["dataset"].update(sample_rate=10**9),
    ):
        config = base_config()
        config["partitions"]["conditions"]["standard_cv"] = {"method": "stratified_cv", "k": 4}
        set_value(config)
        with pytest.raises(WorkflowError, match="greater than the maximum"):
            validate(config, SCHEMA)


def case_outputs_readable_under_umask(tmp_path):
    from mgrfaults.io import atomic_dir, write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("y")
        assert oct((tmp_path / "a.txt").stat().st_mode & 0o777) == oct(0o644)
        assert oct((tmp_path / "d").stat().st_mode & 0o777) == oct(0o755)
        os.umask(0o077)
        write_text_atomic(tmp_path / "b.txt", "x")
        assert oct((tmp_path / "b.txt").stat().st_mode & 0o777) == oct(0o600)
    finally:
        os.umask(old)


def case_annotation_values(tmp_path):
    from mgrfaults.data.dataset import directory_metadata

    listing = make_listing(["blues.00000", "blues.00001", "rock.00000"])
    path = tmp_path / "ann.csv"
    path.write_text("track_id,fault,replica_of\nblues.00001, Exact_Replica ,blues.00000\n")
    meta = validate_metadata(directory_metadata(listing, path))
    assert meta.set_index("track_id").loc["blues.00001", "fault"] == "exact_replica"
    # written as people write them, as the column names are read (audit 54: "Exact Replica" was refused)
    path.write_text("track_id,fault,replica_of\nblues.00001,Exact Replica,blues.00000\nrock.00000,Distortion,\n")
    meta = validate_metadata(directory_metadata(listing, path)).set_index("track_id")
    assert meta.loc["blues.00001", "fault"] == "exact_replica" and meta.loc["rock.00000", "fault"] == "distortion"
    path.write_text("track_id,fault,replica_of\nblues.00001,recording - replica,blues.00000\n")
    meta = validate_metadata(directory_metadata(listing, path)).set_index("track_id")
    assert meta.loc["blues.00001", "fault"] == "recording_replica"
    path.write_text("track_id,fault\nblues.00001,replica\n")
    with pytest.raises(InputError, match=r"ann\.csv: fault: unknown value\(s\) \['replica'\]"):
        directory_metadata(listing, path)
    path.write_text("track_id,replica_of\nblues.00001,blues.00099\n")
    with pytest.raises(InputError, match=r"ann\.csv: replica_of: 1 row\(s\) name a track not in the dataset"):
        directory_metadata(listing, path)
    # a copy marked as no fault: fault_filtered would keep it, and could test it beside its original in train
    for text, fault in (("track_id,fault,replica_of\nblues.00001,none,blues.00000\n", "none"),
                        ("track_id,fault,replica_of\nblues.00001,,blues.00000\n", "none"),
                        ("track_id,replica_of\nblues.00001,blues.00000\n", r"not given \(no fault column\)")):
        path.write_text(text)
        with pytest.raises(InputError, match=rf"ann\.csv: replica_of: 1 row\(s\) name an original but their fault is "
                                             rf"{fault}, e\.g\. blues\.00001 -> 'blues\.00000': give fault exact_replica"):
            directory_metadata(listing, path)


def case_config_paths_missing(tmp_path):
    config = base_config()
    config["dataset"] = {"source": "directory", "directory": {"root": str(tmp_path / "nowhere")}}
    with pytest.raises(ConfigError, match=r"dataset\.directory\.root: .*nowhere'? (does not exist|is not a folder)"):
        check_config(config)
    config = base_config()
    config["partitions"]["conditions"]["mine"] = {"method": "published", "lists": str(tmp_path / "lists")}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.mine\.lists: .* does not exist"):
        check_config(config)


CASES.update({
    "13 annotations header case/space": case_annotation_columns_case_and_space,
    "14 annotations unknown column / no artist": case_annotation_unknown_column_or_no_artist,
    "15 annotations duplicates, Latin-1, UTF-16, empty": case_annotation_duplicate_ids_and_encodings,
    "16 dangling and looping symlinks": case_dangling_and_looping_symlinks,
    "17 float samples far outside [-1, 1]": case_float_samples_far_outside_range,
    "18 AU at 1 Hz or 1000 channels": case_absurd_sample_rate_or_channels,
    "19 replica cycle and self-replica": case_replica_cycle_keeps_one_member,
    "20 compare / figure_of_merit absent": case_compare_or_figure_of_merit_names_absent,
    "21 results empty or root": case_results_empty_or_root,
    "22 unreadable file or folder": case_unreadable_file_or_folder,
    "23 every file skipped": case_every_file_skipped,
    "24 published lists, partial dataset": case_published_lists_partial_dataset,
    "25 k larger than a genre": case_k_larger_than_genre,
    "26 n_mfcc > n_mels, max_duration nan/inf": case_config_late_failures,
    "27 __MACOSX beside genres": case_macosx_beside_genres,
    "28 random bytes as .mp3": case_random_bytes_mp3_has_a_reason,
    "29 runaway counts and rates": case_runaway_counts_and_rates,
    "30 outputs readable under the umask": case_outputs_readable_under_umask,
    "31 annotation values: fault case, unknown fault, dangling replica_of": case_annotation_values,
    "32 config paths that do not exist": case_config_paths_missing,
})


# ---------------------------------------------------------------------------------------------
# third round: files in the wrong place, repeated stems, partial annotations, too short a cut


def gtzan_like(root, genres=("blues", "rock"), n=2):
    for genre in genres:
        for i in range(n):
            write_au(root / genre / f"{genre}.{i:05d}.au", tone(0.2, freq=200 + 50 * i))
    return root


def case_gtzan_file_in_another_genre_folder(tmp_path, caplog):
    from mgrfaults.data.dataset import list_audio_files

    root = gtzan_like(tmp_path / "genres")
    write_au(root / "rock" / "blues.00005.au", tone(0.2))
    with pytest.raises(InputError, match=r"dataset\.gtzan\.root: .*rock/blues\.00005\.au: its id blues\.00005 says blues, "
                                         r"its folder says rock"):
        list_audio_files(root, gtzan=True)
    # a directory dataset may relabel on purpose: the folder decides, with a warning
    with caplog.at_level("WARNING", logger="mgrfaults.data.dataset"):
        files = list_audio_files(root)
    assert files.set_index("track_id").loc["blues.00005", "genre"] == "rock"
    assert "rock/blues.00005.au: its id blues.00005 says blues, its folder says rock" in caplog.text
    # a genre folder named in other letters (Blues): the folder is to be renamed, no file moved
    upper = gtzan_like(tmp_path / "upper" / "genres")
    (upper / "blues").rename(upper / "Blues")
    with pytest.raises(InputError, match=r"its folder says Blues.*rename the folder\(s\) Blues to blues \(GTZAN's"):
        list_audio_files(upper, gtzan=True)


def case_repeated_stems(tmp_path, caplog):
    from mgrfaults.data.dataset import directory_metadata, list_audio_files

    root = gtzan_like(tmp_path / "genres")
    write_au(root / "rock" / "blues.00000.au", tone(0.2))  # a stray copy in another genre
    with pytest.raises(InputError, match=r"found twice: blues/blues\.00000\.au and rock/blues\.00000\.au share the id "
                                         r"blues\.00000\. A GTZAN copy holds each excerpt once"):
        list_audio_files(root, gtzan=True)
    # a directory dataset keeps <genre>.<stem> ids, and says which files made it so
    with caplog.at_level("WARNING", logger="mgrfaults.data.dataset"):
        files = list_audio_files(root)
    assert "rock.blues.00000" in set(files["track_id"])
    assert "blues/blues.00000.au and rock/blues.00000.au share the id blues.00000" in caplog.text
    listing = files.drop(columns="problem").assign(duration=0.2, sample_rate=SR)
    (tmp_path / "ann.csv").write_text("track_id,artist\nblues.00001,A\n")
    with pytest.raises(InputError, match=r"ann\.csv: track_id: 1 id\(s\) not in the dataset.*ids are <genre>\.<stem>"):
        directory_metadata(listing, tmp_path / "ann.csv")
    # .au and .wav of one stem side by side: named in both modes, whatever the prefix
    (root / "rock" / "blues.00000.au").unlink()
    sf.write(root / "blues" / "blues.00000.wav", tone(0.2), SR)
    for gtzan in (True, False):
        with pytest.raises(InputError, match=r"blues/blues\.00000\.au and blues/blues\.00000\.wav share the id blues\.00000;"):
            list_audio_files(root, gtzan=gtzan)


def case_partial_annotations(tmp_path, caplog):
    from mgrfaults.data.dataset import directory_metadata

    listing = make_listing([f"blues.{i:05d}" for i in range(8)] + ["rock.00000"])
    (tmp_path / "ann.csv").write_text("track_id,artist\nblues.00000,A\nblues.00001,A\n")
    with caplog.at_level("WARNING", logger="mgrfaults.data.dataset"):
        meta = validate_metadata(directory_metadata(listing, tmp_path / "ann.csv"))
    assert meta["artist"].nunique() == 8
    assert "ann.csv: 7 of the 9 excerpts are not annotated (first: ['blues.00002', 'blues.00003'" in caplog.text
    caplog.clear()
    (tmp_path / "ann.csv").write_text("track_id,artist\n" + "".join(f"blues.{i:05d},A\n" for i in range(8))
                                      + "rock.00000,B\n")
    with caplog.at_level("WARNING", logger="mgrfaults.data.dataset"):
        directory_metadata(listing, tmp_path / "ann.csv")
    assert "not annotated" not in caplog.text


def case_audio_left_out_is_logged(tmp_path, caplog):
    from mgrfaults.data.dataset import list_audio_files

    root = gtzan_like(tmp_path / "audio")
    (root / "jazz").mkdir()
    (root / "jazz" / "jazz.00000.mp4").write_bytes(b"video")
    write_au(root / "rock" / "live" / "rock.00100.au", tone(0.2))
    with caplog.at_level("WARNING", logger="mgrfaults.data.dataset"):
        files = list_audio_files(root)
    assert set(files["genre"]) == {"blues", "rock"}
    assert "jazz: no audio file" in caplog.text and "genre 'jazz' left out" in caplog.text and ".mp4" in caplog.text
    assert "rock: 1 sub-folder(s) not searched" in caplog.text and "['live']" in caplog.text
    # audit 54: a music library's <genre>/<artist>/<file>, its few loose files read alone, passed for the dataset
    for artist in ("Miles Davis", "Coltrane"):
        for i in range(2):
            write_au(root / "jazz" / artist / "live" / f"{artist[0]}{i}.au", tone(0.2))
    write_au(root / "jazz" / "loose.au", tone(0.2))
    with pytest.raises(InputError, match=r"jazz: 4 audio file\(s\) lie in its sub-folder\(s\) \['Coltrane', 'Miles "
                                         r"Davis'\] and 1 directly in it; only <root>/<genre>/<file> is read"):
        list_audio_files(root)
    shutil.rmtree(root / "jazz" / "Coltrane")  # one artist's folder holding most of the genre (audit 57)
    with pytest.raises(InputError, match=r"jazz: 2 audio file\(s\) lie in its sub-folder\(s\) \['Miles Davis'\]"):
        list_audio_files(root)
    # cuts made from the genre's excerpts, named after them, beside them (audit 56): logged, as before, not refused
    shutil.rmtree(root / "jazz" / "Miles Davis")
    for i in range(3):
        write_au(root / "jazz" / "segments" / f"loose_{i}.au", tone(0.2))
    assert "loose" in set(list_audio_files(root)["track_id"])
    # a GTZAN copy's excerpts are named and counted, all of them needed: its layout is not judged so
    gtzan = gtzan_like(tmp_path / "gtzan")
    for folder in ("extra", "more"):
        for i in range(3):
            write_au(gtzan / "blues" / folder / f"{folder}{i}.au", tone(0.2))
    assert len(list_audio_files(gtzan, gtzan=True)) == 4
    with pytest.raises(InputError, match="lie in its sub-folder"):
        list_audio_files(gtzan)


def case_genre_root_at_two_levels(tmp_path):
    from mgrfaults.data.download import find_genre_root

    gtzan_like(tmp_path / "genres")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("no audio here")
    assert find_genre_root(tmp_path) == tmp_path / "genres"  # the folder of genre folders, not genres/ and docs/
    write_au(tmp_path / "docs" / "example.au", tone(0.2))
    with pytest.raises(InputError, match=r"two levels of genre folders: \['genres/'\] hold\(s\) folders of audio "
                                         r"\(\['genres/blues/'.*\]\), while \['docs/'\] hold\(s\) audio itself\. "
                                         r"If those inner folders are albums"):
        find_genre_root(tmp_path)
    assert find_genre_root(tmp_path / "genres") == tmp_path / "genres"  # genre folders themselves
    # a stray file in the one folder of genre folders leaves it that (list_audio_files warns about the file)
    (tmp_path / "docs" / "example.au").unlink()
    (tmp_path / "docs" / "readme.txt").unlink()
    (tmp_path / "docs").rmdir()
    write_au(tmp_path / "genres" / "stray.au", tone(0.2))
    assert find_genre_root(tmp_path) == tmp_path / "genres"


def case_max_duration_floor(tmp_path):
    config = base_config()
    config["dataset"]["max_duration"] = 0.00005  # would cut every file to one sample
    with pytest.raises(WorkflowError, match=r"(?s)less than the minimum of 0\.1.*\['max_duration'\]"):
        validate(config, SCHEMA)
    config["dataset"]["max_duration"] = 0.1
    validate(config, SCHEMA)


CASES.update({
    "33 GTZAN file in another genre's folder": case_gtzan_file_in_another_genre_folder,
    "34 repeated stems: across genres, .au beside .wav": case_repeated_stems,
    "35 annotations covering part of the excerpts": case_partial_annotations,
    "36 empty genre folder, sub-folders": case_audio_left_out_is_logged,
    "37 genre folders at two levels": case_genre_root_at_two_levels,
    "38 dataset.max_duration below 0.1 s": case_max_duration_floor,
})


# ---------------------------------------------------------------------------------------------
# fourth audit: what a killed job leaves, stale results


def case_temporaries_of_a_killed_writer(tmp_path):
    """SIGKILL leaves atomic_path's and atomic_dir's temporaries; the next writer of the same file removes them."""
    from mgrfaults.io import atomic_dir, atomic_path

    dead_file, dead_dir = tmp_path / ".shard_0.h5.lgri895d.h5", tmp_path / ".blues.ab_12cd3"
    dead_file.write_bytes(b"half a shard")
    dead_dir.mkdir()
    (dead_dir / "blues.00000.au").write_bytes(b"half an excerpt")
    others = [tmp_path / ".shard_1.h5.lgri895d.h5", tmp_path / ".shard_0.h5.notes", tmp_path / "shard_0.h5.lgri895d.h5"]
    for other in others:
        other.write_text("not a temporary of shard_0.h5")
    with atomic_path(tmp_path / "shard_0.h5") as tmp:
        tmp.write_bytes(b"a whole shard")
    with atomic_dir(tmp_path / "blues") as tmp:
        (tmp / "blues.00000.au").write_bytes(b"a whole excerpt")
    assert not dead_file.exists() and not dead_dir.exists()
    assert all(other.exists() for other in others)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["shard_0.h5", "blues"] + [o.name for o in others])


def case_content_digest_of_small_inputs(tmp_path):
    """The digest a rule takes of its lists or annotations: content only, order kept, a missing file counted."""
    from mgrfaults.io import content_digest

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("blues/blues.00000.wav\n")
    b.write_text("rock/rock.00000.wav\n")
    digest = content_digest([a, b])
    os.utime(a, (1e9, 1e9))  # an older time, the same bytes: the same digest
    assert content_digest([a, b]) == digest and len(digest) == 64
    assert content_digest([b, a]) != digest  # train and valid swapped
    a.write_text("blues/blues.00001.wav\n")
    assert content_digest([a, b]) != digest
    assert content_digest([a, tmp_path / "missing.txt"]) != content_digest([a])


CASES.update({
    "39 temporaries a killed job left": case_temporaries_of_a_killed_writer,
    "40 digest of a rule's small inputs": case_content_digest_of_small_inputs,
})


def case_annotations_of_a_skipped_file(tmp_path, caplog):
    """``on_bad_audio: skip`` leaves an undecodable file out of the listing; its annotation row is left out with a
    warning, not refused as an id of another dataset."""
    from mgrfaults.data.dataset import directory_metadata

    for stem in ("blues.00000", "blues.00001", "blues.00002", "rock.00000"):
        (tmp_path / stem.split(".")[0]).mkdir(exist_ok=True)
        (tmp_path / stem.split(".")[0] / f"{stem}.au").write_bytes(b"audio")
    listing = make_listing(["blues.00000", "blues.00001", "rock.00000"])  # blues.00002 skipped: it did not decode
    listing["path"] = [str(tmp_path / t.split(".")[0] / f"{t}.au") for t in listing["track_id"]]
    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist\nblues.00000,A\nblues.00002,A\nrock.00000,B\n")
    with caplog.at_level("WARNING"):
        meta = validate_metadata(directory_metadata(listing, path))
    assert list(meta["track_id"]) == ["blues.00000", "blues.00001", "rock.00000"]
    assert "1 annotated excerpt(s) were skipped as bad audio" in caplog.text and "blues.00002" in caplog.text
    # a copy of the skipped file: the only one left, an excerpt of its own
    path.write_text("track_id,artist,fault,replica_of\nblues.00001,A,exact_replica,blues.00002\nblues.00002,A,none,\n")
    with caplog.at_level("WARNING"):
        meta = validate_metadata(directory_metadata(listing, path)).set_index("track_id")
    assert meta.loc["blues.00001", ["fault", "replica_of"]].tolist() == ["none", ""]
    assert "1 excerpt(s) annotated as replicas of a file the scan skipped" in caplog.text
    assert "blues.00002: blues.00001 stands for it" in caplog.text
    # two copies of it are still copies of each other (audit 49: both lost their link and fault, and an
    # artist-filtered partition put the two in train and test): the first stands for the original, the other its replica
    (tmp_path / "rock" / "rock.00001.au").write_bytes(b"audio")
    listing = make_listing(["blues.00000", "blues.00001", "rock.00000", "rock.00001"])
    listing["path"] = [str(tmp_path / t.split(".")[0] / f"{t}.au") for t in listing["track_id"]]
    path.write_text("track_id,artist,fault,replica_of\nrock.00001,,exact_replica,blues.00002\n"
                    "blues.00001,,exact_replica,blues.00002\nblues.00002,A,none,\nrock.00000,B,none,\n")
    caplog.clear()
    with caplog.at_level("WARNING"):
        meta = validate_metadata(directory_metadata(listing, path)).set_index("track_id")
    assert meta.loc["blues.00001", ["fault", "replica_of"]].tolist() == ["none", ""]
    assert meta.loc["rock.00001", ["fault", "replica_of"]].tolist() == ["exact_replica", "blues.00001"]
    assert "blues.00002: blues.00001 stands for it, ['rock.00001'] now its replicas" in caplog.text
    (tmp_path / "rock" / "rock.00003.au").write_bytes(b"audio")  # a second file the scan skipped
    # audit 51: the skipped file's own original, where it is there, keeps the group; a recording replica beside an
    # exact copy is a recording replica of it; a distorted copy keeps its fault and is no stand-in
    for rows, expected in (
            ("blues.00002,A,exact_replica,blues.00000\nrock.00001,,exact_replica,blues.00002\n"
             "blues.00001,,recording_replica,blues.00002\n",
             {"rock.00001": ["exact_replica", "blues.00000"], "blues.00001": ["recording_replica", "blues.00000"]}),
            ("blues.00002,A,none,\nblues.00001,,exact_replica,blues.00002\nrock.00001,,recording_replica,blues.00002\n",
             {"blues.00001": ["none", ""], "rock.00001": ["recording_replica", "blues.00001"]}),
            ("blues.00002,A,none,\nblues.00000,,distortion,blues.00002\nrock.00001,,exact_replica,blues.00002\n"
             "blues.00001,,exact_replica,blues.00002\n",
             {"blues.00000": ["distortion", ""], "blues.00001": ["none", ""],
              "rock.00001": ["exact_replica", "blues.00001"]}),
            # audit 52: copies of two skipped files, one a copy of the other (or of each other), are one group;
            # faults in capitals are read so
            ("rock.00003,A,exact_replica,blues.00002\nrock.00001,,Exact_Replica,rock.00003\n"
             "blues.00001,,EXACT_REPLICA,blues.00002\n",
             {"blues.00001": ["none", ""], "rock.00001": ["exact_replica", "blues.00001"]}),
            ("rock.00003,A,exact_replica,blues.00002\nblues.00002,A,exact_replica,rock.00003\n"
             "rock.00001,,exact_replica,rock.00003\nblues.00001,,exact_replica,blues.00002\n",
             {"blues.00001": ["none", ""], "rock.00001": ["exact_replica", "blues.00001"]})):
        path.write_text("track_id,artist,fault,replica_of\n" + rows)
        meta = validate_metadata(directory_metadata(listing, path)).set_index("track_id")
        for track_id, fault_and_link in expected.items():
            assert meta.loc[track_id, ["fault", "replica_of"]].tolist() == fault_and_link, (rows, track_id)
    # audit 52: links to a skipped file without a fault column are refused as any such link is
    path.write_text("track_id,artist,replica_of\nrock.00001,A,blues.00002\nblues.00001,A,blues.00002\n")
    with pytest.raises(InputError, match=r"name an original but their fault is not given \(no fault column\)"):
        directory_metadata(listing, path)
    # a file of an extension the listing lacks may have been left out by dataset.directory.extensions, which
    # bad_audio.csv does not list: the warning does not send the reader there alone
    (tmp_path / "rock" / "rock.00002.wav").write_bytes(b"audio")
    path.write_text("track_id,artist\nblues.00000,A\nrock.00002,A\n")
    caplog.clear()
    with caplog.at_level("WARNING"):
        directory_metadata(listing, path)
    assert "were skipped as bad audio" not in caplog.text
    assert "of an extension no listed file has (['.wav']): not in dataset.directory.extensions" in caplog.text
    # an id of no audio file is still refused: a text file beside the audio, or no file at all
    (tmp_path / "blues" / "notes.txt").write_text("my notes")
    for absent in ("notes", "blues.00099"):
        path.write_text(f"track_id,artist\nblues.00000,A\n{absent},A\n")
        with pytest.raises(InputError, match=rf"track_id: 1 id\(s\) not in the dataset: \['{re.escape(absent)}'\]"):
            directory_metadata(listing, path)


CASES.update({
    "41 annotations naming a file skipped as undecodable": case_annotations_of_a_skipped_file,
})


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input(case, tmp_path, request):
    # a case takes tmp_path, and the fixtures it names after it (caplog, monkeypatch)
    import inspect

    names = list(inspect.signature(CASES[case]).parameters)[1:]
    CASES[case](tmp_path, *(request.getfixturevalue(n) for n in names))


# ---------------------------------------------------------------------------------------------
# the same through the workflow: a folder dataset with a corrupt file


def audio_folder(root):
    for genre in ("blues", "rock"):
        for i in range(3):
            write_au(root / genre / f"{genre}.{i:05d}.au", tone(1.0, freq=200 + 100 * i))
    (root / "rock" / "rock.00054.au").write_bytes(os.urandom(2048))
    return root


@pytest.mark.workflow
def test_workflow_names_corrupt_file_and_writes_no_metadata(tmp_path):
    root = audio_folder(tmp_path / "audio")
    config = {"dataset": {"source": "directory", "directory": {"root": str(root)}}}
    proc = run_snakemake(tmp_path / "run", config, targets=["results/dataset/metadata.csv"], check=False)
    assert proc.returncode != 0
    assert "rock.00054.au: not an AU file" in proc.stdout
    assert not (tmp_path / "run" / "results" / "dataset" / "metadata.csv").exists()
    assert not (tmp_path / "run" / "results" / "dataset" / "listing.csv").exists()


@pytest.mark.workflow
def test_workflow_skips_corrupt_file_when_asked(tmp_path):
    root = audio_folder(tmp_path / "audio")
    config = {"dataset": {"source": "directory", "on_bad_audio": "skip", "directory": {"root": str(root)}}}
    run_snakemake(tmp_path / "run", config, targets=["results/dataset/metadata.csv"])
    dataset = tmp_path / "run" / "results" / "dataset"
    meta = pd.read_csv(dataset / "metadata.csv")
    assert len(meta) == 6 and "rock.00054" not in set(meta["track_id"])
    bad = pd.read_csv(dataset / "bad_audio.csv")
    assert len(bad) == 1 and bad["path"].iloc[0].endswith("rock.00054.au")


@pytest.mark.workflow
def test_workflow_takes_a_trusted_file_through_every_stage_that_reads_audio(tmp_path):
    """dataset.trust_audio: a file the content checks refuse (music below the -60 dBFS floor) is scanned, its features
    extracted and its faults described, the metadata marking it and the profile saying so."""
    root = gtzan_like(tmp_path / "audio", n=3)
    write_au(root / "rock" / "rock.00002.au", tone(0.2) * 10 ** (-65 / 20) / 0.4)
    config = {"dataset": {"source": "directory", "directory": {"root": str(root)}},
              "features": {"n_shards": 1}, "faults": {"n_shards": 1}}
    proc = run_snakemake(tmp_path / "run", config, targets=["dataset_check"], check=False)
    assert proc.returncode != 0 and "rock.00002.au: near-silence" in proc.stdout
    assert "list it in dataset.trust_audio" in proc.stdout
    config["dataset"]["trust_audio"] = ["rock/rock.00002.au"]
    run_snakemake(tmp_path / "run", config, targets=["dataset_check", "results/features/frames/shard_0.h5"])
    results = tmp_path / "run" / "results"
    meta = pd.read_csv(results / "dataset" / "metadata.csv", dtype={"track_id": str})
    assert meta.set_index("track_id")["audio_trusted"].to_dict() == {
        **{f"{g}.{i:05d}": False for g in ("blues", "rock") for i in range(3)}, "rock.00002": True}
    assert "1 file(s) taken as they decode, their content not judged (dataset.trust_audio" in \
        (results / "faults" / "profile.md").read_text()
    assert "though the content checks say: near-silence" in (results / "logs" / "data" / "scan_audio.log").read_text()
    assert len(FeatureStore([results / "features" / "frames" / "shard_0.h5"]).track_ids) == 6
    # the list reworded, naming the same file (its id, a pattern): nothing to do; a typo is refused as the run is
    # planned, naming the entry
    for entries in (["rock.00002"], ["rock/*2.au", "rock.00002"]):
        config["dataset"]["trust_audio"] = entries
        plan = run_snakemake(tmp_path / "run", config, targets=["dataset_check"], extra_args=["-n"]).stdout
        assert "Nothing to be done" in plan, entries
    config["dataset"]["trust_audio"] = ["rock.0002"]
    proc = run_snakemake(tmp_path / "run", config, targets=["dataset_check"], extra_args=["-n"], check=False)
    assert proc.returncode != 0 and "dataset.trust_audio: 'rock.0002' names no audio file of the dataset" in proc.stdout


@pytest.mark.workflow
def test_workflow_reruns_data_stage_when_audio_changes(tmp_path):
    """A file rewritten in place or added inside a genre folder plans the data stage again; an unchanged tree does not."""
    root = gtzan_like(tmp_path / "audio")
    config = {"dataset": {"source": "directory", "directory": {"root": str(root)}}}
    targets = ["results/dataset/metadata.csv"]
    run_snakemake(tmp_path / "run", config, targets=targets)

    def plan():
        return run_snakemake(tmp_path / "run", config, targets=targets, extra_args=["-n"]).stdout

    assert "Nothing to be done" in plan()
    path = root / "rock" / "rock.00001.au"
    before = path.stat()
    path.write_bytes(path.read_bytes())  # fixed in place: the root folder's own mtime does not change
    assert "rule scan_audio" in plan()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the tree as the run saw it again
    assert "Nothing to be done" in plan()
    write_au(root / "blues" / "blues.00002.au", tone(0.2))
    assert "rule scan_audio" in plan()


@pytest.mark.workflow
def test_workflow_reruns_metadata_when_the_annotations_change(tmp_path):
    """An annotations file edited in place is an input of the metadata: its artists reach the metadata table."""
    root = gtzan_like(tmp_path / "audio")
    annotations = tmp_path / "artists.csv"
    annotations.write_text("track_id,artist\nblues.00000,First\n")
    config = {"dataset": {"source": "directory", "directory": {"root": str(root), "annotations": str(annotations)}}}
    targets = ["results/dataset/metadata.csv"]
    run_snakemake(tmp_path / "run", config, targets=targets)
    annotations.write_text("track_id,artist\nblues.00000,Second\n")
    run_snakemake(tmp_path / "run", config, targets=targets)
    meta = pd.read_csv(tmp_path / "run" / targets[0], keep_default_na=False).set_index("track_id")
    assert meta.loc["blues.00000", "artist"] == "Second"
    # replaced by a corrected copy that keeps its older time (cp -p, rsync -a, unzip): its content is a parameter
    corrected = tmp_path / "corrected.csv"
    corrected.write_text("track_id,artist\nblues.00000,Third\n")
    os.utime(corrected, (1e9, 1e9))
    shutil.copy2(corrected, annotations)
    run_snakemake(tmp_path / "run", config, targets=targets)
    meta = pd.read_csv(tmp_path / "run" / targets[0], keep_default_na=False).set_index("track_id")
    assert meta.loc["blues.00000", "artist"] == "Third"


def test_a_results_folder_belongs_to_the_working_folder_whose_records_describe_it(tmp_path):
    from mgrfaults.workdir import (RESULTS_MARK_FILE, WORKDIR_ID_FILE, claim_results, claim_results_or_stop,
                                   results_owner_problem, workdir_id)

    first, second, results = tmp_path / "first", tmp_path / "second", tmp_path / "shared" / "results"
    first.mkdir(), second.mkdir()
    assert results_owner_problem(results, first) is None  # nothing made yet
    assert claim_results(results, first, existing_only=True) is None and not results.exists()  # parse makes nothing
    assert claim_results(results, first) == workdir_id(first)
    assert workdir_id(first) and results_owner_problem(results, first) is None
    assert claim_results(results, second) == workdir_id(first)  # a mark already there is kept: the first's
    problem = results_owner_problem(results, second)
    assert f"another working folder ({first})" in problem and str(results / RESULTS_MARK_FILE) in problem
    with pytest.raises(InputError, match="holds the results of a run from another working folder"):
        claim_results_or_stop(results, second)  # a run that started beside the first's stops
    (results / RESULTS_MARK_FILE).unlink()  # taken as the second's own
    claim_results_or_stop(results, second)
    assert results_owner_problem(results, second) is None and results_owner_problem(results, first) is not None
    # the same working folder without its records (.snakemake removed): said as such, not as another folder
    (second / WORKDIR_ID_FILE).unlink()
    assert "its Snakemake records (.snakemake/) were removed" in results_owner_problem(results, second)
    # a relative results folder is the working folder's: a copied project carries its id and its mark
    claim_results("results", first)
    shutil.copytree(first, tmp_path / "copy")
    assert results_owner_problem("results", tmp_path / "copy") is None


@pytest.mark.workflow
def test_a_results_folder_run_from_another_working_folder_is_refused(tmp_path):
    """Snakemake's records live in the working folder: from another, a changed configuration would find nothing to do."""
    from mgrfaults.workdir import RESULTS_MARK_FILE

    root = gtzan_like(tmp_path / "audio")
    results = tmp_path / "results"
    config = {"results": str(results), "dataset": {"source": "directory", "directory": {"root": str(root)}}}
    targets = [str(results / "dataset" / "metadata.csv")]
    run_snakemake(tmp_path / "first", config, targets=targets)
    other = run_snakemake(tmp_path / "second", dict(config, seed=7), targets=targets, extra_args=["-n"], check=False)
    assert other.returncode != 0
    assert "holds the results of a run from another working folder" in other.stdout
    assert "Nothing to be done" in run_snakemake(tmp_path / "first", config, targets=targets, extra_args=["-n"]).stdout
    # the mark removed (its owner takes the results as they are): an invocation with nothing to do, which runs no
    # hook, claims them again at parse
    (results / RESULTS_MARK_FILE).unlink()
    assert "Nothing to be done" in run_snakemake(tmp_path / "first", config, targets=targets).stdout
    assert (results / RESULTS_MARK_FILE).exists()
    assert run_snakemake(tmp_path / "second", dict(config, seed=7), targets=targets, check=False).returncode != 0


def test_names_that_are_not_utf8_are_refused_naming_them(tmp_path):
    root = gtzan_like(tmp_path / "audio")
    os.rename(root / "blues" / "blues.00000.au", os.fsencode(root / "blues") + b"/caf\xe9.au")
    with pytest.raises(InputError, match=r"1 file or folder name\(s\) are not UTF-8 text: .*caf\\\\xe9\.au"):
        list_audio_files(root)


@pytest.mark.parametrize("name", ["NA", "None", "nan", "2014", "True"])
def test_condition_and_system_names_a_table_reader_changes_are_refused(name):
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config = copy.deepcopy(base)
    config["partitions"]["conditions"] = {name: {"method": "stratified"}, "standard": {"method": "stratified"}}
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    with pytest.raises(ConfigError, match=rf"partitions\.conditions\.{name}: a table reader takes this name"):
        check_config(config)
    config = copy.deepcopy(base)
    config["systems"]["custom"] = {name: {"factory": "examples/custom_system/texture_sklearn.py:build", "input": "texture"}}
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    with pytest.raises(ConfigError, match=rf"systems\.custom\.{name}: a table reader"):
        check_config(config)


def test_a_name_yaml_reads_as_a_boolean_says_so(tmp_path):
    # `no:` as a condition's name: YAML 1.1 reads it as false before any check (audit 49: named as `False` alone)
    path = tmp_path / "c.yaml"
    path.write_text("partitions: {conditions: {no: {method: stratified}}}\n")
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.False: YAML read this name as False, not as "
                                          r"text .*quote it \('no'\)"):
        check_config(load_config(path))


@pytest.mark.workflow
def test_workflow_gtzan_download_with_checksums(tmp_path, shared_gtzan):
    """GTZAN through its download rule (a file:// tarball), with the study's index and lists as local files."""
    genres = tmp_path / "genres"
    for genre in ("blues", "reggae"):
        for i in range(3):
            write_au(genres / genre / f"{genre}.{i:05d}.au", tone(0.5, freq=220 + 50 * i))
    archive = tmp_path / "genres.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(genres, arcname="genres")
    config = {"dataset": {"source": "gtzan", "gtzan": {
        "root": None, "url": archive.as_uri(), "md5": hashlib.md5(archive.read_bytes()).hexdigest(),
        "index": str(shared_gtzan / "metadata" / "GTZANindex.txt"),
        "partition_lists": str(shared_gtzan / "partitions")}}}
    run_snakemake(tmp_path / "run", config, targets=["results/dataset/metadata.csv", "dataset_check"])
    meta = pd.read_csv(tmp_path / "run" / "results" / "dataset" / "metadata.csv", keep_default_na=False)
    assert len(meta) == 6
    assert set(meta.loc[meta["genre"] == "reggae", "artist"]) == {"Bob Marley"}
    assert meta.set_index("track_id").loc["blues.00000", "artist"] == "John Lee Hooker"
    # the dataset's profile, from Sturm's index: the three Reggae excerpts are Bob Marley's
    profile = pd.read_csv(tmp_path / "run" / "results" / "faults" / "profile.csv").set_index("genre")
    assert profile.loc["reggae", ["largest_artist", "largest_artist_excerpts"]].tolist() == ["Bob Marley", 3]
    assert (tmp_path / "run" / "results" / "faults" / "profile.md").read_text().startswith(
        "# Dataset profile: gtzan dataset at ")
    assert not (tmp_path / "run" / "results" / "dataset" / "gtzan.tar.gz").exists()
    # a wrong checksum: the run fails, and no extracted audio is left behind
    config["dataset"]["gtzan"]["md5"] = "0" * 32
    proc = run_snakemake(tmp_path / "bad", config, targets=["results/dataset/metadata.csv"], check=False)
    assert proc.returncode != 0 and "md5 checksum mismatch" in proc.stdout
    assert not (tmp_path / "bad" / "results" / "dataset" / "gtzan_audio").exists()


@pytest.mark.workflow
def test_workflow_outputs_readable_under_the_umask(tiny_run):
    """Every output of the pipeline has the mode a plain open()/mkdir gives under the umask (0644/0755 under 022)."""
    umask = os.umask(0o022)
    os.umask(umask)
    results = tiny_run / "results"
    wrong = [
        (str(p.relative_to(results)), oct(p.stat().st_mode & 0o777))
        for p in sorted(results.rglob("*"))
        if not p.is_symlink() and (p.stat().st_mode & 0o777) != ((0o777 if p.is_dir() else 0o666) & ~umask)
    ]
    assert wrong == [], wrong[:10]


# ---------------------------------------------------------------------------------------------
# a full disk under the feature stage: HDF5 cannot close a file whose write found no room (SIGSEGV as Python ends)


def test_a_shard_write_that_would_fill_the_disk_is_refused_before_hdf5_makes_it(tmp_path, monkeypatch):
    import collections
    import errno

    rows = np.ones((1290, 513), dtype=np.float32)  # 2.5 MiB, a 30-s excerpt's frames
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(1 << 30, 0, 11 << 19))  # 5.5 MiB free
    with pytest.raises(OSError, match=r"shard needs 6\.0 MiB more, 5\.5 MiB are free in ") as refused:
        with features.ShardWriter(tmp_path / "frames.h5", "frames", FRAMES, 513, "float32") as writer:
            writer.append("t.1", rows)  # HDF5 holds these back: 2.5 MiB, 3.5 with the margin: fits
            writer.append("t.2", rows)  # 5 MiB given and not written, 6 with the margin
    assert refused.value.errno == errno.ENOSPC and refused.value.filename == str(tmp_path / "frames.h5")
    assert list(tmp_path.iterdir()) == []  # the temporary closed and removed


FULL_DISK_WRITER = """
import sys, numpy as np
from mgrfaults.features.extract import ShardWriter
try:
    with ShardWriter(sys.argv[1] + "/frames.h5", "frames", {}, dim=513, dtype="float32") as writer:
        for i in range(40):
            writer.append(f"t.{i}", np.random.default_rng(i).random((1290, 513), dtype=np.float32))
except OSError as error:
    print("refused:", error)
"""


def test_a_shard_on_a_really_full_disk_fails_cleanly(tmp_path):
    # a 12-MiB tmpfs: the writer refuses before HDF5's own write fails (which ended the process by SIGSEGV)
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess_run(["mount", "-t", "tmpfs", "-o", "size=12M", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        proc = subprocess_run([sys.executable, "-c", FULL_DISK_WRITER, str(disk)])
        assert proc.returncode == 0, proc.stderr
        assert "refused: [Errno 28] No space left on device: the shard needs" in proc.stdout
        assert list(disk.iterdir()) == []
    finally:
        subprocess_run(["umount", str(disk)])


def subprocess_run(command):
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_results_folder_of_another_dataset_source_gets_the_synthetic_dataset_rendered(tmp_path):
    # a directory (or GTZAN) run wrote results/dataset/metadata.csv; a synthetic run into the same folder asked for
    # that file only, found it, and evaluated the other dataset as the synthetic study (audit 23)
    dataset = tmp_path / "results" / "dataset"
    dataset.mkdir(parents=True)
    for name in ("metadata.csv", "bad_audio.csv"):
        (dataset / name).write_text("written by another source's run\n")
    plan = run_snakemake(tmp_path, {"dataset": {"synthetic": {"preset": "tiny"}}}, extra_args=["-n"]).stdout
    assert re.search(r"^synth_dataset\s+1$", plan, re.M), plan[-3000:]


def test_an_excerpt_whose_file_is_gone_since_the_data_stage_names_the_way_out(tmp_path):
    # a synthetic excerpt's file deleted after the run: Snakemake sees no change, and a later stage said only
    # "file not found" (audit 23)
    from mgrfaults.faults.shards import describe_file

    gone = tmp_path / "blues" / "blues.00002.au"
    meta = pd.DataFrame({"track_id": ["blues.00002"], "path": [str(gone)]})
    way_out = r"blues\.00002\.au: file not found: the dataset's metadata lists it, .*--forcerun synth_dataset"
    with pytest.raises(AudioError, match=way_out):
        features.extract_shard(meta, tmp_path / "f.h5", tmp_path / "t.h5", FRAMES, TEXTURE)
    with pytest.raises(AudioError, match=way_out):
        describe_file(str(gone), "blues.00002", None, {})
    assert list(tmp_path.iterdir()) == []  # no shard left
    os.symlink(tmp_path / "elsewhere.au", tmp_path / "link.au")  # a dangling link: named as such, as before
    with pytest.raises(AudioError, match=r"link\.au: (?!file not found: the dataset)"):
        features.extract_shard(meta.assign(path=str(tmp_path / "link.au")), tmp_path / "f.h5", tmp_path / "t.h5",
                               FRAMES, TEXTURE)
