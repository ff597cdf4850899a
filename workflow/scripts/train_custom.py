"""Snakemake entry point: a custom system (systems.custom.<name>, a plugin) on one condition/fold."""

from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.custom import custom_system_files, end_job_within


def main(snakemake):
    log = setup_script_logging(snakemake.log)
    where = f"custom system {snakemake.wildcards.system} ({snakemake.wildcards.condition}, fold {snakemake.wildcards.fold})"
    try:
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
            threads=snakemake.params.threads,
            sample_rate=int(snakemake.params.sample_rate),
            max_duration=float(snakemake.params.max_duration),
            expected_params=snakemake.params.feature_params,
            # as configured (the run's config): files a system writes into there change its jobs' inputs
            data_entries=(snakemake.config["systems"]["custom"].get(snakemake.wildcards.system) or {}).get("files") or [],
        )
    except BaseException:
        end_job_within(where, exit_code=1)  # threads the plugin left must not hold a failed job open either
        raise
    end_job_within(where, exit_code=0)
    log.info("%s: %d test excerpts, accuracy %.3f", snakemake.wildcards.system, len(df), (df.true == df.predicted).mean())


# a plugin's worker processes started by spawn or forkserver import this file as their main module: only the job's
# own process runs the system (in a worker, `snakemake` is not defined)
if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script directive
