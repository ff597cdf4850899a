"""Distortions: hard clipping, seen as runs of consecutive samples held at the excerpt's peak level.

A clipped waveform sits flat at its ceiling for several samples at a time; music that is not
clipped reaches its peak at isolated samples (a band-limited waveform is curved at its maxima).
The measure is the fraction of samples that lie in such runs. The ceiling is the excerpt's own
peak, not 1.0: clipping followed by a gain change (normalisation, re-encoding at a lower level)
keeps the flat runs below full scale.

Threshold: :data:`CLIP_FRACTION_THRESHOLD` = 0.01 (1 % of the samples in runs of at least
:data:`MIN_RUN` = 3 samples within 1e-3 (-60 dB) of the peak). On the synthetic default the clean
excerpts measure below 1e-4 and the clipped ones (gain 8-25 into the ceiling) above 0.1 (README
numbers from ``results/faults/detected.csv``). A single clipped transient per second (3 samples
of 22050) is 1.4e-4, so an occasional over-driven peak in a loud master, which nobody would call
a distorted excerpt, stays two orders of magnitude below the threshold, whereas audibly clipped
music (Sturm's GTZAN distortions) is clipped on most beats: well above 1 %.
"""

from __future__ import annotations

import numpy as np

MIN_RUN = 3
"""Samples: shorter runs at the peak happen in unclipped low-frequency waveforms."""
CEILING_TOLERANCE = 1e-3
"""Relative distance to the peak that still counts as at the ceiling (-60 dB; several 16-bit steps at any usual level)."""
CLIP_FRACTION_THRESHOLD = 0.01
"""Fraction of samples in clipped runs above which an excerpt counts as distorted (see the module text)."""
MIN_PEAK = 2.0**-10
"""Full scale. An excerpt whose loudest sample is below this (-60 dBFS, 32 steps of 16-bit audio) is near-silence:
its samples sit on a few quantisation steps, so runs "at its peak" are the steps, not a clipper's ceiling."""


def clip_fraction(y: np.ndarray, min_run: int = MIN_RUN, tolerance: float = CEILING_TOLERANCE,
                  min_peak: float = MIN_PEAK) -> float:
    """Fraction of samples in runs of at least ``min_run`` consecutive samples at the peak level.

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        Mono audio, float.
    min_run : int
        Shortest run that counts.
    tolerance : float
        A sample is at the ceiling when ``|y| >= peak * (1 - tolerance)``; the positive and the
        negative ceiling each count (a clipper is symmetric, an asymmetric one is caught by either side).
    min_peak : float
        Below this peak (full scale) the excerpt is near-silence (:data:`MIN_PEAK`), never clipped.

    Returns
    -------
    float in [0, 1]
        0 for silence and near-silence.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        return 0.0
    peak = float(np.max(np.abs(y)))
    if peak < min_peak or peak <= 0:
        return 0.0
    at_ceiling = np.abs(y) >= peak * (1.0 - tolerance)
    # run lengths of consecutive True values
    padded = np.concatenate([[False], at_ceiling, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    lengths = change[1::2] - change[::2]
    return float(lengths[lengths >= min_run].sum() / y.size)


def is_distorted(fraction: float, threshold: float = CLIP_FRACTION_THRESHOLD) -> bool:
    """Whether a clip fraction (:func:`clip_fraction`) marks a distorted excerpt."""
    return bool(fraction >= threshold)
