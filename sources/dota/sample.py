"""Write a tiny DOTA dataset in the release layout, with synthetic pixels and objects.

What is real: the layout ``{train,val}/images/P<4-digit id>.png`` and ``{train,val}/labelTxt/
P<id>.txt``, the label format (header lines ``imagesource:<name>`` and ``gsd:<metres or null>``,
then ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` per object, corners clockwise) and the v1.0
class names. What is synthetic: every pixel (textured ground, each object a filled rotated
rectangle) and the objects (10 to 14 per image on a jittered grid, some cut by chip edges);
images are 400 to 600 pixels a side instead of DOTA's 800 to 4000, so the sample build's
``chip_size: 256``, ``overlap: 64`` gives several chips per image.

Good images (:data:`GOOD`): ``train/P0011`` (600x400), ``train/P0012`` (400x560),
``val/P0013`` (480x480). Deliberately bad units (:data:`BAD_UNITS`):

===================  ================================================  ===================
unit                 what is wrong                                     failure kind
===================  ================================================  ===================
``train/P0900``      a line with 7 coordinates (odd count)             ``malformed_label``
``train/P0901``      a label file without its image                    ``missing_file``
``train/P0902``      an object of class ``tower`` (not a DOTA class)   ``malformed_label``
``train/P0903``      a corner at x = 700 in a 200-pixel-wide image     ``malformed_label``
===================  ================================================  ===================
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

GOOD: tuple[tuple[str, str, int, int, str], ...] = (
    ("train", "P0011", 600, 400, "imagesource:GoogleEarth\ngsd:0.5"),
    ("train", "P0012", 400, 560, "imagesource:GF2\ngsd:0.8"),
    ("val", "P0013", 480, 480, "imagesource:GoogleEarth\ngsd:null"),
)
BAD_UNITS: dict[str, str] = {
    "train/P0900": "malformed_label",
    "train/P0901": "missing_file",
    "train/P0902": "malformed_label",
    "train/P0903": "malformed_label",
}
"""Bad unit → the failure kind the adapter must raise."""

_CLASSES = (
    "plane", "ship", "storage-tank", "tennis-court", "basketball-court", "harbor",
    "small-vehicle", "large-vehicle", "swimming-pool", "roundabout",
)  # fmt: skip
_COLOURS = {
    c: (50 + 37 * i % 200, 220 - 23 * i % 170, 70 + 41 * i % 180) for i, c in enumerate(_CLASSES)
}

Object = tuple[str, tuple[tuple[float, float], ...], int]


def _objects(rng: np.random.Generator, width: int, height: int) -> list[Object]:
    cols, rows = width // 100, height // 110
    cells = rng.permutation(cols * rows)[: int(rng.integers(10, 15))]
    found: list[Object] = []
    for cell in cells:
        cx = (cell % cols + 0.5) * width / cols + float(rng.uniform(-15, 15))
        cy = (cell // cols + 0.5) * height / rows + float(rng.uniform(-15, 15))
        w, h = float(rng.uniform(16, 50)), float(rng.uniform(10, 26))
        angle = math.radians(float(rng.uniform(-80, 80)))
        c, s = math.cos(angle), math.sin(angle)
        quad = tuple(
            (round(cx + dx * c - dy * s, 1), round(cy + dx * s + dy * c, 1))
            for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
        )
        found.append((_CLASSES[int(rng.integers(len(_CLASSES)))], quad, int(rng.random() < 0.15)))
    return found


def _pixels(
    width: int, height: int, objects: list[Object], rng: np.random.Generator
) -> Image.Image:
    coarse = rng.integers(90, 140, size=(height // 8 + 1, width // 8 + 1, 1))
    base = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:height, :width]
    base = base + rng.integers(0, 4, size=(height, width, 1)) + np.array([0, 6, -8])
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for name, quad, _ in objects:
        draw.polygon(list(quad), fill=_COLOURS.get(name, (210, 210, 210)), outline=(15, 15, 15))
    return im


def _label(header: str, objects: list[Object]) -> str:
    lines = [header] if header else []
    for name, quad, difficult in objects:
        coords = " ".join(f"{v:.1f}" for p in quad for v in p)
        lines.append(f"{coords} {name} {difficult}")
    return "\n".join(lines) + "\n"


def write(root: Path, seed: int) -> None:
    """Write the sample DOTA dataset under ``root`` (created if needed).

    The same seed gives byte-identical files; each image draws from
    ``numpy.random.default_rng([seed, index])``.

    Args:
        root: Folder to hold ``train/`` and ``val/``.
        seed: Random seed.
    """
    root = Path(root)
    for split in ("train", "val"):
        for sub in ("images", "labelTxt"):
            (root / split / sub).mkdir(parents=True, exist_ok=True)
    for index, (split, stem, width, height, header) in enumerate(GOOD):
        rng = np.random.default_rng([seed, index])
        objects = _objects(rng, width, height)
        (root / split / "labelTxt" / f"{stem}.txt").write_text(_label(header, objects))
        _pixels(width, height, objects, rng).save(root / split / "images" / f"{stem}.png")
    for index, unit in enumerate(BAD_UNITS, start=len(GOOD)):
        rng = np.random.default_rng([seed, index])
        split, stem = unit.split("/")
        objects = _objects(rng, 200, 220)
        text = _label("imagesource:GoogleEarth\ngsd:0.5", objects)
        if stem == "P0900":
            first = text.splitlines()[2].split()
            text = text.replace(" ".join(first), " ".join(first[:7] + first[8:]), 1)
        elif stem == "P0902":
            text = text.replace(f" {objects[0][0]} ", " tower ", 1)
        elif stem == "P0903":
            first = text.splitlines()[2].split()
            text = text.replace(" ".join(first), " ".join(["700.0", *first[1:]]), 1)
        (root / split / "labelTxt" / f"{stem}.txt").write_text(text)
        if stem != "P0901":
            _pixels(200, 220, objects, rng).save(root / split / "images" / f"{stem}.png")
