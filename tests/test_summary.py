"""results/summary.md: the tables a README quotes, with provenance; the published-values CSV."""

import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_snakemake
from mgrfaults.config import load_config
from mgrfaults.errors import InputError
from mgrfaults.evaluation.summary import (PUBLISHED_COLUMNS, attribution_markdown, config_digest, configuration_file_text, read_published, unmatched_published,
                                          summary_markdown)

ROOT = Path(__file__).resolve().parents[1]


def _table(rows):
    cols = ["system", "n_folds", "n_test", "accuracy_mean", "accuracy_ci_low", "accuracy_ci_high",
            "normalized_accuracy_mean", "normalized_accuracy_ci_low", "normalized_accuracy_ci_high"]
    return pd.DataFrame(rows, columns=cols)


def test_summary_lays_out_systems_by_condition_with_difference_and_provenance():
    tables = {
        "standard": _table([["BFF_SVM", 1, 90, 0.9, 0.8, 0.95, 0.88, 0.8, 0.93], ["50_RS", 1, 90, 0.8, 0.7, 0.87, 0.79, 0.7, 0.85]]),
        "fault_filtered": _table([["BFF_SVM", 1, 82, 0.6, 0.5, 0.7, 0.55, 0.45, 0.65], ["50_RS", 1, 82, 0.3, 0.2, 0.4, 0.28, 0.2, 0.38]]),
    }
    difference = pd.DataFrame({"system": ["BFF_SVM", "50_RS"], "difference": [0.3, 0.5],
                               "normalized_difference": [0.33, 0.51], "p_value": [0.001, 1e-6], "p_holm": [0.001, 2e-6],
                               "test": ["Fisher exact (two-sided)", "Fisher exact (two-sided)"],
                               "n_a": [90, 90], "n_b": [82, 82], "accuracy_standard": [0.9, 0.8],
                               "accuracy_fault_filtered": [0.6, 0.3], "n_tied_standard": [4, 0],
                               "n_tied_fault_filtered": [16, 0], "accuracy_ties_shared_standard": [0.85, 0.8],
                               "accuracy_ties_shared_fault_filtered": [0.659, 0.3],
                               "difference_ties_shared": [0.191, 0.5]})
    published = pd.DataFrame({"system": ["50_RS"], "condition": ["standard"], "accuracy": [77.5],
                              "normalized_accuracy": [float("nan")], "source": ["Table 1"]})
    text = summary_markdown(tables, ["BFF_SVM", "50_RS"], ["standard", "fault_filtered"], difference, published,
                            "abc123", "d1g3st", "snakemake --cores all")
    assert "abc123" in text and "d1g3st" in text and "snakemake --cores all" in text
    assert "standard: 90 | fault_filtered: 82" in text
    acc = text.split("## Accuracy")[1].split("## Normalised")[0]
    assert ("| system | standard | fault_filtered | standard - fault_filtered (points) | p (test; Holm) | "
            "published standard |") in acc
    assert "| 50_RS | 80.0 [70.0, 87.0] | 30.0 [20.0, 40.0] | +50.0 | 1e-06 (Fisher; 2e-06) | 77.5 |" in acc
    # the tied votes of the one system that had any, with the accuracies as decided and with ties shared
    assert ("- BFF_SVM: 4 of 90 decisions tied under standard, 16 of 82 under fault_filtered; 85.0 and 65.9, "
            "difference +19.1 (as decided: 90.0 and 60.0, +30.0)") in text
    assert "- 50_RS:" not in text and "Holm's adjustment" in text
    norm = text.split("## Normalised")[1]
    assert "| BFF_SVM | 88.0 [80.0, 93.0] | 55.0 [45.0, 65.0] | +33.0 |" in norm and "published" not in norm
    # without a difference table and published values
    text = summary_markdown(tables, ["BFF_SVM"], None, None, None, "c", "d", "cmd")
    assert "| BFF_SVM | 90.0 [80.0, 95.0] | 60.0 [50.0, 70.0] |" in text and "not filled in" in text
    assert "Tied votes" not in text and "Holm" not in text
    # no interval (evaluate.bootstrap: 0) is said, not printed as [nan, nan]
    no_interval = {c: t.assign(accuracy_ci_low=float("nan"), accuracy_ci_high=float("nan")) for c, t in tables.items()}
    text = summary_markdown(no_interval, ["BFF_SVM"], None, None, None, "c", "d", "cmd")
    assert "| BFF_SVM | 90.0 [no interval] | 60.0 [no interval] |" in text and "nan" not in text
    # a caveat (part of GTZAN) comes before every table
    text = summary_markdown(tables, ["BFF_SVM"], None, None, None, "c", "d", "cmd", caveats=["Part of GTZAN."])
    assert "**Note.** Part of GTZAN." in text.split("## Accuracy")[0]


