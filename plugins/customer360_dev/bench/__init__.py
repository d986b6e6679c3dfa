"""Benchmarks: wall time and peak memory per stage, compared with a committed baseline."""
