"""What a well-formed RSVQA answer is, for each question type of each dataset.

Facts relied on (``shared/docs/source-formats.md`` section 12; syvlo/RSVQA ``VQA_model``
train.py and its loaders, and the loaders of later RSVQA work that read the raw files):

- Question types: LR ``rural_urban``, ``presence``, ``count``, ``comp``; HR ``presence``,
  ``comp``, ``count``, ``area``.
- The answers are generated from OpenStreetMap (Lobry et al. 2020, section II-A): presence
  and comparison answers are ``yes``/``no``; rural/urban ``rural``/``urban``; a count is the
  number of OSM objects (a whole number, ``0`` included); an area is a number of square
  metres written ``<n>m2`` (``0m2`` included). Loaders bucket counts (LR: ``0``, ``between 0
  and 10`` … ``more than 1000``) and areas (``0m2``, ``between 0m2 and 10m2`` … ``more than
  1000m2``) themselves; those bucket forms are accepted too, in case a repackaging wrote
  them. No upper bound is stated for counts or areas (the top classes are open: "more
  than 1000"), so the range checked is: a whole number, not negative, no leading zero.

Anything else is malformed for its type: the question-answer pair is dropped at ingest with
the reason recorded (``labels.properties["rsvqa_dropped"]``), never shipped.
"""

from __future__ import annotations

import re

LR_TYPES: tuple[str, ...] = ("rural_urban", "presence", "count", "comp")
"""Question types of RSVQA-LR."""

HR_TYPES: tuple[str, ...] = ("presence", "comp", "count", "area")
"""Question types of RSVQA-HR."""

TYPES: dict[str, tuple[str, ...]] = {"LR": LR_TYPES, "HR": HR_TYPES}
"""Question types per dataset."""

ALL_TYPES: tuple[str, ...] = ("presence", "comp", "count", "area", "rural_urban")
"""Every question type, in the order labels list them."""

_WHOLE = r"(?:0|[1-9]\d*)"
_COUNT = re.compile(rf"{_WHOLE}|between {_WHOLE} and {_WHOLE}|more than {_WHOLE}")
_AREA = re.compile(rf"{_WHOLE}m2|between {_WHOLE}m2 and {_WHOLE}m2|more than {_WHOLE}m2")
_CLOSED: dict[str, frozenset[str]] = {
    "presence": frozenset({"yes", "no"}),
    "comp": frozenset({"yes", "no"}),
    "rural_urban": frozenset({"rural", "urban"}),
}


def answer_problem(qtype: str, answer: str) -> str:
    """Say why an answer is malformed for its question type.

    Args:
        qtype: One of :data:`ALL_TYPES`.
        answer: The answer as the answers file gives it.

    Returns:
        ``""`` when well formed; otherwise a short reason (``count_not_a_number:many``).
    """
    if qtype in _CLOSED:
        return "" if answer in _CLOSED[qtype] else f"{qtype}_not_{'_'.join(sorted(_CLOSED[qtype]))}"
    if qtype == "count":
        return "" if _COUNT.fullmatch(answer) else "count_not_a_number"
    if qtype == "area":
        return "" if _AREA.fullmatch(answer) else "area_not_m2"
    return f"unknown_type:{qtype}"
