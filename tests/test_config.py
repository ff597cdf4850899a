"""Configuration: the schema names unknown keys and wrong types and is the only place defaults are
written; resolve() turns the validated config into frozen specs; semantic checks name the key."""

import ast
import copy
import dataclasses
import os
import pickle
import re
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mgrfaults.cli import main as cli_main
from mgrfaults.config import (
    SCHEMA_PATH,
    SYNTHETIC_PRESETS,
    ConfigError,
    check_config,
    check_config_file,
    check_configfile_arguments,
    check_schema,
    condition_folds,
    config_as_run,
    expand_user_paths,
    load_config,
    read_config_file,
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


@pytest.mark.parametrize("overlay, message", [
    # a typo: the closest key
    ({"systems": {"bff": {"svm_c": [1]}}}, r"^config: 'svm_c' \(did you mean 'svm_C'\?\) is not a key under systems\.bff; "
                                           r"its keys: svm_C, svm_gamma, rf_trees$"),
    # a key of a deeper section: where it belongs
    ({"systems": {"dnn": {"learning_rate": 0.1}}},
     r"^config: 'learning_rate' \(it is a key of systems\.dnn\.variants\.<RS\|RSD\|SD> and systems\.dnn\.rbm\) "
     r"is not a key under systems\.dnn; its keys: hidden_layers, "),
    ({"sed": 3}, r"^config: 'sed' \(did you mean 'seed'\?\) is not a key at the top level"),
    # a bound: the value, the key, and the key's description
    ({"dataset": {"max_duration": 0.01}}, r"^config dataset\.max_duration: 0\.01 is less than the minimum of 0\.1 "
                                          r"\(seconds kept per file, "),
    ({"partitions": 3}, r"^config partitions: 3 is not of type 'object'"),
])
def test_schema_errors_are_one_line_naming_the_key(overlay, message):
    # snakemake.utils.validate prints the section's whole schema (hundreds of lines for systems.dnn), the key last
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(overlay)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 700


def test_schema_error_names_the_keys_of_the_other_problems():
    with pytest.raises(ConfigError, match=r"^config seed: -1 is less than the minimum of 0 \(master seed .*\) "
                                          r"\(and 2 more problem\(s\), at systems\.bff\.svm_C, systems\.threads\)$"):
        load_config({"seed": -1, "systems": {"bff": {"svm_C": "x"}, "threads": 0}})


@pytest.mark.parametrize("overlay, message", [
    # your data named, the synthetic default run
    ({"dataset": {"directory": {"root": "/data/mine"}}}, r"^dataset\.directory\.root: '/data/mine' is given, but "
                                                        r"dataset\.source is 'synthetic', so it would be ignored"),
    ({"dataset": {"directory": {"annotations": "a.csv"}}}, r"^dataset\.directory\.annotations: 'a\.csv' is given"),
    ({"dataset": {"source": "directory", "directory": {"root": str(Path(__file__).parent)}, "gtzan": {"root": "/g"}}},
     r"^dataset\.gtzan\.root: '/g' is given, but dataset\.source is 'directory'"),
    # a size the preset replaces (configuration.yaml would record it)
    ({"dataset": {"synthetic": {"preset": "tiny", "n_per_genre": 4}}},
     r"^dataset\.synthetic\.n_per_genre: 4 would be ignored: preset 'tiny' makes 12 excerpts of 6 s per genre"),
    ({"dataset": {"synthetic": {"preset": "gtzan_size", "duration": 5.0}}},
     r"^dataset\.synthetic\.duration: 5\.0 would be ignored: preset 'gtzan_size' makes 100 excerpts of 30 s"),
])
def test_dataset_keys_the_run_would_ignore_are_refused(overlay, message):
    with pytest.raises(ConfigError, match=message):
        check_config(load_config(overlay))


@pytest.mark.parametrize("entry", ["*.mp3", "mp3 ", "mp3,flac", "tar.gz", ".", "..mp3", "mp3\n", ""])
def test_an_extension_no_file_suffix_can_be_is_refused_naming_it(tmp_path, capsys, entry):
    # `*.mp3` was valid and the run silently left every .mp3 out, advising to add the extension (audit 44)
    extensions = ["wav", entry]
    message = (rf"^config dataset\.directory\.extensions\.1: {re.escape(repr(entry))} is not of the form the key takes \(an extension: "
               r"letters and digits, an optional leading dot, any case \(mp3, \.flac\); a pattern \(\*\.mp3\), ")
    with pytest.raises(ConfigError, match=message):
        load_config({"dataset": {"source": "directory", "directory": {"root": str(tmp_path), "extensions": extensions}}})
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"dataset": {"directory": {"extensions": extensions}}}))
    assert cli_main(["check-config", str(mine)]) == 2
    assert f"config dataset.directory.extensions.1: {entry!r} is not of the form the key takes" in capsys.readouterr().err


def test_extensions_take_a_leading_dot_and_any_case():
    from mgrfaults.data.download import audio_suffixes

    extensions = ["au", ".WAV", "Mp3", ".flac", "m4a", "a" * 16]
    config = load_config({"dataset": {"directory": {"extensions": extensions}}})
    assert audio_suffixes(config["dataset"]["directory"]["extensions"]) == {".au", ".wav", ".mp3", ".flac", ".m4a",
                                                                           "." + "a" * 16}


def test_a_preset_over_the_embedded_size_is_accepted():
    # config/config.yaml's own n_per_genre stays under a preset: the preset decides, as it says
    assert resolve(load_config({"dataset": {"synthetic": {"preset": "tiny"}}})).dataset.synthetic.n_per_genre == 12


@pytest.mark.parametrize("results, expected", [
    ("results", "results"), ("results/", "results"), ("./out", "out"), ("./out/", "out"), ("a/../b", "b"),
    ("{cwd}/results", "results"), ("{cwd}/deep/er/", "deep/er"), ("/elsewhere/results", "/elsewhere/results"),
    ("{cwd}", "{cwd}"), (".", "{cwd}"), ("../w/results", "results"), ("{cwd}/link/results", "{outside}/results"),
    ("link/results", "{outside}/results"), ("{cwd}/link/../w/x", "x"), ("inner_link/x", "inner/x"),
    ("{cwd}/inner_link/x", "inner/x"),
])
def test_the_results_folder_is_spelt_one_way(tmp_path, results, expected):
    # Snakemake keeps its records under the path as spelt: one folder named two ways would lose them
    from mgrfaults.config import canonical_results

    top = tmp_path.resolve()
    cwd, outside = top / "w", top / "outside"
    for folder in (cwd / "inner", outside):
        folder.mkdir(parents=True)
    (cwd / "link").symlink_to(outside)  # a link out of the working folder: `..` after it is the link target's parent
    (cwd / "inner_link").symlink_to(cwd / "inner")
    names = {"cwd": cwd, "outside": outside}
    assert canonical_results(results.format(**names), cwd) == expected.format(**names)


