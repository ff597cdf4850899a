"""Configuration: the schema names unknown keys and wrong types and is the only place defaults are
written; resolve() turns the validated config into frozen specs; semantic checks name the key."""

import ast
import copy
import dataclasses
import pickle
import re

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mgrfaults.config import (
    SCHEMA_PATH,
    SYNTHETIC_PRESETS,
    ConfigError,
    check_config,
    condition_folds,
    load_config,
    resolve,
    schema_defaults,
)


@pytest.fixture
def config(repo_root):
    """The embedded default as written (no defaults filled)."""
    return yaml.safe_load((repo_root / "config" / "config.yaml").read_text())


@pytest.fixture
def schema():
    return str(SCHEMA_PATH)


def test_default_and_gtzan_configs_are_valid(repo_root):
    for overlays in ((), (repo_root / "config" / "gtzan.yaml",)):
        resolved = resolve(load_config(*overlays))
        assert resolved.folds and resolved.systems
    gtzan = resolve(load_config(repo_root / "config" / "gtzan.yaml"))
    assert gtzan.dataset.source == "gtzan" and gtzan.features.n_shards == 10
    assert gtzan.folds == {"standard": 1, "fault_filtered": 1, "published_filtered": 1, "published_stratified": 1}


def test_unknown_key_is_named(config, schema):
    config["dataset"]["synthetic"] = {"n_per_genr": 5}
    with pytest.raises(WorkflowError, match="n_per_genr"):
        validate(config, schema)


def test_unknown_top_level_key_is_named(config, schema):
    config["featurez"] = {}
    with pytest.raises(WorkflowError, match="featurez"):
        validate(config, schema)


def test_wrong_type_is_named(config, schema):
    config["dataset"]["synthetic"] = {"duration": "long"}
    with pytest.raises(WorkflowError, match="duration"):
        validate(copy.deepcopy(config), schema)
    config["dataset"]["synthetic"]["duration"] = 10.0
    config["dataset"]["source"] = "spotify"
    with pytest.raises(WorkflowError, match="spotify"):
        validate(config, schema)


def test_defaults_fill_nested_sections_from_the_schema(config, schema):
    """Sections left out get every default (nested objects carry `default: {}`)."""
    validate(config, schema)
    defaults = schema_defaults()
    assert config["features"]["frames"]["n_fft"] == defaults["features.frames.n_fft"]
    assert config["features"]["texture"]["running_frames"] == defaults["features.texture.running_frames"]
    assert config["dataset"]["synthetic"]["faults"]["mislabel"] == defaults["dataset.synthetic.faults.mislabel"]
    assert config["evaluate"]["bootstrap"] == defaults["evaluate.bootstrap"]
    # a value given is kept, its siblings are filled
    given = load_config({"features": {"frames": {"n_fft": 2048}}})
    assert given["features"]["frames"]["n_fft"] == 2048
    assert given["features"]["frames"]["hop_length"] == defaults["features.frames.hop_length"]


def test_each_method_gets_its_own_defaults():
    conditions = {
        "s": {"method": "stratified"},
        "scv": {"method": "stratified_cv"},
        "a": {"method": "artist_filtered"},
        "acv": {"method": "artist_filtered_cv", "k": 5, "remove_faults": []},
        "p": {"method": "published"},
    }
    resolved = resolve(load_config({"partitions": {"conditions": conditions}}))
    defaults = schema_defaults()
    opts = {name: spec.options for name, spec in resolved.conditions.items()}
    # only the method's own keys: the per-method key check still holds after the defaults
    assert set(opts["s"]) == {"method", "proportions", "remove_faults", "faults"} and opts["s"]["remove_faults"] == []
    assert opts["a"]["remove_faults"] == defaults["partitions.conditions.artist_filtered.remove_faults"] != []
    assert opts["a"]["solver"] == "ilp" and "k" not in opts["a"]
    assert set(opts["p"]) == {"method", "lists", "set", "check_artists", "on_missing", "faults"} and opts["p"]["on_missing"] == "error"
    assert opts["acv"]["k"] == 5 and opts["acv"]["remove_faults"] == []  # given values win
    assert resolved.folds["scv"] == defaults["partitions.conditions.stratified_cv.k"]
    assert (resolved.folds["s"], resolved.folds["acv"]) == (1, 5)
    # the embedded default's conditions are still there (--configfile merges)
    assert {"standard", "fault_filtered"} <= set(resolved.folds)


