"""Source `skyscript`: adapter.py, facts.py, sample.py, download.py."""
