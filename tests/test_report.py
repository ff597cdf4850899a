"""End-to-end: the evaluate and report stages through Snakemake, and `snakemake --report`.

Two runs, both marked ``workflow``:

* on a crafted ``results/`` tree (metadata, predictions, partition summaries) with only the
  evaluate and report rules allowed: fast (under a minute), checks every table and figure
  and that the report embeds the tables byte for byte;
* on the whole pipeline with the ``tiny`` synthetic preset (conftest's shared ``tiny_run``): the report.
"""

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgrfaults.faults.profile import dataset_profile

from conftest import TINY_CONFIG, run_snakemake
from mgrfaults import GENRES

EVALUATE_RULES = [
    "evaluate_runs",
    "condition_table",
    "difference_table",
    "figure_of_merit",
    "accuracy_figure",
    "report_partition_summary",
    "report_answer",
    "training_curves",
    "summary",
    "configuration",
]
SYSTEMS = ["BFF_SVM", "500_RSD"]
CONDITIONS = {"standard": 0.85, "fault_filtered": 0.45}  # accuracy the crafted predictions aim at

pytestmark = pytest.mark.workflow


def embedded_files(report_html: Path) -> dict[str, bytes]:
    """Files embedded in a Snakemake HTML report as base64 data URIs: name -> content."""
    text = report_html.read_text()
    found = re.findall(r"filename=([^;\"]+);base64,([A-Za-z0-9+/=]+)", text)
    return {name: base64.b64decode(data) for name, data in found}


def craft_results(results: Path, n_per_genre=6, seed=0):
    """Metadata, stratified partitions (test sets differ by condition), predictions of every run, partition summaries."""
    rng = np.random.default_rng(seed)
    ids = [f"{g}.{i:05d}" for g in GENRES for i in range(n_per_genre)]
    genres = [g for g in GENRES for _ in range(n_per_genre)]
    meta = pd.DataFrame(
        {"track_id": ids, "path": [f"audio/{t}.au" for t in ids], "genre": genres,
         "artist": [f"{g}_artist{i % 3}" for i, g in enumerate(genres)], "fault": "none", "replica_of": "",
         "duration": 6.0, "sample_rate": 22050}
    )
    (results / "dataset").mkdir(parents=True)
    meta.to_csv(results / "dataset" / "metadata.csv", index=False)
    # what the summary reads of the data and fault stages: no file skipped, the profile of no detected fault
    pd.DataFrame(columns=["path", "reason"]).to_csv(results / "dataset" / "bad_audio.csv", index=False)
    (results / "faults").mkdir()
    pd.DataFrame({"track_id": ids, "fault": "", "replica_of": "", "score": np.nan, "offset_s": np.nan,
                  "clip_fraction": 0.0}).to_csv(results / "faults" / "detected.csv", index=False)
    dataset_profile(meta, pd.DataFrame({"track_id": ids, "fault": ""})).to_csv(results / "faults" / "profile.csv",
                                                                               index=False)
    for c, (condition, p_correct) in enumerate(CONDITIONS.items()):
        # 2 test excerpts per genre; the fault-filtered test set differs (unpaired test)
        rank = meta.groupby("genre").cumcount()
        test = meta[(rank >= 2 * c) & (rank < 2 * c + 2)]
        summary_path = results / "partitions" / condition / "fold_0_summary.csv"
        summary_path.parent.mkdir(parents=True)
        pd.DataFrame({"genre": GENRES, "train": 3, "valid": 1, "test": 2}).to_csv(summary_path, index=False)
        # the partition itself (the attribution table reads it): the rest of each genre, 3 train and 1 valid
        rest_rank = meta.drop(test.index).groupby("genre").cumcount()
        part = pd.Series("test", index=meta.index)
        part[rest_rank.index] = np.where(rest_rank < 3, "train", "valid")
        pd.DataFrame({"track_id": meta["track_id"], "part": part}).to_csv(
            results / "partitions" / condition / "fold_0.csv", index=False)
        for system in SYSTEMS:
            right = rng.random(len(test)) < p_correct
            predicted = np.where(right, test["genre"], rng.choice(GENRES, len(test)))
            df = pd.DataFrame({"track_id": test["track_id"].to_numpy(), "true": test["genre"].to_numpy(),
                               "predicted": predicted})
            for genre in GENRES:
                df[f"score_{genre}"] = 0.1
            if system == "500_RSD":  # the one net: its training log
                epochs = np.arange(1, 6)
                log_path = results / "training" / system / condition / "fold_0_log.csv"
                log_path.parent.mkdir(parents=True)
                pd.DataFrame({"epoch": epochs, "loss": 2.0 / epochs, "train_frame_error": 0.8 / epochs,
                              "valid_frame_error": 0.9 / np.sqrt(epochs)}).to_csv(log_path, index=False)
            out = results / "predictions" / system / condition / "fold_0.csv"
            out.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(out, index=False)


