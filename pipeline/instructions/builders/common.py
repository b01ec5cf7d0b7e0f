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
from collections.abc import Callable
from dataclasses import dataclass, field

from eoinstruct.pipeline.records import Sample


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
        turns: For a multi-turn template, the ids of the exchanges to ask, in order (a
            builder leaves out follow-ups its labels cannot answer); empty: all of them.
    """

    values: dict[str, str]
    options: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    boxes: tuple[tuple[int, int, int, int, int], ...] = field(default_factory=tuple)
    image_roles: tuple[str, ...] = ()
    turns: tuple[str, ...] = ()


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
        angle 0 (boxes are axis-aligned). The product is taken before the division, so a
        pixel edge on a grid line lands exactly on it (``28 * 100 / 200 == 14``).
    """
    x1, y1, x2, y2 = bbox

    def lo(v: float, size: int) -> int:
        return min(max(math.floor(v * scale / size), 0), scale - 1)

    def hi(v: float, size: int, low: int) -> int:
        return max(min(math.ceil(v * scale / size), scale), low + 1)

    bx1, by1 = lo(x1, width), lo(y1, height)
    return (bx1, by1, hi(x2, width, bx1), hi(y2, height, by1), 0)


def format_boxes(boxes: tuple[tuple[int, int, int, int, int], ...]) -> str:
    """Write boxes in EarthDial's form, ``[[x1, y1, x2, y2, angle]][[…]]``."""
    return "".join(f"[[{a}, {b}, {c}, {d}, {e}]]" for a, b, c, d, e in boxes)


Builder = Callable[[Sample, GenerationConfig], TaskValues]


def yes_no(value: bool) -> str:
    """Return ``Yes`` or ``No``."""
    return "Yes" if value else "No"
