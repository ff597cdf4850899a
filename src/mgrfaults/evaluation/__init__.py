"""Evaluation: metrics, the study's tables, figures."""
