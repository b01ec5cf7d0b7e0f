"""Source `starcop`: adapter (adapter.py), sample-corpus writer (sample.py)."""
