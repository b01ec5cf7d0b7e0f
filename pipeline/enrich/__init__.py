"""Enrichment of samples from outside the source: OpenStreetMap tags by footprint."""
