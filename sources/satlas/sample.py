"""Write a tiny SatlasPretrain dataset in the real layout, with synthetic pixels and labels.

What is real (``shared/docs/source-formats.md`` section 4, from allenai/satlas
``SatlasPretrain.md``, ``satlas/tasks.py`` and torchgeo's ``tests/data/satlas`` fixture):

- the tree ``sentinel2/<S2 L1C product>/{tci,b05,b06,b07,b08,b11,b12}/<col>_<row>.png``,
  ``sentinel1/<image>/{vh,vv}/<col>_<row>.png``, ``static/<col>_<row>/{vector.json,
  land_cover.png}``, ``dynamic/<col>_<row>/<task>_<n>/vector.json`` and
  ``metadata/{train_lowres,test_lowres,good_images_lowres_all,image_times}.json``;
- zoom-13 Web-Mercator tile ids of real places in Washington State: ``1311_2861`` (Elliott Bay,
  Seattle), ``1300_2889`` (Centralia, where a coal power plant and its mine lie),
  ``1360_2881`` (the Wild Horse wind farm near Ellensburg, which also has a solar array), and
  Seattle's neighbours ``1312_2861``, ``1311_2862``, ``1312_2862``;
- Sentinel-2 L1C product names of the real form and MGRS tiles (10TET Seattle, 10TES
  Centralia, 10TGT Wild Horse), one product folder holding several tiles;
- 8-bit PNGs: ``tci`` RGB 512x512, ``b08`` L 512x512, ``b05 b06 b07 b11 b12`` L 256x256 (the 20 m
  bands stored at half size), Sentinel-1 ``vh``/``vv`` L 512x512; ``land_cover.png`` L 512x512
  with the satlas land-cover codes (1 water, 2 developed, 3 tree, 4 shrub, 5 grass, 6 crop,
  7 bare);
- the metadata schemas: split files ``[[col, row], …]``, ``good_images_lowres_all.json``
  ``[[col, row, "<image>"], …]``, ``image_times.json`` ``{"<image>": "<ISO time>+00:00"}``
  (``json.dumps`` defaults, no final newline; the real formatting is UNVERIFIED);
- the ``vector.json`` schema: category → ``[{"Geometry": {"Type": "point"|"polygon"|
  "polyline", …}, "Properties": {…}}]`` in the 8192-unit tile space (integers; features may
  reach outside the tile), properties ``plant_type``, ``road_type``, ``resource``,
  ``park_type``, classification labels ``smoke``/``snow`` as a tile-covering polygon with the
  class index, an empty list for "annotated, none present", and the dynamic ``metadata``
  block ``Start, End, ImageUUID, ImageName``.

What is synthetic: every pixel (land-cover patches from smooth random fields with per-class
colours and reflectances, band values = reflectance × 10 000 / 32 as the satlas
normalisation suggests, Sentinel-1 values on an assumed 8-bit scale), every label geometry,
the product names' orbit and processing times, and the Sentinel-1 image folder name
``2022-08`` (a monthly mosaic, as in torchgeo's fixture; the real naming is UNVERIFIED).
``image_times.json`` gives the Sentinel-2 sensing time.

Good units (:data:`GOOD_TILES`): each tile has two Sentinel-2 images a year apart (at Wild
Horse the solar farm appears only in the newer one: a change pair; Centralia has a third,
October image between them: a three-date sequence), static labels with
polygons, points and polylines and a ``land_cover.png``; Seattle also has a Sentinel-1 image
and a dynamic ``vessel_1`` label on its older Sentinel-2 image. Deliberately bad units
(:data:`BAD_TILES`), all in ``train_lowres.json``, each with one (the newer) Seattle image:

- ``sentinel2/1312_2861``: its ``tci`` PNG is cut to half its bytes → ingests (the header is
  intact), fails at score with ``corrupt_raster``.
- ``sentinel2/1311_2862``: its static ``vector.json`` is cut off mid-file → ingest fails
  ``malformed_label``.
- ``sentinel2/1312_2862``: listed in ``good_images_lowres_all.json`` but its product folder has
  no ``b08`` file for it → ingest fails ``missing_band``.

Same seed, byte-identical files (one ``numpy.random.default_rng([seed, tile, image])`` stream
per image). About 1.2 MB.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 512
"""Width and height of a full tile PNG."""

HALF = 256
"""Width and height of the 20 m Sentinel-2 band PNGs."""

UNITS_PER_PX = 16
"""Label units (8192 per tile) per pixel of a 512-px tile."""

S2_BANDS: tuple[str, ...] = ("b05", "b06", "b07", "b08", "b11", "b12")
"""Single-band Sentinel-2 folders; all but ``b08`` are written at :data:`HALF` pixels."""

S1_IMAGE = "2022-08"
"""The Sentinel-1 image folder (monthly mosaic naming, as in torchgeo's fixture)."""

SEATTLE_OLD = "S2B_MSIL1C_20210728T190919_N0301_R013_T10TET_20210728T211538"
SEATTLE_NEW = "S2A_MSIL1C_20220813T190921_N0400_R013_T10TET_20220813T224406"
CENTRALIA_OLD = "S2A_MSIL1C_20210607T190921_N0300_R013_T10TES_20210607T211236"
CENTRALIA_MID = "S2A_MSIL1C_20211015T190921_N0301_R013_T10TES_20211015T211455"
CENTRALIA_NEW = "S2B_MSIL1C_20220721T190919_N0400_R013_T10TES_20220721T210012"
WILDHORSE_OLD = "S2A_MSIL1C_20210710T185921_N0301_R113_T10TGT_20210710T205513"
WILDHORSE_NEW = "S2B_MSIL1C_20220825T185919_N0400_R113_T10TGT_20220825T204522"

IMAGE_TIMES: dict[str, str] = {
    SEATTLE_OLD: "2021-07-28T19:09:19+00:00",
    SEATTLE_NEW: "2022-08-13T19:09:21+00:00",
    CENTRALIA_OLD: "2021-06-07T19:09:21+00:00",
    CENTRALIA_MID: "2021-10-15T19:09:21+00:00",
    CENTRALIA_NEW: "2022-07-21T19:09:19+00:00",
    WILDHORSE_OLD: "2021-07-10T18:59:21+00:00",
    WILDHORSE_NEW: "2022-08-25T18:59:19+00:00",
    S1_IMAGE: "2022-08-01T00:00:00+00:00",
}
"""Image name → ``image_times.json`` value (Sentinel-2: the sensing time)."""


@dataclass(frozen=True)
class TileSpec:
    """A zoom-13 tile of the sample corpus.

    Attributes:
        col: Tile column.
        row: Tile row.
        split: ``train`` or ``test`` (``<split>_lowres.json``).
        scene: Scene kind: ``seattle``, ``centralia`` or ``wildhorse``.
        s2_images: Sentinel-2 product names, oldest first.
        s1_images: Sentinel-1 image names.
    """

    col: int
    row: int
    split: str
    scene: str
    s2_images: tuple[str, ...]
    s1_images: tuple[str, ...] = ()

    @property
    def tile(self) -> str:
        """``<col>_<row>``."""
        return f"{self.col}_{self.row}"


GOOD_TILES: tuple[TileSpec, ...] = (
    TileSpec(1311, 2861, "train", "seattle", (SEATTLE_OLD, SEATTLE_NEW), (S1_IMAGE,)),
    TileSpec(1300, 2889, "train", "centralia", (CENTRALIA_OLD, CENTRALIA_MID, CENTRALIA_NEW)),
    TileSpec(1360, 2881, "test", "wildhorse", (WILDHORSE_OLD, WILDHORSE_NEW)),
)
"""Tiles that read and pass the filter."""

BAD_SPECS: tuple[TileSpec, ...] = (
    TileSpec(1312, 2861, "train", "seattle", (SEATTLE_NEW,)),
    TileSpec(1311, 2862, "train", "seattle", (SEATTLE_NEW,)),
    TileSpec(1312, 2862, "train", "seattle", (SEATTLE_NEW,)),
)
"""The deliberately bad tiles (see :data:`BAD_TILES`)."""

BAD_TRUNCATED_TCI = "sentinel2/1312_2861"
BAD_VECTOR_JSON = "sentinel2/1311_2862"
BAD_MISSING_B08 = "sentinel2/1312_2862"

BAD_TILES: dict[str, str] = {
    BAD_TRUNCATED_TCI: "corrupt_raster (score): the tci PNG is truncated",
    BAD_VECTOR_JSON: "malformed_label (ingest): static vector.json is truncated",
    BAD_MISSING_B08: "missing_band (ingest): no b08 PNG for the tile",
}
"""Unit id → the failure it should cause (and where)."""

_EXTRA_IMAGE_KEYS: dict[str, int] = {CENTRALIA_MID: 50}
"""Images added after the first release of the sample, with their own random stream key (the
other images keep theirs, so their bytes do not change)."""


def _extras_before(spec: TileSpec, image_index: int) -> int:
    return sum(1 for name in spec.s2_images[:image_index] if name in _EXTRA_IMAGE_KEYS)


DYNAMIC_FOLDER = "vessel_1"
"""The dynamic label folder of the Seattle tile (vessels on its older Sentinel-2 image)."""

# Materials: tci colour, reflectance of b05 b06 b07 b08 b11 b12, S1 (vv, vh) 8-bit, land cover.
_MATERIALS: dict[str, tuple[tuple[int, int, int], tuple[float, ...], tuple[int, int], int]] = {
    "water": ((22, 38, 52), (0.035, 0.025, 0.02, 0.015, 0.008, 0.005), (22, 10), 1),
    "developed": ((118, 112, 108), (0.15, 0.16, 0.17, 0.18, 0.22, 0.19), (170, 105), 2),
    "tree": ((34, 54, 36), (0.05, 0.19, 0.25, 0.28, 0.13, 0.06), (108, 82), 3),
    "shrub": ((124, 114, 90), (0.13, 0.17, 0.19, 0.21, 0.27, 0.21), (80, 52), 4),
    "grass": ((80, 100, 58), (0.09, 0.21, 0.27, 0.3, 0.21, 0.12), (88, 60), 5),
    "crop": ((72, 110, 48), (0.08, 0.27, 0.34, 0.38, 0.2, 0.1), (96, 68), 6),
    "stubble": ((142, 122, 94), (0.17, 0.19, 0.2, 0.22, 0.3, 0.24), (74, 44), 6),
    "bare": ((152, 138, 118), (0.21, 0.23, 0.24, 0.25, 0.31, 0.27), (70, 38), 7),
    "quarry": ((168, 156, 138), (0.24, 0.26, 0.27, 0.28, 0.34, 0.3), (76, 40), 7),
    "road": ((140, 138, 132), (0.17, 0.18, 0.18, 0.19, 0.24, 0.21), (150, 90), 2),
    "pier": ((130, 126, 120), (0.16, 0.17, 0.17, 0.18, 0.22, 0.2), (190, 120), 2),
    "plant": ((170, 168, 162), (0.22, 0.23, 0.23, 0.24, 0.27, 0.24), (200, 130), 2),
    "solar": ((40, 46, 64), (0.07, 0.07, 0.07, 0.07, 0.06, 0.05), (150, 70), 2),
}
_CODES = {name: i for i, name in enumerate(_MATERIALS)}


def write(root: Path, seed: int) -> None:
    """Write the sample SatlasPretrain dataset under ``root`` (created if needed).

    Args:
        root: Folder to hold ``metadata/``, ``sentinel2/``, ``sentinel1/``, ``static/`` and
            ``dynamic/``.
        seed: Random seed; the same seed gives byte-identical files.
    """
    root = Path(root)
    good_images: list[tuple[int, int, str]] = []
    for index, spec in enumerate((*GOOD_TILES, *BAD_SPECS)):
        unit = f"sentinel2/{spec.tile}"
        bad = unit if unit in BAD_TILES else ""
        rng = np.random.default_rng([seed, index])
        scene = _scene(spec, rng)
        for image_index, image in enumerate(spec.s2_images):
            key = _EXTRA_IMAGE_KEYS.get(image, image_index - _extras_before(spec, image_index))
            image_rng = np.random.default_rng([seed, index, key])
            newest = image_index == len(spec.s2_images) - 1
            _write_s2(root, spec, image, scene, image_rng, newest=newest, bad=bad)
            good_images.append((spec.col, spec.row, image))
        for image_index, image in enumerate(spec.s1_images):
            image_rng = np.random.default_rng([seed, index, 100 + image_index])
            _write_s1(root, spec, image, scene, image_rng)
            good_images.append((spec.col, spec.row, image))
        _write_static(root, spec, scene, bad=bad)
        if spec.scene == "seattle" and len(spec.s2_images) > 1:
            _write_dynamic(root, spec, scene, rng)
    meta = root / "metadata"
    meta.mkdir(parents=True, exist_ok=True)
    all_specs = (*GOOD_TILES, *BAD_SPECS)
    for split in ("train", "test"):
        tiles = sorted([s.col, s.row] for s in all_specs if s.split == split)
        _write_json(meta / f"{split}_lowres.json", tiles)
    ordered = sorted(good_images, key=lambda e: (e[2], e[0], e[1]))
    _write_json(meta / "good_images_lowres_all.json", [list(e) for e in ordered])
    _write_json(meta / "image_times.json", dict(sorted(IMAGE_TIMES.items())))


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


def _save_png(image: Image.Image, path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


# -- scenes ---------------------------------------------------------------------------------------


@dataclass
class _Scene:
    """A tile's materials and labels, in 512-px pixels and 8192-unit label coordinates."""

    materials: np.ndarray  # (SIZE, SIZE) material codes, without the features of `change`
    change: np.ndarray  # (SIZE, SIZE) material codes of the newest image
    vector: dict[str, list[dict[str, object]]]
    points: list[tuple[float, float]]  # bright point targets (turbines), pixels
    vessels: list[tuple[float, float]]  # vessels on the older image, pixels


def _smooth(rng: np.random.Generator, cells: int, size: int = SIZE) -> np.ndarray:
    """Zero-mean smooth noise (a bicubic upsampling of a coarse normal grid)."""
    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((size, size), Image.BICUBIC))


def _units(points: list[tuple[float, float]]) -> list[list[int]]:
    return [[round(x * UNITS_PER_PX), round(y * UNITS_PER_PX)] for x, y in points]


def _pixels(points: list[list[int]]) -> list[tuple[float, float]]:
    return [(x / UNITS_PER_PX, y / UNITS_PER_PX) for x, y in points]


def _polygon(points: list[tuple[float, float]], properties: dict[str, object]) -> dict:
    ring = _units(points)
    ring.append(ring[0])
    return {"Geometry": {"Type": "polygon", "Polygon": [ring]}, "Properties": properties}


def _polyline(points: list[tuple[float, float]], properties: dict[str, object]) -> dict:
    return {
        "Geometry": {"Type": "polyline", "Polyline": _units(points)},
        "Properties": properties,
    }


def _point(x: float, y: float) -> dict:
    return {"Geometry": {"Type": "point", "Point": _units([(x, y)])[0]}, "Properties": {}}


def _tile_class(value: int, task: str) -> dict:
    ring = [[0, 0], [8192, 0], [8192, 8192], [0, 8192], [0, 0]]
    return {"Geometry": {"Type": "polygon", "Polygon": [ring]}, "Properties": {task: value}}


def _fill(materials: np.ndarray, polygon: list[tuple[float, float]], material: str) -> None:
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).polygon(polygon, fill=1)
    materials[np.asarray(mask) > 0] = _CODES[material]


