"""Snakemake entry point: tables/attribution.csv and figures/attribution.png (confound attribution)."""

from mgrfaults.data.metadata import read_metadata
from mgrfaults.evaluation.attribution import attribution_table, plot_attribution
from mgrfaults.evaluation.metrics import read_predictions
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.partitions.split import read_partition

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

metadata = read_metadata(snakemake.input.metadata)
partitions = {(c, int(f)): read_partition(p) for (c, f), p in zip(snakemake.params.partitions, snakemake.input.partitions)}
runs = [(s, c, int(f)) for s, c, f in snakemake.params.runs]
predictions = {run: read_predictions(p) for run, p in zip(runs, snakemake.input.predictions)}
table = attribution_table(metadata, runs, partitions, predictions, confidence=snakemake.params.confidence)
write_csv_atomic(table.round(6), snakemake.output.table, index=False)
plot_attribution(table, snakemake.output.figure)
log.info("%d rows", len(table))
