"""Checks and derived values of the workflow configuration beyond what the JSON schema says."""

from __future__ import annotations

import copy
import math
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
    the dataset source has what it needs (a root for ``directory``).
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
    for check in BAD_INPUT_CHECKS:
        check(config)


# ---------------------------------------------------------------------------------------------
# bad-input checks: each a small function of the whole config, raising ConfigError naming the key


def check_finite_numbers(config: Mapping[str, Any], key: str = "") -> None:
    """Every number is finite: YAML's ``.inf``/``.nan`` pass the schema's bounds (NaN compares false)."""
    if isinstance(config, Mapping):
        for name, value in config.items():
            check_finite_numbers(value, f"{key}.{name}" if key else str(name))
    elif isinstance(config, (list, tuple)):
        for i, value in enumerate(config):
            check_finite_numbers(value, f"{key}[{i}]")
    elif isinstance(config, float) and not math.isfinite(config):
        raise ConfigError(f"{key}: {config!r} is not a finite number")


def check_results_folder(config: Mapping[str, Any]) -> None:
    """``results`` is a folder of its own: not empty and not the filesystem root."""
    from pathlib import Path

    results = str(config.get("results", ""))
    if not results.strip():
        raise ConfigError("results: empty; name the folder that holds every output (e.g. results)")
    resolved = Path(results).expanduser().resolve()
    if resolved == Path(resolved.anchor):
        raise ConfigError(f"results: {results!r} is the filesystem root; name a folder of its own (e.g. results)")


def check_texture_bands(config: Mapping[str, Any]) -> None:
    """MFCCs are the DCT of the mel bands: ``n_mfcc`` <= ``n_mels``, else extraction fails late with a shape error."""
    texture = (config.get("features") or {}).get("texture") or {}
    n_mfcc, n_mels = texture.get("n_mfcc"), texture.get("n_mels")
    if n_mfcc is not None and n_mels is not None and n_mfcc > n_mels:
        raise ConfigError(
            f"features.texture.n_mfcc: {n_mfcc} MFCCs from {n_mels} mel bands (features.texture.n_mels); need n_mfcc <= n_mels"
        )


def check_evaluate_names(config: Mapping[str, Any]) -> None:
    """``evaluate.compare`` names configured conditions, ``evaluate.figure_of_merit`` systems of ``systems.run``.

    An absent name would silently leave that output unmade.
    """
    evaluate = config.get("evaluate") or {}
    conditions = list((config.get("partitions") or {}).get("conditions") or {})
    absent = [c for c in evaluate.get("compare") or [] if c not in conditions]
    if absent:
        raise ConfigError(f"evaluate.compare: condition(s) {absent} are not in partitions.conditions {conditions}")
    systems = list((config.get("systems") or {}).get("run") or [])
    absent = [s for s in evaluate.get("figure_of_merit") or [] if s not in systems]
    if absent:
        raise ConfigError(
            f"evaluate.figure_of_merit: system(s) {absent} are not in systems.run {systems}; "
            "list only systems that are run"
        )


def check_annotations_artist(config: Mapping[str, Any]) -> None:
    """A directory dataset's annotations give an artist column when a condition filters by artist."""
    dataset = config.get("dataset") or {}
    annotations = (dataset.get("directory") or {}).get("annotations")
    if dataset.get("source") != "directory" or not annotations:
        return
    filtering = [
        name
        for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items()
        if str(cond.get("method", "")).startswith("artist_filtered") or cond.get("check_artists")
    ]
    if not filtering:
        return
    from mgrfaults.data.annotations import read_annotations
    from mgrfaults.errors import InputError

    try:
        read_annotations(annotations, require_artist=True)
    except InputError as e:
        raise ConfigError(f"dataset.directory.annotations (used by partitions.conditions.{filtering[0]}): {e}") from e


def check_input_paths(config: Mapping[str, Any]) -> None:
    """Local input paths named in the config exist: a typo fails here, naming the key, not as a missing rule input."""
    from pathlib import Path

    dataset = config.get("dataset") or {}
    source = dataset.get("source")
    keys = []
    if source in ("directory", "gtzan"):
        section = dataset.get(source) or {}
        for name in ("root", "annotations", "index", "partition_lists"):
            if section.get(name) and "://" not in str(section[name]):
                keys.append((f"dataset.{source}.{name}", section[name]))
    for name, cond in ((config.get("partitions") or {}).get("conditions") or {}).items():
        if cond.get("method") == "published" and cond.get("lists"):
            keys.append((f"partitions.conditions.{name}.lists", cond["lists"]))
    for key, value in keys:
        if not Path(value).expanduser().exists():
            raise ConfigError(f"{key}: {value!r} does not exist")


BAD_INPUT_CHECKS = (
    check_input_paths,
    check_finite_numbers,
    check_results_folder,
    check_texture_bands,
    check_evaluate_names,
    check_annotations_artist,
)
