"""Write a tiny SkyScript dataset in the real layout, with synthetic pixels, tags and captions.

What is real (``docs/source-formats.md`` §3, citing wangzhecheng/SkyScript ``README.md`` and
``image_sources.py``, and torchgeo's fixture ``tests/data/skyscript``):

- the layout: ``images2/``, ``images3/`` of ``<t><osm_id>_<SRC>_<yy>.jpg`` RGB JPEGs
  (``t`` in ``a``/``w``/``n``, real imagery-source codes, the two-digit capture year);
  ``meta2/``, ``meta3/`` of ``<stem>.pickle`` files (the ``metaN`` folder names are
  UNVERIFIED); the caption CSVs in ``dataframe/`` (the download URL's folder) with their real
  names ``SkyScript_{train_top30pct,train_top50pct,val_5K,test_30K}_filtered_by_CLIP_openai.csv``
  and torchgeo's header ``filepath,title,title_multi_objects,similarity_CLIP_openai``; the
  top-30 % list is a subset of the top-50 % one, as in the real release;
- the meta pickle schema: a dict ``{"box": (west, south, east, north), "time": (year, month,
  day, hour, minute), "center_tags": {key: value}, "surrounding_tags": [{key: value}, …]}``
  of plain Python types, pickled with protocol 4;
- OSM keys and values (``highway=track``, ``landuse=orchard`` + ``trees=olive_trees``…),
  plausible places for each imagery source (SWISSIMAGE in Switzerland, NAIP in Iowa, the
  Brandenburg orthophotos near Potsdam…) and years within each collection's coverage.

What is synthetic: every pixel (simple drawn scenes — crop rows, field patchworks, roads,
roofs with shadows, tree crowns, an olive grove, a lake, boreal forest — over smooth noise,
saved as baseline JPEG at quality 88 with 4:2:0 subsampling and no EXIF, so bytes are
deterministic), the OSM ids, tags, times, captions and CLIP similarities. Image sizes (160 to
256 px) and the export pixel sizes are guesses (the real ones are UNVERIFIED); the boxes are
consistent with them, so the pixel size measured from a box is the spec's ``pixel_m``. The
SWISSIMAGE image is exported at 0.3 m, coarser than the collection's 10 cm.

Good images: 7 (:data:`GOOD_IMAGES`): 3 train, 2 validation, 2 test. Deliberately bad units
(:data:`BAD_UNITS`), on which other stages rely by name:

- ``images3/w600100200_US_20.jpg``: listed in the validation CSV, meta present, image file
  missing → ingest failure ``missing_file``.
- ``images2/a600100201_CH_19.jpg``: JPEG cut to half its length (the header reads, the
  pixels do not) → score failure ``corrupt_raster``.
- ``images2/w600100202_US_21.jpg``: a tiny (22×13) all-black JPEG like torchgeo's fixture
  images, with valid meta → dropped ``too_dark``.
- ``images3/n600100203_DE_19.jpg``: a good image whose meta pickle holds a list, not a dict →
  ingest failure ``malformed_label``.
"""

from __future__ import annotations

import csv
import io
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from eoinstruct.sources.geo import M_PER_DEG_LAT, M_PER_DEG_LON

CSV_HEADER: tuple[str, ...] = ("filepath", "title", "title_multi_objects", "similarity_CLIP_openai")
"""Header of the caption CSVs (torchgeo's fixture)."""

TRAIN30 = "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv"
TRAIN50 = "SkyScript_train_top50pct_filtered_by_CLIP_openai.csv"
VAL = "SkyScript_val_5K_filtered_by_CLIP_openai.csv"
TEST = "SkyScript_test_30K_filtered_by_CLIP_openai.csv"
CSV_NAMES: tuple[str, ...] = (TRAIN30, TRAIN50, VAL, TEST)
"""The caption CSVs written to ``dataframe/``."""

JPEG_QUALITY = 88
PICKLE_PROTOCOL = 4


