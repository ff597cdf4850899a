"""Snakemake entry point: detected against annotated faults (precision/recall), counts, confusion, replica pairs."""

from mgrfaults.data.metadata import read_metadata
from mgrfaults.faults.evaluation import confusion_table, counts_per_genre, evaluate_detection, replica_pair_list
from mgrfaults.faults.groups import read_detected
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
metadata = read_metadata(snakemake.input.metadata)
detected = read_detected(snakemake.input.detected)
evaluation = evaluate_detection(metadata, detected, snakemake.params.clip_threshold)
write_csv_atomic(evaluation, snakemake.output.evaluation)
write_csv_atomic(counts_per_genre(metadata, detected), snakemake.output.counts)
write_csv_atomic(confusion_table(metadata, detected), snakemake.output.confusion)
write_csv_atomic(replica_pair_list(metadata, detected), snakemake.output.replica_pairs)
log.info("evaluation\n%s", evaluation.to_string(index=False))
