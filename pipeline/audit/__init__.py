"""The audit: an independent check that every pair is true and answerable from what it ships.

The audit reads a pair's text and its sample's labels and re-derives the answer with code of
its own (it imports no template builder), so a bug in a builder or a template shows up here:
:mod:`.item` (what one audited pair carries, from a pair and its sample or from a corpus row),
:mod:`.rules` (one module per task family: re-derive the answer from the labels).
"""
