"""Source `stac`: adapter (adapter.py), sample-corpus writer (sample.py)."""
