"""The body every system's training script shares: logging, thread limits, the resolved spec, one fold.

Workflow glue, kept out of the algorithms: ``workflow/scripts/train_bff.py`` and ``train_learned.py``
call :func:`run_system_job` with their library entry point.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd
from threadpoolctl import threadpool_limits

from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.names import SystemSpec


def run_system_job(
    snakemake: Any,
    fit_files: Callable[..., pd.DataFrame],
    leading_inputs: Sequence[Any],
    settings: dict,
    expected_params: dict,
    **options: Any,
) -> pd.DataFrame:
    """Train one system on one condition/fold and write its model and test predictions.

    Calls ``fit_files(spec, *leading_inputs, partition, metadata, settings, seed, model, predictions,
    threads=..., expected_params=..., **options)`` under the job's thread limit, with the spec the
    rule resolved (``params.spec``), and logs the test accuracy.

    Parameters
    ----------
    snakemake : snakemake.script.Snakemake
        The script's job: input ``partition``, ``metadata``; output ``model``, ``predictions``;
        params ``spec``, ``seed`` and optionally ``threads`` (else the job's ``threads``); ``log``.
    fit_files : callable
        E.g. :func:`mgrfaults.systems.bff.bff_files`.
    leading_inputs : sequence
        The inputs that come before the partition (feature shards, a net's model).
    settings : dict
        The system's config section (``systems.bff``, ``systems.learned``).
    expected_params : dict
        The feature parameters the shards must carry.

    Returns
    -------
    DataFrame
        The test predictions written.
    """
    log = setup_script_logging(snakemake.log)
    # systems.threads where the rule passes it (the learned features come of a net's float arithmetic): not --cores,
    # which caps a job's threads
    threads = int(getattr(snakemake.params, "threads", snakemake.threads))
    with threadpool_limits(limits=threads):
        predictions = fit_files(
            SystemSpec.from_dict(snakemake.params.spec),
            *leading_inputs,
            snakemake.input.partition,
            snakemake.input.metadata,
            dict(settings),
            int(snakemake.params.seed),
            snakemake.output.model,
            snakemake.output.predictions,
            threads=threads,
            expected_params=dict(expected_params),
            **options,
        )
    accuracy = (predictions.true == predictions.predicted).mean()
    log.info("%s: %d test excerpts, accuracy %.3f", snakemake.wildcards.system, len(predictions), accuracy)
    return predictions
