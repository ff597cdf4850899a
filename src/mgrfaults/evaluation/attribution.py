"""Confound attribution: how a test excerpt is related to the training part, and accuracy per relation.

Under a random (standard) partition a test excerpt can share its artist, or even its recording,
with training excerpts. Splitting the test excerpts by what the training part shares with them
and scoring each group separately shows how much of a system's accuracy rides on that overlap:
when the ``neither`` group under ``standard`` scores close to ``fault_filtered``, the drop between
the partitions is the artist/replica effect, not a difference in the music.

Groups, exclusive, in order of precedence (a replica always shares its source's artist):

- ``replica_in_train``: an exact or recording replica of the excerpt (same replica group: linked to it through
  ``replica_of`` at any depth, a replica of a replica included, :func:`replica_groups`) is in the seen parts; the
  workflow gives the replicas annotated or detected from the audio (:func:`mgrfaults.faults.groups.apply_detected`,
  mode ``both``), a synthetic dataset's annotated ones (its truth);
- ``artist_in_train``: an excerpt of the same artist is in the seen parts (an excerpt is one of every artist its
  credit names: ``Lauryn Hill and Bob Marley`` shares Bob Marley with his excerpts,
  :func:`mgrfaults.data.artists.credited_artists`);
- ``neither``.

Works on any metadata with an ``artist`` column (``unknown:<track_id>`` artists are unique and
never match) and ``replica_of`` (empty: not a replica).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from mgrfaults.data.artists import excerpt_credits
from mgrfaults.errors import InputError
from mgrfaults.faults.groups import replica_components
from mgrfaults.evaluation.tables import clopper_pearson
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_EVALUATE = section_defaults("evaluate")

GROUPS = ("artist_in_train", "replica_in_train", "neither")
"""Group names, in the order tables and figures list them."""

ATTRIBUTION_COLUMNS = ("system", "condition", "fold", "group", "n", "n_correct", "accuracy", "ci_low", "ci_high")


def replica_groups(replica_of: pd.Series) -> pd.Series:
    """The replica group of every excerpt: the excerpts linked through ``replica_of``, whatever the depth.

    A replica of a replica (s <- r <- r2) is in its source's group, not only in its direct source's, and a cycle
    of links (hand-made annotations) is one group rather than an endless chain.

    Parameters
    ----------
    replica_of : Series of str
        Index: track ids; values: the track id each excerpt is a replica of, ``""`` for none. A source absent from
        the index (removed from the metadata) still groups the replicas naming it.

    Returns
    -------
    Series of int, same index
        Equal labels: one replica group (the connected components of the links); an excerpt without a link is a
        group of its own.
    """
    linked = replica_of[replica_of != ""]
    # the sources outside the index are nodes too: two replicas of one removed source stay one group
    nodes = list(replica_of.index) + sorted(set(linked) - set(replica_of.index))
    position = {track_id: i for i, track_id in enumerate(nodes)}
    a = np.array([position[t] for t in linked.index], dtype=np.int64)
    b = np.array([position[t] for t in linked], dtype=np.int64)
    labels = replica_components(len(nodes), a, b)
    return pd.Series(labels[: len(replica_of)], index=replica_of.index, name="replica_group")


def attribution_groups(
    metadata: pd.DataFrame, partition: pd.DataFrame, seen_parts: Sequence[str] = ("train",)
) -> pd.Series:
    """The group of every test excerpt of one partition.

    Parameters
    ----------
    metadata : DataFrame
        One row per excerpt with ``track_id``, ``artist``, ``replica_of`` (track_id or empty).
    partition : DataFrame
        ``track_id``, ``part`` (train/valid/test); excerpts absent were removed by the condition.
    seen_parts : sequence of str
        The parts counted as seen in training: those the system is fit on (``train``; a classifier on learned
        features also ``valid``, :func:`mgrfaults.systems.learned.parts_fit_on`), or more (``valid`` for a system
        that only selects on it: a net's stopping epoch, an SVM's C).

    Returns
    -------
    Series of str, index = test track ids (in partition order), values in :data:`GROUPS`.
    """
    for column in ("track_id", "artist", "replica_of"):
        if column not in metadata.columns:
            raise InputError(f"metadata: column {column!r} is missing (needed for the confound attribution)")
    meta = metadata.set_index("track_id")
    missing = sorted(set(partition["track_id"]) - set(meta.index))
    if missing:
        raise InputError(f"partition: track ids {missing[:5]} are not in the metadata ({len(missing)} in all)")
    replica_group = replica_groups(meta["replica_of"].fillna("").astype(str))
    seen = partition.loc[partition["part"].isin(list(seen_parts)), "track_id"]
    test = partition.loc[partition["part"] == "test", "track_id"]
    credits = excerpt_credits(metadata)
    seen_artists = {artist for credited in credits.loc[seen] for artist in credited}
    seen_groups = set(replica_group.loc[seen])

    def group_of(track_id: str) -> str:
        # count only *other* excerpts: a test excerpt is never in the seen parts itself
        if replica_group[track_id] in seen_groups:
            return "replica_in_train"
        if seen_artists.intersection(credits[track_id]):
            return "artist_in_train"
        return "neither"

    return pd.Series([group_of(t) for t in test], index=pd.Index(test, name="track_id"), name="group", dtype=str)


def group_accuracy(
    groups: pd.Series, predictions: pd.DataFrame, confidence: float = _EVALUATE["confidence"]
) -> pd.DataFrame:
    """Accuracy with its exact binomial (Clopper-Pearson) interval in each group.

    Parameters
    ----------
    groups : Series
        :func:`attribution_groups`: test track id -> group.
    predictions : DataFrame
        ``track_id``, ``true``, ``predicted``: one row per test excerpt of the same partition.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    DataFrame, one row per group of :data:`GROUPS` (every group, ``n`` 0 and NaN accuracy when empty)
        group, n, n_correct, accuracy, ci_low, ci_high (fractions).
    """
    predicted = predictions.set_index("track_id")
    if set(predicted.index) != set(groups.index):
        only_pred = sorted(set(predicted.index) - set(groups.index))[:5]
        only_test = sorted(set(groups.index) - set(predicted.index))[:5]
        raise InputError(
            f"predictions and the partition's test part differ: predicted but not test {only_pred}, "
            f"test but not predicted {only_test}"
        )
    correct = (predicted.loc[groups.index, "true"] == predicted.loc[groups.index, "predicted"]).to_numpy()
    rows = []
    for group in GROUPS:
        mask = (groups == group).to_numpy()
        n, k = int(mask.sum()), int(correct[mask].sum())
        low, high = clopper_pearson(k, n, confidence)
        rows.append(
            {"group": group, "n": n, "n_correct": k, "accuracy": k / n if n else float("nan"), "ci_low": low, "ci_high": high}
        )
    return pd.DataFrame(rows)


def attribution_table(
    metadata: pd.DataFrame,
    runs: Sequence[tuple[str, str, int]],
    partitions: Mapping[tuple[str, int], pd.DataFrame],
    predictions: Mapping[tuple[str, str, int], pd.DataFrame],
    confidence: float = _EVALUATE["confidence"],
    seen_parts: Sequence[str] = ("train",),
    seen_parts_of: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """The attribution table of every run: one row per (system, condition, fold, group).

    Parameters
    ----------
    metadata : DataFrame
    runs : sequence of (system, condition, fold)
    partitions : mapping (condition, fold) -> partition DataFrame
    predictions : mapping (system, condition, fold) -> predictions DataFrame
    confidence : float
    seen_parts : sequence of str
        The parts a system is fit on (:func:`attribution_groups`).
    seen_parts_of : mapping system -> sequence of str, optional
        Those of the systems fit on other parts (a classifier on learned features fit on ``train`` and ``valid``,
        as the study's).

    Returns
    -------
    DataFrame with columns :data:`ATTRIBUTION_COLUMNS`.
    """
    seen_parts_of = seen_parts_of or {}
    groups_of = {}
    frames = []
    for system, condition, fold in runs:
        parts = tuple(seen_parts_of.get(system, seen_parts))
        if (condition, fold, parts) not in groups_of:
            groups_of[(condition, fold, parts)] = attribution_groups(metadata, partitions[(condition, fold)], parts)
        table = group_accuracy(groups_of[(condition, fold, parts)], predictions[(system, condition, fold)], confidence)
        table.insert(0, "fold", int(fold))
        table.insert(0, "condition", condition)
        table.insert(0, "system", system)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=list(ATTRIBUTION_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(ATTRIBUTION_COLUMNS)]


def pooled_group_accuracy(table: pd.DataFrame, systems: Sequence[str] | None = None,
                          conditions: Sequence[str] | None = None) -> pd.DataFrame:
    """Accuracy per system of each condition's test groups, folds pooled: the summary's and the first page's table.

    Parameters
    ----------
    table : DataFrame
        :func:`attribution_table` (system, condition, fold, group, n, n_correct, ...).
    systems, conditions : sequence of str, optional
        Row and column order; default: the table's order.

    Returns
    -------
    DataFrame
        ``system``, then one column per (condition, group) holding test excerpts, headed ``<condition>: <group>
        (<excerpts, summed over folds>)`` (``(24 or 26)`` where the systems' groups differ in size: a classifier
        on learned features counts the validation part seen, :func:`attribution_table`): accuracy in percent, one
        decimal, as text ("-" where a system has no row). No column when no group holds an excerpt.
    """
    systems = list(systems) if systems is not None else list(dict.fromkeys(table["system"]))
    conditions = list(conditions) if conditions is not None else list(dict.fromkeys(table["condition"]))
    pooled = table.groupby(["system", "condition", "group"], sort=False)[["n", "n_correct"]].sum()
    out = pd.DataFrame({"system": systems})
    for condition in conditions:
        for group in GROUPS:
            keys = [(s, condition, group) for s in systems]
            sizes = {int(pooled.loc[k, "n"]) for k in keys if k in pooled.index} - {0}
            if not sizes:
                continue
            # sizes differ where systems are fit on different parts (learned features' classifiers: valid too)
            heading = f"{condition}: {group.replace('_', ' ')} ({' or '.join(str(n) for n in sorted(sizes))})"
            out[heading] = [f"{100 * pooled.loc[k, 'n_correct'] / pooled.loc[k, 'n']:.1f}"
                            if k in pooled.index and pooled.loc[k, "n"] else "-" for k in keys]
    return out


def confidence_label(confidence: float) -> str:
    """The coverage ``confidence`` as a percentage to print, without a spurious decimal (0.9 -> ``90 %``).

    Two decimals of percent at most: the configured level as written, not rounded to a whole
    percent (0.975 -> ``97.5 %``), nor shown with binary noise (0.57 -> ``57 %``, not ``56.99999999999999``).
    """
    return f"{round(100 * confidence, 2):g} %"


def plot_attribution(table: pd.DataFrame, path, confidence: float = _EVALUATE["confidence"], dpi: int = 120) -> None:
    """Grouped bars: per system, the accuracy of each (condition, group) with its interval.

    Folds are pooled (counts summed) before the interval is computed. Empty groups are left out.

    Parameters
    ----------
    table : DataFrame
        :func:`attribution_table`.
    path : str or Path
        PNG to write (atomically).
    confidence : float
        Coverage of the Clopper-Pearson intervals drawn (the workflow's ``evaluate.confidence``, that of the
        table's own intervals), named in the y label.
    dpi : int
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from mgrfaults.evaluation.figures import _save

    pooled = table.groupby(["system", "condition", "group"], sort=False)[["n", "n_correct"]].sum().reset_index()
    pooled = pooled[pooled["n"] > 0]
    systems = list(dict.fromkeys(table["system"]))
    bars = [(c, g) for c in dict.fromkeys(table["condition"]) for g in GROUPS
            if ((pooled["condition"] == c) & (pooled["group"] == g)).any()]
    fig, ax = plt.subplots(figsize=(1.2 + 0.35 * len(bars) * len(systems), 4.0))
    width = 0.8 / max(len(bars), 1)
    colours = plt.get_cmap("tab10")
    for b, (condition, group) in enumerate(bars):
        xs, ys, lows, highs = [], [], [], []
        for s, system in enumerate(systems):
            row = pooled[(pooled["system"] == system) & (pooled["condition"] == condition) & (pooled["group"] == group)]
            if row.empty:
                continue
            n, k = int(row["n"].iloc[0]), int(row["n_correct"].iloc[0])
            low, high = clopper_pearson(k, n, confidence)
            xs.append(s - 0.4 + width * (b + 0.5))
            ys.append(k / n)
            lows.append(k / n - low)
            highs.append(high - k / n)
        ax.bar(xs, ys, width, yerr=np.array([lows, highs]), capsize=2, color=colours(b % 10),
               label=f"{condition}: {group}")
    ax.set_xticks(range(len(systems)), systems, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(f"accuracy ({confidence_label(confidence)} Clopper-Pearson)")
    # below the axes: the bars reach the top and the bottom of the plot
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    _save(fig, path, dpi)
