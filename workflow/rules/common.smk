# Shared names for every stage: where results go, which shards, conditions, folds and systems.
# Every stage file reads these (and nothing another stage file defines), so each can be read alone.
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the library, also without `pip install -e`

from mgrfaults.config import SETTINGS_OVERLAYS, ConfigError, resolve
from mgrfaults.data.annotations import partition_list_paths
from mgrfaults.faults.distortion import MEASURE_VERSION as CLIP_MEASURE_VERSION
from mgrfaults.io import content_digest
from mgrfaults.seeds import derive
from mgrfaults.systems.custom import custom_parts_fit_on, custom_system_specs, plugin_code_digest, plugin_files_stamp
from mgrfaults.systems.learned import parts_fit_on
from mgrfaults.systems.parts import training_memory_mb
from mgrfaults.systems.names import net_specs, net_stacks, resolve_systems, stack_nets, training_settings
from mgrfaults.workdir import claim_results, claim_results_or_stop, jobs_import_library_from, results_owner_problem

# the jobs' scripts run in Python processes of their own: they import this checkout's library too, not another copy
# that pip installed (a second checkout installed with `pip install -e`, an older release)
jobs_import_library_from(Path(workflow.basedir) / "src")

# the validated config (defaults filled by the schema), resolved once into typed specs;
# rules pass these resolved values as params
RESOLVED = resolve(config)
RESULTS = RESOLVED.results
# a results folder that another working folder's Snakemake records describe: from here its results would pass for
# any configuration's (mgrfaults.workdir)
RESULTS_OWNER_PROBLEM = results_owner_problem(RESULTS, Path.cwd())
if RESULTS_OWNER_PROBLEM:
    raise ConfigError(RESULTS_OWNER_PROBLEM)
claim_results(RESULTS, Path.cwd(), existing_only=True)  # an unmarked one: a run with nothing to do runs no hook
DATASET = RESOLVED.dataset  # DatasetSpec, the synthetic preset applied
N_SHARDS = RESOLVED.features.n_shards
SHARDS = list(range(N_SHARDS))
FRAME_PARAMS = RESOLVED.features.frames  # the whole parameter sets: they land in the shards' attrs
TEXTURE_PARAMS = RESOLVED.features.texture
CONDITION_SPECS = RESOLVED.conditions  # name -> ConditionSpec (method options filled)
CONDITIONS = RESOLVED.folds  # name -> number of folds
# the conditions of published lists (GTZAN's), and whether the run has part of a GTZAN copy: the pages say so
PUBLISHED_CONDITIONS = [name for name, spec in CONDITION_SPECS.items() if spec.options["method"] == "published"]
PARTIAL_GTZAN = DATASET.source == "gtzan" and bool(DATASET.gtzan["partial"])
SYSTEMS = list(RESOLVED.systems)
BUILTIN_SYSTEMS = list(SYSTEMS)  # the names of the study's grammar
# your own systems (systems.custom, mgrfaults.systems.custom): run beside the built-in ones, in every table
CUSTOM_SYSTEMS = custom_system_specs(config["systems"]["custom"], SYSTEMS, [Path.cwd(), Path(workflow.basedir)],
                                     n_hidden_layers=config["systems"]["dnn"]["hidden_layers"], results=RESULTS)
SYSTEMS += list(CUSTOM_SYSTEMS)
# each custom system's code (its module and the Python files beside and below it), digested: an edit of any reruns
# it; and its data files (systems.custom.<name>.files), by size and time: a copy with an older time reruns it too
CUSTOM_CODE = {name: plugin_code_digest(spec["factory"]) for name, spec in CUSTOM_SYSTEMS.items()}
CUSTOM_DATA = {name: plugin_files_stamp(spec["files"]) for name, spec in CUSTOM_SYSTEMS.items()}
SYSTEMS_CONFIG = config["systems"]
DNN_CONFIG = SYSTEMS_CONFIG["dnn"]  # every variant complete (the Snakefile, complete_dnn_variants)
# every built-in name resolved once, with systems.dnn.hidden_layers: an unknown name or a missing layer fails here
SYSTEM_SPECS = resolve_systems({**SYSTEMS_CONFIG, "run": BUILTIN_SYSTEMS})
NET_SPECS = net_specs(SYSTEM_SPECS)  # the nets, each trained once per condition and fold
NETS = list(NET_SPECS)
TRAINED_NETS = NETS  # the DNNs, whose training logs make the training curves
# the systems fit on more than the training part (learned features' classifiers, as the study's; custom systems that
# declare it): the attribution counts those parts seen for them
SEEN_PARTS_OF = {name: list(parts) for name, parts in {
    **{name: parts_fit_on(spec, SYSTEMS_CONFIG["learned"]["fit_on"]) for name, spec in SYSTEM_SPECS.items()},
    **custom_parts_fit_on(SYSTEMS_CONFIG["custom"])}.items() if parts != ("train",)}
