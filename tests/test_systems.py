"""System names: the grammar of mgrfaults.systems.names; and the train stage end to end."""

import pandas as pd
import pytest

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
    nets = {parse_system(s).net for s in systems if parse_system(s).kind == "dnn"}
    assert sorted(p.name for p in (res / "training").iterdir() if p.is_dir()) == sorted(nets)
    for net in nets:
        for log_csv in (res / "training" / net).glob("*/fold_*_log.csv"):
            log = pd.read_csv(log_csv)
            assert len(log) >= 1 and {"loss", "train_frame_error", "valid_frame_error"} <= set(log.columns)
