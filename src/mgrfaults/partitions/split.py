"""Partitions of a dataset into train/valid/test parts: the study's two conditions and their variants.

Conditions (config ``partitions.conditions.<name>.method``):

- ``stratified``: random split stratified by genre (default 50/20/30), seeded.
- ``stratified_cv``: stratified k-fold (default k = 4): fold f tests on block f, validates on
  block f+1 (mod k), trains on the rest, so k = 4 gives 50/25/25 as in Sigtia & Dixon, and each
  excerpt is in the test part of exactly one fold.
- ``artist_filtered``: the study's fault-filtered condition. Excerpts whose ``fault`` is in
  ``remove_faults`` are dropped, then whole artists are assigned to parts (an excerpt whose credit
  names several artists, ``Lauryn Hill and Bob Marley``, keeps them all in its part:
  :mod:`mgrfaults.data.artists`), stratified by genre,
  proportions as close to the target as the artist blocks allow (:func:`assign_groups`).
- ``artist_filtered_cv``: the same with k artist-grouped blocks, folds as in ``stratified_cv``.
- ``published``: partition lists such as the study's (:mod:`mgrfaults.data.annotations`).

Replica groups: the metadata marks only the *copies* (``fault = exact_replica`` etc.,
``replica_of`` = the original); the original has ``fault = none``. Removing the listed faults
therefore keeps one member of each replica group, which is what the study's fault-filtered lists
do on GTZAN (930 of 1000 kept; e.g. jazz.00051 kept, its replica jazz.00033 removed).

Artist blocks larger than a part's share: a genre in which one artist holds more than half of the
excerpts cannot be split near 50/20/30. The solver puts the whole artist in one part (usually
train: the smallest deviation) and fills the other parts with the remaining artists, so that
genre's proportions deviate from target (a warning names it when by more than 10 points). Each
genre is kept in every part whenever it has at least as many artists as there are parts; a genre
with fewer artists leaves a part empty, which :func:`check_partition` reports as an error.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from mgrfaults.config import complete_condition
from mgrfaults.errors import InputError
from mgrfaults.data.artists import artist_groups, artist_key, excerpt_credits
from mgrfaults.data.metadata import FAULTS
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_ARTIST_FILTERED = section_defaults("partitions.conditions.artist_filtered")
_ARTIST_FILTERED_CV = section_defaults("partitions.conditions.artist_filtered_cv")
_PUBLISHED = section_defaults("partitions.conditions.published")
_STRATIFIED_CV = section_defaults("partitions.conditions.stratified_cv")

PARTS = ("train", "valid", "test")
DEFAULT_PROPORTIONS = {"train": 0.5, "valid": 0.2, "test": 0.3}
DEFAULT_REMOVE_FAULTS = ("exact_replica", "recording_replica", "distortion")
METHODS = ("stratified", "stratified_cv", "artist_filtered", "artist_filtered_cv", "published")
PROPORTION_TOLERANCE = 0.10
"""A genre whose share of a part deviates from target by more than this (10 points) gets a warning."""

log = logging.getLogger(__name__)


class PartitionWarning(UserWarning):
    """A partition that is valid but far from its target proportions."""


# ---------------------------------------------------------------------------------------------
# building blocks


def _shares(proportions: Mapping[str, float] | None) -> np.ndarray:
    """(3,) float: shares of train, valid, test, normalised to sum to 1."""
    props = dict(DEFAULT_PROPORTIONS if proportions is None else proportions)
    if set(props) != set(PARTS):
        raise InputError(f"proportions: need exactly the parts {list(PARTS)}, got {sorted(props)}")
    shares = np.array([float(props[p]) for p in PARTS])
    if (shares <= 0).any():
        raise InputError(f"proportions: every part needs a share > 0, got {props}")
    return shares / shares.sum()


def allocate_counts(n: int, shares: Sequence[float]) -> np.ndarray:
    """Split ``n`` items into parts by largest remainder, at least one per part when ``n`` allows.

    Parameters
    ----------
    n : int
        Number of items.
    shares : sequence of float, shape (n_parts,)
        Target shares (summing to 1).

    Returns
    -------
    ndarray of int, shape (n_parts,)
        Counts summing to ``n``.
    """
    shares = np.asarray(shares, dtype=float)
    exact = n * shares
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    # never leave a part empty when there are enough items: take one from the largest part
    while n >= len(shares) and (counts == 0).any():
        counts[np.argmax(counts)] -= 1
        counts[np.argmin(counts)] += 1
    return counts


def remove_faults(metadata: pd.DataFrame, faults: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the metadata into the excerpts kept and those whose ``fault`` is in ``faults``.

    A replica group whose ``replica_of`` links form a cycle (a -> b -> a, or a -> a) names no
    original; removing every member would lose the recording altogether, so the lowest track id
    of each cycle is kept (:func:`replica_cycle_keepers`, logged).
    """
    drop = metadata["fault"].isin(list(faults))
    keepers = replica_cycle_keepers(metadata[drop])
    if keepers:
        log.warning("replica_of: cycle(s) of replicas name no original; keeping one member of each: %s", keepers)
        drop &= ~metadata["track_id"].isin(keepers)
    return metadata[~drop].reset_index(drop=True), metadata[drop].reset_index(drop=True)


