"""Source `rsvqa`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: splits.py (the split JSON files, indexed by list position),
answers.py (what a well-formed answer of each question type is), images.py (the image files:
header, size, georeference).
"""
