"""Snakemake entry point: the metrics JSON of every run from its predictions CSV, tables/runs.csv, and
tables/attribution.csv (accuracy per test group: what the training part shares with each test excerpt)."""

from mgrfaults.data.metadata import label_set, read_metadata
from mgrfaults.evaluation.attribution import attribution_table
from mgrfaults.evaluation.metrics import evaluate_file, read_metrics
from mgrfaults.evaluation.tables import html_page, runs_table
from mgrfaults.faults.groups import apply_detected, read_detected
from mgrfaults.io import write_csv_atomic, write_text_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.partitions.split import read_partition

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

metadata = read_metadata(snakemake.input.metadata)
labels = label_set(metadata)
runs = [(system, condition, int(fold)) for system, condition, fold in snakemake.params.runs]
records, predictions = [], {}
for run, path, metrics in zip(runs, snakemake.input.predictions, snakemake.output.metrics):
    system, condition, fold = run
    result, predictions[run] = evaluate_file(path, labels, metrics)
    log.info("%s: %d excerpts, accuracy %s, normalised accuracy %s", path,
             result["n_excerpts"], result["accuracy"], result["normalized_accuracy"])
    # read back as the tables read it (a metric of an empty test part: None in JSON, NaN here)
    records.append({**read_metrics(metrics), "system": system, "condition": condition, "fold": fold})
table = runs_table(records)
write_csv_atomic(table.round(6), snakemake.output.table)
write_text_atomic(snakemake.output.page, html_page(table, "All runs", "accuracy and normalised accuracy (mean per-class recall) as fractions"))
log.info("%d runs", len(table))

partitions = {(c, int(f)): read_partition(p) for (c, f), p in zip(snakemake.params.partitions, snakemake.input.partitions)}
# replicas annotated or detected from the audio, regrouped (a detected pair the annotations lack is a replica too);
# a synthetic dataset's annotations alone (its truth)
related = (apply_detected(metadata, read_detected(snakemake.input.detected), "both", snakemake.input.detected)
           if "detected" in snakemake.input.keys() else metadata)
attribution = attribution_table(related, runs, partitions, predictions, confidence=snakemake.params.confidence,
                                seen_parts_of=snakemake.params.seen_parts_of)
write_csv_atomic(attribution.round(6), snakemake.output.attribution, index=False)
log.info("attribution: %d rows", len(attribution))
