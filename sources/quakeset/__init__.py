"""Source `quakeset`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: events.py (event attributes, magnitude classes, image shapes),
georeference.py (coordinates, EPSG, footprint).
"""
