"""A dataset's fault profile, before any system is trained: how each genre's excerpts gather on few artists,
beside the faults detected from the audio.

GTZAN's worst confound is not a single bad file but a block of one artist: Bob Marley holds 35 of its 100
Reggae excerpts (Sturm 2012, 2013), so a split that ignores artists puts his songs in train and test alike. The
profile measures that per genre from the metadata's ``artist`` column (Sturm's index for GTZAN, your
annotations for a folder dataset; an excerpt of unknown artist, ``unknown:<track_id>``, counts as its own), and
sets the replicas and distortions found in the audio (:func:`mgrfaults.faults.evaluation.counts_per_genre`)
beside it. Pure functions on tables; the workflow's ``faults_profile`` job writes the result.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mgrfaults.data.artists import UNKNOWN_ARTIST_PREFIX, credited_artists, look_alike_artists
from mgrfaults.data.audio import CUT_MARGIN
from mgrfaults.data.metadata import audio_trusted
from mgrfaults.faults.evaluation import counts_per_genre

DETECTED_KINDS = ("exact_replica", "recording_replica", "distortion")


def _largest_artist(artists: pd.Series) -> tuple[str, int]:
    """The artist with the most excerpts in ``artists`` (known ones only; a tie goes to the name first in
    sorted order, so the result does not depend on row order) and its count; ``("", 0)`` when none is known."""
    counts = artists.value_counts()
    if counts.empty:
        return "", 0
    top = int(counts.max())
    return sorted(counts.index[counts == top])[0], top


def artist_concentration(genres: pd.Series, artists: pd.Series) -> pd.DataFrame:
    """Per genre (sorted) and over the whole dataset (row ``all``): how concentrated the excerpts' artists are.

    Parameters
    ----------
    genres, artists : Series, shape (n_excerpts,)
        Each excerpt's genre label and artist; an artist starting ``unknown:`` (or empty) is unknown, its
        excerpt its own artist.

    Returns
    -------
    DataFrame
        One row per genre, then ``all``: ``genre``; ``excerpts``; ``artists`` (distinct known artists: credits as
        written, so a duet's credit is one of them and Bob Marley holds his own 35 of Reggae's excerpts, Sturm's count);
        ``unknown_artist`` (excerpts of unknown artist); ``largest_artist`` and ``largest_artist_excerpts``
        (the known artist with the most excerpts: in the genre, or in the dataset for ``all``);
        ``largest_artist_share`` (of the row's excerpts, 4 decimals); ``sharing_artist`` (excerpts that name a known
        artist another excerpt anywhere in the dataset names too, a credit naming each artist it is made of,
        :func:`mgrfaults.data.artists.credited_artists`: those a split blind to artists can put in test beside
        their artist in train).
    """
    genres = pd.Series(genres, dtype=str).reset_index(drop=True)
    artists = pd.Series(artists, dtype=str).reset_index(drop=True).fillna("")
    known = ~(artists.str.startswith(UNKNOWN_ARTIST_PREFIX) | (artists.str.strip() == ""))
    # an excerpt is one of every artist its credit names ("Lauryn Hill and Bob Marley": mgrfaults.data.artists)
    credits = pd.Series(credited_artists(artists), index=artists.index, dtype=object)
    naming = credits[known].explode().value_counts()
    shared = known & credits.map(lambda named: any(naming.get(a, 0) > 1 for a in named))
    rows = []
    for genre in sorted(set(genres)) + ["all"]:
        here = (genres == genre) if genre != "all" else pd.Series(True, index=genres.index)
        name, top = _largest_artist(artists[here & known])
        n = int(here.sum())
        rows.append({
            "genre": genre,
            "excerpts": n,
            "artists": int(artists[here & known].nunique()),
            "unknown_artist": int((here & ~known).sum()),
            "largest_artist": name,
            "largest_artist_excerpts": top,
            "largest_artist_share": round(top / n, 4) if n else 0.0,
            "sharing_artist": int((here & shared).sum()),
        })
    return pd.DataFrame(rows)


def _by_genre_and_all(table: pd.DataFrame):
    """``table`` grouped by genre, and once more whole as the group ``all`` (the profile's last row)."""
    both = pd.concat([table.assign(genre_or_all=table["genre"]), table.assign(genre_or_all="all")])
    return both.groupby("genre_or_all")


def storage_counts(genres: pd.Series, formats: pd.Series, sample_rates: pd.Series) -> pd.DataFrame:
    """Per genre and ``all`` (in sorted order): how its files are stored, as ``formats`` (``au 100``; ``mp3 3, wav 2``) and
    ``sample_rates_hz`` (``22050 100``; ``unknown`` where no header gave one), most frequent first."""
    def spread(values: pd.Series) -> str:
        counts = values.value_counts()
        return ", ".join(f"{value} {n}" for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    table = pd.DataFrame({"genre": genres.to_numpy(), "format": formats.astype(str).to_numpy(),
                          "rate": sample_rates.map(lambda r: "unknown" if pd.isna(r) else str(int(r))).to_numpy()})
    return pd.DataFrame([{"genre": genre, "formats": spread(sub["format"]), "sample_rates_hz": spread(sub["rate"])}
                         for genre, sub in _by_genre_and_all(table)])


def storage_tells_genres_apart(genres: pd.Series, formats: pd.Series, sample_rates: pd.Series) -> dict[str, str]:
    """The genres whose every file is stored in a way (format and native sample rate) that no file of another
    genre is: genre -> that way (``mp3 at 44100 Hz``). A system can learn the storage instead of the music there."""
    ways = formats.astype(str) + " at " + sample_rates.map(lambda r: "? Hz" if pd.isna(r) else f"{int(r)} Hz")
    table = pd.DataFrame({"genre": genres.to_numpy(), "way": ways.to_numpy()})
    if table["genre"].nunique() < 2:
        return {}
    owners = table.groupby("way")["genre"].nunique()
    apart = {}
    for genre, sub in sorted(table.groupby("genre")):
        if (owners[sub["way"].unique()] == 1).all():
            apart[genre] = ", ".join(sorted(sub["way"].unique()))
    return apart



def dataset_profile(metadata: pd.DataFrame, detected: pd.DataFrame, stored: pd.DataFrame | None = None,
                    max_duration: float | None = None) -> pd.DataFrame:
    """The artist concentration of each genre beside its detected faults, its excerpts' durations and how its files
    are stored.

    Parameters
    ----------
    metadata : DataFrame
        The run's metadata (track_id, genre, artist, fault, duration in seconds).
    detected : DataFrame
        The fault detection's table (track_id, fault), one row per excerpt.
    stored : DataFrame, optional
        track_id, format, sample_rate, stored_duration (:func:`mgrfaults.data.audio.stored_format` of each file, in
        Hz and s); without it the storage columns are left out.
    max_duration : float, optional
        ``dataset.max_duration`` (s): with ``stored``, ``cut_files`` counts the files longer than
        :data:`CUT_MARGIN` times it, whose excerpts are their first ``max_duration`` seconds.

    Returns
    -------
    DataFrame
        :func:`artist_concentration`'s columns, then ``detected_<kind>`` for each of :data:`DETECTED_KINDS`
        (excerpts the detection marks: the copy of a replica pair, a distorted excerpt), ``duration_min_s``,
        ``duration_median_s``, ``duration_max_s``, ``trusted_files`` where ``dataset.trust_audio`` named files (taken
        as they decode, :func:`mgrfaults.data.metadata.audio_trusted`), ``look_alike_artist_excerpts`` where artist
        names may be one artist's (:func:`mgrfaults.data.artists.look_alike_artists`: the excerpts carrying them), and
        with ``stored`` :func:`storage_counts`' ``formats`` and
        ``sample_rates_hz``, ``stored_duration_max_s`` (the longest file, before the cut) and ``cut_files``; rows per
        genre, then ``all``.
    """
    profile = artist_concentration(metadata["genre"], metadata["artist"])
    faults = counts_per_genre(metadata, detected)[["genre"] + [f"detected_{kind}" for kind in DETECTED_KINDS]]
    profile = profile.merge(faults, on="genre", how="left", validate="one_to_one")
    stats = _by_genre_and_all(metadata)["duration"].agg(["min", "median", "max"]).round(3)
    stats.columns = [f"duration_{c}_s" for c in stats.columns]
    profile = profile.merge(stats, left_on="genre", right_index=True, how="left", validate="one_to_one")
    trusted = audio_trusted(metadata)
    if trusted.any():  # the column only where dataset.trust_audio names files: other runs' tables as they were
        counts = _by_genre_and_all(metadata.assign(trusted=trusted))["trusted"].sum().astype(int)
        profile = profile.merge(counts.rename("trusted_files"), left_on="genre", right_index=True, how="left",
                                validate="one_to_one")
    alike = {name for group in look_alike_artists(metadata["artist"]) for name in group}
    if alike:  # the column only where names may be one artist's: other runs' tables as they were
        counts = _by_genre_and_all(metadata.assign(alike=metadata["artist"].astype(str).isin(alike)))["alike"]
        profile = profile.merge(counts.sum().astype(int).rename("look_alike_artist_excerpts"), left_on="genre",
                                right_index=True, how="left", validate="one_to_one")
    if stored is None:
        return profile
    ways = metadata[["track_id", "genre"]].merge(stored, on="track_id", how="left", validate="one_to_one")
    profile = profile.merge(storage_counts(ways["genre"], ways["format"], ways["sample_rate"]), on="genre",
                            how="left", validate="one_to_one")
    if "stored_duration" not in ways.columns:
        return profile
    ways["cut"] = (ways["stored_duration"] > CUT_MARGIN * max_duration) if max_duration else False
    longest = _by_genre_and_all(ways).agg(stored_duration_max_s=("stored_duration", "max"),
                                          cut_files=("cut", "sum")).round(3)
    longest["cut_files"] = longest["cut_files"].astype(int)
    return profile.merge(longest, left_on="genre", right_index=True, how="left", validate="one_to_one")


def profile_findings(profile: pd.DataFrame, bad_audio=(), storage_apart: dict | None = None,
                     max_duration: float | None = None) -> list[str]:
    """What :func:`dataset_profile`'s table says, as sentences: the files skipped, the largest artist shares, the
    excerpts that share an artist, the detected faults (:func:`confound_findings`), how the files are stored
    (:func:`storage_findings`).

    Parameters
    ----------
    profile : DataFrame
        :func:`dataset_profile`'s table.
    bad_audio : sequence of str
        The paths of the files the data stage skipped as bad audio (``dataset.on_bad_audio: skip``), each in its
        genre's folder.
    storage_apart : dict, optional
        :func:`storage_tells_genres_apart`: the genres their files' storage alone tells apart.
    max_duration : float, optional
        ``dataset.max_duration`` (s), named where files were cut to it.
    """
    return confound_findings(profile, bad_audio) + storage_findings(profile, storage_apart, max_duration)


def largest_share_finding(genres: pd.DataFrame, n_named: int = 3) -> str:
    """The sentence naming the genres whose largest artist holds the largest share, and every genre tied with them.

    Parameters
    ----------
    genres : DataFrame
        :func:`dataset_profile`'s rows of the genres with a known artist (``genre``, ``excerpts``,
        ``largest_artist``, ``largest_artist_excerpts``, ``largest_artist_share``).
    n_named : int
        The genres named in full (share, artist, excerpts), largest share first, ties by genre name.

    Returns
    -------
    str
        ``Largest share of one artist in a genre: jazz 47 % (...), disco 40 % (...), hiphop 40 % (...), and 4 more
        at 40 %: metal, pop, reggae, rock.`` The genres beyond ``n_named`` tied with the last one named are counted
        and listed: cut off alphabetically, disco and hiphop would read as the only two at 40 % of six.
    """
    ranked = genres.sort_values(["largest_artist_share", "genre"], ascending=[False, True])
    shown, rest = ranked.head(n_named), ranked.iloc[n_named:]
    named = ", ".join(f"{row.genre} {100 * row.largest_artist_share:.0f} % ({row.largest_artist}, "
                      f"{row.largest_artist_excerpts} of {row.excerpts})" for row in shown.itertuples())
    if len(shown) and len(rest):
        last_share = shown["largest_artist_share"].iloc[-1]
        # the shares are rounded to 4 decimals in the profile: equal counts over equal sizes compare equal
        tied = rest[rest["largest_artist_share"] == last_share]
        if len(tied):
            named += f", and {len(tied)} more at {100 * last_share:.0f} %: {', '.join(tied['genre'])}"
    return f"Largest share of one artist in a genre: {named}."


def confound_findings(profile: pd.DataFrame, bad_audio=()) -> list[str]:
    """The part of :func:`profile_findings` that bears on a partition: the excerpts and files skipped, the largest
    artist shares, the excerpts that share an artist, the detected faults (what ``summary.md`` repeats)."""
    genres = profile[profile["genre"] != "all"]
    whole = profile[profile["genre"] == "all"].iloc[0]
    findings = [f"{whole['excerpts']} excerpts in {len(genres)} genres."]
    if len(bad_audio):
        folders = pd.Series([Path(p).parent.name for p in bad_audio]).value_counts().sort_index()
        emptied = sorted(set(folders.index) - set(genres["genre"]))
        findings.append(f"{len(bad_audio)} bad audio file(s) skipped (undecodable, or holding no music: silence, "
                        "byte-swapped samples, channels that cancel; dataset/bad_audio.csv gives each one's reason): "
                        + ", ".join(f"{n} in {folder}" for folder, n in folders.items())
                        + (f"; left without any excerpt: {', '.join(emptied)}" if emptied else "") + ".")
    if "trusted_files" in profile.columns:
        trusted = genres[genres["trusted_files"] > 0]
        findings.append(f"{whole['trusted_files']} file(s) taken as they decode, their content not judged "
                        "(dataset.trust_audio; the data stage's log says what the checks found in each): "
                        + ", ".join(f"{row.trusted_files} in {row.genre}" for row in trusted.itertuples()) + ".")
    if whole["artists"]:
        known = genres[genres["largest_artist_excerpts"] > 0]  # a genre of unknown artists only has none to name
        findings.append(largest_share_finding(known))
        findings.append(f"{whole['sharing_artist']} of {whole['excerpts']} excerpts share their artist with another "
                        "excerpt: a split blind to artists (a random one, as the default's standard condition) can "
                        "put them in test beside their artist in train; an artist-filtered split (as the default's "
                        "fault_filtered) cannot.")
    else:
        findings.append("No excerpt has a known artist (no annotations): each counts as its own, so nothing here "
                        "measures an artist confound; dataset.directory.annotations gives the artists.")
    if "look_alike_artist_excerpts" in profile.columns and whole["look_alike_artist_excerpts"]:
        findings.append(f"{whole['look_alike_artist_excerpts']} excerpts carry artist names that may be one artist's "
                        "(the same words in another order, `Marley, Bob` and `Bob Marley`, or letters a mark tells apart, "
                        "`Бой` and `Бои`): they count as different "
                        "artists, and an artist-filtered split can put them in two parts; the data stage's log names "
                        "them: if they are one artist, write one spelling.")
    found = {kind: int(whole[f"detected_{kind}"]) for kind in DETECTED_KINDS}
    findings.append(f"Detected from the audio: {found['exact_replica']} exact replica(s) and "
                    f"{found['recording_replica']} recording replica(s) of another excerpt, "
                    f"{found['distortion']} distorted excerpt(s) (faults/detected.csv; the pairs: "
                    "faults/replica_pairs.csv).")
    return findings


def partial_gtzan_finding(profile: pd.DataFrame, published_conditions=(), n_gtzan: int = 1000) -> str:
    """What ``summary.md`` and the report's first page say first of a run on part of a GTZAN copy
    (``dataset.gtzan.partial``): how many of GTZAN's excerpts it had, and, where the study's lists were run
    (``published_conditions``), that they were cut down to them, so the study's published numbers are no comparison.
    """
    whole = profile[profile["genre"] == "all"].iloc[0]
    text = (f"Part of GTZAN (dataset.gtzan.partial): {whole['excerpts']} of its {n_gtzan} excerpts (the missing ids per "
            "genre: logs/data/scan_audio.log).")
    if published_conditions:
        text += (f" The study's lists ({', '.join(published_conditions)}) are cut down to them (absent_listed in "
                 "partitions/<condition>/fold_0_summary.csv), so the study's published numbers, measured on the whole, "
                 "are no comparison for these.")
    return text


def storage_findings(profile: pd.DataFrame, storage_apart: dict | None = None,
                     max_duration: float | None = None) -> list[str]:
    """The part of :func:`profile_findings` on how the files are stored: formats and rates, files cut."""
    genres = profile[profile["genre"] != "all"]
    whole = profile[profile["genre"] == "all"].iloc[0]
    findings = []
    if "formats" in profile.columns:
        if storage_apart:
            findings.append("How the files are stored alone tells genres apart: " + "; ".join(
                f"{genre} ({way})" for genre, way in storage_apart.items()) + ". A system can learn the format or "
                "sample rate (its codec artefacts, its band limit) instead of the music: store every genre alike.")
        elif "," not in f"{whole['formats']}{whole['sample_rates_hz']}":
            findings.append(f"Every file is stored alike: {whole['formats'].split()[0]} at "
                            f"{whole['sample_rates_hz'].split()[0]} Hz.")
        else:
            findings.append(f"Files stored as {whole['formats']} (format, files), at {whole['sample_rates_hz']} "
                            "(Hz, files); no genre alone is stored in a way no other genre is.")
    if "cut_files" in profile.columns and whole["cut_files"]:
        cut = genres[genres["cut_files"] > 0]
        findings.append(f"{whole['cut_files']} file(s) longer than dataset.max_duration"
                        + (f" ({max_duration:g} s)" if max_duration else "") + " were cut to it, so their excerpts are "
                        "their beginnings: " + ", ".join(f"{row.cut_files} in {row.genre} (the longest "
                                                         f"{row.stored_duration_max_s:.1f} s)" for row in cut.itertuples())
                        + ".")
    return findings


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table whose text cells cannot break its rows: a ``|`` in a genre or artist name
    (``drum|bass``) is written ``\\|``, a line break as a space."""
    text = table.copy()
    for column in text.columns:
        text[column] = text[column].map(lambda v: v.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
                                        if isinstance(v, str) else v)
    return text.to_markdown(index=False)


def profile_markdown(profile: pd.DataFrame, source: str, bad_audio=(), storage_apart: dict | None = None,
                     max_duration: float | None = None) -> str:
    """``profile`` as a Markdown page headed by ``source`` (where the dataset came from): its
    :func:`profile_findings`, then the table."""
    return "\n".join([f"# Dataset profile: {source}", "",
                      *profile_findings(profile, bad_audio, storage_apart, max_duration), "",
                      markdown_table(profile), "",
                      "Durations: seconds as decoded, after the cut at `dataset.max_duration`.", ""])


def published_lists_confound(metadata: pd.DataFrame, lists_by_set: dict) -> pd.DataFrame:
    """What the training part of each set of published lists shares with its test part.

    Parameters
    ----------
    metadata : DataFrame
        The dataset (track_id, genre, artist, fault, replica_of): GTZAN's from Sturm's index and the study's lists.
    lists_by_set : dict
        set name -> {part: [track ids]} (:func:`mgrfaults.data.annotations.read_partition_lists`).

    Returns
    -------
    DataFrame
        One row per set: ``lists``, ``test`` (excerpts), the test excerpts in each attribution group
        (:data:`mgrfaults.evaluation.attribution.GROUPS`), and ``artists_in_two_parts`` (artists named by excerpts of
        more than one part, :func:`mgrfaults.partitions.split.artists_in_several_parts`).
    """
    from mgrfaults.evaluation.attribution import GROUPS, attribution_groups
    from mgrfaults.partitions.split import artists_in_several_parts, published_split

    rows = []
    for name, lists in lists_by_set.items():
        partition = published_split(metadata, lists)
        groups = attribution_groups(metadata, partition).value_counts()
        rows.append({"lists": name, "test": int((partition["part"] == "test").sum()),
                     **{g: int(groups.get(g, 0)) for g in GROUPS},
                     "artists_in_two_parts": len(artists_in_several_parts(partition, metadata))})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    """``python -m mgrfaults.faults.profile GTZANindex.txt [--lists DIR]``: the artist concentration of GTZAN from
    Sturm's index alone (no audio), each excerpt's genre the prefix of its id; with the study's partition lists, what
    each set's training part shares with its test part."""
    import argparse

    from mgrfaults.data.annotations import LIST_SETS, gtzan_metadata, read_gtzan_index, read_partition_lists

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("index", help="Sturm's GTZANindex.txt (<file> ::: <artist> ::: <title> lines)")
    parser.add_argument("--lists", help="the folder of the study's {train,valid,test}_{filtered,stratified}.txt")
    args = parser.parse_args(argv)
    index = read_gtzan_index(args.index)
    genres = index["track_id"].str.split(".").str[0]
    print(markdown_table(artist_concentration(genres, index["artist"])))
    if args.lists:
        # the metadata the workflow builds for GTZAN, with every excerpt present (no audio is read)
        listing = pd.DataFrame({"track_id": index["track_id"], "genre": genres, "path": genres + "/" + index["track_id"],
                                "duration": 30.0, "sample_rate": 22050})
        metadata = gtzan_metadata(listing, args.index, args.lists)
        lists = {name: read_partition_lists(args.lists, name, known_ids=metadata["track_id"]) for name in LIST_SETS}
        print()
        print(markdown_table(published_lists_confound(metadata, lists)))


if __name__ == "__main__":
    main()
