"""System names: the grammar of mgrfaults.systems.names; and the train stage end to end."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mgrfaults import GENRES
from mgrfaults.errors import InputError
from mgrfaults.systems.names import SystemNameError, nets_of, parse_system


def test_study_nets():
    s = parse_system("500_RSD")
    assert (s.kind, s.net, s.variant, s.hidden_units) == ("dnn", "500_RSD", "RSD", 500)
    assert (s.activation, s.optimizer, s.dropout, s.pretrain, s.decision) == ("relu", "sgd", True, False, "sum")
    s = parse_system("50_RS")
    assert (s.net, s.variant, s.dropout, s.hidden_units) == ("50_RS", "RS", False, 50)
    s = parse_system("50_SHP")
    assert (s.activation, s.optimizer, s.pretrain, s.variant) == ("sigmoid", "hf", True, "RS")


def test_decisions_share_the_net():
    vote = parse_system("500_RSD_vote")
    af = parse_system("500_RSD_AF_LAll")
    ff = parse_system("50_RS_FF_L2_SVM")
    assert vote.decision == "vote" and vote.net == "500_RSD"
    assert (af.decision, af.features, af.layers, af.classifier, af.net) == ("learned", "AF", (1, 2, 3), "rf", "500_RSD")
    assert (ff.features, ff.layers, ff.classifier, ff.net) == ("FF", (2,), "svm", "50_RS")
    assert nets_of(["BFF_SVM", "500_RSD", "500_RSD_vote", "500_RSD_AF_LAll", "50_RS"]) == ["500_RSD", "50_RS"]


def test_sigtia_dixon_and_bff():
    s = parse_system("SD_50_sigmoid")
    assert (s.variant, s.activation, s.hidden_units, s.optimizer, s.dropout, s.net) == (
        "SD", "sigmoid", 50, "sgd", True, "SD_50_sigmoid")
    s = parse_system("SD_50_relu_HF_PT_vote")
    assert (s.activation, s.optimizer, s.pretrain, s.decision, s.net) == ("relu", "hf", True, "vote", "SD_50_relu_HF_PT")
    b = parse_system("BFF_RF")
    assert (b.kind, b.classifier, b.net, b.decision) == ("bff", "rf", None, None)


@pytest.mark.parametrize("name", ["", "BFF", "BFF_KNN", "500_XSD", "500_RSD_FF", "500_RSD_AF_L4", "RSD_500",
                                  "500_RSD_vote_SVM", "SD_50_tanh", "500_rsd"])
def test_unknown_names_raise_naming_the_system(name):
    with pytest.raises(SystemNameError, match=repr(name)) as info:
        parse_system(name)
    assert isinstance(info.value, InputError)


# ---- end to end: the train stage of the workflow on the tiny synthetic preset -------------------

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "dataset": {"synthetic": {"preset": "tiny"}},
    "features": {"n_shards": 2},
    "systems": {
        "run": ["BFF_RF", "20_RS", "20_RS_vote", "20_RS_AF_L2"],
        "threads": 1,
        "dnn": {
            "frames_per_epoch": 2000,
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
    # one net per condition, shared by 20_RS, 20_RS_vote and 20_RS_AF_L2
    assert sorted(p.name for p in (res / "models").iterdir()) == ["20_RS", "20_RS_AF_L2", "BFF_RF"]
    log = pd.read_csv(res / "training/20_RS/standard/fold_0_log.csv")
    assert len(log) == 2 and {"loss", "train_frame_error", "valid_frame_error"} <= set(log.columns)
