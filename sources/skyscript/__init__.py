"""Source `skyscript`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: csvs.py (caption CSVs, row index, splits), meta.py (meta
pickles, loaded safely), images.py (imagery sources, file names, JPEG headers); the pixel size
comes from the shared sources/geo.py.
"""
