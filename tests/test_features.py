"""Features: STFT frames and MFCC texture windows, the HDF5 shards and their reader."""

import json
import os
import re
from pathlib import Path

import h5py
import librosa
import numpy as np
import pandas as pd
import pytest

from mgrfaults.features import extract as F
from mgrfaults.features.store import FeatureStore
from mgrfaults.errors import InputError

SR = 22050
ROOT = Path(__file__).resolve().parents[1]


def sine(freq=1000.0, seconds=3.0, sr=SR, amplitude=0.5):
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# ---- frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n_samples", [1024, 1025, 1535, 1536, 22050, 30 * SR])
def test_frame_count_matches_uncentred_librosa(n_samples):
    y = np.random.default_rng(0).standard_normal(n_samples).astype(np.float32)
    x = F.stft_frames(y)
    expected = librosa.stft(y, n_fft=1024, hop_length=512, center=False)
    assert x.shape == (expected.shape[1], 513) == (F.n_frames(n_samples), 513)
    assert x.dtype == np.float32


def test_gtzan_excerpt_has_1290_frames():
    assert F.n_frames(30 * SR) == 1290


@pytest.mark.parametrize("window, librosa_window", [("hann", "hann"), ("rectangular", "boxcar")])
def test_frames_equal_direct_librosa_magnitude(window, librosa_window):
    y = sine(1000.0) + 0.01 * np.random.default_rng(1).standard_normal(3 * SR).astype(np.float32)
    x = F.stft_frames(y, window=window)
    direct = np.abs(librosa.stft(y, n_fft=1024, hop_length=512, window=librosa_window, center=False)).T
    np.testing.assert_allclose(x, direct, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("window", ["hann", "rectangular"])
def test_sine_energy_in_its_bin(window):
    freq_bin = 93  # exactly on a bin centre: 93 * 22050 / 1024 Hz
    x = F.stft_frames(sine(freq_bin * SR / 1024), window=window)
    assert np.all(x.argmax(axis=1) == freq_bin)
    # the peak holds the sine's energy: amplitude * sum(window) / 2
    win_sum = 512.0 if window == "hann" else 1024.0
    np.testing.assert_allclose(x[:, freq_bin], 0.5 * win_sum / 2, rtol=1e-3)


def test_short_audio_gives_one_zero_padded_frame():
    x = F.stft_frames(np.ones(100, np.float32))
    assert x.shape == (1, 513)
    assert np.all(np.isfinite(x))


# ---- MFCC and texture windows ------------------------------------------------------------------


@pytest.mark.parametrize("sr, n_fft, n_mels", [(22050, 1024, 128), (16000, 512, 40), (44100, 2048, 64)])
def test_mel_filters_equal_librosa(sr, n_fft, n_mels):
    np.testing.assert_allclose(F.mel_filters(sr, n_fft, n_mels), librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels),
                               rtol=1e-5, atol=1e-8)


def test_mfcc_equals_librosa_on_same_frames():
    y = np.random.default_rng(2).standard_normal(2 * SR).astype(np.float32)
    mag = F.stft_frames(y)
    direct = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_fft=1024, hop_length=512, center=False, window="hann")
    np.testing.assert_allclose(F.mfcc_frames(mag, SR), direct.T, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "seconds, window_seconds, hop_seconds, n_windows",
    [(30.0, 5.0, 5.0, 6), (10.0, 5.0, 5.0, 2), (12.0, 5.0, 5.0, 2), (6.0, 5.0, 5.0, 1), (3.0, 5.0, 5.0, 1),
     (30.0, 5.0, 2.5, 11), (30.0, 1.0, 1.0, 30)],
)
def test_texture_window_count(seconds, window_seconds, hop_seconds, n_windows):
    n = int(seconds * SR)
    bounds = F.texture_bounds(n, SR, 1024, 512, window_seconds, hop_seconds)
    assert bounds.shape == (n_windows, 2)
    assert np.all(bounds[:, 1] > bounds[:, 0]) and bounds[-1, 1] <= F.n_frames(n)
    # frames lie wholly inside their window
    win, hop = int(round(window_seconds * SR)), int(round(hop_seconds * SR))
    if n >= win:
        starts = np.arange(n_windows) * hop
        assert np.all(bounds[:, 0] * 512 >= starts)
        assert np.all((bounds[:, 1] - 1) * 512 + 1024 <= starts + win)
    params = F.texture_params(window_seconds=window_seconds, hop_seconds=hop_seconds)
    tex = F.texture_features(np.zeros((F.n_frames(n), 20)), n, params)
    assert tex.shape == (n_windows, 40)


