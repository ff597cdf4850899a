"""Exact replicas: the same decoded samples, whatever the container or header."""

from __future__ import annotations

import hashlib

import numpy as np


def pcm_hash(y: np.ndarray, sample_rate: int) -> str:
    """SHA-256 of decoded audio: the samples quantised to 16 bits, and the sample rate.

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        Mono audio decoded at the file's own rate (no resampling: a resampler would make
        different files equal or equal files different), float in [-1, 1].
    sample_rate : int
        Hz.

    Returns
    -------
    str
        64 hex digits. Two files hash equal iff their decoded 16-bit samples and rates are equal:
        an AU and a WAV of the same samples do, as do files differing only in header fields.
        The 16-bit quantisation makes the hash independent of the decoder's float format
        (int16 / 32768 is exact in float32).
    """
    pcm = np.clip(np.round(np.asarray(y, dtype=np.float64) * 32768.0), -32768, 32767).astype("<i2")
    digest = hashlib.sha256(int(sample_rate).to_bytes(4, "little"))
    digest.update(pcm.tobytes())
    return digest.hexdigest()
