"""Benchmarks for sagemaker-watch, run with ``python -m bench`` (never in CI)."""