def replica_cycle_keepers(removed: pd.DataFrame) -> list[str]:
    """The lowest track id of each ``replica_of`` cycle among the excerpts to remove.

    Parameters
    ----------
    removed : DataFrame
        track_id, replica_of (``""``: no original named) of the excerpts a condition removes.

    Returns
    -------
    list of str
        One member per cycle (self-replicas included), sorted.
    """
    if "replica_of" not in removed.columns:
        return []
    link = {t: r for t, r in zip(removed["track_id"], removed["replica_of"].fillna("")) if r}
    keepers, done = set(), set()
    for start in sorted(link):
        path, node = [], start
        while node in link and node not in done and node not in path:
            path.append(node)
            node = link[node]
        if node in path:  # the walk came back: path[path.index(node):] is a cycle
            keepers.add(min(path[path.index(node):]))
        done.update(path)
    return sorted(keepers)


def check_k_against_genres(metadata: pd.DataFrame, kept: pd.DataFrame, k: int, key: str, by_artist: bool = False) -> None:
    """Each of the k blocks needs every genre: refuse a k above the excerpts (or artist groups) of a genre.

    ``metadata``: the whole dataset (credits are read against it); ``kept``: the excerpts left to split.

    Raises
    ------
    InputError
        Naming ``key`` (the condition's ``k``), the genre and its count.
    """
    if by_artist:
        group, _, _ = _artist_group_counts(metadata, kept)
        per_genre = pd.Series(group, index=kept.index).groupby(kept["genre"]).nunique()
        unit = "artists"
    else:
        per_genre = kept.groupby("genre")["track_id"].size()
        unit = "excerpts"
    short = per_genre[per_genre < k].sort_values()
    if len(short):
        detail = ", ".join(f"{g}: {n}" for g, n in short.head(5).items())
        raise InputError(
            f"{key}: k = {k} blocks, but genre(s) have fewer {unit} than that after removing faults ({detail}); "
            f"every block needs each genre: use k <= {int(per_genre.min())}"
        )


def _genre_order(metadata: pd.DataFrame) -> list[str]:
    return sorted(set(metadata["genre"]))


def _partition_frame(track_ids, parts) -> pd.DataFrame:
    df = pd.DataFrame({"track_id": list(track_ids), "part": list(parts)})
    return df.sort_values("track_id", kind="stable").reset_index(drop=True)


def _blocks_to_folds(track_ids: np.ndarray, block: np.ndarray, k: int) -> list[pd.DataFrame]:
    """Fold f: test = block f, valid = block f+1 (mod k), train = the other blocks."""
    folds = []
    for f in range(k):
        part = np.full(len(track_ids), "train", dtype=object)
        part[block == (f + 1) % k] = "valid"
        part[block == f] = "test"
        folds.append(_partition_frame(track_ids, part))
    return folds


# ---------------------------------------------------------------------------------------------
# stratified (random) conditions


def stratified_split(
    metadata: pd.DataFrame, proportions: Mapping[str, float] | None = None, seed: int = 0
) -> pd.DataFrame:
    """Random split stratified by genre.

    Parameters
    ----------
    metadata : DataFrame
        With track_id and genre.
    proportions : mapping part -> share, optional
        Default 50/20/30 (train/valid/test). Each genre's counts are its size times the shares,
        rounded by largest remainder (every part gets one excerpt when the genre has three).
    seed : int
        Seed of the shuffle; the same seed gives the same partition.

    Returns
    -------
    DataFrame
        track_id, part; sorted by track_id.
    """
    shares = _shares(proportions)
    rng = np.random.default_rng(seed)
    ids, parts = [], []
    for genre in _genre_order(metadata):
        genre_ids = np.sort(metadata.loc[metadata["genre"] == genre, "track_id"].to_numpy())
        genre_ids = rng.permutation(genre_ids)
        counts = allocate_counts(len(genre_ids), shares)
        ids.extend(genre_ids)
        parts.extend(np.repeat(PARTS, counts))
    return _partition_frame(ids, parts)


def stratified_cv(metadata: pd.DataFrame, k: int = _STRATIFIED_CV["k"], seed: int = 0) -> list[pd.DataFrame]:
    """Stratified k-fold partitions (Sigtia & Dixon: k = 4, 50/25/25 per fold).

    Excerpts are dealt into k blocks stratified by genre (scikit-learn's StratifiedKFold,
    shuffled with ``seed``); fold f tests on block f, validates on block f+1 (mod k) and trains
    on the other k-2 blocks, so each excerpt is in the test part of exactly one fold.

    Returns
    -------
    list of DataFrame
        k partitions (track_id, part), fold 0 first.
    """
    from sklearn.model_selection import StratifiedKFold

    if k < 3:
        raise InputError(f"stratified_cv: k = {k}; train, valid and test need k >= 3 blocks")
    meta = metadata.sort_values("track_id", kind="stable")
    ids = meta["track_id"].to_numpy()
    block = np.empty(len(ids), dtype=int)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed % 2**32)
    for b, (_, test_idx) in enumerate(splitter.split(ids, meta["genre"].to_numpy())):
        block[test_idx] = b
    return _blocks_to_folds(ids, block, k)


# ---------------------------------------------------------------------------------------------
# artist-filtered conditions


