"""The distortion (clipping) measure: the key cases of benchmarks/distortion_battery.py, and its parts on arrays.

Files go through libsndfile and the project's reader (mgrfaults.data.audio.decode), as the fault stage reads them.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from mgrfaults.data.audio import decode
from mgrfaults.data.synth import plan_dataset, render_excerpt
from mgrfaults.faults.distortion import (CLIP_FRACTION_THRESHOLD, LOWPASS, ceiling_pileup, clip_fraction,
                                         flat_crests, is_distorted, quantisation_step, stored_clip_samples)

SR = 22050
SECONDS = 5.0


def pcm16(y: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """``y`` on 16-bit steps, as the reader returns a 16-bit file (TPDF dither of one step where ``rng`` is given)."""
    if rng is not None:
        y = y + (rng.random(y.size) - rng.random(y.size)) / 32768.0
    return np.clip(np.round(y * 32768.0), -32768, 32767) / 32768.0


def through_file(tmp_path, y: np.ndarray, fmt: str, subtype: str, level: float | None = None) -> np.ndarray:
    """``y`` written by libsndfile as ``fmt``/``subtype`` and decoded by the project's reader."""
    path = tmp_path / f"x.{fmt.lower()}"
    options = {} if level is None else {"compression_level": level}
    if fmt == "MP3":
        options["bitrate_mode"] = "CONSTANT"
    with sf.SoundFile(str(path), "w", SR, 1, format=fmt, subtype=subtype, **options) as f:
        f.write(np.clip(y, -1.0, 1.0))
    return decode(path)[0].astype(np.float64)


def sine(hz: float, db: float, seconds: float = SECONDS) -> np.ndarray:
    return 10 ** (db / 20) * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR + 0.3)


@pytest.fixture(scope="module")
def music() -> list[np.ndarray]:
    """One clean synthetic excerpt per genre (reggae's is a steady sine-like bass under the rest), peak 0.9."""
    plan = plan_dataset(n_per_genre=1, duration=SECONDS, seed=20141205, faults={})
    return [render_excerpt(row).astype(np.float64) for _, row in plan.iterrows()]


# --------------------------------------------------------------------------------------------
# what must not count: smooth maxima, coarse codes, clean music


@pytest.mark.parametrize("hz", [20, 40, 60, 80, 100, 110, 120, 150, 440])
@pytest.mark.parametrize("db", [-1, -20, -40])
def test_a_steady_sine_is_not_clipped(hz, db):
    # a slow sine stays within 1e-3 of its peak for several samples (2-3 % of them below 150 Hz), but reaches it
    # smoothly: its tops are no flatter than their edges allow
    assert clip_fraction(pcm16(sine(hz, db))) < 1e-3


@pytest.mark.parametrize("subtype", ["ULAW", "ALAW", "PCM_U8"])
@pytest.mark.parametrize("hz", [100, 440])
@pytest.mark.parametrize("db", [-1, -6, -20])
def test_a_tone_on_coarse_codes_is_not_clipped(tmp_path, subtype, hz, db):
    # the top code holds several samples of each maximum, entered by a step of one or two codes: no evidence
    assert clip_fraction(through_file(tmp_path, sine(hz, db), "WAV", subtype)) < 1e-3


def test_clean_synthetic_music_is_not_distorted(tmp_path, music):
    for y in music:
        assert clip_fraction(pcm16(y)) < 1e-3
        assert clip_fraction(through_file(tmp_path, y, "MP3", "MPEG_LAYER_III", 0.2)) < 1e-3  # 128 kbps
        assert clip_fraction(through_file(tmp_path, y, "WAV", "ULAW")) < 1e-3


def test_tones_with_noise_or_music_around_them_are_not_distorted():
    rng = np.random.default_rng(0)
    # a steady tone piles its samples up near its peak as a clipper's ceiling does; its tops stay smooth
    for hz in (40, 440, 2000):
        noisy = sine(hz, -6) + 0.0035 * rng.standard_normal(int(SECONDS * SR))  # 40 dB below
        assert clip_fraction(pcm16(noisy)) < CLIP_FRACTION_THRESHOLD
    t = np.arange(int(SECONDS * SR)) / SR
    notes = sum(0.1 * np.sin(2 * np.pi * f * t) * (np.sin(2 * np.pi * r * t) > 0) for f, r in
                ((330, 1.5), (523, 2.25), (784, 3.0)))
    assert clip_fraction(pcm16(0.5 * sine(50, -1) + notes)) < CLIP_FRACTION_THRESHOLD