def test_a_key_written_twice_in_a_config_file_is_refused(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("dataset:\n  source: synthetic\nsystems:\n  run: [BFF_SVM]\ndataset:\n  max_duration: 2.0\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: the key 'dataset' is written twice in one mapping "
                                          r"\(lines 1 and 5\): YAML keeps the second"):
        load_config(path)
    path.write_text("systems:\n  bff: {svm_C: [1], svm_C: [2]}\n")  # flow style too, nested
    with pytest.raises(ConfigError, match=r"the key 'svm_C' is written twice in one mapping \(lines 2 and 2\)"):
        check_config_file(path)


def test_a_yaml_merge_key_reads_as_yaml_safe_load_reads_it(tmp_path):
    # `<<: *anchor` is YAML: it was refused as "not YAML (could not determine a constructor for the tag ...merge)"
    path = tmp_path / "mine.yaml"
    path.write_text("partitions:\n"
                    "  conditions:\n"
                    "    cv3: &cv {method: stratified_cv, k: 3}\n"
                    "    cv3b:\n"
                    "      <<: *cv\n"
                    "      remove_faults: [exact_replica]\n"
                    "    cv5:\n"
                    "      <<: *cv\n"
                    "      k: 5\n"  # a key given through the merge and again: the override the merge is for
                    "    both: {<<: [*cv, {k: 6, remove_faults: [mislabel]}]}\n"
                    "systems: {run: [BFF_SVM]}\n")
    assert read_config_file(path) == yaml.safe_load(path.read_text())
    conditions = load_config(path)["partitions"]["conditions"]
    assert conditions["cv3b"] == {**conditions["cv3"], "remove_faults": ["exact_replica"]}
    assert conditions["cv5"]["k"] == 5 and conditions["cv3"]["k"] == 3 and conditions["both"]["k"] == 3
    check_config_file(path)
    # a key written twice beside a merge is still written twice; so is the merge key itself
    path.write_text("base: &b {k: 3}\nx:\n  <<: *b\n  k: 4\n  k: 5\n")
    with pytest.raises(ConfigError, match=r"the key 'k' is written twice in one mapping \(lines 4 and 5\)"):
        read_config_file(path)
    path.write_text("a: &a {k: 3}\nb: &b {k: 4}\nx:\n  <<: *a\n  <<: *b\n")
    with pytest.raises(ConfigError, match=r"the key '<<' is written twice in one mapping \(lines 4 and 5\)"):
        read_config_file(path)


def test_an_environment_variable_in_a_path_key_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^results: '\$SCRATCH/mgr' holds \$SCRATCH: environment variables are not "
                                          r"expanded in a config file .*\(\$SCRATCH is '.*' here\), or give it on the "
                                          r"command line, where the shell expands it: --config results=\"\$SCRATCH/mgr\""):
        check_config(load_config({"results": "$SCRATCH/mgr"}))
    with pytest.raises(ConfigError, match=r"^dataset.directory.root: '\$\{NO_SUCH_VARIABLE\}/audio' holds "
                                          r"\$\{NO_SUCH_VARIABLE\}: .*\(\$NO_SUCH_VARIABLE is not set here\)$"):
        check_config(load_config({"dataset": {"source": "directory", "directory": {"root": "${NO_SUCH_VARIABLE}/audio"}}}))
    # a folder really named so is a path like any other
    (tmp_path / "$money").mkdir()
    (tmp_path / "$money" / "blues").mkdir()
    (tmp_path / "$money" / "blues" / "a.au").write_bytes(b"x")
    check_config(load_config({"dataset": {"source": "directory", "directory": {"root": str(tmp_path / "$money")}}}))


def test_a_partial_copy_beside_strict_published_lists_and_a_sweep_off_synthetic_are_refused_at_start(tmp_path):
    copy = tmp_path / "copy"
    (copy / "blues").mkdir(parents=True)
    (copy / "blues" / "blues.00000.au").write_bytes(b"x")
    gtzan = {"source": "gtzan", "gtzan": {"root": str(copy), "partial": True}}
    published = {"mine": {"method": "published"}}
    with pytest.raises(ConfigError, match=r"^partitions.conditions.mine.on_missing: error, but dataset.gtzan.partial "
                                          r"is true: .* set on_missing: drop in mine"):
        check_config(load_config({"dataset": gtzan, "partitions": {"conditions": published}}))
    published["mine"]["on_missing"] = "drop"
    check_config(load_config({"dataset": gtzan, "partitions": {"conditions": published}}))
    with pytest.raises(ConfigError, match=r"^sweep.enabled: the confound sweep varies the synthetic dataset's "
                                          r"confound strength, and dataset.source is 'gtzan'"):
        check_config(load_config({"dataset": gtzan, "sweep": {"enabled": True}}))


def test_mislabels_removed_from_faults_detected_in_the_audio_alone_are_refused_at_start():
    # the detectors show replicas and distortions: such a condition removed no mislabel, without a word
    cond = {"method": "artist_filtered", "faults": "detected", "remove_faults": ["exact_replica", "mislabel"]}
    with pytest.raises(ConfigError, match=r"^partitions.conditions.clean.remove_faults: names mislabel, but its faults "
                                          r"come from the audio alone \(faults: detected\).*set faults: both"):
        check_config(load_config({"partitions": {"conditions": {"clean": cond}}}))
    for faults in ("both", "annotated"):
        check_config(load_config({"partitions": {"conditions": {"clean": {**cond, "faults": faults}}}}))
    check_config(load_config({"partitions": {"conditions": {"clean": {**cond, "remove_faults": ["exact_replica"]}}}}))


def test_synthetic_fault_rates_that_do_not_fit_are_refused_at_start():
    # planned as the data job plans it: check-config and the run's start say so, not the data job minutes in
    rates = {"exact_replica": 0.3, "recording_replica": 0.2, "distortion": 0.3, "mislabel": 0.2}
    with pytest.raises(ConfigError, match=r"^dataset\.synthetic\.faults: 60 recording_replica excerpt\(s\) asked"):
        check_config(load_config({"dataset": {"synthetic": {"n_per_genre": 30, "faults": rates}}}))
    check_config(load_config({"dataset": {"synthetic": {"n_per_genre": 30, "faults": {"distortion": 0.3}}}}))


