"""Source `bigearthnet_v2`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: metadata.py (Parquet tables, what a row says), patches.py (patch
files, MGRS tiles, georeference).
"""
