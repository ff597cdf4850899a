"""Reading the feature cache: :class:`FeatureStore` over HDF5 shards (see DEVELOPERS.md for the layout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

from mgrfaults.errors import InputError

# ---------------------------------------------------------------------------------------------
# Reading


def params_differences(found: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Keys whose values differ between two parameter sets (a key missing on one side differs)."""
    expected = json.loads(json.dumps(dict(expected), sort_keys=True))  # tuples -> lists, as stored
    missing = object()
    return sorted(k for k in set(found) | set(expected) if found.get(k, missing) != expected.get(k, missing))


class FeatureStore:
    """Read features from a set of HDF5 shards, one track at a time, without loading the dataset.

    Parameters
    ----------
    paths : str, Path or sequence of them
        Shard files of one kind (frames or texture) with the same parameters.
    expected_params : mapping, optional
        E.g. ``mgrfaults.config.resolve(config).features.frames``; a shard whose ``params`` differ is refused.

    Attributes
    ----------
    track_ids : list of str
        Every track, in shard order (sorted by track id for the workflow's shards).
    params : dict
        The extraction parameters.
    kind : str
        'frames' or 'texture'.
    dim : int
        Columns of every feature row.

    Raises
    ------
    InputError
        Missing or unreadable shard, missing datasets, shards with different parameters or kinds,
        a track in two shards, or parameters that differ from ``expected_params``: the message
        names the file and the differing keys.

    Examples
    --------
    >>> store = FeatureStore(sorted(glob("results/features/frames/shard_*.h5")))  # doctest: +SKIP
    >>> x = store.read("blues.00000")            # (n_frames, 513) float32
    >>> for tid, x in store.iter_tracks(ids): ...
    """

    def __init__(self, paths, expected_params: Mapping[str, Any] | None = None):
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise InputError("FeatureStore: no shard files given")
        self._files: dict[int, h5py.File] = {}
        self._datasets: dict[int, h5py.Dataset] = {}
        self._chunk_maps: dict[int, Any] = {}  # shard -> memory-mapped chunk layout, or None
        self._where: dict[str, tuple[int, int, int]] = {}  # track -> (shard index, offset, length)
        self.track_ids: list[str] = []
        self.params: dict | None = None
        self.kind: str | None = None
        self.dim: int | None = None
        first_path = None
        for i, path in enumerate(self.paths):
            params, kind, dim, ids, offsets, lengths = self._read_index(path)
            if expected_params is not None:
                diff = params_differences(params, expected_params)
                if diff:
                    wanted = dict(expected_params)
                    detail = ", ".join(f"{k}: cache {params.get(k)!r} vs expected {wanted.get(k)!r}" for k in diff)
                    raise InputError(
                        f"{path}: feature cache made with other parameters (differing keys {diff}: {detail}); "
                        "re-run the features stage"
                    )
            if self.params is None:
                self.params, self.kind, self.dim, first_path = params, kind, dim, path
            else:
                diff = params_differences(params, self.params)
                if diff or kind != self.kind or dim != self.dim:
                    raise InputError(
                        f"{path}: shard does not match {first_path} (kind {kind!r} vs {self.kind!r}, "
                        f"dim {dim} vs {self.dim}, differing params {diff})"
                    )
            for tid, off, n in zip(ids, offsets, lengths):
                if tid in self._where:
                    other = self.paths[self._where[tid][0]]
                    raise InputError(f"{path}: track {tid} is also in {other}")
                self._where[tid] = (i, int(off), int(n))
                self.track_ids.append(tid)

    @staticmethod
    def _read_index(path: Path):
        if not path.exists():
            raise InputError(f"{path}: feature shard not found")
        try:
            with h5py.File(path, "r") as f:
                missing = [k for k in ("features", "track_ids", "offsets", "lengths") if k not in f]
                if missing or "params" not in f.attrs or "kind" not in f.attrs:
                    raise InputError(f"{path}: not a feature shard (missing {missing or 'attributes params/kind'})")
                params = json.loads(f.attrs["params"])
                kind = str(f.attrs["kind"])
                dim = int(f["features"].shape[1])
                n_rows = int(f["features"].shape[0])
                ids = [str(t) for t in f["track_ids"].asstr()[()]]
                offsets = f["offsets"][()]
                lengths = f["lengths"][()]
        except OSError as e:
            raise InputError(f"{path}: cannot read feature shard: {e}") from e
        if not (len(ids) == len(offsets) == len(lengths)) or (len(ids) and int((offsets + lengths).max()) > n_rows):
            raise InputError(f"{path}: inconsistent index (track_ids/offsets/lengths vs {n_rows} rows)")
        return params, kind, dim, ids, offsets, lengths

    def _file(self, i: int) -> h5py.File:
        f = self._files.get(i)
        if f is None:
            f = self._files[i] = h5py.File(self.paths[i], "r")
        return f

    def _locate(self, track_id: str) -> tuple[int, int, int]:
        try:
            return self._where[track_id]
        except KeyError:
            raise InputError(
                f"track {track_id} is not in the feature cache ({len(self.paths)} shard(s), e.g. {self.paths[0]})"
            ) from None

    def __len__(self) -> int:
        return len(self.track_ids)

    def __contains__(self, track_id) -> bool:
        return track_id in self._where

    def length(self, track_id: str) -> int:
        """Rows (frames or texture vectors) of a track."""
        return self._locate(track_id)[2]

    def lengths(self, track_ids: Iterable[str]) -> np.ndarray:
        """Rows of each track, shape (n_tracks,) int64."""
        return np.array([self.length(t) for t in track_ids], dtype=np.int64)

    def _features(self, i: int):
        # the dataset handle, cached: looking it up by name costs more than a small read
        d = self._datasets.get(i)
        if d is None:
            d = self._datasets[i] = self._file(i)["features"]
        return d

    def read(self, track_id: str) -> np.ndarray:
        """Rows of one track, shape (length, dim), float32 (float16 storage is widened)."""
        i, off, n = self._locate(track_id)
        return np.asarray(self._features(i)[off : off + n], dtype=np.float32)

    def read_into(self, track_id: str, out: np.ndarray) -> int:
        """Read one track's rows into the first rows of ``out`` (float32, C-contiguous, at least
        ``length`` rows of ``dim`` columns) without an intermediate copy; returns the row count."""
        i, off, n = self._locate(track_id)
        if n:
            if out.dtype != np.float32 or not out.flags.c_contiguous or len(out) < n or out.shape[1:] != (self.dim,):
                raise ValueError(f"read_into: out must be C-contiguous float32 with >= {n} rows of {self.dim}")
            chunks = self._chunk_map(i)
            if chunks is not None:
                self._copy_chunks(chunks, off, n, out)
                return n
            # h5py's low-level calls: read_direct's selection objects cost ~50 us a call
            d = self._features(i)
            fspace = d.id.get_space()
            fspace.select_hyperslab((off, 0), (n, self.dim))
            d.id.read(h5py.h5s.create_simple((n, self.dim)), fspace, out[:n])
        return n

    def _chunk_map(self, i: int):
        # Uncompressed, unfiltered row chunks of a little-endian float dataset are plain arrays in
        # the file: copying rows out of a read-only memory map of it (file pages, not a copy of the
        # data) is a single memcpy, about twice as fast as H5Dread through the chunk cache. None
        # (read through HDF5) for any other layout, or where the chunk query is unavailable.
        if i in self._chunk_maps:
            return self._chunk_maps[i]
        found = None
        try:
            d = self._features(i)
            dt = d.dtype
            if (
                d.chunks is not None
                and d.chunks[1] == self.dim
                and dt.kind == "f"
                and dt.byteorder in ("<", "=" if np.little_endian else "<")
                and d.id.get_create_plist().get_nfilters() == 0
                and d.shape[0] > 0
            ):
                rows = d.chunks[0]
                n_chunks = -(-d.shape[0] // rows)
                offsets = np.full(n_chunks, -1, dtype=np.int64)
                for k in range(d.id.get_num_chunks()):
                    info = d.id.get_chunk_info(k)
                    if info.filter_mask == 0 and info.size == rows * self.dim * dt.itemsize:
                        offsets[info.chunk_offset[0] // rows] = info.byte_offset
                if (offsets >= 0).all():
                    found = (np.memmap(self.paths[i], dtype=np.uint8, mode="r"), offsets, rows, dt)
        except (AttributeError, TypeError, ValueError, OSError, RuntimeError):
            found = None
        self._chunk_maps[i] = found
        return found

    def _copy_chunks(self, chunks, off: int, n: int, out: np.ndarray) -> None:
        mm, offsets, rows, dt = chunks
        r, pos, end = off, 0, off + n
        while r < end:
            c = r // rows
            first, last = r - c * rows, min(rows, end - c * rows)
            block = np.frombuffer(mm, dtype=dt, count=rows * self.dim, offset=int(offsets[c]))
            out[pos : pos + last - first] = block.reshape(rows, self.dim)[first:last]
            pos += last - first
            r += last - first

    def close(self) -> None:
        """Close the open shard files (they reopen on the next read)."""
        for f in self._files.values():
            f.close()
        self._files.clear()
        self._datasets.clear()
        self._chunk_maps.clear()

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self):  # picklable (e.g. DataLoader workers): open files are not
        state = self.__dict__.copy()
        state["_files"] = {}
        state["_datasets"] = {}
        state["_chunk_maps"] = {}
        return state
