"""Source `xbd`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: files.py (split folders, file names, PNG headers), labels.py
(label JSON, metadata values), georeference.py (the pixel → lon/lat fit).
"""
