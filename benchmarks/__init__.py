"""Benchmarks: `make bench` runs them all (benchmarks/run.py) and writes var/bench/report.md.

Each module is runnable alone with `python -m benchmarks.<name>` and writes
var/bench/<name>.md. Goals are ratios against baselines taken in the same run
where the issue states them so; absolute numbers on a shared 2-core machine are
recorded, not asserted.
"""
