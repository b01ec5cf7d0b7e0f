"""Audit rules for the detection task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

SatlasPretrain objects are points and polygons; line features (roads, railways, rivers,
runways) are never referred to, identified, boxed or counted. A label is a line when its
WKT is a ``LINESTRING`` (pairs audited beside their samples), when the sample's
``line_categories[:<role>]`` property names its category (corpus rows, which carry no WKT),
or when its category is one of SatlasPretrain's polyline categories.

Boxes are checked on the answer's grid (0..100 of the image): each object's pixel box
rounded outwards (floor the low corner, ceil the high one, at least one cell wide).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.records import ObjectLabel

GRID = 100
"""The box grid of the answers (EarthDial's 0..100)."""

POLYLINE_CATEGORIES = frozenset(
    {"road", "railway", "river", "airport_runway", "airport_taxiway", "raceway"}
)
"""SatlasPretrain's ``polyline_bin_segment`` categories."""

KNOWN_CATEGORIES = frozenset(
    """wind_turbine lighthouse mineshaft aerialway_pylon helipad fountain toll_booth chimney
    communications_tower flagpole petroleum_well water_tower offshore_wind_turbine
    offshore_platform power_tower aquafarm lock dam solar_farm power_plant gas_station park
    parking_garage parking_lot landfill quarry stadium airport airport_apron airport_hangar
    airport_terminal ski_resort theme_park storage_tank silo track wastewater_plant
    power_substation pier crop water_park ms_building rooftop_solar_panel airplane
    vessel""".split()
)
"""SatlasPretrain's point, polygon and detection categories (a question may name one the
labels lack: counting it is then unfounded)."""

Cell = tuple[int, int, int, int]

_BOX = re.compile(r"\[\[\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*-?\d+\s*\]\]")
_REF_BOX = re.compile(r"<ref>(.*?)</ref>\s*<box>(.*?)</box>", re.DOTALL)
_REF = re.compile(r"<ref>(.*?)</ref>", re.DOTALL)
_WORDS = {
    "no": 0, "none": 0, "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip


def _cells(text: str) -> list[Cell]:
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in _BOX.findall(text)]


def _cell(bbox: tuple[float, ...], size: tuple[int, int]) -> Cell:
    """A pixel box on the answer grid, rounded outwards."""
    width, height = size
    x1 = min(max(math.floor(bbox[0] * GRID / width), 0), GRID - 1)
    y1 = min(max(math.floor(bbox[1] * GRID / height), 0), GRID - 1)
    x2 = max(min(math.ceil(bbox[2] * GRID / width), GRID), x1 + 1)
    y2 = max(min(math.ceil(bbox[3] * GRID / height), GRID), y1 + 1)
    return (x1, y1, x2, y2)


def _lines(item: AuditItem) -> set[str]:
    found = set(POLYLINE_CATEGORIES)
    for key, value in item.labels.properties.items():
        if key.split(":")[0] == "line_categories":
            found.update(c.strip() for c in value.split(",") if c.strip())
    return found


def _is_line(obj: ObjectLabel, lines: set[str]) -> bool:
    kind = obj.polygon_wkt.strip().split("(")[0].strip().upper()
    if kind:
        return "LINESTRING" in kind
    return obj.category in lines


def _spoken(category: str) -> set[str]:
    """Ways an answer may write a category: ``wind turbine(s)``, ``building`` for ms_building."""
    base = category.replace("_", " ").lower()
    names = {base}
    if category == "ms_building":
        names.add("building")
    if category == "crop":
        names.add("crop field")
    if category == "lock":
        names.add("canal lock")
    out = set()
    for name in names:
        out |= {name, name + "s", name + "es", name[:-1] + "ies" if name.endswith("y") else name}
        if name == "person" or name.endswith(" person"):
            out.add(name[: -len("person")] + "people")
    return out


def _normal(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "


def _named(text: str, categories: Iterable[str]) -> list[str]:
    """Categories a text names (longest names first, each only once)."""
    folded = _normal(text)
    found = []
    for category in sorted(set(categories), key=lambda c: -len(c)):
        spoken = sorted(_spoken(category), key=len, reverse=True)
        hit = next((s for s in spoken if f" {s} " in folded), None)
        if hit:
            found.append(category)
            folded = folded.replace(f" {hit} ", " ")
    return found


def _image(item: AuditItem) -> tuple[str, tuple[int, int]] | None:
    if len(item.image_roles) != 1 or item.image_roles[0] not in item.image_sizes:
        return None
    role = item.image_roles[0]
    return role, item.image_sizes[role]


def _objects(item: AuditItem, role: str) -> list[ObjectLabel]:
    return [o for o in item.labels.objects if o.image_role == role]


def _expected_cells(objects: list[ObjectLabel], category: str, size: tuple[int, int]) -> list[Cell]:
    cells = {_cell(o.bbox, size) for o in objects if o.category == category}
    return sorted(cells, key=lambda c: (c[1], c[0], c[3], c[2]))


def refer_rule(item: AuditItem) -> list[str]:
    """The boxes are those of every object of the named category on the image, none a line."""
    shown = _image(item)
    if shown is None:
        return ["image_roles:not_one_image"]
    role, size = shown
    refs = _REF.findall(item.questions[0]) if item.questions else []
    objects = _objects(item, role)
    lines = _lines(item)
    categories = _named(" ".join(refs), {o.category for o in objects} | lines)
    if len(categories) != 1:
        return [f"referred_category_unknown:{' '.join(refs)}"]
    category = categories[0]
    if category in lines or any(_is_line(o, lines) for o in objects if o.category == category):
        return [f"referred_line:{category}"]
    want = _expected_cells(objects, category, size)
    got = _cells(" ".join(item.answers))
    if sorted(got) != sorted(want):
        return [f"boxes_mismatch:{category}:{len(got)}!={len(want)}"]
    return []


def identify_rule(item: AuditItem) -> list[str]:
    """The answer names the category of the (non-line) object at the asked box."""
    shown = _image(item)
    if shown is None:
        return ["image_roles:not_one_image"]
    role, size = shown
    asked = _cells(item.questions[0]) if item.questions else []
    if len(asked) != 1:
        return ["question_box_count"]
    lines = _lines(item)
    there = [o for o in _objects(item, role) if _cell(o.bbox, size) == asked[0]]
    if not there:
        return ["no_object_at_box"]
    if any(_is_line(o, lines) for o in there):
        return [f"identified_line:{there[0].category}"]
    truth = {o.category for o in there}
    if len(truth) > 1:
        return ["ambiguous_box"]
    answer = " ".join(item.answers)
    named = _named(answer, set(truth) | {o.category for o in item.labels.objects})
    if not named:
        return [f"category_missing:{next(iter(truth))}"]
    wrong = [c for c in named if c not in truth]
    return [f"wrong_category:{c}" for c in wrong]


def grounding_rule(item: AuditItem) -> list[str]:
    """Every non-line category of the image is boxed exactly; no line feature gets a box."""
    shown = _image(item)
    if shown is None:
        return ["image_roles:not_one_image"]
    role, size = shown
    objects = _objects(item, role)
    lines = _lines(item)
    line_cats = {o.category for o in objects if _is_line(o, lines)} | lines
    solid = {o.category for o in objects if not _is_line(o, lines)}
    answer = " ".join(item.answers)
    problems: list[str] = []
    seen: set[str] = set()
    for ref, boxes in _REF_BOX.findall(answer):
        named = _named(ref, solid | line_cats)
        if len(named) != 1:
            problems.append(f"unknown_ref:{ref}")
            continue
        category = named[0]
        if category in line_cats and category not in solid:
            problems.append(f"grounding_box_for_line:{category}")
            continue
        seen.add(category)
        want = _expected_cells(objects, category, size)
        if sorted(_cells(boxes)) != sorted(want):
            problems.append(f"boxes_mismatch:{category}")
        number = _number(ref)
        if number is not None and number != len(want):
            problems.append(f"count_mismatch:{category}:{number}!={len(want)}")
    problems += [f"missing_category:{c}" for c in sorted(solid - seen)]
    if len(_cells(answer)) != sum(len(_cells(b)) for _, b in _REF_BOX.findall(answer)):
        problems.append("box_outside_ref")
    return problems


def _number(text: str) -> int | None:
    """The first count written in a text, in digits or words (``no``/``none`` → 0)."""
    for token in re.findall(r"[a-z]+|\d+", text.lower()):
        if token.isdigit():
            return int(token)
        if token in _WORDS and token not in ("a", "an"):
            return _WORDS[token]
    return None


def count_rule(item: AuditItem) -> list[str]:
    """The count is that of the named category's objects on the image; lines are not counted."""
    shown = _image(item)
    if shown is None:
        return ["image_roles:not_one_image"]
    role, _ = shown
    objects = _objects(item, role)
    lines = _lines(item)
    props = item.labels.properties
    absent = {
        c.strip()
        for key in (f"absent_categories:{role}", "absent_categories")
        if key != "absent_categories" or props.get("static_image_role") == role
        for c in props.get(key, "").split(",")
        if c.strip()
    }
    question = item.questions[0] if item.questions else ""
    known = {o.category for o in item.labels.objects} | absent | lines | KNOWN_CATEGORIES
    named = _named(question, known)
    if len(named) != 1:
        return [f"counted_category_unknown:{question}"]
    category = named[0]
    if category in lines or any(_is_line(o, lines) for o in objects if o.category == category):
        return [f"counted_lines:{category}"]
    truth = sum(1 for o in objects if o.category == category)
    if truth == 0 and category not in absent:
        return [f"count_unannotated:{category}"]
    said = _number(" ".join(item.answers))
    if said is None:
        return ["count_missing"]
    if said != truth:
        return [f"count_mismatch:{category}:{said}!={truth}"]
    return []


_KINDS = re.compile(r"\b([a-z]+|\d+) kinds? of object", re.IGNORECASE)


def _bbox_area(obj: ObjectLabel) -> float:
    return (obj.bbox[2] - obj.bbox[0]) * (obj.bbox[3] - obj.bbox[1])


def _dialogue_kinds(answer: str, solid: set[str], lines: set[str]) -> list[str]:
    """Turn 1: every object category of the image is named, no line feature, the kinds counted."""
    named = set(_named(answer, solid | lines | KNOWN_CATEGORIES))
    problems = [f"missing_category:{c}" for c in sorted(solid - named)]
    problems += [f"category_not_on_image:{c}" for c in sorted(named - solid)]
    stated = _KINDS.search(answer)
    if stated:
        word = stated.group(1).lower()
        number = int(word) if word.isdigit() else _WORDS.get(word)
        if number != len(solid):
            problems.append(f"kinds_count:{word}!={len(solid)}")
    return problems


def dialogue_rule(item: AuditItem) -> list[str]:
    """``satlas_dialogue``: kinds of objects → where the most numerous are → how many → largest.

    Turn 1 names every object category of the image (no line feature); turn 2 asks about a
    category named in turn 1 with as many objects as any other, and boxes every one of them;
    a later answer without boxes counts them, one with a box gives the clearly largest (by
    pixel box area) of them.
    """
    shown = _image(item)
    if shown is None:
        return ["image_roles:not_one_image"]
    role, size = shown
    if len(item.answers) < 2 or len(item.questions) != len(item.answers):
        return ["dialogue_turns:too_few"]
    objects = _objects(item, role)
    lines = _lines(item)
    solid = {o.category for o in objects if not _is_line(o, lines)}
    problems = [f"turn1:{p}" for p in _dialogue_kinds(item.answers[0], solid, lines)]
    asked = _named(" ".join(_REF.findall(item.questions[1])), solid | lines | KNOWN_CATEGORIES)
    if len(asked) != 1:
        return [*problems, f"turn2:asked_category_unknown:{item.questions[1]}"]
    category = asked[0]
    if category not in _named(item.answers[0], solid | lines | KNOWN_CATEGORIES):
        problems.append(f"turn2:not_from_turn1:{category}")
    if category not in solid:
        return [*problems, f"turn2:not_an_object_category:{category}"]
    members = [o for o in objects if o.category == category]
    most = max(sum(1 for o in objects if o.category == c) for c in solid)
    if len(members) != most:
        problems.append(f"turn2:not_most_numerous:{category}:{len(members)}<{most}")
    want = _expected_cells(objects, category, size)
    got = _cells(item.answers[1])
    if got != want or len(want) != len(members):
        problems.append(f"turn2:boxes_mismatch:{category}:{len(got)}!={len(members)}")
    stated = _number(" ".join(_REF.findall(item.answers[1])))
    if stated is not None and stated != len(members):
        problems.append(f"turn2:count_mismatch:{stated}!={len(members)}")
    for i, answer in enumerate(item.answers[2:], start=3):
        cells = _cells(answer)
        if not cells:
            said = _number(answer)
            if said != len(members) or said != len(got):
                problems.append(f"turn{i}:count_mismatch:{said}!={len(members)}")
            continue
        ranked = sorted(members, key=_bbox_area, reverse=True)
        if len(ranked) < 2 or _bbox_area(ranked[0]) <= _bbox_area(ranked[1]):
            problems.append(f"turn{i}:no_largest:{category}")
        elif cells != [_cell(ranked[0].bbox, size)]:
            problems.append(f"turn{i}:not_largest:{category}")
    return problems


RULES: dict[str, Rule] = {
    "satlas_refer": refer_rule,
    "satlas_identify": identify_rule,
    "satlas_grounding": grounding_rule,
    "satlas_count": count_rule,
    "satlas_dialogue": dialogue_rule,
}
"""Template id → rule."""
