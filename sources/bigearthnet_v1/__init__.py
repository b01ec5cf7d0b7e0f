"""Source `bigearthnet_v1`: adapter.py, facts.py, sample.py, download.py."""
