"""Audit rules, one module per task family, each with a ``RULES`` table (template id → rule).

A rule re-derives a pair's answer from its sample's labels with code independent of the
template builders and returns the problems it finds. Adding a family is one module and one
line below.
"""

from __future__ import annotations

from eoinstruct.pipeline.audit.rules import (
    detection,
    disaster,
    earthquake,
    landcover,
    methane,
    scene,
    sequence,
    thermal,
)
from eoinstruct.pipeline.audit.rules.base import Rule

_MODULES = (landcover, detection, disaster, methane, earthquake, scene, thermal, sequence)

RULES: dict[str, Rule] = {}
"""Template id → rule, from every family module."""
for _module in _MODULES:
    _clash = set(RULES) & set(_module.RULES)
    if _clash:
        raise RuntimeError(f"audit rules defined twice: {sorted(_clash)}")
    RULES.update(_module.RULES)

__all__ = ["RULES", "Rule"]