# the DNN systems that decide from their net's frame outputs: train_net writes them as <net> (vote) and <net>_sum
for _name, _spec in SYSTEM_SPECS.items():
    if _spec.kind == "dnn" and _spec.decision in ("sum", "vote"):
        assert _name == _spec.net + {"vote": "", "sum": "_sum"}[_spec.decision], (_name, _spec.net)
TRAIN_THREADS = int(SYSTEMS_CONFIG["threads"])
TRAIN_DEVICE = SYSTEMS_CONFIG["device"]
# the data settings every net's training reads (the rest of systems.dnn: schedules, HF, RBM, job layout)
DNN_DATA = {k: v for k, v in DNN_CONFIG.items()
            if k not in ("variants", *SETTINGS_OVERLAYS, "settings", "hf", "rbm", "stack")}
# nets trained together (systems.dnn.stack, mgrfaults.systems.stack): stack name -> its nets, every
# condition and fold of them in one train_stack_<name> job; the other nets train alone (train_net)
NET_STACKS = net_stacks(NET_SPECS, DNN_CONFIG) if stack_nets(DNN_CONFIG["stack"], TRAIN_DEVICE) else {}
ALONE_NETS = [net for net in NETS if not any(net in nets for nets in NET_STACKS.values())]


def train_mem_mb(n_nets=1):
    """A training job's memory on a cluster (mem_mb): the process, and for each of its nets the parts held in RAM
    and the HDF5 streams' shuffle buffers (mgrfaults.systems.parts.training_memory_mb)."""
    return training_memory_mb(DNN_CONFIG["cache_mb"], DNN_CONFIG["buffer_frames"], FRAME_PARAMS["n_fft"] // 2 + 1,
                              n_nets=n_nets)


FRAME_SHARDS = expand(f"{RESULTS}/features/frames/shard_{{shard}}.h5", shard=SHARDS)
TEXTURE_SHARDS = expand(f"{RESULTS}/features/texture/shard_{{shard}}.h5", shard=SHARDS)

# evaluate: what the tables and figures cover
EVALUATE = RESOLVED.evaluate
# figure-of-merit systems that are run (a subset of systems.run may be configured to run)
FOM_SYSTEMS = [s for s in EVALUATE.figure_of_merit if s in SYSTEMS]
if len(FOM_SYSTEMS) < len(EVALUATE.figure_of_merit):
    print(
        f"evaluate.figure_of_merit: {sorted(set(EVALUATE.figure_of_merit) - set(SYSTEMS))} "
        "are not in systems.run; no figure of merit is made for them",
        file=sys.stderr,
    )
COMPARE = list(EVALUATE.compare)
# the difference table's two conditions (both configured: mgrfaults.config checks it); `compare: []` makes none
HAS_DIFFERENCE = bool(COMPARE)
if not HAS_DIFFERENCE and Path(f"{RESULTS}/tables/difference.csv").exists():
    # an earlier configuration's table: this run neither makes nor reads it, and leaves it where a reader looks
    print(
        f"{RESULTS}/tables/difference.csv is an earlier configuration's (evaluate.compare is [] now: this run makes "
        "no difference table); delete it, or run with another results folder",
        file=sys.stderr,
    )
# how the report names the difference table's column
COMPARE_LABEL = " - ".join(COMPARE) or "none"
ACCURACY_METRICS = ["accuracy", "normalized_accuracy"]


wildcard_constraints:
    shard=r"\d+",
    fold=r"\d+",
    condition=r"[A-Za-z0-9_]+",
    system=r"[A-Za-z0-9_]+",


# ---------------------------------------------------------------------------------------------
# Input functions and targets of every stage. They live here, not in the stage files, so that
# each workflow/rules/<stage>.smk holds rules only (snakemake --lint). They read the names above.


