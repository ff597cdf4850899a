"""Snakemake entry point: one fault table rendered as an HTML page for the report."""

import pandas as pd

from mgrfaults.evaluation.tables import html_page
from mgrfaults.io import write_text_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
TITLES = {
    "evaluation": "Fault detection: precision and recall per kind",
    "counts_per_genre": "Faults per genre: detected and annotated",
    "confusion": "Excerpts by annotated (rows) and detected (columns) fault",
    "replica_pairs": "Detected replica pairs",
}
table = pd.read_csv(snakemake.input[0], keep_default_na=False)
write_text_atomic(snakemake.output[0], html_page(table, TITLES[snakemake.params.table], f"from {snakemake.input[0]}"))
log.info("rendered %s (%d rows)", snakemake.input[0], len(table))
