"""Plan the synthetic dataset: every excerpt's label, artist, fault and seeds."""

from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.config import SyntheticSpec
from mgrfaults.data.synth import plan_dataset

log = setup_script_logging(snakemake.log)
synthetic = SyntheticSpec(**snakemake.params.synthetic)  # resolved in common.smk (mgrfaults.config.resolve)
plan = plan_dataset(**synthetic.plan_args(), seed=snakemake.params.seed, sample_rate=snakemake.params.sample_rate)
log.info("planned %d excerpts; faults: %s", len(plan), plan["fault"].value_counts().to_dict())
write_csv_atomic(plan, snakemake.output[0])
