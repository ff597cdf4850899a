# Shared names for every stage: where results go, which shards, conditions, folds and systems.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the library, also without `pip install -e`

from mgrfaults.config import check_config, condition_folds, resolve_dataset_config

check_config(config)

RESULTS = config["results"].rstrip("/")
DATASET = resolve_dataset_config(config["dataset"])
N_SHARDS = config["features"].get("n_shards", 4)
SHARDS = list(range(N_SHARDS))
CONDITIONS = condition_folds(config["partitions"]["conditions"])  # name -> number of folds
SYSTEMS = list(config["systems"]["run"])


wildcard_constraints:
    shard=r"\d+",
    fold=r"\d+",
    condition=r"[A-Za-z0-9_]+",
    system=r"[A-Za-z0-9_]+",


def runs():
    """Every (system, condition, fold) run of the study grid."""
    return [
        (system, condition, fold)
        for system in SYSTEMS
        for condition, n_folds in CONDITIONS.items()
        for fold in range(n_folds)
    ]


def all_targets():
    return (
        data_targets()
        + features_targets()
        + partitions_targets()
        + train_targets()
        + evaluate_targets()
        + report_targets()
    )
