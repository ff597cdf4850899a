"""Snakemake entry point: report/answer.html, the answer table and accuracy figure the report's first page embeds."""

import html

import pandas as pd

from mgrfaults.evaluation.attribution import pooled_group_accuracy
from mgrfaults.evaluation.summary import ATTRIBUTION_TEXT
from mgrfaults.evaluation.tables import answer_table, html_fragment, html_image, markdown_code_to_html
from mgrfaults.faults.profile import partial_gtzan_finding
from mgrfaults.io import write_text_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

difference = pd.read_csv(snakemake.input.difference[0]) if snakemake.input.difference else None
table = answer_table(pd.read_csv(snakemake.input.runs), difference)
figure = html_image(snakemake.input.figure, "accuracy of every system, one bar per condition")
groups = pooled_group_accuracy(pd.read_csv(snakemake.input.attribution))
# where the accuracy comes from, when a group holds test excerpts (always, but for an empty study)
where = (f"<p><b>Where the accuracy comes from.</b> {markdown_code_to_html(ATTRIBUTION_TEXT)}</p>\n"
         f"{html_fragment(groups)}" if groups.shape[1] > 1 else "")
# part of GTZAN: said before the table, as summary.md says it
note = ""
if snakemake.params.partial_gtzan:
    profile = pd.read_csv(snakemake.input.profile, keep_default_na=False, na_values=[""])
    note = f"<p><b>Note.</b> {html.escape(partial_gtzan_finding(profile, snakemake.params.published))}</p>\n"
write_text_atomic(snakemake.output[0], note + html_fragment(table) + figure + where)
log.info("\n%s", table.to_string())
