"""Oriented objects (DIOR-R, DOTA): referring, identification, grounding, counts, region captions.

The sources annotate each object as a quadrilateral (clipped to the chip for DOTA), kept in the
``outlines`` label property, one outline per object in ``labels.objects`` order (see
:mod:`eoinstruct.sources.outlines`). Boxes are EarthDial's ``[[x1, y1, x2, y2, angle]]`` on the
``0..box_scale`` grid (:func:`oriented_box`):

1. the outline is mapped onto the grid (``x * scale / width``, ``y * scale / height``);
2. the orientation is that of its minimum-area enclosing rectangle, as an angle in degrees in
   ``[-45, 45)`` (the rectangle's sides along ``angle`` and ``angle + 90``; positive turns the x
   axis towards +y, i.e. clockwise on screen), rounded to an integer;
3. the rectangle at that integer angle enclosing the outline gives its centre ``(cx, cy)`` and
   sides ``w`` (along the angle) and ``h``; ``x1, y1, x2, y2`` are ``cx ∓ w/2``, ``cy ∓ h/2``
   rounded outwards (an edge within :data:`SNAP` of a grid line is on it) and clamped to the
   grid: the un-rotated box, turned by ``angle`` about its centre. An axis-aligned object gets
   angle 0 and the box of :func:`scale_box`.

A class with an object cut by a DOTA chip edge and dropped (``cut_categories``) is never
referred to, counted, grounded or captioned on that chip: its visible part is unannotated.
Region captions say only what the annotation gives: the class, a size class (share of the image
the outline covers, :data:`SIZE_CLASSES`), the position of the box centre in a 3 x 3 grid of
the image, how many objects of the class there are, and the class and direction of the nearest
other object (box centres; only when it is clearly the nearest, :data:`NEAREST_MARGIN`).
"""

from __future__ import annotations

import math
from collections import defaultdict

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    format_boxes,
)
from eoinstruct.pipeline.instructions.grammar import (
    article,
    count_phrase,
    is_are,
    join_list,
    natural_case,
    plural,
    sentence_case,
)
from eoinstruct.pipeline.records import ObjectLabel, Sample

Box = tuple[int, int, int, int, int]
Point = tuple[float, float]

SIZE_CLASSES: tuple[tuple[float, str], ...] = ((0.005, "small"), (0.02, "medium-sized"))
"""Share of the image area below which an object is of that size class; else ``large``."""

SNAP = 1e-3
"""A box edge within this of a grid line (grid units) is on it: rounding noise of the rotation."""

NEAREST_MARGIN = 1.1
"""The nearest other object must be this many times closer than the second nearest."""

COLUMNS = ("left", "", "right")
ROWS = ("top", "", "bottom")
DIRECTIONS = (
    "to the right", "to the lower right", "below", "to the lower left",
    "to the left", "to the upper left", "above", "to the upper right",
)  # fmt: skip
"""Direction of a neighbour by 45° sector, starting at +x and turning towards +y (down)."""


def name(category: str) -> str:
    """A category as it reads: ``storage_tank`` → ``storage tank``."""
    return natural_case(category)


def outlines(sample: Sample) -> list[list[Point]]:
    """The objects' outlines from the ``outlines`` property, in ``labels.objects`` order.

    Raises:
        NotApplicable: ``no_outlines`` when the property is missing or does not match the objects.
    """
    text = sample.labels.properties.get("outlines", "")
    if not text:
        raise NotApplicable("no_outlines")
    found = []
    for part in text.split(";"):
        points = [tuple(float(v) for v in p.split()) for p in part.split(",")]
        found.append([(p[0], p[1]) for p in points])
    if len(found) != len(sample.labels.objects):
        raise NotApplicable("outlines_mismatch")
    return found