def test_gtzan_partial_needs_a_local_copy_under_the_gtzan_source():
    with pytest.raises(ConfigError, match=r"dataset.gtzan.partial: true, but dataset.gtzan.root is null"):
        check_config(load_config({"dataset": {"source": "gtzan", "gtzan": {"partial": True}}}))
    with pytest.raises(ConfigError, match=r"dataset.gtzan.partial: True is given, but dataset.source is 'synthetic'"):
        check_config(load_config({"dataset": {"gtzan": {"partial": True}}}))


def test_trust_audio_names_files_of_a_real_dataset_only():
    with pytest.raises(ConfigError, match=r"^dataset.trust_audio: \['rock.00001'\] is given, but dataset.source is "
                                          r"'synthetic'.*would be ignored"):
        check_config(load_config({"dataset": {"trust_audio": ["rock.00001"]}}))
    with pytest.raises(ConfigError, match=r"dataset.trust_audio"):  # the schema's uniqueItems: one entry twice
        check_config(load_config({"dataset": {"source": "gtzan", "trust_audio": ["jazz.00054", "jazz.00054"]}}))
    check_config(load_config({"dataset": {"source": "gtzan", "trust_audio": ["jazz.00054", "classical/*"]}}))


@pytest.mark.parametrize("content, message", [
    (b"dataset:\n  synthetic:\n\tn_per_genre: 3\n",
     r", line 3, column 1: not YAML \(.*\); line 3 indents with a tab: YAML indents with spaces only$"),
    (b"dataset: [\n", r", line 2, column 1: not YAML \(while parsing a flow node expected the node content"),
    (b"results: r\xe9sultats\n", r", line 1, column 11: not UTF-8 text \(byte 0xe9; Latin-1"),
    ("seed: 1\nresults: 'Pokémon-".encode() + b"caf\xe9'\n", r", line 2, column 22: not UTF-8 text"),
    ("results: r\n".encode("utf-16"), r": UTF-16 text"),
    (b"", r": holds no keys \(empty, or comments only\); Snakemake refuses"),
    (b"# nothing yet\n", r": holds no keys"),
    (b"- a\n- b\n", r": holds a list \(\"\['a', 'b'\]\"\), not a mapping of keys"),
])
def test_a_config_file_snakemake_cannot_read_is_named_with_its_line(tmp_path, content, message):
    # Snakemake says "Config file is not valid JSON or YAML" (no file, no line) or prints a UnicodeDecodeError
    path = tmp_path / "mine.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}{message}"):
        read_config_file(path)


def test_a_config_file_missing_or_a_folder_is_named(tmp_path):
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(tmp_path / 'no.yaml'))}: no such config file$"):
        read_config_file(tmp_path / "no.yaml")
    with pytest.raises(ConfigError, match=r": a folder, not a config file$"):
        read_config_file(tmp_path)


def test_a_json_config_file_reads_as_snakemake_reads_it(tmp_path):
    # JSON first, as Snakemake: a JSON file indented with tabs is no YAML
    path = tmp_path / "mine.json"
    path.write_text('{\n\t"seed": 3,\n\t"systems": {"run": ["BFF_SVM"]}\n}\n')
    assert read_config_file(path) == {"seed": 3, "systems": {"run": ["BFF_SVM"]}}
    assert load_config(path)["seed"] == 3


def test_a_key_written_twice_in_a_json_config_file_is_refused(tmp_path, capsys):
    # json.loads (and Snakemake, which reads JSON first) keeps the second: the directory dataset was replaced by the
    # synthetic default, and check-config said valid
    path = tmp_path / "my.json"
    path.write_text('{"dataset": {"source": "directory", "directory": {"root": "audio"}},\n'
                    ' "systems": {"run": ["BFF_SVM"]},\n'
                    ' "dataset": {"max_duration": 2.0}}\n')
    message = (rf"^{re.escape(str(path))}: the key 'dataset' is written twice in one mapping \(lines 1 and 3\): JSON "
               r"readers \(Snakemake's\) keep the second and drop the first without a word; write it once")
    with pytest.raises(ConfigError, match=message):
        read_config_file(path)
    with pytest.raises(ConfigError, match=message):
        check_config_file(path)  # what the Snakefile runs on each --configfile
    assert cli_main(["check-config", str(path)]) == 2
    assert "the key 'dataset' is written twice" in capsys.readouterr().err
    # nested, on one line, and inside a list
    path.write_text('{"systems": {"run": ["BFF_SVM"], "bff": {"svm_C": [1], "svm_C": [2]}}}')
    with pytest.raises(ConfigError, match=r"the key 'svm_C' is written twice in one mapping \(lines 1 and 1\)"):
        read_config_file(path)
    path.write_text('{"systems": {"run": ["BFF_SVM"]},\n "x": [{"a": 1},\n  {"b": 1,\n   "b": 2}]}')
    with pytest.raises(ConfigError, match=r"the key 'b' is written twice in one mapping \(lines 3 and 4\)"):
        read_config_file(path)
    # lines ended by a classic Mac's CR alone are lines too ("lines 1 and 1" before)
    path.write_bytes(b'{"systems": {"run": ["BFF_SVM"]},\r "seed": 1,\r "seed": 2}')
    with pytest.raises(ConfigError, match=r"the key 'seed' is written twice in one mapping \(lines 2 and 3\)"):
        read_config_file(path)
    # the same key in two mappings is no repeat
    path.write_text('{"dataset": {"gtzan": {"root": null}, "directory": {"root": null}}, "seed": 3}')
    assert read_config_file(path)["seed"] == 3


