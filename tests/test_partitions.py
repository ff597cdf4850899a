"""Partitions: stratified, k-fold, fault-filtered artist-filtered, published; the checks and the summary."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mgrfaults import GENRES
from mgrfaults.config import condition_folds, load_config
from mgrfaults.errors import InputError
from mgrfaults.data.metadata import validate_metadata
from mgrfaults.partitions.split import (
    PARTS,
    PartitionWarning,
    artist_filtered_cv,
    artist_filtered_split,
    assign_groups,
    check_partition,
    make_partitions,
    published_split,
    read_partition,
    run_condition,
    stratified_cv,
    stratified_split,
    summary_table,
    with_absent_listed,
)

REPO = Path(__file__).parents[1]
SHARED_GTZAN = REPO.parent / "shared" / "gtzan"
TARGET = {"train": 0.5, "valid": 0.2, "test": 0.3}
REMOVE = ("exact_replica", "recording_replica", "distortion")


def crafted_metadata(n_per_genre=30, largest_share=0.35, seed=0, n_faults=6):
    """GTZAN-like metadata without audio: skewed artist blocks (one artist holds ``largest_share``
    of reggae, less elsewhere), singletons, and a few replicas (copies of a clean excerpt by the
    same artist), distortions and mislabels."""
    rng = np.random.default_rng(seed)
    rows = []
    for genre in GENRES:
        share = largest_share if genre == "reggae" else largest_share * rng.uniform(0.4, 1.0)
        sizes = [int(round(share * n_per_genre))]
        singles = int(round(0.3 * n_per_genre))
        rest = n_per_genre - sizes[0] - singles
        while rest > 0:
            sizes.append(int(min(rest, rng.integers(2, 7))))
            rest -= sizes[-1]
        sizes += [1] * singles
        artists = [f"{genre}_artist{a:02d}" for a, size in enumerate(sizes) for _ in range(size)]
        for i, artist in enumerate(artists):
            tid = f"{genre}.{i:05d}"
            rows.append((tid, f"{genre}/{tid}.au", genre, artist, "none", "", 10.0, 22050))
    meta = pd.DataFrame(rows, columns=["track_id", "path", "genre", "artist", "fault", "replica_of", "duration", "sample_rate"])
    clean = list(rng.permutation(len(meta)))
    for fault in ("exact_replica", "recording_replica", "distortion", "mislabel"):
        for _ in range(n_faults // 2 if fault != "exact_replica" else n_faults):
            target = clean.pop()
            if fault.endswith("replica"):
                genre = meta.at[target, "genre"]
                source = next(i for i in clean if meta.at[i, "genre"] == genre)
                clean.remove(source)
                meta.loc[target, ["artist", "replica_of"]] = [meta.at[source, "artist"], meta.at[source, "track_id"]]
            meta.at[target, "fault"] = fault
    return validate_metadata(meta)


@pytest.fixture(scope="module")
def meta():
    return crafted_metadata()


def parts_of(partition):
    return partition.set_index("track_id")["part"]


def genre_shares(partition, meta):
    joined = partition.merge(meta, on="track_id")
    counts = pd.crosstab(joined["genre"], joined["part"]).reindex(columns=list(PARTS), fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0)


# ---------------------------------------------------------------------------------------------
# stratified


def test_stratified_split_exact_and_seeded(meta):
    part = stratified_split(meta, TARGET, seed=3)
    assert sorted(part["track_id"]) == sorted(meta["track_id"])
    counts = pd.crosstab(part.merge(meta)["genre"], part["part"].to_numpy())
    assert (counts["train"] == 15).all() and (counts["valid"] == 6).all() and (counts["test"] == 9).all()
    assert check_partition(part, meta, proportions=TARGET) == []
    pd.testing.assert_frame_equal(part, stratified_split(meta, TARGET, seed=3))
    assert not part.equals(stratified_split(meta, TARGET, seed=4))


def test_stratified_small_genre_keeps_every_part():
    meta = crafted_metadata(n_per_genre=4, largest_share=0.25, n_faults=0)
    part = stratified_split(meta, TARGET, seed=0)
    check_partition(part, meta)  # no empty genre in a part


def test_stratified_cv_covers_each_excerpt_once(meta):
    folds = stratified_cv(meta, k=4, seed=1)
    assert len(folds) == 4
    tested = pd.concat([f[f["part"] == "test"] for f in folds])["track_id"]
    validated = pd.concat([f[f["part"] == "valid"] for f in folds])["track_id"]
    assert sorted(tested) == sorted(meta["track_id"])
    assert sorted(validated) == sorted(meta["track_id"])
    for fold in folds:
        shares = genre_shares(fold, meta)
        assert np.allclose(shares["train"], 0.5, atol=0.05) and np.allclose(shares["test"], 0.25, atol=0.05)
        check_partition(fold, meta, proportions={"train": 0.5, "valid": 0.25, "test": 0.25})
    assert all(a.equals(b) for a, b in zip(folds, stratified_cv(meta, k=4, seed=1)))


# ---------------------------------------------------------------------------------------------
# artist filtered


@pytest.mark.filterwarnings("ignore::mgrfaults.partitions.split.PartitionWarning")  # sklearn's blocks are coarse
@pytest.mark.parametrize("solver", ["ilp", "sklearn"])
def test_artist_filtered_no_artist_crosses(meta, solver):
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=5, solver=solver)
    joined = part.merge(meta, on="track_id")
    assert (joined.groupby("artist")["part"].nunique() == 1).all()
    # the listed faults are gone, the originals of replicas and the mislabels stay
    assert not joined["fault"].isin(REMOVE).any()
    originals = meta.loc[meta["fault"].str.endswith("replica"), "replica_of"]
    assert set(originals) <= set(part["track_id"])
    assert (joined["fault"] == "mislabel").sum() == (meta["fault"] == "mislabel").sum()
    check_partition(part, meta, artist_filtered=True)  # every genre in every part


def test_artist_filtered_proportions_and_seed(meta):
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartitionWarning)
        check_partition(part, meta, artist_filtered=True, proportions=TARGET)
    shares = genre_shares(part, meta)
    for p in PARTS:
        assert (shares[p] - TARGET[p]).abs().max() <= 0.10
    pd.testing.assert_frame_equal(part, artist_filtered_split(meta, TARGET, REMOVE, seed=5))
    others = [artist_filtered_split(meta, TARGET, REMOVE, seed=s) for s in (6, 7)]
    assert any(not part.equals(o) for o in others)  # the seed picks among equally good assignments


def test_artist_filtered_cv(meta):
    folds = artist_filtered_cv(meta, k=4, remove=REMOVE, seed=2)
    kept = meta.loc[~meta["fault"].isin(REMOVE), "track_id"]
    tested = pd.concat([f[f["part"] == "test"] for f in folds])["track_id"]
    assert sorted(tested) == sorted(kept)
    for fold in folds:
        check_partition(fold, meta, artist_filtered=True)


def test_one_artist_holding_most_of_a_genre():
    """An artist with 2/3 of a genre lands whole in one part; that genre misses its target (warning)."""
    meta = crafted_metadata(n_faults=0)
    reggae = meta["genre"] == "reggae"
    big = meta.index[reggae][:20]  # 20 of 30
    meta.loc[big, "artist"] = "Big Artist"
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=0)
    assert part.merge(meta)[lambda d: d["artist"] == "Big Artist"]["part"].nunique() == 1
    with pytest.warns(PartitionWarning, match="genre reggae"):
        check_partition(part, meta, artist_filtered=True, proportions=TARGET)
    assert parts_of(part)[meta.loc[big[0], "track_id"]] == "train"  # the smallest deviation
    # a genre with fewer artists than parts cannot be in every part: the check says so
    meta.loc[reggae, "artist"] = np.where(np.arange(reggae.sum()) < 20, "Big Artist", "Other")
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=0)
    with pytest.raises(InputError, match="reggae in"):
        check_partition(part, meta, artist_filtered=True)


def test_assign_groups_multi_genre_artist():
    # group 0 spans both genres: a single assignment must serve both
    counts = np.array([[4, 4], [2, 0], [2, 0], [2, 0], [0, 2], [0, 2], [0, 2]])
    assignment = assign_groups(counts, [0.5, 0.25, 0.25], seed=0)
    sizes = np.array([[counts[assignment == p, g].sum() for p in range(3)] for g in range(2)])
    assert sizes.tolist() == [[5, 2, 3], [5, 2, 3]] or (sizes[:, 0] >= 4).all()
    assert assignment.shape == (7,)


# ---------------------------------------------------------------------------------------------
# checks


def test_check_id_in_two_parts(meta):
    part = stratified_split(meta, TARGET, seed=0)
    bad = pd.concat([part, pd.DataFrame({"track_id": ["blues.00001"], "part": ["test"]})])
    with pytest.raises(InputError, match="blues.00001"):
        check_partition(bad, meta)


def test_check_id_not_in_dataset(meta):
    part = stratified_split(meta, TARGET, seed=0)
    bad = pd.concat([part, pd.DataFrame({"track_id": ["blues.00999"], "part": ["test"]})])
    with pytest.raises(InputError, match="blues.00999"):
        check_partition(bad, meta)


def test_check_empty_genre(meta):
    part = stratified_split(meta, TARGET, seed=0)
    bad = part.copy()
    bad.loc[bad["track_id"].str.startswith("jazz.") & (bad["part"] == "valid"), "part"] = "train"
    with pytest.raises(InputError, match="jazz in valid"):
        check_partition(bad, meta)
    # the cause: what the genre had left to split (faults removed), and under artist filtering its artists
    jazz = meta.loc[meta["genre"] == "jazz", "track_id"]
    lean = part[~part["track_id"].isin(jazz.iloc[1:])]
    with pytest.raises(InputError, match=r"jazz: 1 of its \d+ excerpts in the partition \(\d+ removed as faults "
                                         r"or left out\); each genre needs at least 3 excerpts\)"):
        check_partition(lean, meta)
    with pytest.raises(InputError, match=r"jazz: 1 of its \d+ excerpts .*, by 1 artist\(s\).*3 artists"):
        check_partition(lean, meta, artist_filtered=True)


def test_check_artist_crossing(meta):
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=0)
    tid = part["track_id"].iloc[0]
    artist = meta.set_index("track_id").loc[tid, "artist"]
    other = next(p for p in PARTS if p != parts_of(part)[tid])
    # move one excerpt of a several-excerpt artist to another part
    same = meta.loc[meta["artist"] == artist, "track_id"]
    if len(same) < 2:
        tid = part.merge(meta)[lambda d: d.groupby("artist")["track_id"].transform("size") > 1]["track_id"].iloc[0]
        artist = meta.set_index("track_id").loc[tid, "artist"]
        other = next(p for p in PARTS if p != parts_of(part)[tid])
    bad = part.copy()
    bad.loc[bad["track_id"] == tid, "part"] = other
    check_partition(bad, meta)  # fine when artists are not checked
    with pytest.raises(InputError, match=artist):
        check_partition(bad, meta, artist_filtered=True)


def test_check_proportion_warning(meta):
    part = stratified_split(meta, TARGET, seed=0)
    skew = part.copy()
    blues_valid = skew.index[skew["track_id"].str.startswith("blues.") & (skew["part"] == "valid")]
    skew.loc[blues_valid[:-1], "part"] = "train"  # blues: 20/1/9 of 30
    with pytest.warns(PartitionWarning, match="genre blues"):
        messages = check_partition(skew, meta, proportions=TARGET)
    assert all("blues" in m for m in messages)


def test_read_partition(tmp_path, meta):
    part = stratified_split(meta, TARGET, seed=0)
    path = tmp_path / "fold_0.csv"
    part.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_partition(path), part)
    (tmp_path / "bad_part.csv").write_text("track_id,part\nblues.00000,training\n")
    with pytest.raises(InputError, match="training"):
        read_partition(tmp_path / "bad_part.csv")
    (tmp_path / "dup.csv").write_text("track_id,part\nblues.00000,train\nblues.00000,test\n")
    with pytest.raises(InputError, match="blues.00000"):
        read_partition(tmp_path / "dup.csv")
    (tmp_path / "cols.csv").write_text("id,part\nblues.00000,train\n")
    with pytest.raises(InputError, match="track_id"):
        read_partition(tmp_path / "cols.csv")


def test_published_split(meta):
    ids = list(meta["track_id"])
    lists = {"train": ids[::3], "valid": ids[1::3], "test": ids[2::3] + ["jazz.00054"]}
    with pytest.raises(InputError, match="jazz.00054"):
        published_split(meta, lists)
    with pytest.warns(PartitionWarning, match="jazz.00054"):
        part = published_split(meta, lists, skipped=["jazz.00054"])
    assert len(part) == len(meta)
    # the summary counts it: the Kaggle copy's published test part is one short, and says so
    summary = with_absent_listed(summary_table(part, meta), part.attrs["absent_listed"]).set_index("genre")
    assert summary.loc["jazz", "absent_listed"] == 1 and summary.loc["all", "absent_listed"] == 1
    assert summary["absent_listed"].drop(["jazz", "all"]).eq(0).all()
    with pytest.raises(InputError, match="blues.00000"):
        published_split(meta, {"train": ids, "valid": ids[:1], "test": []})


def test_published_lists_cut_down_to_a_partial_copy_name_the_way_out(meta):
    ids = list(meta["track_id"])
    lists = {"train": ids[::3], "valid": ids[1::3], "test": ids[2::3]}
    genre = meta["genre"].iloc[0]
    partial = meta[~(meta["track_id"].isin(lists["test"]) & (meta["genre"] == genre))]  # the genre's test excerpts gone
    with pytest.warns(PartitionWarning, match="on_missing: drop"):
        part = published_split(partial, lists, source="partitions.conditions.published_filtered", on_missing="drop")
    with pytest.raises(InputError, match=rf"genre\(s\) with no excerpt in a part: {genre} in test .*the lists name none "
                                         r"of its excerpts present in that part: the dataset lacks those they name "
                                         r"\(a partial copy .* or set this condition to null"):
        check_partition(part, partial, source="partitions.conditions.published_filtered")
    # on a complete dataset, lists that put none of a genre's excerpts in a part are the lists' own doing (audit 27:
    # the message blamed a partial copy)
    lists = {"train": [i for i in lists["train"] if not i.startswith(genre)],
             "valid": lists["valid"], "test": lists["test"] + [i for i in lists["train"] if i.startswith(genre)]}
    part = published_split(meta, lists, source="partitions.conditions.mine")
    with pytest.raises(InputError, match=rf"{genre} in train .*the lists put none of its excerpts in that part \(the "
                                         r"dataset lacks none they name\): give each genre excerpts in train, valid "):
        check_partition(part, meta, source="partitions.conditions.mine")


def test_list_lines_whose_genre_folder_is_not_their_excerpts_genre_are_refused(tmp_path):
    # `rock/a0.wav` for the dataset's blues excerpt a0: lists made for another labelling were read as the dataset's
    # excerpts without a word (audit 27)
    from mgrfaults.data.annotations import partition_list_paths, read_list_files

    genres = {"a0": "blues", "a1": "blues", "b0": "rock", "b1": "rock"}
    paths = partition_list_paths(tmp_path, "filtered")
    for part, text in {"train": "blues/a0.wav\nrock/b0.wav\n", "valid": "a1\n", "test": "rock/b1.wav\n"}.items():
        paths[part].write_text(text)
    assert read_list_files(paths, known_ids=list(genres), genres=genres)["train"] == ["a0", "b0"]
    paths["test"].write_text("x/b1.wav\nblues/b1.au\n")  # a folder naming no genre says nothing
    with pytest.raises(InputError, match=r"test_filtered\.txt: 'blues/b1\.au' names the genre folder 'blues', but the "
                                         r"dataset's excerpt 'b1' is 'rock': these lists were made for another"):
        read_list_files(paths, known_ids=list(genres), genres=genres)
    # as the workflow's partitions job calls it: the condition's list files, the dataset's genres
    from mgrfaults.partitions.split import run_condition

    meta = pd.DataFrame({"track_id": list(genres), "genre": list(genres.values()), "artist": ["w", "x", "y", "z"],
                         "fault": "none", "replica_of": ""})
    with pytest.raises(InputError, match=r"'blues/b1\.au' names the genre folder 'blues'"):
        run_condition(meta, {"method": "published"}, 0, {"train": ["a0", "b0"], "valid": ["a1"], "test": ["b1"]},
                      name="mine", list_files={part: str(path) for part, path in paths.items()})


def test_summary_table(meta):
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=0)
    table = summary_table(part, meta).set_index("genre")
    assert list(table.index) == list(GENRES) + ["all"]
    assert table.loc["all", ["train", "valid", "test"]].sum() == len(part)
    assert table.loc["all", "removed"] == meta["fault"].isin(REMOVE).sum()
    assert table.loc["all", "removed_exact_replica"] == (meta["fault"] == "exact_replica").sum()
    assert table.loc[list(GENRES), "train"].sum() == table.loc["all", "train"]
    assert np.isclose(table.loc["blues", ["train_share", "valid_share", "test_share"]].sum(), 1.0, atol=1e-3)
    assert table.loc["all", "train_artists"] == part.merge(meta).query("part == 'train'")["artist"].nunique()


def test_make_partitions_each_method(meta):
    conditions = {
        "standard": {"method": "stratified", "proportions": TARGET},
        "standard_cv": {"method": "stratified_cv", "k": 4},
        "fault_filtered": {"method": "artist_filtered", "remove_faults": list(REMOVE), "proportions": TARGET},
        "fault_filtered_cv": {"method": "artist_filtered_cv", "k": 3},
    }
    folds = condition_folds(conditions)
    for name, condition in conditions.items():
        out = run_condition(meta, condition, seed=1, name=name)
        assert len(out) == folds[name]
        for partition, summary in out:
            assert list(partition.columns) == ["track_id", "part"]
            assert summary["genre"].iloc[-1] == "all"
    published = {"method": "published", "set": "filtered"}
    with pytest.raises(InputError, match="no partition lists"):
        make_partitions(meta, published, seed=1)


# ---------------------------------------------------------------------------------------------
# real GTZAN (shared annotations)


NEEDS_SHARED_GTZAN = pytest.mark.skipif(
    not (SHARED_GTZAN / "metadata" / "GTZANindex.txt").exists(),
    reason=f"the shared GTZAN annotations are not at {SHARED_GTZAN} (shared/ beside the repository)",
)


def shared_gtzan_metadata() -> pd.DataFrame:
    """GTZAN's metadata from the shared index and lists, as the data stage makes it (30 s excerpts)."""
    from mgrfaults.data.annotations import gtzan_metadata, read_gtzan_index

    index_path = SHARED_GTZAN / "metadata" / "GTZANindex.txt"
    ids = read_gtzan_index(index_path)["track_id"]
    listing = pd.DataFrame({"track_id": ids, "genre": ids.str.split(".").str[0], "duration": 30.0, "sample_rate": 22050})
    listing["path"] = listing["genre"] + "/" + listing["track_id"] + ".au"
    return gtzan_metadata(listing, index_path, SHARED_GTZAN / "partitions")


