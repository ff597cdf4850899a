"""Several nets of one shape trained at once on one device: stacked weights, one batched matmul per layer.

On a GPU a step of one of the study's nets is bound by the count of its small kernels, not by its
FLOPs: with every step replayed from a CUDA graph a 500-unit net at batch 1200 used 21 % of an
H200's fp32 peak, a 50-unit net about 1 % (issue 15, README "Training on a GPU"). Nets that share a
shape (inputs, hidden units and layers, activation, classes, batch size) are trained here as one
stack: layer ``l`` of net ``k`` is ``W[l][k]`` of a ``(K, n_in, n_out)`` tensor, and a step runs the
kernels of one net's step, each doing the work of K nets (``torch.baddbmm``). The nets may train on
different parts (conditions, folds) and differ in every numeric hyper-parameter: learning rate,
momentum and their schedules, dropout keep probabilities and scales, patience, epochs; each has its
own seeded batch order and its own early stopping.

Per net the semantics are those of :class:`mgrfaults.systems.resident.ResidentSGD` with the same
seed: the same batches in the same order (epoch ``e``'s permutation is seeded by
``derive(seed, "epoch", e)``), mean cross-entropy over each batch (the last one smaller), momentum
SGD without dampening. A net whose epoch has fewer batches than the stack's longest sits the extra
steps out: its padded rows carry weight 0 and its update is gated off (parameters and momentum
unchanged). The dropout masks of a stack come from one generator (seeded), so a net's masks differ
from those of its solo run; without dropout a net's parameters equal its solo run's up to float
rounding (tests/test_stack.py). When a net stops, the stack is rebuilt without it, momentum carried.

The same code runs eagerly on a CPU (tested everywhere); the workflow stacks nets on a GPU only
(``systems.dnn.stack``), since a CPU step is bound by FLOPs and gains nothing from it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from mgrfaults.config import section_defaults
from mgrfaults.errors import InputError
from mgrfaults.seeds import derive
from mgrfaults.systems.dnn import (EarlyStopping, RawSpectrumDropout, epoch_hyper, epoch_logger, prepare_net_run,
                                   resolve_device, save_net_run, train_mlp)
from mgrfaults.systems.parts import open_store
from mgrfaults.systems.resident import CapturedSteps, ValidationPasses, epoch_order, fits, resident_part

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DNN = section_defaults("systems.dnn")
_SYSTEMS = section_defaults("systems")

log = logging.getLogger(__name__)


def mlp_shape(model) -> tuple:
    """What nets must share to be stacked: inputs, hidden units, classes and activation."""
    return (model.n_inputs, tuple(model.hidden_units), model.n_classes, model.activation)


@dataclass
class PartStack:
    """The training parts of a stack's nets in one device tensor: net ``k``'s frames are rows
    ``starts[k] : starts[k] + lengths[k]`` of ``x`` (standardised, float32, (n, dim)) and ``y`` (int64)."""

    x: torch.Tensor
    y: torch.Tensor
    starts: list
    lengths: list

    @classmethod
    def of(cls, parts) -> "PartStack":
        """From each net's ``(x, y)`` (:func:`mgrfaults.systems.resident.resident_part`); nets that pass
        the same tensors (RS and RSD of one condition and fold) share their rows, held once."""
        blocks, starts, lengths = {}, [], []
        for x, y in parts:
            if id(x) not in blocks:
                blocks[id(x)] = (sum(len(b[2]) for b in blocks.values()), x, y)
            starts.append(blocks[id(x)][0])
            lengths.append(len(y))
        if len(blocks) == 1:
            (_, x, y), = blocks.values()
        else:  # one copy: the caller drops its separate parts
            x, y = torch.cat([b[1] for b in blocks.values()]), torch.cat([b[2] for b in blocks.values()])
        return cls(x, y, starts, lengths)

    def select(self, nets) -> "PartStack":
        """The parts of nets ``nets`` (indices), sharing this stack's tensors."""
        return PartStack(self.x, self.y, [self.starts[k] for k in nets], [self.lengths[k] for k in nets])


