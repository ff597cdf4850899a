"""Confound attribution: test excerpts grouped by what the training part shares with them."""

import numpy as np
import pandas as pd
import pytest

from mgrfaults.errors import InputError
from mgrfaults.evaluation.attribution import GROUPS, attribution_groups, attribution_table, group_accuracy


@pytest.fixture
def metadata():
    rows = [
        # track_id, artist, fault, replica_of
        ("a.00", "A", "none", ""),
        ("a.01", "A", "none", ""),
        ("a.02", "A", "exact_replica", "a.00"),
        ("b.00", "B", "none", ""),
        ("b.01", "B", "recording_replica", "b.00"),
        ("b.02", "B", "recording_replica", "b.00"),
        ("c.00", "C", "none", ""),
        ("c.01", "C", "none", ""),
        ("d.00", "unknown:d.00", "none", ""),
        ("e.00", "E", "none", ""),
    ]
    return pd.DataFrame(rows, columns=["track_id", "artist", "fault", "replica_of"])


@pytest.fixture
def partition():
    parts = {
        "a.00": "train",  # source of the exact replica a.02
        "a.01": "test",  # same artist as a.00 (train): artist_in_train
        "a.02": "test",  # its source a.00 is in train: replica_in_train
        "b.00": "test",  # b.02, a replica of it, is in train: replica_in_train
        "b.01": "test",  # b.02 is a replica of the same source: replica_in_train
        "b.02": "train",
        "c.00": "valid",  # artist C only in valid: not seen in training
        "c.01": "test",  # neither (unless valid counts as seen)
        "d.00": "test",  # unknown artist: neither
        "e.00": "train",
    }
    return pd.DataFrame({"track_id": list(parts), "part": list(parts.values())})


def test_groups_on_a_hand_made_partition(metadata, partition):
    groups = attribution_groups(metadata, partition)
    assert groups.to_dict() == {
        "a.01": "artist_in_train",
        "a.02": "replica_in_train",
        "b.00": "replica_in_train",
        "b.01": "replica_in_train",
        "c.01": "neither",
        "d.00": "neither",
    }
    with_valid = attribution_groups(metadata, partition, seen_parts=("train", "valid"))
    assert with_valid["c.01"] == "artist_in_train"


def test_removed_excerpts_do_not_count(metadata, partition):
    # a fault-filtered-like partition: the replicas removed, so nothing is a replica in train
    filtered = partition[~partition["track_id"].isin(["a.02", "b.01", "b.02"])]
    groups = attribution_groups(metadata, filtered)
    assert groups["b.00"] == "neither" and "a.02" not in groups.index


def test_group_accuracy_and_intervals(metadata, partition):
    groups = attribution_groups(metadata, partition)
    predictions = pd.DataFrame(
        {
            "track_id": ["a.01", "a.02", "b.00", "b.01", "c.01", "d.00"],
            "true": ["x"] * 6,
            "predicted": ["x", "x", "x", "y", "y", "y"],
        }
    )
    table = group_accuracy(groups, predictions).set_index("group")
    assert list(table.index) == list(GROUPS)
    assert table.loc["replica_in_train", "n"] == 3 and table.loc["replica_in_train", "accuracy"] == pytest.approx(2 / 3)
    assert table.loc["artist_in_train", "accuracy"] == 1.0 and table.loc["neither", "accuracy"] == 0.0
    # exact binomial interval for 2 of 3: (0.0943, 0.9916)
    assert table.loc["replica_in_train", "ci_low"] == pytest.approx(0.0943, abs=1e-4)
    assert table.loc["replica_in_train", "ci_high"] == pytest.approx(0.9916, abs=1e-4)
    assert table.loc["neither", "ci_low"] == 0.0 and table.loc["neither", "ci_high"] < 1.0
    with pytest.raises(InputError):
        group_accuracy(groups, predictions.iloc[1:])


def test_attribution_table_every_run_and_group(metadata, partition):
    predictions = pd.DataFrame({"track_id": ["a.01", "a.02", "b.00", "b.01", "c.01", "d.00"], "true": "x", "predicted": "x"})
    table = attribution_table(
        metadata,
        [("S1", "standard", 0), ("S2", "standard", 0)],
        {("standard", 0): partition},
        {("S1", "standard", 0): predictions, ("S2", "standard", 0): predictions},
    )
    assert len(table) == 2 * len(GROUPS)
    assert table.groupby("system")["n"].sum().tolist() == [6, 6]
    assert np.isclose(table["accuracy"], 1.0).all()


def test_missing_artist_column_is_an_error(metadata, partition):
    with pytest.raises(InputError, match="artist"):
        attribution_groups(metadata.drop(columns="artist"), partition)


@pytest.mark.workflow
def test_default_run_writes_the_attribution(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "tables" / "attribution.csv")
    assert list(table.columns) == ["system", "condition", "fold", "group", "n", "n_correct", "accuracy", "ci_low", "ci_high"]
    standard = table[table["condition"] == "standard"]
    # the tiny preset has replicas and multi-excerpt artists: all three groups are populated under standard
    assert (standard.groupby("group")["n"].sum() > 0).all() and set(standard["group"]) == set(GROUPS)
    # under fault_filtered no test excerpt shares artist or recording with train
    filtered = table[table["condition"] == "fault_filtered"]
    assert (filtered.loc[filtered["group"] != "neither", "n"] == 0).all()
    assert (tiny_run / "results" / "figures" / "attribution.png").stat().st_size > 0
