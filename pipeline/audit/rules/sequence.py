"""Audit rules for change pairs and image sequences: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

What they read:

- STAC series: ``series_roles`` (``t0/t1/…``, oldest first) and ``ndvi_mean:t<i>``. The pair
  must show exactly those roles in that order. A change in mean NDVI of at least 0.1 between
  the first and the last image is "greener"/"less green", a smaller one "no clear change";
  the greenest image must lead the next by 0.1. Every decimal number the answer states must be
  one of the means (two decimals).
- Satlas series: the date roles ``t<i>`` of the images shown must be every date, in order,
  ending with ``static_image_role`` (the image the land-cover labels describe); the dominant
  class and its share are checked as for the single-image template.
- QuakeSet sequences: ``earthquake`` must be ``yes`` and the pair must show ``before``,
  ``pre``, ``post``; the question names one interval ("first and the second" or "second and
  the third"), and the answer is yes exactly for the second one (``pre`` → ``post``).

No answer may state a date or the platform: the images show neither.
"""

from __future__ import annotations

import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.audit.rules.landcover import satlas_dominant

_THRESHOLD = 0.1
_POSITIONS = ("first", "second", "third", "fourth", "fifth")
_VERDICT = re.compile(r"\b(greener|less green|no clear change)\b", re.I)
_POSITION = re.compile(r"\b(first|second|third|fourth|fifth)\b", re.I)
_DECIMAL = re.compile(r"(?<![\d.])-?\d+\.\d+")
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.I)
_INTERVAL = re.compile(r"between the (first and the second|second and the third)\b", re.I)
_METADATA = {
    "platform": re.compile(r"Sentinel|Landsat|\bS[12][AB]?\b", re.I),
    "date": re.compile(
        r"\b(?:19|20)\d\d-\d\d-\d\d\b|\b(?:January|February|March|April|May|June|July|August|"
        r"September|October|November|December)\b"
    ),
}


def _metadata(item: AuditItem) -> list[str]:
    text = " ".join(item.answers)
    return [f"metadata_answer:{name}" for name, rx in _METADATA.items() if rx.search(text)]


def _series(item: AuditItem) -> tuple[list[str], list[float] | None, list[str]]:
    """(roles, NDVI means or None, problems) of a STAC series pair."""
    props = item.labels.properties
    roles = [r for r in props.get("series_roles", "").split("/") if r]
    problems = _metadata(item)
    if len(roles) < 2:
        return roles, None, [*problems, "no_series_roles"]
    if list(item.image_roles) != roles:
        problems.append(f"wrong_images:{'+'.join(item.image_roles)}!={'+'.join(roles)}")
    try:
        means = [float(props[f"ndvi_mean:{r}"]) for r in roles]
    except (KeyError, ValueError):
        return roles, None, [*problems, "no_ndvi"]
    return roles, means, problems


def _numbers(item: AuditItem, allowed: set[str]) -> list[str]:
    said = _DECIMAL.findall(" ".join(item.answers))
    return [f"unknown_figure:{n}" for n in said if n not in allowed]


def vegetation_change(item: AuditItem) -> list[str]:
    """``stac_vegetation_change``: the verdict follows the NDVI change first → last."""
    _, means, problems = _series(item)
    if means is None:
        return problems
    change = means[-1] - means[0]
    if abs(change) < _THRESHOLD - 1e-9:
        truth = "no clear change"
    else:
        truth = "greener" if change > 0 else "less green"
    said = {m.lower() for m in _VERDICT.findall(" ".join(item.answers))}
    if not said:
        problems.append("no_verdict")
    elif said != {truth}:
        problems.append(f"wrong_verdict:{'+'.join(sorted(said))}!={truth}")
    allowed = {f"{means[0]:.2f}", f"{means[-1]:.2f}", f"{_THRESHOLD:g}"}
    return problems + _numbers(item, allowed)


def greenest_image(item: AuditItem) -> list[str]:
    """``stac_greenest_image``: the first position named is the image of highest NDVI."""
    _, means, problems = _series(item)
    if means is None:
        return problems
    order = sorted(range(len(means)), key=lambda i: means[i], reverse=True)
    if means[order[0]] - means[order[1]] < _THRESHOLD - 1e-9:
        problems.append("unverifiable:no_clear_lead")
    said = _POSITION.findall(" ".join(item.answers))
    if not said:
        return [*problems, "no_position"]
    if said[0].lower() != _POSITIONS[order[0]]:
        problems.append(f"wrong_image:{said[0].lower()}!={_POSITIONS[order[0]]}")
    return problems + _numbers(item, {f"{m:.2f}" for m in means})


def satlas_sequence(item: AuditItem) -> list[str]:
    """``satlas_sequence_landcover``: all dates in order, the labelled newest last."""
    problems = _metadata(item)
    roles = list(item.image_roles)
    expected = [f"t{i}" for i in range(len(roles))]
    if len(roles) < 2 or roles != expected:
        problems.append(f"not_a_date_sequence:{'+'.join(roles)}")
    dates = {r for r in item.image_sizes if re.fullmatch(r"t\d+", r)}
    if dates and dates != set(roles):
        problems.append(f"dates_left_out:{'+'.join(sorted(dates - set(roles)))}")
    newest = item.labels.properties.get("static_image_role", "")
    if not roles or newest != roles[-1]:
        problems.append(f"labels_not_on_last_image:{newest}")
    return problems + satlas_dominant(item)


def quakeset_interval(item: AuditItem) -> list[str]:
    """``quakeset_sequence_interval``: yes exactly when the interval asked is pre → post."""
    problems = _metadata(item)
    if tuple(item.image_roles) != ("before", "pre", "post"):
        problems.append(f"wrong_images:{'+'.join(item.image_roles)}")
    if item.labels.properties.get("earthquake", "").lower() != "yes":
        return [*problems, "not_an_earthquake_sequence"]
    asked = _INTERVAL.search(item.questions[0]) if item.questions else None
    if asked is None:
        return [*problems, "no_interval_in_question"]
    truth = asked.group(1).lower() == "second and the third"
    match = _YES_NO.match(item.answers[0]) if item.answers else None
    if match is None:
        return [*problems, "no_yes_no"]
    if (match.group(1).lower() == "yes") != truth:
        problems.append(f"wrong_yes_no:interval:{match.group(1).lower()}")
    return problems


RULES: dict[str, Rule] = {
    "stac_vegetation_change": vegetation_change,
    "stac_greenest_image": greenest_image,
    "satlas_sequence_landcover": satlas_sequence,
    "quakeset_sequence_interval": quakeset_interval,
}
"""Template id → rule."""