def test_texture_window_shorter_than_a_frame_refused():
    with pytest.raises(InputError, match="window_seconds|texture window"):
        F.texture_bounds(10 * SR, SR, 1024, 512, window_seconds=0.05, hop_seconds=0.05)


def test_window_statistics_match_numpy():
    x = np.random.default_rng(3).standard_normal((100, 4)) * 3 + 50
    bounds = np.array([[0, 100], [10, 43], [99, 100]])
    mv = F.window_statistics(x, bounds, "mean_var")
    mc = F.window_statistics(x, bounds, "mean_cov")
    iu = np.triu_indices(4)
    assert mv.shape == (3, 8) and mc.shape == (3, 4 + 10) == (3, F.texture_dim(4, "mean_cov"))
    for k, (a, b) in enumerate(bounds):
        seg = x[a:b]
        np.testing.assert_allclose(mv[k], np.r_[seg.mean(0), seg.var(0)], rtol=1e-4, atol=1e-4)
        cov = np.atleast_2d(np.cov(seg.T, ddof=0))
        np.testing.assert_allclose(mc[k], np.r_[seg.mean(0), cov[iu]], rtol=1e-4, atol=1e-4)


def test_running_variant_is_one_vector_per_frame_over_last_43():
    x = np.random.default_rng(4).standard_normal((200, 20))
    params = F.texture_params(variant="running", running_frames=43)
    tex = F.texture_features(x, 200 * 512 + 512, params)
    assert tex.shape == (200, 40)
    np.testing.assert_allclose(tex[100, :20], x[58:101].mean(0), atol=1e-5)
    np.testing.assert_allclose(tex[0, 20:], 0.0, atol=1e-6)  # one frame: no spread
    np.testing.assert_allclose(tex[5, :20], x[:6].mean(0), atol=1e-5)  # the memory filling up


@pytest.mark.parametrize("signal", ["silence", "dc", "tiny"])
@pytest.mark.parametrize("statistics", ["mean_var", "mean_cov"])
@pytest.mark.parametrize("variant", ["windows", "running"])
def test_no_nan_on_silence_or_dc(signal, statistics, variant):
    y = {"silence": np.zeros(6 * SR), "dc": np.full(6 * SR, 0.3), "tiny": np.full(6 * SR, 1e-30)}[signal]
    mag, tex = F.extract_track(
        y.astype(np.float32), F.frame_params(), F.texture_params(statistics=statistics, variant=variant)
    )
    assert np.all(np.isfinite(mag)) and np.all(np.isfinite(tex))


def test_non_finite_audio_refused():
    y = np.zeros(SR, np.float32)
    y[10] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        F.extract_track(y, F.frame_params(), F.texture_params())


# ---- shards, the index, the reader --------------------------------------------------------------


def test_shard_rows_contiguous_sorted_split(caplog):
    meta = pd.DataFrame({"track_id": [f"pop.{i:05d}" for i in range(10)][::-1]})
    shards = [F.shard_rows(meta, 3, s)["track_id"].tolist() for s in range(3)]
    assert shards[0] == ["pop.00000", "pop.00001", "pop.00002", "pop.00003"]
    assert sum(shards, []) == sorted(meta["track_id"])
    assert "holds no excerpts" not in caplog.text
    assert F.shard_rows(meta, 12, 11).empty  # more shards than excerpts: an empty shard, and a warning
    assert "shard 11 of 12 holds no excerpts: the dataset has 10" in caplog.text
    with pytest.raises(InputError):
        F.shard_rows(meta, 3, 3)


