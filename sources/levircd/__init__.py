"""Source `levircd`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: files.py (the three layouts, unit ids, PNG checks),
masks.py (the change mask: binary check, connected components, areas, thirds).
"""