@dataclass(frozen=True)
class ImageSpec:
    """One image of the sample corpus and its meta.

    Attributes:
        filepath: The CSV ``filepath`` (``images<N>/<t><osm_id>_<SRC>_<yy>.jpg``).
        scene: Name of the drawing function in :data:`_SCENES`.
        width: Image width in pixels.
        height: Image height in pixels.
        lon: Longitude of the image centre.
        lat: Latitude of the image centre.
        pixel_m: Ground size of a pixel in metres (the box is sized from it).
        time: The meta ``time`` tuple ``(year, month, day, hour, minute)``.
        center_tags: Tags of the focus object.
        surrounding_tags: Tags of the surrounding objects.
        title: The ``title`` caption.
        title_multi_objects: The ``title_multi_objects`` caption.
        similarity: The ``similarity_CLIP_openai`` value.
        csvs: The CSVs that list the image.
    """

    filepath: str
    scene: str
    width: int
    height: int
    lon: float
    lat: float
    pixel_m: float
    time: tuple[int, int, int, int, int]
    center_tags: dict[str, str]
    surrounding_tags: tuple[dict[str, str], ...]
    title: str
    title_multi_objects: str
    similarity: float
    csvs: tuple[str, ...] = field(default=())

    @property
    def stem(self) -> str:
        """The file name without folder and extension."""
        return Path(self.filepath).stem

    @property
    def meta_path(self) -> str:
        """Path of the meta pickle relative to the root (``meta<N>/<stem>.pickle``)."""
        folder = Path(self.filepath).parent.name.replace("images", "meta")
        return f"{folder}/{self.stem}.pickle"

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the image, rounded to 1e-7 degrees."""
        half_w = self.width * self.pixel_m / 2 / (M_PER_DEG_LON * math.cos(math.radians(self.lat)))
        half_h = self.height * self.pixel_m / 2 / M_PER_DEG_LAT
        return (
            round(self.lon - half_w, 7),
            round(self.lat - half_h, 7),
            round(self.lon + half_w, 7),
            round(self.lat + half_h, 7),
        )

    def meta(self) -> dict[str, object]:
        """The meta dict as pickled (key order as in the SkyScript README)."""
        return {
            "box": self.box,
            "time": self.time,
            "center_tags": dict(self.center_tags),
            "surrounding_tags": [dict(t) for t in self.surrounding_tags],
        }


_T30 = (TRAIN30, TRAIN50)

GOOD_IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec(
        "images2/w245678912_CH_18.jpg", "fields_track", 256, 256, 6.93831, 46.82052, 0.3,
        (2018, 6, 21, 9, 40),
        {"highway": "track", "tracktype": "grade2", "surface": "gravel"},
        ({"landuse": "farmland"}, {"landuse": "farmland"}, {"landuse": "meadow"}),
        "a satellite image of a gravel track",
        "a satellite image of a gravel track; farmland and a meadow nearby",
        0.3312, _T30,
    ),
    ImageSpec(
        "images2/a512093477_US_19.jpg", "farmland", 224, 224, -93.61842, 42.03127, 1.0,
        (2019, 8, 3, 16, 12),
        {"landuse": "farmland"},
        (
            {"building": "farm"}, {"building": "farm_auxiliary"}, {"building": "farm_auxiliary"},
            {"landuse": "farmyard"}, {"highway": "unclassified", "surface": "gravel"},
        ),
        "a satellite image of farmland",
        "a satellite image of farmland; a farm building, a farmyard and a gravel road nearby",
        0.3187, _T30,
    ),
    ImageSpec(
        "images3/w398127734_FI_19.jpg", "forest_road", 256, 192, 23.76418, 61.49803, 0.5,
        (2019, 6, 2, 8, 30),
        {"highway": "residential", "surface": "asphalt"},
        (
            {"building": "house"}, {"building": "house"}, {"building": "house"},
            {"landuse": "forest"}, {"natural": "wood", "leaf_type": "needleleaved"},
        ),
        "a satellite image of an asphalt residential road",
        "a satellite image of an asphalt residential road; houses and a forest nearby",
        0.2874, (TRAIN50,),
    ),
    ImageSpec(
        "images2/n837261045_DE_20.jpg", "water_tower", 192, 192, 13.06127, 52.39874, 0.2,
        (2020, 5, 14, 10, 5),
        {"man_made": "water_tower", "building": "yes"},
        (
            {"building": "residential"}, {"building": "residential"},
            {"highway": "residential"}, {"natural": "tree"}, {"natural": "tree"},
        ),
        "a satellite image of a water tower",
        "a satellite image of a water tower; residential buildings, a road and trees nearby",
        0.3021, (VAL,),
    ),
    ImageSpec(
        "images3/w77312456_L8_18.jpg", "boreal_forest", 160, 160, 25.71935, 62.21588, 30.0,
        (2018, 7, 28, 9, 35),
        {"landuse": "forest", "leaf_type": "needleleaved"},
        ({"natural": "water", "water": "lake"}, {"natural": "water", "water": "lake"},
         {"natural": "wetland"}),
        "a satellite image of a needleleaved forest",
        "a satellite image of a needleleaved forest; lakes and a wetland nearby",
        0.2795, (VAL,),
    ),
    ImageSpec(
        "images3/a174562390_ES_20.jpg", "olive_grove", 256, 256, -3.79214, 37.78311, 0.5,
        (2020, 7, 9, 11, 0),
        {"landuse": "orchard", "trees": "olive_trees"},
        ({"highway": "track"}, {"building": "yes"}),
        "a satellite image of an olive orchard",
        "a satellite image of an olive orchard; a track and a building nearby",
        0.3406, (TEST,),
    ),
    ImageSpec(
        "images3/a120938475_S2_21.jpg", "lake", 200, 200, 13.64712, 52.43885, 10.0,
        (2021, 8, 17, 10, 20),
        {"natural": "water", "water": "lake"},
        ({"landuse": "forest"}, {"landuse": "forest"}, {"landuse": "residential"},
         {"leisure": "park"}),
        "a satellite image of a lake",
        "a satellite image of a lake; forests, a residential area and a park nearby",
        0.2958, (TEST,),
    ),
)  # fmt: skip
"""The images that read and pass the filter: 3 train, 2 validation, 2 test."""

BAD_MISSING = "images3/w600100200_US_20.jpg"
BAD_TRUNCATED = "images2/a600100201_CH_19.jpg"
BAD_BLACK = "images2/w600100202_US_21.jpg"
BAD_META_LIST = "images3/n600100203_DE_19.jpg"

BAD_UNITS: dict[str, str] = {
    BAD_MISSING: "missing_file: listed in the validation CSV, but the image file is missing",
    BAD_TRUNCATED: "corrupt_raster (score): the JPEG is cut to half its length",
    BAD_BLACK: "too_dark: a tiny 22x13 all-black JPEG, like torchgeo's fixture images",
    BAD_META_LIST: "malformed_label: the meta pickle holds a list, not a dict",
}
"""The deliberately bad units and what each should produce."""

_BAD_SPECS: tuple[ImageSpec, ...] = (
    ImageSpec(
        BAD_MISSING, "farmland", 224, 224, -88.25731, 40.11208, 1.0, (2020, 7, 19, 17, 2),
        {"landuse": "farmland"}, ({"highway": "unclassified"},),
        "a satellite image of farmland", "a satellite image of farmland; a road nearby",
        0.2911, (VAL,),
    ),
    ImageSpec(
        BAD_TRUNCATED, "fields_track", 256, 256, 7.41092, 46.95127, 0.3, (2019, 7, 2, 10, 15),
        {"highway": "track", "tracktype": "grade3"}, ({"landuse": "meadow"},),
        "a satellite image of a track", "a satellite image of a track; a meadow nearby",
        0.3254, _T30,
    ),
    ImageSpec(
        BAD_BLACK, "black", 22, 13, -111.89104, 40.76083, 1.0, (2021, 6, 11, 18, 30),
        {"highway": "service", "service": "parking_aisle"}, ({"amenity": "parking"},),
        "a satellite image of a parking aisle",
        "a satellite image of a parking aisle; a parking lot nearby",
        0.2603, (TRAIN50,),
    ),
    ImageSpec(
        BAD_META_LIST, "water_tower", 192, 192, 13.38844, 52.51732, 0.2, (2019, 4, 23, 9, 50),
        {"man_made": "water_tower"}, ({"building": "residential"},),
        "a satellite image of a water tower",
        "a satellite image of a water tower; a residential building nearby",
        0.3105, _T30,
    ),
)  # fmt: skip


def write(root: Path, seed: int) -> None:
    """Write the sample SkyScript dataset under ``root`` (created if needed).

    The same seed gives byte-identical files. Each image draws from its own generator,
    ``numpy.random.default_rng([seed, index])``.

    Args:
        root: Folder to hold ``images2/``, ``images3/``, ``meta2/``, ``meta3/`` and
            ``dataframe/``.
        seed: Random seed.
    """
    root = Path(root)
    for folder in ("images2", "images3", "meta2", "meta3", "dataframe"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    specs = (*GOOD_IMAGES, *_BAD_SPECS)
    for index, spec in enumerate(specs):
        rng = np.random.default_rng([seed, index])
        pixels = _SCENES[spec.scene](rng, spec.width, spec.height)
        data = _jpeg_bytes(pixels)
        if spec.filepath == BAD_TRUNCATED:
            data = data[: len(data) // 2]
        if spec.filepath != BAD_MISSING:
            (root / spec.filepath).write_bytes(data)
        meta: object = spec.meta()
        if spec.filepath == BAD_META_LIST:
            meta = list(spec.meta().items())
        (root / spec.meta_path).write_bytes(pickle.dumps(meta, protocol=PICKLE_PROTOCOL))
    for name in CSV_NAMES:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for spec in specs:
            if name in spec.csvs:
                writer.writerow(
                    (spec.filepath, spec.title, spec.title_multi_objects, f"{spec.similarity}")
                )
        (root / "dataframe" / name).write_bytes(buffer.getvalue().encode("utf-8"))


def _jpeg_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(
        buffer, format="JPEG", quality=JPEG_QUALITY, subsampling="4:2:0", optimize=False
    )
    return buffer.getvalue()


# -- drawing ---------------------------------------------------------------------------------

Colour = tuple[int, int, int]


def _smooth(rng: np.random.Generator, width: int, height: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: a coarse random grid, bicubically enlarged."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1)).astype(np.float32)
    image = Image.fromarray(grid, "F").resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32)


def _finish(rng: np.random.Generator, canvas: Image.Image, grain: float = 5.0) -> np.ndarray:
    """Soften the drawing, add illumination variation and sensor grain, clip to uint8."""
    soft = canvas.filter(ImageFilter.GaussianBlur(0.8))
    array = np.asarray(soft, dtype=np.float32)
    height, width = array.shape[:2]
    light = 1.0 + 0.06 * _smooth(rng, width, height, 3)[..., None]
    array = array * light + rng.normal(0.0, grain, array.shape)
    return np.clip(np.round(array), 0, 255).astype(np.uint8)


def _textured(
    rng: np.random.Generator, width: int, height: int, colour: Colour, amount: float = 14.0
) -> Image.Image:
    """A field of ``colour`` with smooth large-scale variation."""
    base = np.array(colour, dtype=np.float32)[None, None, :]
    variation = amount * _smooth(rng, width, height, 6)[..., None]
    detail = 0.5 * amount * _smooth(rng, width, height, 24)[..., None]
    array = np.clip(base + variation + detail, 0, 255).astype(np.uint8)
    return Image.fromarray(array, "RGB")


def _paste_region(canvas: Image.Image, texture: Image.Image, polygon: list[tuple]) -> None:
    mask = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(mask).polygon(polygon, fill=255)
    canvas.paste(texture, (0, 0), mask)


def _roof(
    draw: ImageDraw.ImageDraw, x: float, y: float, w: float, h: float, colour: Colour
) -> None:
    """A rectangular roof with a shadow to the south-east and a ridge line."""
    draw.rectangle((x + 3, y + 3, x + w + 3, y + h + 3), fill=(38, 42, 36))
    draw.rectangle((x, y, x + w, y + h), fill=colour)
    darker = tuple(max(0, c - 28) for c in colour)
    if w >= h:
        draw.rectangle((x, y + h / 2, x + w, y + h), fill=darker)
    else:
        draw.rectangle((x + w / 2, y, x + w, y + h), fill=darker)


def _crown(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, colour: Colour) -> None:
    draw.ellipse((x - r + r / 3, y - r + r / 3, x + r + r / 3, y + r + r / 3), fill=(30, 38, 28))
    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _fields_track(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Crop rows, a meadow and bare soil either side of a gravel track (0.3 m pixels)."""
    canvas = _textured(rng, width, height, (104, 128, 62))
    rows = np.asarray(canvas, dtype=np.float32).copy()
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = np.sin((xx * 0.55 + yy * 0.2) * 0.9) * 18.0
    rows[..., 1] += stripes
    rows[..., 0] += stripes * 0.4
    canvas = Image.fromarray(np.clip(rows, 0, 255).astype(np.uint8), "RGB")
    offset = float(rng.uniform(-20, 20))
    meadow = _textured(rng, width, height, (132, 150, 84), 18.0)
    _paste_region(
        canvas, meadow, [(width * 0.55 + offset, 0), (width, 0), (width, height), (offset, height)]
    )
    soil = _textured(rng, width, height, (146, 118, 88), 12.0)
    _paste_region(canvas, soil, [(width, height * 0.7), (width, height), (width * 0.55, height)])
    draw = ImageDraw.Draw(canvas)
    track = [(width * 0.55 + offset - 4, -4), (offset - 4, height + 4)]
    draw.line(track, fill=(176, 168, 150), width=12)
    for dx in (-3, 3):
        draw.line([(x + dx, y) for x, y in track], fill=(150, 140, 124), width=2)
    return _finish(rng, canvas)


