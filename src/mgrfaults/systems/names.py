"""System names as the study wrote them, parsed into what to train and how to decide per excerpt.

Grammar (case-sensitive; ``|`` separates alternatives, ``[]`` is optional)::

    system   := "BFF_" ("SVM" | "RF")                          bag of frames: MFCC texture windows
              | net [decision]
    net      := UNITS "_" ACT OPT ["D"] ["P"]                   the study's DNN variants
              | "SD_" UNITS "_" ("sigmoid" | "relu") ["_HF"] ["_PT"]   Sigtia & Dixon's own setting
    ACT      := "R" (ReLU) | "S" (sigmoid)
    OPT      := "S" (SGD with the study's momentum/learning-rate schedule) | "H" (Hessian-free)
    "D"      := dropout (the RSD keep probabilities);   "P" / "_PT": greedy RBM pre-training
    decision := ""                                      sum of softmax outputs over the frames, argmax
              | "_vote"                                 majority vote of frame argmaxes
              | "_" ("FF" | "AF") "_L" ("1"|"2"|"3"|"All") ["_SVM" | "_RF"]
                                                        a second classifier (default RF) on the learned
                                                        features of hidden layer 1, 2, 3 or all of them,
                                                        frame-level (FF) or aggregated over windows (AF),
                                                        then a majority vote over the excerpt

Examples: ``50_RS``, ``500_RSD``, ``500_RSD_vote``, ``500_RSD_AF_LAll``, ``50_RS_FF_L2_SVM``,
``SD_50_sigmoid``, ``SD_50_relu_HF``, ``BFF_RF``.

Every system derived from the same net (``500_RSD``, ``500_RSD_vote``, ``500_RSD_AF_LAll``) shares
one trained network: :attr:`SystemSpec.net` names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mgrfaults.errors import InputError

_STUDY_NET = r"(?P<units>\d+)_(?P<act>[RS])(?P<opt>[SH])(?P<dropout>D?)(?P<pretrain>P?)"
_SD_NET = r"SD_(?P<sd_units>\d+)_(?P<sd_act>sigmoid|relu)(?P<sd_hf>_HF)?(?P<sd_pt>_PT)?"
_DECISION = (
    r"(?:(?P<vote>_vote)"
    r"|_(?P<features>FF|AF)_L(?P<layers>1|2|3|All)(?:_(?P<classifier>SVM|RF))?)?"
)
_DNN_RE = re.compile(rf"^(?P<net>{_STUDY_NET}|{_SD_NET}){_DECISION}$")
_BFF_RE = re.compile(r"^BFF_(?P<classifier>SVM|RF)$")

DECISIONS = ("sum", "vote", "learned")


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
    activation : {"relu", "sigmoid"} or None
    optimizer : {"sgd", "hf"} or None
    dropout : bool
    pretrain : bool
        Greedy RBM pre-training before supervised training.
    decision : {"sum", "vote", "learned"} or None
        Excerpt decision of a DNN system; None for BFF.
    features : {"FF", "AF"} or None
        Learned features: frame-level or aggregated (for ``decision == "learned"``).
    layers : tuple of int
        Hidden layers (1-based) whose outputs make the learned features.
    classifier : {"svm", "rf"} or None
        The BFF classifier, or the second classifier on learned features.
    """

    name: str
    kind: str
    net: str | None = None
    variant: str | None = None
    hidden_units: int | None = None
    activation: str | None = None
    optimizer: str | None = None
    dropout: bool = False
    pretrain: bool = False
    decision: str | None = None
    features: str | None = None
    layers: tuple = ()
    classifier: str | None = None


def parse_system(name: str, n_hidden_layers: int = 3) -> SystemSpec:
    """Parse a system name (see the module docstring for the grammar).

    Parameters
    ----------
    name : str
        E.g. ``"500_RSD_AF_LAll"``.
    n_hidden_layers : int
        Hidden layers of the nets (``LAll`` means all of them); the study's 3.

    Returns
    -------
    SystemSpec

    Raises
    ------
    SystemNameError
        The name does not follow the grammar; the message names the system.
    """
    name = str(name)
    m = _BFF_RE.match(name)
    if m:
        return SystemSpec(name=name, kind="bff", classifier=m["classifier"].lower())
    m = _DNN_RE.match(name)
    if not m:
        raise SystemNameError(
            f"system {name!r}: unknown system name; expected BFF_SVM, BFF_RF, or a net such as 50_RS, "
            "500_RSD, SD_50_sigmoid followed by nothing, _vote, or _FF_L<1|2|3|All>/_AF_L<...> "
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
    if m["vote"]:
        decision, features, layers, classifier = "vote", None, (), None
    elif m["features"]:
        decision, features = "learned", m["features"]
        layers = tuple(range(1, n_hidden_layers + 1)) if m["layers"] == "All" else (int(m["layers"]),)
        if max(layers) > n_hidden_layers:
            raise SystemNameError(f"system {name!r}: layer L{m['layers']} but the nets have {n_hidden_layers}")
        classifier = (m["classifier"] or "RF").lower()
    else:
        decision, features, layers, classifier = "sum", None, (), None
    return SystemSpec(
        name=name,
        kind="dnn",
        net=m["net"],
        variant=variant,
        hidden_units=units,
        activation=activation,
        optimizer=optimizer,
        dropout=dropout,
        pretrain=pretrain,
        decision=decision,
        features=features,
        layers=layers,
        classifier=classifier,
    )


def nets_of(systems) -> list[str]:
    """The distinct nets to train for a list of system names, in first-seen order."""
    nets = []
    for s in systems:
        spec = parse_system(s)
        if spec.kind == "dnn" and spec.net not in nets:
            nets.append(spec.net)
    return nets