def _hull(points: list[Point]) -> list[Point]:
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    upper: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def oriented_box(points: list[Point], width: int, height: int, scale: int) -> Box:
    """The EarthDial box of an outline (module docstring, steps 1–3).

    Args:
        points: The outline in image pixels.
        width: Image width in pixels.
        height: Image height in pixels.
        scale: The grid size (100).

    Returns:
        ``(x1, y1, x2, y2, angle)``.
    """
    grid = [(x * scale / width, y * scale / height) for x, y in points]
    hull = _hull(grid)
    best_area, best_angle = math.inf, 0.0
    for i, (ax, ay) in enumerate(hull):
        bx, by = hull[(i + 1) % len(hull)]
        if (ax, ay) == (bx, by):
            continue
        theta = math.atan2(by - ay, bx - ax)
        ux, uy = math.cos(theta), math.sin(theta)
        us = [x * ux + y * uy for x, y in hull]
        vs = [-x * uy + y * ux for x, y in hull]
        area = (max(us) - min(us)) * (max(vs) - min(vs))
        if area < best_area - 1e-9:
            best_area, best_angle = area, math.degrees(theta)
    angle = round((best_angle + 45) % 90 - 45)
    if angle >= 45:
        angle -= 90
    rad = math.radians(angle)
    ux, uy = math.cos(rad), math.sin(rad)
    us = [x * ux + y * uy for x, y in grid]
    vs = [-x * uy + y * ux for x, y in grid]
    mu, mv = (min(us) + max(us)) / 2, (min(vs) + max(vs)) / 2
    cx, cy = mu * ux - mv * uy, mu * uy + mv * ux
    w, h = max(us) - min(us), max(vs) - min(vs)
    x1 = min(max(math.floor(cx - w / 2 + SNAP), 0), scale - 1)
    y1 = min(max(math.floor(cy - h / 2 + SNAP), 0), scale - 1)
    x2 = max(min(math.ceil(cx + w / 2 - SNAP), scale), x1 + 1)
    y2 = max(min(math.ceil(cy + h / 2 - SNAP), scale), y1 + 1)
    return (x1, y1, x2, y2, angle)


def _order(box: Box) -> tuple[int, int, int, int, int]:
    return (box[1], box[0], box[3], box[2], box[4])


class _View:
    """A sample's objects with their boxes, per category, and the classes it may speak of."""

    def __init__(self, sample: Sample, config: GenerationConfig) -> None:
        shapes = outlines(sample)
        self.sample = sample
        self.objects: list[tuple[ObjectLabel, Box, list[Point]]] = []
        self.size: dict[str, tuple[int, int]] = {}
        for obj, points in zip(sample.labels.objects, shapes, strict=True):
            image = sample.image(obj.image_role)
            self.size[obj.image_role] = (image.width, image.height)
            box = oriented_box(points, image.width, image.height, config.box_scale)
            self.objects.append((obj, box, points))
        props = sample.labels.properties
        self.cut = {c for c in props.get("cut_categories", "").split(",") if c}
        self.absent = {c for c in props.get("absent_categories", "").split(",") if c}
        self.by_category: dict[str, list[Box]] = defaultdict(list)
        for obj, box, _ in self.objects:
            self.by_category[obj.category].append(box)
        self.box_count: dict[Box, int] = defaultdict(int)
        for _, box, _ in self.objects:
            self.box_count[box] += 1

    def boxes(self, category: str) -> tuple[Box, ...]:
        return tuple(sorted(self.by_category[category], key=_order))

    def speakable(self) -> list[str]:
        """Present categories with no cut object and no two objects sharing a box."""
        return sorted(
            c
            for c, boxes in self.by_category.items()
            if c not in self.cut and len(set(boxes)) == len(boxes)
        )

    def role(self) -> str:
        roles = sorted({o.image_role for o, _, _ in self.objects})
        if len(roles) != 1:
            raise NotApplicable("objects_on_several_images")
        return roles[0]


