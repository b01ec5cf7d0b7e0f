"""Audit rules for oriented objects (DIOR-R, DOTA): re-derive boxes, angles, counts and captions.

Written without the builders. Each object's outline comes from the ``outlines`` label property
(one ``x y,x y,…`` per object, ``;`` between objects, in ``labels.objects`` order), so corpus
rows are audited too. The expected box of an outline: map it onto the 0..100 grid, take
shapely's minimum rotated rectangle, fold its edge direction into ``[-45, 45)`` degrees and
round it; then the rectangle at that integer angle enclosing the outline, as its un-rotated box
``cx ∓ w/2, cy ∓ h/2`` rounded outwards and clamped to the grid. Boxes match within one unit
on each number (floating-point ties between two orientations of equal area).

A class listed in ``cut_categories`` (a DOTA object cut by the chip edge, not annotated there)
may never be referred to, counted, grounded or captioned.
"""

from __future__ import annotations

import math
import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.records import ObjectLabel

GRID = 100
RBox = tuple[int, int, int, int, int]

_BOX = re.compile(r"\[\[\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+)\s*\]\]")
_REF = re.compile(r"<ref>(.*?)</ref>", re.DOTALL)
_REF_BOX = re.compile(r"<ref>(.*?)</ref>\s*<box>(.*?)</box>", re.DOTALL)
_NUMBERS = {
    "no": 0, "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_SECTORS = (
    "to the right", "to the lower right", "below", "to the lower left", "to the left",
    "to the upper left", "above", "to the upper right",
)  # fmt: skip


def _rboxes(text: str) -> list[RBox]:
    return [tuple(int(v) for v in m) for m in _BOX.findall(text)]  # type: ignore[misc]


def _outlines(item: AuditItem) -> list[list[tuple[float, float]]] | None:
    text = item.labels.properties.get("outlines", "")
    if not text:
        return None
    shapes = []
    for part in text.split(";"):
        pts = []
        for pair in part.split(","):
            x, y = pair.split()
            pts.append((float(x), float(y)))
        shapes.append(pts)
    return shapes if len(shapes) == len(item.labels.objects) else None


def expected_box(points: list[tuple[float, float]], size: tuple[int, int]) -> RBox:
    """The oriented box of an outline on the 0..100 grid (module docstring)."""
    import shapely  # slow to import: only oriented-box pairs need it

    grid = [(x * GRID / size[0], y * GRID / size[1]) for x, y in points]
    rect = shapely.minimum_rotated_rectangle(shapely.MultiPoint(grid))
    coords = list(rect.exterior.coords) if rect.geom_type == "Polygon" else list(rect.coords)
    (ax, ay), (bx, by) = coords[0], coords[1] if len(coords) > 1 else coords[0]
    degrees = math.degrees(math.atan2(by - ay, bx - ax)) if (ax, ay) != (bx, by) else 0.0
    angle = round(((degrees + 45) % 90) - 45)
    angle = angle - 90 if angle >= 45 else angle
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    along = [x * c + y * s for x, y in grid]
    across = [y * c - x * s for x, y in grid]
    a0, a1, b0, b1 = min(along), max(along), min(across), max(across)
    ma, mb = (a0 + a1) / 2, (b0 + b1) / 2
    cx, cy = ma * c - mb * s, ma * s + mb * c
    half_w, half_h = (a1 - a0) / 2, (b1 - b0) / 2
    eps = 1e-3  # an edge this close to a grid line is on it (rounding noise of the rotation)
    x1 = min(max(math.floor(cx - half_w + eps), 0), GRID - 1)
    y1 = min(max(math.floor(cy - half_h + eps), 0), GRID - 1)
    return (
        x1,
        y1,
        max(min(math.ceil(cx + half_w - eps), GRID), x1 + 1),
        max(min(math.ceil(cy + half_h - eps), GRID), y1 + 1),
        angle,
    )


def _close(a: RBox, b: RBox) -> bool:
    return all(abs(p - q) <= 1 for p, q in zip(a, b, strict=True))


def _same_boxes(got: list[RBox], want: list[RBox]) -> bool:
    if len(got) != len(want):
        return False
    left = list(want)
    for box in got:
        match = next((w for w in left if _close(box, w)), None)
        if match is None:
            return False
        left.remove(match)
    return True


