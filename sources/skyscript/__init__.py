"""Source `skyscript`: adapter (adapter.py), sample-corpus writer (sample.py)."""