@NEEDS_SHARED_GTZAN
def test_gtzan_automatic_fault_filtered():
    from mgrfaults.data.annotations import read_partition_lists

    meta = shared_gtzan_metadata()
    part = artist_filtered_split(meta, TARGET, REMOVE, seed=20141205)
    assert len(part) == 930
    assert (part.merge(meta).groupby("artist")["part"].nunique() == 1).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartitionWarning)
        check_partition(part, meta, artist_filtered=True, proportions=TARGET)
    # the study's own lists keep every artist's own excerpts in one part, but test "Lauryn Hill and Bob Marley"
    # (reggae.00087) beside 29 Bob Marley excerpts in train: said for given lists, an error for a partition made here
    lists = read_partition_lists(SHARED_GTZAN / "partitions", "filtered")
    published = published_split(meta, lists)
    with pytest.warns(PartitionWarning, match=r"'Bob Marley' is in more than one part through a credit") as said:
        check_partition(published, meta, artist_filtered=True, shared_credits="warn")
    marley = next(str(w.message) for w in said if "'Bob Marley'" in str(w.message))
    assert "'test': ['reggae.00087 (Lauryn Hill and Bob Marley)']" in marley
    with pytest.raises(InputError, match=r"artist\(s\) in more than one part: \['Bob Marley'"):
        check_partition(published, meta, artist_filtered=True)
    stratified = published_split(meta, read_partition_lists(SHARED_GTZAN / "partitions", "stratified"))
    with pytest.raises(InputError, match=r"artist\(s\) in more than one part"):
        check_partition(stratified, meta, artist_filtered=True)


