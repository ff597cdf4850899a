"""GTZAN annotations: Sturm's artist index, the study's partition lists, the metadata built from them."""

import logging
from pathlib import Path

import pandas as pd
import pytest

from mgrfaults import GENRES
from mgrfaults.data.annotations import (
    gtzan_metadata,
    infer_removed_faults,
    read_annotations,
    read_gtzan_index,
    read_partition_list,
    read_partition_lists,
    track_id_from_path,
)
from mgrfaults.data.artists import artist_key, artist_spellings, normalise_text
from mgrfaults.errors import InputError

SHARED_GTZAN = Path(__file__).parents[2] / "shared" / "gtzan"
INDEX = SHARED_GTZAN / "metadata" / "GTZANindex.txt"
LISTS = SHARED_GTZAN / "partitions"
needs_shared = pytest.mark.skipif(
    not INDEX.exists() or not LISTS.exists(),
    reason=f"the shared GTZAN annotations are not at {SHARED_GTZAN} (shared/ beside the repository)",
)


def gtzan_listing(track_ids):
    """A listing as the data stage's scan gives it, without audio."""
    listing = pd.DataFrame({"track_id": list(track_ids)})
    listing["genre"] = listing["track_id"].str.split(".").str[0]
    listing["path"] = listing["genre"] + "/" + listing["track_id"] + ".au"
    listing["duration"] = 30.0
    listing["sample_rate"] = 22050
    return listing


def test_track_id_from_path():
    assert track_id_from_path("blues/blues.00012.wav") == "blues.00012"
    assert track_id_from_path("  jazz/jazz.00054.au\n") == "jazz.00054"
    assert track_id_from_path("blues.00012") == "blues.00012"


def test_read_index_crafted(tmp_path):
    path = tmp_path / "index.txt"
    path.write_text(
        "## header\n##\nreggae.00000.wav ::: Bob Marley ::: Is This Love\n"
        "classical.00059.wav ::: :::\n\ncountry.00002.wav ::: ::: I Wish I Had A Nickel\n"
    )
    index = read_gtzan_index(path)
    assert list(index["track_id"]) == ["reggae.00000", "classical.00059", "country.00002"]
    assert list(index["artist"]) == ["Bob Marley", "unknown:classical.00059", "unknown:country.00002"]
    assert index["title"].iloc[2] == "I Wish I Had A Nickel"


def test_read_index_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("## header\nblues.00000.wav ::: John Lee Hooker\n")
    with pytest.raises(InputError, match=r"bad.txt:2"):
        read_gtzan_index(bad)
    dup = tmp_path / "dup.txt"
    dup.write_text("blues.00000.wav ::: A ::: x\nblues.00000.wav ::: B ::: y\n")
    with pytest.raises(InputError, match="blues.00000"):
        read_gtzan_index(dup)
    with pytest.raises(InputError, match="not found"):
        read_gtzan_index(tmp_path / "missing.txt")


def test_read_partition_list_duplicate(tmp_path):
    path = tmp_path / "train_x.txt"
    path.write_text("blues/blues.00001.wav\n\nblues/blues.00002.wav\nother/blues.00001.au\n")
    with pytest.raises(InputError, match="blues.00001"):
        read_partition_list(path)


