"""Source `satlas`: adapter (adapter.py), sample-corpus writer (sample.py)."""
