"""System names as the study wrote them, parsed into what to train and how to decide per excerpt.

Grammar (case-sensitive; ``|`` separates alternatives, ``[]`` is optional)::

    system   := "BFF_" ("SVM" | "RF")                          bag of frames: MFCC texture windows
              | net [decision]
    net      := UNITS "_" ACT OPT ["D"] ["P"]                   the study's DNN variants
              | "SD_" UNITS "_" ("sigmoid" | "relu") ["_HF"] ["_PT"]   Sigtia & Dixon's own setting
    ACT      := "R" (ReLU) | "S" (sigmoid)
    OPT      := "S" (SGD with the study's momentum/learning-rate schedule) | "H" (Hessian-free)
    "D"      := dropout (the RSD keep probabilities);   "P" / "_PT": greedy RBM pre-training
    decision := ""                                      majority vote of the frames' argmaxes (the 2014
                                                        code: test_mlp_script.py, file_misclass_error)
              | "_sum"                                  sum of softmax outputs over the frames, argmax
                                                        (the later HEAD code; a named alternative)
              | "_" ("FF" | "AF") "_L" (LAYER | "All") ["_SVM" | "_RF"]
                                                        a second classifier (default RF) on the learned
                                                        features of one hidden layer or all of them,
                                                        frame-level (FF) or aggregated over windows (AF),
                                                        then a majority vote over the excerpt

Layer numbers are the study's (``train_classifier_on_dnn_feats.py --which_layers 1 2 3``, coreyker/dnn-mgr
@05f95ff: "layer 0 is a pre-processing layer", the standardisation ``PreprocLayer`` of
``mlp_rlu2.yaml`` @a1e6340), so ``L1`` is the first hidden layer and ``LAll`` is ``L1`` .. ``L<hidden_layers>``.
:func:`hidden_index` maps a study layer number to the index into the hidden activations of
:class:`mgrfaults.systems.dnn.MLP` (0-based); it is the only place that mapping is written.

Examples: ``50_RS``, ``500_RSD``, ``500_RSD_sum``, ``500_RSD_AF_LAll``, ``50_RS_FF_L2_SVM``,
``SD_50_sigmoid``, ``SD_50_relu_HF``, ``BFF_RF``. (``_vote`` is gone: the bare name is the vote.)

Every system derived from the same net (``500_RSD``, ``500_RSD_sum``, ``500_RSD_AF_LAll``) shares
one trained network: :attr:`SystemSpec.net` names it. The workflow resolves every configured name
once (:func:`resolve_systems`) and hands each rule's script the resolved spec (:meth:`SystemSpec.to_dict`).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from mgrfaults.config import SETTINGS_OVERLAYS, section_defaults
from mgrfaults.errors import InputError

_STUDY_NET = r"(?P<units>\d+)_(?P<act>[RS])(?P<opt>[SH])(?P<dropout>D?)(?P<pretrain>P?)"
_SD_NET = r"SD_(?P<sd_units>\d+)_(?P<sd_act>sigmoid|relu)(?P<sd_hf>_HF)?(?P<sd_pt>_PT)?"
_DECISION = (
    r"(?:(?P<sum>_sum)"
    r"|_(?P<features>FF|AF)_L(?P<layers>[1-9]\d*|All)(?:_(?P<classifier>SVM|RF))?)?"
)
_DNN_RE = re.compile(rf"^(?P<net>{_STUDY_NET}|{_SD_NET}){_DECISION}$")
_BFF_RE = re.compile(r"^BFF_(?P<classifier>SVM|RF)$")

DECISIONS = ("vote", "sum", "learned")
# the study's nets: h0, h1, h2 (mlp_rlu_dropout.yaml @9f4c574); the schema's systems.dnn.hidden_layers
STUDY_HIDDEN_LAYERS = section_defaults("systems.dnn")["hidden_layers"]


def hidden_index(study_layer: int) -> int:
    """Index into the list of hidden activations (0-based) of the study's layer number ``L<k>``.

    The study numbered pylearn2's ``model.layers`` with the standardisation layer as 0, so its
    layer k is the k-th hidden layer; our :class:`~mgrfaults.systems.dnn.MLP` has no such layer
    and returns its hidden activations in a list from 0.
    """
    k = int(study_layer)
    if k < 1:
        raise ValueError(f"study layer numbers start at 1 (0 was the study's pre-processing layer), got {k}")
    return k - 1


class SystemNameError(InputError):
    """A system name that the grammar of :mod:`mgrfaults.systems.names` does not describe."""


@dataclass(frozen=True)
class SystemSpec:
    """What a system name means.

    Attributes
    ----------
    name : str
        The name as given (a table row).
    kind : {"bff", "dnn"}
    net : str or None
        The trained network shared by all systems derived from it (``"500_RSD"``); None for BFF.
    variant : str or None
        The config key of the training hyper-parameters: ``"RS"``, ``"RSD"`` (the study; ``H`` in
        place of the second ``S`` selects Hessian-free, sigmoid nets use the same keys) or ``"SD"``
        (Sigtia & Dixon).
    hidden_units : int or None
        Units in each of the hidden layers.
    hidden_layers : int or None
        Number of hidden layers of the net (``systems.dnn.hidden_layers``; the study's 3).
    activation : {"relu", "sigmoid"} or None
    optimizer : {"sgd", "hf"} or None
    dropout : bool
    pretrain : bool
        Greedy RBM pre-training before supervised training.
    decision : {"vote", "sum", "learned"} or None
        Excerpt decision of a DNN system; None for BFF.
    features : {"FF", "AF"} or None
        Learned features: frame-level or aggregated (for ``decision == "learned"``).
    layers : tuple of int
        The study's layer numbers (1 = first hidden layer, see :func:`hidden_index`) whose outputs
        make the learned features, in order.
    classifier : {"svm", "rf"} or None
        The BFF classifier, or the second classifier on learned features.
    """

    name: str
    kind: str
    net: str | None = None
    variant: str | None = None
    hidden_units: int | None = None
    hidden_layers: int | None = None
    activation: str | None = None
    optimizer: str | None = None
    dropout: bool = False
    pretrain: bool = False
    decision: str | None = None
    features: str | None = None
    layers: tuple = ()
    classifier: str | None = None

    def to_dict(self) -> dict:
        """Plain types (a Snakemake param): ``layers`` as a list."""
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SystemSpec":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"system spec {d.get('name')!r}: unknown keys {sorted(unknown)}")
        d["layers"] = tuple(int(k) for k in d.get("layers", ()))
        return cls(**d)

    @property
    def hidden_indices(self) -> tuple:
        """0-based indices of :attr:`layers` into the net's hidden activations."""
        return tuple(hidden_index(k) for k in self.layers)


def parse_system(name: str, n_hidden_layers: int = STUDY_HIDDEN_LAYERS) -> SystemSpec:
    """Parse a system name (see the module docstring for the grammar).

    Parameters
    ----------
    name : str
        E.g. ``"500_RSD_AF_LAll"``.
    n_hidden_layers : int
        Hidden layers of the nets (``LAll`` means all of them); the study's 3. The workflow calls
        this only through :func:`resolve_systems`, with ``systems.dnn.hidden_layers``.

    Returns
    -------
    SystemSpec

    Raises
    ------
    SystemNameError
        The name does not follow the grammar, or asks for a layer the nets do not have; the
        message names the system.
    """
    name = str(name)
    n_hidden_layers = int(n_hidden_layers)
    m = _BFF_RE.match(name)
    if m:
        return SystemSpec(name=name, kind="bff", classifier=m["classifier"].lower())
    m = _DNN_RE.match(name)
    if not m:
        hint = " (the bare net name is the majority vote now; _sum is the summed softmax)" if name.endswith("_vote") else ""
        raise SystemNameError(
            f"system {name!r}: unknown system name{hint}; expected BFF_SVM, BFF_RF, or a net such as 50_RS, "
            "500_RSD, SD_50_sigmoid followed by nothing (vote), _sum, or _FF_L<k|All>/_AF_L<k|All> "
            "with an optional _SVM/_RF (see mgrfaults.systems.names)"
        )
    if m["units"] is not None:
        units = int(m["units"])
        activation = "relu" if m["act"] == "R" else "sigmoid"
        optimizer = "sgd" if m["opt"] == "S" else "hf"
        dropout = bool(m["dropout"])
        pretrain = bool(m["pretrain"])
        variant = "RSD" if dropout else "RS"
    else:
        units = int(m["sd_units"])
        activation = m["sd_act"]
        optimizer = "hf" if m["sd_hf"] else "sgd"
        dropout = True
        pretrain = bool(m["sd_pt"])
        variant = "SD"
    if units < 1:
        raise SystemNameError(f"system {name!r}: a net needs at least one hidden unit")
    if n_hidden_layers < 1:
        raise SystemNameError(f"system {name!r}: hidden_layers must be >= 1, got {n_hidden_layers}")
    if m["sum"]:
        decision, features, layers, classifier = "sum", None, (), None
    elif m["features"]:
        decision, features = "learned", m["features"]
        layers = tuple(range(1, n_hidden_layers + 1)) if m["layers"] == "All" else (int(m["layers"]),)
        if max(layers) > n_hidden_layers:
            raise SystemNameError(
                f"system {name!r}: layer L{m['layers']} but the nets have {n_hidden_layers} hidden layers "
                "(systems.dnn.hidden_layers)"
            )
        classifier = (m["classifier"] or "RF").lower()
    else:
        decision, features, layers, classifier = "vote", None, (), None
    return SystemSpec(
        name=name,
        kind="dnn",
        net=m["net"],
        variant=variant,
        hidden_units=units,
        hidden_layers=n_hidden_layers,
        activation=activation,
        optimizer=optimizer,
        dropout=dropout,
        pretrain=pretrain,
        decision=decision,
        features=features,
        layers=layers,
        classifier=classifier,
    )


def resolve_systems(systems_config: Mapping[str, Any]) -> dict[str, SystemSpec]:
    """Every system of ``systems.run`` and every net they need, parsed once with the configured depth.

    Parameters
    ----------
    systems_config : mapping
        ``config["systems"]`` after schema validation (``run`` and ``dnn.hidden_layers``).

    Returns
    -------
    dict
        ``{name: SystemSpec}`` for each name of ``run``, in order (the nets they share:
        :func:`net_specs`). Pure: the config is not modified.

    Raises
    ------
    SystemNameError
        A name outside the grammar, a layer the nets do not have, or a name listed twice.
    """
    run = [str(n) for n in systems_config["run"]]
    dupes = sorted({n for n in run if run.count(n) > 1})
    if dupes:
        raise SystemNameError(f"systems.run: listed more than once: {dupes}")
    n_hidden = int(systems_config["dnn"]["hidden_layers"])
    return {name: parse_system(name, n_hidden) for name in run}


def net_specs(specs: Mapping[str, SystemSpec]) -> dict[str, SystemSpec]:
    """The distinct nets of resolved systems, in first-seen order: ``{net: spec of the bare net}``."""
    out = {}
    for spec in specs.values():
        if spec.kind == "dnn" and spec.net not in out:
            out[spec.net] = parse_system(spec.net, spec.hidden_layers)
    return out


def training_settings(dnn_config: Mapping[str, Any], spec: SystemSpec) -> dict:
    """The training hyper-parameters of a net: ``systems.dnn.variants[spec.variant]``, then, under
    ``systems.dnn.settings: job_script`` or ``head``, ``systems.dnn.job_script[spec.variant]`` (the file the
    study's job script names, as stored at @539d2c5) or ``systems.dnn.head[spec.variant]`` (the later code's
    values) over them.

    Raises
    ------
    InputError
        The variant is not configured.
    """
    variants = dnn_config.get("variants") or {}
    if spec.variant not in variants:
        raise InputError(f"systems.dnn.variants.{spec.variant}: not configured, needed by net {spec.net}")
    out = dict(variants[spec.variant])
    settings = dnn_config.get("settings")
    if settings in SETTINGS_OVERLAYS:  # study_2014 (the schema default): the variants as configured
        out.update((dnn_config.get(settings) or {}).get(spec.variant) or {})
    return out


def nets_of(systems, n_hidden_layers: int = STUDY_HIDDEN_LAYERS) -> list[str]:
    """The distinct nets to train for a list of system names, in first-seen order."""
    nets = []
    for s in systems:
        spec = parse_system(s, n_hidden_layers)
        if spec.kind == "dnn" and spec.net not in nets:
            nets.append(spec.net)
    return nets


def net_stacks(nets: Mapping[str, SystemSpec], dnn_config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The nets trained together when ``systems.dnn.stack`` is on: SGD nets of one shape and batch size.

    Parameters
    ----------
    nets : mapping of str to SystemSpec
        The nets to train (:func:`net_specs`).
    dnn_config : mapping
        ``systems.dnn``, variants completed (for each net's batch size, :func:`training_settings`).

    Returns
    -------
    dict
        Stack name (``<units>x<layers>_<activation>_b<batch>``, e.g. ``500x3_relu_b1200``) -> its nets,
        in the order given; only groups of two nets or more (a net alone trains alone).
    """
    groups: dict[str, list[str]] = {}
    for net, spec in nets.items():
        if spec.optimizer != "sgd":
            continue  # Hessian-free steps are not a fixed sequence of kernels: they train alone
        batch = int(training_settings(dnn_config, spec)["batch_size"])
        groups.setdefault(f"{spec.hidden_units}x{spec.hidden_layers}_{spec.activation}_b{batch}", []).append(net)
    return {name: members for name, members in groups.items() if len(members) > 1}


def stack_nets(stack: str, device: str, gpus_folder="/proc/driver/nvidia/gpus", dev_folder="/dev") -> bool:
    """Whether a run stacks its nets (``systems.dnn.stack``), decided when the run is planned.

    ``always`` / ``never`` as said; ``auto``: when ``device`` (``systems.device``) is ``cuda``, or
    ``auto`` and a GPU is visible (:func:`gpu_visible`; no torch import at planning).
    """
    if stack in ("always", "never"):
        return stack == "always"
    if device != "auto":
        return device == "cuda"
    return gpu_visible(gpus_folder, dev_folder)


def gpu_visible(gpus_folder="/proc/driver/nvidia/gpus", dev_folder="/dev") -> bool:
    """An NVIDIA GPU this process may use: listed by the driver (``gpus_folder``) or present as a device
    file (``dev_folder/nvidia<N>``, as in containers), and not hidden by ``CUDA_VISIBLE_DEVICES`` ("" or -1)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return False
    try:
        listed = any(Path(gpus_folder).iterdir())
    except OSError:
        listed = False
    return listed or any(re.fullmatch(r"nvidia\d+", p.name) for p in Path(dev_folder).glob("nvidia*"))