def _artist_group_counts(metadata: pd.DataFrame, kept: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(group of each kept excerpt, groups, counts): counts[a, g] = kept excerpts of artist group a in genre g.

    Groups: :func:`mgrfaults.data.artists.artist_groups` of the kept excerpts, their credits read against the whole
    dataset (``metadata``), as the partition check and the attribution read them.
    """
    group = pd.Series(artist_groups(excerpt_credits(metadata).loc[kept["track_id"]].tolist()), index=kept.index)
    table = pd.crosstab(group, kept["genre"])
    return group.to_numpy(), list(table.index), table.to_numpy(dtype=int)


def assign_groups(
    counts: np.ndarray,
    shares: Sequence[float],
    seed: int = 0,
    solver: str = _ARTIST_FILTERED["solver"],
    time_limit: float = _ARTIST_FILTERED["time_limit"],
) -> np.ndarray:
    """Assign whole groups (artists) to parts so each genre's part sizes are near its target.

    Parameters
    ----------
    counts : ndarray of int, shape (n_groups, n_genres)
        Excerpts of each group in each genre (an artist may span genres).
    shares : sequence of float, shape (n_parts,)
        Target share of each part (sum 1).
    seed : int
        Breaks ties among equally good assignments (``ilp``) or shuffles (``sklearn``).
    solver : {"ilp", "sklearn"}
        ``ilp``: an exact integer program (pulp/CBC) minimising the sum over genres and parts of
        |count - target| / genre size (proportion points), with a large penalty for a genre
        missing from a part and a tiny seeded random cost that picks one of the optimal
        assignments. ``sklearn``: StratifiedGroupKFold into ``n_blocks`` blocks (10 for shares
        in tenths), whole blocks then make up the parts; faster but coarser when artist blocks are big.
    time_limit : float
        Seconds for each ILP; the best assignment found by then is used. The ILP is solved per
        set of genres linked by shared artists and proves optimality in well under a second on
        GTZAN (1000 excerpts); only a run that hits the limit could depend on machine speed.

    Returns
    -------
    ndarray of int, shape (n_groups,)
        The part index of each group.
    """
    counts = np.asarray(counts, dtype=int)
    shares = np.asarray(shares, dtype=float)
    if solver == "sklearn":
        return _assign_groups_sklearn(counts, shares, seed)
    if solver != "ilp":
        raise InputError(f"solver: unknown {solver!r}; one of ['ilp', 'sklearn']")
    # genres linked by no artist are independent problems: solve each connected set of genres on its own (on
    # GTZAN: 6 sets, none of more than two genres, hiphop+reggae through "Lauryn Hill and Bob Marley"), which keeps
    # every ILP small
    assignment = np.zeros(counts.shape[0], dtype=int)
    for c, genre_set in enumerate(_linked_genres(counts)):
        members = np.flatnonzero(counts[:, genre_set].sum(axis=1) > 0)
        sub = counts[np.ix_(members, genre_set)]
        assignment[members] = _assign_groups_ilp(sub, shares, np.random.default_rng([seed, c]), time_limit)
    return assignment


def _linked_genres(counts: np.ndarray) -> list[list[int]]:
    """Sets of genres connected through groups present in several of them (union-find)."""
    parent = list(range(counts.shape[1]))

    def find(g):
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for row in counts:
        present = np.flatnonzero(row)
        for g in present[1:]:
            parent[find(g)] = find(present[0])
    sets: dict[int, list[int]] = {}
    for g in range(counts.shape[1]):
        sets.setdefault(find(g), []).append(g)
    return [s for s in sets.values() if counts[:, s].sum() > 0]


def _assign_groups_ilp(counts: np.ndarray, shares: np.ndarray, rng: np.random.Generator, time_limit: float) -> np.ndarray:
    """The ILP of :func:`assign_groups` for one connected set of genres."""
    import pulp

    n_groups, n_genres = counts.shape
    n_parts = len(shares)
    totals = counts.sum(axis=0)
    # the random tie-break never outweighs one excerpt of deviation in the largest genre
    eps = 0.5 / (max(int(totals.max()), 1) * max(n_groups, 1) * n_parts)
    noise = rng.random((n_groups, n_parts)) * eps
    empty_penalty = 10.0 * n_genres * n_parts  # more than any possible deviation sum

    prob = pulp.LpProblem("artist_filtered_partition", pulp.LpMinimize)
    # PuLP >= 3.3 creates variables through the problem (LpVariable(...) directly is deprecated)
    var = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
    x = [[var(f"x_{a}_{p}", cat="Binary") for p in range(n_parts)] for a in range(n_groups)]
    dev = [[var(f"dev_{g}_{p}", lowBound=0) for p in range(n_parts)] for g in range(n_genres)]
    empty = [[var(f"empty_{g}_{p}", lowBound=0, upBound=1) for p in range(n_parts)] for g in range(n_genres)]
    objective = []
    for a in range(n_groups):
        prob += pulp.lpSum(x[a]) == 1
    for g in range(n_genres):
        members = [a for a in range(n_groups) if counts[a, g] > 0]
        for p in range(n_parts):
            size = pulp.lpSum(int(counts[a, g]) * x[a][p] for a in members)
            target = float(totals[g] * shares[p])
            # a count is an integer: it misses a fractional target by at least the distance to the
            # nearest integer; saying so tightens the LP bound, so CBC proves optimality quickly
            dev[g][p].lowBound = abs(target - round(target))
            prob += dev[g][p] >= size - target
            prob += dev[g][p] >= target - size
            prob += size + empty[g][p] >= 1
            objective += [dev[g][p] * (1.0 / totals[g]), empty_penalty * empty[g][p]]
    objective += [float(noise[a, p]) * x[a][p] for a in range(n_groups) for p in range(n_parts)]
    prob += pulp.lpSum(objective)
    # stop once within a fraction of one excerpt's deviation of the optimum: proving the
    # tie-break optimal as well would take long and change nothing that matters
    gap = 0.25 / max(int(totals.max()), 1)
    with warnings.catch_warnings():
        # PULP_CBC_CMD (the CBC binary bundled with PuLP) is deprecated for PuLP 4; it is the one installed
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapAbs=gap, gapRel=0, threads=1)
    status = prob.solve(solver)
    values = np.array([[x[a][p].value() or 0.0 for p in range(n_parts)] for a in range(n_groups)])
    if not np.allclose(values.sum(axis=1), 1.0, atol=1e-4):
        log.warning("ILP gave no complete assignment (status %s): falling back to StratifiedGroupKFold", status)
        return _assign_groups_sklearn(counts, shares, int(rng.integers(2**31)))
    return values.argmax(axis=1)


def _assign_groups_sklearn(counts: np.ndarray, shares: np.ndarray, seed: int) -> np.ndarray:
    """StratifiedGroupKFold into blocks, blocks dealt to parts by the shares."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_parts = len(shares)
    # the finest grid of blocks that expresses the shares (10 for 50/20/30, k for 1/k each)
    n_blocks = next(
        (m for m in range(n_parts, 21) if np.allclose(shares * m, np.round(shares * m), atol=1e-6)), 10
    )
    blocks_per_part = allocate_counts(n_blocks, shares)
    group_idx = np.repeat(np.arange(counts.shape[0]), counts.sum(axis=1))
    genre_idx = np.concatenate([np.repeat(np.arange(counts.shape[1]), row) for row in counts])
    n_splits = min(n_blocks, counts.shape[0])
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed % 2**32)
    block_of_group = np.zeros(counts.shape[0], dtype=int)
    for b, (_, test_idx) in enumerate(splitter.split(group_idx, genre_idx, groups=group_idx)):
        block_of_group[np.unique(group_idx[test_idx])] = b
    part_of_block = np.repeat(np.arange(n_parts), blocks_per_part)
    return part_of_block[block_of_group]


