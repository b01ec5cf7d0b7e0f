"""Audit rules for the tree-species family (TreeSatAI): re-derive each answer from the labels.

What they read: ``labels.classes`` (the genera of the patch) and ``labels.properties
["genus_shares"]`` (JSON genus → area fraction). Genera are recognised in the text by their
Latin names (``Quercus``), cleared ground by the word ``cleared``. Rules never import a
template builder: they re-derive the answer with their own code.
"""

from __future__ import annotations

import json
import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule

_TREES = (
    "Abies Acer Alnus Betula Fagus Fraxinus Larix Picea Pinus Populus Prunus Pseudotsuga "
    "Quercus Tilia"
).split()
_GENUS = re.compile(r"\b(" + "|".join(_TREES) + r")\b")
_CLEARED = re.compile(r"\bcleared\b", re.IGNORECASE)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_MARGIN = 0.05


def _shares(item: AuditItem) -> dict[str, float] | None:
    try:
        data = json.loads(item.labels.properties.get("genus_shares", ""))
    except ValueError:
        return None
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else None


def _named(text: str) -> set[str]:
    found = set(_GENUS.findall(text))
    return found | ({"Cleared"} if _CLEARED.search(text) else set())


def _asked_genus(item: AuditItem) -> tuple[str | None, list[str]]:
    asked = set(_GENUS.findall(" ".join(item.questions)))
    if len(asked) != 1:
        return None, [f"asked_genera:{len(asked)}"]
    return asked.pop(), []


def genera(item: AuditItem) -> list[str]:
    """``treesatai_genera``: the genera named must be exactly the patch's classes."""
    shares = _shares(item)
    if not shares:
        return ["no_genus_shares"]
    problems = []
    if set(shares) != set(item.labels.classes):
        problems.append("shares_disagree_with_classes")
    said = _named(" ".join(item.answers))
    if said != set(shares):
        missing = sorted(set(shares) - said)
        extra = sorted(said - set(shares))
        problems.append(f"wrong_genera:missing={','.join(missing)}:extra={','.join(extra)}")
    problems += _percent_problems(item, shares)
    return problems


def _percent_problems(item: AuditItem, shares: dict[str, float]) -> list[str]:
    """Every ``<genus> … N %`` stated must be within 2.5 points of the genus's share."""
    problems = []
    for answer in item.answers:
        for match in re.finditer(r"\b(" + "|".join(_TREES) + r")\b[^%]*?(\d+) %", answer):
            genus, stated = match.group(1), float(match.group(2))
            if genus not in shares or abs(stated - shares[genus] * 100) > 2.5 + 1e-9:
                problems.append(f"wrong_share:{genus}:{stated:g}")
    return problems


def dominant(item: AuditItem) -> list[str]:
    """``treesatai_dominant``: the one genus named must hold the largest fraction, clearly."""
    shares = _shares(item)
    if not shares:
        return ["no_genus_shares"]
    ranked = sorted(shares.values(), reverse=True)
    top = max(shares, key=lambda g: shares[g])
    problems = []
    if top == "Cleared":
        problems.append("dominant_is_cleared")
    if len(ranked) > 1 and ranked[0] - ranked[1] < _MARGIN:
        problems.append("dominant_not_clear")
    said = set(_GENUS.findall(" ".join(item.answers)))
    if said != {top}:
        problems.append(f"wrong_dominant:{','.join(sorted(said))}!={top}")
    for stated in _PERCENT.findall(" ".join(item.answers)):
        if abs(float(stated) - shares[top] * 100) > 2.5 + 1e-9:
            problems.append(f"wrong_share:{top}:{stated}")
    return problems


def presence(item: AuditItem) -> list[str]:
    """``treesatai_presence``: Yes exactly when the asked genus has a fraction."""
    shares = _shares(item)
    if shares is None:
        return ["no_genus_shares"]
    genus, problems = _asked_genus(item)
    if genus is None:
        return problems
    match = _YES_NO.match(item.answers[0]) if item.answers else None
    if not match:
        return ["no_yes_no"]
    said = match.group(1).lower() == "yes"
    if said != (genus in shares):
        problems.append(f"wrong_yes_no:{genus}:{'yes' if said else 'no'}")
    return problems


def share(item: AuditItem) -> list[str]:
    """``treesatai_share``: the percentage must be a multiple of 5 within 2.5 of the share."""
    shares = _shares(item)
    if shares is None:
        return ["no_genus_shares"]
    genus, problems = _asked_genus(item)
    if genus is None:
        return problems
    if genus not in shares:
        return [f"asked_absent_genus:{genus}"]
    stated = [float(v) for v in _PERCENT.findall(" ".join(item.answers))]
    if len(stated) != 1:
        return [f"percentages_stated:{len(stated)}"]
    value = stated[0]
    if value % 5 or abs(value - shares[genus] * 100) > 2.5 + 1e-9:
        problems.append(f"wrong_share:{genus}:{value:g}:{shares[genus]:.3f}")
    return problems


RULES: dict[str, Rule] = {
    "treesatai_genera": genera,
    "treesatai_dominant": dominant,
    "treesatai_presence": presence,
    "treesatai_share": share,
}
"""Template id → rule."""
