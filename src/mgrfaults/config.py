"""Checks and derived values of the workflow configuration beyond what the JSON schema says."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Mapping

SYNTHETIC_PRESETS = {
    # preset: (excerpts per genre, seconds per excerpt); `default` keeps the config's own values
    "tiny": (12, 6.0),
    "gtzan_size": (100, 30.0),
}

PARTS = ("train", "valid", "test")


class ConfigError(ValueError):
    """A configuration value that the schema allows but the workflow cannot use."""


def resolve_dataset_config(dataset: Mapping[str, Any]) -> dict:
    """Return the dataset section with the synthetic preset applied.

    Parameters
    ----------
    dataset : mapping
        ``config["dataset"]``.

    Returns
    -------
    dict
        A deep copy; ``synthetic.n_per_genre`` and ``synthetic.duration`` are overridden
        by the preset ``tiny`` or ``gtzan_size``; ``default`` keeps the given values.
    """
    out = copy.deepcopy(dict(dataset))
    synth = out.setdefault("synthetic", {})
    preset = synth.get("preset", "default")
    if preset in SYNTHETIC_PRESETS:
        synth["n_per_genre"], synth["duration"] = SYNTHETIC_PRESETS[preset]
    return out


def condition_folds(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Number of folds of each partition condition: ``k`` for the CV methods, else 1."""
    return {
        name: int(cond.get("k", 4)) if str(cond["method"]).endswith("_cv") else 1
        for name, cond in conditions.items()
    }


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key for values the schema cannot express.

    Checks: partition proportions are positive and sum to 1; ``k >= 3`` for CV conditions (train, valid and test each take whole folds);
    the dataset source has what it needs (a root for ``directory``; a given root exists and is not empty).
    """
    for name, cond in config["partitions"]["conditions"].items():
        key = f"partitions.conditions.{name}"
        props = cond.get("proportions")
        if props is not None:
            if set(props) != set(PARTS):
                raise ConfigError(f"{key}.proportions: needs exactly the parts {list(PARTS)}, got {sorted(props)}")
            if any(float(v) <= 0 for v in props.values()):
                raise ConfigError(f"{key}.proportions: every part needs a share > 0, got {dict(props)}")
            total = sum(float(v) for v in props.values())
            if not math.isclose(total, 1.0, abs_tol=1e-6):
                raise ConfigError(f"{key}.proportions: must sum to 1, they sum to {total:g}")
        if str(cond["method"]).endswith("_cv"):
            k = cond.get("k", 4)
            # each fold needs disjoint train, valid and test blocks of folds
            if not isinstance(k, int) or k < 3:
                raise ConfigError(f"{key}.k: a k-fold condition needs an integer k >= 3, got {k!r}")
    dataset = config["dataset"]
    if dataset["source"] == "directory" and not (dataset.get("directory") or {}).get("root"):
        raise ConfigError("dataset.directory.root: dataset.source is 'directory' but no root folder is given")
    if dataset["source"] in ("gtzan", "directory"):
        check_audio_root(dataset["source"], (dataset.get(dataset["source"]) or {}).get("root"))


def check_audio_root(source: str, root) -> None:
    """Raise :class:`ConfigError` naming ``dataset.<source>.root`` when a given root is missing or empty.

    Checked when the workflow is parsed, so that a wrong root stops the run before any job, instead of
    the later stages running on another dataset's leftovers. ``None`` (GTZAN: download it) passes.
    """
    if root is None:
        return
    key = f"dataset.{source}.root"
    folder = Path(root)
    if not str(root).strip():
        raise ConfigError(f"{key}: is empty; give the audio folder, or null to download GTZAN")
    if not folder.is_dir():
        raise ConfigError(f"{key}: {root} is not a folder (from {Path.cwd()}); "
                          "give the folder that holds <genre>/<name>.<ext> audio")
    if not any(folder.iterdir()):
        raise ConfigError(f"{key}: {root} is an empty folder; give the folder that holds <genre>/<name>.<ext> audio")