def condition_folds():
    """Every (condition, fold) of the study grid, conditions in config order."""
    return [(condition, fold) for condition, n_folds in CONDITIONS.items() for fold in range(n_folds)]


def runs():
    """Every (system, condition, fold) run of the study grid."""
    return [(system, condition, fold) for system in SYSTEMS for condition, fold in condition_folds()]


def all_targets():
    return (
        data_targets()
        + features_targets()
        + partitions_targets()
        + train_targets()
        + evaluate_targets()
        + report_targets()
        + attribution_targets()
        + faults_targets()
    )


# data


def data_targets():
    """The dataset's files. A synthetic dataset's plan and audio too: Snakemake looks for the outputs of a job that
    other jobs ask for only, and a metadata table another source wrote (a directory or GTZAN run into the same
    results folder) would be taken for the synthetic dataset's, never rendered."""
    synthetic = [f"{RESULTS}/dataset/plan.csv"] + [f"{RESULTS}/dataset/audio/{genre}" for genre in GENRES]
    return [f"{RESULTS}/dataset/metadata.csv"] + (synthetic if DATASET.source == "synthetic" else [])


def audio_root():
    """The folder of a real dataset's audio: the configured root, or where GTZAN is downloaded."""
    return DATASET.root or f"{RESULTS}/dataset/gtzan_audio"


# faults

FAULT_SHARDS_N = config["faults"]["n_shards"]
FAULT_TABLES = ("evaluation", "counts_per_genre", "confusion", "replica_pairs")


# how the fault profile's heading names the dataset
DATASET_LABEL = f"{DATASET.source} dataset" + (f" at {audio_root()}" if DATASET.source != "synthetic" else "")


def faults_targets():
    return [f"{RESULTS}/faults/detected.csv", f"{RESULTS}/faults/evaluation.csv", f"{RESULTS}/faults/profile.md"] + [
        f"{RESULTS}/report/faults/{table}.html" for table in FAULT_TABLES + ("profile",)
    ]


# features


def features_targets():
    return expand(f"{RESULTS}/features/{{kind}}/shard_{{shard}}.h5", kind=["frames", "texture"], shard=SHARDS)


# partitions


def partitions_targets():
    return [
        f"{RESULTS}/partitions/{condition}/fold_{fold}{suffix}.csv"
        for condition, fold in condition_folds()
        for suffix in ("", "_summary")
    ]


def sweep_disabled():
    """The `sweep` target asked for with sweep.enabled false: refused naming the key (an input function's error)."""
    raise ConfigError("the sweep target needs sweep.enabled: true (as config/sweep.yaml and config/sweep_quick.yaml "
                      "set it): snakemake sweep --configfile config/sweep_quick.yaml")


def published_list_files(condition):
    """The three list files of a `published` condition (its options): its own folder, or those the data stage fetched."""
    lists_dir = condition["lists"] or f"{RESULTS}/dataset/partition_lists"
    return {part: str(path) for part, path in partition_list_paths(lists_dir, condition["set"]).items()}


def own_lists_digest(condition):
    """A published condition's own lists (its `lists` folder), digested as a rerun trigger: replaced by copies with
    older times, they would go unseen as inputs. Nothing ({}) for the lists the data stage fetched (checksummed)."""
    if condition["method"] != "published" or not condition["lists"]:
        return {}
    return {"lists_sha256": content_digest(published_list_files(condition).values())}


# each condition's, read once: a param of its partitions rule and part of the summary's inputs digest
OWN_LISTS_DIGESTS = {name: own_lists_digest(spec.options) for name, spec in CONDITION_SPECS.items()}


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


def net_run_seed(net, condition, fold):
    """The seed of a net's training run on a condition and fold (alone or in a stack)."""
    return derive(RESOLVED.seed, "train", net, condition, fold)


def net_outputs(net, condition, fold):
    """What training a net on a condition and fold writes: model, per-epoch log, its two decision systems'
    test predictions, <net> (majority vote of frame argmaxes) and <net>_sum (summed softmax)."""
    return {
        "model": f"{RESULTS}/models/{net}/{condition}/fold_{fold}.pt",
        "training_log": f"{RESULTS}/training/{net}/{condition}/fold_{fold}_log.csv",
        "vote": f"{RESULTS}/predictions/{net}/{condition}/fold_{fold}.csv",
        "sum": f"{RESULTS}/predictions/{net}_sum/{condition}/fold_{fold}.csv",
    }


