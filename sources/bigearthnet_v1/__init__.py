"""Source `bigearthnet_v1`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: metadata.py (labels JSON, patch names), rasters.py (band files,
CRS, image size), splits.py (sensor names, split lists); the footprint and the ``sensors`` option
come from the shared sources/geo.py and sources/options.py.
"""
