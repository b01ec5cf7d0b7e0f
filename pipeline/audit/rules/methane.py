"""Audit rules for the methane task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

What they read: ``labels.properties`` of a STARCOP sample — ``has_plume`` (``true``/``false``)
and the plume mask's size stored at ingest (``plume_pixels``, ``image_pixels``,
``pixel_size_m``, ``plume_area_m2``). A plume only shows in the ``mag1c`` image, so a plume
question over any other image is a problem (``plume_not_shown``), and so is any answer that
states what the pixels cannot show: an emission rate, a flux, a platform or a date.
"""

from __future__ import annotations

import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule

MAG1C = "mag1c"

_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
_AREA = re.compile(_NUMBER + r"\s*m²")
_PERCENT = re.compile(_NUMBER + r"\s*%")
_PIXELS = re.compile(_NUMBER + r"\s+pixels?\b")
_OUT_OF = re.compile(r"(?:of the map's|out of)\s+" + _NUMBER)
_PIXEL_SIZE = re.compile(_NUMBER + r"\s*m\b(?!²)")
_METADATA = {
    "emission_rate": re.compile(r"kg\s*/\s*h|kilograms? per hour|emission rate|\bflux\b", re.I),
    "platform": re.compile(r"AVIRIS|aircraft|\bflight\b", re.I),
    "date": re.compile(r"\b(?:19|20)\d\d-\d\d-\d\d\b|\b\d{1,2}/\d{1,2}/(?:19|20)\d\d\b"),
}


def _number(match: re.Match[str]) -> tuple[float, int]:
    """A matched number and its count of decimals."""
    whole, decimals = match.group(1), match.group(2) or ""
    value = float(whole.replace(",", "") + (f".{decimals}" if decimals else ""))
    return value, len(decimals)


def _metadata_problems(answers: tuple[str, ...]) -> list[str]:
    text = " ".join(answers)
    return [
        f"metadata_answer:{name}" for name, pattern in _METADATA.items() if pattern.search(text)
    ]


def _has_plume(item: AuditItem) -> bool | None:
    value = item.labels.properties.get("has_plume", "").lower()
    return {"true": True, "false": False}.get(value)


def _common(item: AuditItem) -> list[str]:
    problems = _metadata_problems(item.answers)
    if MAG1C not in item.image_roles:
        problems.append(f"plume_not_shown:{'+'.join(item.image_roles) or 'none'}")
    return problems


def presence(item: AuditItem) -> list[str]:
    """``starcop_presence``: the Yes/No answer must match ``has_plume`` (and the mask)."""
    problems = _common(item)
    truth = _has_plume(item)
    if truth is None:
        return [*problems, "no_plume_label"]
    pixels = item.labels.properties.get("plume_pixels")
    if pixels is not None and (pixels.strip() not in ("", "0")) != truth:
        problems.append(f"plume_label_disagrees_with_mask:{pixels}")
    match = _YES_NO.match(item.answers[0]) if item.answers else None
    if not match:
        return [*problems, "no_yes_no"]
    said = match.group(1).lower() == "yes"
    if said != truth:
        problems.append(f"wrong_yes_no:methane plume:{'yes' if said else 'no'}")
    return problems


def _close(reported: float, decimals: int, truth: float, relative: float = 0.0) -> bool:
    """Whether a reported figure is the truth rounded to its decimals (or within ``relative``)."""
    tolerance = max(0.5 * 10.0**-decimals, relative * abs(truth)) + 1e-9
    return abs(reported - truth) <= tolerance


def extent(item: AuditItem) -> list[str]:
    """``starcop_extent``: area, share and pixel counts must match the mask's figures."""
    problems = _common(item)
    props = item.labels.properties
    if _has_plume(item) is not True:
        return [*problems, "extent_without_plume"]
    try:
        pixels = int(props["plume_pixels"])
        total = int(props["image_pixels"])
        area = float(props["plume_area_m2"])
        gsd = float(props["pixel_size_m"])
    except (KeyError, ValueError):
        return [*problems, "no_plume_figures"]
    if pixels <= 0 or total <= 0:
        return [*problems, "empty_plume_mask"]
    if abs(area - pixels * gsd * gsd) > 0.01 * area + 0.01:
        problems.append(f"inconsistent_plume_figures:{area}!={pixels}x{gsd}²")
    answer = " ".join(item.answers)
    areas = [_number(m) for m in _AREA.finditer(answer)]
    if not areas:
        problems.append("no_area")
    # areas are rounded to three significant figures (0.5 % relative)
    problems += [
        f"area_mismatch:{v:g}!={area:g}" for v, d in areas if not _close(v, d, area, 0.005)
    ]
    share = 100.0 * pixels / total
    for value, decimals in (_number(m) for m in _PERCENT.finditer(answer)):
        if not _close(value, decimals, share):
            problems.append(f"share_mismatch:{value:g}!={share:.2f}")
    for value, _ in (_number(m) for m in _PIXELS.finditer(answer)):
        if int(value) != pixels:
            problems.append(f"count_mismatch:plume pixels:{int(value)}!={pixels}")
    for value, _ in (_number(m) for m in _OUT_OF.finditer(answer)):
        if int(value) != total:
            problems.append(f"count_mismatch:image pixels:{int(value)}!={total}")
    question = " ".join(item.questions)
    stated = [_number(m) for m in _PIXEL_SIZE.finditer(question)]
    if not stated:
        problems.append("pixel_size_not_given")
    problems += [f"pixel_size_mismatch:{v:g}!={gsd:g}" for v, d in stated if not _close(v, d, gsd)]
    return problems


RULES: dict[str, Rule] = {
    "starcop_presence": presence,
    "starcop_extent": extent,
}
"""Template id → rule."""
