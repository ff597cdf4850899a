"""Snakemake entry point: a custom system (systems.custom.<name>, a plugin) on one condition/fold."""

from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.custom import custom_system_files, end_job_leaving_plugin_threads

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
log = setup_script_logging(snakemake.log)
df = custom_system_files(
    snakemake.wildcards.system,
    dict(snakemake.params.spec),
    snakemake.input.partition,
    snakemake.input.metadata,
    list(snakemake.input.features),
    int(snakemake.params.seed),
    snakemake.output.predictions,
    condition=snakemake.wildcards.condition,
    fold=int(snakemake.wildcards.fold),
    device=snakemake.params.device,
    threads=snakemake.threads,
    sample_rate=int(snakemake.params.sample_rate),
    max_duration=float(snakemake.params.max_duration),
    expected_params=snakemake.params.feature_params,
)
log.info("%s: %d test excerpts, accuracy %.3f", snakemake.wildcards.system, len(df), (df.true == df.predicted).mean())
end_job_leaving_plugin_threads(f"custom system {snakemake.wildcards.system} ({snakemake.wildcards.condition}, fold "
                               f"{snakemake.wildcards.fold})")
