"""Reproducible benchmarks: ``make bench`` (or ``python -m bench``). Not part of ``make test``."""
