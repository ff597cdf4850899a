"""Features: magnitude STFT frames (DNN systems) and MFCC texture windows (BFF baseline), cached in HDF5.

Computation
    :func:`stft_frames` -- magnitude STFT, 1024-sample frames, hop 512, 513 bins, no centre padding.
    :func:`mfcc_frames` -- 20 MFCCs (librosa) of those same frames.
    :func:`texture_windows` -- mean and variance (or covariance) of the MFCCs over 5 s texture
    windows, or Tzanetakis & Cook's running statistics over the last 1 s (43 frames).

Floors (silence and DC never give NaN or inf)
    Magnitudes of silence are 0 (finite). The mel power is floored at ``amin`` = 1e-10 before
    the log (librosa's ``power_to_db``), so MFCCs of silence are finite. Variances are clipped
    at 0 (cancellation of E[x^2] - E[x]^2).
    Audio with non-finite samples is refused (:class:`~mgrfaults.errors.InputError`).

Cache (one pair of HDF5 files per shard of tracks; see DEVELOPERS.md)
    ``features`` float32/float16 (n_rows, dim), chunked; ``track_ids`` (n_tracks,) utf-8;
    ``offsets`` and ``lengths`` int64 (n_tracks,); attrs ``params`` (JSON) and ``kind``.
    :func:`extract_shard` writes a shard, :class:`~mgrfaults.features.store.FeatureStore` reads any set of shards.

Standardisation statistics come from the training part only, so they are never baked into the
cache (:func:`mgrfaults.systems.parts.standardisation_stats`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np

from mgrfaults.data.metadata import audio_trusted
from mgrfaults.errors import AudioError, InputError
from mgrfaults.io import atomic_path
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DATASET = section_defaults("dataset")
_FRAMES = section_defaults("features.frames")
_TEXTURE = section_defaults("features.texture")

log = logging.getLogger(__name__)

KINDS = ("frames", "texture")
WINDOWS = {"hann": "hann", "rectangular": "boxcar"}  # config name -> scipy.signal.get_window name
FORMAT_VERSION = 1  # bump when the computation changes, so old caches are refused

# ---------------------------------------------------------------------------------------------
# Parameters


def frame_params(
    sample_rate: int = _DATASET["sample_rate"],
    max_duration: float | None = _DATASET["max_duration"],
    n_fft: int = _FRAMES["n_fft"],
    hop_length: int = _FRAMES["hop_length"],
    window: str = _FRAMES["window"],
    dtype: str = _FRAMES["dtype"],
) -> dict:
    """The extraction parameters of frame features, as stored in the cache's ``params`` attribute.

    Parameters
    ----------
    sample_rate : int
        Hz of the decoded audio.
    max_duration : float or None
        Seconds of audio kept from the start.
    n_fft : int
        Frame length in samples (1024 = 46.4 ms at 22050 Hz); ``n_fft // 2 + 1`` bins.
    hop_length : int
        Samples between frame starts (512 = 50 % overlap).
    window : {'hann', 'rectangular'}
        Hann: the study's reproduction; rectangular: Sigtia & Dixon's code.
    dtype : {'float32', 'float16'}
        Storage type; :class:`~mgrfaults.features.store.FeatureStore` always returns float32.

    Returns
    -------
    dict
        JSON-serialisable; compare it with ``FeatureStore.params``.
    """
    if window not in WINDOWS:
        raise InputError(f"features.frames.window: {window!r} is not one of {sorted(WINDOWS)}")
    if dtype not in ("float32", "float16"):
        raise InputError(f"features.frames.dtype: {dtype!r} is not float32 or float16")
    return {
        "kind": "frames",
        "version": FORMAT_VERSION,
        "sample_rate": int(sample_rate),
        "max_duration": None if max_duration is None else float(max_duration),
        "n_fft": int(n_fft),
        "hop_length": int(hop_length),
        "window": str(window),
        "center": False,
        "dtype": str(dtype),
    }


def texture_params(
    sample_rate: int = _DATASET["sample_rate"],
    max_duration: float | None = _DATASET["max_duration"],
    n_fft: int = _FRAMES["n_fft"],
    hop_length: int = _FRAMES["hop_length"],
    window: str = _FRAMES["window"],
    n_mfcc: int = _TEXTURE["n_mfcc"],
    n_mels: int = _TEXTURE["n_mels"],
    window_seconds: float = _TEXTURE["window_seconds"],
    hop_seconds: float = _TEXTURE["hop_seconds"],
    statistics: str = _TEXTURE["statistics"],
    variant: str = _TEXTURE["variant"],
    running_frames: int = _TEXTURE["running_frames"],
) -> dict:
    """The extraction parameters of texture features (MFCC statistics), as stored in the cache.

    Parameters
    ----------
    sample_rate, max_duration, n_fft, hop_length, window
        As :func:`frame_params`: the MFCCs are computed from the same STFT frames.
    n_mfcc : int
        MFCC coefficients per frame.
    n_mels : int
        Mel bands before the DCT (librosa's default).
    window_seconds, hop_seconds : float
        Texture window length and hop (``variant='windows'``).
    statistics : {'mean_var', 'mean_cov'}
        Per window: mean and variance (2 n_mfcc values) or mean and the upper triangle of the
        covariance (n_mfcc + n_mfcc (n_mfcc + 1) / 2 values).
    variant : {'windows', 'running'}
        ``windows``: one vector per texture window; ``running``: Tzanetakis & Cook (MARSYAS),
        one vector per frame over the last ``running_frames`` frames.
    running_frames : int
        Frames of the running window (43 frames = 1 s at 22050 Hz, hop 512).
    """
    if statistics not in ("mean_var", "mean_cov"):
        raise InputError(f"features.texture.statistics: {statistics!r} is not mean_var or mean_cov")
    if variant not in ("windows", "running"):
        raise InputError(f"features.texture.variant: {variant!r} is not windows or running")
    params = frame_params(sample_rate, max_duration, n_fft, hop_length, window, "float32")
    params.update(
        kind="texture",
        n_mfcc=int(n_mfcc),
        n_mels=int(n_mels),
        window_seconds=float(window_seconds),
        hop_seconds=float(hop_seconds),
        statistics=str(statistics),
        variant=str(variant),
        running_frames=int(running_frames),
    )
    return params


# ---------------------------------------------------------------------------------------------
# Computation


def n_frames(n_samples: int, n_fft: int = _FRAMES["n_fft"], hop_length: int = _FRAMES["hop_length"]) -> int:
    """Frames of an uncentred STFT: ``1 + (n_samples - n_fft) // hop_length``, at least 1.

    Audio shorter than one frame is zero-padded to one frame (see :func:`stft_frames`).
    """
    return 1 + max(int(n_samples) - n_fft, 0) // hop_length


# Block of frames windowed and transformed at once: ~0.5 MiB of float64 frames, within a core's L2
_STFT_BLOCK = 64


@functools.lru_cache(maxsize=8)
def _window(window: str, n_fft: int) -> np.ndarray:
    # periodic (fftbins) windows, float64, equal to scipy.signal.get_window's (librosa's) to 1 ulp;
    # written with numpy because importing scipy.signal costs a feature job about a second
    if WINDOWS[window] == "boxcar":
        return np.ones(n_fft)
    return np.hanning(n_fft + 1)[:-1]


def stft_frames(y: np.ndarray, n_fft: int = _FRAMES["n_fft"], hop_length: int = _FRAMES["hop_length"], window: str = _FRAMES["window"]) -> np.ndarray:
    """Magnitude STFT frames, no centre padding.

    ``librosa.stft(y, center=False)`` computed frame-major: each block of frames is windowed in
    float64 and transformed with ``scipy.fft.rfft`` (librosa does the same, frequency-major), and
    its magnitude is written straight into the (n_frames, n_bins) float32 output, so no complex
    spectrogram of the whole track and no transposed copy is ever made.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono audio.
    n_fft : int
        Frame length in samples.
    hop_length : int
        Samples between frame starts.
    window : {'hann', 'rectangular'}
        Analysis window (periodic Hann, as librosa).

    Returns
    -------
    np.ndarray, shape (n_frames, n_fft // 2 + 1), float32, C-contiguous
        ``|X|``; frame ``t`` covers samples ``[t * hop_length, t * hop_length + n_fft)``;
        ``n_frames`` as :func:`n_frames` (audio shorter than ``n_fft`` is zero-padded to one frame).
    """
    import scipy.fft

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise InputError(f"stft_frames: expected mono audio of shape (n_samples,), got {y.shape}")
    if window not in WINDOWS:
        raise InputError(f"stft_frames: window {window!r} is not one of {sorted(WINDOWS)}")
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length]  # a view, no copy
    win = _window(window, n_fft)
    out = np.empty((len(frames), n_fft // 2 + 1), dtype=np.float32)
    for start in range(0, len(frames), _STFT_BLOCK):
        block = frames[start : start + _STFT_BLOCK] * win
        np.abs(scipy.fft.rfft(block, axis=1, overwrite_x=True), out=out[start : start + _STFT_BLOCK])
    return out


@functools.lru_cache(maxsize=8)
def mel_filters(sample_rate: int = _DATASET["sample_rate"], n_fft: int = _FRAMES["n_fft"], n_mels: int = _TEXTURE["n_mels"]) -> np.ndarray:
    """Slaney-style mel filter bank, as ``librosa.filters.mel(sr, n_fft, n_mels)`` (its defaults).

    Triangles between ``n_mels + 2`` points equally spaced on Slaney's mel scale (linear below
    1 kHz, logarithmic above) from 0 Hz to Nyquist, each scaled to unit area (``norm='slaney'``).
    Written out rather than called so that a feature job does not import librosa (and numba),
    about a second per job; the test suite checks it equals librosa's.

    Returns
    -------
    np.ndarray, shape (n_mels, n_fft // 2 + 1), float32 (read-only: cached)
    """
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


@functools.lru_cache(maxsize=8)
def _sparse_mel_filters(sample_rate: int, n_fft: int, n_mels: int):
    # transposed, CSC: each band is nonzero on a few bins only (~2 n_bins nonzeros of n_bins n_mels),
    # so the product costs ~1/60 of a dense matrix product
    import scipy.sparse

    return scipy.sparse.csc_matrix(mel_filters(sample_rate, n_fft, n_mels).T)


def mfcc_frames(
    magnitude: np.ndarray,
    sample_rate: int = _DATASET["sample_rate"],
    n_mfcc: int = _TEXTURE["n_mfcc"],
    n_mels: int = _TEXTURE["n_mels"],
    top_db: float | None = 80.0,
) -> np.ndarray:
    """MFCCs of magnitude STFT frames, as ``librosa.feature.mfcc`` computes them from a spectrogram.

    Mel power spectrogram (``n_mels`` Slaney bands, :func:`mel_filters`) -> ``power_to_db``
    (floor 1e-10, i.e. -100 dB, and ``top_db`` below the track's peak) -> DCT-II (ortho), first
    ``n_mfcc`` coefficients; computed frame-major (one matrix product) in float32 as librosa does.

    Parameters
    ----------
    magnitude : np.ndarray, shape (n_frames, n_bins)
        From :func:`stft_frames`; ``n_fft = 2 * (n_bins - 1)``.
    sample_rate : int
        Hz.
    n_mfcc, n_mels : int
    top_db : float or None
        librosa's dynamic range limit.

    Returns
    -------
    np.ndarray, shape (n_frames, n_mfcc), float32
    """
    import scipy.fft

    n_fft = 2 * (magnitude.shape[1] - 1)
    power = np.square(magnitude, dtype=np.float32)
    mel = np.asarray(power @ _sparse_mel_filters(int(sample_rate), n_fft, int(n_mels)), dtype=np.float32)
    log_mel = np.log10(np.maximum(mel, np.float32(1e-10), out=mel), out=mel)
    log_mel *= np.float32(10.0)
    if top_db is not None and log_mel.size:
        np.maximum(log_mel, log_mel.max() - np.float32(top_db), out=log_mel)
    return scipy.fft.dct(log_mel, type=2, axis=1, norm="ortho")[:, :n_mfcc].astype(np.float32)


def texture_bounds(
    n_samples: int,
    sample_rate: int = _DATASET["sample_rate"],
    n_fft: int = _FRAMES["n_fft"],
    hop_length: int = _FRAMES["hop_length"],
    window_seconds: float = _TEXTURE["window_seconds"],
    hop_seconds: float = _TEXTURE["hop_seconds"],
) -> np.ndarray:
    """Frame ranges of the texture windows of a track.

    Window ``k`` covers samples ``[k * hop, k * hop + window)`` (``window_seconds``, ``hop_seconds``
    in samples, rounded) and holds the frames lying wholly inside it. There are
    ``1 + (n_samples - window) // hop`` windows (a 30 s excerpt: 6 windows of 5 s); a track shorter
    than one window gives one window over all its frames.

    Returns
    -------
    np.ndarray, shape (n_windows, 2), int64
        ``[start, stop)`` frame indices of each window.
    """
    total = n_frames(n_samples, n_fft, hop_length)
    win = int(round(window_seconds * sample_rate))
    hop = int(round(hop_seconds * sample_rate))
    if hop < 1 or win < n_fft + hop_length - 1:  # else some window could hold no whole frame
        raise InputError(
            f"features.texture: a texture window of {window_seconds} s ({win} samples at {sample_rate} Hz, hop "
            f"{hop_seconds} s: {hop} samples) must span at least n_fft + hop_length - 1 = {n_fft + hop_length - 1} "
            f"samples (features.frames: n_fft {n_fft}, hop_length {hop_length}) to hold a whole frame wherever it starts"
        )
    if n_samples < win:
        return np.array([[0, total]], dtype=np.int64)
    starts = np.arange(1 + (n_samples - win) // hop, dtype=np.int64) * hop
    first = -(-starts // hop_length)  # first frame starting at or after the window start
    stop = (starts + win - n_fft) // hop_length + 1  # one past the last frame ending inside
    return np.stack([first, np.minimum(stop, total)], axis=1)


def running_bounds(n_frames_: int, running_frames: int = _TEXTURE["running_frames"]) -> np.ndarray:
    """Tzanetakis & Cook's running window: frame ``t`` summarises frames ``[t - running_frames + 1, t]``.

    The first frames use what there is (fewer than ``running_frames``), as MARSYAS's memory fills.

    Returns
    -------
    np.ndarray, shape (n_frames_, 2), int64
        ``[start, stop)`` frame indices.
    """
    stop = np.arange(1, n_frames_ + 1, dtype=np.int64)
    return np.stack([np.maximum(stop - running_frames, 0), stop], axis=1)


def window_statistics(x: np.ndarray, bounds: np.ndarray, statistics: str = _TEXTURE["statistics"]) -> np.ndarray:
    """Mean and variance (or covariance) of ``x`` over frame ranges.

    Computed from cumulative sums in float64, so running windows cost O(n_frames) whatever
    their length. Variances are population variances (ddof 0), clipped at 0.

    Parameters
    ----------
    x : np.ndarray, shape (n_frames, d)
    bounds : np.ndarray, shape (n_windows, 2)
        ``[start, stop)`` frame indices, ``stop > start``.
    statistics : {'mean_var', 'mean_cov'}

    Returns
    -------
    np.ndarray, float32, shape (n_windows, 2 d) for mean_var:
        ``[mean_0..mean_{d-1}, var_0..var_{d-1}]``; shape (n_windows, d + d (d + 1) / 2) for
        mean_cov: the means, then the covariance's upper triangle row by row (``np.triu_indices``).
    """
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    bounds = np.asarray(bounds, dtype=np.int64)
    if statistics not in ("mean_var", "mean_cov"):
        raise InputError(f"window_statistics: statistics {statistics!r} is not mean_var or mean_cov")
    iu = np.triu_indices(d)
    # Centre first: E[x^2] - E[x]^2 loses precision when |mean| >> std (MFCC 0 of a quiet track)
    centre = x.mean(axis=0) if len(x) else np.zeros(d)
    xc = x - centre
    second = xc * xc if statistics == "mean_var" else xc[:, iu[0]] * xc[:, iu[1]]
    cum1 = np.concatenate([np.zeros((1, d)), np.cumsum(xc, axis=0)])
    cum2 = np.concatenate([np.zeros((1, second.shape[1])), np.cumsum(second, axis=0)])
    start, stop = bounds[:, 0], bounds[:, 1]
    count = (stop - start)[:, None].astype(np.float64)
    mean_c = (cum1[stop] - cum1[start]) / count
    raw2 = (cum2[stop] - cum2[start]) / count
    if statistics == "mean_var":
        spread = np.maximum(raw2 - mean_c * mean_c, 0.0)
    else:
        spread = raw2 - mean_c[:, iu[0]] * mean_c[:, iu[1]]
        diag = iu[0] == iu[1]
        spread[:, diag] = np.maximum(spread[:, diag], 0.0)
    return np.concatenate([mean_c + centre, spread], axis=1).astype(np.float32)


def texture_dim(n_mfcc: int = _TEXTURE["n_mfcc"], statistics: str = _TEXTURE["statistics"]) -> int:
    """Length of one texture vector."""
    return 2 * n_mfcc if statistics == "mean_var" else n_mfcc + n_mfcc * (n_mfcc + 1) // 2


def texture_features(mfcc: np.ndarray, n_samples: int, params: Mapping[str, Any]) -> np.ndarray:
    """Texture vectors of one track from its MFCC frames, as ``params`` (:func:`texture_params`) say.

    Returns
    -------
    np.ndarray, shape (n_windows, texture_dim), float32
        ``variant='windows'``: one row per texture window (:func:`texture_bounds`);
        ``variant='running'``: one row per frame (:func:`running_bounds`).
    """
    if params["variant"] == "running":
        bounds = running_bounds(len(mfcc), params["running_frames"])
    else:
        bounds = texture_bounds(
            n_samples,
            params["sample_rate"],
            params["n_fft"],
            params["hop_length"],
            params["window_seconds"],
            params["hop_seconds"],
        )
    return window_statistics(mfcc, bounds, params["statistics"])


MAX_SAMPLE_PEAK = 2.0
"""Largest sample magnitude accepted before features: decoded audio lies in [-1, 1]; resampling
may ring slightly past it, never to 2."""


def extract_track(
    y: np.ndarray, frames: Mapping[str, Any], texture: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Frame and texture features of one track, sharing one STFT.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono audio at ``frames['sample_rate']``.
    frames, texture : mapping
        From :func:`frame_params` and :func:`texture_params` (same STFT parameters).

    Returns
    -------
    magnitude : np.ndarray, shape (n_frames, n_fft // 2 + 1), float32
    texture : np.ndarray, shape (n_windows, texture_dim), float32
    """
    for key in ("sample_rate", "n_fft", "hop_length", "window"):
        if frames[key] != texture[key]:
            raise InputError(f"extract_track: frames and texture parameters differ in {key!r}")
    if not np.all(np.isfinite(y)):
        raise InputError("extract_track: audio has non-finite samples")
    magnitude = stft_frames(y, frames["n_fft"], frames["hop_length"], frames["window"])
    mfcc = mfcc_frames(magnitude, texture["sample_rate"], texture["n_mfcc"], texture["n_mels"])
    return magnitude, texture_features(mfcc, len(y), texture)


# ---------------------------------------------------------------------------------------------
# Shards


def shard_rows(metadata, n_shards: int, shard: int):
    """The metadata rows of one shard: contiguous blocks of the rows sorted by track id.

    ``np.array_split`` of the sorted rows into ``n_shards`` blocks (sizes differ by at most one;
    with more shards than tracks, the last shards are empty, and say so in a warning).

    Parameters
    ----------
    metadata : DataFrame
        With a ``track_id`` column.
    n_shards : int
    shard : int
        In ``[0, n_shards)``.

    Returns
    -------
    DataFrame
    """
    if not 0 <= shard < n_shards:
        raise InputError(f"shard {shard} is outside [0, {n_shards})")
    ordered = metadata.sort_values("track_id", kind="stable").reset_index(drop=True)
    blocks = np.array_split(np.arange(len(ordered)), n_shards)
    if not len(blocks[shard]):  # each empty shard is a job (and about 1 s of Snakemake) for nothing
        log.warning("shard %d of %d holds no excerpts: the dataset has %d, fewer than the stage's shards "
                    "(features.n_shards or faults.n_shards); fewer shards do the same work in fewer jobs",
                    shard, n_shards, len(ordered))
    return ordered.iloc[blocks[shard]].reset_index(drop=True)


#: bytes a shard's file may take beyond its features' own: its last chunk allocated whole (256 KiB), HDF5's metadata
#: and the track index written at close
SHARD_WRITE_MARGIN = 1 << 20


def check_room(folder, n_bytes: int, path) -> None:
    """Refuse a write that would leave less than :data:`SHARD_WRITE_MARGIN` free on ``folder``'s disk.

    HDF5 cannot close a file once one of its writes has found the disk full: h5py raises, and the process then
    dies by SIGSEGV when the file's objects are freed or Python ends. Refused before the write, the error stays
    an ordinary one and the temporary file is closed and removed.

    Parameters
    ----------
    folder : str or Path
        The folder written to.
    n_bytes : int
        Bytes about to be written, in bytes.
    path : str or Path
        The file the error names.

    Raises
    ------
    OSError
        ``errno.ENOSPC``, saying how much is needed and free.
    """
    free = shutil.disk_usage(folder).free
    needed = n_bytes + SHARD_WRITE_MARGIN
    if free < needed:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: the shard needs {needed / 2**20:.1f} MiB more, "
                      f"{free / 2**20:.1f} MiB are free in {folder}", str(path))


def _chunk_rows(dim: int, itemsize: int, target_bytes: int = 1 << 18) -> int:
    # ~256 KiB chunks: well inside h5py's 1 MiB chunk cache, a few chunks per track
    return int(max(1, min(8192, target_bytes // max(1, dim * itemsize))))


class ShardWriter:
    """Write one HDF5 shard, track by track, through a temporary file renamed on success.

    >>> with ShardWriter(path, "frames", params, dim=513) as w:   # doctest: +SKIP
    ...     w.append("blues.00000", magnitude)

    Parameters
    ----------
    path : str or Path
        Final file.
    kind : {'frames', 'texture'}
    params : mapping
        Extraction parameters (JSON-serialisable), stored as attribute ``params``.
    dim : int
        Columns of ``features``.
    dtype : str
        Storage type of ``features``.
    """

    def __init__(self, path, kind: str, params: Mapping[str, Any], dim: int, dtype: str = _FRAMES["dtype"]):
        if kind not in KINDS:
            raise InputError(f"{path}: unknown feature kind {kind!r}")
        self.path = Path(path)
        self.kind, self.params, self.dim, self.dtype = kind, dict(params), int(dim), np.dtype(dtype)
        self._ids: list[str] = []
        self._seen: set[str] = set()
        self._lengths: list[int] = []
        self._rows = 0

    def __enter__(self) -> "ShardWriter":
        with contextlib.ExitStack() as stack:  # a failure here closes the file and removes the temp file
            self._tmp = tmp = stack.enter_context(atomic_path(self.path))
            check_room(tmp.parent, 0, self.path)
            self._file = stack.enter_context(h5py.File(tmp, "w"))
            self._data = self._file.create_dataset(
                "features",
                shape=(0, self.dim),
                maxshape=(None, self.dim),
                dtype=self.dtype,
                chunks=(_chunk_rows(self.dim, self.dtype.itemsize), self.dim),
            )
            # the file closes, then the temp file is renamed (or removed), when the writer's block ends
            self._open = stack.pop_all()
        return self

    def append(self, track_id: str, features: np.ndarray) -> None:
        """Add one track's rows, shape (n, dim)."""
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != self.dim:
            raise InputError(
                f"{self.path}: track {track_id}: features of shape {features.shape}, expected (n, {self.dim})"
            )
        if track_id in self._seen:
            raise InputError(f"{self.path}: track {track_id} appended twice")
        n = len(features)
        stored = features.astype(self.dtype, copy=False)
        if not np.all(np.isfinite(stored)):
            # float16 overflows to inf above 65504: refuse rather than store features no model can use
            raise InputError(
                f"{self.path}: track {track_id}: non-finite {self.kind} features as {self.dtype} "
                f"(largest finite magnitude {np.nanmax(np.abs(np.where(np.isfinite(features), features, 0))):.3g}); "
                "samples out of range, or a dtype too small (features.frames.dtype)"
            )
        # HDF5 holds back several MB before its first write: what it was given and has not written counts too
        on_disk = os.path.getsize(self._tmp)
        check_room(self._tmp.parent, (self._rows + n) * self.dim * self.dtype.itemsize - on_disk, self.path)
        self._data.resize(self._rows + n, axis=0)
        self._data[self._rows : self._rows + n] = stored
        self._ids.append(str(track_id))
        self._seen.add(str(track_id))
        self._lengths.append(n)
        self._rows += n

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:  # the block failed: close, remove the temp file, let the error through
            return self._open.__exit__(exc_type, exc, tb)
        with self._open:  # close, then rename; an error writing the index removes the temp file instead
            lengths = np.asarray(self._lengths, dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(lengths) else lengths
            ids = np.array(self._ids, dtype=object)
            self._file.create_dataset("track_ids", data=ids, dtype=h5py.string_dtype("utf-8"))
            self._file.create_dataset("offsets", data=offsets, dtype=np.int64)
            self._file.create_dataset("lengths", data=lengths, dtype=np.int64)
            self._file.attrs["params"] = json.dumps(self.params, sort_keys=True)
            self._file.attrs["kind"] = self.kind
        return False


def check_loaded_samples(y: np.ndarray, row) -> None:
    """A custom loader's samples are finite and within [-1, 1] (:data:`MAX_SAMPLE_PEAK`), as ``load_audio``'s are."""
    if not np.all(np.isfinite(y)):
        raise InputError(f"{row.path}: track {row.track_id}: non-finite audio samples")
    peak = float(np.max(np.abs(y), initial=0.0))
    if peak > MAX_SAMPLE_PEAK:
        raise InputError(
            f"{row.path}: track {row.track_id}: samples reach {peak:.3g}, outside [-1, 1] "
            "(load_audio rescales float audio; a custom loader must too)"
        )


def extract_shard(
    rows,
    frames_path,
    texture_path,
    frames: Mapping[str, Any],
    texture: Mapping[str, Any],
    load: Callable[..., np.ndarray] | None = None,
    progress_every: int = 50,
) -> dict:
    """Compute and write the frame and texture shards of some tracks.

    Parameters
    ----------
    rows : DataFrame
        Metadata rows (``track_id``, ``path``) of the shard (:func:`shard_rows`); a file the metadata marks as
        trusted (``dataset.trust_audio``, :func:`mgrfaults.data.metadata.audio_trusted`) is taken as it decodes.
    frames_path, texture_path : str or Path
        The two HDF5 files written (temp then rename).
    frames, texture : mapping
        :func:`frame_params`, :func:`texture_params`.
    load : callable, optional
        ``load(path, sample_rate=, max_duration=) -> (n_samples,) float32``;
        default :func:`mgrfaults.data.audio.load_audio`.
    progress_every : int
        Log a line every this many tracks.

    Returns
    -------
    dict
        ``tracks``, ``frame_rows``, ``texture_rows``, ``audio_seconds``.

    Raises
    ------
    AudioError
        A file that cannot be decoded (names the file); no output is left behind.
    """
    checked = load is None  # load_audio refuses non-finite samples and rescales float audio into [-1, 1]
    if load is None:
        from mgrfaults.data.audio import load_audio as load
    n_bins = frames["n_fft"] // 2 + 1
    tdim = texture_dim(texture["n_mfcc"], texture["statistics"])
    stats = {"tracks": 0, "frame_rows": 0, "texture_rows": 0, "audio_seconds": 0.0}
    with ShardWriter(frames_path, "frames", frames, n_bins, frames["dtype"]) as fw, ShardWriter(
        texture_path, "texture", texture, tdim, "float32"
    ) as tw:
        for i, (row, trusted) in enumerate(zip(rows.itertuples(index=False), audio_trusted(rows))):
            try:
                y = load(row.path, sample_rate=frames["sample_rate"], max_duration=frames["max_duration"],
                         **({"judge_content": False} if trusted and checked else {}))
            except Exception as e:
                from mgrfaults.data.audio import LISTED_BUT_GONE, listed_file_gone

                if listed_file_gone(row.path):
                    raise AudioError(row.path, LISTED_BUT_GONE) from e
                raise
            if not checked:
                check_loaded_samples(y, row)
            magnitude, tex = extract_track(y, frames, texture)
            fw.append(row.track_id, magnitude)
            tw.append(row.track_id, tex)
            stats["tracks"] += 1
            stats["frame_rows"] += len(magnitude)
            stats["texture_rows"] += len(tex)
            stats["audio_seconds"] += len(y) / frames["sample_rate"]
            if progress_every and (i + 1) % progress_every == 0:
                log.info("%d/%d tracks", i + 1, len(rows))
    return stats
