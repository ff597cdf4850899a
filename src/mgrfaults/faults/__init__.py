"""Fault detection from the audio: exact replicas, recording replicas, distortions.

Pure detectors on arrays (:mod:`.exact`, :mod:`.landmarks`, :mod:`.distortion`), the replica
grouping and the detected table (:mod:`.groups`), the evaluation against annotated faults
(:mod:`.evaluation`), and a thin I/O layer that decodes excerpts and writes descriptor shards (:mod:`.shards`).
"""

DETECTED_FAULTS = ("exact_replica", "recording_replica", "distortion")
DETECTED_COLUMNS = ("track_id", "fault", "replica_of", "score", "offset_s", "clip_fraction")