def test_a_list_line_starting_with_a_hash_is_a_track_where_it_names_one(tmp_path):
    # audit 54: the file "#1 Crush.wav", listed by its id, was read as a comment and left its part without a word
    from mgrfaults.data.annotations import read_list_files

    train, test = tmp_path / "train_x.txt", tmp_path / "test_x.txt"
    train.write_text("# my split, made by hand\na0\n#1 Crush\n")
    # lines commented out stay comments, whatever they name (audit 56: the excerpt came back into its part)
    test.write_text("#b0 is left out on purpose\n#b0\n# pop/b0.wav\n#pop/b0.wav\nb1\n")
    lists = read_list_files({"train": train, "test": test}, known_ids=["a0", "#1 Crush", "b0", "b1"])
    assert lists == {"train": ["a0", "#1 Crush"], "test": ["b1"]}
    assert read_list_files({"train": train, "test": test}) == {"train": ["a0"], "test": ["b1"]}
    # a path commented out, to a file whose name starts with '#' too, is a comment (audit 57)
    test.write_text("#pop/#1 Crush.wav\n# pop/#1 Crush.wav\nb1\n")
    assert read_list_files({"test": test}, known_ids=["#1 Crush", "b1"]) == {"test": ["b1"]}
    # '#1 Crush' where the dataset holds '1 Crush' too: an excerpt, or one commented out; refused naming both
    test.write_text("b1\n#1 Crush\n")
    with pytest.raises(InputError, match=r"test_x\.txt:2: '#1 Crush' names the excerpt '#1 Crush', or comments out "
                                         r"'1 Crush', both in the dataset"):
        read_list_files({"test": test}, known_ids=["#1 Crush", "1 Crush", "b1"])


def test_infer_removed_faults_rules():
    index = pd.DataFrame(
        [
            ("jazz.00033", "Coleman Hawkins", "Body and Soul"),
            ("jazz.00051", "Coleman Hawkins", "Body And Soul"),
            ("jazz.00045", "Coleman Hawkins", "How Strange"),
            ("jazz.00071", "Coleman Hawkins", "How Strang"),
            ("pop.00015", "Britney Spears", "(You Drive Me) Crazy"),
            ("pop.00021", "Britney Spears", "(You Drive Me) Crazy"),
            ("reggae.00086", "King Tubby", "Splash Out Dub"),
            ("blues.00001", "unknown:blues.00001", ""),
        ],
        columns=["track_id", "artist", "title"],
    )
    removed = ["jazz.00033", "jazz.00045", "pop.00015", "pop.00021", "reggae.00086"]
    kept = ["jazz.00051", "jazz.00071", "blues.00001"]
    faults = infer_removed_faults(index, removed, kept).set_index("track_id")
    assert faults.loc["jazz.00033", "replica_of"] == "jazz.00051"  # case-blind title
    assert faults.loc["jazz.00045", "replica_of"] == "jazz.00071"  # nearly equal title
    # a group the lists drop whole: every member is a replica, the rest point at the first (no cycle)
    assert faults.loc["pop.00015", "replica_of"] == ""
    assert faults.loc["pop.00021", "replica_of"] == "pop.00015"
    assert (faults.loc[["jazz.00033", "jazz.00045", "pop.00015", "pop.00021"], "fault"] == "exact_replica").all()
    assert faults.loc["reggae.00086", "fault"] == "distortion"
    assert faults.loc["reggae.00086", "replica_of"] == ""


@needs_shared
def test_shared_index_bob_marley():
    index = read_gtzan_index(INDEX)
    assert len(index) == 1000
    assert set(index["track_id"].str.split(".").str[0]) == set(GENRES)
    marley = index[index["artist"] == "Bob Marley"]
    assert len(marley) == 35
    assert set(marley["track_id"].str.split(".").str[0]) == {"reggae"}
    unknown = index["artist"].str.startswith("unknown:")
    assert unknown.sum() > 0
    assert (index.loc[unknown, "artist"] == "unknown:" + index.loc[unknown, "track_id"]).all()


@needs_shared
@pytest.mark.parametrize("list_set, sizes", [("filtered", (443, 197, 290)), ("stratified", (500, 250, 250))])
def test_shared_published_lists(list_set, sizes):
    lists = read_partition_lists(LISTS, list_set)
    assert tuple(len(lists[p]) for p in ("train", "valid", "test")) == sizes
    all_ids = [tid for ids in lists.values() for tid in ids]
    assert len(set(all_ids)) == sum(sizes)  # no id in two parts
    gtzan_ids = {f"{g}.{i:05d}" for g in GENRES for i in range(100)}
    assert set(all_ids) <= gtzan_ids
    assert set(all_ids) <= set(read_gtzan_index(INDEX)["track_id"])


