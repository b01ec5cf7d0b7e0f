"""Source `stac`: adapter.py, facts.py, sample.py."""
