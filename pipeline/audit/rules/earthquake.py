"""Audit rules for the earthquake task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

What they read: ``labels.properties`` of a QuakeSet sample — ``earthquake`` (``yes`` for a
``pre``/``post`` pair around an earthquake, ``no`` for a ``before``/``pre`` hard negative) and
``pair`` (the two image roles compared, earlier first). The pair must show exactly those two
images, in that order, and no answer may state the magnitude, the platform or a date, which
the pixels do not show.
"""

from __future__ import annotations

import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule

_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_METADATA = {
    "magnitude": re.compile(r"magnitude|\bM\s?\d(?:\.\d)?\b|\bM[wl]\s?\d", re.I),
    "platform": re.compile(r"Sentinel|\bS1[AB]?\b", re.I),
    "date": re.compile(
        r"\b(?:19|20)\d\d-\d\d-\d\d\b|\b(?:January|February|March|April|May|June|July|August|"
        r"September|October|November|December)\s+\d{1,2}\b|\b\d{1,2}\s+(?:January|February|"
        r"March|April|May|June|July|August|September|October|November|December)\b"
    ),
}


def occurred(item: AuditItem) -> list[str]:
    """``quakeset_occurred``: Yes/No must match ``earthquake``; the images must be the pair."""
    props = item.labels.properties
    text = " ".join(item.answers)
    problems = [f"metadata_answer:{name}" for name, rx in _METADATA.items() if rx.search(text)]
    pair = tuple(r for r in props.get("pair", "").split("/") if r)
    if len(pair) != 2:
        problems.append("no_pair_label")
    elif tuple(item.image_roles) != pair:
        problems.append(f"wrong_images:{'+'.join(item.image_roles)}!={'+'.join(pair)}")
    truth = {"yes": True, "no": False}.get(props.get("earthquake", "").lower())
    if truth is None:
        return [*problems, "no_earthquake_label"]
    if (truth and pair[:2] == ("before", "pre")) or (not truth and pair == ("pre", "post")):
        problems.append(f"label_disagrees_with_pair:{props.get('earthquake')}:{'/'.join(pair)}")
    match = _YES_NO.match(item.answers[0]) if item.answers else None
    if not match:
        return [*problems, "no_yes_no"]
    said = match.group(1).lower() == "yes"
    if said != truth:
        problems.append(f"wrong_yes_no:earthquake:{'yes' if said else 'no'}")
    return problems


RULES: dict[str, Rule] = {
    "quakeset_occurred": occurred,
}
"""Template id → rule."""