@needs_shared
def test_shared_gtzan_metadata():
    index = read_gtzan_index(INDEX)
    meta = gtzan_metadata(gtzan_listing(index["track_id"]), INDEX, LISTS)
    assert len(meta) == 1000
    assert list(meta["track_id"]) == sorted(meta["track_id"])
    assert (meta["fault"] != "none").sum() == 70
    removed = meta[meta["fault"] != "none"]
    assert removed.groupby("genre").size().to_dict() == {
        "classical": 1, "country": 2, "disco": 7, "hiphop": 8, "jazz": 13, "metal": 9, "pop": 16, "reggae": 14
    }
    kept = set(meta.loc[meta["fault"] == "none", "track_id"])
    replicas = removed[removed["fault"] == "exact_replica"]
    # a replica points at a kept member of its group, except in the group the study dropped whole
    outside = replicas[~replicas["replica_of"].isin(kept)]
    assert set(outside["track_id"]) == {"pop.00015", "pop.00021", "pop.00022", "pop.00037"}
    assert meta.set_index("track_id").loc["jazz.00033", "replica_of"] == "jazz.00051"
    assert (meta.loc[meta["genre"] == "reggae", "artist"] == "Bob Marley").sum() == 35
    assert "title" in meta.columns


@needs_shared
def test_shared_gtzan_metadata_skipped_and_unknown():
    index = read_gtzan_index(INDEX)
    # jazz.00054 is skipped as corrupt audio: absent from the listing, the rest still builds
    meta = gtzan_metadata(gtzan_listing([t for t in index["track_id"] if t != "jazz.00054"]), INDEX, LISTS)
    assert len(meta) == 999 and "jazz.00054" not in set(meta["track_id"])
    no_lists = gtzan_metadata(gtzan_listing(index["track_id"]), INDEX, None)
    assert (no_lists["fault"] == "none").all() and "audio_trusted" not in no_lists.columns
    # a file dataset.trust_audio names keeps its mark: the features and fault stages read it from the metadata
    listing = gtzan_listing(index["track_id"]).assign(audio_trusted=lambda t: t["track_id"] == "jazz.00054")
    marked = gtzan_metadata(listing, INDEX, LISTS).set_index("track_id")["audio_trusted"]
    assert marked.sum() == 1 and marked["jazz.00054"]
    with pytest.raises(InputError, match="blues.00100"):
        gtzan_metadata(gtzan_listing(["blues.00000", "blues.00100"]), INDEX, None)


# ---------------------------------------------------------------------------------------------
# artist spellings: one artist, one name, from every source


def test_artist_spellings_merge_case_whitespace_punctuation_only():
    names = (["The Band"] * 2 + ["the band", " The  Band ", "The-Band!", "Other"]
             + ["unknown:a.00001", "unknown:A.00001", "", "", "!!!", "! ! !", "???", "Кино", "Сплин", "Кино!"])
    mapping = artist_spellings(names)
    assert mapping == {"the band": "The Band", " The  Band ": "The Band", "The-Band!": "The Band",
                       "!!!": "! ! !", "Кино!": "Кино"}  # "! ! !" < "!!!": a tie, first in sorted order
    # a tie goes to the first spelling in sorted order, whatever the order of the excerpts
    tie = ["Rage Against the Machine", "Rage Against The Machine"]
    assert artist_spellings(tie) == artist_spellings(tie[::-1]) == {"Rage Against the Machine": "Rage Against The Machine"}
    assert artist_spellings(["A", "B", "unknown:x"]) == {}
    # accents dropped and "&" read as "and": one artist (Sturm's index has "Earth, Wind & Fire" beside
    # "Earth Wind and Fire"), while names that differ in letters stay apart
    assert artist_spellings(["Sigur Rós", "Sigur Ros", "Sigur Ros"]) == {"Sigur Rós": "Sigur Ros"}
    assert artist_spellings(["Simon & Garfunkel", "Simon and Garfunkel"]) == {"Simon and Garfunkel": "Simon & Garfunkel"}
    assert artist_spellings(["Sade", "Sadé", "Sada"]) == {"Sadé": "Sade"} and artist_key("Sada") != artist_key("Sade")


