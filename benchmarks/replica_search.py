"""What the search over every offset changes in a run's replica detection, and what it costs.

    python benchmarks/replica_search.py results [--repeat 3]

Reads ``<results>/faults/descriptors/shard_*.npz`` (a run's fault descriptors) and runs the detection
(:func:`mgrfaults.faults.shards.detect`, the schema's thresholds) with the search of
:func:`mgrfaults.faults.landmarks.verify_pairs` over every offset and without it (the landmark offsets alone),
``--repeat`` times each, alternating; prints each wall time and then every replica pair the two find differently
(found by one only, or at another offset).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import mgrfaults.faults.landmarks as landmarks
from mgrfaults.config import section_defaults
from mgrfaults.faults.shards import detect, read_run_shards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a run's results folder")
    parser.add_argument("--repeat", type=int, default=3, help="detections timed with and without the search, each")
    args = parser.parse_args()
    descriptors = read_run_shards(args.results)
    faults = section_defaults("faults")
    params = {key: faults[key] for key in ("min_matches", "min_correlation", "min_band_correlation")}
    search = landmarks._search_every_offset
    landmarks.correlation_at_every_offset(descriptors["mels"][0], descriptors["mels"][0], 2)  # scipy's FFT loaded first
    pairs = {}
    try:
        for _ in range(args.repeat):
            for label, verify in (("with the search", search), ("landmark offsets only", lambda *a, **k: None)):
                landmarks._search_every_offset = verify
                start = time.perf_counter()
                pairs[label] = detect(descriptors, params, faults["clip_threshold"])[1]
                print(f"{label}: {time.perf_counter() - start:.2f} s", flush=True)
    finally:
        landmarks._search_every_offset = search
    print(f"{len(descriptors['track_ids'])} excerpts; replica pairs found: "
          + ", ".join(f"{label} {len(found)}" for label, found in pairs.items()))
    both = pairs["with the search"].merge(pairs["landmark offsets only"], on=["track_a", "track_b"], how="outer",
                                          suffixes=("_search", "_landmarks"), indicator=True)
    moved = both[(both["_merge"] != "both") | ((both["offset_s_search"] - both["offset_s_landmarks"]).abs() > 0.05)]
    columns = ["track_a", "track_b", "score_search", "offset_s_search", "score_landmarks", "offset_s_landmarks"]
    print("found differently:" if len(moved) else "found alike.")
    if len(moved):
        print(moved[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