def test_proportions_must_sum_to_one():
    config = load_config()
    config["partitions"]["conditions"]["standard"]["proportions"] = {"train": 0.5, "valid": 0.2, "test": 0.2}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.standard\.proportions: must sum to 1"):
        resolve(config)


def test_cv_needs_k_at_least_three():
    with pytest.raises(WorkflowError, match=r"(?s)minimum of 3.*\['cv'\]\['k'\]"):
        load_config({"partitions": {"conditions": {"cv": {"method": "stratified_cv", "k": 2}}}})


def test_directory_source_needs_root(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset\.directory\.root"):
        resolve(load_config({"dataset": {"source": "directory"}}))
    (tmp_path / "music" / "blues").mkdir(parents=True)
    root = str(tmp_path / "music")
    resolved = resolve(load_config({"dataset": {"source": "directory", "directory": {"root": root}}}))
    assert resolved.dataset.root == root


def test_presets():
    big = resolve(load_config({"dataset": {"synthetic": {"preset": "gtzan_size", "n_per_genre": 3}}}))
    assert (big.dataset.synthetic.n_per_genre, big.dataset.synthetic.duration) == SYNTHETIC_PRESETS["gtzan_size"]
    kept = resolve(load_config({"dataset": {"synthetic": {"preset": "default", "n_per_genre": 3}}}))
    assert kept.dataset.synthetic.n_per_genre == 3
    assert "preset" not in kept.dataset.synthetic.plan_args()


def test_folds_of_validated_conditions():
    assert condition_folds({"a": {"method": "stratified"}, "b": {"method": "stratified_cv", "k": 5}}) == {"a": 1, "b": 5}


def test_resolved_features_follow_the_config():
    resolved = resolve(load_config({"dataset": {"sample_rate": 16000}, "features": {"frames": {"n_fft": 2048}}}))
    # the texture's STFT is the frames' STFT: one value, two parameter sets
    for params in (resolved.features.frames, resolved.features.texture):
        assert (params["sample_rate"], params["n_fft"]) == (16000, 2048)
    assert resolved.features.frames["kind"] == "frames" and resolved.features.texture["kind"] == "texture"


def test_specs_are_frozen_and_travel_as_params():
    resolved = resolve(load_config())
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.seed = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.dataset.synthetic.duration = 1.0
    assert pickle.loads(pickle.dumps(resolved)) == resolved  # Snakemake pickles params for script jobs


# ---- a value is written in one place --------------------------------------------------------


def _leaf_keys_with_defaults():
    return {key.rsplit(".", 1)[-1] for key in schema_defaults()}


def _flatten(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], node


def test_no_module_repeats_a_schema_default(repo_root):
    """No `.get("<key with a schema default>", <fallback>)` in rules, scripts or the library."""
    keys = _leaf_keys_with_defaults()
    offenders = []
    py_files = sorted((repo_root / "src" / "mgrfaults").rglob("*.py")) + sorted((repo_root / "workflow").rglob("*.py"))
    for path in py_files:
        rel = str(path.relative_to(repo_root))
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Constant) and node.args[0].value in keys):
                offenders.append(f"{rel}:{node.lineno} .get({node.args[0].value!r}, ...)")
    get_with_default = re.compile(r"""\.get\(\s*["'](\w+)["']\s*,""")
    for path in [repo_root / "Snakefile", *sorted((repo_root / "workflow" / "rules").glob("*.smk"))]:
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            for key in get_with_default.findall(line):
                if key in keys:
                    offenders.append(f"{path.relative_to(repo_root)}:{lineno} .get({key!r}, ...)")
    assert not offenders, "schema defaults repeated as fallbacks:\n" + "\n".join(offenders)