@NEEDS_SHARED_GTZAN
def test_gtzan_artist_spelled_two_ways_stays_in_one_part():
    meta = shared_gtzan_metadata()
    ratm = meta["artist"].str.lower() == "rage against the machine"
    assert ratm.sum() == 5
    for seed in (0,):  # a seed that split "Rage Against the/The Machine" when spellings were artists
        part = artist_filtered_split(meta, TARGET, REMOVE, seed=seed)
        assert part.merge(meta[ratm], on="track_id")["part"].nunique() == 1


def test_annotated_artist_variants_never_cross_parts(tmp_path):
    from mgrfaults.data.dataset import directory_metadata

    # 3 genres x 10 excerpts; in rock one artist spelled four ways holds 5 excerpts ("The Band" most often)
    ids = [f"{g}.{i:05d}" for g in ("blues", "jazz", "rock") for i in range(10)]
    listing = pd.DataFrame({"track_id": ids, "genre": [t.split(".")[0] for t in ids], "duration": 10.0,
                            "sample_rate": 22050})
    listing["path"] = listing["genre"] + "/" + listing["track_id"] + ".wav"
    spellings = {"rock.00000": "The Band", "rock.00001": "the band", "rock.00002": " THE  BAND ",
                 "rock.00003": "The Band.", "rock.00004": "The Band"}
    artists = [spellings.get(t, f"artist {t}") for t in ids]
    (tmp_path / "ann.csv").write_text("track_id,artist\n" + "".join(f'{t},"{a}"\n' for t, a in zip(ids, artists)))
    meta = validate_metadata(directory_metadata(listing, str(tmp_path / "ann.csv"), require_artist=True))
    band = meta["track_id"].isin(list(spellings))
    assert set(meta.loc[band, "artist"]) == {"The Band"}
    for seed in range(4):
        part = artist_filtered_split(meta, TARGET, REMOVE, seed=seed)
        assert part.merge(meta[band], on="track_id")["part"].nunique() == 1
        check_partition(part, meta, artist_filtered=True)


