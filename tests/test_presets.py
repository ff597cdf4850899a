"""Config presets keep to their own results folder; a wrong dataset root stops the run before any job.

Dry runs only (`snakemake -n`, seconds): what a run would write is what it plans.
"""

from __future__ import annotations

import re

import yaml

from conftest import REPO, run_snakemake

GTZAN_PRESET = REPO / "config" / "gtzan.yaml"


def planned_paths(dry_run_output: str) -> list[str]:
    """Every output, log and benchmark path of the jobs a dry run lists."""
    paths = []
    for line in dry_run_output.splitlines():
        match = re.match(r"\s+(output|log|benchmark): (.*)$", line)
        if match:
            paths += [p.strip() for p in match.group(2).split(",")]
    return paths


def gtzan_dry_run(tmp_path, root):
    override = tmp_path / "root.yaml"
    override.write_text(yaml.safe_dump({"dataset": {"gtzan": {"root": str(root)}}}))
    return run_snakemake(tmp_path / "work", extra_args=["-n", "--configfile", str(GTZAN_PRESET), str(override)],
                         check=False, timeout=300)


def test_gtzan_preset_plans_nothing_in_the_default_results(tmp_path):
    default_results = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["results"].rstrip("/")
    gtzan_results = yaml.safe_load(GTZAN_PRESET.read_text())["results"].rstrip("/")
    assert gtzan_results != default_results
    root = tmp_path / "gtzan"
    (root / "blues").mkdir(parents=True)
    (root / "blues" / "blues.00000.au").write_bytes(b"")  # only planned, never read in a dry run

    proc = gtzan_dry_run(tmp_path, root)
    assert proc.returncode == 0, proc.stdout[-4000:]
    paths = planned_paths(proc.stdout)
    # every kind of job is planned: data, features, partitions, training, tables, figures
    assert any(p.endswith("dataset/metadata.csv") for p in paths)
    assert any(p.endswith("tables/difference.csv") for p in paths)
    outside = [p for p in paths if not p.startswith(gtzan_results + "/")]
    assert not outside, f"the gtzan preset writes outside {gtzan_results}/: {outside[:5]}"


def test_missing_gtzan_root_stops_before_any_job(tmp_path):
    proc = gtzan_dry_run(tmp_path, tmp_path / "nowhere")
    assert proc.returncode != 0
    assert "dataset.gtzan.root" in proc.stdout and "nowhere is not a folder" in proc.stdout
    assert not planned_paths(proc.stdout)


def test_the_job_script_preset_keeps_to_its_own_folder_and_trains_rsd_so(tmp_path):
    from mgrfaults.config import complete_dnn_variants, load_config
    from mgrfaults.systems.names import parse_system, training_settings

    preset = REPO / "config" / "job_script.yaml"
    config = load_config(preset)
    results = config["results"].rstrip("/")
    assert results != yaml.safe_load((REPO / "config" / "config.yaml").read_text())["results"].rstrip("/")
    dnn = complete_dnn_variants(config["systems"]["dnn"])
    rsd, rs = (training_settings(dnn, parse_system(n)) for n in ("500_RSD", "500_RS"))
    assert (rsd["raw_keep_prob"], rsd["raw_input_scale"]) == (0.75, 2.0) and "raw_keep_prob" not in rs
    # over the GTZAN preset with a folder of its own, as its header says
    assert load_config(GTZAN_PRESET, preset, {"results": "results/gtzan_job_script"})["dataset"]["source"] == "gtzan"
    proc = run_snakemake(tmp_path / "work", extra_args=["-n", "--configfile", str(preset)], check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    paths = planned_paths(proc.stdout)
    assert any(p.endswith("tables/difference.csv") for p in paths)
    assert not [p for p in paths if not p.startswith(results + "/")]
