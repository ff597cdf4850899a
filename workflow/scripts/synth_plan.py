"""Plan the synthetic dataset: every excerpt's label, artist, fault and seeds."""

from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.data.synth import plan_dataset

log = setup_script_logging(snakemake.log)
plan = plan_dataset(**snakemake.params.plan, seed=snakemake.params.seed, sample_rate=snakemake.params.sample_rate)
log.info("planned %d excerpts; faults: %s", len(plan), plan["fault"].value_counts().to_dict())
write_csv_atomic(plan, snakemake.output[0])
