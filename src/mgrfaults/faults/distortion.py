"""Distortions: hard clipping, as stored and after lossy coding, measured as the share of samples held at a ceiling.

A clipper holds the waveform at a ceiling for as long as the unclipped waveform would lie beyond it. That leaves a
flat top entered and left steeply: a kink, a jump in the derivative at both edges of the top. A waveform that is
not clipped reaches its maxima smoothly: one that stays near its maximum for several samples (a slow sine, a bass
note) approaches it slowly. So a top counts as clipped when it is flatter than the steepness of its edges allows a
smooth maximum to be (:func:`flat_crests`). Each side of the waveform (the positive and the negative samples) is
read on its own, two ways, and the larger count of each side is added (:func:`clip_fraction`):

* as stored (:func:`stored_clip_samples`): runs of samples within :data:`CEILING_TOLERANCE` (1e-3) of the side's
  own peak. The ceiling is the side's peak, not full scale: a gain change after the clipper (normalisation, dither,
  a lower level) keeps the flat tops below full scale, and an asymmetric clipper has two ceilings, one of which need
  not be the excerpt's peak. Where the file's codes near the peak are coarser than the tolerance (mu-law, A-law,
  8-bit: :func:`quantisation_step`), the top code alone is the ceiling and an edge must cross
  :data:`QUANTISATION_MARGIN` codes: a slow maximum holds its top code for several samples and leaves it by one.
* after lossy coding (:func:`coded_clip_samples`): an MP3 or Vorbis encoder drops the clipped waveform's upper
  partials, so its tops ring (the decoded peak lies 5-40 % above the ceiling at gain 4-25) and no run is flat. The
  tops' samples still pile up near the ceiling: a bump in the amplitude histogram that the distribution's tail below
  would not predict (:func:`ceiling_pileup`; Aleinik et al. 2014 read clipping from the histogram). A steady tone
  piles up at its level too (the arcsine density of a sine), so a pile-up counts only where it is a ceiling (fewer
  samples above it than in it, :data:`MAX_BEYOND`: a sustained bass note has the music's loud moments above it) and
  where the waveform, low-passed to remove most of the ringing (:data:`LOWPASS`), has flat tops with steep edges
  there for at least :data:`FLAT_SHARE` of the piled-up samples (a tone's tops stay smooth).

Calibration (``python benchmarks/distortion_battery.py``; its table and the command for the measure it replaced
are in README.md, "Fault detection from the audio"). Clean: 262 signals of 10 s (20 synthetic excerpts at
confound strength 0.5 and 1, stored as 16-bit, mu-law, A-law, 8-bit, MP3 128 kbps and Vorbis; 20 music-like
signals; sines of 20-2000 Hz at -1 to -40 dBFS as 16-bit, 40-1000 Hz on mu-law, A-law and 8-bit codes, as MP3 and
Vorbis, with noise 40 dB below, a sine bass under notes) measure at most 2e-4, none flagged (the former measure,
runs at the excerpt's peak, flagged 51: every sine below 120 Hz and tones on coarse codes). Clipped: the synthetic
excerpts at gain 2-25, as 16-bit, turned down to -1 dBFS with dither, at asymmetric or one-sided ceilings, on
mu-law codes, after MP3 (64, 128, 160 kbps at 22.05 kHz; 320 kbps at 44.1 kHz), Vorbis (about 56 kbps) or
resampling from 44.1 to 22.05 kHz: of the 662 signals whose clipper held 1 % of the samples or more, 608 are
flagged (the former measure: 245, none after coding). The margins:

* :data:`STORED_EDGE_MARGIN` = 4: sampled sines of 15-3000 Hz read at most 2.45; clipped tops far more (the stored
  cases are flagged alike with any margin from 2 to 6);
* :data:`CODED_EDGE_MARGIN` = 3 and :data:`FLAT_SHARE` = 0.2: among pile-ups of 1 % of the samples or more that
  pass :data:`MAX_BEYOND`, clean signals have at most 0.09 of them in flat tops (a sine bass under notes; 0.21 with a
  margin of 2.5), clipped and coded ones at least 0.19 (5th percentile 0.45);
* :data:`MAX_BEYOND` = 1: clean pile-ups with flat tops (the synthetic reggae's sine-like bass, tanh-compressed)
  have 2.2-3.3 times their excess above them, clipped and coded ones at most 0.41.

Threshold: :data:`CLIP_FRACTION_THRESHOLD` = 0.01 of the samples. A single clipped transient per second (3 samples
of 22050) is 1.4e-4: an occasional over-driven peak in a loud master, which nobody would call a distorted excerpt,
stays far below it, whereas audibly clipped music (Sturm's GTZAN distortions) is clipped on most beats.

Known limits, measured in the battery: music clipped lightly (gain 2: 0.2-13 % of its samples at the ceiling) is
flagged as stored where its tops of three samples or more reach 1 % (13 of the 15 with 1 % clipped), but after
coding in only 6-10 of 15-16, its short tops rounded by the codec into natural-looking maxima; one excerpt of 20 at
gain 4 (and one at gain 8 after MP3 at 64 kbps or Vorbis), clipped in short spikes, is missed after coding.
Music made of square waves has flat tops with steep edges that no clipper made: band-limited square waves are
flagged (an exact square, with no sample between its ceiling and a tenth below, tells no quantisation step and is
not). A bass saturated on purpose (an 808 driven into a tanh curve, a fuzz guitar without a cabinet's roll-off) is
flagged alike; soft clipping (a tanh curve rather than a ceiling) is often missed (an audit's probes, not in the
battery). Coarse codes (mu-law,
A-law, 8-bit, 16-bit below -30 dBFS) are read as stored only (:data:`MAX_RELATIVE_STEP`): lossy decoders write no
such codes. After coding the measure is the pile-up's excess, an estimate: where a steady note piles up at the
clipper's level it counts too (0.156 for a reggae excerpt whose clipper at gain 2 held 0.132).

Cost: see README.md (``python benchmarks/distortion_battery.py --time``).
"""