def test_config_digest_is_order_free_and_sensitive():
    assert config_digest({"a": 1, "b": {"c": 2}}) == config_digest({"b": {"c": 2}, "a": 1})
    assert config_digest({"a": 1}) != config_digest({"a": 2})


def test_published_csv_ships_blank_and_validates(tmp_path):
    shipped = pd.read_csv(ROOT / "resources" / "published_accuracies.csv")
    assert list(shipped.columns) == PUBLISHED_COLUMNS
    assert {"BFF_SVM", "500_RSD", "500_RSD_AF_LAll", "50_RS_FF_L1"} <= set(shipped.system)
    assert read_published(ROOT / "resources" / "published_accuracies.csv").empty  # values left blank
    bad = tmp_path / "p.csv"
    bad.write_text("system,condition,accuracy,normalized_accuracy,source\n50_RS,standard,150,,x\n")
    with pytest.raises(InputError, match="accuracy, line 2"):
        read_published(bad)
    bad.write_text("system,condition,accuracy\n50_RS,standard,50\n")
    with pytest.raises(InputError, match="missing columns"):
        read_published(bad)
    assert set(shipped.condition) == {"published_stratified", "published_filtered"}  # where the study measured


def test_published_csv_columns_of_another_name_or_twice_are_named_and_comments_skipped(tmp_path):
    # audit 49: a British normalised_accuracy beside the template's column, or accuracy given twice (pandas' second
    # read as accuracy.1), was dropped without a word; a '#' line before the header was called an unquoted comma
    path = tmp_path / "p.csv"
    path.write_text("system,condition,accuracy,normalized_accuracy,source,normalised_accuracy\n"
                    "BFF_SVM,published_filtered,55,,,51\n")
    with pytest.raises(InputError, match=r"unknown column\(s\) \['normalised_accuracy'\]; the published"):
        read_published(path)
    path.write_text("system,condition,accuracy,accuracy,normalized_accuracy,source\n"
                    "BFF_SVM,published_filtered,55,56,,\n")
    with pytest.raises(InputError, match=r"column\(s\) \['accuracy'\] given more than once"):
        read_published(path)
    path.write_text("# the study's figures, by hand\nSystem,Condition,Accuracy,Normalized Accuracy,Source\n\n"
                    "BFF_SVM,published_filtered,55,,\n500_RSD,published_filtered,0.4,,\n")
    with pytest.raises(InputError, match=r"column accuracy, line 5: 0.4 is a fraction"):  # file lines counted
        read_published(path)
    path.write_text("# the study's figures, by hand\nSystem,Condition,Accuracy,Normalized Accuracy,Source\n"
                    "BFF_SVM,published_filtered,55,,\n")
    assert read_published(path)[["system", "accuracy"]].values.tolist() == [["BFF_SVM", 55.0]]
    # a spreadsheet export's trailing commas: columns of no name and no value, read as before (audit 51)
    for trailing in (",,", ", "):
        path.write_text(f"system,condition,accuracy,normalized_accuracy,source{trailing}\n"
                        f"BFF_SVM,published_filtered,55,,{trailing}\n")
        assert read_published(path)[["system", "accuracy"]].values.tolist() == [["BFF_SVM", 55.0]]


