"""The I/O layer of fault detection: decode excerpts, compute their descriptors, write and read shards.

A shard (NPZ) holds, for its excerpts: ``track_ids`` (n,), ``pcm_hashes`` (n,) hex strings,
``clip_fractions`` (n,) float64, ``lengths`` (n,) int64 landmarks per excerpt, ``hashes`` and
``times`` (sum of lengths,) int64 (concatenated in track order), ``mel_lengths`` (n,) int64 and
``mels`` (n_mels, sum of mel_lengths) float16 (log-mel spectrograms side by side), ``params`` a JSON string.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mgrfaults.data.metadata import audio_trusted
from mgrfaults.errors import AudioError, InputError
from mgrfaults.io import atomic_path
from mgrfaults.faults.distortion import clip_fraction
from mgrfaults.faults.exact import pcm_hash
from mgrfaults.faults.landmarks import (DEFAULT_PEAK_PARAMS, find_peaks, landmark_hashes, log_mel,
                                        spectrogram_db)


def excerpt_descriptors(y: np.ndarray, sample_rate: int, peak_params: dict | None = None) -> dict:
    """PCM hash, clip fraction, landmarks and log-mel spectrogram of one decoded excerpt (native rate, mono)."""
    p = {**DEFAULT_PEAK_PARAMS, **(peak_params or {})}
    spec = spectrogram_db(y, sample_rate)
    peaks = find_peaks(spec, p["peaks_per_second"], p["neighbourhood_bins"], p["neighbourhood_frames"],
                       p["dynamic_range_db"])
    hashes, times = landmark_hashes(peaks, p["fan_out"], p["max_dt"], p["max_df"])
    return {"pcm_hash": pcm_hash(y, sample_rate), "clip_fraction": clip_fraction(y), "hashes": hashes,
            "times": times, "mel": log_mel(spec)}


def describe_file(path, track_id: str, max_duration: float | None, peak_params: dict, judge_content: bool = True) -> dict:
    """Decode one excerpt and compute its descriptors (:func:`excerpt_descriptors`).

    Parameters
    ----------
    path : str or Path
        The audio file.
    track_id : str
        Its id (for the message only).
    max_duration : float or None
        Seconds decoded from the start.
    peak_params : dict
        :data:`~mgrfaults.faults.landmarks.DEFAULT_PEAK_PARAMS` keys.
    judge_content : bool
        ``False`` for a file ``dataset.trust_audio`` names: taken as it decodes (:func:`mgrfaults.data.audio.decode`).

    Returns
    -------
    dict
        :func:`excerpt_descriptors` output.

    Raises
    ------
    AudioError
        Any failure, naming the file: one bad excerpt among a thousand must be findable.
    """
    from mgrfaults.data.audio import LISTED_BUT_GONE, decode, listed_file_gone

    try:
        y, sr = decode(path, max_duration, judge_content)  # the file's own rate: the exact hash must see its samples
        return excerpt_descriptors(y, sr, peak_params)
    except AudioError as e:
        if listed_file_gone(path):
            raise AudioError(path, LISTED_BUT_GONE) from e
        raise  # already names the file
    except Exception as e:
        raise AudioError(path, f"fault descriptors of track {track_id} failed: {type(e).__name__}: {e}") from e


def describe_rows(rows: pd.DataFrame, max_duration: float | None, peak_params: dict | None = None) -> dict:
    """Decode every excerpt of ``rows`` (metadata rows: track_id, path; a file marked trusted, ``dataset.trust_audio``,
    taken as it decodes) and compute its descriptors.

    Returns
    -------
    dict
        The arrays of a shard (see the module text).

    Raises
    ------
    AudioError
        An excerpt that cannot be decoded or described, naming its file (:func:`describe_file`).
    """
    params = {**DEFAULT_PEAK_PARAMS, **(peak_params or {})}
    ids, pcm, clip, hashes, times, mels = [], [], [], [], [], []
    for row, trusted in zip(rows.itertuples(index=False), audio_trusted(rows)):
        d = describe_file(row.path, row.track_id, max_duration, params, judge_content=not trusted)
        ids.append(row.track_id)
        pcm.append(d["pcm_hash"])
        clip.append(d["clip_fraction"])
        hashes.append(d["hashes"])
        times.append(d["times"])
        mels.append(d["mel"])
    return {
        "track_ids": np.array(ids, dtype=str),
        "pcm_hashes": np.array(pcm, dtype=str),
        "clip_fractions": np.array(clip, dtype=np.float64),
        "lengths": np.array([len(h) for h in hashes], dtype=np.int64),
        "hashes": np.concatenate(hashes) if hashes else np.zeros(0, np.int64),
        "times": np.concatenate(times) if times else np.zeros(0, np.int64),
        "mel_lengths": np.array([m.shape[1] for m in mels], dtype=np.int64),
        "mels": np.concatenate(mels, axis=1) if mels else np.zeros((0, 0), np.float16),
        "params": json.dumps(params, sort_keys=True),
    }


def write_shard(shard: dict, path) -> None:
    """Write a descriptor shard atomically (uncompressed NPZ: byte-identical for identical input)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in shard.items()})


