"""Benchmarks: `make bench` prints a report of figures measured side by side in one run."""