def testnormalise_text_keeps_letters_of_every_script():
    # an ASCII-only rule would make every Cyrillic name "" and merge strangers
    assert normalise_text("Кино") != normalise_text("Сплин")
    assert normalise_text("Rage Against the  Machine.") == "rageagainstthemachine"
    assert normalise_text("Beyonce\u0301") == normalise_text("Beyonc\u00e9")  # decomposed = composed accent


def test_annotation_artist_variants_become_one_artist(tmp_path, caplog):
    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist\nrock.00000,The Band\nrock.00001,the band\nrock.00002,\"  THE  BAND \"\n"
                    "rock.00003,The Band.\nrock.00004,The Band\nrock.00005,Another Band\nrock.00006,\n")
    with caplog.at_level(logging.INFO, logger="mgrfaults"):
        ann = read_annotations(path)
    assert list(ann["artist"]) == ["The Band"] * 5 + ["Another Band", ""]
    assert "artist spellings merged: 'the band' (1) -> 'The Band' (2)" in caplog.text
    assert str(path) in caplog.text


def test_annotations_from_a_spreadsheet(tmp_path, caplog):
    # trailing commas: columns with no name and no value; "unknown" written as NA, N/A, None: each excerpt its own
    path = tmp_path / "ann.csv"
    path.write_text("track_id,artist,,\nrock.00000,NA,,\nrock.00001,N/A,,\nrock.00002,None,,\nrock.00003,Band,,\n")
    with caplog.at_level(logging.INFO, logger="mgrfaults"):
        ann = read_annotations(path)
    assert list(ann.columns) == ["track_id", "artist"] and list(ann["artist"]) == ["", "", "", "Band"]
    assert "3 artist cell(s) ['N/A', 'NA', 'None'] read as unknown" in caplog.text
    # the words of metadata tools for "no artist": not one artist whom artist filtering would keep in one part
    path.write_text("track_id,artist\nrock.00000,Unknown\nrock.00001,unknown artist\nrock.00002,-\n"
                    "rock.00003,?\nrock.00004,Unknowns\n")
    assert list(read_annotations(path)["artist"]) == ["", "", "", "", "Unknowns"]
    # an em dash (a spreadsheet's "--"), an en dash, dots, a zero-width space alone, n.a., a compilation's Various
    # Artists: each excerpt its own artist, not one artist across genres; a name of punctuation ("!!!") stays a name
    cells = ["\u2014", "\u2013 \u2013", "...", "\u200b", "\u200b-\u200b", "n.a.", "N.A", "Various Artists", "V/A", "!!!"]
    path.write_text("track_id,artist\n" + "".join(f"{g}.0000{i},{c}\n" for i, (g, c) in
                                                  enumerate(zip(["rock", "jazz", "blues"] * 4, cells))), encoding="utf-8")
    assert list(read_annotations(path)["artist"]) == [""] * 9 + ["!!!"]
    # a column with no name but a value is still refused; another separator is named as the cause
    path.write_text("track_id,artist,\nrock.00000,Band,x\n")
    with pytest.raises(InputError, match=r"unknown column\(s\) \['Unnamed: 2'\].*rename or remove them"):
        read_annotations(path)
    path.write_text("track_id;artist\nrock.00000;Band\n")
    with pytest.raises(InputError, match=r"the header holds ';': the table must be comma-separated"):
        read_annotations(path)