def read_run_shards(results) -> dict:
    """:func:`read_shards` of a run's descriptor shards, ``<results>/faults/descriptors/shard_<n>.npz``, in shard
    order (``shard_10`` after ``shard_9``), as the detection reads them."""
    folder = Path(results) / "faults" / "descriptors"
    paths = sorted(folder.glob("shard_*.npz"), key=lambda p: int(p.stem.split("_", 1)[1]))
    if not paths:
        raise InputError(f"{folder}: no shard_<n>.npz (the run's fault descriptors: run its fault detection first)")
    return read_shards(paths)


def read_shards(paths: Sequence) -> dict:
    """Concatenate descriptor shards in the given order.

    Returns
    -------
    dict
        track_ids, pcm_hashes, clip_fractions (arrays over all excerpts), hashes, times and mels
        (lists of one array per excerpt), params (dict).

    Raises
    ------
    InputError
        A missing or unreadable shard, or shards made with different parameters (naming the file).
    """
    out = {"track_ids": [], "pcm_hashes": [], "clip_fractions": [], "hashes": [], "times": [], "mels": []}
    params = None
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: fault descriptor shard not found")
        try:
            with np.load(path, allow_pickle=False) as z:
                shard = {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: not a fault descriptor shard ({e})") from e
        shard_params = json.loads(str(shard["params"]))
        if params is not None and shard_params != params:
            raise InputError(f"{path}: made with parameters {shard_params}, other shards with {params}")
        params = shard_params
        ends = np.cumsum(shard["lengths"])
        out["hashes"] += np.split(shard["hashes"], ends[:-1]) if len(ends) else []
        out["times"] += np.split(shard["times"], ends[:-1]) if len(ends) else []
        mel_ends = np.cumsum(shard["mel_lengths"])
        out["mels"] += np.split(shard["mels"], mel_ends[:-1], axis=1) if len(mel_ends) else []
        out["track_ids"] += list(shard["track_ids"])
        out["pcm_hashes"] += list(shard["pcm_hashes"])
        out["clip_fractions"] += list(shard["clip_fractions"])
    out["params"] = params or {}
    for key in ("track_ids", "pcm_hashes", "clip_fractions"):
        out[key] = np.asarray(out[key])
    return out


def detect(descriptors: dict, match_params: dict, clip_threshold: float, originals=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detected faults from descriptors: landmark candidates, their fine check, then grouping.

    Parameters
    ----------
    descriptors : dict
        :func:`read_shards` output.
    match_params : dict
        :data:`mgrfaults.faults.landmarks.DEFAULT_MATCH_PARAMS` keys (landmark stage) and any of
        :data:`~mgrfaults.faults.landmarks.DEFAULT_VERIFY_PARAMS` (fine stage; defaults otherwise).
    clip_threshold : float
        :data:`mgrfaults.faults.distortion.CLIP_FRACTION_THRESHOLD` by default.
    originals : collection of str
        Excerpts kept first in their groups.

    Returns
    -------
    detected : DataFrame
        :func:`mgrfaults.faults.groups.detected_table`.
    pairs : DataFrame
        The landmark matches (track_a, track_b, matches, score, offset_s) among the distinct excerpts.
    """
    from mgrfaults.faults.groups import detected_table
    from mgrfaults.faults.landmarks import DEFAULT_VERIFY_PARAMS, match_landmarks, verify_pairs

    ids = descriptors["track_ids"]
    # exact copies add nothing to the landmark index: match one excerpt per distinct PCM hash
    _, first = np.unique(descriptors["pcm_hashes"], return_index=True)
    first = np.sort(first)
    verify_keys = set(DEFAULT_VERIFY_PARAMS)
    match = {k: v for k, v in match_params.items() if k not in verify_keys}
    verify = {**DEFAULT_VERIFY_PARAMS, **{k: v for k, v in match_params.items() if k in verify_keys}}
    candidates = match_landmarks([descriptors["hashes"][i] for i in first], [descriptors["times"][i] for i in first],
                                 **match)
    pairs = verify_pairs(candidates, [descriptors["mels"][i] for i in first], **verify)
    pairs["a"] = first[pairs["a"].to_numpy()] if len(pairs) else pairs["a"]
    pairs["b"] = first[pairs["b"].to_numpy()] if len(pairs) else pairs["b"]
    detected = detected_table(ids, descriptors["pcm_hashes"], descriptors["clip_fractions"], pairs,
                              clip_threshold, originals)
    named = pairs.assign(track_a=ids[pairs["a"].to_numpy()] if len(pairs) else [],
                         track_b=ids[pairs["b"].to_numpy()] if len(pairs) else [])
    return detected, named[["track_a", "track_b", "matches", "score", "offset_s"]]
