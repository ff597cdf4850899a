"""A synthetic GTZAN-like dataset whose faults are built in and known.

Ten genres named as GTZAN's, each a musical style the ear can tell apart (tempo range, drum
pattern, scale and chords, instrument timbres, note density, register), with variation within
a genre (tempo, key, mix, timbre jitter). Each excerpt has an artist; artist blocks are skewed
as in GTZAN (one artist up to ~35 % of a genre, many singletons). Each artist has a fixed
*production fingerprint* that says nothing about genre: an EQ curve, a band limit, a coloured
noise floor, mains hum, compression and reverb. Each artist also has musical *habits* (a
preferred key, tempo, brightness and detune). ``confound_strength`` scales both: it scales every
fingerprint, and it is the probability that an excerpt follows its artist's habit rather than a
habit drawn for the excerpt alone. At 0 the artists within a genre are exchangeable (nothing an
artist has that the genre does not define); at 1 every excerpt carries its artist's habits.

Faults, at configurable rates: exact replicas (the same file twice), recording replicas (the
same music rendered again from another offset), distortions (hard clipping) and mislabelings
(music in one genre's style filed under another).

Generation is in two steps: :func:`plan_dataset` decides everything (cheap, global,
deterministic from the seed) and :func:`render_excerpt` renders one row of the plan, so the
workflow can render genres in parallel jobs. Same seed -> byte-identical audio.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mgrfaults import GENRES
from mgrfaults.seeds import derive
from mgrfaults.config import section_defaults
from mgrfaults.errors import InputError

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_SYNTHETIC = section_defaults("dataset.synthetic")

SAMPLE_RATE = 22050
FAULT_KINDS = ("exact_replica", "recording_replica", "distortion", "mislabel")
DEFAULT_FAULT_RATES = {"exact_replica": 0.05, "recording_replica": 0.02, "distortion": 0.02, "mislabel": 0.02}

# --------------------------------------------------------------------------------------------
# Genre styles: what makes each genre. Drum patterns are 16 steps (16th notes) of one bar of
# 4/4, each a probability of a hit. Scales are semitone sets; progressions are scale degrees
# (0-based) of the chord roots, one per bar.
# --------------------------------------------------------------------------------------------
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
BLUES = (0, 3, 5, 6, 7, 10)
PENTA_MAJOR = (0, 2, 4, 7, 9)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)


def _steps(*hits, p=1.0, n=16):
    pattern = np.zeros(n)
    pattern[list(hits)] = p
    return pattern


@dataclass(frozen=True)
class Instrument:
    """A synthesis voice: additive (harmonic amplitudes ``partials``) or FM (``ratio``, ``index``)."""

    kind: str  # additive | fm
    partials: tuple = (1.0, 0.5, 0.33, 0.25)
    ratio: float = 1.0
    index: float = 0.0
    attack: float = 0.01  # s
    decay: float = 0.4  # s, exponential time constant
    sustain: float = 0.3  # level held to the note end
    vibrato: float = 0.0  # depth in semitones (5.5 Hz)
    drive: float = 0.0  # tanh overdrive amount (guitars)


@dataclass(frozen=True)
class Style:
    tempo: tuple
    swing: float
    drums: dict | None
    scale: tuple
    progression: tuple
    chord: str  # triad | seventh | power | none
    chord_steps: tuple  # 16-step positions where the chord instrument hits
    chord_length: float  # in steps
    bass: str  # roots | walking | syncopated | pedal | none
    bass_register: int  # MIDI note of the bass's root octave
    melody_density: float  # probability of a note per 8th
    melody_register: tuple  # MIDI range
    lead: Instrument
    comp: Instrument
    bass_voice: Instrument
    mix: dict = field(default_factory=dict)  # relative levels: drums, bass, comp, lead


STYLES = {
    "blues": Style(
        tempo=(70, 100), swing=0.33,
        drums={"kick": _steps(0, 8, p=0.9), "snare": _steps(4, 12), "hat": _steps(0, 3, 4, 7, 8, 11, 12, 15, p=0.8)},
        scale=BLUES, progression=(0, 0, 3, 0, 4, 3, 0, 4), chord="seventh", chord_steps=(0, 3, 6, 8, 11, 14),
        chord_length=2, bass="walking", bass_register=40, melody_density=0.45, melody_register=(55, 76),
        lead=Instrument("additive", partials=(1, 0.7, 0.5, 0.4, 0.3, 0.2), decay=0.5, sustain=0.4, vibrato=0.3, drive=0.6),
        comp=Instrument("fm", ratio=1.0, index=1.5, decay=0.3, sustain=0.2),
        bass_voice=Instrument("additive", partials=(1, 0.4, 0.1), decay=0.3, sustain=0.5),
        mix={"drums": 0.5, "bass": 0.8, "comp": 0.5, "lead": 0.9},
    ),
    "classical": Style(
        tempo=(60, 90), swing=0.0, drums=None,
        scale=MAJOR, progression=(0, 3, 4, 0, 5, 1, 4, 0), chord="triad", chord_steps=(0,), chord_length=16,
        bass="pedal", bass_register=36, melody_density=0.7, melody_register=(62, 86),
        lead=Instrument("additive", partials=(1, 0.5, 0.35, 0.2, 0.15, 0.1, 0.08), attack=0.12, decay=1.5, sustain=0.8, vibrato=0.15),
        comp=Instrument("additive", partials=(1, 0.6, 0.4, 0.3, 0.2), attack=0.3, decay=2.0, sustain=0.9, vibrato=0.08),
        bass_voice=Instrument("additive", partials=(1, 0.6, 0.3, 0.2), attack=0.2, decay=2.0, sustain=0.9),
        mix={"drums": 0.0, "bass": 0.6, "comp": 0.6, "lead": 0.9},
    ),
    "country": Style(
        tempo=(100, 130), swing=0.0,
        drums={"kick": _steps(0, 8), "snare": _steps(4, 12), "hat": _steps(*range(0, 16, 2), p=0.9)},
        scale=PENTA_MAJOR, progression=(0, 0, 3, 3, 4, 4, 0, 0), chord="triad", chord_steps=(0, 2, 4, 6, 8, 10, 12, 14),
        chord_length=1.5, bass="roots", bass_register=40, melody_density=0.5, melody_register=(60, 79),
        lead=Instrument("fm", ratio=2.0, index=2.5, decay=0.25, sustain=0.15, vibrato=0.1),
        comp=Instrument("additive", partials=(1, 0.8, 0.6, 0.5, 0.4, 0.3), decay=0.2, sustain=0.1),
        bass_voice=Instrument("additive", partials=(1, 0.3), decay=0.25, sustain=0.4),
        mix={"drums": 0.5, "bass": 0.7, "comp": 0.7, "lead": 0.8},
    ),
    "disco": Style(
        tempo=(115, 130), swing=0.0,
        drums={"kick": _steps(0, 4, 8, 12), "snare": _steps(4, 12), "hat": _steps(2, 6, 10, 14)},
        scale=DORIAN, progression=(0, 3, 0, 3, 0, 3, 4, 3), chord="seventh", chord_steps=(2, 6, 10, 14),
        chord_length=1, bass="syncopated", bass_register=36, melody_density=0.35, melody_register=(64, 84),
        lead=Instrument("additive", partials=(1, 0.3, 0.6, 0.2, 0.4), attack=0.05, decay=0.8, sustain=0.7),
        comp=Instrument("fm", ratio=3.0, index=2.0, decay=0.12, sustain=0.05),
        bass_voice=Instrument("fm", ratio=1.0, index=1.2, decay=0.15, sustain=0.3),
        mix={"drums": 0.8, "bass": 0.9, "comp": 0.5, "lead": 0.6},
    ),
    "hiphop": Style(
        tempo=(80, 98), swing=0.15,
        drums={"kick": _steps(0, 7, 10, p=0.95), "snare": _steps(4, 12), "hat": _steps(*range(0, 16, 2), p=0.95)},
        scale=MINOR, progression=(0, 0, 5, 5, 0, 0, 6, 6), chord="seventh", chord_steps=(0, 8),
        chord_length=6, bass="syncopated", bass_register=31, melody_density=0.15, melody_register=(60, 72),
        lead=Instrument("fm", ratio=1.0, index=0.8, attack=0.02, decay=0.6, sustain=0.5),
        comp=Instrument("additive", partials=(1, 0.2, 0.1), attack=0.05, decay=1.0, sustain=0.6),
        bass_voice=Instrument("additive", partials=(1, 0.15), decay=0.6, sustain=0.7),
        mix={"drums": 1.0, "bass": 1.0, "comp": 0.4, "lead": 0.4},
    ),
    "jazz": Style(
        tempo=(110, 170), swing=0.3,
        drums={"kick": _steps(0, p=0.3), "snare": _steps(6, 14, p=0.3), "hat": _steps(0, 4, 6, 8, 12, 14, p=0.9)},
        scale=DORIAN, progression=(1, 4, 0, 0, 1, 4, 0, 5), chord="seventh", chord_steps=(3, 6, 11),
        chord_length=1.5, bass="walking", bass_register=36, melody_density=0.6, melody_register=(58, 82),
        lead=Instrument("additive", partials=(1, 0.15, 0.4, 0.1, 0.2), attack=0.04, decay=0.5, sustain=0.5, vibrato=0.2),
        comp=Instrument("fm", ratio=1.0, index=1.0, decay=0.5, sustain=0.1),
        bass_voice=Instrument("additive", partials=(1, 0.5, 0.15), decay=0.35, sustain=0.3),
        mix={"drums": 0.35, "bass": 0.8, "comp": 0.6, "lead": 0.8},
    ),
    "metal": Style(
        tempo=(140, 190), swing=0.0,
        drums={"kick": _steps(*range(0, 16, 2)), "snare": _steps(4, 12), "hat": _steps(*range(0, 16, 2), p=0.9)},
        scale=PHRYGIAN, progression=(0, 0, 1, 0, 5, 0, 1, 6), chord="power", chord_steps=tuple(range(0, 16, 2)),
        chord_length=2, bass="roots", bass_register=28, melody_density=0.5, melody_register=(52, 76),
        lead=Instrument("additive", partials=(1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3), decay=0.6, sustain=0.7, vibrato=0.25, drive=4.0),
        comp=Instrument("additive", partials=(1, 0.9, 0.8, 0.7, 0.6, 0.5), decay=0.4, sustain=0.8, drive=6.0),
        bass_voice=Instrument("additive", partials=(1, 0.6, 0.4), decay=0.3, sustain=0.7, drive=1.5),
        mix={"drums": 0.8, "bass": 0.6, "comp": 0.9, "lead": 0.6},
    ),
    "pop": Style(
        tempo=(95, 125), swing=0.0,
        drums={"kick": _steps(0, 6, 8), "snare": _steps(4, 12), "hat": _steps(*range(0, 16, 2), p=0.8)},
        scale=MAJOR, progression=(0, 4, 5, 3, 0, 4, 5, 3), chord="triad", chord_steps=(0, 4, 8, 12),
        chord_length=3, bass="roots", bass_register=36, melody_density=0.55, melody_register=(64, 81),
        lead=Instrument("additive", partials=(1, 0.25, 0.12, 0.06), attack=0.02, decay=0.5, sustain=0.6, vibrato=0.15),
        comp=Instrument("fm", ratio=2.0, index=1.0, attack=0.01, decay=0.6, sustain=0.3),
        bass_voice=Instrument("fm", ratio=1.0, index=0.6, decay=0.3, sustain=0.5),
        mix={"drums": 0.7, "bass": 0.7, "comp": 0.6, "lead": 0.9},
    ),
    "reggae": Style(
        tempo=(65, 85), swing=0.1,
        drums={"kick": _steps(8), "snare": _steps(8, p=0.9), "hat": _steps(*range(0, 16, 2), p=0.7)},
        scale=MAJOR, progression=(0, 0, 3, 3, 0, 0, 4, 3), chord="triad", chord_steps=(4, 12),
        chord_length=1, bass="syncopated", bass_register=33, melody_density=0.3, melody_register=(60, 76),
        lead=Instrument("additive", partials=(1, 0.4, 0.2, 0.1), decay=0.5, sustain=0.5, vibrato=0.2),
        comp=Instrument("additive", partials=(1, 0.7, 0.5, 0.4, 0.3), decay=0.08, sustain=0.0),
        bass_voice=Instrument("additive", partials=(1, 0.1), attack=0.02, decay=0.5, sustain=0.8),
        mix={"drums": 0.6, "bass": 1.0, "comp": 0.6, "lead": 0.6},
    ),
    "rock": Style(
        tempo=(110, 145), swing=0.0,
        drums={"kick": _steps(0, 8, 10), "snare": _steps(4, 12), "hat": _steps(*range(0, 16, 2))},
        scale=MIXOLYDIAN, progression=(0, 6, 3, 0, 0, 6, 3, 4), chord="power", chord_steps=(0, 2, 4, 6, 8, 10, 12, 14),
        chord_length=2, bass="roots", bass_register=33, melody_density=0.4, melody_register=(57, 79),
        lead=Instrument("additive", partials=(1, 0.7, 0.5, 0.4, 0.3), decay=0.5, sustain=0.6, vibrato=0.2, drive=2.0),
        comp=Instrument("additive", partials=(1, 0.8, 0.6, 0.5, 0.4), decay=0.3, sustain=0.6, drive=2.5),
        bass_voice=Instrument("additive", partials=(1, 0.5, 0.2), decay=0.3, sustain=0.6, drive=0.5),
        mix={"drums": 0.8, "bass": 0.7, "comp": 0.8, "lead": 0.7},
    ),
}


# --------------------------------------------------------------------------------------------
# Artists and their production fingerprints
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fingerprint:
    """An artist's production chain, irrelevant to genre. Scaled by ``confound_strength``."""

    eq_db: tuple  # gains in dB at EQ_BANDS_HZ
    band_limit_hz: float  # low-pass corner
    noise_db: float  # noise floor level re full scale (dB)
    noise_slope: float  # spectral slope of the noise: 0 white, -1 pink, -2 brown, +1 blue
    hum_hz: float  # 50 or 60
    hum_db: float  # hum level (dB)
    drive: float  # compression (tanh) drive >= 1
    reverb_t60: float  # s
    reverb_wet: float  # 0..1


