"""Audit rules for the thermal task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.
"""

from __future__ import annotations

from eoinstruct.pipeline.audit.rules.base import Rule

RULES: dict[str, Rule] = {}
"""Template id → rule."""
