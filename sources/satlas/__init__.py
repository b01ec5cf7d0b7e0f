"""Source `satlas`: adapter.py, facts.py, sample.py, download.py."""
