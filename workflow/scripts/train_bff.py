"""Snakemake entry point: the BFF baseline (MFCC texture windows, SVM or RF) on one condition/fold."""

from mgrfaults.systems.bff import bff_files
from mgrfaults.systems.jobs import run_system_job

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
run_system_job(snakemake, bff_files, [snakemake.input.texture], snakemake.params.bff, snakemake.params.texture_params)
