"""Snakemake entry point: the dataset's fault profile (each genre's artist concentration beside its detected
faults) as CSV, Markdown and an HTML page for the report."""

import pandas as pd

from mgrfaults.data.audio import stored_format
from mgrfaults.data.metadata import read_metadata
from mgrfaults.evaluation.tables import html_page
from mgrfaults.faults.groups import read_detected
from mgrfaults.faults.profile import dataset_profile, profile_findings, profile_markdown, storage_tells_genres_apart
from mgrfaults.io import write_csv_atomic, write_text_atomic
from mgrfaults.logs import setup_script_logging

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)
metadata = read_metadata(snakemake.input.metadata)
# each file's format and native sample rate, from its header (the metadata holds the decoded, resampled audio's)
stored = pd.DataFrame([(track_id, *stored_format(path)) for track_id, path in zip(metadata["track_id"], metadata["path"])],
                      columns=["track_id", "format", "sample_rate", "stored_duration"])
max_duration = snakemake.params.max_duration
profile = dataset_profile(metadata, read_detected(snakemake.input.detected), stored, max_duration)
apart = storage_tells_genres_apart(metadata["genre"], stored["format"], stored["sample_rate"])
bad_audio = list(pd.read_csv(snakemake.input.bad_audio, dtype=str, keep_default_na=False)["path"])
write_csv_atomic(profile, snakemake.output.table)
write_text_atomic(snakemake.output.markdown, profile_markdown(profile, snakemake.params.source, bad_audio, apart,
                                                                    max_duration))
write_text_atomic(snakemake.output.page, html_page(profile, "Dataset profile: artists and detected faults per genre",
                                                   " ".join(profile_findings(profile, bad_audio, apart, max_duration))))
log.info("profile\n%s", profile.to_string(index=False))
