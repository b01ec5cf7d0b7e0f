"""Source `quakeset`: adapter.py, facts.py, sample.py, download.py."""
