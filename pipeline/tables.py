"""Merge the per-module tables of a family registry (builders, audit rules) into one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

V = TypeVar("V")


def merge_tables(tables: Iterable[Mapping[str, V]], what: str) -> dict[str, V]:
    """Merge name → value tables, refusing a name that two tables define.

    Args:
        tables: One table per family module, in order.
        what: What the names are, for the error (``builder names``, ``audit rules``).

    Returns:
        One table.

    Raises:
        RuntimeError: If a name is defined twice.
    """
    merged: dict[str, V] = {}
    for table in tables:
        clash = set(merged) & set(table)
        if clash:
            raise RuntimeError(f"{what} defined twice: {sorted(clash)}")
        merged.update(table)
    return merged