from __future__ import annotations

import numpy as np

MEASURE_VERSION = 2
"""Raised whenever :func:`clip_fraction` measures differently: the fault descriptors' rule takes it as a parameter,
so that shards computed by an earlier measure are computed again (1: runs at the excerpt's peak; 2: this module)."""
CLIP_FRACTION_THRESHOLD = 0.01
"""Share of samples held at a clipping ceiling from which an excerpt counts as distorted (see the module text)."""
MIN_PEAK = 2.0**-10
"""Full scale. A side (the positive or the negative samples) whose peak is below this (-60 dBFS, 32 steps of 16-bit
audio) is near-silence: its samples sit on a few quantisation steps, so runs "at its peak" are the steps, not a
clipper's ceiling."""

MIN_RUN = 3
"""Samples. A flat top must hold at least this many: two samples at one level happen at any maximum."""
CEILING_TOLERANCE = 1e-3
"""Relative distance below a side's peak that still counts as at the ceiling, as stored (-60 dB: several 16-bit
steps at any usual level, so dither or a gain change after the clipper keeps its tops within it)."""
STORED_EDGE_MARGIN = 4.0
"""How many times steeper than a smooth maximum of the same length the edges of a top at the stored ceiling must be
to count it as clipped (:func:`flat_crests`): sampled sines of 15-3000 Hz read at most 2.45."""
CODED_EDGE_MARGIN = 3.0
"""The same for the tops of the low-passed waveform at a pile-up (:func:`coded_clip_samples`), read against their
own mean height."""
QUANTISATION_MARGIN = 3.0
"""Quantisation steps: an edge into a stored top must be steeper than this many steps at the ceiling (a slow maximum
on coarse codes enters its top code by one or two steps)."""