# ---------------------------------------------------------------------------------------------
# config and workflow


def test_schema_per_method_keys():
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    gtzan = load_config(REPO / "config" / "gtzan.yaml")["partitions"]  # k filled by the schema
    assert condition_folds(gtzan["conditions"]) == {
        "standard": 1, "fault_filtered": 1, "published_filtered": 1, "published_stratified": 1
    }
    for bad in (
        {"method": "stratified", "k": 4},  # k belongs to the _cv methods
        {"method": "published", "proportions": TARGET},
        {"method": "artist_filtered", "remove_faults": ["replica"]},
        {"method": "stratified_cv", "k": 2},
    ):
        config["partitions"]["conditions"] = {"bad": bad}
        with pytest.raises(Exception):
            validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))


@pytest.mark.workflow
def test_workflow_partitions(tmp_path):
    """The partition rules on a given metadata table: every fold and summary of each condition."""
    results = tmp_path / "results"
    meta = crafted_metadata()
    (results / "dataset").mkdir(parents=True)
    meta.to_csv(results / "dataset" / "metadata.csv", index=False)
    (results / "dataset" / "bad_audio.csv").write_text("path,reason\n")
    lists_dir = tmp_path / "lists"
    lists_dir.mkdir()
    ids = list(meta["track_id"])
    for part, chunk in zip(PARTS, (ids[::2], ids[1::4], ids[3::4])):
        (lists_dir / f"{part}_mine.txt").write_text("".join(f"{t.split('.')[0]}/{t}.wav\n" for t in chunk))
    config = {
        "partitions": {
            "conditions": {
                "standard": {"method": "stratified", "proportions": TARGET},
                "fault_filtered": {"method": "artist_filtered", "proportions": TARGET, "remove_faults": list(REMOVE)},
                "standard_cv": {"method": "stratified_cv", "k": 3},
                "mine": {"method": "published", "lists": str(lists_dir), "set": "mine"},
            }
        }
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    targets = [
        f"results/partitions/{c}/fold_{f}{s}.csv"
        for c, n in condition_folds(config["partitions"]["conditions"]).items()
        for f in range(n)
        for s in ("", "_summary")
    ]
    rules = ["partitions_standard", "partitions_fault_filtered", "partitions_standard_cv", "partitions_mine"]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "1", "--configfile", str(tmp_path / "config.yaml"), "--allowed-rules", *rules, "--", *targets]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    for target in targets:
        assert (tmp_path / target).exists(), target
    ff = read_partition(tmp_path / "results/partitions/fault_filtered/fold_0.csv")
    assert (ff.merge(meta).groupby("artist")["part"].nunique() == 1).all()
    mine = read_partition(tmp_path / "results/partitions/mine/fold_0.csv")
    assert len(mine) == len(meta)
    # valid and test lists swapped by mv, which keeps their times: their content is a parameter of the job
    os.replace(lists_dir / "valid_mine.txt", tmp_path / "swap.txt")
    os.replace(lists_dir / "test_mine.txt", lists_dir / "valid_mine.txt")
    os.replace(tmp_path / "swap.txt", lists_dir / "test_mine.txt")
    plan = subprocess.run(cmd[:cmd.index("--")] + ["-n"] + cmd[cmd.index("--"):], capture_output=True, text=True,
                          timeout=600)
    assert plan.returncode == 0 and "rule partitions_mine:" in plan.stdout, plan.stdout[-3000:]
    assert "rule partitions_standard:" not in plan.stdout
