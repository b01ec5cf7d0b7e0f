"""Source `bigearthnet_v2`: adapter (adapter.py), sample-corpus writer (sample.py)."""
