"""Source `dota`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader: label files, versions, chips),
sample.py (the sample-corpus writer), download.py (the download spec). Outlines shared with
DIOR: :mod:`eoinstruct.sources.outlines`.
"""
