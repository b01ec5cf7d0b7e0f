"""Object tasks from annotated objects (SatlasPretrain vector labels).

Three instruction types as in EarthDial: referring (``[refer]``: where is the object
described), identification (``[identify]``: what is at this box) and grounded description
(``[grounding]``: describe the image with boxes); plus counting questions and a dialogue
(what kinds of objects → where the most numerous are → how many → the largest). Boxes are the
source annotation's pixel boxes on the ``box_scale`` grid (:func:`scale_box`).

Only *objects* — points and polygons — are referred to, identified, boxed or counted. Line
features (roads, railways, rivers, runways…: SatlasPretrain's polylines) are not objects: a
road's box covers half the tile and says nothing of where the road runs, and a count of them
counts map segments, not roads. Grounded descriptions mention them in words only ("roads
also cross the image"). An object's geometry kind comes from its WKT (``POINT``,
``LINESTRING``, ``POLYGON``), else from the ``line_categories`` label property the Satlas
adapter writes.
"""

from __future__ import annotations

from collections import defaultdict

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    format_boxes,
    scale_box,
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

SATLAS_LINE_CATEGORIES: frozenset[str] = frozenset(
    {"airport_runway", "airport_taxiway", "raceway", "road", "railway", "river"}
)
"""SatlasPretrain's polyline categories (``polyline_bin_segment`` task, allenai/satlas
``satlas/tasks.py`` via torchgeo ``satlas.py``): never objects, even when no feature shows it."""

SATLAS_OBJECT_CATEGORIES: tuple[str, ...] = (
    # point
    "wind_turbine", "lighthouse", "mineshaft", "aerialway_pylon", "helipad", "fountain",
    "toll_booth", "chimney", "communications_tower", "flagpole", "petroleum_well",
    "water_tower", "offshore_wind_turbine", "offshore_platform", "power_tower",
    # polygon
    "aquafarm", "lock", "dam", "solar_farm", "power_plant", "gas_station", "park",
    "parking_garage", "parking_lot", "landfill", "quarry", "stadium", "airport",
    "airport_apron", "airport_hangar", "airport_terminal", "ski_resort", "theme_park",
    "storage_tank", "silo", "track", "wastewater_plant", "power_substation", "pier", "crop",
    "water_park",
    # other detection tasks
    "ms_building", "rooftop_solar_panel", "airplane", "vessel",
)  # fmt: skip
"""SatlasPretrain's object (point and polygon) categories, same source."""

_NAMES = {"ms_building": "building", "crop": "crop field", "lock": "canal lock"}
"""Category names that read badly when only their underscores are replaced."""

LINE_PREFIXES = ("LINESTRING", "MULTILINESTRING")


def category_name(category: str) -> str:
    """A category as it reads mid-sentence, singular: ``wind_turbine`` → ``wind turbine``."""
    return _NAMES.get(category) or natural_case(category)


def line_categories(sample: Sample) -> frozenset[str]:
    """Categories marked as lines by the labels (``line_categories[:<role>]``) or known to be."""
    found = set(SATLAS_LINE_CATEGORIES)
    for key, value in sample.labels.properties.items():
        if key == "line_categories" or key.startswith("line_categories:"):
            found |= {v.strip() for v in value.split(",") if v.strip()}
    return frozenset(found)


def is_line(obj: ObjectLabel, lines: frozenset[str]) -> bool:
    """Whether an object is a line feature: its WKT says so, or (without WKT) its category."""
    wkt = obj.polygon_wkt.lstrip().upper()
    if wkt:
        return wkt.startswith(LINE_PREFIXES)
    return obj.category in lines


def _groups(sample: Sample, lines_too: bool = False) -> dict[tuple[str, str], list[ObjectLabel]]:
    """Objects by (image role, category); line features only when asked."""
    lines = line_categories(sample)
    groups: dict[tuple[str, str], list[ObjectLabel]] = defaultdict(list)
    for obj in sample.labels.objects:
        if obj.category and (lines_too or not is_line(obj, lines)):
            groups[(obj.image_role, obj.category)].append(obj)
    return dict(groups)


def _box(sample: Sample, obj: ObjectLabel, scale: int) -> Box:
    image = sample.image(obj.image_role)
    return scale_box(obj.bbox, image.width, image.height, scale)


def _boxes(sample: Sample, objects: list[ObjectLabel], scale: int) -> tuple[Box, ...]:
    boxes = {_box(sample, o, scale) for o in objects}
    return tuple(sorted(boxes, key=lambda b: (b[1], b[0], b[3], b[2])))


def phrase(category: str) -> str:
    """Plural phrase of a category name: ``wind_turbine`` → ``wind turbines``."""
    return plural(category_name(category))


