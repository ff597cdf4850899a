"""Snakemake entry point: results/summary.md (accuracy tables by condition, difference, provenance)."""

import shlex
from pathlib import Path

import pandas as pd

from mgrfaults.evaluation.summary import read_published, summary_markdown, unmatched_published
from mgrfaults.faults.profile import confound_findings, partial_gtzan_finding
from mgrfaults.io import write_text_atomic
from mgrfaults.logs import setup_script_logging, snakemake_program

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
tables = {c: pd.read_csv(path) for c, path in zip(snakemake.params.conditions, snakemake.input.tables)}
difference = pd.read_csv(snakemake.input.difference[0]) if snakemake.input.difference else None
published = read_published(snakemake.input.published)
profile = pd.read_csv(snakemake.input.profile, keep_default_na=False, na_values=[""])
if unmatched := unmatched_published(published, snakemake.params.systems, snakemake.params.conditions):
    log.warning(unmatched)
text = summary_markdown(
    tables,
    snakemake.params.systems,
    snakemake.params.compare,
    difference,
    published,
    snakemake.params.commit,
    snakemake.params.digest,
    command=f"{snakemake_program(snakemake.params.snakefile)} --cores all --configfile "
    f"{shlex.quote(snakemake.input.configuration)}",
    confidence=snakemake.params.confidence,
    attribution=pd.read_csv(snakemake.input.attribution),
    dataset_findings=confound_findings(
        profile, list(pd.read_csv(snakemake.input.bad_audio, dtype=str, keep_default_na=False)["path"])
    ),
    caveats=[partial_gtzan_finding(profile, snakemake.params.published)] if snakemake.params.partial_gtzan else [],
    inputs=snakemake.params.inputs_digest,
)
write_text_atomic(snakemake.output[0], text)
log.info("wrote %s (%d lines)", Path(snakemake.output[0]), text.count("\n") + 1)
