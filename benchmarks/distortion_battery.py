"""Battery: the distortion measure (:func:`mgrfaults.faults.distortion.clip_fraction`) on constructed cases.

    python benchmarks/distortion_battery.py [--excerpts 10] [--seconds 10] [--time]

Every case is a set of signals that should all be clean, or all be distorted (hard-clipped), decoded through the
project's reader where a file format is involved (:func:`mgrfaults.data.audio.decode`, the file's own rate, as the
fault stage reads it). One row per case: the signals, the smallest, median and largest measure, how many reach the
threshold (:data:`~mgrfaults.faults.distortion.CLIP_FRACTION_THRESHOLD`), and for clipped cases how many of those
whose clipper held at least that share of the samples (before any coding) were flagged; a last line counts the
false positives and the misses among those. The cases:

- clean: excerpts of the synthetic generator (:mod:`mgrfaults.data.synth`, one per genre, at its default confound
  strength and at 1, whose tanh drive saturates the loudest peaks) stored as 16-bit, mu-law, A-law, 8-bit, MP3,
  Vorbis; music-like signals (harmonic notes, noise bursts, a kick drum, a noise floor); sines of 20-2000 Hz at -1,
  -6, -20 and -40 dBFS as 16-bit, mu-law, A-law, 8-bit, MP3 and Vorbis; a sine with noise 40 dB below it; a sine
  bass under music-like notes;
- square waves, exact and band-limited (9 odd harmonics): music made of them (chiptune, a square synth lead alone)
  has flat tops with steep edges that no clipper made, which the measure cannot tell from clipping;
- clipped: the synthetic excerpts times a gain of 2, 4, 8 or 25 clipped at full scale (the generator's own
  ``distortion`` fault uses 8-25), stored as 16-bit; turned down to -1 dBFS with TPDF dither; MP3 at 64, 128 and
  160 kbps (22.05 kHz: MPEG-2 allows no more) and 320 kbps (rendered and clipped at 44.1 kHz); Vorbis; resampled
  from 44.1 to 22.05 kHz; with an asymmetric ceiling (+0.5 and -1 of full scale) and with one side clipped only;
  clipped then stored as mu-law.

``--time`` prints the measure's cost per 30-s excerpt at 22.05 kHz (a clean and a clipped synthetic excerpt, the
median of 20 calls) and the load average when it ran.

To measure another version of the detector, put its ``src`` first on PYTHONPATH (the script reads nothing else of
the project than its reader, its generator and ``clip_fraction``).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from mgrfaults.data.audio import decode
from mgrfaults.data.synth import plan_dataset, render_excerpt
from mgrfaults.faults.distortion import CLIP_FRACTION_THRESHOLD, clip_fraction

SR = 22050
LEVELS_DB = (-1, -6, -20, -40)
SINE_HZ = (20, 40, 60, 80, 100, 110, 120, 150, 300, 440, 1000, 2000)
MP3_LEVELS = {64: 0.6, 128: 0.2, 160: 0.0}
"""kbps -> libsndfile compression level of a constant-bitrate MP3 at 22.05 kHz (measured from the file sizes)."""
MP3_320_LEVEL = 0.0
"""libsndfile's compression level of a 320 kbps MP3 at 44.1 kHz."""
VORBIS_LEVEL = 0.5
"""libsndfile's Vorbis compression level: about 56 kbps for a 22.05 kHz mono excerpt."""