@needs_shared
def test_shared_index_one_spelling_per_artist(caplog):
    with caplog.at_level(logging.INFO, logger="mgrfaults"):
        meta = gtzan_metadata(gtzan_listing(read_gtzan_index(INDEX)["track_id"]), INDEX, LISTS)
    ratm = meta.loc[meta["track_id"].isin([f"metal.{i:05d}" for i in range(95, 100)]), "artist"]
    assert set(ratm) == {"Rage Against The Machine"}  # the index spells metal.00095 "... the Machine"
    assert "'Rage Against the Machine' (1) -> 'Rage Against The Machine' (4)" in caplog.text
    ewf = meta.loc[meta["track_id"].isin(["disco.00016", "disco.00056", "disco.00059"]), "artist"]
    assert set(ewf) == {"Earth Wind and Fire"}  # disco.00016 is "Earth, Wind & Fire" in the index
    assert "'Earth, Wind & Fire' (1) -> 'Earth Wind and Fire' (2)" in caplog.text
    named = meta.loc[~meta["artist"].str.startswith("unknown:"), "artist"].drop_duplicates()
    assert not named.map(artist_key).duplicated().any()


def test_artist_names_that_may_be_one_artist_are_said_not_merged(caplog):
    from mgrfaults.data.artists import canonical_artists, look_alike_artists

    names = ["Tosh, Peter", "Peter Tosh", "Bob Marley", "Bob Marley & The Wailers", "Bob Marley", "Simon"]
    # a name and the same name with a band is a credit naming the name (mgrfaults.data.artists.credited_artists)
    assert look_alike_artists(names) == [["Peter Tosh", "Tosh, Peter"]]
    assert look_alike_artists(["Guns N' Roses", "Guns and Roses"]) == [["Guns N' Roses", "Guns and Roses"]]
    with caplog.at_level("WARNING", logger="mgrfaults.data.annotations"):
        kept = canonical_artists(pd.Series(names), "ann.csv")
    assert list(kept) == names  # kept apart: they may be two artists
    assert "ann.csv: artist names that may name one artist are kept apart" in caplog.text and "Tosh, Peter" in caplog.text


def test_a_gtzan_copy_of_capitalised_genre_folders_is_found_so_its_names_can_be_checked(tmp_path):
    # audit 50: with every genre folder capitalised (Blues/), the copy was not found and the download help shown;
    # found, the check of its names says which folders to rename (as it did with one capitalised)
    from mgrfaults.data.annotations import gtzan_genre_root

    (tmp_path / "genres" / "Blues").mkdir(parents=True)
    (tmp_path / "genres" / "Rock").mkdir()
    assert gtzan_genre_root(tmp_path) == (tmp_path / "genres", "original")
    # a folder of one's own named as a genre in other letters beside a copy is no second copy (audit 51)
    (tmp_path / "copy" / "genres" / "blues").mkdir(parents=True)
    (tmp_path / "copy" / "Rock").mkdir()
    assert gtzan_genre_root(tmp_path / "copy") == (tmp_path / "copy" / "genres", "original")


@pytest.mark.parametrize("layout", ["Data/genres_original", "genres"])
def test_gtzan_root_set_to_one_genre_folder_names_its_parent(tmp_path, layout):
    # the root one level too deep (adv44 finding 7): said to be GTZAN's blues folder, not "download a copy of GTZAN"
    from mgrfaults.data.annotations import gtzan_genre_root

    blues = tmp_path / layout / "blues"
    blues.mkdir(parents=True)
    for i in range(2):
        (blues / f"blues.{i:05d}.wav").write_bytes(b"")
    with pytest.raises(InputError, match=rf"dataset\.gtzan\.root: {blues} holds no GTZAN genre folders .*It looks "
                                         r"like GTZAN's 'blues' folder itself \(its files are blues\.000NN\.\*\): "
                                         rf"set dataset\.gtzan\.root to its parent, {blues.parent}, the folder of the "
                                         r"genre folders \(or to the copy's folder holding it\)\.$") as error:
        gtzan_genre_root(blues)
    assert "Download a copy" not in str(error.value)
    assert gtzan_genre_root(blues.parent) == (blues.parent, "flat")
    # a folder of another genre's files, or of files that are no excerpt, is not said to be one
    (blues / "blues.00000.wav").rename(blues / "notes.wav")
    (blues / "blues.00001.wav").rename(blues / "rock.00001.wav")
    with pytest.raises(InputError, match="Download a copy of GTZAN"):
        gtzan_genre_root(blues)
