"""Artist identity: credits naming several artists, and what the artist filter and the attribution make of them."""

import logging
import warnings

import pandas as pd
import pytest

from mgrfaults.data.artists import artist_groups, canonical_artists, credit_links, credited_artists
from mgrfaults.errors import InputError
from mgrfaults.evaluation.attribution import attribution_groups
from mgrfaults.partitions.split import (
    PartitionWarning,
    artist_filtered_cv,
    artist_filtered_split,
    artists_in_several_parts,
    check_partition,
)


def test_a_credit_names_the_whole_credits_it_is_made_of():
    names = ["Lauryn Hill and Bob Marley", "Bob Marley", "Lauryn Hill", "KC and The Sunshine Band", "Peter Tosh",
             "Peter Tosh and Mick Jagger", "A, B & C", "B & C", "AC/DC", "DC", "unknown:x.01", "Simon feat. Lipps, Inc."]
    credited = dict(zip(names, credited_artists(names)))
    assert credited["Lauryn Hill and Bob Marley"] == ("Bob Marley", "Lauryn Hill", "Lauryn Hill and Bob Marley")
    assert credited["Bob Marley"] == ("Bob Marley",)
    # a band named with a joiner stays one artist: no excerpt is credited to "KC" alone
    assert credited["KC and The Sunshine Band"] == ("KC and The Sunshine Band",)
    assert credited["Peter Tosh and Mick Jagger"] == ("Peter Tosh", "Peter Tosh and Mick Jagger")
    assert credited["A, B & C"] == ("A, B & C", "B & C")  # a run of parts names a duo
    assert credited["AC/DC"] == ("AC/DC",)  # "/" joins no credit
    assert credited["unknown:x.01"] == ("unknown:x.01",)
    assert credited["Simon feat. Lipps, Inc."] == ("Simon feat. Lipps, Inc.",)


def test_a_credit_matches_other_spellings_and_joiners_in_any_case():
    names = ["Earth Wind and Fire", "Earth, Wind & Fire feat. The Emotions", "the emotions", "X FEAT Y", "y"]
    credited = dict(zip(names, credited_artists(names)))
    # one artist, one name: the first spelling in sorted order
    assert credited["Earth, Wind & Fire feat. The Emotions"] == (
        "Earth Wind and Fire", "Earth, Wind & Fire feat. The Emotions", "the emotions")
    assert credited["X FEAT Y"] == ("X FEAT Y", "y")


def test_artist_groups_link_through_shared_artists():
    names = ["Bob Marley", "Lauryn Hill and Bob Marley", "Lauryn Hill", "Peter Tosh", "Bob Marley", "unknown:r.9"]
    groups = artist_groups(credited_artists(names))
    assert groups == ["Bob Marley", "Bob Marley", "Bob Marley", "Peter Tosh", "Bob Marley", "unknown:r.9"]
    # without the duet the two artists are two groups, each named by itself
    assert artist_groups(credited_artists(["Lauryn Hill", "Bob Marley"])) == ["Lauryn Hill", "Bob Marley"]


def test_credit_links_are_logged_by_the_readers(caplog):
    names = pd.Series(["Lauryn Hill and Bob Marley", "Bob Marley", "Lauryn Hill", "KC and The Sunshine Band"])
    assert credit_links(names) == {"Lauryn Hill and Bob Marley": ("Bob Marley", "Lauryn Hill")}
    with caplog.at_level(logging.WARNING, logger="mgrfaults.data.artists"):
        kept = canonical_artists(names, "ann.csv")
    assert list(kept) == list(names)  # names are not rewritten: the credit stays as written
    assert ("ann.csv: 1 credit(s) name other artists, and count as an excerpt of each (the artist filter keeps them in "
            "one part; the attribution counts a test excerpt artist_in_train beside any of them): 'Lauryn Hill and Bob "
            "Marley' -> ['Bob Marley', 'Lauryn Hill']; where a credit is a band's name") in caplog.text


@pytest.mark.parametrize("credit", ["A (feat. B)", "A [ft. B]", "A feat.B", "A featuring: B", "A ＆ B", "A、B", "A FT B"])
def test_featuring_credits_as_written_in_the_wild(credit):
    assert credited_artists([credit, "A", "B"])[0] == tuple(sorted(["A", "B", credit]))


def test_words_holding_a_joiner_are_no_joiners():
    names = ["Daft Punk", "Little Feat", "Featherweight", "Left Feat.", "Left", "Daft", "Punk"]
    credited = dict(zip(names, credited_artists(names)))
    assert credited["Daft Punk"] == ("Daft Punk",) and credited["Featherweight"] == ("Featherweight",)
    assert credited["Little Feat"] == ("Little Feat",)
    # a joiner with nothing after it joins nothing
    assert credited["Left Feat."] == ("Left Feat.",)


def duet_metadata(n_per_genre=12):
    """Two genres of 4 artists each (3 excerpts), plus reggae.duet: a duet of two artists of two genres."""
    rows = []
    for genre in ("hiphop", "reggae"):
        for i in range(n_per_genre):
            rows.append((f"{genre}.{i:05d}", genre, f"{genre} artist {i % 4}"))
    rows.append(("reggae.duet", "reggae", "hiphop artist 0 and reggae artist 0"))
    meta = pd.DataFrame(rows, columns=["track_id", "genre", "artist"])
    return meta.assign(fault="none", replica_of="")


