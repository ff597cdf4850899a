"""Detected faults against annotated ones: precision and recall per kind, confusion, counts, pairs.

Replicas are compared as *pairs of excerpts in one replica group*, not as the excerpts removed:
which member of a group is kept is a convention (the annotations keep the original, detection
cannot know which one that is), whereas "these two excerpts are the same recording" is what a
detector finds. A pair is an exact replica when its two members are linked through exact-replica
links only (the same samples), else a recording replica. Distortions are compared per excerpt,
by the detector's clip measure, whether or not the excerpt is also a removed copy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgrfaults.faults.groups import REPLICA_FAULTS, replica_components

EVALUATED_KINDS = ("exact_replica", "recording_replica", "replica", "distortion")


def replica_pairs(track_ids, faults, replica_of) -> pd.DataFrame:
    """Every pair of excerpts in one replica group (the transitive closure of the replica links).

    Parameters
    ----------
    track_ids, faults, replica_of : sequences of str, shape (n,)
        A metadata or detected table's columns; links are rows whose fault is a replica kind.

    Returns
    -------
    DataFrame
        a, b (track ids, a < b), kind (exact_replica when a and b are linked by exact links
        alone, else recording_replica); sorted.
    """
    ids = np.asarray(track_ids, dtype=object)
    index = {t: i for i, t in enumerate(ids)}
    links, exact_links = [], []
    for t, f, r in zip(ids, faults, replica_of):
        if f in REPLICA_FAULTS and r:
            links.append((index[t], index[r]))
            if f == "exact_replica":
                exact_links.append((index[t], index[r]))
    links_arr = np.array(links, dtype=np.int64).reshape(-1, 2)
    exact_arr = np.array(exact_links, dtype=np.int64).reshape(-1, 2)
    group = replica_components(len(ids), links_arr[:, 0], links_arr[:, 1])
    exact_group = replica_components(len(ids), exact_arr[:, 0], exact_arr[:, 1])
    rows = []
    for label in np.unique(group[links_arr.ravel()]) if len(links_arr) else []:
        members = sorted(np.flatnonzero(group == label), key=lambda i: ids[i])
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                kind = "exact_replica" if exact_group[i] == exact_group[j] else "recording_replica"
                rows.append((ids[i], ids[j], kind))
    return pd.DataFrame(rows, columns=["a", "b", "kind"]).sort_values(["a", "b"]).reset_index(drop=True)


def _scores(annotated: set, detected: set) -> dict:
    tp = len(annotated & detected)
    return {
        "annotated": len(annotated),
        "detected": len(detected),
        "true_positives": tp,
        "precision": tp / len(detected) if detected else np.nan,
        "recall": tp / len(annotated) if annotated else np.nan,
    }


def evaluate_detection(metadata: pd.DataFrame, detected: pd.DataFrame, clip_threshold: float) -> pd.DataFrame:
    """Precision and recall of each kind of detected fault against the metadata's annotations.

    Parameters
    ----------
    metadata : DataFrame
        track_id, fault, replica_of (annotated).
    detected : DataFrame
        :func:`mgrfaults.faults.groups.detected_table` output.
    clip_threshold : float
        The distortion threshold used (distortion is judged on ``clip_fraction >= clip_threshold``).

    Returns
    -------
    DataFrame
        One row per kind of :data:`EVALUATED_KINDS` (``replica``: both replica kinds, pairs
        regardless of kind): kind, unit (pairs or excerpts), annotated, detected, true_positives,
        precision, recall (NaN where there is nothing to divide by: no annotation of that kind
        means recall is unknown, not perfect). A metadata table without any annotated fault (a
        folder without annotations) gives NaN precision too: its detections cannot be judged.
    """
    ann = replica_pairs(metadata["track_id"], metadata["fault"], metadata["replica_of"])
    det = replica_pairs(detected["track_id"], detected["fault"], detected["replica_of"])
    rows = []
    for kind in ("exact_replica", "recording_replica"):
        a = set(map(tuple, ann.loc[ann["kind"] == kind, ["a", "b"]].to_numpy()))
        d = set(map(tuple, det.loc[det["kind"] == kind, ["a", "b"]].to_numpy()))
        rows.append({"kind": kind, "unit": "pairs", **_scores(a, d)})
    rows.append({"kind": "replica", "unit": "pairs", **_scores(set(map(tuple, ann[["a", "b"]].to_numpy())),
                                                                set(map(tuple, det[["a", "b"]].to_numpy())))})
    annotated_distorted = set(metadata.loc[metadata["fault"] == "distortion", "track_id"])
    detected_distorted = set(detected.loc[detected["clip_fraction"] >= clip_threshold, "track_id"])
    rows.append({"kind": "distortion", "unit": "excerpts", **_scores(annotated_distorted, detected_distorted)})
    table = pd.DataFrame(rows)
    if not (metadata["fault"] != "none").any():
        table["precision"] = np.nan
    return table


def confusion_table(metadata: pd.DataFrame, detected: pd.DataFrame) -> pd.DataFrame:
    """Excerpts by annotated fault (rows) and detected fault (columns, ``none`` for clean)."""
    joined = metadata[["track_id", "fault"]].merge(detected[["track_id", "fault"]], on="track_id",
                                                    suffixes=("_annotated", "_detected"))
    joined["fault_detected"] = joined["fault_detected"].replace("", "none")
    table = pd.crosstab(joined["fault_annotated"], joined["fault_detected"])
    table.index.name = "annotated \\ detected"
    return table.reset_index()


def counts_per_genre(metadata: pd.DataFrame, detected: pd.DataFrame) -> pd.DataFrame:
    """Detected faults per genre and kind (plus ``all``), beside the annotated ones."""
    joined = metadata[["track_id", "genre", "fault"]].merge(detected[["track_id", "fault"]], on="track_id",
                                                             suffixes=("_annotated", "_detected"))
    rows = []
    genres = sorted(set(joined["genre"]))
    for genre, sub in [(g, joined[joined["genre"] == g]) for g in genres] + [("all", joined)]:
        row = {"genre": genre, "excerpts": len(sub)}
        for kind in ("exact_replica", "recording_replica", "distortion"):
            row[f"detected_{kind}"] = int((sub["fault_detected"] == kind).sum())
            row[f"annotated_{kind}"] = int((sub["fault_annotated"] == kind).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def replica_pair_list(metadata: pd.DataFrame, detected: pd.DataFrame) -> pd.DataFrame:
    """The detected replica links (track, replica_of, kind, score, offset_s) with both genres and whether annotated."""
    ann = replica_pairs(metadata["track_id"], metadata["fault"], metadata["replica_of"])
    annotated = set(map(tuple, ann[["a", "b"]].to_numpy()))
    genre = metadata.set_index("track_id")["genre"]
    rows = detected[detected["replica_of"] != ""].copy()
    rows["genre"] = genre.reindex(rows["track_id"]).to_numpy()
    rows["replica_of_genre"] = genre.reindex(rows["replica_of"]).to_numpy()
    rows["annotated"] = [tuple(sorted((t, r))) in annotated for t, r in zip(rows["track_id"], rows["replica_of"])]
    cols = ["track_id", "genre", "replica_of", "replica_of_genre", "fault", "score", "offset_s", "annotated"]
    return rows[cols].reset_index(drop=True)