def test_check_config_command_names_the_problem_or_outlines_the_run(tmp_path, capsys, repo_root):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: {sourc: gtzan}\n")
    assert cli_main(["check-config", str(bad)]) == 2
    assert "'sourc' (did you mean 'source'?) is not a key under dataset" in capsys.readouterr().err
    # what the stage files refuse when Snakemake reads them: config/gtzan.yaml alone names no copy (a dead URL)
    assert cli_main(["check-config", str(repo_root / "config" / "gtzan.yaml")]) == 2
    assert "has not answered since 2022" in capsys.readouterr().err
    copy = tmp_path / "copy"
    (copy / "blues").mkdir(parents=True)
    (copy / "blues" / "blues.00000.au").write_bytes(b"x")
    mine = tmp_path / "my_gtzan.yaml"
    mine.write_text(f"dataset: {{gtzan: {{root: {copy}}}}}\n")
    assert cli_main(["check-config", str(repo_root / "config" / "gtzan.yaml"), str(mine)]) == 0
    out = capsys.readouterr().out
    assert "gtzan.yaml my_gtzan.yaml: valid" in out.replace(str(repo_root / "config") + "/", "").replace(
        str(tmp_path) + "/", "")
    assert "results: results/gtzan" in out and "systems: 38 of systems.run" in out
    assert "published_filtered (published, 1 fold)" in out
    mine = tmp_path / "mine.yaml"
    mine.write_text("systems: {run: [BFF_SVM]}\nevaluate: {figure_of_merit: [BFF_SVM]}\n")
    assert cli_main(["check-config", "--print", str(mine)]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == load_config(mine) and printed["systems"]["bff"]["svm_C"]  # every default filled
    mine.write_text("systems: {run: [BFF_SVM, 50_XX]}\nevaluate: {figure_of_merit: [BFF_SVM]}\n")
    assert cli_main(["check-config", str(mine)]) == 2
    assert "50_XX" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["snakemake", "--configfile", "a.yaml", "--cores", "2", "--configfile", "b.yaml"],
     r"--configfile is given 2 times; Snakemake reads only the files of the last one \(b\.yaml\) .* "
     r"--configfile a\.yaml b\.yaml "),
    (["snakemake", "--configfile=a.yaml", "--configfiles", "b.yaml", "c.yaml"],
     r"reads only the files of the last one \(b\.yaml c\.yaml\) .* --configfile a\.yaml b\.yaml c\.yaml "),
])
def test_a_second_configfile_flag_is_refused(argv, message):
    with pytest.raises(ConfigError, match=message):
        check_configfile_arguments(argv)


def test_one_configfile_flag_with_several_files_is_accepted():
    check_configfile_arguments(["snakemake", "all", "--configfile", "a.yaml", "b.yaml", "--cores", "2"])
    check_configfile_arguments(["snakemake", "--cores", "2"])


def test_a_config_files_1e_3_is_the_number_it_means(tmp_path):
    # PyYAML reads `learning_rate: 1e-3` as text; typed by the schema as in the Snakefile, it is the number
    (tmp_path / "c.yaml").write_text("systems:\n  dnn:\n    variants:\n      RS: {learning_rate: 1e-3}\n")
    assert load_config(tmp_path / "c.yaml")["systems"]["dnn"]["variants"]["RS"]["learning_rate"] == 0.001
    # given untyped, the error says how to write it
    config = load_config()
    config["systems"]["dnn"]["variants"]["RS"]["learning_rate"] = "1e-3"
    with pytest.raises(ConfigError, match=r"^config systems\.dnn\.variants\.RS\.learning_rate: '1e-3' is not of type "
                                          r"'number' \(YAML 1\.1, which reads config files, takes 1e-3 for text: it "
                                          r"wants a dot and a signed exponent, 1\.0e-3\)"):
        check_schema(config)
    config["systems"]["dnn"]["variants"]["RS"]["learning_rate"] = 0.01
    config["seed"] = "1.0e3"  # a dot, but no sign: text for PyYAML too
    with pytest.raises(ConfigError, match=r"takes 1\.0e3 for text: it wants a dot and a signed exponent, 1\.0e\+3\)"):
        check_schema(config)


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
    # GTZAN: a published condition without lists reads GTZAN's (downloaded: no root needed to resolve)
    resolved = resolve(load_config({"dataset": {"source": "gtzan"}, "partitions": {"conditions": conditions}}))
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


def test_a_published_condition_with_detected_faults_is_refused_before_any_job(tmp_path):
    # its lists decide; the partition job said so after the whole fault detection had run (audit 34)
    for mode in ("detected", "both"):
        config = load_config({"partitions": {"conditions": {"mine": {"method": "published", "lists": str(tmp_path),
                                                                      "set": "mine", "faults": mode}}}})
        with pytest.raises(ConfigError, match=rf"^partitions\.conditions\.mine\.faults: '{mode}' has no effect on a "
                                              r"published condition \(its lists decide\)$"):
            check_config(config)


def test_cv_needs_k_at_least_three():
    with pytest.raises(ConfigError, match=r"config partitions\.conditions\.cv\.k: 2 is less than the minimum of 3"):
        load_config({"partitions": {"conditions": {"cv": {"method": "stratified_cv", "k": 2}}}})