def test_report_on_crafted_predictions(tmp_path):
    workdir = tmp_path / "run"
    results = workdir / "results"
    craft_results(results)
    config = {"systems": {"run": SYSTEMS},
              "evaluate": {"bootstrap": 100, "figure_of_merit": ["500_RSD"], "compare": ["standard", "fault_filtered"]}}
    targets = (
        ["results/tables/runs.csv", "results/tables/difference.csv"]
        + [f"results/tables/accuracy_{c}.csv" for c in CONDITIONS]
        + [f"results/figures/{m}_by_condition.png" for m in ("accuracy", "normalized_accuracy")]
        + [f"results/{kind}/figure_of_merit/500_RSD/{c}.{ext}" for c in CONDITIONS
           for kind, ext in (("tables", "csv"), ("figures", "png"))]
        + [f"results/report/partitions/{c}/fold_0_summary.html" for c in CONDITIONS]
        + [f"results/figures/training/{c}.png" for c in CONDITIONS]
        + ["results/report/answer.html"]
        + ["results/summary.md"]
    )
    allowed = ["--allowed-rules", *EVALUATE_RULES]
    run_snakemake(workdir, config, targets=targets, extra_args=allowed)
    for target in targets:
        assert (workdir / target).stat().st_size > 0, target
    # the summary's cells are the condition tables' numbers
    summary = (workdir / "results/summary.md").read_text()
    for c in CONDITIONS:
        row = pd.read_csv(workdir / f"results/tables/accuracy_{c}.csv").set_index("system").loc["500_RSD"]
        assert f"{100 * row.accuracy_mean:.1f} [{100 * row.accuracy_ci_low:.1f}, {100 * row.accuracy_ci_high:.1f}]" in summary

    runs = pd.read_csv(results / "tables" / "runs.csv")
    assert len(runs) == len(SYSTEMS) * len(CONDITIONS)
    # written by the same job: every test excerpt of every run in exactly one group (20 per run)
    attribution = pd.read_csv(results / "tables" / "attribution.csv")
    assert (attribution.groupby(["system", "condition", "fold"])["n"].sum() == 2 * len(GENRES)).all()
    assert len(attribution.groupby(["system", "condition"])) == len(SYSTEMS) * len(CONDITIONS)
    assert list(runs.columns) == ["system", "condition", "fold", "accuracy", "normalized_accuracy"]
    standard = pd.read_csv(results / "tables" / "accuracy_standard.csv")
    assert list(standard["system"]) == SYSTEMS
    assert (standard["accuracy_ci_low"] <= standard["accuracy_mean"]).all()
    difference = pd.read_csv(results / "tables" / "difference.csv").set_index("system")
    assert difference.loc["500_RSD", "difference"] == pytest.approx(
        difference.loc["500_RSD", "accuracy_standard"] - difference.loc["500_RSD", "accuracy_fault_filtered"], abs=1e-5
    )
    assert difference["test"].str.startswith("Fisher").all()  # the test sets differ
    fom = pd.read_csv(results / "tables" / "figure_of_merit" / "500_RSD" / "standard.csv", index_col=0)
    assert list(fom.columns) == list(GENRES) + ["Precision"]
    assert fom.index[-1] == "F-score"

    report = tmp_path / "report.html"
    run_snakemake(workdir, config, targets=targets, extra_args=[*allowed, "--report", str(report)])
    embedded = embedded_files(report)
    for name in ("runs.csv", "accuracy_standard.csv", "accuracy_fault_filtered.csv", "difference.csv"):
        assert embedded[name] == (results / "tables" / name).read_bytes(), name
    assert "accuracy_by_condition.png" in embedded
    assert "fold_0_summary.html" in embedded
    for name in ("runs.html", "accuracy_standard.html", "difference.html"):
        assert embedded[name] == (results / "tables" / "html" / name).read_bytes(), name
    assert "Fisher exact" in embedded["difference.html"].decode()
    assert "standard.png" in embedded  # figure of merit or training curves
    text = report.read_text()
    assert "Fisher" in text and "Clopper-Pearson" in text  # the captions say which test and interval
    assert "mgr-faults" in text  # the workflow description
    # the first page (the workflow description) opens with the answer: the table and the accuracy figure
    description = text[text.index("var workflow_desc"):]
    description = description[:description.index("</script>")]
    assert description.index("The answer") < description.index("The study")
    assert "mgrfaults-table" in description and "drop (points)" in description
    assert "data:image/png;base64," in description


