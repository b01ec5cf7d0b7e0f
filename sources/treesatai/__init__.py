"""Source `treesatai`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: genera.py (the 15 genus classes, leaf types and the
multi-label JSON).
"""
