"""Snakemake entry point: every fold of one partition condition, checked, with its summary table."""

import logging
from pathlib import Path

import pandas as pd

from mgrfaults.data.annotations import read_list_files, track_id_from_path
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.metadata import read_metadata
from mgrfaults.faults.groups import read_detected
from mgrfaults.partitions.split import PARTS, run_condition

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
logging.captureWarnings(True)  # proportion warnings (PartitionWarning) go to the log

condition = snakemake.params.condition
metadata = read_metadata(snakemake.input.metadata)
lists, skipped, list_files = None, [], None
if condition["method"] == "published":
    list_files = {part: str(getattr(snakemake.input, part)) for part in PARTS}
    lists = read_list_files(list_files, known_ids=metadata["track_id"])
    # listed excerpts that the data stage skipped as bad audio are left out with a warning (either reading of a path:
    # a skipped file is in no listing that would tell which)
    bad_paths = pd.read_csv(snakemake.input.bad_audio, dtype=str, keep_default_na=False)["path"]
    skipped = [track_id for path in bad_paths
               for track_id in (track_id_from_path(path), f"{Path(path).parent.name}.{track_id_from_path(path)}")]

detected = read_detected(snakemake.input.detected) if "detected" in snakemake.input.keys() else None
folds = run_condition(
    metadata, condition, snakemake.params.seed, lists, name=snakemake.params.name, skipped=skipped,
    list_files=list_files, detected=detected,
)
for (partition, summary), path, summary_path in zip(folds, snakemake.output.partitions, snakemake.output.summaries):
    write_csv_atomic(partition, path)
    write_csv_atomic(summary, summary_path)
    logging.info("%s: %d excerpts\n%s", path, len(partition), summary.to_string(index=False))
