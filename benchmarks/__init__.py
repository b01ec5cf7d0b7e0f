"""Benchmarks of the build: synthetic data at real sizes, stage timings, the I/O floor.

``python -m benchmarks.run --help``; see ``benchmarks/README.md``.
"""