def write_tracks(tmp_path, seconds_by_id, freq_by_id=None, **texture_kwargs):
    """Write .au files and extract one shard pair; returns (frames path, texture path, rows)."""
    from mgrfaults.data.audio import write_au

    rows = []
    for tid, seconds in seconds_by_id.items():
        path = tmp_path / "audio" / f"{tid}.au"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_au(path, sine((freq_by_id or {}).get(tid, 440.0), seconds), SR)
        rows.append({"track_id": tid, "path": str(path)})
    rows = pd.DataFrame(rows)
    fp, tp = tmp_path / "frames" / "shard_0.h5", tmp_path / "texture" / "shard_0.h5"
    F.extract_shard(rows, fp, tp, F.frame_params(), F.texture_params(**texture_kwargs))
    return fp, tp, rows


def test_shard_layout_and_index(tmp_path):
    fp, tp, _ = write_tracks(tmp_path, {"blues.00000": 2.0, "blues.00001": 1.0, "jazz.00007": 11.0})
    with h5py.File(fp, "r") as f:
        assert f.attrs["kind"] == "frames"
        assert json.loads(f.attrs["params"]) == F.frame_params()
        assert f["features"].dtype == np.float32 and f["features"].chunks is not None
        assert list(f["track_ids"].asstr()[()]) == ["blues.00000", "blues.00001", "jazz.00007"]
        lengths = [F.n_frames(2 * SR), F.n_frames(SR), F.n_frames(11 * SR)]
        assert list(f["lengths"][()]) == lengths
        assert list(f["offsets"][()]) == [0, lengths[0], lengths[0] + lengths[1]]
        assert f["features"].shape == (sum(lengths), 513)
    with h5py.File(tp, "r") as f:
        assert f.attrs["kind"] == "texture"
        assert list(f["lengths"][()]) == [1, 1, 2]
    assert not list(tmp_path.glob("*/.shard_0*"))  # no temporary files left


def test_store_reads_tracks_across_shards(tmp_path):
    fa, _, _ = write_tracks(tmp_path / "a", {"blues.00000": 2.0, "blues.00001": 1.0}, {"blues.00001": 2000.0})
    fb, _, _ = write_tracks(tmp_path / "b", {"rock.00003": 1.5})
    store = FeatureStore([fa, fb], expected_params=F.frame_params())
    assert store.track_ids == ["blues.00000", "blues.00001", "rock.00003"]
    assert store.kind == "frames" and store.dim == 513 and store.params == F.frame_params()
    assert store.length("blues.00001") == F.n_frames(SR) and "rock.00003" in store and len(store) == 3
    x = store.read("blues.00001")
    direct = F.stft_frames(sine(2000.0, 1.0))
    np.testing.assert_allclose(x, direct, atol=2e-3 * direct.max())  # 16-bit AU round trip
    out = np.full((store.length("blues.00001") + 3, 513), -1.0, dtype=np.float32)
    assert store.read_into("blues.00001", out[1:]) == len(x)  # into a row slice, rest untouched
    np.testing.assert_array_equal(out[1 : 1 + len(x)], x)
    assert (out[0] == -1).all() and (out[1 + len(x) :] == -1).all()
    with pytest.raises(ValueError):
        store.read_into("blues.00001", np.empty((2, 513), dtype=np.float32))
    with pytest.raises(InputError, match="pop.00001"):
        store.read("pop.00001")
    store.close()


def test_float16_storage_reads_float32(tmp_path):
    rows = pd.DataFrame({"track_id": ["a"], "path": ["x"]})
    fp, tp = tmp_path / "f.h5", tmp_path / "t.h5"
    frames = F.frame_params(dtype="float16")
    F.extract_shard(rows, fp, tp, frames, F.texture_params(), load=lambda p, **kw: sine(seconds=1.0))
    with h5py.File(fp, "r") as f:
        assert f["features"].dtype == np.float16
    x = FeatureStore(fp).read("a")
    assert x.dtype == np.float32
    out = np.empty_like(x)
    FeatureStore(fp).read_into("a", out)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_allclose(x, F.stft_frames(sine(seconds=1.0)), rtol=1e-3, atol=1e-2)


