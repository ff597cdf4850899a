"""Recording replicas: spectral-peak landmark fingerprints and an index of their hashes.

The method is Wang's (2003, "An industrial-strength audio search algorithm", ISMIR; the Shazam
matcher) as re-implemented by Ellis in audfprint (2014, https://github.com/dpwe/audfprint):

1. a log-magnitude spectrogram at a low rate (11025 Hz, 512-point FFT, hop 256: 23.2 ms frames);
2. its local maxima (peaks), a bounded number per second, relative to the excerpt's loudest bin
   (so a level change moves no peak);
3. landmarks: each peak paired with the next few peaks in a target zone after it; the hash of a
   landmark is (anchor frequency, frequency difference, time difference), and its time is the
   anchor's frame;
4. matching: two excerpts that share a recording share many hashes *at one constant time offset*
   (anchor time in one minus anchor time in the other). Counting shared hashes per (pair, offset)
   through an index sorted by hash compares only excerpts that share hashes, never raw
   spectrograms at every offset, so the cost grows with the number of shared hashes, not with the
   number of pairs times offsets;
5. a fine check of the candidates only (:func:`verify_pairs`, coarse-to-fine): the log-mel
   spectrograms correlated at the matched offsets and at every other offset of enough overlap
   (:func:`correlation_at_every_offset`: on looped music the landmarks vote at every bar, and the
   recording's own offset can miss the best few), or one offset standing far above the others.

Why landmarks rather than chroma cross-correlation: a recording replica is the *same* recording
(another start, level, noise floor or encoding), which is exactly what landmark fingerprints are
made to find; peaks survive additive noise and lossy coding because they are the loudest points of
the spectrum, and the offset comes out of the match itself. Chroma correlation also matches
different recordings of the same piece (covers), which are not replicas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_FAULTS = section_defaults("faults")

FINGERPRINT_RATE = 11025
"""Hz: audfprint's analysis rate; the peaks of music lie well below 5.5 kHz."""
N_FFT = 512
HOP = 256
"""Samples at :data:`FINGERPRINT_RATE`: 23.2 ms frames, audfprint's values."""

DEFAULT_PEAK_PARAMS = {
    "peaks_per_second": 30,  # audfprint's default density is ~20/s; a little more helps short excerpts
    "neighbourhood_bins": 15,  # a peak is the maximum within +-7 bins (+-150 Hz) ...
    "neighbourhood_frames": 9,  # ... and +-4 frames (+-93 ms)
    "dynamic_range_db": 60.0,  # peaks quieter than the excerpt's loudest bin by more than this are ignored
    "fan_out": 5,  # landmarks per anchor (audfprint: 3-10)
    "max_dt": 63,  # frames (1.46 s) of the target zone after the anchor
    "max_df": 31,  # bins (+-670 Hz) of the target zone
}
DEFAULT_MATCH_PARAMS = {
    "min_matches": 15,  # landmarks aligned at one offset (+-1 frame): a candidate for the fine stage
    "min_score": 0.01,  # aligned landmarks / landmarks of the smaller excerpt
    "top_offsets": 10,  # candidate offsets per pair checked by the fine stage
    "max_bucket": 200,  # hashes held by more landmarks than this are skipped (too common to tell excerpts apart)
}
DEFAULT_VERIFY_PARAMS = {
    "min_correlation": 0.815,  # log-mel correlation at the offset (see verify_pairs)
    "min_band_correlation": _FAULTS["min_band_correlation"],  # and its least agreeing quarter of bands (band_agreement)
    "min_peak_ratio": 8.0,  # or: landmarks at the best offset / at the best other offset ...
    "min_unique_matches": 30,  # ... with at least this many landmarks at the best offset
}
N_MELS = 32
"""Mel bands of the fine stage's spectrogram (coarse: it must tell one recording from another, not hear detail)."""


