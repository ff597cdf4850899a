"""System names: the grammar of mgrfaults.systems.names; and the train stage end to end."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

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


def test_training_settings_2014_and_head():
    dnn = {"variants": {"RSD": {"patience": 10, "saturate": 50, "learning_rate": 0.1}},
           "head": {"RSD": {"patience": 50, "saturate": 200}}, "settings": "study_2014"}
    spec = parse_system("500_RSD")
    assert training_settings(dnn, spec) == {"patience": 10, "saturate": 50, "learning_rate": 0.1}
    assert training_settings({**dnn, "settings": "head"}, spec) == {"patience": 50, "saturate": 200, "learning_rate": 0.1}
    with pytest.raises(InputError, match="variants.RS"):
        training_settings(dnn, parse_system("50_RS"))


# ---- end to end: the train stage of the workflow on the tiny synthetic preset -------------------

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "dataset": {"synthetic": {"preset": "tiny"}},
    "features": {"n_shards": 2},
    "systems": {
        "run": ["BFF_RF", "20_RS", "20_RS_sum", "20_RS_AF_L2"],
        "threads": 1,
        "dnn": {
            "epoch_fraction": 0.3,
            "valid_frames": 1000,
            "variants": {"RS": {"learning_rate": 0.1, "batch_size": 100, "patience": 2, "saturate": 2, "max_epochs": 2}},
        },
        "learned": {"rf_trees": 20},
        "bff": {"rf_trees": 20},
    },
    "evaluate": {"figure_of_merit": ["BFF_RF"]},
}


@pytest.mark.workflow
def test_train_stage_end_to_end(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    targets = [f"results/predictions/{s}/{c}/fold_0.csv" for s in TINY["systems"]["run"]
               for c in ("standard", "fault_filtered")]
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "2", "--configfile", str(tmp_path / "tiny.yaml")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    res = tmp_path / "results"
    for target in targets:
        df = pd.read_csv(tmp_path / target)
        assert list(df.columns) == ["track_id", "true", "predicted"] + [f"score_{g}" for g in GENRES]
        condition = target.split("/")[3]
        part = pd.read_csv(res / f"partitions/{condition}/fold_0.csv")
        assert sorted(df.track_id) == sorted(part.track_id[part.part == "test"])
    # one net per condition, shared by 20_RS, 20_RS_sum and 20_RS_AF_L2
    assert sorted(p.name for p in (res / "models").iterdir()) == ["20_RS", "20_RS_AF_L2", "BFF_RF"]
    log = pd.read_csv(res / "training/20_RS/standard/fold_0_log.csv")
    assert len(log) == 2 and {"loss", "train_frame_error", "valid_frame_error"} <= set(log.columns)


@pytest.mark.workflow
@pytest.mark.parametrize("n_hidden", [2, 4])
def test_workflow_resolves_learned_systems_with_the_configured_depth(tmp_path, n_hidden):
    # a dry run plans L<n_hidden> and LAll on nets of n_hidden layers, and refuses a layer beyond them
    def dry_run(run):
        cfg = {"dataset": {"synthetic": {"preset": "tiny"}}, "systems": {"run": run, "dnn": {"hidden_layers": n_hidden}}}
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(tmp_path / "c.yaml")]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    ok = dry_run(["20_RS", "20_RS_AF_LAll", f"20_RS_FF_L{n_hidden}"])
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = dry_run([f"20_RS_FF_L{n_hidden + 1}"])
    assert bad.returncode != 0 and f"{n_hidden} hidden layers" in bad.stdout + bad.stderr
