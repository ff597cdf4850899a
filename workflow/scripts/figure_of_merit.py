"""Snakemake entry point: figure-of-merit table (CSV, percent) and heatmap of one system and condition."""

from mgrfaults.evaluation.figures import plot_figure_of_merit
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.evaluation.metrics import read_metrics
from mgrfaults.evaluation.tables import pooled_figure_of_merit

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

metrics = [read_metrics(path) for path in snakemake.input.metrics]
labels = metrics[0]["labels"]
fom = pooled_figure_of_merit([m["confusion"] for m in metrics], labels)
write_csv_atomic(fom.round(1), snakemake.output.table, index=True)
n_folds = len(metrics)
title = f"{snakemake.wildcards.system}, {snakemake.wildcards.condition}" + (f" ({n_folds} folds pooled)" if n_folds > 1 else "")
plot_figure_of_merit(fom, snakemake.output.figure, title=title)
log.info("\n%s", fom.round(1).to_string())