def test_empty_shard_is_readable(tmp_path):
    rows = pd.DataFrame({"track_id": [], "path": []})
    fp, tp = tmp_path / "f.h5", tmp_path / "t.h5"
    F.extract_shard(rows, fp, tp, F.frame_params(), F.texture_params(), load=None)
    store = FeatureStore([fp])
    assert store.track_ids == [] and store.dim == 513


def test_mismatched_cache_refused_naming_file_and_keys(tmp_path):
    fp, tp, _ = write_tracks(tmp_path, {"blues.00000": 1.0})
    with pytest.raises(InputError) as err:
        FeatureStore([fp], expected_params=F.frame_params(window="rectangular", hop_length=256))
    assert str(fp) in str(err.value) and "hop_length" in str(err.value) and "window" in str(err.value)
    assert "n_fft" not in str(err.value).split("differing keys")[1].split(":")[0]
    with pytest.raises(InputError, match="n_mfcc"):
        FeatureStore([tp], expected_params=F.texture_params(n_mfcc=13))
    FeatureStore([tp], expected_params=F.texture_params())  # the same parameters are accepted


def test_shards_of_different_params_refused(tmp_path):
    fa, _, _ = write_tracks(tmp_path / "a", {"blues.00000": 1.0})
    rows = pd.DataFrame({"track_id": ["rock.00000"], "path": ["x"]})
    fb = tmp_path / "b.h5"
    frames, texture = F.frame_params(window="rectangular"), F.texture_params(window="rectangular")
    F.extract_shard(rows, fb, tmp_path / "bt.h5", frames, texture, load=lambda p, **kw: sine(seconds=1.0))
    with pytest.raises(InputError, match="window"):
        FeatureStore([fa, fb])
    with pytest.raises(InputError, match="not found"):
        FeatureStore([tmp_path / "missing.h5"])


def test_failed_extraction_leaves_no_output(tmp_path):
    from mgrfaults.errors import AudioError

    rows = pd.DataFrame({"track_id": ["a", "b"], "path": ["ok.au", "bad.au"]})

    def load(path, **kw):
        if path == "bad.au":
            raise AudioError(path, "truncated")
        return sine(seconds=1.0)

    fp, tp = tmp_path / "f" / "shard_0.h5", tmp_path / "t" / "shard_0.h5"
    with pytest.raises(AudioError, match="bad.au"):
        F.extract_shard(rows, fp, tp, F.frame_params(), F.texture_params(), load=load)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


# ---- end to end ---------------------------------------------------------------------------------


@pytest.mark.workflow
def test_workflow_features_on_tiny_preset(tiny_run):
    """The feature shards of the shared tiny pipeline: every track once, the configured parameters."""
    from mgrfaults.data.metadata import read_metadata

    meta = read_metadata(tiny_run / "results" / "dataset" / "metadata.csv")
    from mgrfaults.config import load_config, resolve

    features = resolve(load_config(tiny_run / "test_config.yaml")).features  # what the run resolved
    for kind in ("frames", "texture"):
        paths = sorted((tiny_run / "results" / "features" / kind).glob("shard_*.h5"))
        store = FeatureStore(paths, expected_params=getattr(features, kind))
        assert store.track_ids == sorted(meta["track_id"])
        tid = store.track_ids[0]
        n_samples = int(round(meta.set_index("track_id").loc[tid, "duration"] * SR))
        if kind == "frames":
            assert store.length(tid) == F.n_frames(n_samples)
        assert np.all(np.isfinite(store.read(tid)))


def test_the_feature_job_benchmark_runs(tmp_path):
    # benchmarks/features_job.py is what README's per-track figures name: it must run against the library as it is
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "benchmarks" / "features_job.py"), "--tracks", "2", "--seconds", "2"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root / "src")}, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"ratio extract_shard / bare: +\d+\.\d\d", out.stdout), out.stdout
