"""Source `quakeset`: adapter (adapter.py), sample-corpus writer (sample.py)."""
