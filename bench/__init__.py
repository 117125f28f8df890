"""Reproducible benchmarks; each script prints one JSON object (see README.md)."""
