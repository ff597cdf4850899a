# mgr-faults: is an MGR system learning music, or the faults of its dataset?
# Thin entry point: config, validation, the stages, and the final targets.
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# the embedded default, found also when --directory points elsewhere; --configfile adds to it
configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


validate(config, "workflow/schemas/config.schema.yaml")



report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/partitions.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/faults.smk"


rule all:
    input:
        all_targets(),
    default_target: True
