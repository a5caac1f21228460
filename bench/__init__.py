"""Benchmarks: ``python -m bench`` runs every ``bench/bench_*.py`` that defines ``run()``.

Each ``run() -> list[str]`` returns the lines to print; every figure is printed
beside its baseline, measured in the same run.
"""