def _stroke(materials: np.ndarray, line: list[tuple[float, float]], width: int) -> None:
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).line(line, fill=1, width=width)
    materials[np.asarray(mask) > 0] = _CODES["road"]


def _rect(cx: float, cy: float, w: float, h: float) -> list[tuple[float, float]]:
    left, right, top, bottom = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def _scene(spec: TileSpec, rng: np.random.Generator) -> _Scene:
    xx = np.mgrid[0:SIZE, 0:SIZE][1].astype(np.float32)
    field = _smooth(rng, 6)
    detail = _smooth(rng, 12)
    vector: dict[str, list[dict[str, object]]] = {}
    points: list[tuple[float, float]] = []
    vessels: list[tuple[float, float]] = []
    if spec.scene == "seattle":
        shore = 210 + 40 * _smooth(rng, 4)[:, 0] + 0.25 * (np.arange(SIZE) - 256)
        materials = np.where(xx < shore[:, None], _CODES["water"], _CODES["developed"]).astype(
            np.uint8
        )
        trees = (detail > 0.9) & (materials == _CODES["developed"])
        materials[trees] = _CODES["tree"]
        park = _rect(400, 130, 70, 50)
        _fill(materials, park, "grass")
        piers = []
        for y in (150.0, 260.0, 370.0):
            x_shore = float(shore[int(y)])
            pier = [(x_shore - 38, y - 6), (x_shore + 2, y - 6), (x_shore + 2, y + 6)]
            pier.append((x_shore - 38, y + 6))
            _fill(materials, pier, "pier")
            piers.append(_polygon(pier, {}))
        roads = [
            ([(float(shore[0]) + 30, -20.0), (float(shore[511]) + 40, 540.0)], "primary"),
            ([(300.0, 220.0), (540.0, 240.0)], "residential"),
            ([(330.0, 420.0), (470.0, -30.0)], "secondary"),
        ]
        for line, _ in roads:
            _stroke(materials, line, 3)
        vector = {
            "pier": piers,
            "park": [_polygon(park, {"park_type": "park"})],
            "road": [_polyline(line, {"road_type": kind}) for line, kind in roads],
            "power_substation": [],
        }
        vessels = [(float(shore[y]) - d, float(y)) for y, d in ((90, 80), (210, 120), (440, 60))]
    elif spec.scene == "centralia":
        materials = np.full((SIZE, SIZE), _CODES["grass"], dtype=np.uint8)
        materials[field > 0.35] = _CODES["tree"]
        materials[(field < -0.4) & (detail > -0.2)] = _CODES["crop"]
        quarry = [(40.0, 300.0), (190.0, 270.0), (230.0, 400.0), (120.0, 470.0), (30.0, 420.0)]
        _fill(materials, quarry, "quarry")
        plant = [(300.0, 180.0), (372.0, 176.0), (378.0, 236.0), (306.0, 242.0)]
        _fill(materials, plant, "plant")
        roads = [
            ([(-20.0, 140.0), (260.0, 160.0), (540.0, 120.0)], "secondary"),
            ([(340.0, 160.0), (340.0, 176.0)], "service"),
            ([(200.0, 540.0), (250.0, 160.0)], "tertiary"),
        ]
        for line, _ in roads:
            _stroke(materials, line, 2)
        vector = {
            "power_plant": [_polygon(plant, {"plant_type": "coal"})],
            "quarry": [_polygon(quarry, {"resource": "coal"})],
            "road": [_polyline(line, {"road_type": kind}) for line, kind in roads],
            "smoke": [_tile_class(1, "smoke")],
        }
    else:  # wildhorse
        materials = np.full((SIZE, SIZE), _CODES["shrub"], dtype=np.uint8)
        materials[field > 0.3] = _CODES["grass"]
        materials[detail < -1.1] = _CODES["bare"]
        roads = [
            ([(-20.0, 300.0), (200.0, 280.0), (420.0, 330.0), (540.0, 310.0)], "tertiary"),
            ([(260.0, 540.0), (230.0, 60.0)], "track"),
        ]
        for line, _ in roads:
            _stroke(materials, line, 2)
        substation = _rect(300, 360, 24, 18)
        _fill(materials, substation, "developed")
        turbines = [(60.0 + 36 * i, 120.0 + 10 * np.sin(i)) for i in range(12)]
        points = [(float(x), float(y)) for x, y in turbines]
        solar = [(330.0, 400.0), (440.0, 400.0), (440.0, 470.0), (330.0, 470.0)]
        vector = {
            "wind_turbine": [_point(x, y) for x, y in points],
            "solar_farm": [_polygon(solar, {})],
            "power_substation": [_polygon(substation, {})],
            "road": [_polyline(line, {"road_type": kind}) for line, kind in roads],
            "snow": [_tile_class(0, "snow")],
        }
        change = materials.copy()
        _fill(change, solar, "solar")
        # labels are snapped to label units: take pixels back from them for the turbines
        points = _pixels([f["Geometry"]["Point"] for f in vector["wind_turbine"]])  # type: ignore[index]
        return _Scene(materials, change, vector, points, vessels)
    return _Scene(materials, materials, vector, points, vessels)


