"""Source `starcop`: adapter.py, facts.py, sample.py, download.py."""
