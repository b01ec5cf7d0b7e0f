"""Source `quakeset`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: events.py (event attributes, magnitude classes, image shapes),
georeference.py (coordinates, EPSG, footprint).
"""
