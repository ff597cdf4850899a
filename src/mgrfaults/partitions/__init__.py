"""Partitions stage: stratified, artist-filtered and published partitions."""
