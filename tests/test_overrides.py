"""--config values arrive as strings; they are typed by the schema before validation."""

import copy

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mgrfaults.overrides import coerce_to_schema


@pytest.fixture
def schema(repo_root):
    return yaml.safe_load((repo_root / "workflow" / "schemas" / "config.schema.yaml").read_text())


@pytest.fixture
def config(repo_root):
    return yaml.safe_load((repo_root / "config" / "config.yaml").read_text())


def merged(config, *entries):
    """The default config with `--config` entries merged as Snakemake merges them (nested, recursively)."""
    out = copy.deepcopy(config)

    def update(base, extra):
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value

    update(out, parse_config(list(entries)))
    return out


def test_nested_numbers_from_the_command_line_validate(config, schema, repo_root):
    cfg = merged(config, "systems={bff: {svm_C: [4, 0.5]}, dnn: {variants: {RS: {max_epochs: 3}}}}",
                 "evaluate={confidence: 0.9}", "seed=7")
    assert cfg["systems"]["bff"]["svm_C"] == ["4", "0.5"]  # what Snakemake delivers
    with pytest.raises(WorkflowError, match="is not of type"):
        validate(copy.deepcopy(cfg), str(repo_root / "workflow" / "schemas" / "config.schema.yaml"))
    typed = coerce_to_schema(cfg, schema)
    assert typed["systems"]["bff"]["svm_C"] == [4, 0.5]
    assert typed["systems"]["dnn"]["variants"]["RS"]["max_epochs"] == 3
    assert typed["evaluate"]["confidence"] == 0.9 and typed["seed"] == 7
    validate(typed, str(repo_root / "workflow" / "schemas" / "config.schema.yaml"))


def test_strings_stay_strings_and_bad_values_are_left_for_validation(schema):
    typed = coerce_to_schema(
        {"results": "123", "systems": {"bff": {"svm_gamma": ["scale", "0.1"]}, "threads": "many"},
         "dataset": {"gtzan": {"root": "null"}}, "partitions": {"conditions": {"x": {"method": "stratified"}}}},
        schema,
    )
    assert typed["results"] == "123"  # type string: kept as written
    assert typed["systems"]["bff"]["svm_gamma"] == ["scale", 0.1]  # anyOf number | enum
    assert typed["systems"]["threads"] == "many"  # not a number: validation names it
    assert typed["dataset"]["gtzan"]["root"] == "null"  # string or null: a string is valid, kept


def test_booleans_and_nulls(schema):
    typed = coerce_to_schema({"systems": {"dnn": {"variants": {"SD": {"momentum_schedule": "true"}},
                                                  "valid_frames": "null"}}}, schema)
    assert typed["systems"]["dnn"]["variants"]["SD"]["momentum_schedule"] is True
    assert typed["systems"]["dnn"]["valid_frames"] is None


def test_a_condition_set_to_null_is_dropped(tmp_path, repo_root):
    # a --configfile adds its conditions to the default's; null is how it runs without one of them
    from conftest import run_snakemake
    from mgrfaults.config import load_config

    overlay = {"partitions": {"conditions": {"standard": None, "mine": {"method": "stratified"}}},
               "evaluate": {"compare": ["mine", "fault_filtered"]}}
    assert list(load_config(overlay)["partitions"]["conditions"]) == ["fault_filtered", "mine"]
    plan = run_snakemake(tmp_path, overlay, extra_args=["-n"]).stdout
    assert "results/partitions/mine/fold_0.csv" in plan and "results/partitions/fault_filtered/fold_0.csv" in plan
    assert "results/partitions/standard/" not in plan
    assert "partitions.conditions: standard set to null (or left empty): not run" in plan  # said: maybe not meant
    # the same from the command line, where a nested null arrives as the text 'null'
    plan = run_snakemake(tmp_path / "cli", extra_args=[
        "-n", "--config", "partitions={conditions: {standard: null, mine: {method: stratified}}}",
        "evaluate={compare: [mine, fault_filtered]}"]).stdout
    assert "results/partitions/mine/fold_0.csv" in plan and "results/partitions/standard/" not in plan


def test_a_custom_system_set_to_null_is_dropped(tmp_path, repo_root):
    # audit 54: the worked example could not be run without its slow torch system but by copying its config
    from conftest import run_snakemake
    from mgrfaults.config import load_config

    example = repo_root / "examples" / "custom_system" / "config.yaml"
    assert set(load_config(example)["systems"]["custom"]) == {"Texture_LogReg", "Frames_MLP"}
    assert list(load_config(example, {"systems": {"custom": {"Frames_MLP": None}}})["systems"]["custom"]) == [
        "Texture_LogReg"]
    plan = run_snakemake(tmp_path, extra_args=["-n", "--configfile", str(example), "--config",
                                               "systems={custom: {Frames_MLP: null}}"]).stdout
    assert "systems.custom: Frames_MLP set to null (or left empty): not run" in plan
    assert "predictions/Texture_LogReg/" in plan and "predictions/Frames_MLP/" not in plan


def test_a_custom_systems_params_from_config_arrive_typed_as_from_a_configfile(schema):
    from mgrfaults.overrides import typed_overrides

    overrides = {"systems": {"custom": {"X": {"params": {"epochs": "2", "shuffle": "false", "rate": "0.5",
                                                         "name": "mlp", "layers": ["64", "32"], "at": "@x"}}}}}
    config = {"seed": "7", **overrides}  # Snakemake has merged the --config values already, as strings
    typed = typed_overrides(config, overrides, schema)
    assert typed["systems"]["custom"]["X"]["params"] == {"epochs": 2, "shuffle": False, "rate": 0.5, "name": "mlp",
                                                         "layers": [64, 32], "at": "@x"}
    assert typed["seed"] == 7
    # a configfile's quoted string in a factory's params stays a string (only --config values are read again)
    quoted = {"systems": {"custom": {"X": {"params": {"tag": "2014"}}}}}
    assert typed_overrides(quoted, {}, schema)["systems"]["custom"]["X"]["params"]["tag"] == "2014"


def test_whole_floats_become_integers_where_the_schema_wants_one(schema):
    # JSON Schema takes 1.0 for an integer; range(1.0) does not
    typed = coerce_to_schema({"faults": {"n_shards": 1.0}, "evaluate": {"confidence": 1.0}, "seed": 2.5}, schema)
    assert typed["faults"]["n_shards"] == 1 and isinstance(typed["faults"]["n_shards"], int)
    assert isinstance(typed["evaluate"]["confidence"], float) and typed["seed"] == 2.5  # a number stays; 2.5 is refused later


def test_a_command_line_null_clears_a_path_key(schema):
    # --config 'dataset={source: synthetic, directory: {root: null}}' switches a directory configuration back
    typed = coerce_to_schema({"dataset": {"directory": {"root": "null"}}, "results": "null"}, schema,
                             free_form_as_yaml=True)
    assert typed["dataset"]["directory"]["root"] is None and typed["results"] == "null"  # results takes no null
    assert coerce_to_schema({"dataset": {"directory": {"root": "null"}}}, schema)["dataset"]["directory"]["root"] == "null"