EQ_BANDS_HZ = (60.0, 150.0, 400.0, 1000.0, 2500.0, 5000.0, 8000.0, 11025.0)


def artist_fingerprint(seed: int, artist: str) -> Fingerprint:
    """The production fingerprint of ``artist``, fixed by the dataset seed and the artist's name."""
    rng = np.random.default_rng(derive(seed, "fingerprint", artist))
    return Fingerprint(
        eq_db=tuple(np.round(rng.uniform(-9, 9, len(EQ_BANDS_HZ)), 2)),
        band_limit_hz=float(rng.choice([3500.0, 5000.0, 6500.0, 8000.0, 11025.0])),
        noise_db=float(rng.uniform(-48, -28)),
        noise_slope=float(rng.uniform(-2, 1)),
        hum_hz=float(rng.choice([50.0, 60.0])),
        hum_db=float(rng.uniform(-45, -25) if rng.random() < 0.6 else -120.0),
        drive=float(rng.uniform(1.0, 4.0)),
        reverb_t60=float(rng.uniform(0.2, 1.8)),
        reverb_wet=float(rng.uniform(0.0, 0.5)),
    )


@dataclass(frozen=True)
class ArtistTraits:
    """Musical habits: key, tempo, timbre. An artist's, or an excerpt's own (:func:`excerpt_traits`)."""

    key: int  # preferred tonic, semitones above C
    tempo_position: float  # where in the genre's tempo range the artist plays, 0..1
    brightness: float  # multiplies the upper partials / FM index
    detune_cents: float