def test_directory_source_needs_root(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset\.directory\.root"):
        resolve(load_config({"dataset": {"source": "directory"}}))
    (tmp_path / "music" / "blues").mkdir(parents=True)
    root = str(tmp_path / "music")
    resolved = resolve(load_config({"dataset": {"source": "directory", "directory": {"root": root}}}))
    assert resolved.dataset.root == root


def test_presets():
    big = resolve(load_config({"dataset": {"synthetic": {"preset": "gtzan_size"}}}))
    assert (big.dataset.synthetic.n_per_genre, big.dataset.synthetic.duration) == SYNTHETIC_PRESETS["gtzan_size"]
    with pytest.raises(ConfigError, match="n_per_genre: 3 would be ignored"):  # beside a preset: refused, not dropped
        resolve(load_config({"dataset": {"synthetic": {"preset": "gtzan_size", "n_per_genre": 3}}}))
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
    # one genre's folder given as the root: its audio files and no folder (audit 49: the scan job said so, late)
    (tmp_path / "empty" / "blues" / "blues.00000.au").write_bytes(b"audio")
    (tmp_path / "empty" / "blues" / "notes.txt").write_text("not audio")
    config["dataset"][source]["root"] = str(tmp_path / "empty" / "blues")
    if source == "directory":
        with pytest.raises(ConfigError, match=r"dataset\.directory\.root: .*blues holds audio files \(1, e\.g\. "
                                              r"'blues\.00000\.au'\) and no genre folder: a directory dataset's genres are its "
                                              r"<genre>/ folders \(an annotations table gives none\); if this is one genre's"):
            check_config(config)
        (tmp_path / "empty" / "blues" / "live").mkdir()  # a folder beside them: the scan says what it uses
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


def test_compare_names_two_conditions_or_none():
    one_condition = {"partitions": {"conditions": {"fault_filtered": None}}}
    config = load_config(one_condition)  # the default compare names the dropped condition
    with pytest.raises(ConfigError, match=r"evaluate\.compare: condition\(s\) \['fault_filtered'\] .*`compare: \[\]`"):
        check_config(config)
    config = load_config(one_condition, {"evaluate": {"compare": ["standard"]}})
    with pytest.raises(ConfigError, match=r"evaluate\.compare: \['standard'\] names one condition"):
        check_config(config)
    config = load_config(one_condition, {"evaluate": {"compare": []}})
    check_config(config)  # a study without a difference table
    assert resolve(config).evaluate.compare == ()
    config["sweep"]["enabled"] = True  # the sweep's every table is the difference
    with pytest.raises(ConfigError, match=r"evaluate\.compare: \[\] but sweep\.enabled"):
        check_config(config)


def test_gtzan_without_root_downloads():
    config = load_config()
    config["dataset"]["source"] = "gtzan"
    config["dataset"]["gtzan"]["root"] = None
    check_config(config)


def test_a_partial_variant_keeps_the_schema_values():
    from mgrfaults.config import complete_dnn_variants

    config = {"systems": {"dnn": {"variants": {"RS": {"max_epochs": 3}}}}}
    from mgrfaults.config import deep_merge

    left = deep_merge(yaml.safe_load((SCHEMA_PATH.parents[2] / "config" / "config.yaml").read_text()), config)
    validate(left, str(SCHEMA_PATH), set_default=True)  # snakemake's validator alone: RSD gone, RS partial
    assert left["systems"]["dnn"]["variants"] == {"RS": {"max_epochs": 3}}
    defaults = schema_defaults()["systems.dnn.variants"]
    assert complete_dnn_variants(left["systems"]["dnn"])["variants"]["RS"] == {**defaults["RS"], "max_epochs": 3}
    # load_config (and the Snakefile) complete them: every stage, configuration.yaml and check-config --print see
    # each variant's every value
    variants = load_config(config)["systems"]["dnn"]["variants"]
    assert variants["RS"] == {**defaults["RS"], "max_epochs": 3}
    assert variants["RSD"] == defaults["RSD"] and variants["RSD"]["keep_probs"] == [0.8, 0.75, 0.75, 0.75]
    assert config_as_run(load_config(config))["systems"]["dnn"]["variants"] == variants


# ---- bad input: paths, counts and names the schema cannot judge ------------------------------


def _lists_folder(folder, sets=("filtered", "stratified")):
    """A folder of {train,valid,test}_<set>.txt lists (contents do not matter at parse)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind in sets:
        for part in ("train", "valid", "test"):
            (folder / f"{part}_{kind}.txt").write_text("blues.00000\n")
    return folder


def _directory_root(tmp_path):
    (tmp_path / "music" / "blues").mkdir(parents=True)
    return str(tmp_path / "music")


def test_tilde_in_path_keys_is_expanded_once(tmp_path, monkeypatch):
    """`~` means the home folder in every path key, for the checks and for the workflow alike (Snakemake
    would take it literally, pandas and the checks would not)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "gtz" / "blues").mkdir(parents=True)
    (tmp_path / "GTZANindex.txt").write_text("blues.00000.wav ::: A ::: B\n")
    _lists_folder(tmp_path / "lists")
    _lists_folder(tmp_path / "mine", sets=("mine",))
    config = load_config({
        "results": "~/res/",
        "dataset": {"source": "gtzan", "gtzan": {"root": "~/gtz", "index": "~/GTZANindex.txt", "partition_lists": "~/lists"}},
        "partitions": {"conditions": {"mine": {"method": "published", "lists": "~/mine", "set": "mine"}}},
        "systems": {"custom": {"Mine": {"factory": "~/plugin.py:build", "input": "texture"}}},
    })
    resolved = resolve(config)  # before: "dataset.gtzan.root: ~/gtz is not a folder"
    home = str(tmp_path)
    assert resolved.results == f"{home}/res"
    assert resolved.dataset.root == f"{home}/gtz"
    assert resolved.dataset.gtzan["index"] == f"{home}/GTZANindex.txt"
    assert resolved.dataset.gtzan["partition_lists"] == f"{home}/lists"
    assert resolved.conditions["mine"].options["lists"] == f"{home}/mine"
    expanded = expand_user_paths(config)
    assert expanded["systems"]["custom"]["Mine"]["factory"] == f"{home}/plugin.py:build"
    assert config["results"] == "~/res/"  # the given config is left as it was
    directory = load_config({"dataset": {"source": "directory", "directory": {"root": "~/gtz", "annotations": "~/a.csv"}}})
    assert expand_user_paths(directory)["dataset"]["directory"] == {**directory["dataset"]["directory"],
                                                                   "root": f"{home}/gtz", "annotations": f"{home}/a.csv"}
    # the checks see the expanded path too: a missing one is named with the key
    with pytest.raises(ConfigError, match=r"dataset\.directory\.annotations: .*a\.csv' does not exist"):
        resolve(directory)


def test_an_index_that_is_a_folder_is_named_at_start(tmp_path):
    # audit 49: it passed check-config and failed in the fetch job, after the whole copy was scanned
    from mgrfaults.config import check_input_paths

    (tmp_path / "metadata").mkdir()
    config = load_config({"dataset": {"source": "gtzan", "gtzan": {"index": str(tmp_path / "metadata")}}})
    with pytest.raises(ConfigError, match=r"dataset\.gtzan\.index: .*metadata' is a folder: name Sturm's index"):
        check_input_paths(config)
    (tmp_path / "metadata" / "GTZANindex.txt").write_text("blues.00000.wav :::: A :::: B\n")
    check_input_paths(load_config({"dataset": {"source": "gtzan", "gtzan": {
        "index": str(tmp_path / "metadata" / "GTZANindex.txt")}}}))


def test_paths_without_tilde_resolve_as_written(tmp_path, monkeypatch):
    """Expansion changes nothing else: an existing results folder keeps its paths (no rerun)."""
    monkeypatch.chdir(tmp_path)
    _lists_folder(tmp_path / "rel" / "lists")
    config = load_config({"results": "out/run/",
                          "dataset": {"source": "gtzan", "gtzan": {"partition_lists": "rel/lists", "index": None}},
                          "systems": {"custom": {"Mine": {"factory": "pkg.mod:build", "input": "texture"}}}})
    assert expand_user_paths(config) == config
    resolved = resolve(config)
    assert resolved.results == "out/run" and resolved.dataset.gtzan["partition_lists"] == "rel/lists"
    assert resolve(load_config()).results == "results"


def test_tilde_of_an_unknown_user_is_named():
    config = load_config({"results": "~no_such_user_mgrfaults/res"})
    with pytest.raises(ConfigError, match=r"^results: .*~no_such_user_mgrfaults is not a user's home folder"):
        resolve(config)


