"""Source `hrsid`: facts.py, adapter.py, sample.py, download.py.

facts.py (its facts, stated once), adapter.py (the reader of the COCO JSON and the chips),
sample.py (the sample-corpus writer), download.py (the download spec). JPEG decoding and box
checks are shared with HIT-UAV in ``sources/jpeg.py``.
"""