# -- images ----------------------------------------------------------------------------------------


def _material_table(column: int) -> np.ndarray:
    return np.array([m[column] for m in _MATERIALS.values()], dtype=np.float32)


def _write_s2(
    root: Path,
    spec: TileSpec,
    image: str,
    scene: _Scene,
    rng: np.random.Generator,
    newest: bool,
    bad: str,
) -> None:
    materials = scene.change if newest else scene.materials
    if spec.scene == "centralia" and newest:  # late July: some fields harvested (June: green)
        harvested = (materials == _CODES["crop"]) & (_smooth(rng, 5) > 0)
        materials = np.where(harvested, _CODES["stubble"], materials).astype(np.uint8)
    shade = 1.0 + 0.08 * _smooth(rng, 5)
    colours = _material_table(0)[materials]  # (SIZE, SIZE, 3)
    tci = colours * shade[:, :, None] * float(rng.uniform(0.95, 1.05))
    tci_image = Image.fromarray(np.clip(np.round(tci), 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(tci_image)
    for x, y in scene.points:  # turbines: bright nacelle and tower, dark shadow
        draw.rectangle((x - 1, y - 1, x, y), fill=(206, 204, 198))
        draw.line([(x + 1, y + 1), (x + 4, y + 3)], fill=(60, 58, 52))
    if not newest:
        for x, y in scene.vessels:
            draw.rectangle((x - 2, y - 1, x + 1, y), fill=(226, 226, 222))
    base = root / "sentinel2" / image
    data = _save_png(tci_image, base / "tci" / f"{spec.tile}.png")
    if bad == BAD_TRUNCATED_TCI:
        (base / "tci" / f"{spec.tile}.png").write_bytes(data[: len(data) // 2])
    reflectance = _material_table(1)[materials]  # (SIZE, SIZE, 6)
    for index, band in enumerate(S2_BANDS):
        if band == "b08" and bad == BAD_MISSING_B08:
            (base / band).mkdir(parents=True, exist_ok=True)
            continue
        values = reflectance[:, :, index] * shade * 10_000 / 32
        if band != "b08":
            values = values.reshape(HALF, 2, HALF, 2).mean(axis=(1, 3))
        pixels = np.clip(np.round(values), 0, 255).astype(np.uint8)
        _save_png(Image.fromarray(pixels, "L"), base / band / f"{spec.tile}.png")


def _write_s1(
    root: Path, spec: TileSpec, image: str, scene: _Scene, rng: np.random.Generator
) -> None:
    backscatter = _material_table(2)[scene.change]  # (SIZE, SIZE, 2): vv, vh
    texture = 1.0 + 0.15 * _smooth(rng, 12)
    for index, band in enumerate(("vv", "vh")):
        values = backscatter[:, :, index] * texture
        pixels = np.clip(np.round(values), 0, 255).astype(np.uint8)
        _save_png(
            Image.fromarray(pixels, "L"), root / "sentinel1" / image / band / f"{spec.tile}.png"
        )


# -- labels ---------------------------------------------------------------------------------------


def _write_static(root: Path, spec: TileSpec, scene: _Scene, bad: str) -> None:
    folder = root / "static" / spec.tile
    text = json.dumps(scene.vector)
    if bad == BAD_VECTOR_JSON:
        text = text[: len(text) // 2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vector.json").write_text(text, encoding="utf-8")
    land_cover = _material_table(3).astype(np.uint8)[scene.change]
    _save_png(Image.fromarray(land_cover, "L"), folder / "land_cover.png")


def _write_dynamic(root: Path, spec: TileSpec, scene: _Scene, rng: np.random.Generator) -> None:
    image = spec.s2_images[0]
    moment = datetime.fromisoformat(IMAGE_TIMES[image])
    metadata = {
        "Start": (moment - timedelta(seconds=1)).isoformat(),
        "End": (moment + timedelta(seconds=1)).isoformat(),
        "ImageUUID": "".join(f"{int(v):x}" for v in rng.integers(0, 16, 32)),
        "ImageName": image,
    }
    vector = {"metadata": metadata, "vessel": [_point(x, y) for x, y in scene.vessels]}
    _write_json(root / "dynamic" / spec.tile / DYNAMIC_FOLDER / "vector.json", vector)
