"""Source `satlas`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: tiles.py (Web-Mercator tiles), metadata.py (image lists, times,
splits, options, tags), images.py (sensors, band folders, PNG headers), vectors.py (vector labels).
"""
