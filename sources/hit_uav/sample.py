"""Write a tiny HIT-UAV dataset in the real layout, with synthetic thermal frames and boxes.

What is real: the layout ``normal_xml/{Annotations,JPEGImages,ImageSets/Main}``, the VOC XML
keys (``filename``, ``size/{width,height,depth}``, ``object/{name,pose,truncated,difficult,
bndbox/{xmin,ymin,xmax,ymax}}``), the five class names (Person, Car, Bicycle, OtherVehicle,
DontCare) and frame names ``<daylight>_<altitude>_<angle>_<scene>_<index>`` (UNVERIFIED).

What is synthetic: every pixel (a cool, textured ground with warm roads; warm people, cars,
bicycles and other vehicles as bright blobs), every box, and the size: frames are **160x128**
grey JPEGs instead of 640x512, to keep the corpus small.

BAD_UNITS (unit → the kind it fails with):

| unit | what is wrong | kind |
|---|---|---|
| ``0_60_30_0_09001`` | the XML is cut off mid-element | ``malformed_label`` |
| ``0_60_30_0_09002`` | an object of class ``Truck`` (not a HIT-UAV class) | ``malformed_label`` |
| ``0_60_30_0_09003`` | a box reaches below the frame's bottom edge | ``malformed_label`` |
| ``0_60_30_0_09004`` | the frame's JPEG is missing | ``missing_file`` |
| ``0_60_30_0_09005`` | the frame's JPEG is cut off half-way | ``corrupt_raster`` |
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 160, 128
"""Frame size in pixels (real frames: 640x512)."""

SIZES: dict[str, tuple[int, int]] = {
    "Person": (4, 6),
    "Car": (14, 8),
    "Bicycle": (7, 4),
    "OtherVehicle": (20, 10),
    "DontCare": (6, 6),
}
"""Box size (w, h) per class at this scale."""

GOOD_UNITS: dict[str, dict[str, int]] = {
    "0_60_30_0_01001": {"Person": 3, "Car": 1},
    "0_70_60_1_01002": {"Car": 4},
    "0_80_90_2_01003": {"Person": 1, "Bicycle": 2},
    "1_100_90_3_01004": {"Person": 5, "Car": 2, "OtherVehicle": 1},
    "1_120_60_4_01005": {"Car": 2, "Bicycle": 1},
    "0_90_45_5_01006": {"OtherVehicle": 2, "Person": 2},
    "1_130_30_6_01007": {"Person": 2, "Car": 3, "DontCare": 1},
    "0_60_90_7_01008": {},
}
"""Good frames → objects per class."""

SPLIT_OF: dict[str, str] = {"0_80_90_2_01003": "val", "1_120_60_4_01005": "test"}
"""Frames listed in val.txt / test.txt; every other frame is in train.txt."""

BAD_UNITS: dict[str, str] = {
    "0_60_30_0_09001": "malformed_label",
    "0_60_30_0_09002": "malformed_label",
    "0_60_30_0_09003": "malformed_label",
    "0_60_30_0_09004": "missing_file",
    "0_60_30_0_09005": "corrupt_raster",
}
"""Deliberately broken frames → failure kind (table in the module docstring)."""

_BAD_OBJECTS: dict[str, dict[str, int]] = {
    "0_60_30_0_09001": {"Person": 2},
    "0_60_30_0_09002": {"Car": 1, "Truck": 1},
    "0_60_30_0_09003": {"Car": 2},
    "0_60_30_0_09004": {"Person": 1},
    "0_60_30_0_09005": {"Car": 1},
}

Box = tuple[int, int, int, int]


def _place(rng: np.random.Generator, objects: dict[str, int]) -> list[tuple[str, Box]]:
    placed: list[tuple[str, Box]] = []
    for name, n in objects.items():
        w, h = SIZES.get(name, (16, 8))
        for _ in range(n):
            while True:
                x, y = int(rng.integers(1, WIDTH - w - 1)), int(rng.integers(1, HEIGHT - h - 1))
                box = (x, y, x + w, y + h)
                if all(box[2] + 2 < b[0] or b[2] + 2 < box[0] or box[3] + 2 < b[1]
                       or b[3] + 2 < box[1] for _, b in placed):  # fmt: skip
                    placed.append((name, box))
                    break
    return placed


def _frame(rng: np.random.Generator, placed: list[tuple[str, Box]]) -> bytes:
    ground = rng.normal(70, 8, (HEIGHT, WIDTH))
    ground[HEIGHT // 2 - 8 : HEIGHT // 2 + 8, :] += 25  # a warm road across the frame
    image = Image.fromarray(np.clip(ground, 0, 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(image)
    for _, (x1, y1, x2, y2) in placed:
        draw.ellipse((x1, y1, x2 - 1, y2 - 1), fill=int(rng.integers(190, 250)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _xml(stem: str, placed: list[tuple[str, Box]]) -> str:
    parts = [
        "<annotation>",
        "\t<folder>JPEGImages</folder>",
        f"\t<filename>{stem}.jpg</filename>",
        f"\t<size>\n\t\t<width>{WIDTH}</width>\n\t\t<height>{HEIGHT}</height>\n"
        "\t\t<depth>1</depth>\n\t</size>",
    ]
    for name, (x1, y1, x2, y2) in placed:
        parts.append(
            f"\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n"
            "\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
            f"\t\t<bndbox>\n\t\t\t<xmin>{x1}</xmin>\n\t\t\t<ymin>{y1}</ymin>\n"
            f"\t\t\t<xmax>{x2}</xmax>\n\t\t\t<ymax>{y2}</ymax>\n\t\t</bndbox>\n\t</object>"
        )
    parts.append("</annotation>\n")
    return "\n".join(parts)


def write(root: Path, seed: int) -> None:
    """Write the sample HIT-UAV dataset under ``root`` (same seed → byte-identical files).

    Args:
        root: Folder to hold ``normal_xml/``.
        seed: Random seed (each frame draws from ``default_rng([seed, index])``).
    """
    base = Path(root) / "normal_xml"
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    frames = [*GOOD_UNITS.items(), *_BAD_OBJECTS.items()]
    lists: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for index, (stem, objects) in enumerate(frames):
        rng = np.random.default_rng([seed, index])
        placed = _place(rng, objects)
        bad = BAD_UNITS.get(stem, "")
        jpeg = _frame(rng, placed)
        if stem == "0_60_30_0_09003":
            name, (x1, _, x2, _) = placed[0]
            placed[0] = (name, (x1, HEIGHT - 4, x2, HEIGHT + 5))
        xml = _xml(stem, placed)
        if bad == "malformed_label" and stem == "0_60_30_0_09001":
            xml = xml[: len(xml) // 2]
        (base / "Annotations" / f"{stem}.xml").write_text(xml, encoding="utf-8")
        if bad == "corrupt_raster":
            jpeg = jpeg[: len(jpeg) // 2]
        if bad != "missing_file":
            (base / "JPEGImages" / f"{stem}.jpg").write_bytes(jpeg)
        lists[SPLIT_OF.get(stem, "train")].append(stem)
    for split, stems in lists.items():
        text = "".join(f"{s}\n" for s in stems)
        (base / "ImageSets" / "Main" / f"{split}.txt").write_text(text, encoding="utf-8")
