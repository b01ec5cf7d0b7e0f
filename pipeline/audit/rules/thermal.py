"""Audit rules for the thermal task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

What they read: the temperature figures the STAC adapter stores at ingest in
``labels.properties`` (``lst_mean_c``, ``lst_p10_c``, ``lst_p90_c`` and
``lst_quadrant_means_c``, a JSON object of quarter name → mean °C). The rule re-derives the
warmest quarter (the largest quarter mean; named by compass or by its place in the north-up
image, ``top left`` = ``north-west``) and the contrast class from the 10th–90th
percentile spread (strong from 8 °C, moderate from 4 °C, weak below, as the template family
documents), and checks the mean and the spread the answer states. A pair must show only the
thermal image; an answer must not name the band, the platform or a date; a question asked as
yes/no must be answered Yes or No.
"""

from __future__ import annotations

import json
import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule

QUARTERS: tuple[str, ...] = ("north-west", "north-east", "south-west", "south-east")
_SPREAD_CLASSES: tuple[tuple[float, str], ...] = ((8.0, "strong"), (4.0, "moderate"))
_DEGREES = re.compile(r"(-?\d+)(?:\.(\d+))?\s*°C")
_CLASS = re.compile(r"\b(weak|moderate|strong)\b", re.IGNORECASE)
_QUARTER = re.compile(r"\b(north|south)-(west|east)\b", re.IGNORECASE)
_POSITION = re.compile(r"\b(top|bottom)[ -](left|right)\b", re.IGNORECASE)
_COMPASS = {"top": "north", "bottom": "south", "left": "west", "right": "east"}
_YES_NO_QUESTION = re.compile(r"^(is|are|does|do|did|was|were|has|have|can|could)\b", re.I)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_METADATA = {
    "band": re.compile(r"\bST_B\d+|\bband\b|\bB10\b", re.I),
    "platform": re.compile(r"Landsat|TIRS|\bOLI\b", re.I),
    "date": re.compile(r"\b(?:19|20)\d\d-\d\d-\d\d\b"),
}


def _contrast(spread: float) -> str:
    return next((name for low, name in _SPREAD_CLASSES if spread >= low), "weak")


def _degrees(text: str) -> list[tuple[float, int]]:
    out = []
    for m in _DEGREES.finditer(text):
        decimals = m.group(2) or ""
        out.append((float(m.group(1) + (f".{decimals}" if decimals else "")), len(decimals)))
    return out


def summary(item: AuditItem) -> list[str]:
    """``uhi_summary``: mean, warmest quarter, contrast class and spread vs the chip figures."""
    props = item.labels.properties
    text = " ".join(item.answers)
    problems = [f"metadata_answer:{name}" for name, rx in _METADATA.items() if rx.search(text)]
    if len(item.image_roles) != 1 or item.image_roles[0] != "thermal":
        problems.append(f"not_the_thermal_image:{'+'.join(item.image_roles)}")
    for question, answer in zip(item.questions, item.answers, strict=False):
        if _YES_NO_QUESTION.match(question) and not _YES_NO.match(answer):
            problems.append("yes_no_question_without_yes_no")
    try:
        mean = float(props["lst_mean_c"])
        spread = float(props["lst_p90_c"]) - float(props["lst_p10_c"])
        quarters = {k: float(v) for k, v in json.loads(props["lst_quadrant_means_c"]).items()}
    except (KeyError, ValueError, TypeError, AttributeError):
        return [*problems, "no_temperature_figures"]
    if set(quarters) != set(QUARTERS):
        return [*problems, "bad_quadrant_figures"]
    warmest = max(QUARTERS, key=lambda q: quarters[q])
    named = {f"{a}-{b}".lower() for a, b in _QUARTER.findall(text)}
    named |= {f"{_COMPASS[a.lower()]}-{_COMPASS[b.lower()]}" for a, b in _POSITION.findall(text)}
    if not named:
        problems.append("no_warmest_quarter")
    problems += [f"wrong_quarter:{q}!={warmest}" for q in sorted(named) if q != warmest]
    classes = {c.lower() for c in _CLASS.findall(text)}
    truth = _contrast(spread)
    if not classes:
        problems.append("no_contrast_class")
    problems += [f"wrong_contrast:{c}!={truth}" for c in sorted(classes) if c != truth]
    figures = _degrees(text)
    if not figures:
        problems.append("no_mean_temperature")
    else:
        value, decimals = figures[0]
        if abs(value - mean) > 0.5 * 10.0**-decimals + 1e-6:
            problems.append(f"mean_mismatch:{value:g}!={mean:.2f}")
        for value, decimals in figures[1:]:
            if abs(value - spread) > 0.5 * 10.0**-decimals + 1e-6:
                problems.append(f"spread_mismatch:{value:g}!={spread:.2f}")
    return problems


RULES: dict[str, Rule] = {
    "uhi_summary": summary,
}
"""Template id → rule."""