@pytest.mark.parametrize("key", ["results", "dataset.directory.root", "partitions.conditions.mine.lists"])
def test_braces_in_a_path_key_are_named(key, tmp_path):
    """Snakemake reads {...} as a wildcard: refused at parse, naming the key, not a WildcardError in a rule."""
    braced = tmp_path / "data{1}"
    (braced / "blues").mkdir(parents=True)
    _lists_folder(braced, sets=("mine",))
    overlay = {"results": str(tmp_path / "results"),
               "dataset": {"source": "directory", "directory": {"root": _directory_root(tmp_path)}},
               "partitions": {"conditions": {"mine": {"method": "published", "lists": str(tmp_path / "data{1}"),
                                                      "set": "mine"}}}}
    overlay["results"] = str(tmp_path / "results_{seed}") if key == "results" else overlay["results"]
    if key == "dataset.directory.root":
        overlay["dataset"]["directory"]["root"] = str(braced)
    if key != "partitions.conditions.mine.lists":
        _lists_folder(tmp_path / "plain", sets=("mine",))
        overlay["partitions"]["conditions"]["mine"]["lists"] = str(tmp_path / "plain")
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: .*Snakemake reads .* as a wildcard"):
        resolve(load_config(overlay))


@pytest.mark.parametrize("overlay, message", [
    # features.frames {n_fft: 256, hop_length: 4096}: frames covered 6 % of the audio, without a word
    ({"features": {"frames": {"n_fft": 256, "hop_length": 4096}}},
     r"^features\.frames\.hop_length: 4096 samples from one frame's start to the next, more than a frame's length "
     r"\(features\.frames\.n_fft: 256 samples\): 3840 samples of every 4096 lie between two frames and are never "
     r"analysed \(6 % covered\); set features\.frames\.hop_length at most features\.frames\.n_fft$"),
    ({"features": {"texture": {"window_seconds": 2.0, "hop_seconds": 3.0}}},
     r"^features\.texture\.hop_seconds: 3\.0 s from one texture window's start to the next, more than a texture "
     r"window's length \(features\.texture\.window_seconds: 2\.0 s\): 1 s of every 3 .* \(67 % covered\)"),
    ({"systems": {"learned": {"af_window": 100, "af_hop": 150}}},
     r"^systems\.learned\.af_hop: 150 frames from one AF window's start to the next, more than an AF window's length "
     r"\(systems\.learned\.af_window: 100 frames\)"),
])
def test_a_hop_longer_than_its_window_is_refused(overlay, message):
    with pytest.raises(ConfigError, match=message):
        check_config(load_config(overlay))


def test_a_hop_up_to_its_window_is_accepted():
    check_config(load_config({"features": {"frames": {"n_fft": 512, "hop_length": 512},
                                           "texture": {"window_seconds": 3.0, "hop_seconds": 3.0}},
                              "systems": {"learned": {"af_window": 50, "af_hop": 50}}}))
    # a running texture window (one per frame) reads no window_seconds or hop_seconds
    check_config(load_config({"features": {"texture": {"variant": "running", "window_seconds": 2.0,
                                                       "hop_seconds": 3.0}}}))


@pytest.mark.parametrize("key", ["results", "dataset.directory.root", "partitions.conditions.mine.lists"])
def test_a_space_around_a_path_is_named(key, tmp_path, monkeypatch):
    """`results: 'out '` wrote to a folder `out ` beside any `out` (genre folders so named are refused)."""
    monkeypatch.chdir(tmp_path)
    _directory_root(tmp_path)
    _lists_folder(tmp_path / "lists", sets=("mine",))
    overlay = {"results": "out", "dataset": {"source": "directory", "directory": {"root": "music"}},
               "partitions": {"conditions": {"mine": {"method": "published", "lists": "lists", "set": "mine"}}}}
    check_config(load_config(overlay))
    padded = copy.deepcopy(overlay)
    holder, field = {"results": (padded, "results"), "dataset.directory.root": (padded["dataset"]["directory"], "root"),
                     "partitions.conditions.mine.lists": (padded["partitions"]["conditions"]["mine"], "lists")}[key]
    holder[field] = f"{holder[field]} " if key != "dataset.directory.root" else f" {holder[field]}"
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: '.*' has a space before or after it"):
        check_config(load_config(padded))
    if key == "results":
        Path("out ").mkdir()  # the results folder so named: still refused (its outputs would pass for `out`'s)
        with pytest.raises(ConfigError, match=r"^results: 'out ' has a space before or after it"):
            check_config(load_config(padded))
        return
    # an input folder so named exists as written: it is the one meant
    _lists_folder(Path(holder[field]), sets=("mine",))
    (Path(holder[field]) / "blues").mkdir()
    check_config(load_config(padded))


@pytest.mark.parametrize("text, message", [
    ("seed: 0101\n", r"^{path}: seed: 0101 \(line 1, column 7\) is read as the number 65: YAML 1\.1, which reads "
                     r"config files, takes an integer written with a leading zero for octal; write 101 \(or 65, "
                     r"if the octal number is meant; or '0101' in quotes, where the text is meant: a name, a custom "
                     r"system's parameter\)$"),
    ("systems:\n  bff: {svm_C: [1, 010]}\n", r"^{path}: systems\.bff\.svm_C\[1\]: 010 \(line 2, column 20\) is read "
                                            r"as the number 8: .* write 10 "),
    ("features: {n_shards: -0_12}\n", r"features\.n_shards: -0_12 \(line 1, column 22\) is read as the number -10: "
                                      r".* write -12 "),
])
def test_an_integer_written_with_a_leading_zero_is_named(tmp_path, text, message):
    # YAML 1.1 reads `seed: 0101` as the octal 65: the run took seed 65 without a word
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("{path}", re.escape(str(path)))):
        read_config_file(path)
    with pytest.raises(ConfigError, match=r"is read as the number"):
        check_config_file(path)  # what the Snakefile runs on each --configfile, which Snakemake read as octal


