"""Source `dior`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader, with its VOC XML parsing),
sample.py (the sample-corpus writer), download.py (the download spec). Outlines shared with
DOTA: :mod:`eoinstruct.sources.outlines`.
"""
