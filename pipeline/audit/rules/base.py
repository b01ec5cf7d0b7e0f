"""What an audit rule is."""

from __future__ import annotations

from collections.abc import Callable

from eoinstruct.pipeline.audit.item import AuditItem

Rule = Callable[[AuditItem], list[str]]
"""A rule: the problems of one pair (empty: it agrees with its labels)."""