class _Scene:
    def __init__(self, item: AuditItem) -> None:
        self.problem = ""
        shapes = _outlines(item)
        self.objects: list[tuple[ObjectLabel, RBox, list[tuple[float, float]]]] = []
        self.size: tuple[int, int] = (1, 1)
        if shapes is None:
            self.problem = "outlines_missing"
            return
        if len(item.image_roles) != 1 or item.image_roles[0] not in item.image_sizes:
            self.problem = "image_roles:not_one_image"
            return
        role = item.image_roles[0]
        self.size = item.image_sizes[role]
        for obj, pts in zip(item.labels.objects, shapes, strict=True):
            if obj.image_role == role:
                self.objects.append((obj, expected_box(pts, self.size), pts))
        props = item.labels.properties
        self.cut = {c for c in props.get("cut_categories", "").split(",") if c}
        self.absent = {c for c in props.get("absent_categories", "").split(",") if c}
        self.present = {o.category for o, _, _ in self.objects}

    def boxes(self, category: str) -> list[RBox]:
        return [b for o, b, _ in self.objects if o.category == category]

    def at(self, box: RBox) -> list[tuple[ObjectLabel, RBox, list[tuple[float, float]]]]:
        return [t for t in self.objects if _close(t[1], box)]


def _spoken(category: str) -> list[str]:
    base = category.replace("_", " ")
    forms = [base + "es", base + "s", base]
    if base.endswith("y"):
        forms.insert(0, base[:-1] + "ies")
    return forms


def _named(text: str, categories: set[str]) -> list[str]:
    folded = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "
    found = []
    for category in sorted(categories, key=lambda c: -len(c)):
        hit = next((f for f in _spoken(category) if f" {f} " in folded), None)
        if hit:
            found.append(category)
            folded = folded.replace(f" {hit} ", " ")
    return found


def refer_rule(item: AuditItem) -> list[str]:
    """The boxes are those of every object of the named class; never a cut class."""
    scene = _Scene(item)
    if scene.problem:
        return [scene.problem]
    refs = " ".join(_REF.findall(item.questions[0])) if item.questions else ""
    named = _named(refs, scene.present | scene.absent | scene.cut)
    if len(named) != 1:
        return [f"referred_class_unknown:{refs}"]
    if named[0] in scene.cut:
        return [f"referred_cut_class:{named[0]}"]
    if not _same_boxes(_rboxes(" ".join(item.answers)), scene.boxes(named[0])):
        return [f"boxes_mismatch:{named[0]}"]
    return []


def identify_rule(item: AuditItem) -> list[str]:
    """The answer names the class of the one object at the asked box."""
    scene = _Scene(item)
    if scene.problem:
        return [scene.problem]
    asked = _rboxes(item.questions[0]) if item.questions else []
    if len(asked) != 1:
        return ["question_box_count"]
    there = scene.at(asked[0])
    if len({o.category for o, _, _ in there}) != 1:
        return ["no_object_at_box" if not there else "ambiguous_box"]
    truth = there[0][0].category
    named = _named(" ".join(item.answers), scene.present | scene.absent | scene.cut)
    if truth not in named:
        return [f"class_missing:{truth}"]
    return [f"wrong_class:{c}" for c in named if c != truth]


def grounding_rule(item: AuditItem) -> list[str]:
    """Every class of the image is boxed exactly, once; no chip with cut objects."""
    scene = _Scene(item)
    if scene.problem:
        return [scene.problem]
    if scene.cut:
        return ["grounding_with_cut_objects"]
    problems, seen = [], set()
    for ref, boxes in _REF_BOX.findall(" ".join(item.answers)):
        named = _named(ref, scene.present | scene.absent)
        if len(named) != 1 or named[0] not in scene.present:
            problems.append(f"unknown_ref:{ref}")
            continue
        seen.add(named[0])
        if not _same_boxes(_rboxes(boxes), scene.boxes(named[0])):
            problems.append(f"boxes_mismatch:{named[0]}")
    problems += [f"class_left_out:{c}" for c in sorted(scene.present - seen)]
    return problems