def test_report_on_tiny_pipeline(tiny_run, tmp_path):
    """The report of the whole tiny pipeline (conftest's shared run): the study's tables are in it."""
    report = tmp_path / "report.html"
    run_snakemake(tiny_run, TINY_CONFIG, extra_args=["--report", str(report)])
    embedded = embedded_files(report)
    results = tiny_run / "results"
    for name in ("runs.csv", "accuracy_standard.csv", "accuracy_fault_filtered.csv", "difference.csv"):
        assert embedded[name] == (results / "tables" / name).read_bytes(), name
    for name in ("accuracy_standard.html", "difference.html"):
        assert embedded[name] == (results / "tables" / "html" / name).read_bytes(), name
    assert "fold_0_summary.html" in embedded
    for system in ("BFF_SVM", "500_RSD"):  # config/config.yaml's evaluate.figure_of_merit
        assert (results / "figures" / "figure_of_merit" / system / "fault_filtered.png").exists()
    assert (results / "figures" / "accuracy_by_condition.png").exists()


def test_report_of_a_study_without_a_difference_table(tmp_path):
    """``evaluate.compare: []`` with one condition (the default's other dropped): every table, the summary and the
    report are made, none names a drop, and no difference table is planned."""
    workdir = tmp_path / "run"
    results = workdir / "results"
    craft_results(results)
    config = {"systems": {"run": SYSTEMS}, "partitions": {"conditions": {"fault_filtered": None}},
              "evaluate": {"bootstrap": 100, "figure_of_merit": ["500_RSD"], "compare": []}}
    targets = ["results/tables/runs.csv", "results/tables/accuracy_standard.csv", "results/report/answer.html",
               "results/summary.md"]
    allowed = ["--allowed-rules", *EVALUATE_RULES]
    planned = run_snakemake(workdir, config, extra_args=["-n"]).stdout  # the whole study, as `snakemake` would run it
    assert "summary" in planned and "report_answer" in planned
    assert "partitions.conditions: fault_filtered set to null (or left empty): not run" in planned
    plan = planned.split("not run", 1)[1]  # the jobs planned, after that line
    assert "difference_table" not in plan and "fault_filtered" not in plan
    run_snakemake(workdir, config, targets=targets, extra_args=allowed)
    assert not (results / "tables" / "difference.csv").exists()
    assert set(pd.read_csv(results / "tables" / "runs.csv")["condition"]) == {"standard"}
    summary = (results / "summary.md").read_text()
    assert "| system | standard |" in summary and "points" not in summary
    answer = (results / "report" / "answer.html").read_text()
    assert "drop" not in answer and "standard (%)" in answer

    report = tmp_path / "report.html"
    run_snakemake(workdir, config, targets=targets, extra_args=[*allowed, "--report", str(report)])
    description = report.read_text()
    description = description[description.index("var workflow_desc"):]
    description = description[:description.index("</script>")]
    assert "No two" in description and "evaluate.compare: []" in description
    assert "drop (points)" not in description
    assert "accuracy_standard.csv" in embedded_files(report)

    # a condition added back but not run: the report would pass the one-condition tables for the new configuration
    both = {**config, "partitions": {}, "evaluate": {**config["evaluate"], "compare": ["standard", "fault_filtered"]}}
    refused = run_snakemake(workdir, both, extra_args=[*allowed, "--report", str(tmp_path / "stale.html")], check=False)
    assert refused.returncode != 0 and not (tmp_path / "stale.html").exists()
    assert "results/tables/runs.csv lacks 2 run(s) of this configuration (first: 500_RSD/fault_filtered/fold_0" \
        in refused.stdout
    # the same runs under another seed, not run since: the summary's configuration digest says so
    reseeded = run_snakemake(workdir, {**config, "seed": 7}, extra_args=[*allowed, f"--report={tmp_path / 's.html'}"],
                             check=False)
    assert reseeded.returncode != 0 and "results/summary.md was made under configuration digest" in reseeded.stdout
