"""TreeSatAI's genus classes and its multi-label JSON (``TreeSatBA_v9_60m_multi_labels.json``).

The JSON maps a patch file name to ``[[genus, area fraction], …]`` (torchgeo ``TreeSatAI``
reads it so; ``shared/docs/source-formats.md`` §10). The 15 genus classes are torchgeo's
``TreeSatAI.classes`` (the Zenodo archive's multi-label set); ``Cleared`` is a cleared stand,
no tree genus. Leaf types (conifer or broadleaf) are botany, not a dataset field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from eoinstruct.sources.base import SourceError, json_loads

GENERA: tuple[str, ...] = (
    "Abies",
    "Acer",
    "Alnus",
    "Betula",
    "Cleared",
    "Fagus",
    "Fraxinus",
    "Larix",
    "Picea",
    "Pinus",
    "Populus",
    "Prunus",
    "Pseudotsuga",
    "Quercus",
    "Tilia",
)
"""The 15 genus classes of the multi-label set, in torchgeo's order."""

CONIFERS: frozenset[str] = frozenset({"Abies", "Larix", "Picea", "Pinus", "Pseudotsuga"})
"""Coniferous genera (fir, larch, spruce, pine, Douglas fir)."""

SUM_TOLERANCE = 0.02
"""How far the fractions of one patch may sum from 1 (the JSON stores rounded floats)."""


def load_labels(path: Path) -> dict[str, Any]:
    """Read the multi-label JSON.

    Args:
        path: ``labels/TreeSatBA_v9_60m_multi_labels.json``.

    Returns:
        File name → raw entry (checked per unit by :func:`parse_entry`).

    Raises:
        OSError: If the file cannot be read.
        ValueError: If it is not a JSON object.
    """
    data = json_loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object of file name -> labels")
    return data


def parse_entry(entry: Any, where: str, unit: str) -> dict[str, float]:
    """Check one patch's ``[[genus, fraction], …]`` and return genus → fraction.

    Args:
        entry: The JSON value of the patch.
        where: Context for messages.
        unit: The unit id.

    Returns:
        Genus → area fraction (0 < f <= 1), fractions summing to 1 within
        :data:`SUM_TOLERANCE`.

    Raises:
        SourceError: ``malformed_label`` for anything else (unknown genus, a genus twice,
            a fraction out of range or not a number, fractions not summing to 1).
    """
    if not isinstance(entry, list) or not entry:
        raise SourceError("malformed_label", f"{where}: labels are not a non-empty list", unit)
    shares: dict[str, float] = {}
    for item in entry:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise SourceError("malformed_label", f"{where}: bad label item {item!r}", unit)
        genus, fraction = item
        if genus not in GENERA:
            raise SourceError("malformed_label", f"{where}: unknown genus {genus!r}", unit)
        if genus in shares:
            raise SourceError("malformed_label", f"{where}: genus {genus} listed twice", unit)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise SourceError("malformed_label", f"{where}: fraction {fraction!r}", unit)
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise SourceError(
                "malformed_label", f"{where}: fraction {fraction} of {genus} not in (0, 1]", unit
            )
        shares[genus] = float(fraction)
    total = sum(shares.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise SourceError("malformed_label", f"{where}: fractions sum to {total:.3f}, not 1", unit)
    return shares


def leaf_type(shares: dict[str, float]) -> str:
    """Return ``coniferous``, ``broadleaved``, ``mixed`` or ``cleared`` for a patch's genera."""
    trees = [g for g in shares if g != "Cleared"]
    if not trees:
        return "cleared"
    conifer = [g in CONIFERS for g in trees]
    if all(conifer):
        return "coniferous"
    return "broadleaved" if not any(conifer) else "mixed"
