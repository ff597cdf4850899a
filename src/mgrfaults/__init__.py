"""mgr-faults: is a music genre recognition system learning music, or the faults of its dataset?

The library behind the Snakemake workflow: synthetic GTZAN-like data with known faults,
audio decoding, features, partitions, systems, metrics and the study's tables.
"""

__version__ = "0.1.0"

GENRES = (
    "blues",
    "classical",
    "country",
    "disco",
    "hiphop",
    "jazz",
    "metal",
    "pop",
    "reggae",
    "rock",
)
"""GTZAN's ten genres, in GTZAN's (alphabetical) order: the label order everywhere."""
