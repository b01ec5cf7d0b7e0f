"""The audit: an independent check that every pair is true and answerable from what it ships.

The audit reads a pair's text and its sample's labels and re-derives the answer with code of
its own (it imports no template builder), so a bug in a builder or a template shows up here:
:mod:`.item` (what one audited pair carries, from a pair and its sample or from a corpus row),
:mod:`.rules` (one module per task family: re-derive the answer from the labels),
:mod:`.checks` (generic checks of every pair: metadata answers, unanswered yes/no questions,
grammar), :mod:`.report` (:func:`~.report.audit_items`: flags, answer balance, duplicates and
variety per template; the limits of ``params.yaml`` ``audit``), :mod:`.corpus` (the audit of
a published corpus) and :mod:`.render` (text and HTML tables). The ``validate`` stage audits
every pair and rejects the flagged ones; ``eoinstruct audit`` audits a corpus.
"""
