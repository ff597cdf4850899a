"""The dataset's fault profile (mgrfaults.faults.profile): artist concentration per genre beside detected faults."""

import numpy as np
import pandas as pd
import pytest

from mgrfaults.data.annotations import read_gtzan_index
from mgrfaults.faults.profile import (artist_concentration, dataset_profile, largest_share_finding, profile_findings,
                                      profile_markdown)


def test_gtzan_reggae_is_one_third_bob_marley(shared_gtzan):
    """Sturm's index of real GTZAN: 35 of the 100 Reggae excerpts are Bob Marley's (its README, Sturm 2013)."""
    index = read_gtzan_index(shared_gtzan / "metadata" / "GTZANindex.txt")
    profile = artist_concentration(index["track_id"].str.split(".").str[0], index["artist"]).set_index("genre")
    assert profile.loc["reggae", ["largest_artist", "largest_artist_excerpts", "largest_artist_share"]].tolist() == [
        "Bob Marley", 35, 0.35]
    assert list(profile.index) == sorted(set(profile.index) - {"all"}) + ["all"]
    assert (profile.loc[profile.index != "all", "excerpts"] == 100).all()
    # the unknown artists (an empty index field) are each their own: counted apart, never the largest
    assert profile.loc["all", "unknown_artist"] == (index["artist"].str.startswith("unknown:")).sum() > 0
    assert profile.loc["all", "largest_artist"] == "Bob Marley"
    assert profile.loc["all", "sharing_artist"] <= 1000 - profile.loc["all", "unknown_artist"]
    # README's 794: 790 by their whole credit, and four credits naming several artists (Lauryn Hill and Bob Marley...)
    assert profile.loc["all", "sharing_artist"] == 794


def test_what_the_studys_lists_share_with_their_test_part(shared_gtzan, capsys):
    """README's table (``python -m mgrfaults.faults.profile GTZANindex.txt --lists DIR``): under the stratified lists
    most test excerpts have their artist in train; the fault-filtered lists test one duet beside its artist."""
    from mgrfaults.faults.profile import main

    main([str(shared_gtzan / "metadata" / "GTZANindex.txt"), "--lists", str(shared_gtzan / "partitions")])
    table = capsys.readouterr().out.split("\n\n")[-1]
    rows = {line.split("|")[1].strip(): [int(c) for c in line.split("|")[2:-1]]
            for line in table.strip().splitlines()[2:]}
    # test, artist_in_train, replica_in_train, neither, artists_in_two_parts
    assert rows == {"filtered": [290, 1, 0, 289, 3], "stratified": [250, 175, 22, 53, 102]}


def test_concentration_counts_known_artists_shared_across_genres():
    genres = pd.Series(["a", "a", "a", "a", "b", "b"])
    artists = pd.Series(["x", "x", "y", "unknown:a.3", "y", "z"])
    profile = artist_concentration(genres, artists).set_index("genre")
    assert profile.loc["a"].to_dict() == {"excerpts": 4, "artists": 2, "unknown_artist": 1, "largest_artist": "x",
                                          "largest_artist_excerpts": 2, "largest_artist_share": 0.5,
                                          "sharing_artist": 3}
    # y has one excerpt in each genre: both share their artist; z is alone; the tie y/z goes to y
    assert profile.loc["b"].to_dict() == {"excerpts": 2, "artists": 2, "unknown_artist": 0, "largest_artist": "y",
                                          "largest_artist_excerpts": 1, "largest_artist_share": 0.5,
                                          "sharing_artist": 1}
    assert profile.loc["all", ["largest_artist", "largest_artist_excerpts", "sharing_artist"]].tolist() == ["x", 2, 4]
    # row order does not change the result
    shuffled = artist_concentration(genres[::-1], artists[::-1]).set_index("genre")
    pd.testing.assert_frame_equal(shuffled, profile)


