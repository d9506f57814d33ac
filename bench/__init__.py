"""Benchmarks: `make bench` (python -m bench). Each prints its ratio against a baseline."""
