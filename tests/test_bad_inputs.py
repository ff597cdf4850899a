"""The bad-input matrix: each case gets a clear error naming the file/key/id and the problem, or a
documented behaviour (decoded correctly, a finite value, a logged skip) — never a deep traceback,
never a half-written output."""

from __future__ import annotations

import copy
import hashlib
import os
import tarfile
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO, run_snakemake
from mgrfaults.features import extract as features
from mgrfaults.features.store import FeatureStore
from mgrfaults.partitions import split as partitions
from mgrfaults.data.audio import load_audio, write_au
from mgrfaults.config import ConfigError, check_config
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
    with pytest.raises(InputError, match=r"not in the dataset: \['rock\.00099'\]"):
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


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input(case, tmp_path):
    CASES[case](tmp_path)


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
    run_snakemake(tmp_path / "run", config, targets=["results/dataset/metadata.csv"])
    meta = pd.read_csv(tmp_path / "run" / "results" / "dataset" / "metadata.csv", keep_default_na=False)
    assert len(meta) == 6
    assert set(meta.loc[meta["genre"] == "reggae", "artist"]) == {"Bob Marley"}
    assert meta.set_index("track_id").loc["blues.00000", "artist"] == "John Lee Hooker"
    assert not (tmp_path / "run" / "results" / "dataset" / "gtzan.tar.gz").exists()
    # a wrong checksum: the run fails, and no extracted audio is left behind
    config["dataset"]["gtzan"]["md5"] = "0" * 32
    proc = run_snakemake(tmp_path / "bad", config, targets=["results/dataset/metadata.csv"], check=False)
    assert proc.returncode != 0 and "md5 checksum mismatch" in proc.stdout
    assert not (tmp_path / "bad" / "results" / "dataset" / "gtzan_audio").exists()
