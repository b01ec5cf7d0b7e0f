"""Stages and the shared machinery (records, executor, atomic writes, rasters)."""