def test_profile_sets_detected_faults_and_durations_beside_the_artists():
    metadata = pd.DataFrame({"track_id": ["a.0", "a.1", "b.0", "b.1"], "genre": ["a", "a", "b", "b"],
                             "artist": ["x", "x", "unknown:b.0", "unknown:b.1"], "fault": "none",
                             "duration": [30.0, 29.5, 10.0, 31.0]})
    detected = pd.DataFrame({"track_id": ["a.0", "a.1", "b.0", "b.1"],
                             "fault": ["", "exact_replica", "distortion", ""]})
    profile = dataset_profile(metadata, detected).set_index("genre")
    assert profile.loc["a", ["detected_exact_replica", "detected_distortion"]].tolist() == [1, 0]
    assert profile.loc["all", ["detected_exact_replica", "detected_recording_replica",
                               "detected_distortion"]].tolist() == [1, 0, 1]
    assert profile.loc["b", ["duration_min_s", "duration_max_s"]].tolist() == [10.0, 31.0]
    assert profile.loc["all", "duration_median_s"] == pytest.approx(29.75)
    findings = " ".join(profile_findings(profile.reset_index(), bad_audio=["data/a/a.9.au", "data/c/c.0.au"]))
    assert "4 excerpts in 2 genres. 2 bad audio file(s) skipped (undecodable, or holding no music: silence, " \
           "byte-swapped samples, channels that cancel; dataset/bad_audio.csv gives each one's reason): 1 in a, 1 in c; " \
           "left without any excerpt: c." in findings
    assert "a 100 % (x, 2 of 2)" in findings and "2 of 4 excerpts share their artist" in findings
    assert "1 exact replica(s) and 0 recording replica(s) of another excerpt, 1 distorted excerpt(s)" in findings
    page = profile_markdown(profile.reset_index(), "directory dataset at /data")
    assert page.startswith("# Dataset profile: directory dataset at /data") and "| genre" in page


def test_artist_names_that_may_be_one_artists_are_counted_and_said():
    # audit 54: "Bob Marley" and "Marley, Bob" stay two artists, which the artist filter may put in two parts; only
    # the data stage's log said so, not the profile or the summary
    metadata = pd.DataFrame({"track_id": ["a.0", "a.1", "a.2", "b.0"], "genre": ["a", "a", "a", "b"],
                             "artist": ["Bob Marley", "Marley, Bob", "Peter Tosh", "Bob Marley"], "fault": "none",
                             "duration": 30.0})
    detected = pd.DataFrame({"track_id": metadata["track_id"], "fault": ""})
    profile = dataset_profile(metadata, detected).set_index("genre")
    assert profile["look_alike_artist_excerpts"].to_dict() == {"a": 2, "all": 3, "b": 1}
    findings = " ".join(profile_findings(profile.reset_index()))
    assert "3 excerpts carry artist names that may be one artist's" in findings
    apart = dataset_profile(metadata.assign(artist=["Bob Marley", "Bob Marley", "Peter Tosh", "x"]), detected)
    assert "look_alike_artist_excerpts" not in apart.columns
    assert "may be one artist's" not in " ".join(profile_findings(apart))


def test_findings_name_only_genres_with_a_known_artist():
    metadata = pd.DataFrame({"track_id": ["a.0", "a.1", "b.0", "b.1"], "genre": ["a", "a", "b", "b"],
                             "artist": ["x", "x", "unknown:b.0", "unknown:b.1"], "fault": "none",
                             "duration": 30.0})
    detected = pd.DataFrame({"track_id": metadata["track_id"], "fault": ""})
    findings = " ".join(profile_findings(dataset_profile(metadata, detected)))
    assert "Largest share of one artist in a genre: a 100 % (x, 2 of 2)." in findings
    assert "(, 0 of" not in findings


def test_largest_share_names_every_genre_tied_with_the_last_one_named():
    # the default's profile: six genres at 40 %, of which the sentence named disco and hiphop alone (head(3))
    sizes = {"jazz": 7, "disco": 6, "hiphop": 6, "metal": 6, "pop": 6, "reggae": 6, "rock": 6, "blues": 5}
    metadata = pd.DataFrame([{"track_id": f"{genre}.{i:02d}", "genre": genre,
                              "artist": f"{genre}_artist00" if i < largest else f"{genre}_artist{i:02d}"}
                             for genre, largest in sizes.items() for i in range(15)])
    metadata = metadata.assign(fault="none", duration=30.0)
    detected = pd.DataFrame({"track_id": metadata["track_id"], "fault": ""})
    findings = profile_findings(dataset_profile(metadata, detected))
    assert ("Largest share of one artist in a genre: jazz 47 % (jazz_artist00, 7 of 15), disco 40 % (disco_artist00, "
            "6 of 15), hiphop 40 % (hiphop_artist00, 6 of 15), and 4 more at 40 %: metal, pop, reggae, rock."
            ) in findings
    # no tie beyond the third: the sentence as before; fewer genres than three: no count
    genres = dataset_profile(metadata, detected).query("genre != 'all'")
    untied = genres[genres["genre"].isin(["jazz", "disco", "hiphop", "blues"])]
    assert largest_share_finding(untied).endswith("hiphop 40 % (hiphop_artist00, 6 of 15).")
    assert largest_share_finding(genres[genres["genre"] == "jazz"]) == \
        "Largest share of one artist in a genre: jazz 47 % (jazz_artist00, 7 of 15)."


