"""Audit rules for fMoW sites: re-derive each answer from the labels and the question.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

What they read: ``series_roles`` (``t0/t1/…``, oldest first), ``timestamp:t<i>`` (ISO times
of the views), the one scene class (an fMoW category) and the object box of each view
(``labels.objects``, ``image_role`` = the view), the image sizes.

- Classification: the box in the question must be the object's box on the first image shown
  (scaled to 0–100, rounded outwards), the options the question lists must include the true
  category, and the answer must name the true category and no other.
- When questions: the dates the question lists must be exactly the view dates; the date
  answered for a position is the date at that position in time order; the image answered
  for a date is the position of that date in time order; the span is the whole months from
  the first to the last date, stated as years and months.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.sources.fmow.categories import CATEGORIES

_NAMES = sorted((c.replace("_", " ") for c in CATEGORIES), key=len, reverse=True)
_NAME_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in _NAMES) + r")(?![\w-])", re.I)
_BOX = re.compile(r"\[\[\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+)(?:,\s*-?\d+)?\s*\]\]")
_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")
_POSITIONS = ("first", "second", "third", "fourth", "fifth")
_POSITION = re.compile(r"\b(first|second|third|fourth|fifth) image\b", re.I)
_ASKED_POSITION = re.compile(r"\bthe (first|second|third|fourth|fifth) (?:image|view|one)\b", re.I)
_YEARS = re.compile(r"\b(\d+) years?\b")
_MONTHS = re.compile(r"\b(\d+) months?\b")


def _roles(item: AuditItem) -> list[str]:
    return [r for r in item.labels.properties.get("series_roles", "").split("/") if r]


def _dates(item: AuditItem) -> list[str] | None:
    try:
        dates = [item.labels.properties[f"timestamp:{r}"][:10] for r in _roles(item)]
    except KeyError:
        return None
    return sorted(dates)


def _names(text: str) -> list[str]:
    return [m.group(1).lower() for m in _NAME_RE.finditer(text)]


def _grid_box(bbox: tuple[float, ...], size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = size
    x1 = min(max(math.floor(bbox[0] * 100 / width), 0), 99)
    y1 = min(max(math.floor(bbox[1] * 100 / height), 0), 99)
    x2 = max(min(math.ceil(bbox[2] * 100 / width), 100), x1 + 1)
    y2 = max(min(math.ceil(bbox[3] * 100 / height), 100), y1 + 1)
    return x1, y1, x2, y2


def _classification(item: AuditItem, sequence: bool) -> list[str]:
    problems: list[str] = []
    roles, shown = _roles(item), list(item.image_roles)
    if sequence and (len(roles) < 2 or shown != roles):
        problems.append(f"not_the_whole_sequence:{'+'.join(shown)}")
    if not sequence and (len(shown) != 1 or shown[0] not in roles):
        problems.append(f"not_one_view:{'+'.join(shown)}")
    if len(item.labels.classes) != 1 or not shown:
        return [*problems, "no_single_category"]
    truth = item.labels.classes[0].replace("_", " ")
    question = item.questions[0] if item.questions else ""
    on_view = [o for o in item.labels.objects if o.image_role == shown[0]]
    asked = [tuple(int(v) for v in m.groups()) for m in _BOX.finditer(question)]
    if len(on_view) != 1 or shown[0] not in item.image_sizes:
        problems.append("no_box_on_first_image")
    elif asked != [_grid_box(on_view[0].bbox, item.image_sizes[shown[0]])]:
        problems.append(f"wrong_box:{asked}")
    if truth not in _names(question):
        problems.append("truth_not_in_options")
    said = set(_names(" ".join(item.answers)))
    if said != {truth}:
        problems.append(f"wrong_category:{'+'.join(sorted(said)) or 'none'}!={truth}")
    return problems


def sequence_class(item: AuditItem) -> list[str]:
    """``fmow_sequence_class``: every view shown; the boxed site's category."""
    return _classification(item, sequence=True)


def view_class(item: AuditItem) -> list[str]:
    """``fmow_view_class``: one view shown; the boxed site's category."""
    return _classification(item, sequence=False)


def _when(item: AuditItem) -> tuple[list[str], list[str], str]:
    """(sorted view dates, problems, question) of a when question."""
    problems: list[str] = []
    dates = _dates(item)
    if dates is None or not dates:
        return [], ["no_view_dates"], ""
    if list(item.image_roles) != _roles(item):
        problems.append(f"not_the_whole_sequence:{'+'.join(item.image_roles)}")
    question = item.questions[0] if item.questions else ""
    listed = Counter(_DATE.findall(question))
    if not Counter(dates) <= listed or sum((listed - Counter(dates)).values()) > 1:
        problems.append("question_dates_differ_from_views")
    said = set(_DATE.findall(" ".join(item.answers)))
    if not said <= set(dates):
        problems.append(f"unknown_date:{'+'.join(sorted(said - set(dates)))}")
    return dates, problems, question


def view_date(item: AuditItem) -> list[str]:
    """``fmow_view_date``: the date at the position asked, in time order."""
    dates, problems, question = _when(item)
    asked = _ASKED_POSITION.findall(question)
    if not dates or not asked:
        return [*problems, "no_position_asked"]
    k = _POSITIONS.index(asked[-1].lower())
    if k >= len(dates):
        return [*problems, f"position_past_the_end:{k}"]
    said = _DATE.findall(" ".join(item.answers))
    if not said or set(said) != {dates[k]}:
        problems.append(f"wrong_date:{'+'.join(said) or 'none'}!={dates[k]}")
    return problems


def image_on_date(item: AuditItem) -> list[str]:
    """``fmow_image_on_date``: the position, in time order, of the date asked."""
    dates, problems, question = _when(item)
    surplus = Counter(_DATE.findall(question)) - Counter(dates)
    if not dates or len(surplus) != 1:
        return [*problems, "no_date_asked"]
    asked = next(iter(surplus))
    if dates.count(asked) != 1:
        return [*problems, f"date_of_several_views:{asked}"]
    truth = _POSITIONS[dates.index(asked)]
    said = {p.lower() for p in _POSITION.findall(" ".join(item.answers))}
    if said != {truth}:
        problems.append(f"wrong_image:{'+'.join(sorted(said)) or 'none'}!={truth}")
    return problems


def time_span(item: AuditItem) -> list[str]:
    """``fmow_time_span``: whole years and months from the first to the last view date."""
    dates, problems, _ = _when(item)
    if not dates:
        return problems
    (y1, m1, d1), (y2, m2, d2) = ((int(v) for v in d.split("-")) for d in (dates[0], dates[-1]))
    truth = (y2 - y1) * 12 + (m2 - m1) - (1 if d2 < d1 else 0)
    text = " ".join(item.answers)
    years, months = _YEARS.findall(text), _MONTHS.findall(text)
    if len(years) > 1 or len(months) > 1 or not (years or months):
        return [*problems, "no_single_span"]
    said = 12 * int(years[0] if years else 0) + int(months[0] if months else 0)
    if said != truth:
        problems.append(f"wrong_span:{said}!={truth}_months")
    return problems


RULES: dict[str, Rule] = {
    "fmow_sequence_class": sequence_class,
    "fmow_view_class": view_class,
    "fmow_view_date": view_date,
    "fmow_image_on_date": image_on_date,
    "fmow_time_span": time_span,
}
"""Template id → rule."""
