"""Snakemake entry point: sweep/drop_by_strength.csv, drop_summary.csv, attribution_by_strength.csv, drop_by_strength.png."""

import pandas as pd

from mgrfaults.evaluation.sweep import drop_summary, drop_table, plot_drop_by_strength, stack_points
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

runs = [(point, pd.read_csv(path)) for point, path in zip(snakemake.params.points, snakemake.input.runs)]
drops = drop_table(runs, conditions=snakemake.params.conditions)
summary = drop_summary(drops, confidence=snakemake.params.confidence)
write_csv_atomic(drops.round(6), snakemake.output.drops)
write_csv_atomic(summary.round(6), snakemake.output.summary)
plot_drop_by_strength(summary, snakemake.output.figure)
attribution = stack_points([(p, pd.read_csv(path)) for p, path in zip(snakemake.params.points, snakemake.input.attribution)])
write_csv_atomic(attribution.round(6), snakemake.output.attribution)
log.info("%d points, %d rows", len(runs), len(drops))
