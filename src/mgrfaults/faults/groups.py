"""Replica groups and the detected-faults table; merging detected faults into the metadata.

The metadata marks only the *copies* of a replica group (``fault = exact_replica`` or
``recording_replica``, ``replica_of`` = the member kept); the member kept has ``fault = none``,
and a partition that removes replica faults keeps exactly it
(:func:`mgrfaults.partitions.split.remove_faults`). Detection follows the same rule: each group
of excerpts linked by replica matches (connected components of the match graph) keeps one member,
chosen by :func:`keep_order`: an excerpt the annotations name as an original first, then one not
distorted, then the first track id; every other member becomes a copy of it.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mgrfaults.errors import InputError
from mgrfaults.faults import DETECTED_COLUMNS, DETECTED_FAULTS

REPLICA_FAULTS = ("exact_replica", "recording_replica")


def replica_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes linked by the undirected edges (a[i], b[i]).

    Returns
    -------
    ndarray of int, shape (n,)
        Nodes with the same label are in one group; a node without edges is a group of its own.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def keep_order(track_ids, distorted, originals=()) -> np.ndarray:
    """Preference rank of each excerpt as the member kept of its group (0 = kept first).

    Annotated originals (excerpts other excerpts name in ``replica_of`` while their own fault is
    none) first, then excerpts not distorted, then by track id.
    """
    track_ids = np.asarray(track_ids, dtype=object)
    originals = set(originals)
    table = pd.DataFrame({
        "original": [0 if t in originals else 1 for t in track_ids],
        "distorted": np.asarray(distorted, dtype=int),
        "track_id": track_ids,
    })
    order = table.sort_values(["original", "distorted", "track_id"], kind="stable").index.to_numpy()
    rank = np.empty(len(track_ids), dtype=np.int64)
    rank[order] = np.arange(len(track_ids))
    return rank


def _path_offsets(root: int, members: list[int], edges: dict) -> dict[int, tuple[float, float]]:
    """(offset_s, score) of each member relative to ``root`` along the match graph (BFS).

    ``edges[(i, j)] = (offset_s, score)``: j starts offset_s seconds into i. Along a path the
    offsets add up and the score is the weakest link's.
    """
    neighbours: dict[int, list[int]] = {m: [] for m in members}
    for (i, j) in edges:
        if i in neighbours and j in neighbours:
            neighbours[i].append(j)
    out = {root: (0.0, 1.0)}
    queue = deque([root])
    while queue:
        i = queue.popleft()
        for j in sorted(neighbours[i]):
            if j not in out:
                offset, score = edges[(i, j)]
                out[j] = (out[i][0] + offset, min(out[i][1], score))
                queue.append(j)
    return out


def detected_table(track_ids, pcm_hashes, clip_fractions, recording_pairs: pd.DataFrame,
                   clip_threshold: float, originals=()) -> pd.DataFrame:
    """The detected faults of every excerpt, one member of each replica group kept.

    Parameters
    ----------
    track_ids : sequence of str, shape (n,)
    pcm_hashes : sequence of str, shape (n,)
        :func:`mgrfaults.faults.exact.pcm_hash` of each excerpt: equal hashes are exact replicas.
    clip_fractions : sequence of float, shape (n,)
        :func:`mgrfaults.faults.distortion.clip_fraction` of each excerpt.
    recording_pairs : DataFrame
        a, b (indices into ``track_ids``), score, offset_s (b starts offset_s seconds into a):
        the landmark matches (:func:`mgrfaults.faults.landmarks.match_landmarks`).
    clip_threshold : float
        Clip fraction from which an excerpt is distorted.
    originals : collection of str
        Excerpts to keep first in their group (annotated originals, for ``faults: both``).

    Returns
    -------
    DataFrame
        :data:`mgrfaults.faults.DETECTED_COLUMNS`, one row per excerpt sorted by track id. fault:
        ``exact_replica`` (same samples as the member kept), ``recording_replica`` (same recording,
        other samples), ``distortion`` (not a copy, clip fraction at or above the threshold) or
        empty; replica_of: the member kept; score: the match score (1 for exact copies) or the
        clip fraction for distortions; offset_s: seconds into replica_of at which the excerpt starts.
    """
    track_ids = np.asarray(track_ids, dtype=object)
    n = len(track_ids)
    hashes = np.asarray(pcm_hashes, dtype=object)
    clip = np.asarray(clip_fractions, dtype=float)
    if not (len(hashes) == len(clip) == n):
        raise InputError(f"detected_table: {n} track ids, {len(hashes)} hashes, {len(clip)} clip fractions")
    distorted = clip >= clip_threshold
    edges: dict[tuple[int, int], tuple[float, float]] = {}
    # exact replicas: every member of a hash class linked to its first member
    _, exact_class = np.unique(hashes, return_inverse=True)
    first_of_class: dict[int, int] = {}
    for i, c in enumerate(exact_class):
        if c in first_of_class:
            j = first_of_class[c]
            edges[(j, i)] = edges[(i, j)] = (0.0, 1.0)
        else:
            first_of_class[c] = i
    for row in recording_pairs.itertuples(index=False):
        a, b = int(row.a), int(row.b)
        if (a, b) not in edges:
            edges[(a, b)] = (float(row.offset_s), float(row.score))
            edges[(b, a)] = (-float(row.offset_s), float(row.score))
    pairs = np.array(list(edges), dtype=np.int64).reshape(-1, 2)
    labels = replica_components(n, pairs[:, 0], pairs[:, 1])
    rank = keep_order(track_ids, distorted, originals)
    fault = np.where(distorted, "distortion", "").astype(object)
    replica_of = np.full(n, "", dtype=object)
    score = np.where(distorted, clip, np.nan)
    offset = np.full(n, np.nan)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        kept = int(members[np.argmin(rank[members])])
        relative = _path_offsets(kept, [int(m) for m in members], edges)
        for m in members:
            if m == kept:
                continue
            exact = exact_class[m] == exact_class[kept]
            fault[m] = "exact_replica" if exact else "recording_replica"
            replica_of[m] = track_ids[kept]
            offset[m], score[m] = (0.0, 1.0) if exact else relative[int(m)]
    table = pd.DataFrame({"track_id": track_ids, "fault": fault, "replica_of": replica_of, "score": score,
                          "offset_s": offset, "clip_fraction": clip})
    return table[list(DETECTED_COLUMNS)].sort_values("track_id", kind="stable").reset_index(drop=True)


def read_detected(path) -> pd.DataFrame:
    """Read ``results/faults/detected.csv``, checking its columns and faults (InputError naming the file)."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: detected faults table not found")
    df = pd.read_csv(path, dtype={"track_id": str, "fault": str, "replica_of": str}, keep_default_na=False)
    missing = [c for c in DETECTED_COLUMNS[:5] if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; a detected table needs {list(DETECTED_COLUMNS[:5])}")
    bad = df[~df["fault"].isin(("",) + DETECTED_FAULTS)]
    if len(bad):
        raise InputError(f"{path}: track {bad.iloc[0].track_id}: unknown fault {bad.iloc[0].fault!r}")
    return df


def apply_detected(metadata: pd.DataFrame, detected: pd.DataFrame, mode: str, source: str = "detected") -> pd.DataFrame:
    """The metadata with its fault and replica_of taken from detection (``detected``) or from both.

    Parameters
    ----------
    metadata : DataFrame
        The dataset (:func:`mgrfaults.data.metadata.read_metadata`).
    detected : DataFrame
        :func:`detected_table` output (:func:`read_detected`), one row per excerpt of ``metadata``.
    mode : {"annotated", "detected", "both"}
        ``annotated``: the metadata unchanged. ``detected``: fault and replica_of from detection
        only (annotated mislabels, which audio cannot show, are dropped). ``both``: an excerpt is
        faulty when either says so; replica groups are the union of annotated and detected links,
        each keeping one member (the annotated original when there is one, see :func:`keep_order`).
    source : str
        Name of the detected table for messages.

    Raises
    ------
    InputError
        An unknown mode, or a metadata excerpt missing from the detected table.
    """
    if mode == "annotated":
        return metadata
    if mode not in ("detected", "both"):
        raise InputError(f"faults: unknown mode {mode!r}; one of ['annotated', 'detected', 'both']")
    det = detected.set_index("track_id")
    missing = sorted(set(metadata["track_id"]) - set(det.index))
    if missing:
        raise InputError(f"{source}: no detection for track(s) {missing[:10]} of the metadata (stale detected.csv?)")
    det = det.loc[metadata["track_id"]]
    out = metadata.copy()
    if mode == "detected":
        out["fault"] = [f if f else "none" for f in det["fault"]]
        out["replica_of"] = det["replica_of"].to_numpy()
        return out
    # both: union of the replica links, regrouped
    ids = out["track_id"].to_numpy(dtype=object)
    index = {t: i for i, t in enumerate(ids)}
    links = [(index[t], index[r]) for t, r in zip(ids, out["replica_of"]) if r]
    links += [(index[t], index[r]) for t, r in zip(ids, det["replica_of"]) if r]
    kinds = {}
    for t, f, r in zip(ids, out["fault"], out["replica_of"]):
        if r:
            kinds[index[t]] = f
    for t, f, r in zip(ids, det["fault"], det["replica_of"]):
        if r and index[t] not in kinds:
            kinds[index[t]] = f
    links_arr = np.array(links, dtype=np.int64).reshape(-1, 2)
    labels = replica_components(len(ids), links_arr[:, 0], links_arr[:, 1])
    distorted = (out["fault"].to_numpy() == "distortion") | (det["fault"].to_numpy() == "distortion")
    originals = set(out.loc[out["fault"] == "none", "track_id"]) & set(out["replica_of"])
    rank = keep_order(ids, distorted, originals)
    fault = np.where(out["fault"].isin(REPLICA_FAULTS), "none", out["fault"]).astype(object)
    fault[(fault == "none") & distorted] = "distortion"
    replica_of = np.full(len(ids), "", dtype=object)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        kept = members[np.argmin(rank[members])]
        for m in members:
            if m != kept:
                # the kind of the member's own link; a member linked only as someone's original: recording
                fault[m] = kinds.get(int(m), "recording_replica")
                replica_of[m] = ids[kept]
    out["fault"] = fault
    out["replica_of"] = replica_of
    return out
