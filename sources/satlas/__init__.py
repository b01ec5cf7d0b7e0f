"""Source `satlas`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: tiles.py (Web-Mercator tiles), metadata.py (image lists, times,
splits, options, tags), images.py (sensors, band folders, PNG headers), vectors.py (vector labels).
"""