@pytest.mark.parametrize("rows, message", [
    # an unquoted comma in the source: pandas made the system an index, and the message an int() of it
    ("BFF_SVM,published_filtered,55.0,,Kereliuk, Sturm & Larsen 2014\n", r"line 2 has 6 fields, the header 5"),
    ("BFF_SVM,published_filtered,0.55,,\n50_RS,published_filtered,0.4,,\n",
     r"every value is at most 1 \(0.55, 0.4, ...\): the values are percent"),
    ("BFF_SVM,published_filtered,55,,\n50_RS,published_filtered,40,,\nBFF_SVM,published_filtered,56,,\n",
     r"BFF_SVM under published_filtered is given on lines 2, 4"),
    ("BFF_SVM,published_filtered,55 %,,\n", r"column accuracy, line 2: '55 %' is not a percentage"),
    # one fraction beside percentages, and a value of no system (audit 27: shown as 0.8 %, and as a system `()`)
    ("500_RSD,published_filtered,81.2,,\nBFF_SVM,published_filtered,0.78,,\n",
     r"column accuracy, line 3: 0.78 is a fraction among percentages .*: write it in percent \(78.0 for 0.78\)"),
    ("500_RSD,published_filtered,81.2,,\n,published_filtered,70,,\n", r"line 3: a value without its system"),
    # lines of the file, blank ones and a source quoted over two counted (audit 34: pandas' rows were named)
    ('\n500_RSD,published_filtered,81.2,,"Kereliuk,\nSturm"\n\nBFF_SVM,published_filtered,0.78,,\n',
     r"column accuracy, line 6: 0.78 is a fraction among percentages"),
    ("BFF_SVM,published_filtered,55,,\n\n\nBFF_SVM,published_filtered,56,,\n",
     r"BFF_SVM under published_filtered is given on lines 2, 5"),
])
def test_published_csv_mistakes_are_named(tmp_path, rows, message):
    path = tmp_path / "p.csv"
    path.write_text("system,condition,accuracy,normalized_accuracy,source\n" + rows)
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}: .*{message}"):
        read_published(path)


