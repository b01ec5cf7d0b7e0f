"""Source `bigearthnet_v1`: adapter (adapter.py), sample-corpus writer (sample.py)."""
