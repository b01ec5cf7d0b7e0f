"""Shared task machinery and the first builders (BigEarthNet land cover, xBD disasters).

Task builders compute a template's values from a sample's labels, never guessing.

A builder takes a sample and the generation settings and returns :class:`TaskValues`: the
strings that fill the template's placeholders, plus what the validator needs to check the
answer (the closed set of allowed answers, the boxes that must appear). A builder that cannot
answer from the labels raises :class:`NotApplicable` with a reason, and no pair is made.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from eoinstruct.pipeline.records import ObjectLabel, Sample
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43_NAMES, to_ben19

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


class NotApplicable(Exception):
    """The sample's labels cannot answer this template; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class GenerationConfig:
    """Settings of template generation (``params.yaml`` section ``generate``).

    Attributes:
        seed: Seed of every deterministic draw.
        box_scale: Boxes are written on a ``0..box_scale`` grid (EarthDial uses 100).
        max_boxes: Grounding answers with more boxes than this are not generated.
        class_set: BigEarthNet class set for classification: ``ben19`` or ``clc43``.
    """

    seed: int = 0
    box_scale: int = 100
    max_boxes: int = 40
    class_set: str = "ben19"

    def as_params(self) -> dict[str, str]:
        """Return the settings as the string map recorded with every pair."""
        return {
            "seed": str(self.seed),
            "box_scale": str(self.box_scale),
            "box_format": "[[x1, y1, x2, y2, angle]]",
            "max_boxes": str(self.max_boxes),
            "class_set": self.class_set,
        }


@dataclass(frozen=True)
class TaskValues:
    """What a builder computed for one sample.

    Attributes:
        values: Placeholder name → text.
        options: For closed-set answers, the allowed answers (the answer must be among them).
        answers: The answer items (class names), each of which must be in ``options``.
        boxes: Boxes that the answer must contain, in order, on the box grid.
        image_roles: Images the pair shows, when the builder decides them (e.g. the image
            the referred objects are annotated on); empty: the template's ``images``.
    """

    values: dict[str, str]
    options: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    boxes: tuple[tuple[int, int, int, int, int], ...] = field(default_factory=tuple)
    image_roles: tuple[str, ...] = ()


def draw(seed: int, *keys: str, n: int) -> int:
    """Return a deterministic pseudo-random index in ``range(n)`` for the given keys.

    Args:
        seed: Generation seed.
        *keys: Strings identifying the draw (sample id, template id…).
        n: Number of choices (> 0).

    Returns:
        An index, the same for the same seed and keys on every machine.
    """
    if n <= 0:
        raise ValueError("cannot draw from an empty set")
    text = "|".join([str(seed), *keys]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") % n


def landcover_multilabel(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Multi-label land-cover classification from BigEarthNet CLC labels (v1: 43, v2: 19)."""
    if sample.labels.scheme == "ben19":
        if config.class_set != "ben19":
            raise NotApplicable("no_clc43_labels")
        options, classes = BEN19_NAMES, tuple(sorted(set(sample.labels.classes)))
    elif sample.labels.scheme != "clc43":
        raise NotApplicable("no_clc_labels")
    elif config.class_set == "ben19":
        options, classes = BEN19_NAMES, to_ben19(sample.labels.classes)
    elif config.class_set == "clc43":
        options, classes = CLC43_NAMES, tuple(sorted(set(sample.labels.classes)))
    else:
        raise ValueError(f"unknown class_set {config.class_set!r}; use ben19 or clc43")
    if not classes:
        raise NotApplicable("no_class_in_set")
    return TaskValues(
        values={"options": "; ".join(options), "classes": "; ".join(classes)},
        options=tuple(options),
        answers=tuple(classes),
    )


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


def _buildings(sample: Sample) -> list[ObjectLabel]:
    return [o for o in sample.labels.objects if o.category == "building"]


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


def scale_box(
    bbox: tuple[float, float, float, float], width: int, height: int, scale: int
) -> tuple[int, int, int, int, int]:
    """Convert a pixel box to the ``0..scale`` grid, rounding outwards so it still encloses.

    Args:
        bbox: ``(x1, y1, x2, y2)`` in pixels.
        width: Image width in pixels.
        height: Image height in pixels.
        scale: Grid size (100 for EarthDial).

    Returns:
        ``(x1, y1, x2, y2, angle)`` integers with ``0 <= x1 < x2 <= scale`` (same for y) and
        angle 0 (boxes are axis-aligned).
    """
    x1, y1, x2, y2 = bbox

    def lo(v: float, size: int) -> int:
        return min(max(math.floor(v / size * scale), 0), scale - 1)

    def hi(v: float, size: int, low: int) -> int:
        return max(min(math.ceil(v / size * scale), scale), low + 1)

    bx1, by1 = lo(x1, width), lo(y1, height)
    return (bx1, by1, hi(x2, width, bx1), hi(y2, height, by1), 0)


def format_boxes(boxes: tuple[tuple[int, int, int, int, int], ...]) -> str:
    """Write boxes in EarthDial's form, ``[[x1, y1, x2, y2, angle]][[…]]``."""
    return "".join(f"[[{a}, {b}, {c}, {d}, {e}]]" for a, b, c, d, e in boxes)


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


Builder = Callable[[Sample, GenerationConfig], TaskValues]


def yes_no(value: bool) -> str:
    """Return ``Yes`` or ``No``."""
    return "Yes" if value else "No"


def join_phrases(items: list[str]) -> str:
    """Join phrases as English prose: ``a``, ``a and b``, ``a, b and c``."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