def test_published_values_the_summary_cannot_show_are_named(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("system,condition,accuracy,normalized_accuracy,source\n"
                    'BFF_SVM,published_filterd,55.0,,"Kereliuk, Sturm & Larsen 2014"\n'
                    "BFF_SVM,standard,80,,\nMLP,standard,70,,\n")
    published = read_published(path)
    assert published["source"][0] == "Kereliuk, Sturm & Larsen 2014"
    sentence = unmatched_published(published, ["BFF_SVM", "50_RS"], ["standard", "fault_filtered"])
    assert sentence == ("Published values not shown, of condition(s) published_filterd (this run's: standard, "
                        "fault_filtered) and of 1 system(s) this run does not have (MLP) "
                        "(`resources/published_accuracies.csv`).")
    assert unmatched_published(published[published["system"] == "BFF_SVM"].iloc[1:], ["BFF_SVM"], ["standard"]) is None


@pytest.mark.workflow
def test_tiny_run_writes_the_summary(tiny_run):
    text = (tiny_run / "results" / "summary.md").read_text()
    runs = pd.read_csv(tiny_run / "results" / "tables" / "runs.csv")
    for system in runs.system.unique():
        assert f"| {system} |" in text
    assert "configuration digest" in text
    # where the accuracy comes from (tables/attribution.csv) and the dataset's confounds (faults/profile.csv)
    attribution = pd.read_csv(tiny_run / "results" / "tables" / "attribution.csv")
    first = attribution[(attribution.system == runs.system.iloc[0]) & (attribution.condition == "standard")]
    neither = first[first.group == "neither"].iloc[0]
    # (its size among others where a classifier on learned features, fit on the validation part too, counts it seen)
    assert re.search(rf"\| standard: neither \((?:\d+ or )*{neither.n}(?: or \d+)*\) \|", text)
    assert re.search(rf"^\| {runs.system.iloc[0]} \|.* \| {100 * neither.n_correct / neither.n:.1f} \|", text, re.M)
    assert "## The dataset\n\n- 120 excerpts in 10 genres.\n- Largest share of one artist in a genre: " in text
    assert re.search(r"^- Detected from the audio: \d+ exact replica", text, re.M)
    # the run's configuration as a file, which gives this run again: the same digest, and nothing to rerun
    configuration = tiny_run / "results" / "configuration.yaml"
    digest = re.search(r"configuration digest `([0-9a-f]+)`", text).group(1)
    assert config_digest(load_config(configuration)) == digest
    # run from its own folder with -s: the command names the Snakefile, as the run needed it
    assert f"`snakemake -s {ROOT / 'Snakefile'} --cores all --configfile results/configuration.yaml` makes it again" \
        in text
    assert f"#   snakemake -s {ROOT / 'Snakefile'} --cores all --configfile results/configuration.yaml\n" \
        in configuration.read_text()
    again = run_snakemake(tiny_run, extra_args=["-n", "--configfile", str(configuration)])
    assert "Nothing to be done" in again.stdout, again.stdout[-3000:]


def test_attribution_section_pools_folds_and_leaves_out_empty_groups():
    rows = [("A", "standard", 0, "artist_in_train", 4, 3), ("A", "standard", 1, "artist_in_train", 6, 6),
            ("A", "standard", 0, "replica_in_train", 0, 0), ("A", "standard", 1, "replica_in_train", 0, 0),
            ("A", "standard", 0, "neither", 5, 2), ("A", "standard", 1, "neither", 5, 3),
            ("B", "standard", 0, "artist_in_train", 4, 1), ("B", "standard", 1, "artist_in_train", 6, 1),
            ("B", "standard", 0, "neither", 5, 5), ("B", "standard", 1, "neither", 5, 5),
            ("A", "filtered", 0, "neither", 9, 3)]
    table = pd.DataFrame(rows, columns=["system", "condition", "fold", "group", "n", "n_correct"])
    lines = attribution_markdown(table, ["A", "B"], ["standard", "filtered"])
    assert lines[0] == "## Where the accuracy comes from"
    assert "| system | standard: artist in train (10) | standard: neither (10) | filtered: neither (9) |" in lines
    assert "| A | 90.0 | 50.0 | 33.3 |" in lines and "| B | 20.0 | 100.0 | - |" in lines
    assert attribution_markdown(table[table.n == 0], ["A"], ["standard"]) == []


@pytest.mark.parametrize("overlays", [(), ("config/gtzan.yaml",), ("config/sweep_quick.yaml",),
                                      ({"partitions": {"conditions": {"standard": None, "mine": {"method": "stratified"}}},
                                        "evaluate": {"compare": []}, "seed": 7},)],
                         ids=["default", "gtzan", "sweep_quick", "a default condition dropped"])
def test_configuration_file_gives_its_run_again(tmp_path, overlays):
    config = load_config(*[ROOT / o if isinstance(o, str) else o for o in overlays])
    path = tmp_path / "results dir" / "configuration.yaml"
    path.parent.mkdir()
    text = configuration_file_text(config, config_digest(config), str(path))
    path.write_text(text)
    again = load_config(path)  # the embedded default, then this file alone: as `--configfile` it
    assert again == config and config_digest(again) == config_digest(config)
    target = "snakemake sweep" if config["sweep"]["enabled"] else "snakemake"
    assert f"#   {target} --cores all --configfile '{path}'\n" in text
    # what a preset made, where the file keeps the values it overrides (audit 11, 23)
    made = "# dataset.synthetic.preset 'tiny' made 12 excerpts of 6 s per genre: the n_per_genre and duration below"
    assert (made in text) == (config["dataset"]["synthetic"]["preset"] == "tiny")
    assert f"configuration digest `{config_digest(config)}`" in text
    # run from another working folder (`-s`): the commands name the Snakefile
    elsewhere = configuration_file_text(config, config_digest(config), str(path), "/opt/mgr faults/Snakefile")
    program = target.replace("snakemake", "snakemake -s '/opt/mgr faults/Snakefile'")
    assert f"#   {program} --cores all --configfile '{path}'\n" in elsewhere
    shared = {"method": "stratified"}  # one object under two keys is written out twice, not as an alias
    assert "&id" not in configuration_file_text({**config, "a": shared, "b": shared}, "abc", str(path))


def test_report_requested_reads_snakemakes_command_line():
    from mgrfaults.evaluation.summary import report_requested

    assert report_requested(["snakemake", "--report", "r.html"])
    assert report_requested(["snakemake", "--report=r.html", "--configfile", "x.yaml"])
    assert not report_requested(["snakemake", "--report", "r.html", "--report-after-run"])  # it runs first
    assert not report_requested(["snakemake", "--cores", "2", "--report-stylesheet", "s.css"])


def test_stale_report_problem_names_what_a_report_would_misstate(tmp_path):
    from mgrfaults.evaluation.summary import stale_report_problem

    runs = [("A", "standard", 0)]
    assert "report/answer.html is not built" in stale_report_problem(tmp_path, runs, "abc")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "answer.html").write_text("<table></table>")
    (tmp_path / "tables").mkdir()
    pd.DataFrame({"system": ["A"], "condition": ["standard"], "fold": [0], "accuracy": 0.5,
                  "normalized_accuracy": 0.5}).to_csv(tmp_path / "tables" / "runs.csv", index=False)
    assert stale_report_problem(tmp_path, runs, "abc") is None  # no summary yet: nothing says otherwise
    assert "lacks 1 run(s)" in stale_report_problem(tmp_path, runs + [("B", "standard", 0)], "abc")
    (tmp_path / "summary.md").write_text("Made by `x`; commit `c`, configuration digest `abc` (`...`).\n")
    assert stale_report_problem(tmp_path, runs, "abc") is None
    # a seed or a condition's method changed and not run since: the same runs, another configuration
    assert "made under configuration digest abc, this configuration's is def" in stale_report_problem(
        tmp_path, runs, "def")
    # an input file edited in place (a published condition's own lists, the annotations): the same configuration,
    # and the summary's inputs digest differs from the files' now (audit 27); a summary without one is not judged
    assert stale_report_problem(tmp_path, runs, "abc", "0123") is None
    (tmp_path / "summary.md").write_text("Made with commit `c`, configuration digest `abc` (`...`), inputs digest "
                                         "`0123` (`inputs_digest`: ...); `x` makes it again.\n")
    assert stale_report_problem(tmp_path, runs, "abc", "0123") is None
    assert stale_report_problem(tmp_path, runs, "abc") is None  # not asked
    assert "made from input files that have changed since (its inputs digest 0123, theirs now 4567" in \
        stale_report_problem(tmp_path, runs, "abc", "4567")
    # the dataset made again since the summary (dataset_check under another seed): its results are of the old one
    import os

    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "metadata.csv").write_text("track_id\n")
    os.utime(tmp_path / "summary.md", (1, 1))
    assert "dataset/metadata.csv is newer than" in stale_report_problem(tmp_path, runs, "abc")
    os.utime(tmp_path / "summary.md")
    assert stale_report_problem(tmp_path, runs, "abc") is None
    # a run stopped after the tables, before the first page was made from them again (audit 55: a target or --until
    # short of the report): the summary is this configuration's, the first page an earlier one's
    now = os.stat(tmp_path / "tables" / "runs.csv").st_mtime
    os.utime(tmp_path / "report" / "answer.html", (now - 60, now - 60))
    assert "report/answer.html is older than" in stale_report_problem(tmp_path, runs, "abc")
    assert "tables/runs.csv, which it is made from" in stale_report_problem(tmp_path, runs, "abc")
    os.utime(tmp_path / "report" / "answer.html", (now - 1, now - 1))  # a copy's times, a second apart: not stale
    assert stale_report_problem(tmp_path, runs, "abc") is None
