"""Device-resident SGD training of the study's MLPs: the training part held on the GPU whole.

On a GPU the streamed pipeline (:class:`mgrfaults.systems.dnn.FrameBatches` through ``prefetch``)
and even a plain in-memory loop are bound by per-step launch overhead: a 500-unit net's step at
batch 1200 is ~5 GFLOP, microseconds of a modern GPU's time, but some 35-50 kernel launches
(``benchmarks/step_ops.py``) and a host-to-device copy. Here the standardised training part
(GTZAN: 645k x 513 float32, 1.3 GB) is copied to the device once, each epoch's shuffle is a
``torch.randperm`` on the device, and the minibatch gather, forward, backward and momentum-SGD
update of ``steps_per_graph`` consecutive steps are captured in one CUDA graph that is replayed
(``torch.cuda.graphs``): the host issues a handful of launches per epoch instead of thousands.
In ``train_mlp`` (:class:`ResidentRun`) and ``train_stack`` each epoch's validation pass runs on a
side stream while the next epoch trains (:class:`ValidationPasses`).

The same code runs eagerly on a CPU (no graphs), with the same semantics, so it is tested
everywhere; the CPU training path of the workflow stays the streamed one.

Semantics, equal to :func:`mgrfaults.systems.dnn.train_epoch` with ``torch.optim.SGD`` over the
same batches: cross-entropy on the frames, momentum SGD without dampening (``buf = m * buf + g``;
``p -= lr * buf``), inverted dropout in training, every frame once per epoch (or a fresh random
subset of ``frames_per_epoch``) in minibatches of ``batch_size`` (the last one smaller). The batch
order differs from the streamed pipeline's (a device permutation of the whole part rather than a
shuffle buffer over shuffled tracks); it is seeded: ``derive(seed, "epoch", e)``.
"""

from __future__ import annotations

import contextlib
import copy
import gc

import numpy as np
import torch
from torch import nn

from mgrfaults.seeds import derive
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DNN = section_defaults("systems.dnn")

#: share of the device's free memory the resident parts may take (the rest: weights, activations)
MEMORY_SHARE = 0.6


def part_bytes(n_frames: int, dim: int) -> int:
    """Device bytes of a resident part: float32 frames, int64 labels and the int64 permutation."""
    return int(n_frames) * (int(dim) * 4 + 16)


def fits(batches_list, device, share: float = MEMORY_SHARE) -> bool:
    """True when the frames of every :class:`FrameBatches` in ``batches_list`` fit on ``device``.

    CPU: always (the frames are then held in RAM). CUDA: their :func:`part_bytes` within ``share``
    of the free device memory.
    """
    device = torch.device(device)
    need = sum(part_bytes(b.n_frames, b.dim) for b in batches_list)
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return need <= share * free