def _referable(sample: Sample, config: GenerationConfig) -> list[tuple[str, str]]:
    keys = []
    for key, objects in sorted(_groups(sample).items()):
        boxes = _boxes(sample, objects, config.box_scale)
        if 0 < len(boxes) <= config.max_boxes and len(boxes) == len(objects):
            keys.append(key)
    return keys


def refer_category(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Referring: the location of every object of one category (drawn among those present)."""
    keys = _referable(sample, config)
    if not keys:
        raise NotApplicable("no_referable_objects")
    role, category = keys[draw(config.seed, sample.sample_id, "refer_category", n=len(keys))]
    objects = _groups(sample)[(role, category)]
    boxes = _boxes(sample, objects, config.box_scale)
    return TaskValues(
        values={
            "ref": phrase(category),
            "boxes": format_boxes(boxes),
            "found": count_phrase(len(boxes), category_name(category), words=True),
            "is_are": is_are(len(boxes)),
        },
        boxes=boxes,
        image_roles=(role,),
    )


def identify_object(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Identification: the category of the object at a box.

    The category is drawn first (uniformly among the object categories present), then one
    of its objects, so a tile with twelve turbines and one substation asks about each
    category equally often. Objects whose box is also the box of another category's object
    are left out (the answer would be ambiguous).
    """
    groups = _groups(sample)
    by_box: dict[tuple[str, Box], set[str]] = defaultdict(set)
    for (role, category), objects in groups.items():
        for obj in objects:
            by_box[(role, _box(sample, obj, config.box_scale))].add(category)
    candidates: dict[str, list[ObjectLabel]] = defaultdict(list)
    for (role, category), objects in sorted(groups.items()):
        for obj in objects:
            if len(by_box[(role, _box(sample, obj, config.box_scale))]) == 1:
                candidates[category].append(obj)
    if not candidates:
        raise NotApplicable("no_unambiguous_objects")
    categories = sorted(candidates)
    category = categories[draw(config.seed, sample.sample_id, "identify", n=len(categories))]
    pool = candidates[category]
    obj = pool[draw(config.seed, sample.sample_id, "identify_object", n=len(pool))]
    box = _box(sample, obj, config.box_scale)
    name = category_name(category)
    options = tuple(dict.fromkeys([*map(category_name, SATLAS_OBJECT_CATEGORIES), name]))
    return TaskValues(
        values={"box": format_boxes((box,)), "category": name, "category_a": article(name)},
        options=options,
        answers=(name,),
        boxes=(box,),
        image_roles=(obj.image_role,),
    )


def _lines_note(lines: dict[str, int]) -> str:
    """`` Roads and a river also cross the image.`` for the line features of an image."""
    if not lines:
        return ""
    parts = [
        plural(category_name(c)) if n > 1 else article(category_name(c))
        for c, n in sorted(lines.items())
    ]
    verb = "crosses" if len(parts) == 1 and lines[next(iter(lines))] == 1 else "cross"
    return f" {sentence_case(join_list(parts))} also {verb} the image."


def ground_objects(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Grounded description: every object category of one image with its boxes.

    The image is the newest one with objects. Line features on it are described in words
    (sentence style), never boxed.
    """
    groups = _groups(sample)
    roles = sorted({role for role, _ in groups})
    if not roles:
        raise NotApplicable("no_objects")
    role = roles[-1]
    terse: list[str] = []
    listed: list[str] = []
    all_boxes: list[Box] = []
    for (r, category), objects in sorted(groups.items()):
        if r != role:
            continue
        boxes = _boxes(sample, objects, config.box_scale)
        all_boxes.extend(boxes)
        name = category_name(category)
        ref = plural(name) if len(boxes) > 1 else name
        terse.append(f"<ref>{ref}</ref><box>{format_boxes(boxes)}</box>")
        counted = count_phrase(len(boxes), name, words=True) if len(boxes) > 1 else article(name)
        listed.append(f"<ref>{counted}</ref><box>{format_boxes(boxes)}</box>")
    if len(all_boxes) > config.max_boxes:
        raise NotApplicable("too_many_boxes")
    line_counts: dict[str, int] = defaultdict(int)
    for (r, category), objects in _groups(sample, lines_too=True).items():
        if r == role and (r, category) not in groups:
            line_counts[category] += len(objects)
    return TaskValues(
        values={
            "description": "; ".join(terse),
            "listing": join_list(listed),
            "lines_note": _lines_note(dict(line_counts)),
        },
        boxes=tuple(all_boxes),
        image_roles=(role,),
    )


def _absent(sample: Sample, role: str) -> set[str]:
    """Categories annotated on an image but with no instance there (``absent_categories``)."""
    props = sample.labels.properties
    keys = [f"absent_categories:{role}"]
    if props.get("static_image_role") == role:
        keys.append("absent_categories")
    return {c.strip() for k in keys for c in props.get(k, "").split(",") if c.strip()}


def count_objects(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Counting: how many objects of one category are annotated in an image.

    The count value is drawn first, uniformly among the values the sample offers (0 for a
    category annotated as absent, 1, 3, 12…), then a category with that count, so that no
    one count dominates the corpus. Line categories are never counted.
    """
    groups = _groups(sample)
    lines = line_categories(sample)
    pool: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for (role, category), objects in sorted(groups.items()):
        pool[len(objects)].append((role, category))
    for role in sorted({im.role for im in sample.images}):
        for category in sorted(_absent(sample, role) - lines):
            if (role, category) not in groups:
                pool[0].append((role, category))
    if not pool:
        raise NotApplicable("no_objects")
    values = sorted(pool)
    n = values[draw(config.seed, sample.sample_id, "count_value", n=len(values))]
    role, category = pool[n][draw(config.seed, sample.sample_id, "count", n=len(pool[n]))]
    counted = count_phrase(n, category_name(category), words=True)
    return TaskValues(
        values={
            "objects": phrase(category),
            "count": str(n),
            "counted": counted,
            "counted_subject": sentence_case(counted),
            "is_are": is_are(n),
        },
        image_roles=(role,),
    )


def _area(obj: ObjectLabel) -> float:
    x1, y1, x2, y2 = obj.bbox
    return (x2 - x1) * (y2 - y1)


LARGEST_MARGIN = 1.25
"""The largest object of a category must cover this many times the box area of the next one."""


def _largest(objects: list[ObjectLabel]) -> ObjectLabel | None:
    """The clearly largest polygon of a group (None for points, or with no clear winner)."""
    if len(objects) < 2 or any(o.polygon_wkt.lstrip().upper().startswith("POINT") for o in objects):
        return None
    if any(not o.polygon_wkt.strip() for o in objects):
        return None
    ranked = sorted(objects, key=_area, reverse=True)
    if _area(ranked[0]) < LARGEST_MARGIN * _area(ranked[1]):
        return None
    return ranked[0]


def object_dialogue(sample: Sample, config: GenerationConfig) -> TaskValues:
    """A dialogue on SatlasPretrain objects: what kinds → where are the most numerous → how many.

    Turns: ``kinds`` (the object categories of the newest image with objects; line features
    never), ``where`` (every box of the most numerous category, drawn among ties), ``count``
    (how many of them: the boxes of ``where``) where there are several, and ``largest`` (its
    box) where the category is polygons and one is clearly the largest (:data:`LARGEST_MARGIN`).
    """
    groups = _groups(sample)
    roles = sorted({role for role, _ in groups})
    if not roles:
        raise NotApplicable("no_objects")
    role = roles[-1]
    present = {c: objs for (r, c), objs in sorted(groups.items()) if r == role}
    most = max(len(objs) for objs in present.values())
    tied = sorted(c for c, objs in present.items() if len(objs) == most)
    top = tied[draw(config.seed, sample.sample_id, "dialogue_top", n=len(tied))]
    objects = present[top]
    boxes = _boxes(sample, objects, config.box_scale)
    if len(boxes) != len(objects):
        raise NotApplicable("overlapping_boxes")
    if len(boxes) > config.max_boxes:
        raise NotApplicable("too_many_boxes")
    ordered = sorted(present, key=lambda c: (-len(present[c]), c))
    kinds = [phrase(c) if len(present[c]) > 1 else article(category_name(c)) for c in ordered]
    n = len(objects)
    name = category_name(top)
    values = {
        "kinds": join_list(kinds),
        "kinds_cap": sentence_case(join_list(kinds)),
        "n_kinds": count_phrase(len(present), "kind", words=True) + " of objects"
        if len(present) > 1
        else "one kind of object",
        "top": phrase(top) if n > 1 else name,
        "are": is_are(n),
        "they": "they" if n > 1 else "it",
        "ref": phrase(top) if n > 1 else name,
        "boxes": format_boxes(boxes),
        "is_are": is_are(n),
        "count": str(n),
        "counted": count_phrase(n, name, words=True),
    }
    turns: tuple[str, ...] = ("kinds", "where")
    expected = boxes
    if n > 1:
        turns += ("count",)
        largest = _largest(objects)
        if largest is not None:
            box = _box(sample, largest, config.box_scale)
            turns += ("largest",)
            expected = (*boxes, box)
            values |= {"one": name, "largest": format_boxes((box,))}
    return TaskValues(values=values, boxes=expected, image_roles=(role,), turns=turns)


BUILDERS: dict[str, Builder] = {
    "refer_category": refer_category,
    "identify_object": identify_object,
    "ground_objects": ground_objects,
    "count_objects": count_objects,
    "object_dialogue": object_dialogue,
}
"""Builder name (as used in template files) → function."""