def _draw_traits(rng: np.random.Generator) -> ArtistTraits:
    return ArtistTraits(
        key=int(rng.integers(0, 12)),
        tempo_position=float(rng.uniform(0, 1)),
        brightness=float(rng.uniform(0.6, 1.5)),
        detune_cents=float(rng.uniform(-15, 15)),
    )


def artist_traits(seed: int, artist: str) -> ArtistTraits:
    """The habits of ``artist``, fixed by the dataset seed and the artist's name."""
    return _draw_traits(np.random.default_rng(derive(seed, "traits", artist)))


def excerpt_traits(seed: int, artist: str, music_seed: int, confound_strength: float) -> ArtistTraits:
    """The habits one excerpt is played with: each its artist's with probability ``confound_strength``.

    Each habit (key, tempo position, brightness, detune) is, independently, the artist's
    (:func:`artist_traits`) with probability ``confound_strength`` and otherwise one drawn from
    the same distribution for this piece alone. The marginal distribution of every habit is thus
    the same at every strength; only its dependence on the artist changes. At 0 an excerpt's habits
    do not depend on its artist at all, at 1 they are the artist's.

    Parameters
    ----------
    seed : int
        Dataset seed.
    artist : str
    music_seed : int
        The piece's seed (:func:`plan_dataset`'s ``music_seed``): the piece's own habits and the
        coin flips derive from it, so replicas of a piece keep the same habits.
    confound_strength : float in [0, 1]

    Returns
    -------
    ArtistTraits
    """
    if not 0.0 <= confound_strength <= 1.0:
        raise ValueError(f"confound_strength must be in [0, 1], got {confound_strength}")
    own = artist_traits(seed, artist)
    rng = np.random.default_rng(derive(seed, "piece_traits", int(music_seed)))
    piece = _draw_traits(rng)
    follows = rng.random(4) < confound_strength
    names = ("key", "tempo_position", "brightness", "detune_cents")
    return ArtistTraits(**{n: getattr(own if f else piece, n) for n, f in zip(names, follows)})


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------
def artist_blocks(n: int, largest_share: float, singleton_share: float, rng: np.random.Generator) -> list[int]:
    """Sizes of the artist blocks of one genre of ``n`` excerpts, largest first.

    One artist takes ``round(largest_share * n)`` excerpts, ``round(singleton_share * n)``
    artists have one each, and the rest fall into blocks of 2 to 6.
    """
    largest = max(1, int(round(largest_share * n)))
    singles = int(round(singleton_share * n))
    singles = min(singles, n - largest)
    rest = n - largest - singles
    sizes = [largest]
    while rest > 0:
        size = int(min(rest, rng.integers(2, 7)))
        sizes.append(size)
        rest -= size
    sizes += [1] * singles
    return sorted(sizes, reverse=True)