def test_an_integer_whose_leading_zero_changes_nothing_is_read(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("seed: 07\nfeatures: {n_shards: 00}\nresults: '0101'\n"
                    "systems: {run: [BFF_SVM], bff: {svm_C: [0.5, 0, 1_000]}}\n")
    assert read_config_file(path) == yaml.safe_load(path.read_text())


def test_too_few_bootstrap_resamples_are_refused():
    """One resample printed a "95 % interval" of [66.7, 66.7] around 83.3: each tail needs a resample."""
    with pytest.raises(ConfigError, match=r"evaluate\.bootstrap: 1 .*evaluate\.confidence.*at least 40"):
        resolve(load_config({"evaluate": {"bootstrap": 1}}))
    with pytest.raises(ConfigError, match=r"at least 40"):
        resolve(load_config({"evaluate": {"bootstrap": 39}}))
    for fine in (0, 40):  # 0: no intervals
        assert resolve(load_config({"evaluate": {"bootstrap": fine}})).evaluate.bootstrap == fine
    # 2 / (1 - 0.9) is 20.000000000000004 in floating point: 20 suffices
    assert resolve(load_config({"evaluate": {"bootstrap": 20, "confidence": 0.9}})).evaluate.bootstrap == 20
    with pytest.raises(ConfigError, match=r"at least 200"):
        resolve(load_config({"evaluate": {"bootstrap": 100, "confidence": 0.99}}))


def test_dropout_lists_must_match_hidden_layers():
    """A dropout net's keep_probs / input_scales give one value per layer input: checked at parse, not in train_net."""
    with pytest.raises(ConfigError, match=r"systems\.dnn\.variants\.RSD\.keep_probs: 4 value\(s\) .*"
                                          r"systems\.dnn\.variants\.RSD\.input_scales: 4 .*systems\.dnn\.hidden_layers: 2 "
                                          r"needs 3.*used by 50_RSD.*keep_probs: \[0\.8, 0\.75, 0\.75\]"):
        resolve(load_config({"systems": {"dnn": {"hidden_layers": 2}}}))
    with pytest.raises(ConfigError, match=r"systems\.dnn\.variants\.RSD\.input_scales: 1 value\(s\) \[1\.0\]; but "
                                          r"systems\.dnn\.hidden_layers: 3 needs 4"):
        resolve(load_config({"systems": {"dnn": {"variants": {"RSD": {"input_scales": [1.0]}}}}}))
    with pytest.raises(ConfigError, match=r"systems\.dnn\.head\.SD\.keep_probs: 2 .*used by SD_50_relu_FF_L1"):
        resolve(load_config({"systems": {"run": ["SD_50_relu_FF_L1"], "dnn": {"settings": "head", "head": {"SD": {
            "keep_probs": [1.0, 0.5]}}}}, "evaluate": {"figure_of_merit": []}}))
    # nets without dropout train with every keep 1.0: any length is fine; so are lists of the right length
    resolve(load_config({"systems": {"run": ["BFF_SVM", "50_RS"], "dnn": {"hidden_layers": 2}},
                         "evaluate": {"figure_of_merit": ["BFF_SVM"]}}))
    resolve(load_config({"systems": {"dnn": {"hidden_layers": 2, "variants": {
        "RSD": {"keep_probs": [0.8, 0.75, 0.75], "input_scales": [1.0, 2.0, 2.0]}}}}}))


def test_published_without_lists_needs_gtzan_and_its_sets():
    """`lists: null` reads GTZAN's published lists (filtered, stratified), which exist only for GTZAN."""
    mine = {"partitions": {"conditions": {"mine": {"method": "published"}}}}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.mine\.lists: null .*GTZAN only.*'synthetic'"):
        resolve(load_config(mine))
    gtzan = {"dataset": {"source": "gtzan"}}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.mine\.set: 'mine', .*filtered and stratified"):
        resolve(load_config(gtzan, {"partitions": {"conditions": {"mine": {"method": "published", "set": "mine"}}}}))
    for kind in ("filtered", "stratified"):
        resolve(load_config(gtzan, {"partitions": {"conditions": {"mine": {"method": "published", "set": kind}}}}))


def test_unwritable_results_folder_is_named(tmp_path, monkeypatch):
    """A results folder below a folder that cannot be written into is refused at parse, naming `results`.

    The tests run as root, whom permission bits do not stop, and a read-only mount needs privileges:
    os.access, which answers for both, is replaced for one folder.
    """
    import os

    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda path, mode, **kw: False if Path(path) == read_only else real_access(path, mode, **kw))
    config = load_config({"results": str(read_only / "new" / "run")})
    with pytest.raises(ConfigError, match=r"^results: .*cannot be written \(its nearest existing folder, .*ro, "
                                          r"cannot be written into\): a read-only file system"):
        resolve(config)
    config["results"] = str(read_only)
    with pytest.raises(ConfigError, match=r"^results: .*ro' cannot be written: a read-only"):
        resolve(config)
    config["results"] = str(tmp_path / "fine" / "run")
    resolve(config)
    assert not (read_only / "new").exists() and not (tmp_path / "fine").exists()  # nothing made at parse


def test_unwritable_results_subfolder_is_named(tmp_path, monkeypatch):
    """A sub-folder of the results folder that cannot be written into (``chmod -R a-w results/tables``) is refused
    at start, naming it and the way out: Snakemake removes a job's old outputs first, and failed there in a bare
    traceback (audit 23, BAD-5). As root, os.access is replaced for the frozen folders (see the test above)."""
    import os

    from mgrfaults.config import check_results_subfolders

    results = tmp_path / "results"
    for sub in ("dataset/audio/blues", "tables", "faults/deep/er", "lost+found", "data/blues"):
        (results / sub).mkdir(parents=True)
    (results / "tables" / "accuracy.csv").write_text("x\n")
    (results / "faults" / "loop").symlink_to(results, target_is_directory=True)  # a link: not walked
    frozen = set()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path).resolve() in frozen
                        else real_access(path, mode, **kw))
    check_results_subfolders(str(results))  # every folder writable
    # a folder no job writes into, as a read-only dataset in the project folder with `results: .` (audit 34)
    frozen.add(results / "data" / "blues")
    check_results_subfolders(str(results))
    frozen.update({results / "tables", results / "faults" / "deep" / "er", results / "tables" / "accuracy.csv"})
    with pytest.raises(ConfigError, match=r"^results: .*results': its sub-folder '.*results/tables' cannot be "
                                          r"written into \(no write permission, 'chattr \+i' or a read-only mount\): "
                                          r"a job that remakes a file there would fail.*chmod -R u\+w .*results/"
                                          r"tables; chattr -R -i .*results/tables if made immutable\) or name another "
                                          r"results folder"):
        check_results_subfolders(str(results))
    frozen.discard(results / "tables")
    with pytest.raises(ConfigError, match=r"sub-folder '.*results/faults/deep/er' cannot be written into"):
        check_results_subfolders(str(results))
    # a read-only folder linked in (a dataset) or a disk's lost+found: no job writes there (audit 24)
    frozen.clear()
    outside = tmp_path / "dataset_copy"
    outside.mkdir()
    (results / "linked").symlink_to(outside, target_is_directory=True)
    frozen.update({outside, results / "lost+found"})
    check_results_subfolders(str(results))


