"""Snakemake entry point: tables/difference.csv (first compared condition - second, per system, with a test)."""

import pandas as pd

from mgrfaults.data.artists import artist_group_of
from mgrfaults.data.metadata import read_metadata
from mgrfaults.io import write_csv_atomic, write_text_atomic
from mgrfaults.logs import setup_script_logging
from mgrfaults.evaluation.metrics import read_predictions
from mgrfaults.evaluation.tables import difference_table, format_difference_table, html_page, round_for_csv

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log = setup_script_logging(snakemake.log)

predictions = {
    tuple(key.split("/")): [read_predictions(path) for path in paths]
    for key, paths in snakemake.params.predictions.items()
}
condition_a, condition_b = snakemake.params.conditions
metadata = read_metadata(snakemake.input.metadata)
mislabelled = set(metadata.loc[metadata["fault"] == "mislabel", "track_id"])
table = difference_table(
    pd.read_csv(snakemake.input.runs), predictions, condition_a, condition_b, systems=snakemake.params.systems,
    # the artist filter's units: excerpts linked by a credited artist (`A and B`, `A feat. B`) form one cluster
    artist_of=artist_group_of(metadata), confidence=snakemake.params.confidence,
    # a dataset annotating no mislabeling (GTZAN by Sturm's index, a folder without a fault column) has no such count
    mislabelled=mislabelled or None,
)
write_csv_atomic(round_for_csv(table), snakemake.output.table)  # p-values unrounded
notes = (f"Mean accuracy over folds, percent; difference = {condition_a} - {condition_b} in percentage points. "
         "McNemar's exact test when both conditions tested the same excerpts, else Fisher's exact test "
         "on correct/wrong x condition (per-excerpt correctness pooled over folds); p (Holm): adjusted for testing "
         "every system's difference together. Tied decisions: tied votes, given to the genre first in label order "
         "(the study's rule), under each condition; the difference with each tie shared among its genres beside. "
         f"The difference's {100 * snakemake.params.confidence:g} % interval with the test excerpts clustered by "
         "artist (Student's t with a cluster-robust standard error over each condition's artists): the "
         "uncertainty of the difference for artists the systems have not heard. Test excerpts annotated as "
         "mislabelled: counted under each condition, and the accuracies and difference without them in the CSV.")
write_text_atomic(
    snakemake.output.page,
    html_page(format_difference_table(table, condition_a, condition_b), f"{condition_a} - {condition_b}", notes),
)
log.info("\n%s", table.to_string())
