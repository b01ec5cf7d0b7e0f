"""Audit rules, one module per task family, each with a ``RULES`` table (template id → rule).

A rule re-derives a pair's answer from its sample's labels with code independent of the
template builders and returns the problems it finds. Adding a family is one module and one
line below.
"""

from __future__ import annotations

from eoinstruct.pipeline.audit.rules import (
    change,
    detection,
    disaster,
    earthquake,
    landcover,
    lcz,
    methane,
    objects,
    oriented,
    scene,
    sequence,
    site,
    source_vqa,
    thermal,
    trees,
)
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.tables import merge_tables

_MODULES = (
    landcover,
    detection,
    oriented,
    disaster,
    methane,
    earthquake,
    scene,
    thermal,
    sequence,
    change,
    site,
    source_vqa,
    objects,
    trees,
    lcz,
)

RULES: dict[str, Rule] = merge_tables((m.RULES for m in _MODULES), "audit rules")
"""Template id → rule, from every family module."""

__all__ = ["RULES", "Rule"]
