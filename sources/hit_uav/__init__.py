"""Source `hit_uav`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader of the VOC XML frames and their file
names' flight data), sample.py (the sample-corpus writer), download.py (the download spec).
JPEG decoding and box checks are shared with HRSID in ``sources/jpeg.py``.
"""
