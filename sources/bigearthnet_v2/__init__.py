"""Source `bigearthnet_v2`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: metadata.py (Parquet tables, what a row says), patches.py (patch
files, MGRS tiles, georeference).
"""
