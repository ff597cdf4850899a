"""The synthetic GTZAN-like dataset: deterministic, faults as configured, fingerprints apart from music."""

import numpy as np
import pandas as pd
import pytest

from mgrfaults import GENRES
from mgrfaults.data import synth
from mgrfaults.data.audio import load_audio


@pytest.fixture(scope="module")
def plan():
    return synth.plan_dataset(n_per_genre=20, duration=2.0, seed=7)


def test_plan_is_deterministic(plan):
    again = synth.plan_dataset(n_per_genre=20, duration=2.0, seed=7)
    pd.testing.assert_frame_equal(plan, again)
    other = synth.plan_dataset(n_per_genre=20, duration=2.0, seed=8)
    assert not plan["artist"].equals(other["artist"]) or not plan["fault"].equals(other["fault"])


def test_fault_counts_match_config():
    rates = {"exact_replica": 0.05, "recording_replica": 0.03, "distortion": 0.02, "mislabel": 0.04}
    plan = synth.plan_dataset(n_per_genre=20, duration=1.0, seed=3, faults=rates)
    counts = plan["fault"].value_counts()
    for kind, rate in rates.items():
        assert counts.get(kind, 0) == round(rate * len(plan)), kind
    none = synth.plan_dataset(n_per_genre=10, duration=1.0, seed=3, faults={k: 0.0 for k in rates})
    assert set(none["fault"]) == {"none"}


def test_fault_annotations_are_consistent(plan):
    ids = set(plan["track_id"])
    for _, row in plan[plan["fault"].isin(["exact_replica", "recording_replica"])].iterrows():
        source = plan.set_index("track_id").loc[row["replica_of"]]
        assert row["replica_of"] in ids and source["fault"] == "none"
        assert source["artist"] == row["artist"] and source["music_seed"] == row["music_seed"]
        assert source["genre"] == row["genre"]
    mislabels = plan[plan["fault"] == "mislabel"]
    assert (mislabels["true_genre"] != mislabels["genre"]).all()
    assert (plan.loc[plan["fault"] != "mislabel", "true_genre"] == plan.loc[plan["fault"] != "mislabel", "genre"]).all()
    assert (plan.loc[plan["fault"] == "distortion", "clip_gain"] > 1).all()


def test_artist_blocks_are_skewed(plan):
    assert list(plan["genre"].unique()) == list(GENRES)
    reggae = plan[plan["genre"] == "reggae"]["artist"].value_counts()
    assert 0.25 <= reggae.iloc[0] / 20 <= 0.45  # Bob Marley: 35 of 100
    per_genre = plan.groupby("genre")["artist"].value_counts()
    assert (per_genre == 1).sum() >= 10 * 3  # many singletons


def test_same_seed_gives_byte_identical_audio(plan, tmp_path):
    small = plan[plan["genre"] == "metal"]
    synth.write_genre(small, "metal", tmp_path / "a")
    synth.write_genre(small, "metal", tmp_path / "b")
    for path in small["path"]:
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()
    y = load_audio(tmp_path / "a" / small["path"].iloc[0])
    assert len(y) == 2 * 22050 and np.isfinite(y).all() and 0.5 < np.abs(y).max() <= 1.0


def test_exact_replicas_are_byte_copies(tmp_path):
    plan = synth.plan_dataset(n_per_genre=8, duration=1.0, seed=11,
                              faults={"exact_replica": 0.1, "recording_replica": 0.0, "distortion": 0.0, "mislabel": 0.0})
    replica = plan[plan["fault"] == "exact_replica"].iloc[0]
    genre = replica["genre"]
    synth.write_genre(plan, genre, tmp_path)
    source = plan.set_index("track_id").loc[replica["replica_of"]]
    assert (tmp_path / replica["path"]).read_bytes() == (tmp_path / source["path"]).read_bytes()


def test_recording_replica_is_same_music_other_offset(plan):
    row = plan[plan["fault"] == "recording_replica"].iloc[0]
    source = plan.set_index("track_id").loc[row["replica_of"]].to_dict() | {"track_id": row["replica_of"]}
    a, b = synth.render_excerpt(source), synth.render_excerpt(row)
    assert row["render_offset"] > 0 and not np.allclose(a, b)
    # the same piece: the replica's start is found later in a longer render of the source
    traits = synth.artist_traits(int(row["seed"]), row["artist"])
    long = synth.render_music(row["true_genre"], 2.0 + row["render_offset"], int(row["music_seed"]), traits, 22050)
    shifted = synth.render_music(row["true_genre"], 2.0, int(row["music_seed"]), traits, 22050, offset=row["render_offset"])
    start = int(round(row["render_offset"] * 22050))
    np.testing.assert_allclose(long[start : start + len(shifted)], shifted, atol=1e-9)


def test_distortion_clips():
    plan = synth.plan_dataset(n_per_genre=6, duration=1.0, seed=2,
                              faults={"exact_replica": 0.0, "recording_replica": 0.0, "distortion": 0.1, "mislabel": 0.0})
    row = plan[plan["fault"] == "distortion"].iloc[0]
    y = synth.render_excerpt(row)
    assert np.mean(np.abs(y) >= 0.999) > 0.05