def test_no_signature_repeats_a_schema_default(repo_root):
    """No library parameter defaults to a literal equal to the schema's default of a key of its name:
    `def stft_frames(y, n_fft=1024)` would write 1024 a second time; `n_fft=_FRAMES["n_fft"]` reads it."""
    by_leaf = {}
    for key, value in schema_defaults().items():
        by_leaf.setdefault(key.rsplit(".", 1)[-1], []).append(value)
    offenders = []
    for path in sorted((repo_root / "src" / "mgrfaults").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            positional = node.args.posonlyargs + node.args.args
            pairs = list(zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults))
            pairs += list(zip(node.args.kwonlyargs, node.args.kw_defaults))
            for arg, default in pairs:
                if (isinstance(default, ast.Constant) and default.value is not None
                        and not isinstance(default.value, bool) and default.value in by_leaf.get(arg.arg, [])):
                    offenders.append(f"{path.relative_to(repo_root)}:{node.lineno} {node.name}({arg.arg}={default.value!r})")
    assert not offenders, "schema defaults repeated in signatures:\n" + "\n".join(offenders)


def test_config_files_do_not_restate_schema_defaults(repo_root):
    """config.yaml and gtzan.yaml set only values that differ from the schema's defaults."""
    defaults = schema_defaults()
    for name in ("config.yaml", "gtzan.yaml"):
        written = yaml.safe_load((repo_root / "config" / name).read_text())
        for key, value in _flatten({k: v for k, v in written.items() if k != "partitions"}):
            assert defaults.get(key, object()) != value, f"config/{name}: {key} restates the schema default {value!r}"
        for cname, cond in written.get("partitions", {}).get("conditions", {}).items():
            for key, value in cond.items():
                default = defaults.get(f"partitions.conditions.{cond['method']}.{key}", object())
                assert default != value, f"config/{name}: conditions.{cname}.{key} restates the default {value!r}"


@pytest.mark.parametrize("source", ["gtzan", "directory"])
def test_missing_or_empty_root_is_named(source, tmp_path):
    config = load_config()
    config["dataset"]["source"] = source
    config["dataset"][source]["root"] = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=rf"dataset\.{source}\.root: .*nowhere is not a folder"):
        check_config(config)
    (tmp_path / "empty").mkdir()
    config["dataset"][source]["root"] = str(tmp_path / "empty")
    with pytest.raises(ConfigError, match=rf"dataset\.{source}\.root: .*empty folder"):
        check_config(config)
    (tmp_path / "empty" / "blues").mkdir()
    check_config(config)


def test_results_that_is_a_file_or_below_one_is_named(tmp_path):
    config = load_config()
    (tmp_path / "notes.txt").write_text("not a folder")
    for results, problem in [(tmp_path / "notes.txt", "is a file"), (tmp_path / "notes.txt" / "run", "lies below the file")]:
        config["results"] = str(results)
        with pytest.raises(ConfigError, match=rf"results: .* {problem}"):
            check_config(config)
    config["results"] = str(tmp_path / "new" / "run")  # a folder still to make is fine
    check_config(config)


def test_published_lists_folder_missing_a_list_is_named(tmp_path):
    config = load_config({"partitions": {"conditions": {"mine": {"method": "published", "lists": str(tmp_path),
                                                                 "set": "mine"}}}})
    for part in ("train", "valid"):
        (tmp_path / f"{part}_mine.txt").write_text("blues.00000\n")
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.mine\.lists: .* lacks test_mine\.txt"):
        check_config(config)
    (tmp_path / "test_mine.txt").write_text("blues.00001\n")
    check_config(config)


def test_compare_needs_two_different_conditions(schema):
    config = load_config()
    config["evaluate"]["compare"] = ["standard", "standard"]  # a typo: a difference of 0, p = 1
    with pytest.raises(WorkflowError, match="non-unique"):
        validate(config, schema)


def test_gtzan_without_root_downloads():
    config = load_config()
    config["dataset"]["source"] = "gtzan"
    config["dataset"]["gtzan"]["root"] = None
    check_config(config)


def test_a_partial_variant_keeps_the_schema_values():
    from mgrfaults.config import complete_dnn_variants

    dnn = load_config({"systems": {"dnn": {"variants": {"RS": {"max_epochs": 3}}}}})["systems"]["dnn"]
    assert dnn["variants"] == {"RS": {"max_epochs": 3}}  # what the validator leaves: RSD gone, RS partial
    variants = complete_dnn_variants(dnn)["variants"]
    defaults = schema_defaults()["systems.dnn.variants"]
    assert variants["RS"] == {**defaults["RS"], "max_epochs": 3}
    assert variants["RSD"] == defaults["RSD"] and variants["RSD"]["keep_probs"] == [0.8, 0.75, 0.75, 0.75]