def artist_filtered_split(
    metadata: pd.DataFrame,
    proportions: Mapping[str, float] | None = None,
    remove: Sequence[str] = DEFAULT_REMOVE_FAULTS,
    seed: int = 0,
    solver: str = _ARTIST_FILTERED["solver"],
    time_limit: float = _ARTIST_FILTERED["time_limit"],
) -> pd.DataFrame:
    """The fault-filtered, artist-filtered partition.

    Drops the excerpts whose ``fault`` is in ``remove`` (the copies of each replica group: the
    original, ``fault = none``, is kept), then assigns whole artists to train/valid/test with
    :func:`assign_groups` so that no artist is in two parts and each genre's proportions are as
    close to ``proportions`` (default 50/20/30) as the artist blocks allow.

    Returns
    -------
    DataFrame
        track_id, part for the kept excerpts (removed ones are absent); sorted by track_id.
        Achieved proportions per genre: :func:`summary_table`.
    """
    kept, _ = remove_faults(metadata, remove)
    group, groups, counts = _artist_group_counts(metadata, kept)
    part_of_group = dict(zip(groups, assign_groups(counts, _shares(proportions), seed, solver, time_limit)))
    return _partition_frame(kept["track_id"], [PARTS[part_of_group[a]] for a in group])


def artist_filtered_cv(
    metadata: pd.DataFrame,
    k: int = _ARTIST_FILTERED_CV["k"],
    remove: Sequence[str] = DEFAULT_REMOVE_FAULTS,
    seed: int = 0,
    solver: str = _ARTIST_FILTERED_CV["solver"],
    time_limit: float = _ARTIST_FILTERED_CV["time_limit"],
) -> list[pd.DataFrame]:
    """Artist-grouped k-fold partitions of the fault-filtered excerpts.

    Whole artists are dealt into k blocks of near-equal size per genre (:func:`assign_groups`
    with k equal shares); fold f tests on block f, validates on block f+1 (mod k), trains on the rest.
    Each kept excerpt is in the test part of exactly one fold and no artist crosses parts.
    """
    if k < 3:
        raise InputError(f"artist_filtered_cv: k = {k}; train, valid and test need k >= 3 blocks")
    kept, _ = remove_faults(metadata, remove)
    group, groups, counts = _artist_group_counts(metadata, kept)
    block_of_group = dict(zip(groups, assign_groups(counts, np.full(k, 1.0 / k), seed, solver, time_limit)))
    block = np.array([block_of_group[a] for a in group])
    order = np.argsort(kept["track_id"].to_numpy(), kind="stable")
    return _blocks_to_folds(kept["track_id"].to_numpy()[order], block[order], k)


# ---------------------------------------------------------------------------------------------
# published lists


