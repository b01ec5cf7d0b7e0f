"""Source `xbd`: adapter.py, facts.py, sample.py, download.py."""
