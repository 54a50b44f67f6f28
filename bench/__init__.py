"""Benchmarks of issue 8 (performance): ``python -m bench [part ...]``.

Benchmarks, not timed tests: each part measures and prints a table, ``bench/results.json`` keeps
every figure with the machine it came from. Parts are registered in ``bench/__main__.py``; shared
helpers (tables, machine info, the in-process moto stack, the AWS call counter) are in
``bench/common.py``.
"""
