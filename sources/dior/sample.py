"""Write a tiny DIOR / DIOR-R dataset in the release layout, with synthetic pixels and objects.

What is real: the layout ``Images/{trainval,test}/<6-digit id>.jpg``, ``Annotations/Horizontal
Bounding Boxes/<id>.xml`` (VOC: ``filename``, ``size``, ``object``/``name``/``bndbox``) and
``Annotations/Oriented Bounding Boxes/<id>.xml`` (``robndbox`` corners ``x_left_top`` …
``y_left_bottom``), the class names as the release spells them (``Expressway-Service-area``,
``storagetank``…). What is synthetic: every pixel (textured ground, each object a filled,
outlined rotated rectangle), the objects (3 to 5 per image, at least three classes, in
distinct cells of a 3 x 3 grid) and the image size, **200x200** instead of 800x800.

Good images: 4 in ``trainval`` and 2 in ``test`` (:data:`GOOD`). Deliberately bad units
(:data:`BAD_UNITS`):

========================  =================================================  ===================
unit                      what is wrong                                      failure kind
========================  =================================================  ===================
``trainval/000900``       the horizontal and oriented XML are cut mid-file     ``malformed_label``
``trainval/000901``       an object's box reaches x = 260 in a 200 px image    ``malformed_label``
``trainval/000902``       an object of class ``helipad`` (not a DIOR class)    ``malformed_label``
``-/000903``              annotations without an image                       ``missing_file``
========================  =================================================  ===================
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 200
GOOD: tuple[tuple[str, str], ...] = (
    ("trainval", "000011"),
    ("trainval", "000012"),
    ("trainval", "000013"),
    ("trainval", "000014"),
    ("test", "011726"),
    ("test", "011727"),
)
BAD_UNITS: dict[str, str] = {
    "trainval/000900": "malformed_label",
    "trainval/000901": "malformed_label",
    "trainval/000902": "malformed_label",
    "-/000903": "missing_file",
}
"""Bad unit → the failure kind the adapter must raise."""

_NAMES = (
    "airplane", "ship", "storagetank", "vehicle", "tenniscourt", "basketballcourt",
    "bridge", "windmill", "chimney", "Expressway-Service-area", "groundtrackfield", "harbor",
)  # fmt: skip
_COLOURS = {
    n: (60 + 15 * i % 190, 200 - 13 * i % 150, 90 + 29 * i % 160) for i, n in enumerate(_NAMES)
}

Quad = tuple[tuple[float, float], ...]


def _objects(rng: np.random.Generator) -> list[tuple[str, Quad]]:
    n = int(rng.integers(3, 6))
    cells = rng.permutation(9)[:n]
    names = list(rng.choice(len(_NAMES), size=3, replace=False))
    names += list(rng.choice(len(_NAMES), size=n - 3))
    found = []
    for cell, k in zip(cells, names, strict=True):
        cx = (cell % 3) * SIZE / 3 + SIZE / 6 + float(rng.uniform(-8, 8))
        cy = (cell // 3) * SIZE / 3 + SIZE / 6 + float(rng.uniform(-8, 8))
        w, h = float(rng.uniform(14, 40)), float(rng.uniform(8, 24))
        angle = math.radians(float(rng.choice([0.0, float(rng.uniform(-60, 60))])))
        c, s = math.cos(angle), math.sin(angle)
        quad = tuple(
            (round(cx + dx * c - dy * s, 1), round(cy + dx * s + dy * c, 1))
            for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
        )
        found.append((_NAMES[int(k)], quad))
    return found


def _pixels(objects: list[tuple[str, Quad]], rng: np.random.Generator) -> Image.Image:
    base = rng.normal(110, 12, size=(SIZE, SIZE, 1)) + rng.normal(0, 6, size=(SIZE, SIZE, 3))
    base += np.array([0, 8, -10])
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for name, quad in objects:
        draw.polygon(list(quad), fill=_COLOURS.get(name, (200, 200, 200)), outline=(20, 20, 20))
    return im


def _xml(native: str, objects: list[tuple[str, Quad]], oriented: bool) -> str:
    parts = [
        "<annotation>",
        f"  <filename>{native}.jpg</filename>",
        "  <source>",
        "    <database>DIOR</database>",
        "  </source>",
        "  <size>",
        f"    <width>{SIZE}</width>",
        f"    <height>{SIZE}</height>",
        "    <depth>3</depth>",
        "  </size>",
        "  <segmented>0</segmented>",
    ]
    for name, quad in objects:
        parts += ["  <object>", f"    <name>{name}</name>", "    <pose>Unspecified</pose>"]
        if oriented:
            parts.append("    <robndbox>")
            for (x, y), corner in zip(
                quad, ("left_top", "right_top", "right_bottom", "left_bottom"), strict=True
            ):
                parts += [
                    f"      <x_{corner}>{x:g}</x_{corner}>",
                    f"      <y_{corner}>{y:g}</y_{corner}>",
                ]
            parts.append("    </robndbox>")
        else:
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            box = (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))
            parts += ["    <bndbox>"]
            parts += [
                f"      <{t}>{v}</{t}>"
                for t, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True)
            ]
            parts += ["    </bndbox>"]
        parts.append("  </object>")
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def _write(
    root: Path,
    split: str,
    native: str,
    objects: list[tuple[str, Quad]],
    rng: np.random.Generator,
    bad: str = "",
) -> None:
    horizontal = _xml(native, objects, oriented=False)
    oriented = _xml(native, objects, oriented=True)
    if bad == "truncated":
        horizontal, oriented = horizontal[: len(horizontal) // 2], oriented[: len(oriented) // 2]
    (root / "Annotations" / "Horizontal Bounding Boxes" / f"{native}.xml").write_text(horizontal)
    (root / "Annotations" / "Oriented Bounding Boxes" / f"{native}.xml").write_text(oriented)
    if split != "-":
        _pixels(objects, rng).save(root / "Images" / split / f"{native}.jpg", quality=90)


def write(root: Path, seed: int) -> None:
    """Write the sample DIOR dataset under ``root`` (created if needed).

    The same seed gives byte-identical files; each image draws from
    ``numpy.random.default_rng([seed, index])``.

    Args:
        root: Folder to hold ``Images/`` and ``Annotations/``.
        seed: Random seed.
    """
    root = Path(root)
    for sub in ("Images/trainval", "Images/test", "Annotations/Horizontal Bounding Boxes",
                "Annotations/Oriented Bounding Boxes"):  # fmt: skip
        (root / sub).mkdir(parents=True, exist_ok=True)
    for index, (split, native) in enumerate(GOOD):
        rng = np.random.default_rng([seed, index])
        _write(root, split, native, _objects(rng), rng)
    for index, unit in enumerate(BAD_UNITS, start=len(GOOD)):
        rng = np.random.default_rng([seed, index])
        split, native = unit.split("/")
        objects = _objects(rng)
        bad = ""
        if native == "000900":
            bad = "truncated"
        elif native == "000901":
            name, quad = objects[0]
            objects[0] = (name, ((260.0, quad[0][1]), *quad[1:]))
        elif native == "000902":
            objects[0] = ("helipad", objects[0][1])
        _write(root, split, native, objects, rng, bad)