MIN_CLEAN_PER_GENRE = 3
"""A genre takes one more fault while this many of its excerpts are clean and no replica's source: its excerpt 0
stays clean, and a replica needs a clean source besides its target."""


def _faults_do_not_fit(kind: str, count: int, placed: int, rates: dict, n_total: int, n_per_genre: int) -> str:
    asked = ", ".join(f"{k} {rates[k]:g}" for k in FAULT_KINDS if rates.get(k))
    return (f"dataset.synthetic.faults: {count} {kind} excerpt(s) asked ({kind} {rates[kind]:g} x {n_total} excerpts), "
            f"only {placed} fit beside the faults placed before it (rates {asked}): a genre takes a fault while "
            f"{MIN_CLEAN_PER_GENRE} of its {n_per_genre} excerpts are clean and no replica's source (its excerpt 0 "
            "stays clean, a replica copies a clean one); lower the rates, or raise n_per_genre")


def plan_dataset(
    n_per_genre: int = _SYNTHETIC["n_per_genre"],
    duration: float = _SYNTHETIC["duration"],
    seed: int = 0,
    confound_strength: float = _SYNTHETIC["confound_strength"],
    largest_artist_share: float = _SYNTHETIC["largest_artist_share"],
    singleton_share: float = _SYNTHETIC["singleton_share"],
    faults: dict | None = None,
    genres=GENRES,
    sample_rate: int = SAMPLE_RATE,
) -> pd.DataFrame:
    """Decide every excerpt of the dataset: label, artist, fault and the seeds that render it.

    Parameters
    ----------
    n_per_genre : int
        Excerpts per genre (GTZAN: 100).
    duration : float
        Seconds per excerpt (GTZAN: 30).
    seed : int
        Dataset seed: same seed, same plan, same audio.
    confound_strength : float in [0, 1]
        Scales every artist's production fingerprint (0: none; 1: the full chain, e.g. EQ of
        +-9 dB, band limits down to 3.5 kHz, noise floors up to -28 dB) and is the probability
        that an excerpt follows its artist's musical habits (:func:`excerpt_traits`).
    largest_artist_share : float
        Share of a genre held by its biggest artist (Reggae; other genres get 40-100 % of it).
    singleton_share : float
        Share of a genre's excerpts by one-excerpt artists.
    faults : dict
        Rate per excerpt of each of ``exact_replica``, ``recording_replica``, ``distortion``,
        ``mislabel`` (counts are ``round(rate * n_total)``, spread over genres).
    genres : sequence of str
    sample_rate : int
        Hz.

    Returns
    -------
    DataFrame, one row per excerpt
        track_id, path (relative to the audio folder), genre (the label), true_genre (the style
        rendered), artist, fault, replica_of, music_seed, render_offset (s), clip_gain,
        confound_strength, duration, sample_rate.
    """
    rates = dict(DEFAULT_FAULT_RATES if faults is None else faults)
    unknown = set(rates) - set(FAULT_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; known: {list(FAULT_KINDS)}")
    rng = np.random.default_rng(derive(seed, "plan"))
    rows = []
    for g_index, genre in enumerate(genres):
        share = largest_artist_share if genre == "reggae" else largest_artist_share * rng.uniform(0.4, 1.0)
        sizes = artist_blocks(n_per_genre, share, singleton_share, rng)
        artists = []
        for a_index, size in enumerate(sizes):
            artists += [f"{genre}_artist{a_index:02d}"] * size
        # GTZAN's artist blocks are mostly contiguous runs of excerpt numbers
        for i, artist in enumerate(artists):
            track_id = f"{genre}.{i:05d}"
            rows.append(
                {
                    "track_id": track_id,
                    "path": f"{genre}/{track_id}.au",
                    "genre": genre,
                    "true_genre": genre,
                    "artist": artist,
                    "title": f"{artist} song {i}",
                    "fault": "none",
                    "replica_of": "",
                    "music_seed": derive(seed, "music", track_id),
                    "render_offset": 0.0,
                    "clip_gain": 1.0,
                }
            )
    plan = pd.DataFrame(rows)
    n_total = len(plan)
    for kind in FAULT_KINDS:
        count = int(round(rates.get(kind, 0.0) * n_total))
        if count == 0:
            continue
        # faults are spread over genres, then placed on excerpts that are still clean
        genre_order = rng.permutation(len(genres))
        placed, last_placed = 0, -1
        for k in itertools.count():
            if placed == count:
                break
            if k - last_placed > len(genres):  # a whole round of the genres without room for one more
                raise InputError(_faults_do_not_fit(kind, count, placed, rates, n_total, n_per_genre))
            genre = genres[genre_order[k % len(genres)]]
            # replica sources stay clean too, so that a replica copies a clean recording
            clean = plan.index[
                (plan["genre"] == genre) & (plan["fault"] == "none") & ~plan["track_id"].isin(plan["replica_of"])
            ]
            sources = clean
            if len(clean) < MIN_CLEAN_PER_GENRE:
                continue
            target = int(rng.choice(clean[1:]))  # excerpt 0 of a genre always stays clean
            if kind in ("exact_replica", "recording_replica"):
                candidates = [s for s in sources if s != target]
                if not candidates:
                    continue
                source = int(rng.choice(candidates))
                # a replica is the same recording: same artist, same music
                plan.loc[target, ["artist", "replica_of", "music_seed", "title"]] = [
                    plan.at[source, "artist"], plan.at[source, "track_id"], plan.at[source, "music_seed"],
                    plan.at[source, "title"],
                ]
                if kind == "recording_replica":
                    plan.at[target, "render_offset"] = float(rng.uniform(1.0, 4.0))
            elif kind == "distortion":
                plan.at[target, "clip_gain"] = float(rng.uniform(8.0, 25.0))
            elif kind == "mislabel":
                others = [g for g in genres if g != genre]
                plan.at[target, "true_genre"] = str(rng.choice(others))
            plan.at[target, "fault"] = kind
            placed += 1
            last_placed = k
    plan["confound_strength"] = float(confound_strength)
    plan["duration"] = float(duration)
    plan["sample_rate"] = int(sample_rate)
    plan["seed"] = int(seed)
    return plan


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def _envelope(n: int, sr: int, inst: Instrument, note_samples: int) -> np.ndarray:
    t = np.arange(n) / sr
    attack = np.minimum(t / max(inst.attack, 1e-3), 1.0)
    body = inst.sustain + (1.0 - inst.sustain) * np.exp(-t / max(inst.decay, 1e-3))
    release = np.ones(n)
    tail = n - note_samples
    if tail > 0:
        release[note_samples:] = np.exp(-np.arange(tail) / (0.05 * sr))
    return attack * body * release


def render_note(freq: float, seconds: float, inst: Instrument, sr: int, brightness: float = 1.0) -> np.ndarray:
    """One note of ``inst`` at ``freq`` Hz lasting ``seconds`` (plus a 50 ms release tail).

    Returns
    -------
    np.ndarray, shape (n_samples,), float64, peak ~1
    """
    note_samples = max(int(seconds * sr), 1)
    n = note_samples + int(0.15 * sr)
    t = np.arange(n) / sr
    phase_mod = 0.0
    if inst.vibrato:
        phase_mod = inst.vibrato / 12.0 * np.log(2) * freq / 5.5 * np.sin(2 * np.pi * 5.5 * t)
    if inst.kind == "fm":
        index = inst.index * brightness * np.exp(-t / max(inst.decay, 1e-3))
        y = np.sin(2 * np.pi * freq * t + phase_mod + index * np.sin(2 * np.pi * freq * inst.ratio * t))
    else:
        y = np.zeros(n)
        nyquist = sr / 2
        for h, amp in enumerate(inst.partials, start=1):
            if h * freq >= nyquist:
                break
            weight = amp * (brightness ** (h - 1) if h > 1 else 1.0)
            y += weight * np.sin(2 * np.pi * h * freq * t + h * phase_mod)
        y /= max(sum(inst.partials), 1e-9)
    y = y * _envelope(n, sr, inst, note_samples)
    if inst.drive:
        y = np.tanh((1 + inst.drive) * y) / np.tanh(1 + inst.drive)
    return y


def _drum(kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "kick":
        n = int(0.3 * sr)
        t = np.arange(n) / sr
        f = 50 + 110 * np.exp(-t / 0.04)
        return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)
    if kind == "snare":
        n = int(0.2 * sr)
        t = np.arange(n) / sr
        noise = rng.standard_normal(n)
        noise = np.diff(noise, prepend=0.0)  # brighter
        return 0.5 * noise * np.exp(-t / 0.06) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    n = int(0.06 * sr)  # hat
    noise = np.diff(np.diff(rng.standard_normal(n + 2)))
    return 0.35 * noise * np.exp(-np.arange(n) / (0.015 * sr))


def _add(out: np.ndarray, start: int, y: np.ndarray, gain: float) -> None:
    if start >= len(out) or start + len(y) <= 0:
        return
    lo = max(start, 0)
    hi = min(start + len(y), len(out))
    out[lo:hi] += gain * y[lo - start : hi - start]


def _chord_notes(root_degree: int, scale: tuple, tonic: int, kind: str) -> list[int]:
    def degree(d):
        octave, step = divmod(d, len(scale))
        return tonic + scale[step] + 12 * octave

    if kind == "power":
        return [degree(root_degree), degree(root_degree) + 7, degree(root_degree) + 12]
    notes = [degree(root_degree), degree(root_degree + 2), degree(root_degree + 4)]
    if kind == "seventh":
        notes.append(degree(root_degree + 6))
    return notes


def render_music(
    style_name: str,
    duration: float,
    music_seed: int,
    traits: ArtistTraits,
    sample_rate: int = SAMPLE_RATE,
    offset: float = 0.0,
) -> np.ndarray:
    """Render the dry music of one excerpt (no production): drums, bass, chords and melody.

    Parameters
    ----------
    style_name : str
        A key of :data:`STYLES`.
    duration : float
        Seconds.
    music_seed : int
        Fixes the composition and the performance (tempo, key, notes).
    traits : ArtistTraits
        The habits the piece is played with (:func:`excerpt_traits`).
    sample_rate : int
        Hz.
    offset : float
        Seconds into the piece where the excerpt starts (recording replicas use another one).

    Returns
    -------
    np.ndarray, shape (round(duration * sample_rate),), float64
    """
    import librosa  # here: the config check plans a dataset without rendering it (librosa costs ~0.5 s)

    style = STYLES[style_name]
    rng = np.random.default_rng(music_seed)
    sr = sample_rate
    lo, hi = style.tempo
    # the artist's habit sets where in the genre's range the piece sits; the piece varies around it
    tempo = float(np.clip(lo + (hi - lo) * (0.6 * traits.tempo_position + 0.4 * rng.random()), lo, hi))
    tonic_pc = traits.key if rng.random() < 0.7 else int(rng.integers(0, 12))
    detune = 2 ** (traits.detune_cents / 1200)
    brightness = traits.brightness * rng.uniform(0.85, 1.15)
    mix = {k: v * rng.uniform(0.8, 1.2) for k, v in style.mix.items()}
    step = 60.0 / tempo / 4  # a 16th note, s
    total = duration + offset
    n_out = int(round(total * sr)) + sr
    out = np.zeros(n_out)
    n_steps = int(np.ceil(total / step)) + 1

    def step_time(i):
        # swing delays the off-beat 8ths (steps 2, 6, 10, 14) and odd 16ths
        frac = style.swing * step if i % 2 == 1 or i % 4 == 2 else 0.0
        return i * step + frac

    drum_hits = {k: _drum(k, sr, rng) for k in ("kick", "snare", "hat")}
    note_cache: dict = {}

    def note(midi, steps, inst):
        # chords and bass lines repeat the same notes bar after bar: render each once
        key = (midi, steps, inst)
        if key not in note_cache:
            note_cache[key] = render_note(librosa.midi_to_hz(midi) * detune, steps * step, inst, sr, brightness)
        return note_cache[key]

    progression = np.roll(style.progression, int(rng.integers(0, len(style.progression))))
    melody_note = int(np.mean(style.melody_register))
    for i in range(n_steps):
        t0 = step_time(i)
        start = int(t0 * sr)
        pos = i % 16
        bar = i // 16
        root_degree = int(progression[bar % len(progression)])
        if style.drums is not None:
            for kind, pattern in style.drums.items():
                if rng.random() < pattern[pos]:
                    _add(out, start, drum_hits[kind], mix["drums"] * rng.uniform(0.7, 1.0))
        if pos in style.chord_steps and style.chord != "none":
            for chord_note in _chord_notes(root_degree, style.scale, 48 + tonic_pc, style.chord):
                y = note(chord_note, style.chord_length, style.comp)
                _add(out, start, y, mix["comp"] * 0.35 * rng.uniform(0.8, 1.0))
        bass_root = style.bass_register + (tonic_pc + style.scale[root_degree % len(style.scale)]) % 12
        bass_note = None
        if style.bass == "roots" and pos in (0, 8):
            bass_note, length = bass_root, 7
        elif style.bass == "walking" and pos % 4 == 0:
            bass_note = bass_root + int(rng.choice([0, 2, 4, 5, 7, 9, 10, 12]))
            length = 3.5
        elif style.bass == "syncopated" and pos in (0, 3, 6, 10, 11):
            bass_note, length = bass_root + int(rng.choice([0, 0, 7, 12])), 2
        elif style.bass == "pedal" and pos == 0:
            bass_note, length = bass_root, 16
        if bass_note is not None:
            y = note(bass_note, length, style.bass_voice)
            _add(out, start, y, mix["bass"] * 0.6)
        if pos % 2 == 0 and rng.random() < style.melody_density:
            # a random walk on the scale, kept in the genre's register
            melody_note += int(rng.choice([-4, -2, -1, 1, 2, 4, 0]))
            melody_note = int(np.clip(melody_note, *style.melody_register))
            pc = (melody_note - tonic_pc) % 12
            nearest = min(style.scale, key=lambda s: min((pc - s) % 12, (s - pc) % 12))
            length = float(rng.choice([1, 2, 2, 3, 4]))
            y = note(melody_note - pc + nearest, length, style.lead)
            _add(out, start, y, mix["lead"] * 0.5)
    first = int(round(offset * sr))
    return out[first : first + int(round(duration * sr))]


def _smooth_gain_curve(freqs: np.ndarray, band_hz, gains_db) -> np.ndarray:
    log_f = np.log(np.maximum(freqs, 20.0))
    return 10 ** (np.interp(log_f, np.log(band_hz), gains_db) / 20)


def apply_production(
    music: np.ndarray, fp: Fingerprint, strength: float, sample_rate: int, noise_seed: int
) -> np.ndarray:
    """Put ``music`` through an artist's production chain scaled by ``strength`` in [0, 1].

    EQ and band limit (one FFT filter), reverb (FFT convolution with decaying noise), the noise
    floor and hum (added), compression (tanh). At ``strength == 0`` the music passes unchanged.

    Returns
    -------
    np.ndarray, same shape as ``music``, float64
    """
    from scipy.signal import fftconvolve  # here, as librosa in render_music

    if strength <= 0:
        return music.copy()
    sr = sample_rate
    n = len(music)
    rng = np.random.default_rng(noise_seed)
    spectrum = np.fft.rfft(music)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    gain = _smooth_gain_curve(freqs, EQ_BANDS_HZ, np.asarray(fp.eq_db) * strength)
    corner = sr / 2 - strength * (sr / 2 - fp.band_limit_hz)
    gain = gain / (1.0 + (freqs / max(corner, 100.0)) ** 8)  # 8th-order-like roll-off
    y = np.fft.irfft(spectrum * gain, n)
    if fp.reverb_wet > 0:
        ir_n = int(fp.reverb_t60 * sr)
        ir = rng.standard_normal(ir_n) * np.exp(-6.9 * np.arange(ir_n) / ir_n)
        ir /= np.sqrt(np.sum(ir**2))
        wet = fftconvolve(y, ir)[:n]
        y = y + strength * fp.reverb_wet * wet
    y = y / (np.max(np.abs(y)) + 1e-9) * 0.5
    # coloured noise floor: shape white noise's spectrum by f**(slope/2)
    white = np.fft.rfft(rng.standard_normal(n))
    shape = np.maximum(freqs, 20.0) ** (fp.noise_slope / 2)
    noise = np.fft.irfft(white * shape, n)
    noise /= np.sqrt(np.mean(noise**2)) + 1e-12
    y = y + strength * 10 ** (fp.noise_db / 20) * noise
    t = np.arange(n) / sr
    hum = sum(np.sin(2 * np.pi * fp.hum_hz * h * t) / h for h in (1, 2, 3))
    y = y + strength * 10 ** (fp.hum_db / 20) * hum
    drive = 1.0 + strength * (fp.drive - 1.0)
    return np.tanh(drive * y) / np.tanh(drive)


def render_excerpt(row, sample_rate: int | None = None) -> np.ndarray:
    """Render one planned excerpt (a row of :func:`plan_dataset`) to its final audio.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32 in [-1, 1], peak-normalised to 0.9 (then clipped
    for the ``distortion`` fault).
    """
    sr = int(row["sample_rate"] if sample_rate is None else sample_rate)
    seed = int(row["seed"])
    traits = excerpt_traits(seed, row["artist"], int(row["music_seed"]), float(row["confound_strength"]))
    music = render_music(row["true_genre"], float(row["duration"]), int(row["music_seed"]), traits, sr,
                         offset=float(row["render_offset"]))
    fp = artist_fingerprint(seed, row["artist"])
    y = apply_production(music, fp, float(row["confound_strength"]), sr, derive(seed, "noise", row["track_id"]))
    y = 0.9 * y / (np.max(np.abs(y)) + 1e-9)
    if float(row["clip_gain"]) > 1.0:
        y = np.clip(y * float(row["clip_gain"]), -1.0, 1.0)
    return y.astype(np.float32)


def read_plan(path) -> pd.DataFrame:
    """Read a plan written by :func:`plan_dataset` (ids and seeds keep their types)."""
    return pd.read_csv(path, dtype={"track_id": str, "replica_of": str, "artist": str, "title": str},
                       keep_default_na=False)


def plan_metadata(plan: pd.DataFrame, audio_dir) -> pd.DataFrame:
    """The metadata table of a rendered plan: its rows, with ``path`` under ``audio_dir``."""
    meta = plan.copy()
    meta["path"] = [str(Path(audio_dir) / p) for p in plan["path"]]
    return meta


def write_genre(plan: pd.DataFrame, genre: str, audio_dir, layout: str = "gtzan") -> pd.DataFrame:
    """Render and write every excerpt of ``genre`` as 16-bit AU.

    Parameters
    ----------
    plan : DataFrame
        From :func:`plan_dataset`.
    genre : str
    audio_dir : str or Path
        ``layout='gtzan'``: files go to ``audio_dir/<genre>/<track_id>.au``; ``'flat'``:
        ``audio_dir/<track_id>.au`` (``audio_dir`` is the genre's own folder).

    Returns
    -------
    DataFrame
        The genre's plan rows. Exact replicas are byte copies of their source's file.
    """
    from mgrfaults.data.audio import write_au

    rows = plan[plan["genre"] == genre]
    audio_dir = Path(audio_dir)

    def target(row):
        return audio_dir / (row["path"] if layout == "gtzan" else Path(row["path"]).name)

    # keep in memory only the excerpts an exact replica of this genre copies (a genre of 100 x 30 s
    # would otherwise hold ~0.5 GB of float64 audio)
    sources = set(rows.loc[rows["fault"] == "exact_replica", "replica_of"])
    rendered: dict[str, np.ndarray] = {}
    by_id = plan.set_index("track_id")
    for _, row in rows.iterrows():
        if row["fault"] != "exact_replica":
            y = render_excerpt(row)
            if row["track_id"] in sources:
                rendered[row["track_id"]] = y
            write_au(target(row), y, int(row["sample_rate"]))
    for _, row in rows[rows["fault"] == "exact_replica"].iterrows():
        y = rendered.get(row["replica_of"])
        if y is None:
            y = render_excerpt(by_id.loc[row["replica_of"]].to_dict() | {"track_id": row["replica_of"]})
        write_au(target(row), y, int(row["sample_rate"]))
    return rows


def write_genre_atomic(plan: pd.DataFrame, genre: str, genre_dir) -> int:
    """:func:`write_genre` into ``genre_dir`` (flat layout) through a temporary folder renamed when
    every file is written; returns the number of excerpts written. In a process pool's worker a SIGTERM removes
    the temporary folder on its way out (:func:`mgrfaults.logs.sigterm_raises_in_a_worker`)."""
    from mgrfaults.io import atomic_dir
    from mgrfaults.logs import sigterm_raises_in_a_worker

    with sigterm_raises_in_a_worker(), atomic_dir(genre_dir) as tmp:
        return len(write_genre(plan, genre, tmp, layout="flat"))
