"""Write a tiny HRSID dataset in the real layout, with synthetic SAR chips and ship boxes.

What is real: the layout ``annotations/{train2017,test2017}.json`` + ``JPEGImages/<chip>.jpg``,
the COCO keys (``images``: ``file_name``, ``height``, ``width``, ``id``; ``annotations``:
``id``, ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``, ``area``, ``iscrowd``,
``segmentation``; ``categories``: ``ship``), chip names ``P<panorama>_<x0>_<x1>_<y0>_<y1>``
(as HRSID names its crops; UNVERIFIED), and ship-free chips with no annotation (4 of the
12 good chips here, so that presence and counting questions can be answered No and 0).

What is synthetic: every pixel (Rayleigh sea clutter, bright elongated ship returns with a
weaker wake of side lobes), every box, and the size: chips are **160x160** grey JPEGs instead
of 800x800, to keep the corpus small.

BAD_UNITS (unit → the kind it fails with), all in ``train2017``:

| unit | what is wrong | kind |
|---|---|---|
| ``train2017/P0009_0_800_800_1600`` | a box past the chip's right edge | ``malformed_label`` |
| ``train2017/P0009_800_1600_0_800`` | ``category_id`` 7 (not ship) | ``malformed_label`` |
| ``train2017/P0009_800_1600_800_1600`` | a bbox of three numbers | ``malformed_label`` |
| ``train2017/P0010_0_800_0_800`` | the chip's JPEG is missing | ``missing_file`` |
| ``train2017/P0010_0_800_800_1600`` | the chip's JPEG is cut off half-way | ``corrupt_raster`` |
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

SIZE = 160
"""Chip side in pixels (real chips: 800)."""

GOOD_UNITS: dict[str, int] = {
    "train2017/P0001_0_800_0_800": 0,
    "train2017/P0001_0_800_800_1600": 1,
    "train2017/P0002_800_1600_0_800": 2,
    "train2017/P0003_0_800_1600_2400": 3,
    "train2017/P0004_1600_2400_0_800": 4,
    "train2017/P0005_0_800_0_800": 5,
    "train2017/P0006_800_1600_800_1600": 1,
    "train2017/P0007_0_800_2400_3200": 2,
    "train2017/P0008_0_800_0_800": 0,
    "train2017/P0008_800_1600_0_800": 0,
    "test2017/P0101_0_800_0_800": 3,
    "test2017/P0102_800_1600_0_800": 0,
}
"""Good chips → how many ships each holds."""

BAD_UNITS: dict[str, str] = {
    "train2017/P0009_0_800_800_1600": "malformed_label",
    "train2017/P0009_800_1600_0_800": "malformed_label",
    "train2017/P0009_800_1600_800_1600": "malformed_label",
    "train2017/P0010_0_800_0_800": "missing_file",
    "train2017/P0010_0_800_800_1600": "corrupt_raster",
}
"""Deliberately broken chips → failure kind (table in the module docstring)."""


def _ship_boxes(rng: np.random.Generator, n: int) -> list[tuple[int, int, int, int]]:
    """``n`` non-overlapping ship boxes ``(x, y, w, h)`` inside the chip."""
    boxes: list[tuple[int, int, int, int]] = []
    while len(boxes) < n:
        long, short = int(rng.integers(14, 34)), int(rng.integers(5, 9))
        w, h = (long, short) if rng.random() < 0.5 else (short, long)
        x, y = int(rng.integers(2, SIZE - w - 2)), int(rng.integers(2, SIZE - h - 2))
        if all(x + w + 3 < a or a + c + 3 < x or y + h + 3 < b or b + d + 3 < y
               for a, b, c, d in boxes):  # fmt: skip
            boxes.append((x, y, w, h))
    return boxes


def _chip(rng: np.random.Generator, boxes: list[tuple[int, int, int, int]]) -> bytes:
    sea = rng.rayleigh(18.0, (SIZE, SIZE))
    image = Image.fromarray(np.clip(sea + 12, 0, 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(image)
    for x, y, w, h in boxes:
        draw.ellipse((x, y, x + w - 1, y + h - 1), fill=int(rng.integers(200, 256)))
        cx, cy = x + w // 2, y + h // 2
        draw.point((cx, cy), fill=255)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def write(root: Path, seed: int) -> None:
    """Write the sample HRSID dataset under ``root`` (same seed → byte-identical files).

    Args:
        root: Folder to hold ``annotations/`` and ``JPEGImages/``.
        seed: Random seed (each chip draws from ``default_rng([seed, index])``).
    """
    root = Path(root)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {
        stem: {"images": [], "annotations": [], "categories": [
            {"id": 1, "name": "ship", "supercategory": "ship"}]}
        for stem in ("train2017", "test2017")
    }  # fmt: skip
    ann_id = 0
    units = [(u, n, "") for u, n in GOOD_UNITS.items()]
    units += [(u, 2, k) for u, k in BAD_UNITS.items()]
    for index, (unit, n, bad) in enumerate(units):
        rng = np.random.default_rng([seed, index])
        stem, chip = unit.split("/")
        data = files[stem]
        image_id = index + 1
        data["images"].append(
            {"file_name": f"{chip}.jpg", "height": SIZE, "width": SIZE, "id": image_id}
        )
        boxes = _ship_boxes(rng, n)
        jpeg = _chip(rng, boxes)
        for k, (x, y, w, h) in enumerate(boxes):
            ann_id += 1
            bbox: list[int] = [x, y, w, h]
            category = 1
            if k == 0 and unit.endswith("P0009_0_800_800_1600"):
                bbox = [SIZE - 10, y, 24, h]  # past the right edge
            if k == 0 and unit.endswith("P0009_800_1600_0_800"):
                category = 7
            if k == 0 and unit.endswith("P0009_800_1600_800_1600"):
                bbox = [x, y, w]
            poly = [x, y, x + w, y, x + w, y + h, x, y + h]
            data["annotations"].append({
                "id": ann_id, "image_id": image_id, "category_id": category, "bbox": bbox,
                "area": w * h, "iscrowd": 0, "segmentation": [poly]})  # fmt: skip
        if bad == "missing_file":
            continue
        if bad == "corrupt_raster":
            jpeg = jpeg[: len(jpeg) // 2]
        (root / "JPEGImages" / f"{chip}.jpg").write_bytes(jpeg)
    for stem, data in files.items():
        (root / "annotations" / f"{stem}.json").write_text(json.dumps(data), encoding="utf-8")
