# Stage: report. What `snakemake --report results/report.html` shows beyond the evaluate stage's
# tables and figures (those are marked with report() where they are made): the answer table that the
# first page (workflow/report/workflow.rst) embeds beside the accuracy figure, and the partition summaries.
# report() marks only outputs of rules, and the report shows HTML in place (a CSV is only downloaded),
# so each summary written by the partitions stage is rendered as an HTML page.


import mimetypes

from mgrfaults.evaluation.summary import report_requested, stale_report_problem

# the report shows results/configuration.yaml as text; Python's table of types has no .yaml (Snakemake would warn
# that it assumes text/plain)
mimetypes.add_type("text/plain", ".yaml")

# `snakemake --report` bundles the files as they are (Snakemake runs nothing for it): after a change of the
# configuration not yet run, the report would show the earlier configuration's results as this one's. Checked
# where `--report` is on the command line, for the study (a sweep's report reads the sweep's own tables; a sweep
# point is this workflow loaded as a module, with a namespace).
if workflow.modifier.namespace is None and not config["sweep"]["enabled"] and report_requested(sys.argv):
    STALE_REPORT = stale_report_problem(RESULTS, runs(), SUMMARY_CONFIG_DIGEST, SUMMARY_INPUTS_DIGEST)
    if STALE_REPORT:
        raise ConfigError(STALE_REPORT)


localrules:
    report_answer,
    report_partition_summary,


rule report_answer:
    """Mean accuracy per system and condition, the drop, its p-value, the accuracy figure and the accuracy per test
    group (artist or replica in train, neither), for the first page."""
    input:
        runs=f"{RESULTS}/tables/runs.csv",
        attribution=f"{RESULTS}/tables/attribution.csv",
        difference=[f"{RESULTS}/tables/difference.csv"] if HAS_DIFFERENCE else [],
        figure=f"{RESULTS}/figures/accuracy_by_condition.png",
        profile=f"{RESULTS}/faults/profile.csv",
    output:
        f"{RESULTS}/report/answer.html",
    params:
        partial_gtzan=PARTIAL_GTZAN,
        published=PUBLISHED_CONDITIONS,
    log:
        f"{RESULTS}/logs/report/answer.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/report_answer.py"


rule report_partition_summary:
    """A partition summary (counts per genre x part, artists per part, removed faults) as an HTML page."""
    input:
        f"{RESULTS}/partitions/{{condition}}/fold_{{fold}}_summary.csv",
    output:
        report(
            f"{RESULTS}/report/partitions/{{condition}}/fold_{{fold}}_summary.html",
            caption="../report/partition_summary.rst",
            category="5. Partitions",
            subcategory="{condition}",
            labels={"condition": "{condition}", "fold": "{fold}"},
        ),
    log:
        f"{RESULTS}/logs/report/partitions/{{condition}}/fold_{{fold}}_summary.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/partition_summary.py"
