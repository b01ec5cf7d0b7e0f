"""Source `bigearthnet_v1`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: metadata.py (labels JSON, patch names), rasters.py (band files,
CRS, footprint), splits.py (``sensors`` option, split lists).
"""