def _farmland(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A patchwork of fields, a gravel road and a farmstead (1 m pixels)."""
    colours: list[Colour] = [(88, 124, 58), (168, 150, 96), (70, 104, 50), (132, 142, 74)]
    canvas = Image.new("RGB", (width, height))
    split_x = int(width * rng.uniform(0.4, 0.6))
    split_y = int(height * rng.uniform(0.35, 0.55))
    quads = [
        (0, 0, split_x, split_y),
        (split_x, 0, width, split_y),
        (0, split_y, split_x, height),
        (split_x, split_y, width, height),
    ]
    order = rng.permutation(len(colours))
    for (x1, y1, x2, y2), k in zip(quads, order, strict=True):
        texture = _textured(rng, width, height, colours[int(k)], 12.0)
        _paste_region(canvas, texture, [(x1, y1), (x2, y1), (x2, y2), (x1, y2)])
    draw = ImageDraw.Draw(canvas)
    draw.line([(split_x, 0), (split_x, height)], fill=(96, 90, 70), width=2)
    draw.line([(0, split_y), (width, split_y)], fill=(172, 164, 146), width=7)
    fx, fy = split_x + 18, split_y + 14
    draw.rectangle((fx - 6, fy - 6, fx + 52, fy + 40), fill=(122, 112, 96))
    _roof(draw, fx, fy, 26, 14, (150, 60, 52))
    _roof(draw, fx + 30, fy + 2, 16, 30, (176, 176, 170))
    _roof(draw, fx + 2, fy + 20, 20, 12, (130, 128, 124))
    for _ in range(7):
        _crown(draw, fx - 10 + rng.uniform(-6, 6), fy + rng.uniform(0, 40), 5, (52, 82, 44))
    return _finish(rng, canvas)


def _water_tower(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A round water-tower roof with its shadow, houses, a road and trees (0.2 m pixels)."""
    canvas = _textured(rng, width, height, (98, 126, 70), 16.0)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, height * 0.78, width, height * 0.78 + 30), fill=(96, 98, 102))
    draw.line([(0, height * 0.78 + 15), (width, height * 0.78 + 15)], fill=(200, 200, 190))
    cx, cy, r = width * 0.48, height * 0.42, 34
    draw.ellipse((cx - r + 22, cy - r + 22, cx + r + 22, cy + r + 22), fill=(40, 48, 38))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(150, 148, 142))
    draw.ellipse((cx - r * 0.55, cy - r * 0.55, cx + r * 0.55, cy + r * 0.55), fill=(124, 122, 118))
    _roof(draw, -20, -10, 60, 44, (168, 72, 58))
    _roof(draw, width - 50, height * 0.1, 70, 40, (164, 80, 62))
    for _ in range(5):
        x, y = rng.uniform(10, width - 10), rng.uniform(height * 0.55, height * 0.72)
        _crown(draw, x, y, float(rng.uniform(8, 13)), (54, 84, 46))
    return _finish(rng, canvas)


