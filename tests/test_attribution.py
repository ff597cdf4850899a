"""Confound attribution: test excerpts grouped by what the training part shares with them."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from conftest import TINY_CONFIG, deep_update, run_snakemake
from mgrfaults.errors import InputError
from mgrfaults.evaluation import figures
from mgrfaults.systems.learned import parts_fit_on
from mgrfaults.systems.names import parse_system
from mgrfaults.evaluation.attribution import (GROUPS, attribution_groups, attribution_table, confidence_label,
                                              group_accuracy, plot_attribution, pooled_group_accuracy,
                                              replica_groups)
from mgrfaults.evaluation.tables import clopper_pearson


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


def test_a_replica_of_a_replica_is_in_its_sources_group():
    # s <- r <- r2: r2 was grouped with r only, so with s in train it read artist_in_train
    metadata = pd.DataFrame({"track_id": ["s", "r", "r2", "t"], "artist": ["A", "A", "A", "B"],
                             "replica_of": ["", "s", "r", ""]})
    partition = pd.DataFrame({"track_id": ["s", "r", "r2", "t"], "part": ["train", "valid", "test", "test"]})
    assert attribution_groups(metadata, partition).to_dict() == {"r2": "replica_in_train", "t": "neither"}
    groups = replica_groups(metadata.set_index("track_id")["replica_of"])
    assert groups["s"] == groups["r"] == groups["r2"] != groups["t"]


def test_a_cycle_of_replica_links_is_one_group():
    # hand-made annotations can loop (a <- b <- c <- a): one group, and no endless walk to a root
    replica_of = pd.Series(["c", "a", "b", "", "x", "x"], index=["a", "b", "c", "d", "e", "f"])
    groups = replica_groups(replica_of)
    assert groups["a"] == groups["b"] == groups["c"] and len(set(groups[["a", "d", "e"]])) == 3
    # e and f name the same source, absent from the metadata: still one group
    assert groups["e"] == groups["f"]
    assert len(set(replica_groups(pd.Series(["", ""], index=["p", "q"])))) == 2
    metadata = pd.DataFrame({"track_id": list("abcd"), "artist": list("ABCD"), "replica_of": ["c", "a", "b", ""]})
    partition = pd.DataFrame({"track_id": list("abcd"), "part": ["test", "train", "test", "test"]})
    assert attribution_groups(metadata, partition).to_dict() == {"a": "replica_in_train", "c": "replica_in_train",
                                                                 "d": "neither"}


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


def test_a_system_fit_on_the_validation_part_too_counts_it_seen(metadata, partition):
    # a classifier on learned features is fit on train and valid, as the study's (mgrfaults.systems.learned
    # .parts_fit_on): c.01's artist, in valid alone, is one it was fit on; a net's vote saw train alone
    predictions = pd.DataFrame({"track_id": ["a.01", "a.02", "b.00", "b.01", "c.01", "d.00"], "true": "x", "predicted": "x"})
    runs = [("500_RSD", "standard", 0), ("500_RSD_AF_LAll", "standard", 0)]
    table = attribution_table(metadata, runs, {("standard", 0): partition}, {run: predictions for run in runs},
                              seen_parts_of={"500_RSD_AF_LAll": ["train", "valid"]})
    sizes = table.set_index(["system", "group"])["n"]
    assert (sizes["500_RSD", "neither"], sizes["500_RSD", "artist_in_train"]) == (2, 1)
    assert (sizes["500_RSD_AF_LAll", "neither"], sizes["500_RSD_AF_LAll", "artist_in_train"]) == (1, 2)
    assert parts_fit_on(parse_system("500_RSD_AF_LAll")) == ("train", "valid")
    assert parts_fit_on(parse_system("500_RSD_AF_LAll"), "train") == parts_fit_on(parse_system("500_RSD")) == ("train",)
    assert parts_fit_on(parse_system("BFF_SVM")) == ("train",)
    # the summary's headings give both sizes where the systems' groups differ
    headings = list(pooled_group_accuracy(table).columns)
    assert "standard: neither (1 or 2)" in headings and "standard: artist in train (1 or 2)" in headings


def test_missing_artist_column_is_an_error(metadata, partition):
    with pytest.raises(InputError, match="artist"):
        attribution_groups(metadata.drop(columns="artist"), partition)


# one system, 23 of 24 right where the artist is in train (the audit's BFF_SVM cell), an empty group left out
ATTRIBUTION_CSV = """system,condition,fold,group,n,n_correct,accuracy,ci_low,ci_high
X,standard,0,artist_in_train,24,23,0.9583,0.817,0.998
X,standard,0,replica_in_train,0,0,,,
X,standard,0,neither,10,5,0.5,0.2,0.8
"""


def test_confidence_label_prints_the_level_as_configured():
    levels = (0.95, 0.9, 0.975, 0.57, 0.9995)
    assert [confidence_label(c) for c in levels] == ["95 %", "90 %", "97.5 %", "57 %", "99.95 %"]


def test_attribution_figure_draws_the_configured_coverage(tmp_path, monkeypatch):
    # the figure recomputed 95 % intervals whatever evaluate.confidence was, under a "95 %" label
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path, dpi: drawn.append(fig.axes[0]))
    table = pd.read_csv(pd.io.common.StringIO(ATTRIBUTION_CSV))
    plot_attribution(table, tmp_path / "attribution.png", confidence=0.9)
    (ax,) = drawn
    assert ax.get_ylabel() == "accuracy (90 % Clopper-Pearson)"
    # the artist_in_train bar's error bar: from the 90 % lower bound to the 90 % upper bound
    error_bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    (segment,) = error_bars[0].lines[2][0].get_segments()
    np.testing.assert_allclose(segment[:, 1], clopper_pearson(23, 24, 0.9))
    assert clopper_pearson(23, 24, 0.9)[0] == pytest.approx(0.817, abs=1e-3)


@pytest.mark.workflow
def test_attribution_figure_rule_passes_the_configured_confidence(tmp_path):
    # the figure's rule alone, on a hand-made table: its script must get evaluate.confidence
    (tmp_path / "results" / "tables").mkdir(parents=True)
    (tmp_path / "results" / "tables" / "attribution.csv").write_text(ATTRIBUTION_CSV)
    run_snakemake(tmp_path, deep_update(TINY_CONFIG, {"evaluate": {"confidence": 0.9}}),
                  targets=["results/figures/attribution.png"], extra_args=["--allowed-rules", "attribution_figure"])
    log = (tmp_path / "results" / "logs" / "evaluate" / "attribution_figure.log").read_text()
    assert "3 rows drawn, 90 % Clopper-Pearson intervals" in log


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
