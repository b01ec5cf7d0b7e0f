"""eoinstruct: build instruction corpora for Earth observation."""

__version__ = "0.1.0"
