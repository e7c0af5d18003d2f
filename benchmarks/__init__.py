"""motiontrack benchmarks: one suite, one entry point (``python -m benchmarks``).

Every benchmark prints a table and writes JSON (with machine info) under
``benchmarks/results/`` so runs can be compared. See ``python -m benchmarks --help``.
"""
