"""Source `bigearthnet_v2`: adapter.py, facts.py, sample.py, download.py."""
