"""Source `xbd`: adapter (adapter.py), sample-corpus writer (sample.py)."""
