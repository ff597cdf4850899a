"""System names: the grammar of mgrfaults.systems.names; and the train stage end to end."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mgrfaults.config import section_defaults
import yaml

from conftest import TINY_CONFIG
from mgrfaults import GENRES
from mgrfaults.errors import InputError
from mgrfaults.systems.names import (
    SystemNameError,
    SystemSpec,
    hidden_index,
    net_specs,
    nets_of,
    parse_system,
    resolve_systems,
    training_settings,
)


def test_study_nets():
    s = parse_system("500_RSD")
    assert (s.kind, s.net, s.variant, s.hidden_units, s.hidden_layers) == ("dnn", "500_RSD", "RSD", 500, 3)
    # the bare name decides by the 2014 code's majority vote; _sum is the later summed softmax
    assert (s.activation, s.optimizer, s.dropout, s.pretrain, s.decision) == ("relu", "sgd", True, False, "vote")
    assert parse_system("500_RSD_sum").decision == "sum"
    s = parse_system("50_RS")
    assert (s.net, s.variant, s.dropout, s.hidden_units) == ("50_RS", "RS", False, 50)
    s = parse_system("50_SHP")
    assert (s.activation, s.optimizer, s.pretrain, s.variant) == ("sigmoid", "hf", True, "RS")


def test_decisions_share_the_net():
    vote = parse_system("500_RSD")
    af = parse_system("500_RSD_AF_LAll")
    ff = parse_system("50_RS_FF_L2_SVM")
    assert vote.decision == "vote" and vote.net == "500_RSD"
    assert (af.decision, af.features, af.layers, af.classifier, af.net) == ("learned", "AF", (1, 2, 3), "rf", "500_RSD")
    assert (ff.features, ff.layers, ff.classifier, ff.net) == ("FF", (2,), "svm", "50_RS")
    assert nets_of(["BFF_SVM", "500_RSD_sum", "500_RSD", "500_RSD_AF_LAll", "50_RS"]) == ["500_RSD", "50_RS"]


def test_sigtia_dixon_and_bff():
    s = parse_system("SD_50_sigmoid")
    assert (s.variant, s.activation, s.hidden_units, s.optimizer, s.dropout, s.net) == (
        "SD", "sigmoid", 50, "sgd", True, "SD_50_sigmoid")
    s = parse_system("SD_50_relu_HF_PT_sum")
    assert (s.activation, s.optimizer, s.pretrain, s.decision, s.net) == ("relu", "hf", True, "sum", "SD_50_relu_HF_PT")
    b = parse_system("BFF_RF")
    assert (b.kind, b.classifier, b.net, b.decision) == ("bff", "rf", None, None)


@pytest.mark.parametrize("name", ["", "BFF", "BFF_KNN", "500_XSD", "500_RSD_FF", "500_RSD_AF_L4", "RSD_500",
                                  "500_RSD_vote_SVM", "SD_50_tanh", "500_rsd",
                                  "500_RSD_vote", "500_RSD_FF_L0"])
def test_unknown_names_raise_naming_the_system(name):
    with pytest.raises(SystemNameError, match=repr(name)) as info:
        parse_system(name)
    assert isinstance(info.value, InputError)


def test_study_layer_numbers_map_to_hidden_indices():
    # the study's L1 is its first hidden layer (its layer 0 was the standardisation PreprocLayer)
    assert [hidden_index(k) for k in (1, 2, 3)] == [0, 1, 2]
    with pytest.raises(ValueError):
        hidden_index(0)
    assert parse_system("500_RSD_FF_L1").hidden_indices == (0,)
    assert parse_system("500_RSD_AF_LAll").hidden_indices == (0, 1, 2)


@pytest.mark.parametrize("n_hidden, layers", [(2, (1, 2)), (3, (1, 2, 3)), (4, (1, 2, 3, 4))])
def test_resolve_systems_uses_the_configured_depth(n_hidden, layers):
    config = {"run": ["BFF_SVM", "50_RS", "50_RS_AF_LAll", "50_RS_FF_L2_SVM", "500_RSD_sum"], "dnn": {"hidden_layers": n_hidden}}
    specs = resolve_systems(config)
    assert list(specs) == config["run"] and config["dnn"] == {"hidden_layers": n_hidden}  # pure
    assert specs["50_RS_AF_LAll"].layers == layers and specs["50_RS_AF_LAll"].hidden_layers == n_hidden
    assert specs["50_RS_FF_L2_SVM"].layers == (2,)
    # what the rules pass to their scripts: plain types, and the same spec back
    for spec in specs.values():
        d = spec.to_dict()
        assert SystemSpec.from_dict(d) == spec and isinstance(d["layers"], list)
    assert list(net_specs(specs)) == ["50_RS", "500_RSD"]
    assert net_specs(specs)["50_RS"].decision == "vote" and net_specs(specs)["50_RS"].hidden_layers == n_hidden


def test_resolve_systems_refuses_missing_layers_and_duplicates():
    with pytest.raises(SystemNameError, match="L3.*2 hidden layers"):
        resolve_systems({"run": ["50_RS_AF_L3"], "dnn": {"hidden_layers": 2}})
    with pytest.raises(SystemNameError, match="more than once"):
        resolve_systems({"run": ["50_RS", "50_RS"], "dnn": {"hidden_layers": 3}})


def test_the_schemas_head_settings_are_the_later_dropout2_files():
    # mlp_rlu_dropout2.yaml @034f710: lr .01, N 50, saturate 200, the preprocessing layer's input kept, so h0's takes
    # the default include .75 and scale 2 (audit 40: patience and saturate alone before)
    head = section_defaults("systems.dnn")["head"]
    assert head == {"RSD": {"learning_rate": 0.01, "patience": 50, "saturate": 200,
                            "keep_probs": [0.75] * 4, "input_scales": [2.0] * 4}}


def test_training_settings_2014_and_head():
    dnn = {"variants": {"RSD": {"patience": 10, "saturate": 50, "learning_rate": 0.1}},
           "head": {"RSD": {"patience": 50, "saturate": 200}}, "settings": "study_2014"}
    spec = parse_system("500_RSD")
    assert training_settings(dnn, spec) == {"patience": 10, "saturate": 50, "learning_rate": 0.1}
    assert training_settings({**dnn, "settings": "head"}, spec) == {"patience": 50, "saturate": 200, "learning_rate": 0.1}
    with pytest.raises(InputError, match="variants.RS"):
        training_settings(dnn, parse_system("50_RS"))


def test_job_script_settings_drop_the_raw_spectrum_of_rsd_alone(tmp_path):
    # generate_gbar_jobs_dnn.py: RS with mlp_rlu2.yaml, RSD with mlp_rlu_dropout2.yaml @539d2c5, whose PreprocLayer's
    # input (the raw spectrum) pylearn2's Dropout drops at its defaults, include .75 and scale 2
    import numpy as np
    import torch

    from mgrfaults.config import load_config
    from mgrfaults.systems.dnn import RawSpectrumDropout, prepare_net_run
    from mgrfaults.systems.parts import open_store
    from test_dnn import make_run

    assert section_defaults("systems.dnn")["job_script"] == {"RSD": {"raw_keep_prob": 0.75, "raw_input_scale": 2.0}}
    assert section_defaults("systems.dnn")["settings"] == "study_2014"
    dnn = load_config({"systems": {"dnn": {"settings": "job_script"}}})["systems"]["dnn"]
    rsd, rs = training_settings(dnn, parse_system("500_RSD")), training_settings(dnn, parse_system("500_RS"))
    assert (rsd["raw_keep_prob"], rsd["raw_input_scale"], rsd["learning_rate"], rsd["patience"]) == (0.75, 2.0, 0.1, 10)
    assert rsd["keep_probs"] == [0.8, 0.75, 0.75, 0.75] and rsd["input_scales"] == [1.0, 2.0, 2.0, 2.0]
    # absent elsewhere: no raw dropout, and the training params of every other net as before the keys existed (no
    # results folder reruns its nets for them)
    assert "raw_keep_prob" not in rs and "raw_input_scale" not in rs
    study = load_config({})["systems"]["dnn"]
    assert not any(key.startswith("raw_") for variant in study["variants"].values() for key in variant)
    paths, metadata, partition, _ = make_run(tmp_path)
    store = open_store(paths)
    data = {k: v for k, v in dnn.items() if k in ("epoch_fraction", "valid_frames", "buffer_frames", "cache_mb")}
    rsd_run = prepare_net_run(store, partition, metadata, parse_system("20_RSD"), rsd, data, 0, "cpu")
    assert isinstance(rsd_run.model.raw_dropout, RawSpectrumDropout) and rsd_run.model.raw_dropout.scale == 2.0
    np.testing.assert_allclose(rsd_run.model.raw_dropout.offset.numpy(), rsd_run.mean / rsd_run.std, rtol=1e-6)
    # a net without dropout trains without it, whatever its variant says
    rs_run = prepare_net_run(store, partition, metadata, parse_system("20_RS"), {**rs, "raw_keep_prob": 0.5}, data,
                             0, "cpu")
    assert isinstance(rs_run.model.raw_dropout, torch.nn.Identity)


def test_overlaid_settings_are_checked_as_variants():
    # head and job_script entries take a variant's keys and bounds (a learning rate of "x" failed in training before)
    from mgrfaults.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"systems.dnn.head.RSD.learning_rate: 'x' is not of type 'number'"):
        load_config({"systems": {"dnn": {"settings": "head", "head": {"RSD": {"learning_rate": "x"}}}}})
    with pytest.raises(ConfigError, match=r"systems.dnn.job_script.RSD.raw_keep_prob: 1.5 is greater than"):
        load_config({"systems": {"dnn": {"job_script": {"RSD": {"raw_keep_prob": 1.5}}}}})
    with pytest.raises(ConfigError, match=r"'raw_kep_prob' \(did you mean 'raw_keep_prob'\?\)"):
        load_config({"systems": {"dnn": {"job_script": {"RSD": {"raw_kep_prob": 0.5}}}}})


# ---- end to end: the train stage of the shared tiny pipeline (conftest's tiny_run) ---------------


@pytest.mark.workflow
def test_train_stage_end_to_end(tiny_run):
    res = tiny_run / "results"
    systems = sorted(p.name for p in (res / "predictions").iterdir())
    assert systems, "the tiny run wrote no predictions"
    for system in systems:
        for target in sorted((res / "predictions" / system).glob("*/fold_*.csv")):
            df = pd.read_csv(target)
            assert list(df.columns) == ["track_id", "true", "predicted"] + [f"score_{g}" for g in GENRES]
            condition, fold = target.parent.name, target.stem
            part = pd.read_csv(res / f"partitions/{condition}/{fold}.csv")
            assert sorted(df.track_id) == sorted(part.track_id[part.part == "test"]), target
    # systems of one net share it: only nets have a training log, learned-feature systems have none
    builtin = [s for s in systems if s not in TINY_CONFIG["systems"]["custom"]]  # custom ones follow no grammar
    nets = {parse_system(s).net for s in builtin if parse_system(s).kind == "dnn"}
    assert sorted(p.name for p in (res / "training").iterdir() if p.is_dir()) == sorted(nets)
    for net in nets:
        for log_csv in (res / "training" / net).glob("*/fold_*_log.csv"):
            log = pd.read_csv(log_csv)
            assert len(log) >= 1 and {"loss", "train_frame_error", "valid_frame_error"} <= set(log.columns)


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.workflow
@pytest.mark.parametrize("n_hidden", [2, 4])
def test_workflow_resolves_learned_systems_with_the_configured_depth(tmp_path, n_hidden):
    # a dry run plans L<n_hidden> and LAll on nets of n_hidden layers, and refuses a layer beyond them
    def dry_run(run):
        cfg = {"dataset": {"synthetic": {"preset": "tiny"}}, "systems": {"run": run, "dnn": {"hidden_layers": n_hidden}},
               "evaluate": {"figure_of_merit": []}}  # the default's BFF_SVM and 500_RSD are not run here
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(tmp_path / "c.yaml")]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    ok = dry_run(["20_RS", "20_RS_AF_LAll", f"20_RS_FF_L{n_hidden}"])
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = dry_run([f"20_RS_FF_L{n_hidden + 1}"])
    assert bad.returncode != 0 and f"{n_hidden} hidden layers" in bad.stdout + bad.stderr


def test_a_head_entry_given_in_part_keeps_the_schemas_other_head_values():
    # hidden_layers 2 needs 3-value lists under head.RSD too; given alone, they used to replace the whole head entry,
    # and RSD trained under settings: head with the 2014 learning rate, patience and saturate (audit 41)
    from mgrfaults.config import check_dropout_lengths, complete_dnn_variants, load_config

    lists = {"keep_probs": [0.75] * 3, "input_scales": [2.0] * 3}
    config = load_config({"systems": {"dnn": {"settings": "head", "hidden_layers": 2,
                                              "variants": {"RSD": {"keep_probs": [0.8, 0.75, 0.75],
                                                                   "input_scales": [1.0, 2.0, 2.0]}},
                                              "head": {"RSD": lists}}}})
    check_dropout_lengths(config)
    settings = training_settings(complete_dnn_variants(config["systems"]["dnn"]), parse_system("500_RSD", 2))
    assert {k: settings[k] for k in ("learning_rate", "patience", "saturate", *lists)} == {
        "learning_rate": 0.01, "patience": 50, "saturate": 200, **lists}
