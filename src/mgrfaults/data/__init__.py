"""Data stage: audio decoding, datasets (synthetic, GTZAN, directory), annotations, metadata."""