LOWPASS = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
"""Binomial low-pass, cos(pi f / rate)^4: zero at the Nyquist frequency, half amplitude at 0.18 of the rate (4 kHz at
22.05 kHz). It removes most of a codec's ringing, which lies near the codec's cut-off a few kHz below the Nyquist
frequency, and rounds a clipped top's corners over two samples."""
PILEUP_FLOOR = 0.25
"""The histogram of a side's low-passed samples is read from this fraction of its peak up: a codec's ringing puts
the peak at up to 1.4 times the ceiling, and below a quarter of it lies the music's bulk."""
PILEUP_BIN = 0.01
"""Histogram bin width, as a fraction of the side's low-passed peak."""
PILEUP_Z = 3.0
"""Counts above the background (the lowest bin below) count as piled up only beyond this many Poisson standard
deviations of the background: a histogram's own noise is no pile-up."""
MIN_PILEUP = 100
"""Samples. A smaller pile-up is the histogram's chance (two cycles of a tone are a pile-up of two samples above an
empty background), not a ceiling; a clipper that holds 1 % of a 30-s excerpt holds 6615 samples."""
MAX_BEYOND = 1.0
"""A pile-up is a clipper's ceiling only where fewer samples lie above it than in its excess (:func:`ceiling_pileup`):
above a ceiling lies only the codec's ringing. A steady bass note piles up at its level too, with the loud moments
of the music above it (2.2-3.3 times its excess in the battery; clipped and coded music at most 0.41)."""
FLAT_SHARE = 0.2
"""Share of the piled-up samples that must lie in flat tops for the pile-up to count as clipping. In the battery a
pile-up of 1 % of the samples or more that passes :data:`MAX_BEYOND` measures at most 0.09 in clean signals (a sine
bass under notes) and at least 0.19 (5th percentile 0.45) in clipped and coded music."""
MAX_RELATIVE_STEP = 2.0**-10
"""Quantisation step over peak beyond which a side's histogram is not read for a pile-up: coarse codes (mu-law,
A-law, 8-bit, or 16-bit below -30 dBFS) comb the histogram, and are no lossy decoder's output."""


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) stops of the runs of True in a boolean array of shape (n,)."""
    padded = np.zeros(mask.size + 2, dtype=bool)  # one byte a sample: a 30-s excerpt's edges in a millisecond
    padded[1:-1] = mask
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[::2], edges[1::2]


def quantisation_step(side: np.ndarray, ceiling: float, levels: int = 8, depth: float = 0.1) -> float:
    """The smallest step between the distinct sample values just below a ceiling.

    Parameters
    ----------
    side : ndarray, shape (n,)
        Samples of one sign, as non-negative values (full scale 1).
    ceiling : float
        The side's peak.
    levels : int
        Distinct values below the ceiling compared: 8 are enough to find one step of a dense code (16-bit music
        near a clipped ceiling) and few enough that a sparse top (no clipping) reads as coarse rather than as fine.
    depth : float
        Only values within this relative depth below the ceiling are read (coarse codes grow with the level).

    Returns
    -------
    float
        Full scale; the ceiling itself where no other value lies that close (a step at least that coarse), and never
        less than the true step (mu-law at full scale: 0.031; 8-bit: 0.0078; 16-bit: 3.1e-5; float: ~1e-7).
    """
    near = side[(side >= ceiling * (1.0 - depth)) & (side < ceiling)]
    if near.size == 0:
        return float(ceiling)
    # a partial sort finds the top distinct values without sorting a whole clipped excerpt
    top = np.unique(near if near.size <= 4 * levels else np.partition(near, near.size - 4 * levels)[-4 * levels:])
    return float(np.min(np.diff(np.append(top[-levels:], ceiling))))


def finest_step(side: np.ndarray, floor: float = PILEUP_FLOOR, sample: int = 4096) -> float:
    """The smallest step between distinct values among the loud samples of a side: its quantisation where dense.

    Parameters
    ----------
    side : ndarray, shape (n,)
        Samples of one sign as non-negative values.
    floor : float
        Only values above this fraction of the side's peak are read (where the histogram is read).
    sample : int
        Values read, spread evenly over the excerpt: 4096 values over the ~22 000 16-bit codes between a quarter
        of full scale and full scale hold neighbouring codes many times over.

    Returns
    -------
    float
        Full scale; never less than the true step of the codes there (16-bit: 3.1e-5; mu-law between a quarter
        and full scale: 0.016); inf where fewer than two distinct values are loud.
    """
    loud = side[side > floor * side.max(initial=0.0)]
    distinct = np.unique(loud[::max(1, loud.size // sample)])
    return float(np.min(np.diff(distinct))) if distinct.size > 1 else float("inf")


def flat_crests(side: np.ndarray, level: float, depth: float | None = None, min_length: int = MIN_RUN,
                margin: float = CODED_EDGE_MARGIN, min_step: float = 0.0) -> int:
    """Samples in the tops of ``side`` above ``level`` that are flatter than their edges allow a smooth maximum.

    A smooth (parabolic) maximum that stays above a level for ``D`` samples, ``h`` above it on average, crosses the
    level with a slope of about ``6 h / D`` per sample. A top counts as flat (clipped) where both its edges are at
    least ``margin`` times steeper: ``min(entry, exit) * D / (6 h) >= margin``. Each edge is read as the steeper of
    the two single steps next to the crossing: a clipped top entered from a jagged waveform, or broken by a
    one-sample dip, has one steep step.

    Parameters
    ----------
    side : ndarray, shape (n,)
        Samples of one sign as non-negative values, zero elsewhere (full scale 1).
    level : float
        A top is a run of samples above this.
    depth : float or None
        Full scale. The height ``h`` of every top where the level lies ``depth`` below a known ceiling (audio as
        stored: a clipped top sits at the ceiling; a smooth one lies lower, so its ratio only shrinks, at most 2.45
        over sampled sines of 15-3000 Hz). None: each top's own mean height above the level (low-passed audio, whose
        ceiling the codec blurred; a sampled sine's top of three samples can then read up to 6.7, since its outer
        samples may barely pass the level, which is why such tops count only in bulk, :data:`FLAT_SHARE`).
    min_length : int
        Shortest top that counts (:data:`MIN_RUN`).
    margin : float
        :data:`STORED_EDGE_MARGIN` or :data:`CODED_EDGE_MARGIN`.
    min_step : float
        Full scale; both edges must also be steeper than this (the quantisation margin of stored coarse codes).

    Returns
    -------
    int
        The samples of the flat tops; a top without two samples on each side inside the excerpt is not read.
    """
    above_level = side > level
    start, stop = _runs(above_level)
    length = stop - start
    if depth is None:
        # each top's summed height over the samples above the level alone (few, in most excerpts)
        summed = np.cumsum(np.concatenate([[0.0], side[above_level] - level]), dtype=np.float64)[np.cumsum(length)]
        height = np.diff(np.concatenate([[0.0], summed])) / np.maximum(length, 1)
    else:
        height = np.full(length.shape, float(depth))
    keep = (length >= min_length) & (start >= 2) & (stop + 1 < side.size)
    start, stop, length, height = start[keep], stop[keep], length[keep], height[keep]
    entry = np.maximum(side[start] - side[start - 1], side[start - 1] - side[start - 2])
    exit_ = np.maximum(side[stop - 1] - side[stop], side[stop] - side[stop + 1])
    edge = np.minimum(entry, exit_)
    flat = (edge * length >= margin * 6.0 * height) & (edge > min_step)
    return int(length[flat].sum())


def stored_clip_samples(side: np.ndarray, tolerance: float = CEILING_TOLERANCE, min_peak: float = MIN_PEAK) -> int:
    """Samples of one side held flat at its ceiling as stored (hard clipping without later filtering).

    Parameters
    ----------
    side : ndarray, shape (n,)
        Samples of one sign as non-negative values, zero elsewhere.
    tolerance : float
        :data:`CEILING_TOLERANCE`; widened to half a quantisation step where the codes near the ceiling are coarser
        (the top code alone then counts as the ceiling, and an edge must cross :data:`QUANTISATION_MARGIN` steps).
    min_peak : float
        :data:`MIN_PEAK`.

    Returns
    -------
    int
    """
    ceiling = float(side.max(initial=0.0))
    if ceiling < min_peak:
        return 0
    step = quantisation_step(side, ceiling)
    depth = max(tolerance * ceiling, 0.5 * step)
    return flat_crests(side, ceiling - depth, depth=depth, margin=STORED_EDGE_MARGIN,
                       min_step=QUANTISATION_MARGIN * step if step > tolerance * ceiling else 0.0)


def ceiling_pileup(side: np.ndarray, floor: float = PILEUP_FLOOR, bin_width: float = PILEUP_BIN,
                   z: float = PILEUP_Z) -> tuple[int, float, int]:
    """The largest pile-up of samples near one level beyond what the amplitude distribution's tail below predicts.

    The histogram of the side's values from ``floor`` times its peak up is compared with the lowest count of any bin
    below each bin (the music's density falls towards the peak; a clipper's ceiling makes it rise again). The
    pile-up is the run of bins above that background around the bin that exceeds it most.

    Parameters
    ----------
    side : ndarray, shape (n,)
        Samples of one sign as non-negative values (usually low-passed), zero elsewhere.
    floor, bin_width, z : float
        :data:`PILEUP_FLOOR`, :data:`PILEUP_BIN`, :data:`PILEUP_Z`.

    Returns
    -------
    excess : int
        Samples above the background in the pile-up's bins (0 when none).
    bottom : float
        Full scale: the lower edge of the pile-up's bins.
    beyond : int
        Samples above the pile-up's bins (a ceiling's are few: :data:`MAX_BEYOND`).
    """
    peak = float(side.max(initial=0.0))
    if peak <= 0:
        return 0, 0.0, 0
    counts, edges = np.histogram(side[side > floor * peak], bins=int(round((1.0 - floor) / bin_width)),
                                 range=(floor * peak, peak))
    background = np.minimum.accumulate(counts)
    excess = counts - background - z * np.sqrt(background + 1.0)
    if not np.any(excess > 0):
        return 0, 0.0, 0
    top = int(np.argmax(excess))
    outside = np.flatnonzero(excess <= 0)
    low = int(outside[outside < top].max(initial=-1)) + 1
    high = int(outside[outside > top].min(initial=excess.size))
    return int(excess[low:high].sum()), float(edges[low]), int(counts[high:].sum())


def coded_clip_samples(side: np.ndarray, smooth: np.ndarray, min_peak: float = MIN_PEAK) -> int:
    """Samples of one side piled up at a clipping ceiling whose tops ringing has blurred (clipped, then coded).

    Parameters
    ----------
    side : ndarray, shape (n,)
        Samples of one sign as non-negative values, zero elsewhere, at the file's own rate.
    smooth : ndarray, shape (n,)
        The same side of the excerpt low-passed by :data:`LOWPASS` before the sides were split.
    min_peak : float
        :data:`MIN_PEAK`.

    Returns
    -------
    int
        The pile-up's excess (:func:`ceiling_pileup` of the low-passed side) where it holds :data:`MIN_PILEUP`
        samples or more, is a ceiling (at most :data:`MAX_BEYOND` times as many samples above it) and at least
        :data:`FLAT_SHARE` of it lies in flat tops (:func:`flat_crests` above the pile-up's lower edge), else 0; 0
        also for coarse codes (:data:`MAX_RELATIVE_STEP`).
    """
    peak = float(side.max(initial=0.0))
    if peak < min_peak or finest_step(side) > MAX_RELATIVE_STEP * peak:
        return 0
    excess, bottom, beyond = ceiling_pileup(smooth)
    if excess < MIN_PILEUP or beyond > MAX_BEYOND * excess:
        return 0
    flat = flat_crests(smooth, bottom)
    return excess if flat >= FLAT_SHARE * excess else 0


def clip_fraction(y: np.ndarray, min_peak: float = MIN_PEAK) -> float:
    """Share of samples held at a clipping ceiling, as stored or after lossy coding (see the module text).

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        Mono audio, float, full scale 1, at the file's own rate.
    min_peak : float
        Below this peak (full scale) a side is near-silence (:data:`MIN_PEAK`), never clipped.

    Returns
    -------
    float in [0, 1]
        Summed over the positive and the negative side, each the larger of :func:`stored_clip_samples` and
        :func:`coded_clip_samples`; 0 for silence and near-silence.
    """
    # single precision, as decoded: its 24-bit mantissa resolves far finer than the tolerances, at half the memory
    # traffic of a 30-s excerpt's passes
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        return 0.0
    smooth = np.convolve(y, LOWPASS.astype(np.float32), mode="same")
    held = 0
    for signed, signed_smooth in ((y, smooth), (-y, -smooth)):
        side = np.maximum(signed, 0.0)
        held += max(stored_clip_samples(side, min_peak=min_peak),
                    coded_clip_samples(side, np.maximum(signed_smooth, 0.0), min_peak=min_peak))
    return float(min(held / y.size, 1.0))


def is_distorted(fraction: float, threshold: float = CLIP_FRACTION_THRESHOLD) -> bool:
    """Whether a clip fraction (:func:`clip_fraction`) marks a distorted excerpt."""
    return bool(fraction >= threshold)
