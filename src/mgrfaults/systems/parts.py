"""What every system reads before it fits: the parts of a run, feature shards, standardisation statistics.

No torch here: the scikit-learn systems (BFF, learned-feature classifiers) and the DNNs share it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mgrfaults.errors import InputError
from mgrfaults.features.store import FeatureStore

PARTS = ("train", "valid", "test")


def open_store(paths, expected_params=None) -> FeatureStore:
    """Open feature shards of one kind (:class:`mgrfaults.features.store.FeatureStore`)."""
    return FeatureStore([str(p) for p in paths], expected_params=expected_params)


def read_frames(store: FeatureStore, track_id: str) -> np.ndarray:
    """One track's rows as float32, shape (n_rows, dim)."""
    return np.asarray(store.read(track_id), dtype=np.float32)


def standardisation_stats(store: FeatureStore, track_ids: Sequence[str], min_std: float = 1e-6):
    """Per-dimension mean and std over all rows of ``track_ids``, one track in memory at a time.

    Tracks are merged with Chan et al.'s pairwise update in float64 (not E[x^2] - E[x]^2, which
    cancels catastrophically for large magnitudes), so the result does not depend on how the
    rows are split into tracks.

    Returns
    -------
    mean, std : ndarray, shape (dim,), float32
        ``std`` below ``min_std`` (constant bins) is set to 1.
    """
    count, mean, m2 = 0, None, None
    for tid in track_ids:
        x = read_frames(store, tid).astype(np.float64)
        if not len(x):
            continue
        n_b, mean_b = len(x), x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        if mean is None:
            count, mean, m2 = n_b, mean_b, m2_b
            continue
        total = count + n_b
        delta = mean_b - mean
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta**2 * (count * n_b / total)
        count = total
    if mean is None:
        raise InputError("standardisation: the training part has no frames")
    std = np.sqrt(m2 / count)
    std[std < min_std] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def run_parts(partition_csv, metadata_csv):
    """Track ids per part and the class index of each track.

    Returns
    -------
    parts : dict
        ``{"train": [...], "valid": [...], "test": [...]}`` (sorted track ids).
    labels : dict
        track_id -> class index in ``label_order``.
    label_order : list of str
        :func:`mgrfaults.data.metadata.label_set` of the metadata.
    """
    from mgrfaults.data.metadata import label_set, read_metadata
    from mgrfaults.partitions.split import read_partition

    meta = read_metadata(metadata_csv)
    label_order = label_set(meta)
    part = read_partition(partition_csv)
    genre = dict(zip(meta["track_id"], meta["genre"]))
    unknown = sorted(set(part["track_id"]) - set(genre))
    if unknown:
        raise InputError(f"{partition_csv}: track(s) not in {metadata_csv}: {unknown[:5]}")
    parts = {p: sorted(part.loc[part["part"] == p, "track_id"]) for p in PARTS}
    for p, ids in parts.items():
        if not ids:
            raise InputError(f"{partition_csv}: the {p} part is empty")
    labels = {t: label_order.index(genre[t]) for t in part["track_id"]}
    return parts, labels, label_order


def training_memory_mb(cache_mb: float, buffer_frames: int, n_bins: int, base_mb: int = 1024, n_nets: int = 1) -> int:
    """The memory a net's training job asks a cluster for, MB (Snakemake's ``mem_mb``).

    ``base_mb`` for the process (torch, the model, a validation batch), twice ``cache_mb`` (a part held in RAM: the
    training and the validation part) and twice the buffer of the HDF5 stream (the training and the validation
    part's streams each hold one, of at most their part's frames), ``buffer_frames`` rows of ``n_bins`` float32
    bins with their int64 labels (``systems.dnn.buffer_frames``: a buffer as large as the training part, for the
    study's shuffle of every frame each epoch, is GTZAN's 1.3 GB), for each of ``n_nets`` nets (a stack's nets
    keep their parts' streams alive while the others train, where their parts do not fit on the GPU).

    Parameters
    ----------
    cache_mb : float
        ``systems.dnn.cache_mb``.
    buffer_frames : int
        ``systems.dnn.buffer_frames``.
    n_bins : int
        Bins of a frame, ``features.frames.n_fft // 2 + 1``.
    base_mb : int
    n_nets : int
        Nets trained in the job (a ``train_stack`` job's).

    Returns
    -------
    int
    """
    buffer_mb = buffer_frames * (n_bins * 4 + 8) / 2**20
    return int(base_mb + n_nets * (2 * float(cache_mb) + 2 * np.ceil(buffer_mb)))