def resident_part(batches, device, chunk_frames: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """The standardised frames and labels of a part, on ``device``.

    Parameters
    ----------
    batches : FrameBatches
        All its frames, track by track in its track order (a validation part's, ``shuffle=False``,
        are then exactly those of ``batches.epoch(0)``, in order); a validation part capped by
        ``frames_per_epoch``: the subset the streamed pipeline evaluates, from ``batches.epoch(0)``.
    device : torch.device
        The tracks are read in chunks of about ``chunk_frames`` frames into a host buffer and each
        chunk is copied to the device. On a CPU the chunk is standardised while in cache. On CUDA
        there are two pinned buffers, so each chunk's copy overlaps the reading of the next, and the
        part is standardised on the device (the same float32 subtraction and multiplication as on
        the host, so the same values).
    chunk_frames : int
        Frames per chunk (host memory: one or two chunks, or the longest track).

    Returns
    -------
    x : Tensor, float32, shape (n_frames, dim)
    y : Tensor, int64, shape (n_frames,)
    """
    device = torch.device(device)
    if not batches.shuffle and batches.frames_per_epoch:
        return _capped_part(batches, device)
    x = torch.empty((batches.n_frames, batches.dim), dtype=torch.float32, device=device)
    y = torch.from_numpy(np.repeat(batches.labels, batches.lengths)).to(device)
    cuda = device.type == "cuda"
    rows = max(int(chunk_frames), int(batches.lengths.max(initial=0)))
    stages = [torch.empty((rows, batches.dim), dtype=torch.float32, pin_memory=cuda) for _ in range(1 + cuda)]
    copied = [None] * len(stages)  # on CUDA: the event after which a stage may be refilled
    read_into = getattr(batches.store, "read_into", None)
    current = filled = pos = 0

    def flush():
        chunk = stages[current][:filled]
        if cuda:
            x[pos - filled : pos].copy_(chunk, non_blocking=True)
            copied[current] = torch.cuda.Event()
            copied[current].record(torch.cuda.current_stream(device))
        else:
            batches._standardise(chunk.numpy())
            x[pos - filled : pos].copy_(chunk)

    for tid, n in zip(batches.track_ids, batches.lengths):
        n = int(n)
        if filled + n > rows:
            flush()
            current, filled = (current + 1) % len(stages), 0
            if copied[current] is not None:
                copied[current].synchronize()
        batches._read_track(read_into, tid, stages[current].numpy()[filled:])  # the streamed epochs' reader
        filled += n
        pos += n
    if filled:
        flush()
    if cuda:
        x.sub_(torch.from_numpy(batches.mean).to(device)).mul_(torch.from_numpy(batches.inv_std).to(device))
        torch.cuda.current_stream(device).synchronize()  # every copy out of the pinned stages done before they go
    return x, y


def _capped_part(batches, device) -> tuple[torch.Tensor, torch.Tensor]:
    # a capped validation subset: the frames the streamed evaluation draws, in its order
    xs, ys = zip(*batches.epoch(0)) if len(batches) else ((), ())
    n = int(sum(len(y) for y in ys))
    x = torch.empty((n, batches.dim), dtype=torch.float32, device=device)
    y = torch.empty(n, dtype=torch.int64, device=device)
    pos = 0
    for xb, yb in zip(xs, ys):
        x[pos : pos + len(yb)].copy_(torch.from_numpy(np.ascontiguousarray(xb)))
        y[pos : pos + len(yb)].copy_(torch.from_numpy(np.ascontiguousarray(yb)))
        pos += len(yb)
    return x, y


class CapturedSteps:
    """Training steps replayed from CUDA graphs on a GPU and run eagerly elsewhere.

    The machinery shared by :class:`ResidentSGD` (one net) and
    :class:`mgrfaults.systems.stack.StackedSGD` (several nets at once). A subclass sets up its device
    tensors, calls :meth:`_init_steps`, and defines ``_step()`` (one full step, reading only device
    state, so it can be captured), ``_trained_state()`` (the tensors a step changes: parameters and
    momentum buffers, restored after the capture's warm-up) and ``_warm_up_rows()`` (makes the
    first three steps read valid rows).
    """

    def _init_steps(self, device, batch_size, use_graphs, steps_per_graph, precision, has_frames):
        if precision not in ("fp32", "tf32", "bf16"):
            raise ValueError(f"precision: fp32, tf32 or bf16, got {precision!r}")
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self.use_graphs = (cuda if use_graphs is None else bool(use_graphs and cuda)) and has_frames
        self.steps_per_graph = max(int(steps_per_graph), 1)
        self.precision = precision if cuda else "fp32"
        self.batch_size = int(batch_size)
        self.offsets = torch.arange(self.batch_size, device=self.device)
        # the batch positions of the next full step: a device counter the graphs advance (one kernel a
        # step, where an index times the batch size plus the offsets took three)
        self.rows = self.offsets.clone()
        self._graphs = None

    def _rewind(self) -> None:
        """The next full step is step 0 (its rows: ``0 .. batch_size - 1``)."""
        self.rows.copy_(self.offsets)

    def _advance(self) -> None:
        """After a full step: the next one reads the following ``batch_size`` positions."""
        self.rows.add_(self.batch_size)

    def _tf32(self):
        # TF32 for the forward and the backward matmuls of a "tf32" step only
        return tf32_matmuls(self.precision == "tf32")

    def _autocast(self):
        return bf16_autocast(self.precision == "bf16")

    def _capture(self):
        # Dead reference cycles are collected first and the collector is off while capturing: an object
        # freed inside a capture (a finished trainer's graphs and their memory pool, an event) makes
        # CUDA calls that a capture forbids, and the capture fails (seen on an H200: a cuBLASLt matmul
        # of the capture failed, then every later capture of the process). Warm-up on a side stream
        # (as torch.cuda.graphs requires), then every state it touched restored.
        gc.collect()
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._capture_steps()
        finally:
            if collecting:
                gc.enable()

    def _capture_steps(self):
        saved = [t.detach().clone() for t in self._trained_state()]
        self._warm_up_rows()
        self._rewind()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self._step()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graphs = {}
        pool = None
        for k in sorted({self.steps_per_graph, 1}, reverse=True):
            self._rewind()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g, pool=pool):
                for _ in range(k):
                    self._step()
            pool = g.pool()
            graphs[k] = g
        torch.cuda.synchronize(self.device)
        with torch.no_grad():
            for t, s in zip(self._trained_state(), saved):
                t.copy_(s)
        self._graphs = graphs

    def _ensure_graphs(self) -> None:
        """Capture the graphs once, before an epoch's rows are written (the warm-up overwrites them)."""
        if self.use_graphs and self._graphs is None:
            self._capture()

    def _run_steps(self, n_steps: int) -> None:
        """``n_steps`` full steps from step 0: graph replays on a GPU (after :meth:`_ensure_graphs`),
        eager steps elsewhere."""
        self._rewind()
        if self.use_graphs:
            k = self.steps_per_graph
            for _ in range(n_steps // k):
                self._graphs[k].replay()
            for _ in range(n_steps % k):
                self._graphs[1].replay()
        else:
            for _ in range(n_steps):
                self._step()


class ResidentSGD(CapturedSteps):
    """Momentum-SGD training of ``model`` on a device-resident part, CUDA-graph captured on a GPU.

    Parameters
    ----------
    model : MLP
        On ``device``; trained in place (its parameters are the graphs' tensors).
    x, y : Tensor
        The part's standardised frames (n, dim) float32 and labels (n,) int64, on ``device``.
    batch_size : int
        Frames per step (the study: 1200).
    frames_per_epoch : int, optional
        Frames per epoch, a fresh random subset each epoch; None: all.
    seed : int
        Epoch ``e`` shuffles with ``derive(seed, "epoch", e)`` (a generator on the device).
    use_graphs : bool, optional
        Capture the steps in CUDA graphs; default: on CUDA devices.
    steps_per_graph : int
        Consecutive steps captured in one graph (fewer replays; the last ``< steps_per_graph``
        full steps replay a one-step graph, a smaller last batch runs eagerly).
    precision : {"fp32", "tf32", "bf16"}
        Matmul precision of the step: fp32 (the default, as on a CPU), TF32 tensor cores, or bf16
        autocast (weights and updates stay float32). Only on CUDA; a CPU always computes in fp32.
    compiled : bool or str
        Compile the step's forward and loss (and so its backward) and its update with
        ``torch.compile`` before any graph capture: the elementwise work of a step (bias, ReLU,
        dropout masks and their scaling, their gradients, the momentum update) fused into a few
        generated kernels between the matmuls. The same semantics up to float rounding, but the
        dropout masks come from the generated kernels' own random streams, so a net with dropout
        does not train bit for bit as uncompiled. Costs a compilation (2-10 s a net on an H200) for
        the full batch (a smaller last batch runs uncompiled); a later trainer of a net of the same
        shape and dropout in the process reuses it, one of another configuration compiles again, up
        to ``torch._dynamo.config.recompile_limit`` (8) configurations a process, after which they run
        uncompiled. In the workflow: ``systems.dnn.compile``; ``benchmarks/train.py --compiled``.
        A string names Inductor's mode (:func:`compile_mode`): ``"max-autotune-no-cudagraphs"`` also
        tunes the matmuls (Triton kernels, their bias and ReLU fused, against cuBLAS), at a longer compilation.
    """

    def __init__(self, model, x, y, batch_size=1200, frames_per_epoch=None, seed=0, use_graphs=None,
                 steps_per_graph=16, precision=_DNN["precision"], compiled=False):
        self.model, self.x, self.y = model, x, y
        self.n = len(y)
        self._init_steps(x.device, batch_size, use_graphs, steps_per_graph, precision, self.n > 0)
        self.frames_per_epoch = None if frames_per_epoch is None else min(int(frames_per_epoch), self.n)
        self.seed = int(seed)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.bufs = [torch.zeros_like(p) for p in self.params]
        self.lr = torch.zeros((), dtype=torch.float32, device=self.device)
        self.momentum = torch.zeros((), dtype=torch.float32, device=self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.ones = torch.ones((), dtype=torch.float32, device=self.device)  # d loss / d loss
        # room for the warm-up steps of the graph capture too, on a part smaller than 3 batches
        self.perm = torch.zeros(max(self.n, 3 * self.batch_size), dtype=torch.int64, device=self.device)
        # each position's predicted class: the epoch's frame error is counted once, after its steps
        self.predicted = torch.zeros_like(self.perm)
        self._launched = None  # the frames of the epoch launch_epoch queued last, in their order
        # module functions, not bound methods: a trainer holding its own methods would be a reference cycle,
        # freed (its graphs and its part with it) only by the cyclic collector, at any moment, a later
        # trainer's graph capture included
        mode = compile_mode(compiled)
        self._loss = torch.compile(batch_loss, dynamic=False, mode=mode) if compiled else batch_loss
        self._update = torch.compile(momentum_update, dynamic=False, mode=mode) if compiled else momentum_update

    def set_hyper(self, learning_rate: float, momentum: float) -> None:
        """Learning rate and momentum of the following steps (device scalars, read by the graphs)."""
        self.lr.fill_(float(learning_rate))
        self.momentum.fill_(float(momentum))

    def _trained_state(self):
        return self.params + self.bufs

    def _warm_up_rows(self):
        warm = 3 * self.batch_size
        self.perm[:warm].copy_(torch.arange(warm, device=self.device).remainder(self.n))

    def _step(self, rows=None):
        # rows: positions in the permutation; None: the next full batch (self.rows: graph-safe, no host values)
        full = rows is None
        if full:
            rows = self.rows
        # a smaller last batch runs uncompiled: one compilation per trainer (a second shape would compile again)
        loss_of, update = (self._loss, self._update) if full else (batch_loss, momentum_update)
        idx = self.perm.index_select(0, rows)
        xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)
        with self._tf32():
            loss, predicted = loss_of(self.model, xb, yb, self.precision == "bf16")
            grads = torch.autograd.grad(loss, self.params, grad_outputs=self.ones)  # no fill of a seed each step
        with torch.no_grad():
            update(self.params, self.bufs, grads, self.momentum, self.lr)
            self.loss_sum.add_(loss.detach(), alpha=len(yb))
            self.predicted.index_copy_(0, rows, predicted)
            if full:
                self._advance()

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The frames (row indices of ``x``) of epoch ``epoch`` in their training order."""
        return epoch_order(self.n, self.seed, epoch, self.frames_per_epoch, self.device)

    def train_epoch(self, epoch: int) -> tuple[float, float, int]:
        """One pass of minibatch updates (training mode). Returns loss, frame error, frames (as train_epoch)."""
        self.launch_epoch(epoch)
        return self.epoch_result()

    def launch_epoch(self, epoch: int) -> None:
        """Queue epoch ``epoch``'s steps (on a GPU the host goes on while they run); :meth:`epoch_result`
        reads its result, before the next launch."""
        self.model.train()
        self._ensure_graphs()
        order = self.epoch_order(epoch)
        n = len(order)
        self.perm[:n].copy_(order)
        self.loss_sum.zero_()
        n_full = n // self.batch_size
        self._run_steps(n_full)
        if n > n_full * self.batch_size:
            self._step(torch.arange(n_full * self.batch_size, n, device=self.device))
        self._launched = order

    def epoch_result(self) -> tuple[float, float, int]:
        """Mean loss, frame error and frames of the epoch :meth:`launch_epoch` queued (waits for it)."""
        order, n = self._launched, len(self._launched)
        errors = (self.predicted[:n] != self.y.index_select(0, order)).sum()
        return float(self.loss_sum) / max(n, 1), float(errors) / max(n, 1), n


#: torch.compile modes for a step that is captured afterwards: "reduce-overhead" and "max-autotune" would
#: capture CUDA graphs of their own, inside ours
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")


def compile_mode(compiled) -> str | None:
    """The ``torch.compile`` mode of a ``compiled`` setting: True -> None (the default mode), or one of
    :data:`COMPILE_MODES`; False -> None (nothing compiled)."""
    if isinstance(compiled, bool) or compiled is None:
        return None
    if compiled not in COMPILE_MODES:
        raise ValueError(f"compiled: True, False or one of {', '.join(COMPILE_MODES)}, got {compiled!r}")
    return None if compiled == "default" else compiled


@contextlib.contextmanager
def tf32_matmuls(enabled: bool):
    """float32 matmuls on TF32 tensor cores inside when ``enabled``, in full fp32 otherwise; the setting
    (``torch.backends.cuda.matmul.allow_tf32``) restored after."""
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = bool(enabled)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def bf16_autocast(enabled: bool):
    """bf16 autocast on CUDA when ``enabled`` (else no autocast), without the cast cache, which a CUDA graph
    cannot hold."""
    if enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)
    return contextlib.nullcontext()


def batch_loss(model, xb, yb, bf16: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean cross-entropy of ``model`` on a batch ``xb`` (n, dim), ``yb`` (n,), and each frame's predicted class.

    ``bf16``: the forward pass under bf16 autocast (:func:`bf16_autocast`).
    """
    with bf16_autocast(bf16):
        out = model(xb)
    return nn.functional.cross_entropy(out.float(), yb), out.detach().argmax(1)


def momentum_update(params, bufs, grads, momentum, lr) -> None:
    """Momentum SGD without dampening, in place: ``buf = momentum * buf + grad``; ``p -= lr * buf``.

    Multi-tensor kernels: 4 launches for all the parameters rather than 4 per tensor (a graph replays its
    kernels back to back, and at the study's sizes their count, not their FLOPs, bounds a step).
    ``momentum`` and ``lr`` are device scalars (read at each replay of a captured step).
    """
    torch._foreach_mul_(bufs, momentum)
    torch._foreach_add_(bufs, grads)
    torch._foreach_sub_(params, torch._foreach_mul(bufs, lr))


def epoch_order(n: int, seed: int, epoch: int, frames_per_epoch=None, device="cpu") -> torch.Tensor:
    """Rows ``0..n-1`` of a part in the training order of epoch ``epoch``: a permutation seeded by
    ``derive(seed, "epoch", epoch)`` on ``device``, cut to its first ``frames_per_epoch`` (None: all)."""
    gen = torch.Generator(device=device).manual_seed(derive(seed, "epoch", int(epoch)))
    order = torch.randperm(int(n), generator=gen, device=device)
    return order[:frames_per_epoch] if frames_per_epoch else order


def resident_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int):
    """In-order ``(x, y)`` slices of a resident part (for :func:`mgrfaults.systems.dnn.frame_error`)."""
    for start in range(0, len(y), int(batch_size)):
        yield x[start : start + batch_size], y[start : start + batch_size]