# --------------------------------------------------------------------------------------------
# what must count: clipping as stored, after a gain change, at asymmetric ceilings, after lossy coding


def test_clipped_music_is_distorted_as_stored_turned_down_and_dithered(music):
    rng = np.random.default_rng(1)
    for y in music:
        clipped = np.clip(8 * y, -1.0, 1.0)
        share = np.mean(np.abs(8 * y) >= 1.0)
        measured = clip_fraction(pcm16(clipped))
        assert is_distorted(measured) and measured <= share  # tops of one or two samples are not counted
        # normalised to -1 dBFS and dithered after the clipper: the ceiling is each side's own peak
        assert abs(clip_fraction(pcm16(0.891 * clipped, rng)) - measured) < 0.01


def test_asymmetric_and_one_sided_ceilings_are_found(music):
    for y in music[:4]:
        both = clip_fraction(pcm16(np.clip(4 * y, -1.0, 0.5)))
        positive = clip_fraction(pcm16(np.clip(4 * y, -1.0, 0.5)) * (4 * y > 0))
        # only the positive side clipped, the negative side reaching further: the global peak is not the ceiling
        one_sided = clip_fraction(pcm16(np.minimum(4 * y, 0.5) / 4))
        assert is_distorted(one_sided) and one_sided == pytest.approx(positive, abs=0.01) and both > one_sided


@pytest.mark.parametrize("fmt, subtype, level", [("MP3", "MPEG_LAYER_III", 0.6), ("MP3", "MPEG_LAYER_III", 0.0),
                                                 ("OGG", "VORBIS", 0.5)])
def test_clipped_music_is_distorted_after_lossy_coding(tmp_path, music, fmt, subtype, level):
    # MP3 at 64 and 160 kbps, Vorbis at about 56 kbps: the codec's ringing leaves no flat run at the ceiling
    logging.disable(logging.WARNING)  # the reader's note on the decoder's overshoot beyond full scale
    try:
        for gain in (8, 25):
            for y in music[:5]:
                coded = through_file(tmp_path, np.clip(gain * y, -1.0, 1.0), fmt, subtype, level)
                assert is_distorted(clip_fraction(coded)), (gain, fmt, level)
    finally:
        logging.disable(logging.NOTSET)


# --------------------------------------------------------------------------------------------
# the parts


def test_flat_crests_counts_clipped_tops_and_not_smooth_maxima():
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 50 * t)  # 100 tops of 441 samples per cycle
    smooth = np.maximum(tone, 0.0)
    assert flat_crests(smooth, 0.99, depth=0.01, margin=4.0) == 0
    clipped = np.maximum(np.clip(2 * tone, -1.0, 1.0), 0.0)
    held = int(np.sum(clipped > 0.99))  # the tops: at the ceiling, and a sample on its way up or down
    assert flat_crests(clipped, 0.99, depth=0.01, margin=4.0) == held
    # a top by its own mean height (low-passed audio): the clipped sine, rounded by the low-pass, still counts
    rounded = np.convolve(clipped, LOWPASS, mode="same")
    assert flat_crests(rounded, 0.9) >= 0.9 * held and flat_crests(np.convolve(smooth, LOWPASS, "same"), 0.9) == 0


def test_quantisation_step_reads_the_codes_below_the_ceiling(music):
    codes = np.round(np.abs(sine(100, -1)) * 128) / 128  # 8-bit steps
    assert quantisation_step(codes, codes.max()) == pytest.approx(1 / 128)
    fine = np.maximum(pcm16(np.clip(4 * music[0], -1, 1)), 0.0)  # 16-bit music, many samples near its ceiling
    assert quantisation_step(fine, fine.max()) == pytest.approx(1 / 32768)
    # a top tenfold coarser than the codes below it is read as the code there: a slow maximum on coarse codes
    assert stored_clip_samples(codes) == 0


def test_ceiling_pileup_finds_the_clip_level_with_little_above_it(music):
    y = np.clip(4 * music[0], -1.0, 1.0)
    side = np.maximum(np.convolve(y, LOWPASS, mode="same"), 0.0)
    excess, bottom, beyond = ceiling_pileup(side)
    assert excess > 0.01 * y.size and 0.8 < bottom / side.max() < 1.0 and beyond < excess
    excess, _, _ = ceiling_pileup(np.maximum(np.convolve(music[0], LOWPASS, mode="same"), 0.0))
    assert excess < 0.001 * y.size
