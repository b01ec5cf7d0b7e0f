"""Source `fmow`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: files.py (split and sequence folders, view file names, JPEG
headers), metadata.py (the per-image JSON), bands.py (band names from the wavelengths),
categories.py (the 62 categories and their words).
"""
