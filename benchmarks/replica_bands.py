"""The fine stage's two measures for every landmark candidate of a run: to calibrate or check the replica thresholds.

    python benchmarks/replica_bands.py results [--top 20]

Reads ``<results>/faults/descriptors/shard_*.npz`` (a run's fault descriptors), finds the landmark candidates as
the detection does (:func:`mgrfaults.faults.landmarks.match_landmarks` with the schema's ``min_matches``), and for
each candidate pair prints the pooled log-mel correlation at its best candidate offset
(:func:`~mgrfaults.faults.landmarks.aligned_correlation`) and, at that offset, the correlation of its least agreeing
quarter of mel bands (:func:`~mgrfaults.faults.landmarks.band_agreement`), best pooled first, with whether the
dataset's metadata annotates the pair as replicas of one group; then the same two measures at the best-correlating
offset of all (``*_any``: over every offset with enough overlap, where the detection searches when no candidate
offset confirms a pair, :func:`~mgrfaults.faults.landmarks.correlation_at_every_offset`). Then the lowest band
agreement among annotated replica pairs and the highest among the others, and the highest pooled correlation at any
offset among the others: ``faults.min_band_correlation`` belongs between the first two, and ``min_correlation`` above
the third.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from mgrfaults.config import section_defaults
from mgrfaults.evaluation.attribution import replica_groups
from mgrfaults.faults.landmarks import (DEFAULT_MATCH_PARAMS, DEFAULT_VERIFY_PARAMS, aligned_correlation,
                                        band_agreement, best_offsets, correlation_at_every_offset, floor_at_median,
                                        match_landmarks, search_overlap)
from mgrfaults.faults.shards import read_run_shards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a run's results folder")
    parser.add_argument("--top", type=int, default=20, help="candidate pairs printed, best pooled first")
    args = parser.parse_args()
    descriptors = read_run_shards(args.results)
    match = {**DEFAULT_MATCH_PARAMS, "min_matches": section_defaults("faults")["min_matches"]}
    match = {k: v for k, v in match.items() if k not in DEFAULT_VERIFY_PARAMS}
    _, first = np.unique(descriptors["pcm_hashes"], return_index=True)  # one excerpt per distinct PCM, as detect
    first = np.sort(first)
    ids = descriptors["track_ids"][first]
    candidates = match_landmarks([descriptors["hashes"][i] for i in first],
                                 [descriptors["times"][i] for i in first], **match)
    mels = [floor_at_median(descriptors["mels"][i]) for i in first]
    metadata = pd.read_csv(args.results / "dataset" / "metadata.csv", dtype=str, keep_default_na=False)
    group = replica_groups(metadata.set_index("track_id")["replica_of"]).to_dict()
    rows = []
    for (a, b), offsets in candidates.groupby(["a", "b"]):
        pooled, offset = max((aligned_correlation(mels[a], mels[b], int(o) + d), int(o) + d)
                             for o in offsets["offset_frames"] for d in (-1, 0, 1))
        every_offset = best_offsets(*correlation_at_every_offset(mels[a], mels[b], search_overlap(mels[a], mels[b])), 1)
        best = int(every_offset[0]) if len(every_offset) else offset
        rows.append({"track_a": ids[a], "track_b": ids[b], "pooled": pooled,
                     "bands_q25": band_agreement(mels[a], mels[b], offset),
                     "pooled_any": aligned_correlation(mels[a], mels[b], best),
                     "bands_q25_any": band_agreement(mels[a], mels[b], best),
                     "annotated": group.get(ids[a], ids[a]) == group.get(ids[b], ids[b])})
    table = pd.DataFrame(rows).sort_values("pooled", ascending=False)
    print(f"{len(table)} candidate pairs in {args.results}")
    print(table.head(args.top).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for annotated, name, pick in ((True, "annotated replica pairs", "min"), (False, "other pairs", "max")):
        part = table[table["annotated"] == annotated]["bands_q25"]
        print(f"{name}: {len(part)}, band agreement {pick} {getattr(part, pick)():.3f}" if len(part) else f"{name}: 0")
    others = table[~table["annotated"]]["pooled_any"]
    if len(others):
        print(f"other pairs: pooled correlation at any offset max {others.max():.3f}")


if __name__ == "__main__":
    main()