@pytest.mark.parametrize("seed", range(6))
def test_the_artist_filter_keeps_a_duet_with_both_artists(seed):
    meta = duet_metadata()
    linked = meta["artist"].isin(["hiphop artist 0", "reggae artist 0", "hiphop artist 0 and reggae artist 0"])
    part = artist_filtered_split(meta, {"train": 0.5, "valid": 0.2, "test": 0.3}, (), seed=seed)
    assert part.merge(meta[linked], on="track_id")["part"].nunique() == 1
    assert artists_in_several_parts(part, meta) == {}
    for fold in artist_filtered_cv(meta, k=3, remove=(), seed=seed):
        assert fold.merge(meta[linked], on="track_id")["part"].nunique() == 1


def test_an_artist_in_two_parts_through_a_duet_is_named():
    meta = duet_metadata()
    part = pd.DataFrame({"track_id": meta["track_id"], "part": "train"})
    # one excerpt of each artist in valid and test, so every genre is in every part; the duet alone in test
    for artist, where in (("hiphop artist 1", "valid"), ("hiphop artist 2", "test"),
                          ("reggae artist 1", "valid"), ("reggae artist 2", "test")):
        part.loc[(meta["artist"] == artist).to_numpy(), "part"] = where
    part.loc[part["track_id"] == "reggae.duet", "part"] = "test"
    crossing = artists_in_several_parts(part, meta)
    assert list(crossing) == ["hiphop artist 0", "reggae artist 0"]
    assert crossing["reggae artist 0"]["parts"]["test"] == ["reggae.duet (hiphop artist 0 and reggae artist 0)"]
    assert crossing["reggae artist 0"]["own"] is False
    with pytest.raises(InputError, match=r"artist\(s\) in more than one part: \['hiphop artist 0', 'reggae artist 0'\]"):
        check_partition(part, meta, artist_filtered=True)
    with pytest.warns(PartitionWarning, match=r"'reggae artist 0' is in more than one part through a credit"):
        check_partition(part, meta, artist_filtered=True, shared_credits="warn")
    # an artist's own excerpts in two parts stay an error for given lists too
    part.loc[part["track_id"] == "reggae.00000", "part"] = "valid"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartitionWarning)
        with pytest.raises(InputError, match=r"in more than one part: \['reggae artist 0'\]"):
            check_partition(part, meta, artist_filtered=True, shared_credits="warn")


def test_a_duet_test_excerpt_is_artist_in_train():
    meta = duet_metadata()
    part = pd.DataFrame({"track_id": meta["track_id"], "part": "valid"})
    part.loc[meta["artist"] == "reggae artist 0", "part"] = "train"
    part.loc[part["track_id"].isin(["reggae.duet", "hiphop.00000", "reggae.00001"]), "part"] = "test"
    groups = attribution_groups(meta, part)
    # the duet names reggae artist 0, who is in train; hiphop.00000 (hiphop artist 0, none of whose excerpts is in
    # train) shares no artist with the training part: the duet links the two artists, it does not make them one
    assert groups.to_dict() == {"hiphop.00000": "neither", "reggae.00001": "neither", "reggae.duet": "artist_in_train"}


def test_artist_group_of_puts_a_joint_credit_with_each_of_its_artists():
    from mgrfaults.data.artists import artist_group_of

    metadata = pd.DataFrame({"track_id": ["t1", "t2", "t3", "t4"],
                             "artist": ["Bob Marley", "Lauryn Hill", "Lauryn Hill and Bob Marley", "Abba"]})
    groups = artist_group_of(metadata)
    assert groups["t1"] == groups["t2"] == groups["t3"] != groups["t4"]


def test_a_mark_that_makes_another_letter_outside_latin_keeps_two_artists_apart():
    # audit 54: every combining mark was dropped, so Cyrillic й became и and kana ガ became カ: two artists merged
    from mgrfaults.data.artists import artist_key

    assert artist_key("Бой") != artist_key("Бои") and artist_key("カラス") != artist_key("ガラス")
    assert artist_key("Sigur Rós") == artist_key("Sigur Ros") and artist_key("Beyoncé") == artist_key("BEYONCE")
    # accents that are accents: Greek capitals carry no tonos, Cyrillic ё is written е as often (audit 56)
    assert artist_key("Βασίλης Παπακωνσταντίνου") == artist_key("ΒΑΣΙΛΗΣ ΠΑΠΑΚΩΝΣΤΑΝΤΙΝΟΥ")
    assert artist_key("Алёна") == artist_key("Алена") and artist_key("Її") != artist_key("\u0406\u0456")  # Ukrainian ї is a letter, not і
    # Latin letters with a stroke, written without it (audit 57); vowel signs with no precomposed letter kept
    assert artist_key("Røyksopp") == artist_key("Royksopp") and artist_key("Czesław") == artist_key("Czeslaw")
    assert artist_key("Barış") == artist_key("BARIS") and artist_key("Strauß") == artist_key("Strauss")
    assert artist_key("กิน") != artist_key("กัน") and artist_key("कमल") != artist_key("कोमल")
    # the names a mark tells apart are named as maybe one artist's
    from mgrfaults.data.artists import look_alike_artists
    assert look_alike_artists(["Бой", "Бои", "カラス", "ガラス", "Peter Tosh"]) == [["Бои", "Бой"], ["カラス", "ガラス"]]
    merged = canonical_artists(pd.Series(["カラス", "ガラス", "カラス", "Sigur Rós", "Sigur Ros", "Sigur Ros"]), "x.csv")
    assert list(merged) == ["カラス", "ガラス", "カラス", "Sigur Ros", "Sigur Ros", "Sigur Ros"]
