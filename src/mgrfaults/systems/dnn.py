"""The study's DNNs: an MLP on standardised STFT magnitude frames, trained by SGD (or Hessian-free).

Facts from the public research code (coreyker/dnn-mgr, sidsig/ICASSP-MLP-Code): 513-bin magnitude
frames standardised per bin with the training part's mean/std; 3 hidden layers of 50 or 500 units;
weights uniform in +-0.1; minibatches of 1200 frames; momentum rising linearly 0.5 -> 0.9 and the
learning rate decaying linearly to 0.01x over ``saturate`` epochs; early stopping on the validation
frame error after ``patience`` epochs without a 0.1 % (relative) improvement; the best model kept.
The 2014 values (``mlp_rlu2.yaml`` @a1e6340, ``mlp_rlu_dropout.yaml`` @9f4c574): patience 10,
saturate 50; RSD with pylearn2's ``Dropout`` cost (include 0.8 on the spectrum with scale 1, 0.75 on
every later layer's input with pylearn2's default scale 2; see :class:`PylearnDropout`). The study's job
script (``generate_gbar_jobs_dnn.py``) trains RSD with ``mlp_rlu_dropout2.yaml``, whose stored version
@539d2c5 has these values behind a standardising ``PreprocLayer``: pylearn2's ``Dropout`` drops that
layer's input too (the raw spectrum, include 0.75, scale 2, before standardising;
:class:`RawSpectrumDropout`, ``systems.dnn.settings: job_script``). Which version of the file ran for the
study is not known.

An epoch is one pass over the training part's frames (``systems.dnn.epoch_fraction`` < 1: that
fraction of them, a fresh random subset each epoch, the same fraction for every net); ``patience``,
``saturate`` and ``max_epochs`` count these epochs.

Frames are streamed from the HDF5 feature cache track by track through a shuffle buffer (seeded), so
the training part is never held in RAM whole unless it fits in ``cache_mb``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from mgrfaults.errors import InputError
from mgrfaults.io import atomic_path, write_csv_atomic
from mgrfaults.seeds import derive
from mgrfaults.systems.parts import open_store, read_frames, run_parts, standardisation_stats
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DNN = section_defaults("systems.dnn")
_SYSTEMS = section_defaults("systems")

log = logging.getLogger(__name__)

MODEL_FORMAT = "mgrfaults.systems.dnn/1"


class FrameBatches:
    """Shuffled minibatches of standardised frames and their labels, streamed from a feature store.

    Each epoch visits the tracks in a seeded random order, reads each track's frames (one contiguous
    HDF5 read), keeps a random share of them when ``frames_per_epoch`` caps the epoch, and shuffles
    them through a buffer of ``buffer_frames`` frames before cutting minibatches. When the part fits
    in ``cache_mb`` it is read once and held in RAM (standardised) instead.

    Parameters
    ----------
    store : FeatureStore
    track_ids : sequence of str
    labels : sequence of int
        Class index of each track.
    mean, std : ndarray, shape (dim,)
        Standardisation (the training part's).
    batch_size : int
        Frames per minibatch (the study: 1200).
    frames_per_epoch : int, optional
        Frames per epoch, a fresh random subset each epoch; None: all.
    buffer_frames : int
        Shuffle buffer size in frames (memory: about ``(buffer_frames + longest track) * dim * 4``
        bytes, at most the part's frames; allocated once and reused by later epochs).
    seed : int
        Seed of the shuffles; epoch ``e`` uses ``derive(seed, e)``.
    shuffle : bool
        False: tracks and frames in order (evaluation); a capped subset is then the same every epoch.
    cache_mb : float
        Hold the part in RAM when its frames take at most this many MiB; 0: always stream.
    """

    def __init__(
        self,
        store,
        track_ids,
        labels,
        mean,
        std,
        batch_size=1200,
        frames_per_epoch=None,
        buffer_frames=_DNN["buffer_frames"],
        seed=0,
        shuffle=True,
        cache_mb=0.0,
    ):
        self.store = store
        self.track_ids = list(track_ids)
        self.labels = np.asarray(labels, dtype=np.int64)
        if len(self.labels) != len(self.track_ids):
            raise ValueError("FrameBatches: one label per track needed")
        self.mean = np.asarray(mean, dtype=np.float32)
        self.inv_std = (1.0 / np.asarray(std, dtype=np.float64)).astype(np.float32)
        self.batch_size = int(batch_size)
        self.buffer_frames = max(int(buffer_frames), self.batch_size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.lengths = np.array([store.length(t) for t in self.track_ids], dtype=np.int64)
        self.n_frames = int(self.lengths.sum())
        self.frames_per_epoch = None if frames_per_epoch is None else min(int(frames_per_epoch), self.n_frames)
        self.dim = len(self.mean)
        self._cache = None
        self._pool = []  # streaming buffers of finished epochs, for reuse
        if cache_mb and self.n_frames * self.dim * 4 <= cache_mb * 2**20:
            x = np.empty((self.n_frames, self.dim), dtype=np.float32)
            pos = 0
            for tid, n in zip(self.track_ids, self.lengths):
                x[pos : pos + n] = self._standardise(read_frames(self.store, tid))
                pos += n
            self._cache = (x, np.repeat(self.labels, self.lengths))

    def _standardise(self, x):
        x -= self.mean
        x *= self.inv_std
        return x

    def __len__(self):
        n = self.frames_per_epoch or self.n_frames
        return -(-n // self.batch_size)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(x, y)``: float32 (batch, dim) standardised frames and int64 (batch,) labels."""
        rng = np.random.default_rng(derive(self.seed, "epoch", epoch if self.shuffle else 0))
        if self._cache is not None:
            yield from self._epoch_cached(rng)
        else:
            yield from self._epoch_streamed(rng)

    def _epoch_cached(self, rng):
        x, y = self._cache
        if self.shuffle:
            order = rng.permutation(self.n_frames)
            if self.frames_per_epoch:
                order = order[: self.frames_per_epoch]
        elif self.frames_per_epoch:
            order = np.sort(rng.choice(self.n_frames, self.frames_per_epoch, replace=False))
        else:
            order = None
        if order is None:
            for start in range(0, self.n_frames, self.batch_size):
                yield x[start : start + self.batch_size], y[start : start + self.batch_size]
            return
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield x[idx], y[idx]

    def _epoch_streamed(self, rng):
        # Tracks are read straight into one preallocated float32 buffer (no per-track arrays, no
        # concatenation) and standardised in place while still in cache; each minibatch is one
        # gather of its shuffled rows into a fresh array (the buffer itself is never handed out,
        # so it is reused from epoch to epoch). The batches equal those of the former
        # read-concatenate-gather loop for the same seed: same draws, same buffer layout.
        keep_share = 1.0 if not self.frames_per_epoch else self.frames_per_epoch / self.n_frames
        order = rng.permutation(len(self.track_ids)) if self.shuffle else np.arange(len(self.track_ids))
        max_len = int(self.lengths.max()) if len(self.lengths) else 0
        # buffered < buffer_frames before a track is added, and never more than the part's frames
        cap = min(self.n_frames, self.buffer_frames - 1 + max_len)
        bufs = self._take_buffers(cap)
        x_buf, y_buf = bufs
        scratch = np.empty((max_len, self.dim), dtype=np.float32) if keep_share < 1.0 else None
        read_into = getattr(self.store, "read_into", None)
        buffered = 0
        try:
            for i in order:
                tid = self.track_ids[i]
                if keep_share < 1.0:
                    n = self._read_track(read_into, tid, scratch)
                    keep = rng.random(n) < keep_share
                    n = int(np.count_nonzero(keep))
                    seg = x_buf[buffered : buffered + n]
                    np.compress(keep, scratch[: len(keep)], axis=0, out=seg)
                else:
                    n = self._read_track(read_into, tid, x_buf[buffered:])
                    seg = x_buf[buffered : buffered + n]
                self._standardise(seg)
                y_buf[buffered : buffered + n] = self.labels[i]
                buffered += n
                if buffered >= self.buffer_frames:
                    buffered = yield from self._drain(x_buf, y_buf, buffered, rng, final=False)
            if buffered:
                yield from self._drain(x_buf, y_buf, buffered, rng, final=True)
        finally:
            self._pool.append(bufs)

    def _read_track(self, read_into, tid, out):
        if read_into is not None:
            return read_into(tid, out)
        x = read_frames(self.store, tid)
        out[: len(x)] = x
        return len(x)

    def _take_buffers(self, cap):
        # a buffer left by an earlier (finished) epoch, else a new one; concurrent epochs get their own
        while self._pool:
            try:
                bufs = self._pool.pop()
            except IndexError:
                break
            if len(bufs[1]) >= cap:
                return bufs
        return np.empty((cap, self.dim), dtype=np.float32), np.empty(cap, dtype=np.int64)

    def _drain(self, x, y, n, rng, final):
        # each minibatch gathers its shuffled rows from the buffer's first n rows into new arrays;
        # the rows left over (less than a batch) move to the front; returns their count
        order = rng.permutation(n) if self.shuffle else None
        n_full = n if final else (n // self.batch_size) * self.batch_size
        for start in range(0, n_full, self.batch_size):
            stop = min(start + self.batch_size, n_full)
            if order is None:
                yield x[start:stop].copy(), y[start:stop].copy()
            else:
                idx = order[start:stop]
                yield np.take(x, idx, axis=0), np.take(y, idx)
        if n_full == n:
            return 0
        if order is None:
            rest_x, rest_y = x[n_full:n].copy(), y[n_full:n].copy()
        else:
            rest = order[n_full:]
            rest_x, rest_y = np.take(x, rest, axis=0), np.take(y, rest)
        x[: n - n_full], y[: n - n_full] = rest_x, rest_y
        return n - n_full


def prefetch(batches: Iterator, device: torch.device, depth: int = 3) -> Iterator:
    """Produce ``batches`` in a background thread (HDF5 reads overlap compute) as tensors on ``device``.

    The order is unchanged, so results stay deterministic. Exceptions are re-raised in the caller.
    ``depth=0`` converts in the caller's thread instead (no competition with torch's threads).
    """
    if depth <= 0:
        for x, y in batches:
            xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
            yield xt.to(device), yt.to(device)
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()
    pin = device.type == "cuda"

    def put(item) -> bool:
        # a bounded put that gives up when the consumer has gone (no thread left blocked)
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for x, y in batches:
                xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
                if pin:
                    xt, yt = xt.pin_memory(), yt.pin_memory()
                if not put((xt, yt)):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            xt, yt = item
            yield xt.to(device, non_blocking=True), yt.to(device, non_blocking=True)
    finally:
        stop.set()
        thread.join()


# --------------------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------------------


class PylearnDropout(nn.Module):
    """Dropout with pylearn2's semantics (``pylearn2.costs.mlp.dropout.Dropout``).

    In training each input unit is kept with probability ``keep`` and a kept unit is multiplied by
    ``scale``: ``x * mask * scale``, ``mask ~ Bernoulli(keep)``; in evaluation the input passes
    unchanged. pylearn2's defaults are ``include_prob=0.5, scale=2.0`` and the scale is *not* tied
    to the include probability: the study's ``mlp_rlu_dropout.yaml`` (@9f4c574) sets
    ``input_include_probs: {h0: .8}, input_scales: {h0: 1.}, default_input_include_prob: .75`` and
    leaves ``default_input_scale`` at 2.0, so in training the spectrum reaches hidden 1 at 0.8 of its
    evaluation size on average and every later layer's input at 0.75 x 2 = 1.5 times it.
    ``scale = 1 / keep`` is the usual inverted dropout (torch's ``nn.Dropout``). ``keep`` 1: the input
    passes unchanged in training too, its scale unused (pylearn2's ``apply_dropout`` returns it).

    Parameters
    ----------
    keep : float
        Keep (include) probability, in (0, 1].
    scale : float
        Multiplier of the kept units in training.
    """

    def __init__(self, keep: float, scale: float):
        super().__init__()
        if not 0.0 < float(keep) <= 1.0:
            raise ValueError(f"dropout keep probability must be in (0, 1], got {keep}")
        self.keep, self.scale = float(keep), float(scale)

    def forward(self, x):
        if not self.training or self.keep == 1.0:  # pylearn2's apply_dropout: include 1 returns the input, unscaled
            return x
        mask = torch.empty_like(x).bernoulli_(self.keep)
        if self.scale == 1.0:
            return x * mask
        if x.dtype in (torch.float32, torch.float64):
            # the scale folded into the mask: one multiplication forward and one backward instead of two
            # each (kernels a GPU step replays). Exact here, as x * 1 * scale rounds once either way; in
            # bf16 / fp16 the mask would round the scale itself (1 / 0.75 to 1.3359), so not there
            return x * mask.mul_(self.scale)
        return x * mask * self.scale

    def extra_repr(self) -> str:
        return f"keep={self.keep}, scale={self.scale}"


class RawSpectrumDropout(PylearnDropout):
    """pylearn2's ``Dropout`` on the *raw* spectrum, before standardising, applied to standardised frames.

    ``mlp_rlu_dropout2.yaml`` (coreyker/dnn-mgr @539d2c5) standardises inside the net, in a first layer
    (``audio_dataset.PreprocLayer``: ``(x - mean) / std``), and pylearn2's ``Dropout`` cost drops every
    layer's input, that one's too, at the default include probability and scale (0.75 and 2). Here the
    frames reach the net standardised, ``z = (x - mean) / std``; dropping the raw bins with mask ``m`` and
    scale ``s`` gives ``(x m s - mean) / std = z m s + (mean / std)(m s - 1)``, which this module computes:
    a dropped bin becomes ``-mean / std``, a kept one ``s z + (s - 1) mean / std``. In evaluation the input
    passes unchanged (as pylearn2's ``fprop``). The stacked trainer (:mod:`mgrfaults.systems.stack`) applies
    the same formula per net.

    Parameters
    ----------
    keep : float
        Keep (include) probability of a raw bin, in (0, 1].
    scale : float
        Multiplier of a kept raw bin in training.
    offset : array_like, shape (n_bins,)
        ``mean / std`` of the standardisation, per bin.
    """

    def __init__(self, keep: float, scale: float, offset):
        super().__init__(keep, scale)
        # not in the state dict: it is the model file's mean / std, saved beside the weights
        self.register_buffer("offset", torch.as_tensor(np.asarray(offset, dtype=np.float32)), persistent=False)

    def forward(self, x):
        if not self.training or self.keep == 1.0:  # pylearn2's apply_dropout: include 1 returns the input, unscaled
            return x
        kept = torch.empty_like(x).bernoulli_(self.keep).mul_(self.scale)  # m s: 0 or s
        return x * kept + self.offset * (kept - 1.0)


class MLP(nn.Module):
    """Fully connected net: hidden layers (ReLU or sigmoid) and a linear output (softmax in the loss).

    Parameters
    ----------
    n_inputs : int
        Input dimension (513 STFT bins).
    hidden : sequence of int
        Units per hidden layer, e.g. ``(500, 500, 500)``.
    n_classes : int
    activation : {"relu", "sigmoid"}
    keep_probs : sequence of float, optional
        Dropout keep probability on the *inputs* of each layer: hidden 1 (the spectrum), hidden 2, ...,
        the softmax (``len(hidden) + 1`` values); 1.0: no dropout.
    input_scales : sequence of float, optional
        Training-time multiplier of the kept inputs of each layer (pylearn2's ``input_scales``, see
        :class:`PylearnDropout`); None: ``1 / keep`` (inverted dropout). Evaluation uses the weights
        unchanged either way.
    raw_keep, raw_scale : float
        Dropout of the raw spectrum before standardising (:class:`RawSpectrumDropout`); ``raw_keep`` 1.0: none.
    raw_offset : array_like, shape (n_inputs,), optional
        ``mean / std`` of the standardisation; needed when ``raw_keep`` is below 1.
    """

    def __init__(self, n_inputs, hidden, n_classes, activation="relu", keep_probs=None, input_scales=None,
                 raw_keep=1.0, raw_scale=1.0, raw_offset=None):
        super().__init__()
        self.n_inputs, self.hidden_units, self.n_classes = int(n_inputs), [int(h) for h in hidden], int(n_classes)
        self.activation = activation
        keep_probs = [1.0] * (len(self.hidden_units) + 1) if keep_probs is None else [float(p) for p in keep_probs]
        if len(keep_probs) != len(self.hidden_units) + 1:
            raise ValueError(f"keep_probs: {len(self.hidden_units) + 1} values needed, got {keep_probs}")
        if activation not in ("relu", "sigmoid"):
            raise ValueError(f"activation: relu or sigmoid, got {activation!r}")
        input_scales = [1.0 / p for p in keep_probs] if input_scales is None else [float(s) for s in input_scales]
        if len(input_scales) != len(keep_probs):
            raise ValueError(f"input_scales: {len(keep_probs)} values needed, got {input_scales}")
        # pylearn2's apply_dropout returns an input kept with probability 1 as it is, its scale unused
        input_scales = [1.0 if p == 1.0 else sc for p, sc in zip(keep_probs, input_scales)]
        self.keep_probs, self.input_scales = keep_probs, input_scales
        sizes = [self.n_inputs] + self.hidden_units + [self.n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropouts = nn.ModuleList(
            nn.Identity() if p == 1.0 else PylearnDropout(p, sc) for p, sc in zip(keep_probs, input_scales)
        )
        self._act = nn.ReLU() if activation == "relu" else nn.Sigmoid()
        self.raw_keep = float(raw_keep)
        self.raw_scale = 1.0 if self.raw_keep == 1.0 else float(raw_scale)  # kept whole: unscaled, as above
        if self.raw_keep == 1.0:
            self.raw_dropout = nn.Identity()
        elif raw_offset is None or np.shape(raw_offset) != (self.n_inputs,):
            raise ValueError(f"raw spectrum dropout needs raw_offset (mean / std), {self.n_inputs} values")
        else:
            self.raw_dropout = RawSpectrumDropout(self.raw_keep, self.raw_scale, raw_offset)

    def forward(self, x, return_hidden=False):
        """Logits (batch, n_classes); with ``return_hidden`` also the list of hidden activations."""
        hidden = []
        x = self.raw_dropout(x)
        for i, (layer, drop) in enumerate(zip(self.layers, self.dropouts)):
            x = layer(drop(x))
            if i < len(self.hidden_units):
                x = self._act(x)
                hidden.append(x)
        return (x, hidden) if return_hidden else x

    def architecture(self) -> dict:
        return {
            "n_inputs": self.n_inputs,
            "hidden": list(self.hidden_units),
            "n_classes": self.n_classes,
            "activation": self.activation,
            "keep_probs": list(self.keep_probs),
            "input_scales": list(self.input_scales),
            # only where on: the model files of every other net keep their bytes
            **({"raw_keep": self.raw_keep, "raw_scale": self.raw_scale}
               if (self.raw_keep, self.raw_scale) != (1.0, 1.0) else {}),
        }


def init_mlp(model: MLP, scheme: str = "uniform", init_range: float = 0.1, seed: int = 0) -> MLP:
    """Initialise weights in place; biases 0.

    Parameters
    ----------
    scheme : {"uniform", "glorot"}
        ``uniform``: U(-init_range, +init_range) (the study, pylearn2's ``irange``); ``glorot``:
        U(+-r) with r = sqrt(6 / (fan_in + fan_out)), times 4 for sigmoid nets (Sigtia & Dixon).
    """
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for layer in model.layers:
            fan_out, fan_in = layer.weight.shape
            if scheme == "uniform":
                r = float(init_range)
            elif scheme == "glorot":
                r = float(np.sqrt(6.0 / (fan_in + fan_out))) * (4.0 if model.activation == "sigmoid" else 1.0)
            else:
                raise ValueError(f"init scheme: uniform or glorot, got {scheme!r}")
            layer.weight.copy_((torch.rand(layer.weight.shape, generator=gen) * 2 - 1) * r)
            layer.bias.zero_()
    return model


# --------------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------------


@dataclass
class TrainParams:
    """Hyper-parameters of one training run (a variant of the config's ``systems.dnn.variants``).

    Every variant value comes from the config; the study's values (2014 RS and RSD, Sigtia & Dixon's
    SD, with their sources) are written once, as the schema's defaults of ``systems.dnn.variants``:
    :meth:`study` reads them. Epochs are passes over the training part (see the module docstring);
    ``learning_rate`` decays linearly to ``learning_rate * final_lr_factor`` and momentum rises
    linearly from ``momentum_start`` to ``momentum_end`` over the first ``saturate`` epochs
    (pylearn2's ``LinearDecayOverEpoch`` and ``MomentumAdjustor``); training stops after
    ``patience`` epochs without a relative improvement of ``min_improvement`` in the validation
    frame error (``MonitorBased``; its reference, ``patience_reference``: :class:`EarlyStopping`), or at
    ``max_epochs``. ``input_scales`` None: inverted dropout
    (``1 / keep``). ``optimizer``, ``hf``, ``pretrain`` and ``rbm`` come from the net's name.
    """

    learning_rate: float
    final_lr_factor: float
    momentum_start: float
    momentum_end: float
    momentum_schedule: bool
    saturate: int
    patience: int
    min_improvement: float
    max_epochs: int
    batch_size: int
    keep_probs: list
    input_scales: list | None
    init: str
    init_range: float
    # absent from a variant: no raw spectrum dropout (the schema's description; only systems.dnn.job_script sets them,
    # so the training params of every other net keep their keys and no results folder reruns for them)
    raw_keep_prob: float = 1.0
    raw_input_scale: float = 1.0
    # absent from a variant: the older MonitorBased rule, with which every figure of the README was made; so absent,
    # the training params of a net keep their keys and no results folder reruns for the key's arrival
    patience_reference: str = "last_improvement"
    optimizer: str = "sgd"
    hf: dict = field(default_factory=dict)
    pretrain: bool = False
    rbm: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, variant: dict, **overrides):
        """From a complete variant (``mgrfaults.config.complete_dnn_variants``); unknown keys are ignored."""
        known = {k: v for k, v in {**variant, **overrides}.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @classmethod
    def study(cls, variant: str = "RS", **overrides):
        """The schema's default of ``variant`` (RS, RSD or SD), ``overrides`` laid over it."""
        from mgrfaults.config import schema_defaults

        return cls.from_config(schema_defaults()["systems.dnn.variants"][variant], **overrides)


def linear_ramp(epoch: int, start: float, end: float, saturate: int) -> float:
    """Value moving linearly from ``start`` (epoch 0) to ``end`` (epoch ``saturate`` and after)."""
    if saturate <= 0:
        return end
    t = min(max(epoch, 0) / saturate, 1.0)
    return start + (end - start) * t


def epoch_hyper(params: TrainParams, epoch: int) -> tuple[float, float]:
    """Learning rate and momentum of epoch ``epoch`` (0-based) under the schedules of ``params``.

    The learning rate decays linearly from ``learning_rate`` to ``learning_rate * final_lr_factor``
    and the momentum rises linearly from ``momentum_start`` to ``momentum_end`` (when
    ``momentum_schedule``), both over the first ``saturate`` epochs (pylearn2's
    ``LinearDecayOverEpoch`` and ``MomentumAdjustor``).
    """
    lr = linear_ramp(epoch, params.learning_rate, params.learning_rate * params.final_lr_factor, params.saturate)
    if params.momentum_schedule:
        return lr, linear_ramp(epoch, params.momentum_start, params.momentum_end, params.saturate)
    return lr, params.momentum_start


PATIENCE_REFERENCES = ("last_improvement", "best")
"""The error :class:`EarlyStopping`'s patience counts from: pylearn2's older and later ``MonitorBased``."""


class EarlyStopping:
    """The validation bookkeeping of one training run: the best parameters, patience, the log rows.

    Any improvement of the validation frame error keeps the parameters (pylearn2's
    ``MonitorBasedSaveBest``); ``patience`` counts epochs without a *relative* improvement of
    ``min_improvement`` on a reference error; ``max_epochs`` ends training too. The reference is the variant's
    ``patience_reference``:

    - ``last_improvement``: the error of the last such improvement (the older pylearn2 ``MonitorBased``, its
      ``__call__``, as stored at lisa-lab/pylearn2 @04fc62b: ``best_value`` set only where the count starts again);
    - ``best``: the lowest error so far, moved by any improvement, while only one of ``min_improvement`` below it
      starts the count again (the later ``MonitorBased.continue_learning``, its ``best_value`` updated on its own
      line: the code quoted in pylearn2 issue #1449, March 2015; which pylearn2 the study ran is not recorded, and
      this is the likelier in 2014). It ends a slow learner's training sooner; ``benchmarks/stopping_replay.py``
      replays logs under both.
    """

    def __init__(self, params: TrainParams):
        if params.patience_reference not in PATIENCE_REFERENCES:
            raise ValueError(f"patience_reference: one of {PATIENCE_REFERENCES}, got {params.patience_reference!r}")
        self.params = params
        self.best_err, self.best_state, self.best_epoch = np.inf, None, -1
        self.threshold_err, self.since = np.inf, 0
        self.rows: list[dict] = []

    def update(self, model, epoch, loss, train_err, valid_loss, valid_err, seconds) -> dict:
        """Record epoch ``epoch`` (its parameters are ``model``'s now); return its log row.

        The row's ``stop`` is empty, or ``patience`` / ``max_epochs`` when training ends here.
        """
        params = self.params
        lr, momentum = epoch_hyper(params, epoch)
        sgd = params.optimizer == "sgd"
        row = {
            "epoch": epoch,
            "loss": loss,
            "train_frame_error": train_err,
            "valid_frame_error": valid_err,
            "valid_loss": valid_loss,
            "learning_rate": lr if sgd else np.nan,
            "momentum": momentum if sgd else np.nan,
            "seconds": seconds,
        }
        if valid_err < self.best_err:
            self.best_err, self.best_epoch = valid_err, epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if valid_err < self.threshold_err * (1.0 - params.min_improvement):
            self.threshold_err, self.since = valid_err, 0
        else:
            self.since += 1
            if params.patience_reference == "best":  # any improvement moves the reference, none starts the count
                self.threshold_err = min(self.threshold_err, valid_err)
        row["epochs_without_improvement"] = self.since
        row["stop"] = "patience" if self.since >= params.patience else (
            "max_epochs" if epoch + 1 >= int(params.max_epochs) else "")
        self.rows.append(row)
        return row

    def best_model(self, model):
        """``model`` with the parameters of its best epoch, in eval mode (``best_epoch`` set)."""
        model.load_state_dict(self.best_state)
        model.eval()
        model.best_epoch = self.best_epoch
        return model


def frame_error(model: nn.Module, batches: Iterator, device) -> tuple[float, float]:
    """Mean cross-entropy and frame error rate of ``model`` (eval mode) over ``(x, y)`` batches."""
    loss_sum, err_sum, n = frame_error_sums(model, batches, device)
    return float(loss_sum) / max(n, 1), float(err_sum) / max(n, 1)


def frame_error_sums(model: nn.Module, batches: Iterator, device) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Summed cross-entropy (float64) and count of wrong frames (int64) of ``model`` (eval mode) over
    ``(x, y)`` batches, as device scalars not yet read (a GPU computes them while the host goes on), and
    the frame count."""
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    err_sum = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    with torch.no_grad():
        for x, y in batches:
            out = model(x)
            loss_sum += nn.functional.cross_entropy(out, y, reduction="sum").double()
            err_sum += (out.argmax(1) != y).sum()
            n += len(y)
    return loss_sum, err_sum, n


def resolve_device(device: str = _SYSTEMS["device"]) -> torch.device:
    """``auto``: CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("systems.device: cuda requested but no GPU is available")
    return torch.device(device)


def _prefetch_depth(device) -> int:
    # a reader thread pays off only with a core to spare: on a CPU whose cores all run torch's threads
    # it competes with them (measured 0.68 vs 0.73 of the bare loop's frames/s on 2 cores, 50 units)
    spare = (os.cpu_count() or 1) > torch.get_num_threads()
    return 3 if torch.device(device).type == "cuda" or spare else 0


class MomentumSGD:
    """Minibatch SGD with momentum and no dampening: the update of ``torch.optim.SGD(lr, momentum)``,
    operation for operation (``buf = momentum * buf + grad``, the first buffer a copy of the gradient;
    ``param -= lr * buf``), so a run is byte-identical to one with torch's optimizer.

    Written here because building any ``torch.optim`` optimizer imports ``torch._dynamo`` (2.8 s of a
    training job's ~4.5 s on the tiny preset, 2-core machine, measured with cProfile), once per job.

    Parameters
    ----------
    params : iterable of torch.nn.Parameter
    lr, momentum : float
        Changed between epochs by assigning the attributes (the study's schedules).
    """

    def __init__(self, params, lr: float, momentum: float):
        self.params = list(params)
        self.lr, self.momentum = float(lr), float(momentum)
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, param in enumerate(self.params):
            if param.grad is None:
                continue
            update = param.grad
            if self.momentum != 0:
                if self.buffers[i] is None:
                    self.buffers[i] = update.detach().clone()
                else:
                    self.buffers[i].mul_(self.momentum).add_(update)
                update = self.buffers[i]
            param.add_(update, alpha=-self.lr)


def train_epoch(model: nn.Module, opt, batches, device) -> tuple[float, float, int]:
    """One pass of minibatch updates over ``(x, y)`` tensor batches (training mode).

    ``opt`` is a :class:`MomentumSGD` or a :class:`mgrfaults.systems.hessian_free.HessianFree`.

    Returns
    -------
    loss : float
        Mean cross-entropy over the frames (before each update).
    frame_error : float
        Error rate of the training-mode outputs (dropout on) over the frames.
    n_frames : int
    """
    from mgrfaults.systems.hessian_free import HessianFree

    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    err_sum = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    for x, y in batches:
        if isinstance(opt, HessianFree):
            out, loss = opt.step(x, y)
        else:
            opt.zero_grad()
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
            loss.backward()
            opt.step()
        loss_sum += loss.detach().double() * len(y)
        err_sum += (out.detach().argmax(1) != y).sum()
        n += len(y)
    return float(loss_sum) / max(n, 1), float(err_sum) / max(n, 1), n


def train_mlp(
    model: MLP,
    train: FrameBatches,
    valid: FrameBatches,
    params: TrainParams,
    seed: int = 0,
    device="cpu",
    progress: bool = False,
    log_fn=None,
    resident=None,
    precision: str = _DNN["precision"],
    compiled: bool = _DNN["compile"],
) -> tuple[MLP, pd.DataFrame]:
    """Train ``model`` with early stopping on the validation frame error; return the best model.

    Parameters
    ----------
    model : MLP
        Initialised (see :func:`init_mlp`, optionally :func:`mgrfaults.systems.rbm.pretrain_mlp`).
    train, valid : FrameBatches
        Shuffled training batches; validation batches (``shuffle=False``).
    params : TrainParams
    seed : int
        Seeds dropout masks (torch's generator); the batch order is seeded in ``train``.
    device : str or torch.device
    progress : bool
        Show a tqdm bar per epoch.
    log_fn : callable, optional
        Called with each epoch's log row (dict).
    resident : bool, optional
        Train on the parts held on the device (:mod:`mgrfaults.systems.resident`); None: for SGD on
        a CUDA device when they fit; True: force it (SGD); False: always stream.
    precision : {"fp32", "tf32", "bf16"}
        Matmul precision of the device-resident path on CUDA (``systems.dnn.precision``); fp32 elsewhere.
    compiled : bool
        Compile the resident path's step with ``torch.compile`` (``systems.dnn.compile``; see
        :class:`mgrfaults.systems.resident.ResidentSGD`); the streamed path never compiles.

    Returns
    -------
    model : MLP
        The parameters of the epoch with the lowest validation frame error (eval mode).
    log : DataFrame
        One row per epoch: epoch, loss, train_frame_error, valid_frame_error, valid_loss,
        learning_rate, momentum, seconds, epochs_without_improvement, stop (empty, then on the
        last row ``patience`` or ``max_epochs``: why training ended).
    """
    device = torch.device(device)
    torch.manual_seed(int(seed))
    model.to(device)
    if params.optimizer == "hf":
        from mgrfaults.systems.hessian_free import HessianFree

        opt = HessianFree(model, **params.hf)
    elif params.optimizer == "sgd":
        opt = MomentumSGD(model.parameters(), lr=params.learning_rate, momentum=params.momentum_start)
    else:
        raise ValueError(f"optimizer: sgd or hf, got {params.optimizer!r}")
    from mgrfaults.systems.resident import resident_run

    fast = resident_run(model, train, valid, params, device, resident, precision=precision, compiled=compiled)
    unused = [f"precision {precision}"] * (precision != "fp32") + ["compile"] * bool(compiled)
    if fast is None and unused and device.type == "cuda":
        log.warning("systems.dnn %s: for the device-resident path only; this run streams its part in fp32, "
                    "uncompiled", " and ".join(unused))
    stopping = EarlyStopping(params)
    if fast is not None:
        return _train_resident(model, fast, params, stopping, log_fn)
    for epoch in range(int(params.max_epochs)):
        t0 = time.perf_counter()
        lr, momentum = epoch_hyper(params, epoch)
        if params.optimizer == "sgd":
            opt.lr, opt.momentum = lr, momentum
        stream = prefetch(train.epoch(epoch), device, depth=_prefetch_depth(device))
        if progress:
            from tqdm import tqdm

            stream = tqdm(stream, total=len(train), desc=f"epoch {epoch}", leave=False, mininterval=2.0)
        loss, train_err, n = train_epoch(model, opt, stream, device)
        if n == 0:
            raise InputError("training: the training part has no frames")
        valid_loss, valid_err = frame_error(model, prefetch(valid.epoch(0), device, _prefetch_depth(device)), device)
        row = stopping.update(model, epoch, loss, train_err, valid_loss, valid_err, time.perf_counter() - t0)
        if log_fn:
            log_fn(row)
        if row["stop"]:
            break
    return stopping.best_model(model), pd.DataFrame(stopping.rows)


def _train_resident(model, fast, params, stopping, log_fn):
    # train_mlp's epochs on the device-resident path. Epoch e's parameters are validated on a copy while
    # epoch e + 1 trains: on a GPU the pass is queued on a side stream after e + 1's steps, so the host
    # launches it while the GPU trains. Its result is read after e + 1, and when it ends training the epoch
    # trained meanwhile is dropped. The log and the best parameters are those of validating each epoch
    # before training the next (the schedules depend on the epoch alone); a row's seconds are its epoch's
    # training (with the launch of the epoch before's pass) and the wait for its own validation result.
    trained = None  # (epoch, loss, train_err, seconds) of the last epoch trained, not yet validated

    def finish(epoch, loss, train_err, seconds, started):
        t0 = time.perf_counter()
        valid_loss, valid_err = fast.valid_result(started)
        row = stopping.update(fast.validated_model, epoch, loss, train_err, valid_loss, valid_err,
                              seconds + time.perf_counter() - t0)
        if log_fn:
            log_fn(row)
        return row

    try:
        for epoch in range(int(params.max_epochs)):
            t0 = time.perf_counter()
            hyper = epoch_hyper(params, epoch)
            if trained is None:
                (loss, train_err, n), started = fast.train_epoch(epoch, *hyper), None
            else:
                (loss, train_err, n), started = fast.train_epoch_validating(epoch, *hyper)
            if n == 0:
                raise InputError("training: the training part has no frames")
            seconds = time.perf_counter() - t0
            if trained is not None and finish(*trained, started)["stop"]:
                trained = None
                break
            trained = (epoch, loss, train_err, seconds)
        if trained is not None:
            finish(*trained, fast.start_validation())
    except BaseException:
        fast.drain()  # a pass still in flight reads memory that goes back to the allocator with this run
        raise
    return stopping.best_model(model), pd.DataFrame(stopping.rows)


# --------------------------------------------------------------------------------------------------
# model files and inference
# --------------------------------------------------------------------------------------------------


def save_model(path, model: MLP, mean, std, labels, **info) -> None:
    """Write a self-describing model file (torch.save of plain types and tensors), atomically.

    Holds the architecture, the weights (CPU), the standardisation mean/std, the label order and
    any ``info`` (net name, seed, training hyper-parameters, feature parameters, best epoch).
    """
    payload = {
        "format": MODEL_FORMAT,
        "architecture": model.architecture(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "mean": torch.as_tensor(np.asarray(mean, dtype=np.float32)),
        "std": torch.as_tensor(np.asarray(std, dtype=np.float32)),
        "labels": list(labels),
        "info": info,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path, device="cpu"):
    """Read a model file written by :func:`save_model`.

    Returns
    -------
    model : MLP
        In eval mode, on ``device``.
    meta : dict
        ``mean``, ``std`` (ndarray), ``labels``, ``architecture``, ``info``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model file not found")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise InputError(f"{path}: not a {MODEL_FORMAT} model file")
    architecture = payload["architecture"]
    raw_offset = None
    if "raw_keep" in architecture:  # the raw spectrum's dropout (training only) reads the standardisation
        raw_offset = (payload["mean"] / payload["std"]).numpy()
    model = MLP(**architecture, raw_offset=raw_offset)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    meta = {
        "mean": payload["mean"].numpy(),
        "std": payload["std"].numpy(),
        "labels": payload["labels"],
        "architecture": payload["architecture"],
        "info": payload["info"],
    }
    return model, meta


def track_outputs(model: MLP, store, track_id, mean, std, device="cpu", hidden_indices=(), batch_size=8192):
    """Softmax outputs (and optionally hidden activations) of every frame of one track.

    Parameters
    ----------
    hidden_indices : tuple of int
        0-based indices into the hidden activations to return, concatenated in that order (from
        the study's layer numbers: :attr:`mgrfaults.systems.names.SystemSpec.hidden_indices`).

    Returns
    -------
    probs : ndarray, shape (n_frames, n_classes)
    hidden : ndarray, shape (n_frames, sum of the layers' units), or None when ``layers`` is empty
    """
    x = (read_frames(store, track_id) - mean) / std
    probs, hidden = [], []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)).to(device)
            out, hid = model(xb, return_hidden=True)
            probs.append(torch.softmax(out, 1).cpu().numpy())
            if hidden_indices:
                hidden.append(torch.cat([hid[i] for i in hidden_indices], 1).cpu().numpy())
    probs = np.concatenate(probs) if probs else np.zeros((0, model.n_classes), np.float32)
    return probs, (np.concatenate(hidden) if hidden_indices and hidden else None)


# --------------------------------------------------------------------------------------------------
# one run from files (called by workflow/scripts/train_dnn.py)
# --------------------------------------------------------------------------------------------------


@dataclass
class NetRun:
    """One net's training run on one condition/fold, read from the run's files and initialised.

    Made by :func:`prepare_net_run`; trained by :func:`train_mlp` (alone) or
    :func:`mgrfaults.systems.stack.train_stack` (with others); written by :func:`save_net_run`.
    """

    spec: Any
    variant: dict
    data: dict
    seed: int
    params: TrainParams
    model: MLP
    train: FrameBatches
    valid: FrameBatches
    mean: np.ndarray
    std: np.ndarray
    label_order: list
    n_train_tracks: int
    store: Any


def prepare_net_run(store, partition_csv, metadata_csv, spec, variant: dict, data: dict, seed: int,
                    device, hf: dict | None = None, rbm: dict | None = None, stats: dict | None = None) -> NetRun:
    """Read a condition/fold's parts, build the net of ``spec`` and initialise it (RBM pre-training
    included when the net asks for it). The arguments are :func:`train_net_files`', and ``stats``: a dict
    that keeps each training part's standardisation statistics for the next net on the same part of
    ``store`` (a stack's nets of one condition and fold: one pass over the part instead of one a net)."""
    from mgrfaults.systems.rbm import pretrain_mlp

    parts, labels, label_order = run_parts(partition_csv, metadata_csv)
    stats = {} if stats is None else stats
    key = tuple(parts["train"])
    if key not in stats:
        stats[key] = standardisation_stats(store, parts["train"])
    mean, std = stats[key]
    hf = dict(hf or {})
    params = TrainParams.from_config(variant, optimizer=spec.optimizer, pretrain=spec.pretrain, rbm=dict(rbm or {}))
    if spec.optimizer == "hf":
        params.batch_size = int(hf.pop("batch_size", params.batch_size))
        params.hf = hf
    n_hidden = int(spec.hidden_layers)
    if not spec.dropout or params.optimizer == "hf":  # HF trains the net deterministically (hessian_free): none
        params.keep_probs, params.input_scales = [1.0] * (n_hidden + 1), [1.0] * (n_hidden + 1)
        params.raw_keep_prob, params.raw_input_scale = 1.0, 1.0
    common = dict(mean=mean, std=std, buffer_frames=data["buffer_frames"], cache_mb=data["cache_mb"])
    fraction = float(data["epoch_fraction"])
    n_train = sum(store.length(t) for t in parts["train"])
    train = FrameBatches(
        store, parts["train"], [labels[t] for t in parts["train"]], batch_size=params.batch_size,
        frames_per_epoch=None if fraction >= 1.0 else max(1, round(fraction * n_train)),
        seed=derive(seed, "shuffle"), shuffle=True, **common,
    )
    valid = FrameBatches(
        store, parts["valid"], [labels[t] for t in parts["valid"]], batch_size=8192,
        frames_per_epoch=data["valid_frames"], seed=derive(seed, "valid"), shuffle=False, **common,
    )
    hidden = [spec.hidden_units] * n_hidden
    model = MLP(len(mean), hidden, len(label_order), spec.activation, params.keep_probs, params.input_scales,
                raw_keep=params.raw_keep_prob, raw_scale=params.raw_input_scale, raw_offset=mean / std)
    init_mlp(model, params.init, params.init_range, seed=derive(seed, "init"))
    if params.pretrain:
        pretrain_mlp(model, train, device=device, seed=derive(seed, "rbm"), **params.rbm)
    return NetRun(spec, dict(variant), dict(data), int(seed), params, model, train, valid, mean, std, label_order,
                  len(parts["train"]), store)


def epoch_logger(net: str):
    """A ``log_fn`` for :func:`train_mlp`: one log line per epoch, naming the net."""

    def log_row(row):
        log.info(
            "%s epoch %d: loss %.4f train err %.4f valid err %.4f (%.1f s)",
            net, row["epoch"], row["loss"], row["train_frame_error"], row["valid_frame_error"], row["seconds"],
        )

    return log_row


def arithmetic_provenance(device) -> dict:
    """What decides a net's float rounding besides its seed, for its model file: torch's version, the CPU kernels
    it dispatches to (``torch.backends.cpu.get_cpu_capability()``: the vector width), its intra-op threads (a
    CPU matmul splits its sums by thread), and the GPU's name on CUDA. Training is a long chain of float
    operations: a net trained under another of these can end on other weights, and a small test part then on
    other excerpts right (README, "What the default shows")."""
    provenance = {"torch": str(torch.__version__), "cpu_kernels": str(torch.backends.cpu.get_cpu_capability()),
                  "threads": torch.get_num_threads()}
    if torch.device(device).type == "cuda":
        provenance["gpu"] = str(torch.cuda.get_device_name(torch.device(device)))
    return provenance


def save_net_run(run: NetRun, model: MLP, epochs: pd.DataFrame, model_out, log_out, device, seconds: float,
                 label: str | None = None, **info) -> None:
    """Write a trained net's model file (with what made it and ``info``) and its per-epoch log, atomically;
    log its best epoch under ``label`` (default: the net's name)."""
    params = run.params
    log.info("%s: best epoch %d of %d, %.1f s", label or run.spec.net, model.best_epoch, len(epochs), seconds)
    save_model(
        model_out, model.cpu(), run.mean, run.std, run.label_order,
        net=run.spec.net, seed=run.seed, optimizer=params.optimizer, training=dict(run.variant), hf=params.hf,
        dropout_applied=bool(min(params.keep_probs) < 1.0 or params.raw_keep_prob < 1.0),
        rbm=params.rbm, pretrain=bool(params.pretrain), batch_size=int(params.batch_size),
        data=dict(run.data), feature_params=dict(getattr(run.store, "params", {}) or {}),
        best_epoch=int(model.best_epoch), epochs=len(epochs), train_seconds=seconds,
        train_tracks=run.n_train_tracks, train_frames=run.train.n_frames, device=str(device),
        **arithmetic_provenance(device), **info,
    )
    write_csv_atomic(epochs, log_out)


def train_net_files(
    frame_paths,
    partition_csv,
    metadata_csv,
    spec,
    variant: dict,
    data: dict,
    seed: int,
    model_out,
    log_out,
    device=_SYSTEMS["device"],
    hf: dict | None = None,
    rbm: dict | None = None,
    expected_params=None,
    progress=False,
) -> pd.DataFrame:
    """Train the net of a parsed system on one condition/fold and write its model and log files.

    Parameters
    ----------
    frame_paths : list of path
        The frame feature shards.
    spec : SystemSpec
        :func:`mgrfaults.systems.names.parse_system` of the net name.
    variant : dict
        The variant's hyper-parameters (``systems.dnn.variants[spec.variant]``).
    data : dict
        ``systems.dnn`` data settings: ``epoch_fraction`` (share of the training frames per epoch,
        1.0: every frame), ``valid_frames``, ``buffer_frames``, ``cache_mb``, ``precision``, ``compile``. The
        number of hidden layers is ``spec.hidden_layers``.
    seed : int
        The run's seed (derived from the master seed, net, condition and fold).
    hf, rbm : dict, optional
        ``systems.dnn.hf`` (Hessian-free options; ``batch_size`` replaces the variant's) and
        ``systems.dnn.rbm`` (pre-training options), used by nets that ask for them.
    expected_params : dict, optional
        The frame extraction parameters of the config; a cache made with others is refused.
    """
    device = resolve_device(device)
    store = open_store(frame_paths, expected_params)
    t0 = time.perf_counter()
    run = prepare_net_run(store, partition_csv, metadata_csv, spec, variant, data, seed, device, hf, rbm)
    model, epochs = train_mlp(run.model, run.train, run.valid, run.params, seed=derive(seed, "dropout"), device=device,
                              progress=progress, log_fn=epoch_logger(spec.net), precision=data["precision"],
                              compiled=data["compile"])
    save_net_run(run, model, epochs, model_out, log_out, device, time.perf_counter() - t0)
    return epochs
