"""Source `xbd`: adapter (adapter.py), sample-corpus writer (sample.py).

The adapter's helpers, by concern: files.py (split folders, file names, PNG headers), labels.py
(label JSON, metadata values), georeference.py (the pixel → lon/lat fit).
"""