def refer_oriented(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Referring: the oriented boxes of every object of one class (drawn among those present)."""
    view = _View(sample, config)
    keys = [c for c in view.speakable() if len(view.by_category[c]) <= config.max_boxes]
    if not keys:
        raise NotApplicable("no_referable_objects")
    category = keys[draw(config.seed, sample.sample_id, "refer_oriented", n=len(keys))]
    boxes = view.boxes(category)
    return TaskValues(
        values={
            "ref": plural(name(category)),
            "boxes": format_boxes(boxes),
            "found": count_phrase(len(boxes), name(category), words=True),
            "is_are": is_are(len(boxes)),
        },
        boxes=boxes,
        image_roles=(view.role(),),
    )


def identify_oriented(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Identification: the class of the object at an oriented box.

    The class is drawn uniformly among those with an object whose box no other object shares,
    then one of its objects. The options are the source's classes as the sample lists them
    (present, absent and cut).
    """
    view = _View(sample, config)
    pool: dict[str, list[Box]] = defaultdict(list)
    for obj, box, _ in view.objects:
        if view.box_count[box] == 1:
            pool[obj.category].append(box)
    if not pool:
        raise NotApplicable("no_unambiguous_objects")
    categories = sorted(pool)
    category = categories[
        draw(config.seed, sample.sample_id, "identify_oriented", n=len(categories))
    ]
    boxes = sorted(pool[category], key=_order)
    box = boxes[draw(config.seed, sample.sample_id, "identify_oriented_box", n=len(boxes))]
    known = sorted(set(view.by_category) | view.absent | view.cut)
    label = name(category)
    return TaskValues(
        values={"box": format_boxes((box,)), "category": label, "category_a": article(label)},
        options=tuple(name(c) for c in known),
        answers=(label,),
        boxes=(box,),
        image_roles=(view.role(),),
    )


def ground_oriented(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Grounded description: every object class of the image with its oriented boxes."""
    view = _View(sample, config)
    if not view.objects:
        raise NotApplicable("no_objects")
    if view.cut:
        raise NotApplicable("objects_cut_by_chip_edge")
    if len(view.objects) > config.max_boxes:
        raise NotApplicable("too_many_boxes")
    if len(view.speakable()) != len(view.by_category):
        raise NotApplicable("shared_boxes")
    terse: list[str] = []
    listed: list[str] = []
    all_boxes: list[Box] = []
    for category in sorted(view.by_category):
        boxes = view.boxes(category)
        all_boxes.extend(boxes)
        label = name(category)
        ref = plural(label) if len(boxes) > 1 else label
        terse.append(f"<ref>{ref}</ref><box>{format_boxes(boxes)}</box>")
        counted = count_phrase(len(boxes), label, words=True) if len(boxes) > 1 else article(label)
        listed.append(f"<ref>{counted}</ref><box>{format_boxes(boxes)}</box>")
    return TaskValues(
        values={"description": "; ".join(terse), "listing": join_list(listed)},
        boxes=tuple(all_boxes),
        image_roles=(view.role(),),
    )


def count_oriented(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Counting: how many objects of one class.

    The count value is drawn first (0 included, for a class the source annotates as absent),
    then a class with that count.
    """
    view = _View(sample, config)
    pool: dict[int, list[str]] = defaultdict(list)
    for category in sorted(set(view.by_category) - view.cut):
        pool[len(view.by_category[category])].append(category)
    for category in sorted(view.absent - view.cut - set(view.by_category)):
        pool[0].append(category)
    if not pool:
        raise NotApplicable("no_countable_classes")
    values = sorted(pool)
    n = values[draw(config.seed, sample.sample_id, "count_oriented_value", n=len(values))]
    category = pool[n][draw(config.seed, sample.sample_id, "count_oriented", n=len(pool[n]))]
    counted = count_phrase(n, name(category), words=True)
    return TaskValues(
        values={
            "objects": plural(name(category)),
            "count": str(n),
            "counted": counted,
            "counted_subject": sentence_case(counted),
            "is_are": is_are(n),
        },
        image_roles=(view.role(),),
    )


def _area(points: list[Point]) -> float:
    return (
        abs(
            sum(
                x1 * y2 - x2 * y1
                for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True)
            )
        )
        / 2
    )


def size_class(share: float) -> str:
    """``small``, ``medium-sized`` or ``large`` for the share of the image an outline covers."""
    return next((word for limit, word in SIZE_CLASSES if share < limit), "large")


def position(cx: float, cy: float) -> str:
    """Where a point (fractions of the image) lies in a 3 x 3 grid, as a phrase.

    ``in the top left part of the image`` … ``in the centre of the image``.
    """
    col, row = COLUMNS[min(int(cx * 3), 2)], ROWS[min(int(cy * 3), 2)]
    words = " ".join(w for w in (row, col) if w)
    return f"in the {words} part of the image" if words else "in the centre of the image"


def _centre(obj: ObjectLabel, size: tuple[int, int]) -> Point:
    x1, y1, x2, y2 = obj.bbox
    return ((x1 + x2) / 2 / size[0], (y1 + y2) / 2 / size[1])


def region_caption(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Region caption: the object at an oriented box described from its annotation.

    The class is drawn among those that may be spoken of (:meth:`_View.speakable`), then one of
    its objects. ``short`` is the first sentence (size class, class, position); ``caption`` adds
    how many of its class there are and the nearest other object (not on a chip with cut
    objects, and only when clearly the nearest).
    """
    view = _View(sample, config)
    categories = [
        c for c in view.speakable() if all(view.box_count[b] == 1 for b in view.by_category[c])
    ]
    if not categories:
        raise NotApplicable("no_captionable_objects")
    category = categories[draw(config.seed, sample.sample_id, "region_caption", n=len(categories))]
    mine = sorted(
        ((o, b, p) for o, b, p in view.objects if o.category == category),
        key=lambda t: _order(t[1]),
    )
    obj, box, points = mine[
        draw(config.seed, sample.sample_id, "region_caption_object", n=len(mine))
    ]
    size = view.size[obj.image_role]
    share = _area(points) / (size[0] * size[1])
    cx, cy = _centre(obj, size)
    label = name(category)
    short = f"{sentence_case(article(size_class(share) + ' ' + label))} {position(cx, cy)}."
    n = len(mine)
    count = (
        f"It is the only {label} in the image."
        if n == 1
        else f"It is one of {count_phrase(n, label, words=True)} in the image."
    )
    others = [(o, _centre(o, size)) for o, _, _ in view.objects if o is not obj]
    tail = ""
    if not others and not view.cut:
        tail = " No other object is annotated in the image."
    elif others and not view.cut:
        dist = sorted(
            (math.hypot((ox - cx) * size[0], (oy - cy) * size[1]), i)
            for i, (_, (ox, oy)) in enumerate(others)
        )
        if len(dist) == 1 or dist[1][0] >= NEAREST_MARGIN * dist[0][0]:
            near, (ox, oy) = others[dist[0][1]]
            sector = (
                round(math.degrees(math.atan2((oy - cy) * size[1], (ox - cx) * size[0])) / 45) % 8
            )
            neighbour = article(name(near.category))
            tail = f" The nearest other object is {neighbour}, {DIRECTIONS[sector]}."
    return TaskValues(
        values={"box": format_boxes((box,)), "short": short, "caption": f"{short} {count}{tail}"},
        boxes=(box,),
        image_roles=(obj.image_role,),
    )


BUILDERS: dict[str, Builder] = {
    "refer_oriented": refer_oriented,
    "identify_oriented": identify_oriented,
    "ground_oriented": ground_oriented,
    "count_oriented": count_oriented,
    "region_caption": region_caption,
}
"""Builder name (as used in template files) → function."""