def test_confound_strength_changes_fingerprint_not_music(plan):
    row = plan[plan["fault"] == "none"].iloc[3]
    # at strength 0 the piece is played with its own habits, not its artist's
    traits = synth.excerpt_traits(int(row["seed"]), row["artist"], int(row["music_seed"]), 0.0)
    music = synth.render_music(row["true_genre"], 2.0, int(row["music_seed"]), traits, 22050)
    strong = synth.render_excerpt(row.to_dict() | {"confound_strength": 1.0})
    none = synth.render_excerpt(row.to_dict() | {"confound_strength": 0.0})
    # at 0 the excerpt is the dry music, normalised: no production at all
    np.testing.assert_allclose(none, (0.9 * music / np.abs(music).max()).astype(np.float32), atol=1e-6)
    assert np.corrcoef(strong, none)[0, 1] < 0.99
    # the genre content (composition and performance) does not depend on confound_strength
    again = synth.render_music(row["true_genre"], 2.0, int(row["music_seed"]), traits, 22050)
    np.testing.assert_array_equal(music, again)
    # different artists of one genre differ in fingerprint
    a, b = (synth.artist_fingerprint(1, name) for name in ("x", "y"))
    assert a != b and synth.artist_fingerprint(1, "x") == a


def test_fingerprint_is_visible_in_spectrum():
    """A strong band limit removes the highs: the fingerprint is something a classifier can see."""
    rng = np.random.default_rng(0)
    music = rng.standard_normal(22050)
    fp = synth.Fingerprint(eq_db=(0.0,) * 8, band_limit_hz=3500.0, noise_db=-120, noise_slope=0, hum_hz=50,
                           hum_db=-120, drive=1.0, reverb_t60=0.2, reverb_wet=0.0)
    y = synth.apply_production(music, fp, 1.0, 22050, noise_seed=1)
    spec = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / 22050)
    assert spec[freqs > 7000].mean() < 0.05 * spec[freqs < 2000].mean()
    np.testing.assert_array_equal(synth.apply_production(music, fp, 0.0, 22050, 1), music)


@pytest.mark.parametrize("n_per_genre, rates, kind", [
    (30, {"exact_replica": 0.3, "recording_replica": 0.2, "distortion": 0.3, "mislabel": 0.2}, "recording_replica"),
    (2, {"distortion": 0.5}, "distortion"),
])
def test_fault_rates_that_cannot_all_be_placed_are_refused_not_cut(n_per_genre, rates, kind):
    # each genre keeps excerpt 0 and a replica's source clean: asking for more faults than fit was cut silently
    from mgrfaults.errors import InputError

    with pytest.raises(InputError, match=rf"dataset\.synthetic\.faults: \d+ {kind} excerpt\(s\) asked .* only \d+ fit"):
        synth.plan_dataset(n_per_genre=n_per_genre, duration=1.0, seed=1, faults=rates)


def test_fault_rates_that_fill_the_genres_are_all_placed():
    # the refusal above is for rates that do not fit: 40 % of faults over 30 excerpts a genre still do, all of them
    rates = {"exact_replica": 0.3, "recording_replica": 0.1}
    plan = synth.plan_dataset(n_per_genre=30, duration=1.0, seed=1, faults=rates)
    counts = plan["fault"].value_counts()
    assert {k: counts.get(k, 0) for k in rates} == {k: round(v * len(plan)) for k, v in rates.items()}


def test_unknown_fault_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown fault"):
        synth.plan_dataset(n_per_genre=4, faults={"replica": 0.1})


def test_habits_follow_the_artist_only_with_the_confound_strength():
    pieces = range(200)
    for piece in pieces:
        # at 0 an excerpt's habits do not depend on its artist
        assert synth.excerpt_traits(5, "rock_artist00", piece, 0.0) == synth.excerpt_traits(5, "rock_artist07", piece, 0.0)
        # at 1 they are the artist's
        assert synth.excerpt_traits(5, "rock_artist00", piece, 1.0) == synth.artist_traits(5, "rock_artist00")
    # at 0 the pieces of one artist do not share a key any more than chance allows
    keys = [synth.excerpt_traits(5, "rock_artist00", piece, 0.0).key for piece in pieces]
    assert max(np.bincount(keys, minlength=12)) < 0.2 * len(keys)
    half = [synth.excerpt_traits(5, "rock_artist00", piece, 0.5) for piece in pieces]
    share = np.mean([t.tempo_position == synth.artist_traits(5, "rock_artist00").tempo_position for t in half])
    assert 0.35 < share < 0.65


def test_artists_are_exchangeable_at_strength_zero():
    plan = synth.plan_dataset(n_per_genre=6, duration=0.5, seed=9, confound_strength=0.0)
    row = plan[plan["genre"] == "jazz"].iloc[0].to_dict()
    other = row | {"artist": "jazz_artist_someone_else"}
    assert np.array_equal(synth.render_excerpt(row), synth.render_excerpt(other))
    strong = row | {"confound_strength": 1.0}
    assert not np.array_equal(synth.render_excerpt(strong), synth.render_excerpt(strong | {"artist": other["artist"]}))