def count_rule(item: AuditItem) -> list[str]:
    """The number given is the number of objects of the asked class (0: annotated absent)."""
    scene = _Scene(item)
    if scene.problem:
        return [scene.problem]
    named = _named(
        item.questions[0] if item.questions else "", scene.present | scene.absent | scene.cut
    )
    if len(named) != 1:
        return ["counted_class_unknown"]
    category = named[0]
    if category in scene.cut:
        return [f"counted_cut_class:{category}"]
    if category not in scene.present and category not in scene.absent:
        return [f"count_unfounded:{category}"]
    answer = re.sub(r"[^a-z0-9 ]", " ", " ".join(item.answers).lower()).split()
    numbers = [
        int(w) if w.isdigit() else _NUMBERS[w]
        for w in answer
        if w.isdigit() or (w in _NUMBERS and w not in ("a", "an"))
    ]
    want = len(scene.boxes(category))
    if numbers[:1] != [want]:
        return [f"count_mismatch:{category}:{numbers[:1]}!={want}"]
    return []


def _centre(obj: ObjectLabel, size: tuple[int, int]) -> tuple[float, float]:
    return ((obj.bbox[0] + obj.bbox[2]) / 2 / size[0], (obj.bbox[1] + obj.bbox[3]) / 2 / size[1])


def caption_rule(item: AuditItem) -> list[str]:
    """The region caption's class, size class, position, class count and nearest neighbour."""
    scene = _Scene(item)
    if scene.problem:
        return [scene.problem]
    asked = _rboxes(item.questions[0]) if item.questions else []
    there = scene.at(asked[0]) if len(asked) == 1 else []
    if len(there) != 1:
        return ["no_single_object_at_box"]
    obj, _, pts = there[0]
    text = " ".join(item.answers)
    problems = []
    if obj.category in scene.cut:
        problems.append(f"captioned_cut_class:{obj.category}")
    first = text.split(".")[0]
    if _named(first, scene.present | scene.absent | scene.cut) != [obj.category]:
        problems.append(f"class_not_named:{obj.category}")
    import shapely  # slow to import: only oriented-box pairs need it

    share = shapely.Polygon(pts).area / (scene.size[0] * scene.size[1])
    size_word = "small" if share < 0.005 else "medium-sized" if share < 0.02 else "large"
    if f" {size_word} " not in f" {first.lower()} ":
        problems.append(f"size_class:{size_word}")
    cx, cy = _centre(obj, scene.size)
    row = ("top", "", "bottom")[min(int(cy * 3), 2)]
    col = ("left", "", "right")[min(int(cx * 3), 2)]
    where = f"the {' '.join(w for w in (row, col) if w)} part" if (row or col) else "the centre"
    if where not in first:
        problems.append(f"position:{where}")
    n = len(scene.boxes(obj.category))
    if "the only" in text and n != 1:
        problems.append(f"only_one_but:{n}")
    many = re.search(r"one of (\w+) ", text)
    if (
        many
        and _NUMBERS.get(many.group(1), int(many.group(1)) if many.group(1).isdigit() else -1) != n
    ):
        problems.append(f"class_count:{many.group(1)}!={n}")
    others = [o for o, _, _ in scene.objects if o is not obj]
    if "No other object" in text and others:
        problems.append("other_objects_exist")
    near = re.search(
        r"nearest other object is an? ([a-z -]+?), (to the [a-z ]+|below|above)\.", text
    )
    if near:
        if scene.cut:
            problems.append("nearest_on_chip_with_cut_objects")
        ranked = sorted(
            (
                math.hypot(
                    (_centre(o, scene.size)[0] - cx) * scene.size[0],
                    (_centre(o, scene.size)[1] - cy) * scene.size[1],
                ),
                i,
            )
            for i, o in enumerate(others)
        )
        if not ranked or (len(ranked) > 1 and ranked[1][0] < 1.1 * ranked[0][0]):
            return [*problems, "nearest_not_clear"]
        other = others[ranked[0][1]]
        ox, oy = _centre(other, scene.size)
        sector = (
            round(
                math.degrees(math.atan2((oy - cy) * scene.size[1], (ox - cx) * scene.size[0])) / 45
            )
            % 8
        )
        if _named(near.group(1), {other.category}) != [other.category]:
            problems.append(f"nearest_class:{other.category}")
        if near.group(2) != _SECTORS[sector]:
            problems.append(f"nearest_direction:{_SECTORS[sector]}")
    return problems


RULES: dict[str, Rule] = {
    "oriented_refer": refer_rule,
    "oriented_identify": identify_rule,
    "oriented_grounding": grounding_rule,
    "oriented_count": count_rule,
    "oriented_region_caption": caption_rule,
}
"""Template id → rule."""