def test_profile_page_keeps_a_pipe_in_a_genre_or_artist_name_in_its_cell():
    # a `|` in a name would end the Markdown cell: every column after it would shift under the wrong header
    metadata = pd.DataFrame({"track_id": ["d.0", "d.1"], "genre": "drum|bass", "artist": "A|B", "fault": "none",
                             "duration": 30.0})
    profile = dataset_profile(metadata, pd.DataFrame({"track_id": metadata["track_id"], "fault": ""}))
    rows = [line for line in profile_markdown(profile, "here").splitlines() if line.startswith("| drum")]
    assert rows and rows[0].startswith("| drum\\|bass ")
    header = [line for line in profile_markdown(profile, "here").splitlines() if line.startswith("| genre")][0]
    assert rows[0].replace("\\|", "").count("|") == header.count("|")


def test_storage_that_alone_tells_genres_apart_is_found(tmp_path):
    # blues all WAV at 8 kHz where the others are .au at 22.05 kHz: a system can learn the files, not the music
    import soundfile

    from mgrfaults.data.audio import stored_format, write_au
    from mgrfaults.faults.profile import storage_tells_genres_apart

    tone = np.sin(np.arange(4000) / 5.0).astype(np.float32) * 0.3
    rows = []
    for genre, i in [("blues", 0), ("blues", 1), ("rock", 0), ("rock", 1), ("jazz", 0), ("jazz", 1)]:
        path = tmp_path / genre / f"{genre}.{i}.{'wav' if genre == 'blues' else 'au'}"
        path.parent.mkdir(exist_ok=True)
        if genre == "blues":
            soundfile.write(path, tone, 8000)
        else:
            write_au(path, tone, 22050)
        rows.append((f"{genre}.{i}", genre, *stored_format(path)))
    stored = pd.DataFrame(rows, columns=["track_id", "genre", "format", "sample_rate", "stored_duration"])
    assert stored.set_index("track_id").loc["blues.0", ["format", "sample_rate"]].tolist() == ["wav", 8000]
    apart = storage_tells_genres_apart(stored["genre"], stored["format"], stored["sample_rate"])
    assert apart == {"blues": "wav at 8000 Hz"}  # rock and jazz share their way: neither is told apart
    metadata = pd.DataFrame({"track_id": stored["track_id"], "genre": stored["genre"], "artist": "unknown:x",
                             "fault": "none", "duration": 0.2})
    detected = pd.DataFrame({"track_id": stored["track_id"], "fault": ""})
    profile = dataset_profile(metadata, detected, stored.drop(columns="genre"))
    assert profile.set_index("genre").loc["all", ["formats", "sample_rates_hz"]].tolist() == ["au 4, wav 2",
                                                                                              "22050 4, 8000 2"]
    findings = " ".join(profile_findings(profile, storage_apart=apart))
    assert "How the files are stored alone tells genres apart: blues (wav at 8000 Hz)" in findings
    alike = stored[stored["genre"] != "blues"]
    same = dataset_profile(metadata[metadata["genre"] != "blues"], detected, alike.drop(columns="genre"))
    assert "Every file is stored alike: au at 22050 Hz." in " ".join(profile_findings(same, storage_apart={}))
    assert stored_format(tmp_path / "missing.mp3") == ("mp3", None, None)
    # a file far longer than dataset.max_duration was cut to it: said (blues' 0.5 s files against a 0.2 s cut)
    cut = dataset_profile(metadata, detected, stored.drop(columns="genre"), max_duration=0.2).set_index("genre")
    assert cut.loc["blues", ["stored_duration_max_s", "cut_files"]].tolist() == [0.5, 2]
    assert cut.loc["rock", "cut_files"] == 0 and cut.loc["all", "cut_files"] == 2
    said = " ".join(profile_findings(cut.reset_index(), storage_apart=apart, max_duration=0.2))
    assert "2 file(s) longer than dataset.max_duration (0.2 s) were cut to it" in said and "2 in blues (the longest 0.5 s)" in said


def test_a_partial_gtzan_copy_is_named_where_the_summary_describes_the_dataset():
    from mgrfaults.faults.profile import partial_gtzan_finding

    profile = pd.DataFrame({"genre": ["blues", "reggae", "all"], "excerpts": [4, 4, 8]})
    sentence = partial_gtzan_finding(profile, ["published_filtered"])
    assert sentence.startswith("Part of GTZAN (dataset.gtzan.partial): 8 of its 1000 excerpts")
    assert "The study's lists (published_filtered) are cut down to them" in sentence
    assert "published numbers, measured on the whole, are no comparison" in sentence
    # no published condition run: nothing said of lists
    assert "lists" not in partial_gtzan_finding(profile, [])
