"""Object tasks from annotated objects (SatlasPretrain vector labels, xBD buildings).

Three instruction types as in EarthDial: referring (``[refer]``: where is the object
described), identification (``[identify]``: what is at this box) and grounded description
(``[grounding]``: describe the image with boxes); plus counting questions. Boxes are the
source annotation's pixel boxes on the ``box_scale`` grid (:func:`scale_box`).
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
from eoinstruct.pipeline.records import ObjectLabel, Sample

Box = tuple[int, int, int, int, int]


def _by_role_and_category(sample: Sample) -> dict[tuple[str, str], list[ObjectLabel]]:
    groups: dict[tuple[str, str], list[ObjectLabel]] = defaultdict(list)
    for obj in sample.labels.objects:
        groups[(obj.image_role, obj.category)].append(obj)
    return groups


def _boxes(sample: Sample, objects: list[ObjectLabel], scale: int) -> tuple[Box, ...]:
    image = sample.image(objects[0].image_role)
    boxes = {scale_box(o.bbox, image.width, image.height, scale) for o in objects}
    return tuple(sorted(boxes, key=lambda b: (b[1], b[0], b[3], b[2])))


def phrase(category: str) -> str:
    """Readable plural phrase of a category name: ``wind_turbine`` → ``wind turbines``."""
    words = category.replace("_", " ").strip()
    if words.endswith(("s", "sh", "ch", "x")):
        return words + "es" if not words.endswith("s") else words
    if words.endswith("y") and not words.endswith(("ay", "ey", "oy", "uy")):
        return words[:-1] + "ies"
    return words + "s"


def _referable(sample: Sample, config: GenerationConfig) -> list[tuple[str, str]]:
    groups = _by_role_and_category(sample)
    keys = []
    for key, objects in sorted(groups.items()):
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
    objects = _by_role_and_category(sample)[(role, category)]
    boxes = _boxes(sample, objects, config.box_scale)
    return TaskValues(
        values={"ref": phrase(category), "boxes": format_boxes(boxes)},
        boxes=boxes,
        image_roles=(role,),
    )


def identify_object(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Identification: the category of the object at a box (one object drawn)."""
    candidates = [o for o in sample.labels.objects if o.category]
    if not candidates:
        raise NotApplicable("no_objects")
    obj = candidates[draw(config.seed, sample.sample_id, "identify", n=len(candidates))]
    image = sample.image(obj.image_role)
    box = scale_box(obj.bbox, image.width, image.height, config.box_scale)
    overlapping = [
        o
        for o in candidates
        if o.image_role == obj.image_role
        and o.category != obj.category
        and scale_box(o.bbox, image.width, image.height, config.box_scale) == box
    ]
    if overlapping:
        raise NotApplicable("ambiguous_box")
    name = obj.category.replace("_", " ")
    return TaskValues(
        values={"box": format_boxes((box,)), "category": name},
        answers=(name,),
        boxes=(box,),
        image_roles=(obj.image_role,),
    )


def ground_objects(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Grounded description: every object category of one image with its boxes."""
    groups = _by_role_and_category(sample)
    roles = sorted({role for role, _ in groups})
    if not roles:
        raise NotApplicable("no_objects")
    role = roles[-1]
    parts: list[str] = []
    all_boxes: list[Box] = []
    for (r, category), objects in sorted(groups.items()):
        if r != role:
            continue
        boxes = _boxes(sample, objects, config.box_scale)
        all_boxes.extend(boxes)
        parts.append(
            f"<ref>{phrase(category) if len(boxes) > 1 else category.replace('_', ' ')}"
            f"</ref><box>{format_boxes(boxes)}</box>"
        )
    if len(all_boxes) > config.max_boxes:
        raise NotApplicable("too_many_boxes")
    return TaskValues(
        values={"description": "; ".join(parts)}, boxes=tuple(all_boxes), image_roles=(role,)
    )


def count_objects(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Counting: how many objects of one category (drawn) are annotated in an image."""
    groups = _by_role_and_category(sample)
    keys = sorted(groups)
    if not keys:
        raise NotApplicable("no_objects")
    role, category = keys[draw(config.seed, sample.sample_id, "count", n=len(keys))]
    n = len(groups[(role, category)])
    return TaskValues(
        values={"objects": phrase(category), "count": str(n)},
        answers=(str(n),),
        image_roles=(role,),
    )


BUILDERS: dict[str, Builder] = {
    "refer_category": refer_category,
    "identify_object": identify_object,
    "ground_objects": ground_objects,
    "count_objects": count_objects,
}
"""Builder name (as used in template files) → function."""
