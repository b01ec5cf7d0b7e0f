"""Audit rules for the local-climate-zone family (So2Sat LCZ42): re-derive each answer.

What they read: the sample's one class, a zone name of Stewart and Oke's 17 local climate zones.
From it, with a table of its own (LCZ definitions, Stewart and Oke 2012): built (1–10) or
natural (A–G), compact or open fabric (1–6), building height (1–8). Rules never import a
template builder.
"""

from __future__ import annotations

import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule

# zone name -> (built, arrangement, height)
_ZONES: dict[str, tuple[bool, str, str]] = {
    "Compact high-rise": (True, "compact", "high-rise"),
    "Compact mid-rise": (True, "compact", "mid-rise"),
    "Compact low-rise": (True, "compact", "low-rise"),
    "Open high-rise": (True, "open", "high-rise"),
    "Open mid-rise": (True, "open", "mid-rise"),
    "Open low-rise": (True, "open", "low-rise"),
    "Lightweight low-rise": (True, "", "low-rise"),
    "Large low-rise": (True, "", "low-rise"),
    "Sparsely built": (True, "", ""),
    "Heavy industry": (True, "", ""),
    "Dense trees": (False, "", ""),
    "Scattered trees": (False, "", ""),
    "Bush, scrub": (False, "", ""),
    "Low plants": (False, "", ""),
    "Bare rock or paved": (False, "", ""),
    "Bare soil or sand": (False, "", ""),
    "Water": (False, "", ""),
}
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_HEIGHT = re.compile(r"\b(high|mid|low)-rise\b", re.IGNORECASE)
_FORM = re.compile(r"\b(compact|open)", re.IGNORECASE)


def _zone(item: AuditItem) -> tuple[str, tuple[bool, str, str]] | None:
    if len(item.labels.classes) != 1 or item.labels.classes[0] not in _ZONES:
        return None
    name = item.labels.classes[0]
    return name, _ZONES[name]


def _yes(item: AuditItem) -> bool | None:
    match = _YES_NO.match(item.answers[0]) if item.answers else None
    return None if match is None else match.group(1).lower() == "yes"


def classify(item: AuditItem) -> list[str]:
    """``so2sat_lcz``: the answer names exactly the sample's zone."""
    zone = _zone(item)
    if zone is None:
        return ["no_lcz_label"]
    text = " ".join(item.answers).casefold()
    named = {n for n in _ZONES if n.casefold() in text}
    return [] if named == {zone[0]} else [f"wrong_zone:{'|'.join(sorted(named))}!={zone[0]}"]


def built(item: AuditItem) -> list[str]:
    """``so2sat_built``: Yes when the kind asked (built-up / natural) is the zone's."""
    zone = _zone(item)
    if zone is None:
        return ["no_lcz_label"]
    question = " ".join(item.questions).casefold()
    asks_built, asks_natural = "built-up" in question, "natural" in question
    if asks_built == asks_natural:
        return ["asked_kind_unclear"]
    said = _yes(item)
    if said is None:
        return ["no_yes_no"]
    truth = zone[1][0] if asks_built else not zone[1][0]
    return [] if said == truth else [f"wrong_yes_no:built:{'yes' if said else 'no'}"]


def height(item: AuditItem) -> list[str]:
    """``so2sat_height``: Yes when the height class asked is the zone's; none other stated."""
    zone = _zone(item)
    if zone is None:
        return ["no_lcz_label"]
    truth = zone[1][2]
    if not truth:
        return ["zone_has_no_height"]
    asked = {f"{h.lower()}-rise" for h in _HEIGHT.findall(" ".join(item.questions))}
    if len(asked) != 1:
        return [f"asked_heights:{len(asked)}"]
    said = _yes(item)
    if said is None:
        return ["no_yes_no"]
    problems = []
    if said != (asked.pop() == truth):
        problems.append(f"wrong_yes_no:height:{'yes' if said else 'no'}")
    stated = {f"{h.lower()}-rise" for h in _HEIGHT.findall(" ".join(item.answers))}
    if stated - {truth}:
        problems.append(f"wrong_height_stated:{','.join(sorted(stated - {truth}))}")
    return problems


def compact(item: AuditItem) -> list[str]:
    """``so2sat_compact``: Yes when the arrangement asked (compact/open) is the zone's."""
    zone = _zone(item)
    if zone is None:
        return ["no_lcz_label"]
    truth = zone[1][1]
    if not truth:
        return ["zone_has_no_arrangement"]
    asked = {f.lower() for f in _FORM.findall(" ".join(item.questions))}
    if len(asked) != 1:
        return [f"asked_forms:{len(asked)}"]
    said = _yes(item)
    if said is None:
        return ["no_yes_no"]
    problems = []
    if said != (asked.pop() == truth):
        problems.append(f"wrong_yes_no:form:{'yes' if said else 'no'}")
    stated = {f.lower() for f in _FORM.findall(" ".join(item.answers))}
    if stated - {truth}:
        problems.append(f"wrong_form_stated:{','.join(sorted(stated - {truth}))}")
    return problems


RULES: dict[str, Rule] = {
    "so2sat_lcz": classify,
    "so2sat_built": built,
    "so2sat_height": height,
    "so2sat_compact": compact,
}
"""Template id → rule."""
