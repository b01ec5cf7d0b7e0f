"""Source `so2sat`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader), sample.py (the sample-corpus writer),
download.py (the download spec).

The adapter's helpers, by concern: zones.py (the 17 local climate zones and what each says
about built form, building height and land cover).
"""