class StackedSGD(CapturedSteps):
    """Momentum-SGD training of K same-shape MLPs at once on device-resident parts.

    Parameters
    ----------
    models : list of MLP
        K nets of one :func:`mlp_shape`, on ``device``. Their parameters are copied into the stack;
        :meth:`write_back` copies them out again.
    parts : PartStack
        Every net's standardised training frames and labels on the device, in one tensor
        (:meth:`PartStack.of`).
    batch_size : int
        Frames per step, for every net (the study: 1200).
    seeds : list of int
        Net ``k``'s epoch ``e`` is ordered by ``derive(seeds[k], "epoch", e)``.
    frames_per_epoch : list of (int or None), optional
        Net ``k``'s frames per epoch, a fresh random subset each epoch; None: all its frames.
    buffers : list of (list of Tensor or None), optional
        Net ``k``'s momentum buffers in the stack's layout (:meth:`buffers`), to resume; None: zeros.
    use_graphs, steps_per_graph, precision
        As :class:`mgrfaults.systems.resident.ResidentSGD`.
    """

    def __init__(self, models, parts, batch_size, seeds, frames_per_epoch=None, buffers=None, use_graphs=None,
                 steps_per_graph=16, precision=_DNN["precision"]):
        self.k = len(models)
        if self.k == 0 or len(parts.starts) != self.k or len(seeds) != self.k:
            raise ValueError(f"StackedSGD: one part and one seed per net needed, got {self.k} nets, "
                             f"{len(parts.starts)} parts, {len(seeds)} seeds")
        shapes = {mlp_shape(m) for m in models}
        if len(shapes) > 1:
            raise ValueError(f"StackedSGD: the nets of a stack share one shape, got {sorted(shapes)}")
        first = models[0]
        device = next(first.parameters()).device
        self.seeds = [int(s) for s in seeds]
        self.activation = nn.functional.relu if first.activation == "relu" else torch.sigmoid
        self.n_classes = first.n_classes
        self.x, self.y, self.starts, self.n = parts.x, parts.y, list(parts.starts), list(parts.lengths)
        fpe = frames_per_epoch or [None] * self.k
        self.epoch_frames = [n if f is None else min(int(f), n) for n, f in zip(self.n, fpe)]
        self.frames_per_epoch = [None if f is None else min(int(f), n) for n, f in zip(self.n, fpe)]
        self._init_steps(device, batch_size, use_graphs, steps_per_graph, precision, min(self.n) > 0)
        self.n_steps = max(-(-n // self.batch_size) for n in self.epoch_frames)
        width = max(self.n_steps, 3) * self.batch_size  # room for the capture's 3 warm-up steps
        self.index = torch.zeros((self.k, width), dtype=torch.int64, device=self.device)
        self.weight = torch.zeros((self.k, width), dtype=torch.float32, device=self.device)
        # each net's predicted class at each position: its frame error is counted once an epoch
        self.predicted = torch.zeros_like(self.index)
        with torch.no_grad():
            self.W = [torch.stack([m.layers[i].weight.detach().t() for m in models]).contiguous()
                      for i in range(len(first.layers))]
            self.b = [torch.stack([m.layers[i].bias.detach() for m in models]).unsqueeze(1).contiguous()
                      for i in range(len(first.layers))]
        self.params = [t.requires_grad_() for pair in zip(self.W, self.b) for t in pair]
        if buffers is None:
            buffers = [None] * self.k
        self.bufs = [torch.zeros_like(p) for p in self.params]
        with torch.no_grad():
            for k, net_bufs in enumerate(buffers):
                for buf, saved in zip(self.bufs, net_bufs or ()):
                    buf[k].copy_(saved)

        def per_net(values):
            return torch.tensor(values, dtype=torch.float32, device=self.device).view(self.k, 1, 1)

        # dropout on the inputs of layer i, for the layers where some net of the stack has it
        self.keep = [per_net([m.keep_probs[i] for m in models]) for i in range(len(first.layers))]
        self.scale = [per_net([m.input_scales[i] for m in models]) for i in range(len(first.layers))]
        self.dropout_layers = {
            i for i in range(len(first.layers))
            if any(m.keep_probs[i] != 1.0 or m.input_scales[i] != 1.0 for m in models)
        }
        # the raw spectrum's dropout before standardising (RawSpectrumDropout), where some net has it: a net
        # without it keeps every bin at scale 1 with offset 0, its input unchanged
        self.raw_dropout = any(isinstance(m.raw_dropout, RawSpectrumDropout) for m in models)
        if self.raw_dropout:
            self.raw_keep = per_net([m.raw_keep for m in models])
            self.raw_scale = per_net([m.raw_scale for m in models])
            self.raw_offset = torch.stack([
                m.raw_dropout.offset.to(self.device) if isinstance(m.raw_dropout, RawSpectrumDropout)
                else torch.zeros(first.n_inputs, device=self.device) for m in models]).unsqueeze(1)
        self.lr = torch.zeros((self.k, 1, 1), dtype=torch.float32, device=self.device)
        self.momentum = torch.zeros((self.k, 1, 1), dtype=torch.float32, device=self.device)
        self.loss_sum = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        self.ones = torch.ones(self.k, dtype=torch.float32, device=self.device)  # d (sum of losses) / d loss

    def set_hyper(self, learning_rates, momenta) -> None:
        """Each net's learning rate and momentum for the following steps (device tensors the graphs read)."""
        self.lr.copy_(torch.tensor(learning_rates, dtype=torch.float32).view(self.k, 1, 1))
        self.momentum.copy_(torch.tensor(momenta, dtype=torch.float32).view(self.k, 1, 1))

    def forward(self, x: torch.Tensor, train: bool = False) -> torch.Tensor:
        """Logits (K, batch, n_classes) of every net for inputs ``x`` (K, batch, dim); dropout when ``train``."""
        h = x
        if train and self.raw_dropout:
            kept = torch.bernoulli(self.raw_keep.expand(h.shape)) * self.raw_scale  # m s of each net's bins
            h = h * kept + self.raw_offset * (kept - 1.0)
        for i, (w, b) in enumerate(zip(self.W, self.b)):
            if train and i in self.dropout_layers:
                # pylearn2's dropout per net: keep with probability keep[k], scale the kept units by scale[k]
                h = h * (torch.bernoulli(self.keep[i].expand(h.shape)) * self.scale[i])
            h = torch.baddbmm(b, h, w)
            if i < len(self.W) - 1:
                h = self.activation(h)
        return h

    def _trained_state(self):
        return self.params + self.bufs

    def _warm_up_rows(self):
        self.index.zero_()
        self.weight.fill_(1.0)

    def _step(self):
        k, size, rows = self.k, self.batch_size, self.rows
        idx = self.index.index_select(1, rows)  # (K, batch) rows of self.x
        weight = self.weight.index_select(1, rows)  # 1: a frame of the net's epoch, 0: padding
        xb = self.x.index_select(0, idx.view(-1)).view(k, size, -1)
        yb = self.y.index_select(0, idx.view(-1)).view(k, size)
        with self._tf32():
            with self._autocast():
                out = self.forward(xb, train=True)
            ce = nn.functional.cross_entropy(out.float().view(k * size, -1), yb.view(-1), reduction="none")
            count = weight.sum(1)
            loss = (ce.view(k, size) * weight).sum(1) / count.clamp_min(1.0)  # each net's mean over its frames
            # nets share no parameter: each gets its own (as from the sum of the losses, without its kernels)
            grads = torch.autograd.grad(loss, self.params, grad_outputs=self.ones)
        with torch.no_grad():
            active = (count > 0).view(k, 1, 1)  # a net past its epoch's end keeps parameters and momentum
            momentum = torch.where(active, self.momentum, 1.0)
            lr = self.lr * active
            torch._foreach_mul_(self.bufs, [momentum] * len(self.bufs))
            torch._foreach_add_(self.bufs, grads)
            torch._foreach_sub_(self.params, torch._foreach_mul(self.bufs, [lr] * len(self.bufs)))
            # in float64: a float32 loss times a frame count (< 2**29) is exact, so one fused kernel
            self.loss_sum.addcmul_(loss.detach(), count)
            self.predicted.index_copy_(1, rows, out.detach().argmax(-1))
            self._advance()

    def epoch_orders(self, epoch: int) -> list[torch.Tensor]:
        """Each net's frames (rows of its part) in epoch ``epoch``'s training order."""
        return [epoch_order(n, seed, epoch, f, self.device)
                for n, seed, f in zip(self.n, self.seeds, self.frames_per_epoch)]

    def train_epoch(self, epoch: int) -> list[tuple[float, float, int]]:
        """One epoch of every net. Returns each net's mean loss, frame error and frames (as ``train_epoch``)."""
        self.launch_epoch(epoch)
        return self.epoch_results()

    def launch_epoch(self, epoch: int) -> None:
        """Queue epoch ``epoch``'s steps of every net (on a GPU the host goes on while they run);
        :meth:`epoch_results` reads them, before the next launch."""
        self._ensure_graphs()
        with torch.no_grad():
            for k, order in enumerate(self.epoch_orders(epoch)):
                self.index[k, : len(order)] = order + self.starts[k]
                self.index[k, len(order):] = self.starts[k]  # padding: a valid row, weight 0
                self.weight[k, : len(order)] = 1.0
                self.weight[k, len(order):] = 0.0
        self.loss_sum.zero_()
        self._run_steps(self.n_steps)

    def epoch_results(self) -> list[tuple[float, float, int]]:
        """Each net's mean loss, frame error and frames of the epoch :meth:`launch_epoch` queued (waits for it)."""
        with torch.no_grad():
            width = self.n_steps * self.batch_size
            wrong = self.predicted[:, :width] != self.y[self.index[:, :width]]
            errors = (wrong & (self.weight[:, :width] > 0)).sum(1).cpu().numpy()
        losses = self.loss_sum.cpu().numpy()
        return [(float(losses[k]) / max(n, 1), float(errors[k]) / max(n, 1), n)
                for k, n in enumerate(self.epoch_frames)]

    @torch.no_grad()
    def write_back(self, k: int, model) -> None:
        """Copy net ``k``'s current parameters into ``model`` (an MLP of the stack's shape)."""
        for layer, w, b in zip(model.layers, self.W, self.b):
            layer.weight.copy_(w[k].t())
            layer.bias.copy_(b[k, 0])

    def buffers(self, k: int) -> list[torch.Tensor]:
        """Net ``k``'s momentum buffers in the stack's layout (for a later stack's ``buffers``)."""
        return [buf[k].detach().clone() for buf in self.bufs]


def _part_key(batches) -> tuple:
    # parts with the same frames in the same order: one resident copy (RS and RSD of a condition and fold)
    capped = (batches.frames_per_epoch, batches.seed) if not batches.shuffle and batches.frames_per_epoch else None
    return (tuple(batches.track_ids), batches.mean.tobytes(), batches.inv_std.tobytes(), batches.shuffle, capped)


def train_stack(models, trains, valids, params_list, seeds, device, precision=_DNN["precision"], log_fns=None,
                use_graphs=None, steps_per_graph=16):
    """Train same-shape nets at once (:class:`StackedSGD`), each with its own early stopping.

    Each net trains as :func:`mgrfaults.systems.dnn.train_mlp` would on the device-resident path:
    its schedules (:func:`mgrfaults.systems.dnn.epoch_hyper`), its validation frame error after
    every epoch, its best parameters kept and its own patience and ``max_epochs``
    (:class:`mgrfaults.systems.dnn.EarlyStopping`).

    Parameters
    ----------
    models : list of MLP
        Initialised nets of one :func:`mlp_shape` (pre-trained or not).
    trains, valids : list of FrameBatches
        Each net's training part (its ``seed`` orders the epochs, its ``frames_per_epoch`` caps
        them) and validation part (``shuffle=False``).
    params_list : list of TrainParams
        Each net's hyper-parameters: SGD, one batch size for all.
    seeds : list of int
        Each net's dropout seed (as ``train_mlp``'s ``seed``); the stack's generator is seeded from all.
    device : str or torch.device
    precision : {"fp32", "tf32", "bf16"}
        Matmul precision on CUDA (fp32 on a CPU).
    log_fns : list of callable, optional
        Net ``k``'s ``log_fns[k](row)`` after each of its epochs.

    Returns
    -------
    list of (MLP, DataFrame)
        Each net with the parameters of its best epoch (eval mode, ``best_epoch`` set) and its log
        (``train_mlp``'s columns; ``seconds`` is the stack's epoch, shared by its nets).
    """
    device = torch.device(device)
    n_nets = len(models)
    if not (len(trains) == len(valids) == len(params_list) == len(seeds) == n_nets) or n_nets == 0:
        raise ValueError("train_stack: one training part, validation part, TrainParams and seed per net")
    if any(p.optimizer != "sgd" for p in params_list):
        raise ValueError("train_stack: SGD nets only (Hessian-free nets train alone)")
    if any(int(p.max_epochs) < 1 for p in params_list):
        raise ValueError("train_stack: max_epochs of at least 1 for every net")
    batch_sizes = {int(p.batch_size) for p in params_list}
    if len(batch_sizes) > 1:
        raise ValueError(f"train_stack: the nets of a stack share one batch size, got {sorted(batch_sizes)}")
    batch_size = batch_sizes.pop()
    resident, train_parts, valid_parts = {}, [], []
    for batches, held in [(b, train_parts) for b in trains] + [(b, valid_parts) for b in valids]:
        key = _part_key(batches)
        if key not in resident:
            resident[key] = resident_part(batches, device)
        held.append(resident[key])
    parts = PartStack.of(train_parts)
    del train_parts, resident  # the training frames are held once, in parts
    torch.manual_seed(derive(seeds[0], "stack", *seeds[1:]))  # the stack's dropout masks
    for model in models:
        model.to(device)
    stopping = [EarlyStopping(p) for p in params_list]
    # Epoch e of the stack is validated while epoch e + 1 trains (as train_mlp's resident path does): the
    # passes run on the nets' own models, into which the stack's parameters of epoch e are copied (the stack
    # trains its own tensors). A net that epoch e ends leaves the stack after e + 1, which is dropped for it.
    passes = ValidationPasses(device)
    running = list(range(n_nets))
    carried = {k: None for k in running}
    trainer, epoch = None, 0
    trained = None  # ({net: (loss, train_err)}, seconds) of epoch - 1, trained and not yet validated

    def copy_out(nets):  # the stack's current parameters of these running nets, into their models
        for j, k in enumerate(running):
            if k in nets:
                trainer.write_back(j, models[k])

    try:
        while running:
            if trainer is None:  # (re)built without the nets that stopped, their momentum carried
                trainer = StackedSGD([models[k] for k in running], parts.select(running), batch_size,
                                     [trains[k].seed for k in running], [trains[k].frames_per_epoch for k in running],
                                     [carried[k] for k in running], use_graphs=use_graphs,
                                     steps_per_graph=steps_per_graph, precision=precision)
            t0 = time.perf_counter()
            # past every running net's max_epochs (those of the stack's nets may differ), validate only
            training = epoch < max(int(params_list[k].max_epochs) for k in running)
            if trained is not None:  # epoch - 1's parameters, before this epoch's steps change them
                passes.snapshot(lambda: copy_out(running))
            if training:
                hyper = [epoch_hyper(params_list[k], epoch) for k in running]
                trainer.set_hyper([h[0] for h in hyper], [h[1] for h in hyper])
                trainer.launch_epoch(epoch)
            started = passes.start([(models[k], *valid_parts[k]) for k in running]) if trained is not None else None
            results = trainer.epoch_results() if training else None
            if results is not None and any(n == 0 for _, _, n in results):
                raise InputError("training: the training part has no frames")
            seconds = time.perf_counter() - t0
            stopped = []
            if trained is not None:
                t0 = time.perf_counter()
                validated = passes.results(started)
                wait = time.perf_counter() - t0
                for k, (valid_loss, valid_err) in zip(running, validated):
                    row = stopping[k].update(models[k], epoch - 1, *trained[0][k], valid_loss, valid_err,
                                             trained[1] + wait)
                    if log_fns:
                        log_fns[k](row)
                    if row["stop"]:
                        stopped.append(k)
            trained = None if results is None else ({k: results[j][:2] for j, k in enumerate(running)}, seconds)
            if stopped:
                remaining = [k for k in running if k not in stopped]
                carried = {k: trainer.buffers(j) for j, k in enumerate(running) if k in remaining}
                copy_out(remaining)  # the next stack starts from the epoch trained meanwhile
                running, trainer = remaining, None
            epoch += 1
    except BaseException:
        passes.drain()  # a pass still in flight reads memory that goes back to the allocator with this run
        raise
    return [(stopping[k].best_model(models[k]), pd.DataFrame(stopping[k].rows)) for k in range(n_nets)]


def stack_fits(trains, valids, device) -> bool:
    """True when the distinct parts of a stack fit on ``device`` (see :func:`mgrfaults.systems.resident.fits`)."""
    distinct = {}
    for batches in list(trains) + list(valids):
        distinct.setdefault(_part_key(batches), batches)
    return fits(list(distinct.values()), device)


# --------------------------------------------------------------------------------------------------
# one stack from files (called by workflow/scripts/train_stack.py)
# --------------------------------------------------------------------------------------------------


def train_stack_files(frame_paths, metadata_csv, members, data: dict, device=_SYSTEMS["device"], rbm=None,
                      expected_params=None) -> list[pd.DataFrame]:
    """Train the nets of a stack, each on its condition and fold, and write each one's model and log.

    Each net is read, built and initialised as :func:`mgrfaults.systems.dnn.train_net_files` does it
    alone (:func:`mgrfaults.systems.dnn.prepare_net_run`, the same seeds), then all train at once
    (:func:`train_stack`). When their distinct parts do not fit on the device, they train one after
    the other (:func:`mgrfaults.systems.dnn.train_mlp`), with a warning.

    Parameters
    ----------
    frame_paths : list of path
        The frame feature shards.
    metadata_csv : path
    members : list of dict
        One per net and condition/fold: ``spec`` (SystemSpec), ``variant`` (dict), ``partition``
        (its condition/fold's partition CSV), ``seed`` (int, as ``train_net``'s), ``label`` (for the
        log), and the outputs ``model`` and ``training_log``.
    data, rbm, expected_params
        As :func:`mgrfaults.systems.dnn.train_net_files`.

    Returns
    -------
    list of DataFrame
        Each net's per-epoch log, in the order of ``members``.
    """
    device = resolve_device(device)
    store = open_store(frame_paths, expected_params)
    t0 = time.perf_counter()
    # the parts go to the device whole (resident_part reads the store): a RAM cache per net would only cost memory
    data = {**data, "cache_mb": 0}
    stats = {}  # the standardisation of each distinct training part, computed once
    runs = [prepare_net_run(store, m["partition"], metadata_csv, m["spec"], m["variant"], data, m["seed"], device,
                            None, rbm, stats) for m in members]
    seeds = [derive(m["seed"], "dropout") for m in members]
    loggers = [epoch_logger(m["label"]) for m in members]
    trains, valids = [r.train for r in runs], [r.valid for r in runs]
    if stack_fits(trains, valids, device):
        log.info("training %d nets at once on %s: %s", len(runs), device, ", ".join(m["label"] for m in members))
        if data["compile"]:
            log.warning("systems.dnn.compile applies to nets trained alone; these %d train stacked, uncompiled "
                        "(systems.dnn.stack: never trains each alone)", len(runs))
        trained = train_stack([r.model for r in runs], trains, valids, [r.params for r in runs], seeds, device,
                              precision=data["precision"], log_fns=loggers)
    else:
        log.warning("the parts of the %d nets do not fit on %s together: they train one after the other",
                    len(runs), device)
        trained = [train_mlp(r.model, r.train, r.valid, r.params, seed=s, device=device, log_fn=f,
                             precision=data["precision"], compiled=data["compile"])
                   for r, s, f in zip(runs, seeds, loggers)]
    seconds = time.perf_counter() - t0
    stack = [m["label"] for m in members]
    for run, member, (model, epochs) in zip(runs, members, trained):
        save_net_run(run, model, epochs, member["model"], member["training_log"], device, seconds,
                     label=member["label"], stack=stack)
    return [epochs for _, epochs in trained]
