"""Snakemake entry point: a partition summary rendered as an HTML page for the report."""

import logging

import pandas as pd

from mgrfaults.io import write_text_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.evaluation.tables import html_page

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

summary = pd.read_csv(snakemake.input[0])
title = f"Partition {snakemake.wildcards.condition}, fold {snakemake.wildcards.fold}"
# headers with spaces wrap, so the 15 columns fit the report's frame (removed_recording_replica does not)
shown = summary.rename(columns=lambda name: name.replace("_", " "))
write_text_atomic(snakemake.output[0], html_page(shown, title, f"from {snakemake.input[0]}"))
logging.info("rendered %s (%d rows)", snakemake.input[0], len(summary))
