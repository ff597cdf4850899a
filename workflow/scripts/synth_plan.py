"""Plan the synthetic dataset: every excerpt's label, artist, fault and seeds."""

from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.synth import plan_dataset

log = setup_script_logging(snakemake.log)
cfg = snakemake.params.synthetic
plan = plan_dataset(
    n_per_genre=cfg["n_per_genre"],
    duration=cfg["duration"],
    seed=snakemake.params.seed,
    confound_strength=cfg["confound_strength"],  # defaults: the config (schema), never here
    largest_artist_share=cfg["largest_artist_share"],
    singleton_share=cfg["singleton_share"],
    faults=cfg["faults"],
    sample_rate=snakemake.params.sample_rate,
)
log.info("planned %d excerpts; faults: %s", len(plan), plan["fault"].value_counts().to_dict())
write_csv_atomic(plan, snakemake.output[0])
