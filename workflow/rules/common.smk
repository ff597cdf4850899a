# Shared names for every stage: where results go, which shards, conditions, folds and systems.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the library, also without `pip install -e`

from mgrfaults.config import check_config, condition_folds, resolve_dataset_config
from mgrfaults.systems.names import training_settings

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


# ---------------------------------------------------------------------------------------------
# Input functions and targets of every stage. They live here, not in the stage files, so that
# each workflow/rules/<stage>.smk holds rules only (snakemake --lint); they read the stages'
# globals (EVALUATE, TRAINED_NETS, ...) when called, after every file is included.


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


# data


def data_targets():
    return [f"{RESULTS}/dataset/metadata.csv"]


def audio_root():
    """The folder of a real dataset's audio: the configured root, or where GTZAN is downloaded."""
    root = (DATASET.get(DATASET["source"]) or {}).get("root")
    return root if root else f"{RESULTS}/dataset/gtzan_audio"


# features


def features_targets():
    return expand(f"{RESULTS}/features/{{kind}}/shard_{{shard}}.h5", kind=["frames", "texture"], shard=SHARDS)


# partitions


def partitions_targets():
    return [
        f"{RESULTS}/partitions/{condition}/fold_{fold}{suffix}.csv"
        for condition, n_folds in CONDITIONS.items()
        for fold in range(n_folds)
        for suffix in ("", "_summary")
    ]


def published_list_files(condition):
    """The three list files of a `published` condition: its own folder, or those the data stage fetched."""
    lists_dir = condition.get("lists") or f"{RESULTS}/dataset/partition_lists"
    return {part: str(path) for part, path in partition_list_paths(lists_dir, condition.get("set", "filtered")).items()}


# train


def _one_of(names):
    """A wildcard constraint matching exactly these names (never matching when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def _systems_where(test):
    return [name for name, spec in SYSTEM_SPECS.items() if test(spec)]


def _variant(net):
    return training_settings(DNN_CONFIG, NET_SPECS[net])


def _system_spec(wildcards):
    """The resolved spec of a system (plain dict): what its script runs, never re-parsed there."""
    return SYSTEM_SPECS[wildcards.system].to_dict()


def _net_model(wildcards):
    return f"{RESULTS}/models/{SYSTEM_SPECS[wildcards.system].net}/{wildcards.condition}/fold_{wildcards.fold}.pt"


def train_targets():
    predictions = [f"{RESULTS}/predictions/{system}/{condition}/fold_{fold}.csv" for system, condition, fold in runs()]
    logs = [
        f"{RESULTS}/training/{net}/{condition}/fold_{fold}_log.csv"
        for net in NETS
        for condition, n_folds in CONDITIONS.items()
        for fold in range(n_folds)
    ]
    return predictions + logs


# evaluate


def _predictions(system, condition):
    return [
        f"{RESULTS}/predictions/{system}/{condition}/fold_{fold}.csv"
        for fold in range(CONDITIONS[condition])
    ]


def _training_logs(wildcards):
    return {
        f"{net} fold {fold}": f"{RESULTS}/training/{net}/{wildcards.condition}/fold_{fold}_log.csv"
        for net in TRAINED_NETS
        for fold in range(CONDITIONS[wildcards.condition])
    }


def _condition_predictions(wildcards):
    return {
        system: _predictions(system, wildcards.condition) for system in SYSTEMS
    }


def evaluate_targets():
    targets = [f"{RESULTS}/metrics/{s}/{c}/fold_{f}.json" for s, c, f in runs()]
    targets += [f"{RESULTS}/tables/runs.csv", f"{RESULTS}/summary.md"]
    targets += [f"{RESULTS}/tables/accuracy_{c}.csv" for c in CONDITIONS]
    targets += [f"{RESULTS}/figures/{m}_by_condition.png" for m in ACCURACY_METRICS]
    if HAS_DIFFERENCE:
        targets += [f"{RESULTS}/tables/difference.csv"]
    if TRAINED_NETS:
        targets += [f"{RESULTS}/figures/training/{c}.png" for c in CONDITIONS]
    for system in FOM_SYSTEMS:
        for condition in CONDITIONS:
            targets += [
                f"{RESULTS}/tables/figure_of_merit/{system}/{condition}.csv",
                f"{RESULTS}/figures/figure_of_merit/{system}/{condition}.png",
            ]
    return targets


# report


def report_targets():
    return [
        f"{RESULTS}/report/partitions/{condition}/fold_{fold}_summary.html"
        for condition, n_folds in CONDITIONS.items()
        for fold in range(n_folds)
    ]