#: bytes of one layer's activations in a validation batch of a resident part. A pass is bound by its kernel
#: launches, not its arithmetic: in 8192-frame batches a 250-track part (322k frames) is 40 batches, 522
#: operations (benchmarks/step_ops.py), about 15 ms a pass on an H200 for a 50- or a 500-unit net alike
#: (grid_replay's validation_pass_s), 11-13 % of a 50-unit net's 0.115 s epoch. At 128 MiB a 513-wide layer
#: takes 65k frames: 5 batches, 67 operations.
VALID_ACTIVATION_BYTES = 128 << 20


def valid_batch_size(model) -> int:
    """Frames per validation batch of ``model`` (an MLP) on a resident part: ``VALID_ACTIVATION_BYTES``
    of float32 activations in its widest layer, inputs included, at least 8192 frames."""
    widest = max([model.layers[0].in_features] + [layer.out_features for layer in model.layers])
    return max(8192, VALID_ACTIVATION_BYTES // (4 * widest))


def validation_batches(model, x: torch.Tensor, y: torch.Tensor):
    """:func:`resident_batches` of a validation part of ``model``, in :func:`valid_batch_size` frames."""
    return resident_batches(x, y, valid_batch_size(model))


class ValidationPasses:
    """Validation passes over resident parts: on a GPU on a side stream, while the next epoch trains.

    ``snapshot(copy)`` runs ``copy()``, which copies the parameters to validate into the models of the
    passes, on the current stream, and marks that point of the stream. ``start(jobs)`` then queues the
    pass of each ``(model, x, y)`` on the side stream, to run once the copy is done, whatever the current
    stream queued since (the next epoch's steps: launched first, they keep the GPU busy while the host
    launches the passes). ``results(started)`` waits for the passes and returns their mean cross-entropy
    and frame error. On a CPU ``start`` runs the passes at once.

    The models of a pass are neither read by the training steps nor copied into again before
    ``results`` of the pass has been read.
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.side = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        self.copied = None

    def snapshot(self, copy) -> None:
        """Run ``copy()`` (no grad) on the current stream; the next :meth:`start` waits for it."""
        with torch.no_grad():
            copy()
        if self.side is not None:
            self.copied = torch.cuda.Event()
            self.copied.record(torch.cuda.current_stream(self.device))

    def start(self, jobs) -> tuple:
        """Queue a pass of each ``(model, x, y)`` of ``jobs`` after the last :meth:`snapshot`."""
        from mgrfaults.systems.dnn import frame_error_sums

        def passes():
            return [frame_error_sums(model, validation_batches(model, x, y), self.device) for model, x, y in jobs]

        if self.side is None:
            return passes(), None
        self.side.wait_event(self.copied)
        with torch.cuda.stream(self.side):
            sums = passes()
            done = torch.cuda.Event()
            done.record(self.side)
        return sums, done

    @staticmethod
    def results(started) -> list[tuple[float, float]]:
        """Each pass's mean cross-entropy and frame error, in the order of its ``jobs`` (waits for them)."""
        sums, done = started
        if done is not None:
            done.synchronize()
        return [(float(loss_sum) / max(n, 1), float(err_sum) / max(n, 1)) for loss_sum, err_sum, n in sums]

    def drain(self) -> None:
        """Wait for any pass still running (before the memory it reads goes back to the allocator)."""
        if self.side is not None:
            self.side.synchronize()


class ResidentRun:
    """The resident training of one run (train and validation parts on the device), for ``train_mlp``.

    Built by :func:`resident_run`. ``train_epoch(epoch, lr, momentum)`` replaces the streamed epoch;
    ``train_epoch_validating(...)`` also validates the parameters the epoch starts from, meanwhile
    (:class:`ValidationPasses`: on a GPU on a side stream), on a copy of them, :attr:`validated_model`;
    ``start_validation()`` validates the current parameters; ``valid_result(started)`` waits for a pass
    and returns its mean loss and frame error.
    """

    def __init__(self, model, train, valid, batch_size, device, **options):
        x, y = resident_part(train, device)
        self.valid_x, self.valid_y = resident_part(valid, device)
        self.model = model
        self.trainer = ResidentSGD(model, x, y, batch_size, train.frames_per_epoch, train.seed, **options)
        #: the parameters under validation (the trained model goes on to the next epoch)
        self.validated_model = copy.deepcopy(model).eval()
        self.passes = ValidationPasses(self.trainer.device)
        self._validation = [(self.validated_model, self.valid_x, self.valid_y)]  # the one pass of each epoch

    def train_epoch(self, epoch, learning_rate, momentum):
        self.trainer.set_hyper(learning_rate, momentum)
        return self.trainer.train_epoch(epoch)

    def train_epoch_validating(self, epoch, learning_rate, momentum):
        """Train epoch ``epoch`` and validate the parameters it starts from (those of the epoch before).

        Returns the epoch's (loss, frame error, frames) and the started pass (for :meth:`valid_result`,
        to be read before the next call)."""
        self.trainer.set_hyper(learning_rate, momentum)
        self.passes.snapshot(self._keep_parameters)
        self.trainer.launch_epoch(epoch)
        started = self.passes.start(self._validation)
        return self.trainer.epoch_result(), started

    def start_validation(self):
        """Start validating the model's parameters now; returns what :meth:`valid_result` reads."""
        self.passes.snapshot(self._keep_parameters)
        return self.passes.start(self._validation)

    def _keep_parameters(self):
        for kept, current in zip(self.validated_model.state_dict().values(), self.model.state_dict().values()):
            kept.copy_(current)

    def valid_batches(self):
        return validation_batches(self.model, self.valid_x, self.valid_y)

    def drain(self) -> None:
        """Wait for any validation pass still running (before the run's tensors are let go)."""
        self.passes.drain()

    @staticmethod
    def valid_result(started) -> tuple[float, float]:
        """Mean cross-entropy and frame error of a validation pass begun by :meth:`start_validation`."""
        return ValidationPasses.results(started)[0]


def resident_run(model, train, valid, params, device, resident=None, **options):
    """A :class:`ResidentRun` when the resident path applies, else None (the streamed pipeline).

    ``resident``: None picks it for SGD on a CUDA device when both parts :func:`fit`; True forces it
    (SGD only, any device: tests, CPU benchmarks); False never.
    """
    device = torch.device(device)
    if resident is False or params.optimizer != "sgd":
        return None
    if resident is None and not (device.type == "cuda" and fits([train, valid], device)):
        return None
    return ResidentRun(model, train, valid, params.batch_size, device, **options)