def published_split(
    metadata: pd.DataFrame,
    lists: Mapping[str, Sequence[str]],
    source: str = "lists",
    skipped: Sequence[str] = (),
    on_missing: str = _PUBLISHED["on_missing"],
    list_files: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A partition from published lists of track ids (stems), e.g. the study's GTZAN lists.

    Parameters
    ----------
    lists : mapping part -> track ids
        From :func:`mgrfaults.data.annotations.read_partition_lists`.
    source : str
        Where the lists come from (the condition's key, for error messages).
    skipped : sequence of str
        Track ids the data stage skipped as bad audio (GTZAN's jazz.00054): listed ones are
        dropped with a :class:`PartitionWarning`.
    on_missing : {'error', 'drop'}
        Listed ids absent from the dataset (a partial or re-encoded copy): ``error`` names the
        count and the first ids per list file; ``drop`` restricts the lists to what exists and
        warns with the count per part and genre (:func:`missing_listed_ids`).
    list_files : mapping part -> path, optional
        The list files, named in messages.

    Raises
    ------
    InputError
        A part missing, an id in two parts, listed ids not in the metadata (``on_missing: error``).
    """
    if on_missing not in ("error", "drop"):
        raise InputError(f"{source}.on_missing: {on_missing!r} is not one of ['error', 'drop']")
    missing = [p for p in PARTS if p not in lists]
    if missing:
        raise InputError(f"{source}: no list for part(s) {missing}")
    partition = pd.DataFrame(
        [(tid, part) for part in PARTS for tid in lists[part]], columns=["track_id", "part"]
    )
    _check_duplicates(partition, source)
    dropped = partition["track_id"].isin(set(skipped)) & ~partition["track_id"].isin(set(metadata["track_id"]))
    bad_audio = missing_listed_ids(partition[dropped], metadata)
    if dropped.any():
        warnings.warn(
            f"{source}: listed track(s) skipped as bad audio, left out: {sorted(partition.loc[dropped, 'track_id'])}",
            PartitionWarning,
            stacklevel=2,
        )
        partition = partition[~dropped]
    absent = missing_listed_ids(partition, metadata)
    if len(absent):
        files = dict(list_files or {})
        per_file = "; ".join(
            f"{files.get(part, part + ' list')}: {len(ids)} of {int((partition['part'] == part).sum())} listed ids are absent"
            f" (first: {sorted(ids['track_id'])[:5]})"
            for part, ids in absent.groupby("part", sort=False)
        )
        if on_missing == "error":
            raise InputError(
                f"{source}: {len(absent)} of {len(partition)} listed ids are absent from the dataset: {per_file}. "
                f"Set {source}.on_missing: drop to restrict the lists to the excerpts that exist"
            )
        counts = absent.groupby(["part", "genre"]).size()
        detail = ", ".join(f"{part}/{genre}: {n}" for (part, genre), n in counts.items())
        message = (
            f"{source}: on_missing: drop: {len(absent)} of {len(partition)} listed ids are absent from the dataset "
            f"and left out ({detail})"
        )
        log.warning(message)
        warnings.warn(message, PartitionWarning, stacklevel=2)
        partition = partition[~partition["track_id"].isin(set(absent["track_id"]))]
    _check_ids(partition, metadata, source)
    partition = partition.sort_values("track_id", kind="stable").reset_index(drop=True)
    # for the summary (with_absent_listed): the report says how many listed excerpts a part lacks, and why not
    partition.attrs["absent_listed"] = pd.concat([bad_audio, absent], ignore_index=True)
    return partition


def with_absent_listed(summary: pd.DataFrame, absent: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``absent_listed``: listed ids the partition lacks, per genre: skipped as bad audio by the data stage (the
    Kaggle copy's jazz.00054), or absent from the dataset and dropped (``on_missing: drop``).

    Every condition gets the column (0 where nothing was dropped), so tables of conditions line up.
    """
    summary = summary.copy()
    per_genre = (absent.groupby("genre").size() if absent is not None and len(absent) else pd.Series(dtype=int))
    counts = [int(per_genre.get(g, 0)) for g in summary["genre"]]
    if len(counts) and summary["genre"].iloc[-1] == "all":
        counts[-1] = int(per_genre.sum())
    summary["absent_listed"] = counts
    return summary


def missing_listed_ids(partition: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """Listed ids absent from the dataset: track_id, part, genre (the stem's prefix, GTZAN's ``blues.00012``)."""
    absent = partition[~partition["track_id"].isin(set(metadata["track_id"]))].copy()
    absent["genre"] = absent["track_id"].str.rsplit(".", n=1).str[0]
    return absent.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# reading, checking, summarising


def read_partition(path) -> pd.DataFrame:
    """Read a partition file (CSV: track_id, part).

    Raises
    ------
    InputError
        Missing file or column, a part not in train/valid/test, an id in two parts.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: partition file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("track_id", "part") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; a partition needs track_id, part")
    bad = df[~df["part"].isin(PARTS)]
    if len(bad):
        raise InputError(f"{path}: track {bad.iloc[0].track_id}: part {bad.iloc[0].part!r} is not one of {list(PARTS)}")
    _check_duplicates(df, str(path))
    return df[["track_id", "part"]]


def _check_duplicates(partition: pd.DataFrame, source: str) -> None:
    dup = partition[partition["track_id"].duplicated(keep=False)]
    if len(dup):
        where = dup.groupby("track_id")["part"].apply(lambda s: "/".join(s)).head(10).to_dict()
        raise InputError(f"{source}: track id(s) in more than one part (or listed twice): {where}")


def _check_ids(partition: pd.DataFrame, metadata: pd.DataFrame, source: str) -> None:
    _check_duplicates(partition, source)
    unknown = sorted(set(partition["track_id"]) - set(metadata["track_id"]))
    if unknown:
        raise InputError(f"{source}: track id(s) not in the dataset: {unknown[:10]}" + (" ..." if len(unknown) > 10 else ""))


def target_shares(method: str, proportions: Mapping[str, float] | None = None, k: int = _STRATIFIED_CV["k"]) -> dict[str, float] | None:
    """Target share of each part for a method: the proportions, or (k-2)/k, 1/k, 1/k for CV; None for published."""
    if method.endswith("_cv"):
        return {"train": (k - 2) / k, "valid": 1 / k, "test": 1 / k}
    if method == "published":
        return None
    return dict(zip(PARTS, _shares(proportions)))


def check_partition(
    partition: pd.DataFrame,
    metadata: pd.DataFrame,
    artist_filtered: bool = False,
    proportions: Mapping[str, float] | None = None,
    source: str = "partition",
    tolerance: float = PROPORTION_TOLERANCE,
    shared_credits: str = "error",
) -> list[str]:
    """Check a partition against the dataset; raise on errors, warn on far-off proportions.

    Parameters
    ----------
    partition : DataFrame
        track_id, part.
    metadata : DataFrame
        The dataset (track_id, genre, artist).
    artist_filtered : bool
        Also require that no artist is in two parts (an artist is in every excerpt whose credit names it:
        :func:`artists_in_several_parts`).
    proportions : mapping part -> share, optional
        Targets for the proportion warning; None: the partition's own overall proportions.
    source : str
        Name of the partition (its file) for messages.
    tolerance : float
        Largest allowed deviation of a genre's share of a part from target (0.10 = 10 points).
    shared_credits : {"error", "warn"}
        An artist in two parts only through a credit naming several artists (its own credit's excerpts in one
        part): an error (a partition made here), or a warning (given lists, which only say where it leaks).

    Returns
    -------
    list of str
        The proportion warnings (also issued as :class:`PartitionWarning`).

    Raises
    ------
    InputError
        An id in two parts, an id not in the dataset, a genre with no excerpt in a part, an
        artist in two parts (``artist_filtered``); the message names the offending ids.
    """
    _check_ids(partition, metadata, source)
    bad = partition[~partition["part"].isin(PARTS)]
    if len(bad):
        raise InputError(f"{source}: track {bad.iloc[0].track_id}: part {bad.iloc[0].part!r} is not one of {list(PARTS)}")
    joined = partition.merge(metadata[["track_id", "genre", "artist"]], on="track_id", how="left")
    counts = pd.crosstab(joined["genre"], joined["part"]).reindex(
        index=_genre_order(metadata), columns=list(PARTS), fill_value=0
    )
    empty = [(g, p) for g in counts.index for p in PARTS if counts.loc[g, p] == 0]
    if empty:
        causes = []  # what the genre had to split: the excerpts left (faults removed), and their artists
        for g in dict.fromkeys(g for g, _ in empty):
            kept, total = int(counts.loc[g].sum()), int((metadata["genre"] == g).sum())
            artists = joined.loc[joined["genre"] == g, "artist"].nunique()
            causes.append(f"{g}: {kept} of its {total} excerpts in the partition"
                          + (f" ({total - kept} removed as faults or left out)" if kept < total else "")
                          + (f", by {artists} artist(s)" if artist_filtered else ""))
        if "absent_listed" in partition.attrs:
            # published lists: their parts are given, so what is missing is excerpts the lists name, not a split
            absent = partition.attrs["absent_listed"]
            # an absent id's genre is its GTZAN-style prefix: one naming no genre of the dataset may be any genre's
            unknown = ~absent["genre"].isin(set(metadata["genre"])) if len(absent) else pd.Series(dtype=bool)
            lacking = [(g, p) for g, p in empty
                       if len(absent) and (((absent["genre"] == g) | unknown) & (absent["part"] == p)).any()]
            if lacking:
                need = ("the lists name none of its excerpts present in that part: the dataset lacks those they name "
                        "(a partial copy with on_missing: drop, or bad audio skipped); run on more of the dataset, "
                        "or set this condition to null")
            else:
                need = ("the lists put none of its excerpts in that part (the dataset lacks none they name): give "
                        "each genre excerpts in train, valid and test")
        else:
            need = ("each genre needs at least 3 excerpts and, for an artist-filtered split, 3 artists" if artist_filtered
                    else "each genre needs at least 3 excerpts")
        raise InputError(f"{source}: genre(s) with no excerpt in a part: "
                         + ", ".join(f"{g} in {p}" for g, p in empty)
                         + f" ({'; '.join(causes)}; {need})")
    if artist_filtered:
        crossing = artists_in_several_parts(partition, metadata)
        # an artist whose own excerpts lie in two parts is an error; one in two parts only through a credit naming
        # several artists (the study's own fault-filtered lists test "Lauryn Hill and Bob Marley", reggae.00087,
        # beside 29 Bob Marley excerpts in train) is said where the lists are given, not made here
        errors = {a: where for a, where in crossing.items() if shared_credits == "error" or where["own"]}
        if errors:
            detail = {a: errors[a]["parts"] for a in list(errors)[:5]}
            raise InputError(f"{source}: artist(s) in more than one part: {list(errors)[:10]}; e.g. {detail}")
        for artist, where in crossing.items():
            warnings.warn(f"{source}: artist {artist!r} is in more than one part through a credit naming several "
                          f"artists: {where['parts']}", PartitionWarning, stacklevel=2)
    if proportions is None:
        target = counts.sum(axis=0) / counts.to_numpy().sum()
    else:
        target = pd.Series(dict(zip(PARTS, _shares(proportions))))
    achieved = counts.div(counts.sum(axis=1), axis=0)
    messages = []
    for genre in achieved.index:
        for part in PARTS:
            deviation = achieved.loc[genre, part] - target[part]
            if abs(deviation) > tolerance:
                messages.append(
                    f"{source}: genre {genre}: {part} holds {achieved.loc[genre, part]:.0%} of its excerpts, "
                    f"target {target[part]:.0%} ({deviation * 100:+.0f} points)"
                )
    for message in messages:
        warnings.warn(message, PartitionWarning, stacklevel=2)
    return messages


def artists_in_several_parts(partition: pd.DataFrame, metadata: pd.DataFrame) -> dict[str, dict]:
    """The artists named by excerpts of more than one part.

    An excerpt counts for every artist its credit names (:func:`mgrfaults.data.artists.excerpt_credits`: ``Lauryn Hill and Bob Marley`` for
    Bob Marley and for Lauryn Hill).

    Parameters
    ----------
    partition : DataFrame
        track_id, part.
    metadata : DataFrame
        The whole dataset (track_id, artist).

    Returns
    -------
    dict
        artist -> ``{"parts": {part: [track id, or "track id (credit)" where the credit is not the artist's
        own]}, "own": whether the artist's own excerpts (credited to it alone) lie in more than one part}``,
        in artist order.
    """
    named = partition[["track_id", "part"]].merge(metadata[["track_id", "artist"]], on="track_id", how="left")
    named["named"] = excerpt_credits(metadata).loc[named["track_id"]].to_numpy()
    named = named.explode("named")
    named["own"] = named["artist"].map(artist_key) == named["named"].map(artist_key)
    n_parts = named.groupby("named")["part"].nunique()
    crossing = {}
    for artist in sorted(n_parts[n_parts > 1].index):
        rows = named[named["named"] == artist]
        label = rows["track_id"].where(rows["own"], rows["track_id"] + " (" + rows["artist"] + ")")
        crossing[artist] = {
            "parts": {part: sorted(label[rows["part"] == part]) for part in PARTS if (rows["part"] == part).any()},
            "own": bool(rows.loc[rows["own"], "part"].nunique() > 1),
        }
    return crossing


def summary_table(partition: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """Counts per genre x part, artists per part and removed faults, for the report.

    Parameters
    ----------
    partition : DataFrame
        track_id, part (removed excerpts absent).
    metadata : DataFrame
        The whole dataset (track_id, genre, artist, fault).

    Returns
    -------
    DataFrame
        One row per genre plus a last row ``all``. Columns: genre; train, valid, test (excerpts);
        removed (excerpts absent from the partition); train_share, valid_share, test_share
        (achieved proportions of the genre's kept excerpts); train_artists, valid_artists,
        test_artists (distinct artists; on the ``all`` row, over all genres); removed_<fault>
        (removed excerpts by fault) for each fault of :data:`mgrfaults.data.metadata.FAULTS` but ``none``.
    """
    joined = metadata[["track_id", "genre", "artist", "fault"]].merge(partition, on="track_id", how="left")
    joined["part"] = joined["part"].fillna("removed")
    genres = _genre_order(metadata)
    rows = []
    for genre, sub in [(g, joined[joined["genre"] == g]) for g in genres] + [("all", joined)]:
        row = {"genre": genre}
        for part in PARTS + ("removed",):
            row[part] = int((sub["part"] == part).sum())
        kept = sum(row[p] for p in PARTS)
        for part in PARTS:
            row[f"{part}_share"] = round(row[part] / kept, 4) if kept else 0.0
        for part in PARTS:
            row[f"{part}_artists"] = int(sub.loc[sub["part"] == part, "artist"].nunique())
        rows.append(row)
    table = pd.DataFrame(rows)
    # a fixed set of columns, whatever the condition removed, so tables of conditions line up
    for fault in [f for f in FAULTS if f != "none"]:
        per_genre = joined[(joined["part"] == "removed") & (joined["fault"] == fault)].groupby("genre").size()
        table[f"removed_{fault}"] = [int(per_genre.get(g, 0)) for g in genres] + [int(per_genre.sum())]
    return table


# ---------------------------------------------------------------------------------------------
# one condition


def make_partitions(
    metadata: pd.DataFrame,
    condition: Mapping,
    seed: int,
    lists: Mapping[str, Sequence[str]] | None = None,
    skipped: Sequence[str] = (),
    name: str = "condition",
    list_files: Mapping[str, str] | None = None,
) -> list[pd.DataFrame]:
    """All folds of one configured condition.

    Parameters
    ----------
    metadata : DataFrame
        The dataset (:func:`mgrfaults.data.metadata.read_metadata`).
    condition : mapping
        ``config["partitions"]["conditions"][name]``: method plus its options (proportions, k,
        remove_faults, solver, time_limit; for ``published`` the lists are passed as ``lists``).
    seed : int
        The condition's seed (derived from the master seed).
    lists : mapping part -> track ids, optional
        The published lists (method ``published`` only).
    skipped : sequence of str
        Track ids skipped as bad audio (see :func:`published_split`).
    name : str
        The condition's name, for messages (``partitions.conditions.<name>``).
    list_files : mapping part -> path, optional
        The published list files, for messages.

    Returns
    -------
    list of DataFrame
        One partition (track_id, part) per fold.
    """
    key = f"partitions.conditions.{name}"
    method = condition["method"]
    if method not in METHODS:
        raise InputError(f"{key}.method: unknown partition method {method!r}")
    condition = complete_condition(condition)  # the options not given: the schema's defaults
    if method in ("stratified", "stratified_cv"):
        kept, _ = remove_faults(metadata, condition["remove_faults"])
        if method == "stratified":
            return [stratified_split(kept, condition["proportions"], seed)]
        check_k_against_genres(metadata, kept, int(condition["k"]), f"{key}.k")
        return stratified_cv(kept, int(condition["k"]), seed)
    if method == "artist_filtered":
        return [artist_filtered_split(metadata, condition["proportions"], condition["remove_faults"], seed,
                                      condition["solver"], float(condition["time_limit"]))]
    if method == "artist_filtered_cv":
        k, faults = int(condition["k"]), condition["remove_faults"]
        check_k_against_genres(metadata, remove_faults(metadata, faults)[0], k, f"{key}.k", by_artist=True)
        return artist_filtered_cv(metadata, k, faults, seed, condition["solver"], float(condition["time_limit"]))
    if lists is None:
        raise InputError(f"{key}: published condition: no partition lists given")
    return [published_split(metadata, lists, key, skipped, condition["on_missing"], list_files)]


def fault_source(metadata: pd.DataFrame, condition: Mapping, detected: pd.DataFrame | None, name: str = "condition") -> pd.DataFrame:
    """The metadata whose faults the condition removes: annotated, detected, or both (``condition["faults"]``).

    ``condition``: completed (:func:`mgrfaults.config.complete_condition`, as :func:`run_condition` does).
    ``detected`` is :func:`mgrfaults.faults.groups.read_detected` output (needed unless
    ``annotated``); see :func:`mgrfaults.faults.groups.apply_detected` for how each mode merges.
    """
    from mgrfaults.faults.groups import apply_detected

    mode = str(condition["faults"])
    if mode == "annotated":
        removed = set(condition.get("remove_faults") or ())
        if removed and condition["method"] != "published" and not metadata["fault"].isin(removed).any():
            # an annotations file with artists but no fault column: the filter would look applied and not be
            warnings.warn(PartitionWarning(
                f"partitions.conditions.{name}: remove_faults names {sorted(removed)}, but no excerpt is annotated "
                "with any of them, so none is removed. faults: detected (or both) removes the replicas and "
                "distortions detected from the audio (<results>/faults/detected.csv); mislabels come from annotations "
                "alone"), stacklevel=2)
        return metadata
    if condition["method"] == "published":
        raise InputError(f"partitions.conditions.{name}.faults: {mode!r} has no effect on a published condition (its lists decide)")
    if detected is None:
        raise InputError(f"partitions.conditions.{name}.faults: {mode!r} needs the detected faults (<results>/faults/detected.csv)")
    removes_mislabels = "mislabel" in (condition.get("remove_faults") or ())
    if mode == "both" and removes_mislabels and not (metadata["fault"] == "mislabel").any():
        # the detectors find no mislabel: under both they come from the annotations, which mark none here
        warnings.warn(PartitionWarning(
            f"partitions.conditions.{name}: remove_faults names mislabel, but no excerpt is annotated mislabel, and the "
            "audio shows none (faults: both takes mislabels from the annotations alone), so none is removed; mark "
            "them in the annotations' fault column, or leave mislabel out"), stacklevel=2)
    return apply_detected(metadata, detected, mode, source=f"detected faults for {name}")


def is_artist_filtered(condition: Mapping) -> bool:
    """Whether the artist check applies: artist_filtered methods, or published with ``check_artists``."""
    return str(condition["method"]).startswith("artist_filtered") or bool(condition.get("check_artists"))


def run_condition(
    metadata: pd.DataFrame,
    condition: Mapping,
    seed: int,
    lists: Mapping[str, Sequence[str]] | None = None,
    name: str = "condition",
    skipped: Sequence[str] = (),
    list_files: Mapping[str, str] | None = None,
    detected: pd.DataFrame | None = None,
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Make, check and summarise every fold of one condition (what the workflow writes).

    ``detected``: the detected faults, used when the condition's ``faults`` is ``detected`` or
    ``both`` (:func:`fault_source`); the summaries then count the faults so chosen. ``list_files`` (part -> file of
    a ``published`` condition, named in messages): where the files exist, a line whose genre folder is not its
    excerpt's genre is refused (:func:`mgrfaults.data.annotations.check_list_genres`).

    Returns
    -------
    list of (partition, summary)
        One pair per fold; see :func:`make_partitions`, :func:`check_partition` (errors raise,
        proportion warnings are issued and logged) and :func:`summary_table`.
    """
    condition = complete_condition(condition)  # the options not given: the schema's defaults
    if list_files and all(Path(p).is_file() for p in list_files.values()):
        # a list line whose genre folder is not its excerpt's genre: lists of another copy or labelling (the
        # workflow's script reads the lists without the genres; the check is here, where its edit reruns nothing)
        from mgrfaults.data.annotations import read_list_files

        read_list_files(dict(list_files), known_ids=metadata["track_id"],
                        genres=dict(zip(metadata["track_id"], metadata["genre"])))
    metadata = fault_source(metadata, condition, detected, name)
    method = str(condition["method"])
    target = target_shares(method, condition.get("proportions"), condition.get("k"))
    out = []
    for fold, partition in enumerate(make_partitions(metadata, condition, seed, lists, skipped, name, list_files)):
        source = f"partitions.conditions.{name} fold {fold}"
        check_partition(partition, metadata, is_artist_filtered(condition), target, source,
                        shared_credits="warn" if method == "published" else "error")
        out.append((partition, with_absent_listed(summary_table(partition, metadata), partition.attrs.get("absent_listed"))))
    return out
