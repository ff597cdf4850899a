# mgr-faults: is an MGR system learning music, or the faults of its dataset?
# Thin entry point: config, validation, the stages, and the final targets.
import os
import sys
from pathlib import Path

import yaml

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the library, also without `pip install -e`
from mgrfaults.config import (check_config_file, check_configfile_arguments, check_results_subfolders,
                              drop_null_conditions, drop_null_custom_systems, runs_jobs)
from mgrfaults.config import validate as validate_config
from mgrfaults.evaluation.summary import stale_report_problem
from mgrfaults.logs import finished_message, report_path
from mgrfaults.overrides import typed_overrides

CONFIG_SCHEMA = "workflow/schemas/config.schema.yaml"


# the embedded default, found also when --directory points elsewhere; --configfile adds to it
configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


config_schema = yaml.safe_load(open(Path(workflow.basedir) / CONFIG_SCHEMA))
# a sweep point (this Snakefile as a module) gets the main run's config, the command line's values already in it
SWEEP_POINT = workflow.modifier.namespace is not None
if not SWEEP_POINT:
    # what Snakemake's reading of the config files keeps silent: a key written twice in one file, and the files
    # of every --configfile but the last
    for _configfile in workflow.overwrite_configfiles:
        check_config_file(_configfile)
    check_configfile_arguments(sys.argv)
    # --config delivers nested values as strings ('4'): type them as the schema says before validating, and read
    # its values where the schema is free (a custom system's params) as YAML reads them; not again in a sweep
    # point, whose own results folder and seed a `--config results=...` or `seed=...` would overwrite
    config.update(typed_overrides(config, workflow.config_settings.config, config_schema))
# a condition set to null is dropped: how a --configfile runs without one of the default's conditions (said, since a
# condition whose options were deleted, `published_filtered:` left empty, is null too)
_conditions_given = list((config.get("partitions") or {}).get("conditions") or {})
drop_null_conditions(config)
_conditions_dropped = [c for c in _conditions_given if c not in config["partitions"]["conditions"]]
if _conditions_dropped and not SWEEP_POINT:
    print(f"partitions.conditions: {', '.join(_conditions_dropped)} set to null (or left empty): not run",
          file=sys.stderr)
_custom_given = list((config.get("systems") or {}).get("custom") or {})
drop_null_custom_systems(config)
_custom_dropped = [c for c in _custom_given if c not in (config["systems"].get("custom") or {})]
if _custom_dropped and not SWEEP_POINT:
    print(f"systems.custom: {', '.join(_custom_dropped)} set to null (or left empty): not run", file=sys.stderr)
# a value the schema rejects refused in one line naming its key (snakemake's validate prints the section's whole
# schema); every default filled (the schema is the only place they are written: nested sections `default: {}`); a
# DNN variant given in part completed: mgrfaults.config.validate, as load_config does outside Snakemake
validate_config(config)
if not SWEEP_POINT and runs_jobs(sys.argv) and os.path.isdir(os.path.expanduser(config["results"])):
    # Snakemake removes a job's old outputs before it reruns it: a folder made read-only would stop the run half done
    check_results_subfolders(os.path.expanduser(config["results"]))


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/partitions.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/faults.smk"
include: "workflow/rules/attribution.smk"


if config["sweep"]["enabled"]:

    include: "workflow/rules/sweep.smk"

else:

    rule sweep:
        """Target: without sweep.enabled there is no sweep; asked for, it says which key turns it on."""
        input:
            lambda wildcards: sweep_disabled(),


rule all:
    input:
        all_targets(),
    default_target: True


onstart:
    # this working folder's records describe the results (mgrfaults.workdir); a run that started at the same
    # moment from another working folder and marked them first stops this one
    claim_results_or_stop(RESULTS, Path.cwd())


onsuccess:
    print(
        finished_message(
            RESULTS,
            ANSWER_TABLE,
            configfiles=[os.path.relpath(f) for f in workflow.overwrite_configfiles],
            config_overrides=bool(workflow.config_settings.config),  # --config values
            report_exists=Path(report_path(RESULTS, config["sweep"]["enabled"])).exists(),
            # built, and this configuration's (a report of it would not be refused: mgrfaults.evaluation.summary)
            answer_exists=Path(ANSWER_TABLE).exists()
            and (config["sweep"]["enabled"] or not stale_report_problem(RESULTS, runs(), SUMMARY_CONFIG_DIGEST, SUMMARY_INPUTS_DIGEST)),
            sweep=config["sweep"]["enabled"],
            profile_exists=Path(f"{RESULTS}/faults/profile.md").exists(),
            configuration=CONFIGURATION_FILE if Path(CONFIGURATION_FILE).exists() else None,
            snakefile=SNAKEFILE_ARGUMENT,
        )
    )
