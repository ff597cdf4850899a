"""The metadata table of a real dataset: GTZAN annotated with Sturm's index and the study's lists, or any folder."""

import pandas as pd

from mgrfaults.data.dataset import directory_metadata
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.metadata import metadata_summary, write_metadata

log = setup_script_logging(snakemake.log)
listing = pd.read_csv(snakemake.input.listing, dtype={"track_id": str}, keep_default_na=False)
if snakemake.params.source == "gtzan":
    from pathlib import Path

    from mgrfaults.data.annotations import gtzan_metadata

    meta = gtzan_metadata(listing, snakemake.input.index, Path(snakemake.input.lists[0]).parent)
else:
    meta = directory_metadata(listing, snakemake.params.annotations)
log.info("%s", metadata_summary(write_metadata(meta, snakemake.output[0])))