def spectrogram_db(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """Log-magnitude spectrogram at the fingerprint rate.

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        Mono audio.
    sample_rate : int
        Hz.

    Returns
    -------
    ndarray, shape (N_FFT // 2 + 1, n_frames), float32
        dB (20 log10 magnitude). Audio shorter than one frame (``N_FFT`` samples at the
        fingerprint rate, 46 ms) is zero-padded to one frame, as the feature stage's
        :func:`mgrfaults.features.extract.stft_frames` does: one frame gives no landmark
        (a landmark pairs peaks of two frames), so such an excerpt matches nothing.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if sample_rate != FINGERPRINT_RATE and len(y) > 0:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=FINGERPRINT_RATE, res_type="soxr_hq")
    if len(y) < N_FFT:
        # librosa refuses an uncentred frame longer than the signal; the data and feature
        # stages accept such excerpts, so this stage must describe them too
        y = np.pad(y, (0, N_FFT - len(y)))
    mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, window="hann", center=False))
    return (20.0 * np.log10(mag + 1e-9)).astype(np.float32)


def find_peaks(spec_db: np.ndarray, peaks_per_second: float = _FAULTS["peaks_per_second"], neighbourhood_bins: int = 15,
               neighbourhood_frames: int = 9, dynamic_range_db: float = 60.0) -> np.ndarray:
    """Local maxima of a spectrogram, at most ``peaks_per_second`` of the strongest in each second.

    Parameters
    ----------
    spec_db : ndarray, shape (n_bins, n_frames)
        dB spectrogram (:func:`spectrogram_db`).
    peaks_per_second, neighbourhood_bins, neighbourhood_frames, dynamic_range_db
        See :data:`DEFAULT_PEAK_PARAMS`.

    Returns
    -------
    ndarray of int, shape (n_peaks, 2)
        (frame, bin) of each peak, sorted by frame then bin.
    """
    if spec_db.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    local_max = maximum_filter(spec_db, size=(neighbourhood_bins, neighbourhood_frames), mode="constant", cval=-np.inf)
    floor = spec_db.max() - dynamic_range_db  # relative to the loudest bin: a level change moves nothing
    is_peak = (spec_db == local_max) & (spec_db > floor)
    bins, frames = np.nonzero(is_peak)
    values = spec_db[bins, frames]
    # the strongest peaks of each one-second block: even coverage over time, bounded density
    frames_per_block = max(1, int(round(FINGERPRINT_RATE / HOP)))
    block = frames // frames_per_block
    order = np.lexsort((-values, block))
    block_sorted = block[order]
    starts = np.searchsorted(block_sorted, block_sorted, side="left")
    rank = np.arange(len(order)) - starts
    keep = order[rank < int(peaks_per_second)]
    peaks = np.stack([frames[keep], bins[keep]], axis=1).astype(np.int64)
    return peaks[np.lexsort((peaks[:, 1], peaks[:, 0]))]


def landmark_hashes(peaks: np.ndarray, fan_out: int = 5, max_dt: int = 63, max_df: int = 31) -> tuple[np.ndarray, np.ndarray]:
    """Pair each peak with the next ``fan_out`` peaks of its target zone and hash the pairs.

    Parameters
    ----------
    peaks : ndarray of int, shape (n_peaks, 2)
        (frame, bin), sorted by frame (:func:`find_peaks`).
    fan_out : int
    max_dt : int
        Frames: the target zone is 1..max_dt frames after the anchor (6 bits).
    max_df : int
        Bins: and within +-max_df bins of it (6 bits).

    Returns
    -------
    hashes : ndarray of int64, shape (n_landmarks,)
        ``bin1 << 12 | (df + 32) << 6 | dt``.
    times : ndarray of int64, shape (n_landmarks,)
        Anchor frame of each landmark.
    """
    n = len(peaks)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # candidates: the next `window` peaks in time order (enough to hold the zone at the peak density)
    window = min(n - 1, 8 * fan_out + 32)
    i = np.repeat(np.arange(n), window)
    j = i + np.tile(np.arange(1, window + 1), n)
    valid = j < n
    j = np.where(valid, j, 0)
    dt = peaks[j, 0] - peaks[i, 0]
    df = peaks[j, 1] - peaks[i, 1]
    valid &= (dt >= 1) & (dt <= max_dt) & (np.abs(df) <= max_df)
    valid = valid.reshape(n, window)
    # the first fan_out valid targets of each anchor
    valid &= np.cumsum(valid, axis=1) <= fan_out
    flat = valid.ravel()
    i, j, dt, df = i[flat], j[flat], dt[flat], df[flat]
    hashes = (peaks[i, 1] << 12) | ((df + 32) << 6) | dt
    return hashes.astype(np.int64), peaks[i, 0].astype(np.int64)


def _bucket_pairs(sizes: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j), i < j, of positions within the same bucket (buckets are contiguous runs)."""
    # element at rank r of a bucket of size m pairs with the m - r - 1 after it
    rank = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    first = np.repeat(starts, sizes) + rank  # absolute position of each element
    n_after = np.repeat(sizes, sizes) - rank - 1
    left = np.repeat(first, n_after)
    step = np.arange(n_after.sum()) - np.repeat(np.cumsum(n_after) - n_after, n_after) + 1
    return left, left + step


def match_landmarks(hashes: list[np.ndarray], times: list[np.ndarray], min_matches: int = _FAULTS["min_matches"],
                    min_score: float = 0.01, max_bucket: int = 200, top_offsets: int = 10,
                    chunk_pairs: int = 20_000_000) -> pd.DataFrame:
    """Pairs of excerpts sharing many landmarks at one time offset, through an index sorted by hash.

    Parameters
    ----------
    hashes, times : list of ndarray of int64, one per excerpt
        From :func:`landmark_hashes` (via :func:`mgrfaults.faults.shards.excerpt_descriptors`).
    min_matches : int
        Landmarks aligned at the best offset (that frame and its two neighbours: peaks of a
        recording started at another sample land up to a frame apart) needed for a match.
    min_score : float
        And aligned landmarks / landmarks of the excerpt with fewer of them.
    max_bucket : int
        Hashes held by more landmarks than this are skipped: shared by many excerpts, they tell
        none apart, and their pairs would dominate the cost (audfprint caps its buckets the same way).
    top_offsets : int
        Offsets kept per matching pair, best first: the candidates of the fine stage
        (:func:`verify_pairs`), because a loop (a drum pattern) also votes at its period.
    chunk_pairs : int
        Candidate pairs handled at once (bounds memory).

    Returns
    -------
    DataFrame
        Up to ``top_offsets`` rows per matching pair (a pair matches when its best offset passes
        both thresholds), best first: a, b (excerpt indices, a < b), matches (aligned landmarks),
        score (matches / min(n_a, n_b)), offset_frames (a's frame minus b's frame of the same
        content: b starts that far into a; negative when a starts into b), offset_s (the same in
        seconds). Sorted by a, b.
    """
    counts = np.array([len(h) for h in hashes], dtype=np.int64)
    empty = pd.DataFrame({"a": pd.Series(dtype=int), "b": pd.Series(dtype=int), "matches": pd.Series(dtype=int),
                          "score": pd.Series(dtype=float), "offset_frames": pd.Series(dtype=int),
                          "offset_s": pd.Series(dtype=float)})
    if counts.sum() == 0 or len(hashes) < 2:
        return empty
    H = np.concatenate(hashes)
    T = np.concatenate(times)
    K = np.repeat(np.arange(len(hashes), dtype=np.int64), counts)
    order = np.argsort(H, kind="stable")
    H, T, K = H[order], T[order], K[order]
    boundaries = np.flatnonzero(np.diff(H)) + 1
    starts = np.concatenate([[0], boundaries])
    sizes = np.diff(np.concatenate([starts, [len(H)]]))
    usable = (sizes >= 2) & (sizes <= max_bucket)
    starts, sizes = starts[usable], sizes[usable]
    max_offset = int(T.max()) + 1
    n_offsets = 2 * max_offset + 1
    n_tracks = len(hashes)
    keys = []
    # chunks of whole buckets, each giving at most ~chunk_pairs candidate pairs
    pairs_per_bucket = sizes * (sizes - 1) // 2
    cumulative = np.cumsum(pairs_per_bucket)
    edges = np.searchsorted(cumulative, np.arange(chunk_pairs, cumulative[-1] + chunk_pairs, chunk_pairs) if len(cumulative) else [], side="right")
    lo = 0
    for hi in list(edges) + [len(starts)]:
        if hi <= lo:
            continue
        left, right = _bucket_pairs(sizes[lo:hi], starts[lo:hi])
        lo = hi
        ka, kb = K[left], K[right]
        different = ka != kb
        ka, kb, ta, tb = ka[different], kb[different], T[left][different], T[right][different]
        swap = ka > kb
        ka, kb = np.where(swap, kb, ka), np.where(swap, ka, kb)
        ta, tb = np.where(swap, tb, ta), np.where(swap, ta, tb)
        keys.append((ka * n_tracks + kb) * n_offsets + (ta - tb + max_offset))
    if not keys:
        return empty
    unique, votes = np.unique(np.concatenate(keys), return_counts=True)
    pair = unique // n_offsets
    offset = unique % n_offsets - max_offset
    # votes at offset d plus d - 1 and d + 1 (the same pair only)
    smoothed = votes.copy()
    for shift in (-1, 1):
        neighbour = np.searchsorted(unique, unique + shift)
        neighbour_ok = neighbour < len(unique)
        neighbour = np.minimum(neighbour, len(unique) - 1)
        hit = neighbour_ok & (unique[neighbour] == unique + shift) & (pair[neighbour] == pair)
        smoothed += np.where(hit, votes[neighbour], 0)
    # the best offsets of each pair (a periodic part, drums on a loop, also votes at its period)
    order = np.lexsort((-smoothed, pair))
    pair_sorted = pair[order]
    rank = np.arange(len(order)) - np.searchsorted(pair_sorted, pair_sorted, side="left")
    best_of_pair = np.zeros(len(order), dtype=np.int64)
    best_of_pair[order] = smoothed[order][np.searchsorted(pair_sorted, pair_sorted, side="left")]
    a, b = pair // n_tracks, pair % n_tracks
    score_best = best_of_pair / np.maximum(np.minimum(counts[a], counts[b]), 1)
    keep = np.zeros(len(order), dtype=bool)
    keep[order[rank < top_offsets]] = True
    keep &= (best_of_pair >= min_matches) & (score_best >= min_score)
    out = pd.DataFrame({"a": a[keep], "b": b[keep], "matches": smoothed[keep],
                        "score": smoothed[keep] / np.maximum(np.minimum(counts[a[keep]], counts[b[keep]]), 1),
                        "offset_frames": offset[keep]})
    out["offset_s"] = out["offset_frames"] * HOP / FINGERPRINT_RATE
    return out.sort_values(["a", "b", "matches", "offset_frames"], ascending=[True, True, False, True],
                           kind="stable").reset_index(drop=True)


def log_mel(spec_db: np.ndarray, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel spectrogram (dB) from :func:`spectrogram_db`: the fine stage's compact view.

    Returns
    -------
    ndarray, shape (n_mels, n_frames), float16
    """
    import librosa

    fb = librosa.filters.mel(sr=FINGERPRINT_RATE, n_fft=N_FFT, n_mels=n_mels)
    power = 10.0 ** (spec_db.astype(np.float64) / 10.0)
    return (10.0 * np.log10(fb @ power + 1e-10)).astype(np.float16)


def aligned_correlation(mel_a: np.ndarray, mel_b: np.ndarray, offset: int) -> float:
    """Correlation of two log-mel spectrograms over their overlap when b starts ``offset`` frames into a.

    Each band's mean over the overlap is removed first (an equaliser or a level change moves a
    band's mean, not its course over time); the correlation is over all cells of the overlap.

    Parameters
    ----------
    mel_a, mel_b : ndarray, shape (n_mels, n_frames_a), (n_mels, n_frames_b)
    offset : int
        Frames; negative: a starts ``-offset`` frames into b.

    Returns
    -------
    float in [-1, 1]; 0 when the overlap is shorter than 2 frames.
    """
    overlap = _centred_overlap(mel_a, mel_b, offset)
    if overlap is None:
        return 0.0
    A, B = overlap
    den = np.sqrt((A * A).sum() * (B * B).sum())
    return float((A * B).sum() / den) if den > 0 else 0.0


def _centred_overlap(mel_a: np.ndarray, mel_b: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The two spectrograms over their overlap when b starts ``offset`` frames into a, each band's mean over it
    removed (float64); None where the overlap is shorter than 2 frames."""
    A = mel_a[:, offset:] if offset >= 0 else mel_a
    B = mel_b if offset >= 0 else mel_b[:, -offset:]
    n = min(A.shape[1], B.shape[1])
    if n < 2:
        return None
    A = A[:, :n].astype(np.float64)
    B = B[:, :n].astype(np.float64)
    return A - A.mean(axis=1, keepdims=True), B - B.mean(axis=1, keepdims=True)


BAND_STRUCTURE = 0.5
"""Lag-1 autocorrelation over the overlap (frames of 23 ms) from which a band holds music in both excerpts, not a noise
floor: notes and hits last several frames, a noise floor changes from frame to frame. A noise floor above the music
(audit 51's replicas through the synthetic production chain, a drive raising it) reads 0.1-0.4; music's bands 0.57-0.97,
the low-mid bands of a voice and bass line lowest (audit 50's drum-machine songs). From 0.55 on, too many such bands are
left out: the one false pair at 30 excerpts per genre reads 0.681 at 0.55 and passes ``faults.min_band_correlation``
0.68; at 0.5, 0.631."""
MIN_STRUCTURED_BANDS = 4
"""Fewer structured bands than this: :func:`band_agreement` takes every band that varies."""


def band_agreement(mel_a: np.ndarray, mel_b: np.ndarray, offset: int, quantile: float = 0.25) -> float:
    """How well the bands of music that agree least correlate over the overlap: the ``quantile`` of the per-band
    correlations over the bands that hold music in both excerpts.

    :func:`aligned_correlation` pools every band, so bands that agree closely can carry it alone: different songs
    on one drum machine at one tempo (a genre of one era) correlate at 0.85-0.93 over all bands, their kick's and
    hi-hat's bands near 1 while the bands of their melody, chords and voice correlate at 0.0-0.6 (audit 50: 30
    drum-machine songs of one kit, 11 pairs called replicas). One recording agrees in every band of its music,
    whatever its level, encoding or noise floor; where a noise floor (raised by a drive, say) is above the music in
    the top bands, those bands correlate poorly in a true replica too (audit 51: 5 of 98 replicas made by the
    synthetic generator's production chain lost), so a band counts only where it holds music in both excerpts:
    a lag-1 autocorrelation of at least :data:`BAND_STRUCTURE`, notes and hits lasting several frames where a noise
    floor changes from frame to frame. A band without variation (cut by a codec's low-pass, floored flat) never
    counts; with fewer than :data:`MIN_STRUCTURED_BANDS` structured bands, every band that varies does.
    On the synthetic default the 3 replica pairs read 0.913 or more and the other 54 candidates at most 0.637; at 30
    excerpts per genre the 6 replica pairs 0.721-0.971 and the one other pair with a pooled correlation of 0.815 or
    more (two artists' pieces) 0.631 (``python benchmarks/replica_bands.py <results>``, which prints the measure for
    every candidate of a run); hence ``faults.min_band_correlation`` 0.68. Not told apart (audits 51 and 52): songs
    on one drum loop whose other parts change little from frame to frame (pads, drones, sustained strings, at any
    level: with each band's mean taken out, the drums' hits carry its course) or are 6 dB or more under the drums,
    and songs over one backing track.

    Parameters
    ----------
    mel_a, mel_b : ndarray, shape (n_mels, n_frames_a), (n_mels, n_frames_b)
        Log-mel spectrograms (dB), as :func:`aligned_correlation` takes them (floored, :func:`floor_at_median`).
    offset : int
        Frames; negative: a starts ``-offset`` frames into b.
    quantile : float
        Of the per-band correlations.

    Returns
    -------
    float in [-1, 1]; 0 when the overlap is shorter than 2 frames or no band varies in both.
    """
    overlap = _centred_overlap(mel_a, mel_b, offset)
    if overlap is None:
        return 0.0
    A, B = overlap
    energy_a, energy_b = (A * A).sum(axis=1), (B * B).sum(axis=1)
    den = np.sqrt(energy_a * energy_b)
    varies = den > 1e-9 * max(float(den.max(initial=0.0)), 1e-300)
    if not varies.any():
        return 0.0
    correlation = (A * B).sum(axis=1)[varies] / den[varies]
    lag1 = np.minimum((A[:, 1:] * A[:, :-1]).sum(axis=1) / np.maximum(energy_a, 1e-300),
                      (B[:, 1:] * B[:, :-1]).sum(axis=1) / np.maximum(energy_b, 1e-300))[varies]
    music = lag1 >= BAND_STRUCTURE
    return float(np.quantile(correlation[music] if music.sum() >= MIN_STRUCTURED_BANDS else correlation, quantile))


DENSE_MIN_OVERLAP_S = 5.0
"""Seconds of overlap (or the whole shorter excerpt, if shorter) that the search over every offset asks: over less, two
different pieces of one artist correlate higher by chance (at 3 s the synthetic default's best non-replica candidate
reads 0.782 at some offset, at 5 s 0.724, as at its landmark offsets; at 30 excerpts per genre 0.828 and 0.783, against
0.815 needed), and a shorter overlap the landmarks find as they always did."""
DENSE_PEAKS = 5
"""Best local maxima of :func:`correlation_at_every_offset` checked exactly by :func:`verify_pairs`."""
DENSE_MIN_MARGIN = 0.05
"""How far an offset only the search over every offset found must correlate above every offset more than
:data:`DENSE_APART` frames from it. Different songs on one drum loop and tempo correlate nearly alike a bar apart (the
drums align at every bar, the other parts by chance): the best and the next best of such pairs of audit 52's that
the search alone would call replicas differ by 0.001-0.010, where the copies it finds (whose landmarks voted at other
bars) stand 0.108-0.175 above their next best offset."""
DENSE_REFINE_MARGIN = 0.02
"""How much better than the landmarks' confirmed offset the search's must correlate to replace it. On a loop every
bar aligns about alike (bar alignments of one song, and of songs on one loop, differ by 0.001-0.010: audits 52 and
56), and a whole-bar move by such a difference reports a wrong offset; the synthetic replica at 30 excerpts per genre
that the landmarks place a bar off correlates 0.035 better at its rendered offset."""
DENSE_APART = 10
"""Frames (0.23 s) from an offset beyond which another offset is another alignment, not the same one's slope."""


def correlation_at_every_offset(mel_a: np.ndarray, mel_b: np.ndarray, min_overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`aligned_correlation` at every offset with an overlap of at least ``min_overlap`` frames, through FFTs.

    Per band, the sums over the overlap (of a, b, a², b² and a·b) give each band's mean-removed covariance and
    variances at once for all offsets (a cross-correlation and cumulative sums); pooled over the bands as
    :func:`aligned_correlation` pools them.

    Parameters
    ----------
    mel_a, mel_b : ndarray, shape (n_mels, n_frames_a), (n_mels, n_frames_b)
    min_overlap : int
        Frames, at least 2.

    Returns
    -------
    offsets : ndarray of int, shape (n_offsets,)
        b starts that many frames into a (negative: a starts into b), increasing.
    correlation : ndarray of float, shape (n_offsets,)
        The pooled correlation at each offset (0 where no band varies); empty arrays when the excerpts are shorter
        than ``min_overlap``.
    """
    from scipy.signal import fftconvolve

    A = np.asarray(mel_a, dtype=np.float64)
    B = np.asarray(mel_b, dtype=np.float64)
    # each band's overall mean out first: the sums below then stay small beside their differences
    A = A - A.mean(axis=1, keepdims=True)
    B = B - B.mean(axis=1, keepdims=True)
    n_a, n_b = A.shape[1], B.shape[1]
    min_overlap = max(int(min_overlap), 2)
    if min(n_a, n_b) < min_overlap:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    offsets = np.arange(-(n_b - min_overlap), n_a - min_overlap + 1)
    # overlap when b starts d frames into a: a's frames [max(d, 0), min(n_a, n_b + d)), b's the same less d
    a_lo, a_hi = np.maximum(offsets, 0), np.minimum(n_a, n_b + offsets)
    b_lo, b_hi = a_lo - offsets, a_hi - offsets
    n = (a_hi - a_lo).astype(np.float64)

    def window_sums(X, lo, hi):
        cumulative = np.concatenate([np.zeros((X.shape[0], 1)), np.cumsum(X, axis=1)], axis=1)
        return cumulative[:, hi] - cumulative[:, lo]

    # fftconvolve(a, b reversed)[j] = sum_t a[t] b[t - d] with d = j - (n_b - 1)
    products = fftconvolve(A, B[:, ::-1], mode="full", axes=1)[:, offsets + n_b - 1]
    sum_a, sum_b = window_sums(A, a_lo, a_hi), window_sums(B, b_lo, b_hi)
    covariance = (products - sum_a * sum_b / n).sum(axis=0)
    variance_a = (window_sums(A * A, a_lo, a_hi) - sum_a ** 2 / n).sum(axis=0)
    variance_b = (window_sums(B * B, b_lo, b_hi) - sum_b ** 2 / n).sum(axis=0)
    den = np.sqrt(np.maximum(variance_a, 0.0) * np.maximum(variance_b, 0.0))
    scale = max(float(den.max(initial=0.0)), 1e-300)
    correlation = np.where(den > 1e-9 * scale, covariance / np.maximum(den, 1e-300), 0.0)
    return offsets, np.clip(correlation, -1.0, 1.0)


def best_offsets(offsets: np.ndarray, correlation: np.ndarray, count: int = DENSE_PEAKS) -> np.ndarray:
    """The offsets of the ``count`` highest local maxima of a correlation over offsets, best first.

    A local maximum is at least its neighbour before and above the one after (a plateau keeps its last offset);
    the ends count against their one neighbour.
    """
    if len(correlation) == 0:
        return np.zeros(0, dtype=np.int64)
    padded = np.concatenate([[-np.inf], correlation, [-np.inf]])
    peak = (correlation >= padded[:-2]) & (correlation > padded[2:])
    candidates = np.flatnonzero(peak)
    order = np.argsort(-correlation[candidates], kind="stable")[:count]
    return offsets[candidates[order]]


def search_overlap(mel_a: np.ndarray, mel_b: np.ndarray) -> int:
    """Frames of overlap the search over every offset asks of two spectrograms: :data:`DENSE_MIN_OVERLAP_S`, or the
    shorter excerpt where it is shorter."""
    return int(min(mel_a.shape[1], mel_b.shape[1], round(DENSE_MIN_OVERLAP_S * FINGERPRINT_RATE / HOP)))


def _search_every_offset(mel_a: np.ndarray, mel_b: np.ndarray, min_correlation: float, min_band_correlation: float,
                         min_margin: float = -np.inf) -> tuple[float, int] | None:
    """(correlation, offset) of the best-correlating offset of two floored spectrograms that passes both checks of
    :func:`verify_pairs` and stands ``min_margin`` above every offset more than :data:`DENSE_APART` frames from it,
    searched over every offset with enough overlap (:data:`DENSE_MIN_OVERLAP_S`); None if none passes."""
    offsets, correlation = correlation_at_every_offset(mel_a, mel_b, search_overlap(mel_a, mel_b))
    for offset in best_offsets(offsets, correlation):
        # the FFT's figure proposes; the direct one decides, as for a landmark offset
        score = aligned_correlation(mel_a, mel_b, int(offset))
        if score < min_correlation:
            break  # best first: the others correlate less still
        elsewhere = correlation[np.abs(offsets - offset) > DENSE_APART]
        if score - float(elsewhere.max(initial=-1.0)) < min_margin:
            continue
        if band_agreement(mel_a, mel_b, int(offset)) >= min_band_correlation:
            return score, int(offset)
    return None


def floor_at_median(mel: np.ndarray) -> np.ndarray:
    """Each band raised to at least its median over time (dB), float64.

    The quieter half of each band is mostly the noise floor and reverb tail, which differ between
    two renderings or transfers of one recording; flattening it leaves the events (notes, hits)
    that the correlation should compare.
    """
    mel = np.asarray(mel, dtype=np.float64)
    return np.maximum(mel, np.median(mel, axis=1, keepdims=True))


def verify_pairs(candidates: pd.DataFrame, mels: list[np.ndarray], min_correlation: float = _FAULTS["min_correlation"],
                 min_peak_ratio: float = 8.0, min_unique_matches: int = 30,
                 min_band_correlation: float = _FAULTS["min_band_correlation"]) -> pd.DataFrame:
    """The fine stage: keep candidate pairs whose spectrograms correlate at one of their offsets.

    Landmarks shared at one offset also come from *different* recordings that share material
    (one artist's chords, bass line and drum loop at nearly one tempo, as in the synthetic
    genres); a recording replica shares everything, the melody and its timing included. Aligning
    the whole log-mel spectrograms (each band floored at its median, :func:`floor_at_median`) at
    each candidate offset (and one frame either side) and correlating them tells the two apart:
    on the synthetic default the six recording replicas correlate at 0.91 or more and the best
    of the other 328 candidates at 0.798 (seed 7: 0.92 and 0.786); on the tiny preset (6-s
    excerpts, overlaps of 2-5 s) a replica correlates at 0.83. Hence 0.815, between the two.
    At that offset the bands that agree least must correlate too (:func:`band_agreement`,
    ``min_band_correlation``): songs sharing a drum loop at one tempo pass the pooled correlation on
    their drums' bands alone.

    The landmarks of two copies of looped music vote at every bar, and the copy's own offset can miss the
    pair's ``top_offsets`` best: in audit 52's copies made by the synthetic production chain, 4 of 108 were
    confirmed at none of them (the drums aligned a bar off, the notes not). So every candidate pair is also
    correlated at every offset with :data:`DENSE_MIN_OVERLAP_S` of overlap
    (:func:`correlation_at_every_offset`, FFTs), and its best local maxima are checked as a landmark offset
    is, and, where no landmark offset confirmed the pair, must stand :data:`DENSE_MIN_MARGIN` above every
    other alignment (songs on one loop align nearly alike at every bar); the best that passes replaces the
    landmarks' offset where it correlates :data:`DENSE_REFINE_MARGIN` more (a synthetic replica at 30 excerpts
    per genre: 0.920 at its rendered offset, 3.84 s, against 0.885 a bar off, where the landmarks put it).
    Over 3 s of overlap the best of any offset of two different pieces correlates higher by chance (the
    synthetic default's best non-replica: 0.782 against 0.724 at its landmark offsets); over 5 s as at the
    landmark offsets.

    A pair also passes when its landmarks single out one offset: Wang's significance test (a
    histogram of offsets with one peak far above the rest). A loop shared by two pieces votes at
    several offsets a period apart (best / best other offset at most 3.2 among the synthetic
    default's non-replicas), while one recording with a noise floor that masks much of the
    spectrogram (where the correlation drops) still puts its landmarks at one offset (ratios of
    50-200 on the constructed replicas of the tests).

    Parameters
    ----------
    candidates : DataFrame
        :func:`match_landmarks` output (a, b, matches, score, offset_frames, offset_s).
    mels : list of ndarray, shape (n_mels, n_frames)
        :func:`log_mel` of each excerpt.
    min_correlation : float
    min_band_correlation : float
        :func:`band_agreement` needed at the best-correlating offset beside ``min_correlation``.
    min_peak_ratio : float
        Landmarks at the best offset (+-1 frame) over those at the best offset more than 2
        frames away (1 when there is none).
    min_unique_matches : int
        Landmarks at the best offset needed for the ratio path.

    Returns
    -------
    DataFrame
        One row per verified pair: a, b, matches (landmarks at that offset, +-1 frame, among the
        pair's candidates: 0 for an offset only the search over every offset proposed), score (the
        correlation), offset_frames, offset_s (at the best-correlating offset).
    """
    rows = []
    floored: dict[int, np.ndarray] = {}

    def view(i):
        if i not in floored:
            floored[i] = floor_at_median(mels[i])
        return floored[i]

    for (a, b), group in candidates.groupby(["a", "b"], sort=True):
        best = (-np.inf, 0, 0)
        for row in group.itertuples(index=False):
            for d in (-1, 0, 1):
                c = aligned_correlation(view(a), view(b), int(row.offset_frames) + d)
                if c > best[0]:
                    best = (c, int(row.offset_frames) + d, int(row.matches))
        top = group.iloc[0]  # candidates come best first
        far = group.loc[(group["offset_frames"] - top.offset_frames).abs() > 2, "matches"]
        ratio = float(top.matches) / max(float(far.max()) if len(far) else 1.0, 1.0)
        confirmed = best[0] >= min_correlation and band_agreement(view(a), view(b), best[1]) >= min_band_correlation
        singled_out = ratio >= min_peak_ratio and top.matches >= min_unique_matches
        if confirmed or not singled_out:
            # the offsets the landmarks propose may all be a loop's period off the recording's own (a copy of looped
            # music): the one that correlates best of all, where it confirms the pair, refines or replaces them; where
            # it alone would confirm the pair, it must stand out from the other alignments
            found = _search_every_offset(view(a), view(b), min_correlation, min_band_correlation,
                                         -np.inf if confirmed else DENSE_MIN_MARGIN)
            if found is not None and (not confirmed or found[0] >= best[0] + DENSE_REFINE_MARGIN):
                near = group.loc[(group["offset_frames"] - found[1]).abs() <= 1, "matches"]
                best, confirmed = (found[0], found[1], int(near.max()) if len(near) else 0), True
        if confirmed:
            rows.append({"a": int(a), "b": int(b), "matches": best[2], "score": best[0], "offset_frames": best[1]})
        elif singled_out:
            best = (max(best[0], 0.0), int(top.offset_frames), int(top.matches))
            rows.append({"a": int(a), "b": int(b), "matches": best[2], "score": best[0], "offset_frames": best[1]})
    out = pd.DataFrame(rows, columns=["a", "b", "matches", "score", "offset_frames"])
    out["offset_s"] = out["offset_frames"] * HOP / FINGERPRINT_RATE
    return out
