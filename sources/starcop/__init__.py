"""Source `starcop`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: csvs.py (split CSVs, what a row says), rasters.py (AVIRIS-NG
bands, raster grids, georeference).
"""
