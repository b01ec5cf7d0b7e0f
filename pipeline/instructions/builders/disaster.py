"""xBD disaster tasks, from the label JSONs of a pre/post pair.

Disaster type, building damage counts, referring to and identifying damaged buildings,
change and damage descriptions.
"""

from __future__ import annotations

from collections import Counter

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    format_boxes,
    join_phrases,
    scale_box,
    yes_no,
)
from eoinstruct.pipeline.records import ObjectLabel, Sample

XBD_DISASTER_TYPES: tuple[str, ...] = (
    "earthquake",
    "fire",
    "flooding",
    "tsunami",
    "volcano",
    "wind",
)
"""Disaster types used in xBD label metadata."""


DAMAGE_LEVELS: tuple[str, ...] = ("no-damage", "minor-damage", "major-damage", "destroyed")
"""xBD damage subtypes, from least to most severe (``un-classified`` is not a level)."""


REFERRING_PHRASES: dict[str, str] = {
    "destroyed": "destroyed buildings",
    "major-damage": "buildings with major damage",
    "minor-damage": "buildings with minor damage",
    "no-damage": "undamaged buildings",
}


def _buildings(sample: Sample) -> list[ObjectLabel]:
    return [o for o in sample.labels.objects if o.category == "building"]


def disaster_type(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Disaster type of an xBD pre/post pair, from the label metadata."""
    value = sample.labels.properties.get("disaster_type", "")
    if value not in XBD_DISASTER_TYPES:
        raise NotApplicable("no_disaster_type")
    return TaskValues(
        values={"options": ", ".join(XBD_DISASTER_TYPES), "disaster_type": value},
        options=XBD_DISASTER_TYPES,
        answers=(value,),
    )


def damage_counts(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Counts of buildings per xBD damage level in the post-disaster image."""
    buildings = _buildings(sample)
    if buildings and not any(b.attribute for b in buildings):
        raise NotApplicable("no_damage_labels")
    counts = Counter(b.attribute for b in buildings)
    unknown = set(counts) - set(DAMAGE_LEVELS) - {"un-classified"}
    if unknown:
        raise NotApplicable(f"unknown_damage_level:{sorted(unknown)[0]}")
    unclassified = counts.get("un-classified", 0)
    note = ""
    if unclassified == 1:
        note = " 1 building could not be classified."
    elif unclassified > 1:
        note = f" {unclassified} buildings could not be classified."
    return TaskValues(
        values={
            "destroyed": str(counts.get("destroyed", 0)),
            "major": str(counts.get("major-damage", 0)),
            "minor": str(counts.get("minor-damage", 0)),
            "no_damage": str(counts.get("no-damage", 0)),
            "unclassified_note": note,
        }
    )


def refer_damage_level(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Refer to all buildings of one damage level (drawn among the levels present)."""
    buildings = [b for b in _buildings(sample) if b.attribute in REFERRING_PHRASES]
    by_level: dict[str, list[ObjectLabel]] = {}
    for b in buildings:
        by_level.setdefault(b.attribute, []).append(b)
    candidates = [
        lvl for lvl in DAMAGE_LEVELS if 0 < len(by_level.get(lvl, [])) <= config.max_boxes
    ]
    if not candidates:
        raise NotApplicable("no_referable_buildings" if not buildings else "too_many_boxes")
    level = candidates[draw(config.seed, sample.sample_id, "refer_level", n=len(candidates))]
    objects = by_level[level]
    roles = {o.image_role for o in objects}
    if len(roles) != 1:
        raise NotApplicable("objects_on_several_images")
    image = sample.image(roles.pop())
    boxes = tuple(
        sorted(scale_box(o.bbox, image.width, image.height, config.box_scale) for o in objects)
    )
    boxes = tuple(sorted(boxes, key=lambda b: (b[1], b[0], b[3], b[2])))
    return TaskValues(
        values={"ref": REFERRING_PHRASES[level], "boxes": format_boxes(boxes)},
        boxes=boxes,
    )


def identify_damage(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: the damage level of the building at a box."""
    buildings = [
        o
        for o in sample.labels.objects
        if o.category == "building" and o.attribute in DAMAGE_LEVELS
    ]
    if not buildings:
        raise NotApplicable("no_classified_buildings")
    obj = buildings[draw(config.seed, sample.sample_id, "identify_damage", n=len(buildings))]
    image = sample.image(obj.image_role)
    box = scale_box(obj.bbox, image.width, image.height, config.box_scale)
    level = obj.attribute.replace("-", " ")
    options = tuple(d.replace("-", " ") for d in DAMAGE_LEVELS)
    return TaskValues(
        values={"box": format_boxes((box,)), "options": ", ".join(options), "level": level},
        options=options,
        answers=(level,),
        boxes=(box,),
        image_roles=(obj.image_role,),
    )


def _damage_counts(sample: Sample) -> Counter[str]:
    return Counter(
        o.attribute for o in sample.labels.objects if o.category == "building" and o.attribute
    )


def buildings_affected(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: are any buildings damaged (minor, major or destroyed)?"""
    counts = _damage_counts(sample)
    if not any(counts[level] for level in DAMAGE_LEVELS):
        raise NotApplicable("no_damage_labels")
    damaged = sum(counts[level] for level in DAMAGE_LEVELS[1:])
    answer = yes_no(damaged > 0)
    return TaskValues(values={"answer": answer}, options=("Yes", "No"), answers=(answer,))


def damage_change(sample: Sample, config: GenerationConfig) -> TaskValues:
    """XBD change detection: what changed between the pre and post images."""
    counts = _damage_counts(sample)
    total = sum(counts[level] for level in DAMAGE_LEVELS)
    if not total:
        raise NotApplicable("no_damage_labels")
    damaged = {lvl: counts[lvl] for lvl in DAMAGE_LEVELS[1:] if counts[lvl]}
    if not damaged:
        answer = f"No change: none of the {total} buildings shows damage."
    else:
        parts = [f"{n} {lvl.replace('-', ' ')}" for lvl, n in sorted(damaged.items())]
        n_damaged = sum(damaged.values())
        answer = (
            f"{n_damaged} of the {total} buildings changed after the event: {join_phrases(parts)}."
        )
    return TaskValues(values={"answer": answer})


def damage_description(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: a one-sentence damage description (disaster type and damage per level)."""
    dtype = sample.labels.properties.get("disaster_type", "")
    counts = _damage_counts(sample)
    if not dtype or not any(counts[level] for level in DAMAGE_LEVELS):
        raise NotApplicable("no_damage_labels")
    parts = [f"{counts[lvl]} {lvl.replace('-', ' ')}" for lvl in reversed(DAMAGE_LEVELS)]
    return TaskValues(
        values={"disaster_type": dtype, "counts": join_phrases(parts)}, answers=(dtype,)
    )


BUILDERS: dict[str, Builder] = {
    "disaster_type": disaster_type,
    "damage_counts": damage_counts,
    "refer_damage_level": refer_damage_level,
    "identify_damage": identify_damage,
    "buildings_affected": buildings_affected,
    "damage_change": damage_change,
    "damage_description": damage_description,
}
"""Builder name (as used in template files) → function."""