def stack_members(stack):
    """Every net run of a stack's job, one dict each: the net's resolved spec and training settings,
    its condition/fold's partition, its seed, its run and a label for the log, and its outputs (net_outputs)."""
    return [
        dict(
            spec=NET_SPECS[net].to_dict(),
            variant=_variant(net),
            partition=f"{RESULTS}/partitions/{condition}/fold_{fold}.csv",
            seed=net_run_seed(net, condition, fold),
            run=f"{condition} fold {fold}",
            label=f"{net} {condition} fold {fold}",
            **net_outputs(net, condition, fold),
        )
        for net in NET_STACKS[stack]
        for condition, fold in condition_folds()
    ]


def stack_output(stack, key):
    return [member[key] for member in stack_members(stack)]


def _net_model(wildcards):
    """The trained net a DNN system uses, for the run's condition and fold."""
    return f"{RESULTS}/models/{SYSTEM_SPECS[wildcards.system].net}/{wildcards.condition}/fold_{wildcards.fold}.pt"


def _custom_inputs(wildcards):
    """A custom system's inputs: the run's partition and metadata, its feature shards, its plugin file and
    data files (systems.custom.<name>.files)."""
    spec = CUSTOM_SYSTEMS[wildcards.system]
    inputs = dict(
        partition=f"{RESULTS}/partitions/{wildcards.condition}/fold_{wildcards.fold}.csv",
        metadata=f"{RESULTS}/dataset/metadata.csv",
        features={"frames": FRAME_SHARDS, "texture": TEXTURE_SHARDS}.get(spec["input"], []),
    )
    if spec["factory"].rpartition(":")[0].endswith(".py"):
        inputs["plugin"] = spec["factory"].rpartition(":")[0]  # an edited plugin file re-runs the system
    inputs["plugin_files"] = spec["files"]  # its weights and settings: an edited one re-runs it too
    return inputs


def _custom_feature_params(wildcards):
    return {"frames": FRAME_PARAMS, "texture": TEXTURE_PARAMS}.get(CUSTOM_SYSTEMS[wildcards.system]["input"])


def train_targets():
    predictions = [f"{RESULTS}/predictions/{system}/{condition}/fold_{fold}.csv" for system, condition, fold in runs()]
    logs = [
        f"{RESULTS}/training/{net}/{condition}/fold_{fold}_log.csv"
        for net in TRAINED_NETS
        for condition, fold in condition_folds()
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
    return [f"{RESULTS}/report/answer.html"] + [
        f"{RESULTS}/report/partitions/{condition}/fold_{fold}_summary.html"
        for condition, fold in condition_folds()
    ]


# attribution


def attribution_targets():
    return [f"{RESULTS}/tables/attribution.csv", f"{RESULTS}/figures/attribution.png"]


def _all_partitions():
    """Every condition's every fold's partition file, in condition_folds() order (the attribution table
    reads them all)."""
    return [f"{RESULTS}/partitions/{condition}/fold_{fold}.csv" for condition, fold in condition_folds()]


# sweep


SWEEP_DIR = f"{RESULTS}/sweep"
# the table that answers the run, named by the message a finished run prints (Snakefile, onsuccess)
if config["sweep"]["enabled"]:
    ANSWER_TABLE = f"{SWEEP_DIR}/drop_summary.csv"
else:
    ANSWER_TABLE = f"{RESULTS}/tables/difference.csv" if HAS_DIFFERENCE else f"{RESULTS}/tables/runs.csv"


def _sweep_points():
    from mgrfaults.evaluation.sweep import sweep_points

    sweep = config["sweep"]
    return sweep_points(sweep["strengths"], sweep["seeds"], sweep["no_fault_control"])


def _sweep_point_config(point):
    """The full config of one sweep point: this run's config with the point's seed, strength, faults, folder."""
    import copy

    point_config = copy.deepcopy(config)
    point_config["sweep"]["enabled"] = False  # a point never sweeps again
    point_config["seed"] = point["seed"]
    point_config["results"] = f"{SWEEP_DIR}/{point['folder']}"
    synthetic = point_config["dataset"].setdefault("synthetic", {})
    synthetic["confound_strength"] = point["confound_strength"]
    if point["faults"] == "none":
        synthetic["faults"] = {kind: 0.0 for kind in ("exact_replica", "recording_replica", "distortion", "mislabel")}
    return point_config
