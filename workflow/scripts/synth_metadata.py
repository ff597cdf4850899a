"""The metadata table of the synthetic dataset (its plan, with the paths where the audio lies)."""

from pathlib import Path

import pandas as pd

from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.metadata import write_metadata
from mgrfaults.data.synth import plan_metadata, read_plan

log = setup_script_logging(snakemake.log)
# the genre folders are the audio inputs: their parent holds the GTZAN-style layout
audio_dir = Path(snakemake.input.audio[0]).parent
meta = plan_metadata(read_plan(snakemake.input.plan), audio_dir)

write_metadata(meta, snakemake.output.metadata)
write_csv_atomic(pd.DataFrame(columns=["path", "reason"]), snakemake.output.bad)
log.info("metadata: %d excerpts, %d artists", len(meta), meta["artist"].nunique())