def pcm16(y: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """``y`` rounded to 16-bit steps (with TPDF dither of one step where ``rng`` is given), as the reader returns it."""
    if rng is not None:
        y = y + (rng.random(y.size) - rng.random(y.size)) / 32768.0
    return np.clip(np.round(y * 32768.0), -32768, 32767) / 32768.0


def stored(y: np.ndarray, sr: int, fmt: str, subtype: str, level: float | None = None) -> np.ndarray:
    """``y`` written as ``fmt``/``subtype`` by libsndfile (at a compression ``level``) and decoded by the reader."""
    suffix = {"WAV": ".wav", "MP3": ".mp3", "OGG": ".ogg"}[fmt]
    options = {} if level is None else {"compression_level": level}
    if fmt == "MP3":
        options["bitrate_mode"] = "CONSTANT"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"x{suffix}"
        with sf.SoundFile(str(path), "w", sr, 1, format=fmt, subtype=subtype, **options) as f:
            f.write(np.clip(y, -1.0, 1.0))
        return decode(path)[0].astype(np.float64)


def sine(hz: float, db: float, seconds: float, sr: int = SR) -> np.ndarray:
    """A sine of ``hz`` at ``db`` dBFS peak."""
    return 10 ** (db / 20) * np.sin(2 * np.pi * hz * np.arange(int(seconds * sr)) / sr + 0.3)


def music_like(seed: int, seconds: float, sr: int = SR) -> np.ndarray:
    """Harmonic notes with decaying envelopes, noise-burst hits, a kick drum every half second, a noise floor; peak 0.9."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n)
    t = 0.0
    while t < seconds:
        length = rng.uniform(0.08, 0.35)
        start, stop = int(t * sr), min(n, int((t + 2 * length) * sr))
        tt = np.arange(stop - start) / sr
        f0 = 55.0 * 2 ** (rng.integers(0, 48) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * h * tt) / h for h in range(1, 6) if f0 * h < sr / 2)
        y[start:stop] += rng.uniform(0.3, 1.0) * tone * np.exp(-tt / length)
        if rng.random() < 0.3:
            m = min(2000, n - start)
            y[start:start + m] += 0.5 * rng.standard_normal(m) * np.exp(-np.arange(m) / 300)
        t += length
    kt = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * np.cumsum(50 + 110 * np.exp(-kt / 0.04)) / sr) * np.exp(-kt / 0.12)
    for start in range(0, n - kick.size, sr // 2):
        y[start:start + kick.size] += 1.5 * kick
    y += 0.05 * rng.standard_normal(n)
    return 0.9 * y / np.abs(y).max()


def synthetic(n: int, seconds: float, sr: int = SR, confound_strength: float = 0.5) -> list[np.ndarray]:
    """``n`` clean excerpts of the synthetic generator (one per genre, in genre order), float64, peak 0.9."""
    plan = plan_dataset(n_per_genre=1 + (n - 1) // 10, duration=seconds, seed=20141205, faults={},
                        confound_strength=confound_strength)
    rows = plan.groupby("genre").head(1 + (n - 1) // 10).head(n)
    return [render_excerpt(row, sr).astype(np.float64) for _, row in rows.iterrows()]


def clipped_share(y: np.ndarray, low: float = -1.0, high: float = 1.0) -> float:
    """Share of the samples of ``y`` at or beyond a clipper's ceilings ``low`` and ``high`` (what clipping holds)."""
    return float(np.mean((y >= high) | (y <= low)))


def square(hz: float, db: float, seconds: float, sr: int = SR, harmonics: int | None = None) -> np.ndarray:
    """A square wave of ``hz`` at ``db`` dBFS: exact (flat tops, one-sample edges) or summed from its odd
    ``harmonics`` below the Nyquist frequency (band-limited: rings at its edges as a coded clipped top does)."""
    t = np.arange(int(seconds * sr)) / sr
    if harmonics is None:
        return 10 ** (db / 20) * np.sign(np.sin(2 * np.pi * hz * t + 0.3))
    y = sum(np.sin(2 * np.pi * k * hz * t + 0.3 * k) / k for k in range(1, 2 * harmonics, 2) if k * hz < sr / 2)
    return 10 ** (db / 20) * y / np.max(np.abs(y))


def cases(n: int, seconds: float) -> list[tuple[str, str, list[np.ndarray], list[float] | None]]:
    """(case, kind, signals, clipped shares) for every case of the battery (see the module text).

    kind is ``clean``, ``clipped``, or ``clean, square`` (music of square waves: flat tops that no clipper made,
    which the measure cannot tell from clipping); the clipped shares are those of the signals before any coding."""
    rng = np.random.default_rng(0)
    music = synthetic(n, seconds)
    music44 = synthetic(n, seconds, sr=2 * SR)
    out = [("synthetic music, 16-bit", "clean", [pcm16(y) for y in music], None),
           ("synthetic music, confound 1 (tanh drive 4)", "clean",
            [pcm16(y) for y in synthetic(n, seconds, confound_strength=1.0)], None)]
    for subtype in ("ULAW", "ALAW", "PCM_U8"):
        out.append((f"synthetic music, {subtype}", "clean", [stored(y, SR, "WAV", subtype) for y in music], None))
    out.append(("synthetic music, MP3 128 kbps", "clean",
                [stored(y, SR, "MP3", "MPEG_LAYER_III", MP3_LEVELS[128]) for y in music], None))
    out.append(("synthetic music, Vorbis", "clean", [stored(y, SR, "OGG", "VORBIS", VORBIS_LEVEL) for y in music], None))
    out.append(("music-like (notes, hits, kick, noise)", "clean", [pcm16(music_like(s, seconds)) for s in range(n)],
                None))
    for hz in SINE_HZ:
        out.append((f"sine {hz} Hz, 16-bit, {min(LEVELS_DB)} to {max(LEVELS_DB)} dBFS", "clean",
                    [pcm16(sine(hz, db, seconds)) for db in LEVELS_DB], None))
    for subtype in ("ULAW", "ALAW", "PCM_U8"):
        for hz in (40, 100, 440, 1000):
            out.append((f"sine {hz} Hz, {subtype}, -1 to -20 dBFS", "clean",
                        [stored(sine(hz, db, seconds), SR, "WAV", subtype) for db in LEVELS_DB[:3]], None))
    tones = (40, 100, 440, 1000, 2000)
    out.append(("sines 40-2000 Hz, MP3 128 kbps, -6 dBFS", "clean",
                [stored(sine(hz, -6, seconds), SR, "MP3", "MPEG_LAYER_III", MP3_LEVELS[128]) for hz in tones], None))
    out.append(("sines 40-2000 Hz, Vorbis, -6 dBFS", "clean",
                [stored(sine(hz, -6, seconds), SR, "OGG", "VORBIS", VORBIS_LEVEL) for hz in tones], None))
    out.append(("sines 40-2000 Hz + noise 40 dB below", "clean",
                [pcm16(sine(hz, -6, seconds) + 0.005 * rng.standard_normal(int(seconds * SR)) / np.sqrt(2))
                 for hz in tones], None))
    out.append(("sine bass 40-100 Hz under music-like notes", "clean",
                [pcm16(0.5 * sine(hz, -1, seconds) + 0.3 * music_like(s, seconds))
                 for s, hz in enumerate((40, 60, 100))], None))
    out.append(("square waves 110-440 Hz, exact", "clean, square",
                [pcm16(square(hz, -6, seconds)) for hz in (110, 220, 440)], None))
    out.append(("square waves 110-440 Hz, 9 odd harmonics", "clean, square",
                [pcm16(square(hz, -6, seconds, harmonics=9)) for hz in (110, 220, 440)], None))
    for gain in (2, 4, 8, 25):
        clipped = [np.clip(gain * y, -1.0, 1.0) for y in music]
        clipped44 = [np.clip(gain * y, -1.0, 1.0) for y in music44]
        shares = [clipped_share(gain * y) for y in music]
        shares44 = [clipped_share(gain * y) for y in music44]
        out.append((f"clipped gain {gain}, 16-bit", "clipped", [pcm16(c) for c in clipped], shares))
        out.append((f"clipped gain {gain}, -1 dBFS + dither", "clipped", [pcm16(0.891 * c, rng) for c in clipped],
                    shares))
        for kbps, level in MP3_LEVELS.items():
            out.append((f"clipped gain {gain}, MP3 {kbps} kbps", "clipped",
                        [stored(c, SR, "MP3", "MPEG_LAYER_III", level) for c in clipped], shares))
        out.append((f"clipped gain {gain}, MP3 320 kbps 44.1 kHz", "clipped",
                    [stored(c, 2 * SR, "MP3", "MPEG_LAYER_III", MP3_320_LEVEL) for c in clipped44], shares44))
        out.append((f"clipped gain {gain}, Vorbis", "clipped",
                    [stored(c, SR, "OGG", "VORBIS", VORBIS_LEVEL) for c in clipped], shares))
        out.append((f"clipped gain {gain} at 44.1 kHz, resampled to 22.05", "clipped",
                    [pcm16(_resample(c, 2 * SR, SR)) for c in clipped44], shares44))
    out.append(("clipped gain 4 at +0.5 / -1 (asymmetric)", "clipped",
                [pcm16(np.clip(4 * y, -1.0, 0.5)) for y in music], [clipped_share(4 * y, -1.0, 0.5) for y in music]))
    out.append(("clipped gain 4 at +0.5, negative side not", "clipped", [pcm16(np.minimum(4 * y, 0.5) / 4) for y in music],
                [clipped_share(4 * y, -np.inf, 0.5) for y in music]))
    out.append(("clipped gain 8, mu-law", "clipped", [stored(np.clip(8 * y, -1, 1), SR, "WAV", "ULAW") for y in music],
                [clipped_share(8 * y) for y in music]))
    return out


def _resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    import librosa

    return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq")


def battery(n: int, seconds: float) -> None:
    """Print the table (see the module text)."""
    print(f"{'case':46s} {'kind':13s} {'n':>3s} {'min':>7s} {'median':>7s} {'max':>7s} {'flagged':>8s}  "
          f"clipped >= threshold, flagged")
    false_positives = squares_flagged = misses = clean_n = squares_n = due_n = 0
    for name, kind, signals, shares in cases(n, seconds):
        m = np.array([clip_fraction(y) for y in signals])
        flagged = m >= CLIP_FRACTION_THRESHOLD
        due = "" if shares is None else np.asarray(shares) >= CLIP_FRACTION_THRESHOLD
        detail = "" if shares is None else f"{int(np.sum(flagged & due))}/{int(np.sum(due))}"
        print(f"{name:46s} {kind:13s} {len(m):3d} {m.min():7.4f} {np.median(m):7.4f} {m.max():7.4f} "
              f"{int(flagged.sum()):4d}/{len(m):<3d}  {detail}")
        if kind == "clipped":
            misses += int(np.sum(due & ~flagged))
            due_n += int(np.sum(due))
        elif kind == "clean":
            false_positives += int(flagged.sum())
            clean_n += len(m)
        else:
            squares_flagged += int(flagged.sum())
            squares_n += len(m)
    print(f"threshold {CLIP_FRACTION_THRESHOLD}: {false_positives} of {clean_n} clean signals flagged; "
          f"{misses} of {due_n} signals clipped at {CLIP_FRACTION_THRESHOLD} of their samples or more missed; "
          f"{squares_flagged} of {squares_n} square waves flagged")


def cost() -> None:
    """Print the measure's cost per 30-s excerpt at 22.05 kHz (see the module text)."""
    clean = pcm16(synthetic(1, 30.0)[0])
    for name, y in (("clean", clean), ("clipped gain 8", pcm16(np.clip(8 * clean, -1, 1)))):
        times = []
        for _ in range(20):
            start = time.perf_counter()
            clip_fraction(y.astype(np.float32))
            times.append(time.perf_counter() - start)
        print(f"clip_fraction of a 30-s excerpt at 22.05 kHz ({name}): median {1000 * np.median(times):.1f} ms, "
              f"min {1000 * np.min(times):.1f} ms over 20 calls; load average before {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--excerpts", type=int, default=20, help="synthetic and music-like excerpts per case")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per signal")
    parser.add_argument("--time", action="store_true", help="also time the measure on 30-s excerpts")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the reader's notes on MP3 overshoot, one per file
    battery(args.excerpts, args.seconds)
    if args.time:
        cost()


if __name__ == "__main__":
    main()
