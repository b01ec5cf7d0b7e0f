"""Source `starcop`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: csvs.py (split CSVs, what a row says), rasters.py (AVIRIS-NG
bands, raster grids, georeference).
"""
