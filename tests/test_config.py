"""Configuration: the schema names unknown keys and wrong types; semantic checks name the key."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mgrfaults.config import ConfigError, check_config, condition_folds, resolve_dataset_config


@pytest.fixture
def config(repo_root):
    return yaml.safe_load((repo_root / "config" / "config.yaml").read_text())


@pytest.fixture
def schema(repo_root):
    return str(repo_root / "workflow" / "schemas" / "config.schema.yaml")


def test_default_and_gtzan_configs_are_valid(config, schema, repo_root):
    validate(copy.deepcopy(config), schema)
    check_config(config)
    gtzan = yaml.safe_load((repo_root / "config" / "gtzan.yaml").read_text())
    merged = copy.deepcopy(config)
    for key, value in gtzan.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    validate(merged, schema)


def test_unknown_key_is_named(config, schema):
    config["dataset"]["synthetic"]["n_per_genr"] = 5
    with pytest.raises(WorkflowError, match="n_per_genr"):
        validate(config, schema)


def test_unknown_top_level_key_is_named(config, schema):
    config["featurez"] = {}
    with pytest.raises(WorkflowError, match="featurez"):
        validate(config, schema)


def test_wrong_type_is_named(config, schema):
    config["dataset"]["synthetic"]["duration"] = "long"
    with pytest.raises(WorkflowError, match="duration"):
        validate(config, schema)
    config = yaml.safe_load(yaml.safe_dump(config))
    config["dataset"]["synthetic"]["duration"] = 10.0
    config["dataset"]["source"] = "spotify"
    with pytest.raises(WorkflowError, match="spotify"):
        validate(config, schema)


def test_proportions_must_sum_to_one(config):
    config["partitions"]["conditions"]["standard"]["proportions"] = {"train": 0.5, "valid": 0.2, "test": 0.2}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.standard\.proportions: must sum to 1"):
        check_config(config)


def test_cv_needs_k_at_least_two(config):
    config["partitions"]["conditions"]["cv"] = {"method": "stratified_cv", "k": 1}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.cv\.k"):
        check_config(config)


def test_directory_source_needs_root(config):
    config["dataset"]["source"] = "directory"
    with pytest.raises(ConfigError, match=r"dataset\.directory\.root"):
        check_config(config)


def test_presets_and_folds():
    resolved = resolve_dataset_config({"source": "synthetic", "synthetic": {"preset": "gtzan_size", "n_per_genre": 3}})
    assert (resolved["synthetic"]["n_per_genre"], resolved["synthetic"]["duration"]) == (100, 30.0)
    kept = resolve_dataset_config({"source": "synthetic", "synthetic": {"preset": "default", "n_per_genre": 3}})
    assert kept["synthetic"]["n_per_genre"] == 3
    assert condition_folds({"a": {"method": "stratified"}, "b": {"method": "stratified_cv", "k": 5},
                            "c": {"method": "artist_filtered_cv"}}) == {"a": 1, "b": 5, "c": 4}


@pytest.mark.parametrize("source", ["gtzan", "directory"])
def test_missing_or_empty_root_is_named(config, source, tmp_path):
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


def test_gtzan_without_root_downloads(config):
    config["dataset"]["source"] = "gtzan"
    config["dataset"]["gtzan"]["root"] = None
    check_config(config)