def test_the_folders_checked_below_results_are_those_the_rules_write_into():
    import re

    from mgrfaults.config import RESULTS_SUBFOLDERS

    from conftest import REPO

    rules = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    # a folder's files (f"{RESULTS}/tables/..."), and a folder named alone (SWEEP_DIR = f"{RESULTS}/sweep")
    written = set(re.findall(r"\{RESULTS\}/([A-Za-z0-9_.-]+)/", rules) + re.findall(r'\{RESULTS\}/(\w+)"', rules))
    assert written == set(RESULTS_SUBFOLDERS)


def test_unlistable_results_subfolder_is_named(tmp_path, monkeypatch):
    import os

    from mgrfaults.config import check_results_subfolders

    results = tmp_path / "results"
    (results / "logs" / "data").mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == results / "logs":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(ConfigError, match=r"sub-folder '.*results/logs' cannot be listed \(no read permission\).*"
                                          r"chmod -R u\+rx .*results/logs;"):
        check_results_subfolders(str(results))


@pytest.mark.parametrize("argv, runs", [
    (["snakemake", "--cores", "2"], True), (["snakemake", "-p", "-j", "4"], True),
    (["snakemake", "--report-after-run", "--report", "r.html"], True),
    (["snakemake", "-n"], False), (["snakemake", "-np"], False), (["snakemake", "--dry-run"], False),
    (["snakemake", "--report", "r.html"], False), (["snakemake", "--report=r.html"], False),
    (["snakemake", "--unlock"], False), (["snakemake", "--lint"], False),
    (["snakemake", "--list-changes", "params"], False),
    (["snakemake", "--summary"], False),
    # argparse's starts of long options, short options with their values attached, read-only short options (audit 25)
    (["snakemake", "--report", "r.html", "--report-after", "-c", "1"], True), (["snakemake", "--dry-r"], False),
    (["snakemake", "--unl"], False), (["snakemake", "--list-ch", "params"], False),
    (["snakemake", "-sSnakefile", "-c1"], True), (["snakemake", "-Rtrain"], True), (["snakemake", "-dnew"], True),
    (["snakemake", "-S"], False), (["snakemake", "-D"], False), (["snakemake", "-l"], False),
    (["snakemake", "-pn"], False), (["snakemake", "--forcerun", "x", "-F"], True)])
def test_only_a_run_that_may_run_jobs_asks_the_results_subfolders(argv, runs):
    # a frozen results/tables refused -n, --report and --unlock, which write nothing there (audit 24)
    from mgrfaults.config import runs_jobs

    assert runs_jobs(argv) is runs


def test_gtzan_partition_lists_folder_needs_all_six_lists(tmp_path):
    """The data stage copies all six lists: a folder lacking some is refused at parse, naming them."""
    lists = _lists_folder(tmp_path / "lists", sets=("filtered",))
    config = load_config({"dataset": {"source": "gtzan", "gtzan": {"partition_lists": str(lists)}}})
    with pytest.raises(ConfigError, match=r"^dataset\.gtzan\.partition_lists: .*lacks train_stratified\.txt, "
                                          r"valid_stratified\.txt, test_stratified\.txt"):
        resolve(config)
    config["dataset"]["gtzan"]["partition_lists"] = str(lists / "train_filtered.txt")
    with pytest.raises(ConfigError, match=r"^dataset\.gtzan\.partition_lists: .* is not a folder"):
        resolve(config)
    config["dataset"]["gtzan"]["partition_lists"] = str(_lists_folder(lists))
    resolve(config)


def test_names_differing_only_in_case_are_named():
    """`Standard` and `standard` are one folder on macOS and Windows."""
    conditions = {"Standard": {"method": "stratified"}}
    with pytest.raises(ConfigError, match=r"partitions\.conditions\.standard and partitions\.conditions\.Standard: "
                                          r"'standard' and 'Standard' differ only in case"):
        resolve(load_config({"partitions": {"conditions": conditions}}))
    custom = {"MyNet": {"factory": "pkg.mod:build", "input": "texture"}, "mynet": {"factory": "pkg.mod:build", "input": "texture"}}
    with pytest.raises(ConfigError, match=r"systems\.custom\.MyNet and systems\.custom\.mynet: .*differ only in case"):
        resolve(load_config({"systems": {"custom": custom}}))
    with pytest.raises(ConfigError, match=r"systems\.run \(BFF_SVM\) and systems\.custom\.bff_svm: "):
        resolve(load_config({"systems": {"custom": {"bff_svm": custom["MyNet"]}}}))
    resolve(load_config({"systems": {"custom": {"MyNet": custom["MyNet"]}}}))


def test_check_artists_without_annotations_is_named(tmp_path):
    """A directory dataset without annotations has no artists: check_artists: true would check nothing.
    artist_filtered still runs there (every excerpt its own artist; the report says so)."""
    lists = _lists_folder(tmp_path / "lists", sets=("mine",))
    dataset = {"source": "directory", "directory": {"root": _directory_root(tmp_path)}}
    mine = {"method": "published", "lists": str(lists), "set": "mine", "check_artists": True}
    with pytest.raises(ConfigError, match=r"^partitions\.conditions\.mine\.check_artists: true, .*no annotations"):
        resolve(load_config({"dataset": dataset, "partitions": {"conditions": {"mine": mine}}}))
    resolved = resolve(load_config({"dataset": dataset, "partitions": {"conditions": {"mine": {**mine, "check_artists": False}}}}))
    assert resolved.conditions["fault_filtered"].method == "artist_filtered"  # the default's, no annotations: runs


def test_jobs_import_the_checkouts_library_and_keep_pythonpaths_empty_entry(monkeypatch):
    # Python reads an empty entry as the working folder (`export PYTHONPATH=$PYTHONPATH:/x` with none set makes one):
    # dropped, a plugin package there could not be imported by the jobs (audit 36)
    from mgrfaults.workdir import jobs_import_library_from

    for given, now in ((None, "/src"), (":/x", "/src::/x"), ("/x:", "/src:/x:"), ("/src:/x", "/src:/x")):
        if given is None:
            monkeypatch.delenv("PYTHONPATH", raising=False)
        else:
            monkeypatch.setenv("PYTHONPATH", given)
        jobs_import_library_from("/src")
        jobs_import_library_from("/src")  # parsed again (a cluster job): nothing twice
        assert os.environ["PYTHONPATH"] == now, given