def _forest_road(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Conifer forest with a curving asphalt road and three houses (0.5 m pixels)."""
    canvas = _textured(rng, width, height, (52, 72, 44), 10.0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(260):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        shade = int(rng.integers(-10, 12))
        _crown(draw, x, y, float(rng.uniform(2.5, 4.5)), (44 + shade, 70 + shade, 40 + shade))
    bend = float(rng.uniform(-25, 25))
    road = [(-5, height * 0.55), (width * 0.35, height * 0.5 + bend), (width + 5, height * 0.42)]
    draw.line(road, fill=(98, 100, 104), width=26, joint="curve")
    draw.line(road, fill=(84, 86, 90), width=12, joint="curve")
    for k in range(3):
        x = width * (0.15 + 0.3 * k)
        y = height * 0.18 + float(rng.uniform(-6, 6))
        draw.rectangle((x - 10, y - 10, x + 34, y + 30), fill=(104, 132, 78))
        _roof(draw, x, y, 22, 16, ((140, 60, 50), (90, 92, 96), (170, 160, 140))[k])
    return _finish(rng, canvas)


def _olive_grove(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Rows of olive crowns on dry soil, a track and a white farm building (0.5 m pixels)."""
    canvas = _textured(rng, width, height, (182, 158, 120), 14.0)
    draw = ImageDraw.Draw(canvas)
    spacing = 14.0
    for row in range(int(height / spacing) + 1):
        for col in range(int(width / spacing) + 1):
            x = col * spacing + 7 + float(rng.normal(0, 0.8))
            y = row * spacing + 7 + float(rng.normal(0, 0.8))
            if abs(x - width * 0.7) < 12:
                continue  # the track
            _crown(draw, x, y, float(rng.uniform(3.2, 4.6)), (78, 92, 52))
    draw.line([(width * 0.7, 0), (width * 0.7, height)], fill=(206, 192, 164), width=10)
    _roof(draw, width * 0.76, height * 0.12, 34, 22, (226, 224, 218))
    return _finish(rng, canvas)


def _lake(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A lake among forest, fields and a town, as Sentinel-2 shows it (10 m pixels)."""
    canvas = _textured(rng, width, height, (56, 78, 48), 10.0)
    fields = _textured(rng, width, height, (124, 132, 86), 16.0)
    fields_shape = [(0.0, 0.7), (0.4, 0.62), (0.45, 1.0), (0.0, 1.0)]
    _paste_region(canvas, fields, [(width * x, height * y) for x, y in fields_shape])
    town = _textured(rng, width, height, (128, 120, 112), 22.0)
    town_shape = [(0.65, 0.0), (1.0, 0.0), (1.0, 0.3), (0.7, 0.25)]
    _paste_region(canvas, town, [(width * x, height * y) for x, y in town_shape])
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radii = 1.0 + 0.18 * rng.uniform(-1, 1, angles.size)
    cx, cy = width * 0.45, height * 0.42
    shore = [
        (cx + 0.32 * width * r * math.cos(a), cy + 0.22 * height * r * math.sin(a))
        for a, r in zip(angles, radii, strict=True)
    ]
    water = _textured(rng, width, height, (34, 52, 66), 5.0)
    _paste_region(canvas, water, shore)
    return _finish(rng, canvas, grain=3.0)


def _boreal_forest(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Conifer forest with clear-cuts, small lakes and a bog, as Landsat shows it (30 m)."""
    canvas = _textured(rng, width, height, (48, 66, 44), 12.0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(6):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(6, 16), rng.uniform(5, 12)
        draw.rectangle((x, y, x + w, y + h), fill=(104, 112, 76))
    bog = _textured(rng, width, height, (116, 108, 82), 10.0)
    bog_shape = [(0.1, 0.65), (0.35, 0.6), (0.3, 0.85), (0.08, 0.8)]
    _paste_region(canvas, bog, [(width * x, height * y) for x, y in bog_shape])
    for _ in range(3):
        x, y = rng.uniform(20, width - 20), rng.uniform(20, height - 20)
        r = float(rng.uniform(6, 14))
        draw.ellipse((x - r, y - r * 0.6, x + r, y + r * 0.6), fill=(30, 44, 58))
    return _finish(rng, canvas, grain=3.0)


def _black(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """All black, like torchgeo's fixture images."""
    return np.zeros((height, width, 3), dtype=np.uint8)


_SCENES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "fields_track": _fields_track,
    "farmland": _farmland,
    "water_tower": _water_tower,
    "forest_road": _forest_road,
    "olive_grove": _olive_grove,
    "lake": _lake,
    "boreal_forest": _boreal_forest,
    "black": _black,
}
