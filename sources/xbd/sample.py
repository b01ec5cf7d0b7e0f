"""Write a tiny xBD (xView2) dataset in the real layout, with synthetic pixels and buildings.

What is real (see ``docs/source-formats.md`` section 5 and the real label files in
``shared/peer-data`` section 4a):

- the layout ``<split>/images/<disaster>_<8-digit id>_{pre,post}_disaster.png``,
  ``<split>/labels/<same stem>.json`` and ``<split>/targets/<same stem>_target.png``;
- disaster names and their disaster types (``hurricane-harvey``/flooding,
  ``santa-rosa-wildfire``/fire…), and plausible places and dates for them;
- the label JSON schema, key order and formatting (one line, ``json.dumps`` defaults, no final
  newline): ``features.lng_lat`` and ``features.xy`` lists of
  ``{"properties": {"feature_type", "subtype" (post only), "uid"}, "wkt"}`` and the full
  ``metadata`` dict with ``sensor``, ``provider_asset_type``, ``gsd``, ``capture_date``,
  ``off_nadir_angle``, ``pan_resolution``, ``sun_azimuth``, ``sun_elevation``,
  ``target_azimuth``, ``disaster``, ``disaster_type``, ``catalog_id``, ``original_width``,
  ``original_height``, ``width``, ``height``, ``id``, ``img_name``;
- the target coding: L-mode PNG, 0 background, 1 no-damage, 2 minor-damage, 3 major-damage,
  4 destroyed; pre targets are 0/1 masks. ``un-classified`` buildings are written as 1, as the
  xView2 baseline's ``utils/inference_image_output.py`` does (what the real targets hold there
  is UNVERIFIED).

What is synthetic: every pixel (textured ground, roads, trees, buildings with shadows; the post
image adds disaster effects — flood water, burn scars, ash, mud — and per-building damage:
tarps, half-collapsed roofs, rubble or ash, a cloud over un-classified ones), the buildings
(2 to 12 rotated rectangles per tile), every metadata value (sensor ``WORLDVIEW02``, ``gsd``
1.2 to 2.0, which here is also the pixel size of the affine transform), and the georeferencing:
``lng_lat`` is a fixed per-tile affine transform (:func:`tile_affine`) of the ``xy`` vertices.
Images are **256x256** RGB, downsized from the real 1024x1024, to keep the corpus small
(about 1.4 MB in all). Unlike the real PNGs they carry no ``tRNS`` chunk (the real ones mark
``(0, 0, 0)`` transparent, which rasterio reads as nodata), so the all-black tile below reads
as dark rather than as empty.

Good tiles: 8 in ``train/`` and 3 in ``test/`` (:data:`GOOD_TILES`), of which 3 (2 in ``train/``)
are tiles of a disaster that left every building intact (:data:`UNDAMAGED_TILES`: all
``no-damage``, and no disaster effects in the post image, as the xBD scale's "no damage" means
no water, burn marks or debris around a building), as real xBD has many. Deliberately bad
tiles, all in ``train/`` (:data:`BAD_TILES`), on which other stages rely by name:

- ``hurricane-harvey_00000900``: the post label JSON is cut off mid-file → ``malformed_label``.
- ``hurricane-harvey_00000901``: the pre image is all black → dropped later as ``too_dark``.
- ``hurricane-harvey_00000902``: both labels carry the xView2 baseline's blank metadata (empty
  sensor, disaster, disaster_type, capture_date; gsd 0) and one no-damage building → no tags,
  dropped later as ``too_few_tags``.
- ``hurricane-harvey_00000903``: no buildings at all (empty feature lists) → no georeferencing,
  dropped later as ``no_geolocation``.
- ``hurricane-harvey_00000904``: the post image file is missing → ``missing_file``.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from eoinstruct.sources.geo import M_PER_DEG_LAT, M_PER_DEG_LON

SIZE = 256
"""Width and height of every image (the real tiles are 1024x1024)."""

Road = tuple[tuple[float, float], tuple[float, float]]
"""A straight road: its two end points in pixels."""

SUBTYPE_CODES: dict[str, int] = {
    "no-damage": 1,
    "minor-damage": 2,
    "major-damage": 3,
    "destroyed": 4,
    "un-classified": 1,
}
"""Damage subtype → value in the post target PNG."""

BLANK_METADATA: dict[str, object] = {
    "sensor": "",
    "provider_asset_type": "",
    "gsd": 0,
    "capture_date": "",
    "off_nadir_angle": 0,
    "pan_resolution": 0,
    "sun_azimuth": 0,
    "sun_elevation": 0,
    "target_azimuth": 0,
    "disaster": "",
    "disaster_type": "",
    "catalog_id": "",
    "original_width": 0,
    "original_height": 0,
    "width": 0,
    "height": 0,
    "id": "",
    "img_name": "",
}
"""The xView2 baseline's blank label metadata (``spacenet/inference/inference.py``)."""


@dataclass(frozen=True)
class TileSpec:
    """A tile of the sample corpus.

    Attributes:
        folder: Split folder (``train`` or ``test``).
        disaster: Disaster name, the file-name prefix.
        disaster_type: The metadata ``disaster_type``.
        tile_id: The 8-digit tile number.
        lon: Longitude of the image's top-left corner.
        lat: Latitude of the image's top-left corner.
        gsd: Metadata ``gsd`` and pixel size in metres of the affine transform.
        rotation_deg: Rotation of the pixel grid against north (degrees, clockwise).
        pre_time: Pre-disaster capture time up to the hour, ``YYYY-MM-DDThh``.
        post_time: Post-disaster capture time up to the hour.
        buildings: Number of buildings.
        undamaged: Every building is ``no-damage`` and the post image shows no disaster effects.
    """

    folder: str
    disaster: str
    disaster_type: str
    tile_id: int
    lon: float
    lat: float
    gsd: float
    rotation_deg: float
    pre_time: str
    post_time: str
    buildings: int
    undamaged: bool = False

    @property
    def stem(self) -> str:
        """``<disaster>_<8-digit id>``."""
        return f"{self.disaster}_{self.tile_id:08d}"


def _harvey(tile_id: int, lon: float, lat: float, buildings: int) -> TileSpec:
    return TileSpec(
        "train", "hurricane-harvey", "flooding", tile_id, lon, lat, 1.6, 0.4,
        "2017-01-22T17", "2017-08-31T17", buildings,
    )  # fmt: skip


_DAMAGED_TILES: tuple[TileSpec, ...] = (
    _harvey(12, -95.4621, 29.6872, 9),
    TileSpec(
        "train", "santa-rosa-wildfire", "fire", 87, -122.7483, 38.4791, 1.4, -0.6,
        "2017-07-07T19", "2017-10-11T19", 11,
    ),
    TileSpec(
        "train", "mexico-earthquake", "earthquake", 31, -99.1562, 19.3953, 1.2, 0.9,
        "2017-03-12T17", "2017-09-26T17", 12,
    ),
    TileSpec(
        "train", "palu-tsunami", "tsunami", 45, 119.8603, -0.8851, 1.5, -0.3,
        "2018-08-11T02", "2018-10-01T02", 8,
    ),
    TileSpec(
        "train", "guatemala-volcano", "volcano", 6, -90.8612, 14.4314, 2.0, 0.2,
        "2018-02-15T16", "2018-06-07T16", 4,
    ),
    TileSpec(
        "train", "joplin-tornado", "wind", 23, -94.5004, 37.0702, 1.6, 0.7,
        "2010-06-05T17", "2011-05-29T17", 10,
    ),
    TileSpec(
        "test", "santa-rosa-wildfire", "fire", 230, -122.7311, 38.4853, 1.8, 0.5,
        "2017-07-07T19", "2017-10-11T19", 6,
    ),
    TileSpec(
        "test", "palu-tsunami", "tsunami", 112, 119.8452, -0.8761, 1.3, -0.8,
        "2018-08-11T02", "2018-10-01T02", 2,
    ),
)  # fmt: skip

UNDAMAGED_TILES: tuple[TileSpec, ...] = (
    TileSpec(
        "train", "hurricane-florence", "flooding", 57, -77.0503, 35.1088, 1.5, 0.3,
        "2018-07-28T16", "2018-09-20T16", 7, undamaged=True,
    ),
    TileSpec(
        "train", "socal-fire", "fire", 118, -118.7968, 34.0632, 1.7, -0.4,
        "2018-06-18T18", "2018-11-17T18", 5, undamaged=True,
    ),
    TileSpec(
        "test", "hurricane-michael", "wind", 64, -85.6552, 30.1745, 1.6, 0.6,
        "2018-05-01T16", "2018-10-13T16", 6, undamaged=True,
    ),
)  # fmt: skip
"""Good tiles whose buildings the disaster left intact (all ``no-damage``)."""

GOOD_TILES: tuple[TileSpec, ...] = (*_DAMAGED_TILES, *UNDAMAGED_TILES)
"""The tiles that read cleanly: 8 in ``train/``, 3 in ``test/``."""

BAD_TILES: dict[str, str] = {
    "hurricane-harvey_00000900": "malformed_label: the post label JSON is truncated",
    "hurricane-harvey_00000901": "too_dark: the pre image is all black",
    "hurricane-harvey_00000902": "too_few_tags: blank metadata, one no-damage building",
    "hurricane-harvey_00000903": "no_geolocation: no buildings, so no affine fit",
    "hurricane-harvey_00000904": "missing_file: the post image is missing",
}
"""The deliberately bad tiles (all in ``train/``) and what each should produce."""

NO_OSM: tuple[str, ...] = ("hurricane-harvey_00000902",)
"""Tiles whose footprint the sample OSM extract must not cover (so they stay tag-poor)."""

_BAD_SPECS: dict[str, TileSpec] = {
    "hurricane-harvey_00000900": _harvey(900, -95.4102, 29.7011, 5),
    "hurricane-harvey_00000901": _harvey(901, -95.4071, 29.7011, 4),
    # offshore in the Gulf, away from every other tile: no OpenStreetMap feature reaches it
    "hurricane-harvey_00000902": _harvey(902, -94.6000, 29.1000, 1),
    "hurricane-harvey_00000903": _harvey(903, -95.4009, 29.7011, 0),
    "hurricane-harvey_00000904": _harvey(904, -95.3978, 29.7011, 3),
}

_DAMAGE_WEIGHTS: dict[str, tuple[float, float, float, float]] = {
    "flooding": (0.30, 0.35, 0.25, 0.10),
    "fire": (0.45, 0.05, 0.05, 0.45),
    "earthquake": (0.70, 0.15, 0.10, 0.05),
    "tsunami": (0.30, 0.15, 0.20, 0.35),
    "volcano": (0.40, 0.20, 0.15, 0.25),
    "wind": (0.25, 0.25, 0.20, 0.30),
}
_DAMAGES = ("no-damage", "minor-damage", "major-damage", "destroyed")
_CYCLE = ("no-damage", "minor-damage", "major-damage", "destroyed", "un-classified")

_GROUND: dict[str, tuple[int, int, int]] = {
    "flooding": (92, 112, 72),
    "fire": (150, 136, 98),
    "earthquake": (148, 140, 126),
    "tsunami": (112, 122, 84),
    "volcano": (76, 98, 58),
    "wind": (84, 108, 68),
}
_ROOFS = ((176, 84, 64), (160, 160, 154), (204, 198, 186), (112, 102, 96), (140, 120, 96))
_OVERLAY: dict[str, tuple[tuple[int, int, int], float]] = {
    "flooding": ((122, 106, 80), 0.45),
    "fire": ((58, 52, 48), 0.45),
    "tsunami": ((152, 136, 104), 0.5),
    "volcano": ((138, 136, 130), 0.6),
}
_RUBBLE: dict[str, tuple[int, int, int]] = {
    "fire": (46, 42, 40),
    "volcano": (128, 126, 120),
}


def tile_affine(spec: TileSpec) -> tuple[float, float, float, float, float, float]:
    """Return the tile's pixel→lon/lat affine transform.

    Args:
        spec: The tile.

    Returns:
        ``(a, b, c, d, e, f)`` with ``lon = a*x + b*y + c`` and ``lat = d*x + e*y + f``: a grid
        of ``spec.gsd`` metres per pixel, rotated by ``spec.rotation_deg``, whose top-left
        corner is at ``(spec.lon, spec.lat)`` (spherical metres per degree).
    """
    theta = math.radians(spec.rotation_deg)
    m_lon = M_PER_DEG_LON * math.cos(math.radians(spec.lat))
    m_lat = M_PER_DEG_LAT
    s = spec.gsd
    return (
        s * math.cos(theta) / m_lon,
        s * math.sin(theta) / m_lon,
        spec.lon,
        s * math.sin(theta) / m_lat,
        -s * math.cos(theta) / m_lat,
        spec.lat,
    )


def write(root: Path, seed: int) -> None:
    """Write the sample xBD dataset under ``root`` (created if needed).

    The same seed gives byte-identical files. Each tile draws from its own generator,
    ``numpy.random.default_rng([seed, index])``: the damaged good tiles first, then the bad
    tiles, then the undamaged tiles.

    Args:
        root: Folder to hold ``train/`` and ``test/``.
        seed: Random seed.
    """
    root = Path(root)
    for folder in ("train", "test"):
        for sub in ("images", "labels", "targets"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
    for index, spec in enumerate(_DAMAGED_TILES):
        _write_tile(root, spec, np.random.default_rng([seed, index]))
    for index, (name, spec) in enumerate(_BAD_SPECS.items(), start=len(_DAMAGED_TILES)):
        _write_tile(root, spec, np.random.default_rng([seed, index]), bad=name)
    start = len(_DAMAGED_TILES) + len(_BAD_SPECS)
    for index, spec in enumerate(UNDAMAGED_TILES, start=start):
        _write_tile(root, spec, np.random.default_rng([seed, index]))


# -- one tile ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Building:
    corners: tuple[tuple[float, float], ...]
    roof: tuple[int, int, int]
    subtype: str
    uid: str


def _write_tile(root: Path, spec: TileSpec, rng: np.random.Generator, bad: str = "") -> None:
    base = root / spec.folder
    roads = _roads(rng)
    buildings = _place_buildings(spec, rng, roads)
    pre = _render_pre(spec, rng, roads, buildings)
    post = _render_post(spec, rng, pre, buildings)
    if bad == "hurricane-harvey_00000901":
        pre = np.zeros_like(pre)
    affine = tile_affine(spec)
    for phase, pixels in (("pre", pre), ("post", post)):
        name = f"{spec.stem}_{phase}_disaster"
        if not (bad == "hurricane-harvey_00000904" and phase == "post"):
            Image.fromarray(pixels, "RGB").save(base / "images" / f"{name}.png", compress_level=6)
        _target(buildings, phase).save(base / "targets" / f"{name}_target.png", compress_level=6)
        if bad == "hurricane-harvey_00000902":
            metadata = dict(BLANK_METADATA)
        else:
            metadata = _metadata(spec, rng, phase, f"{name}.png")
        text = json.dumps(_label(buildings, phase, affine, metadata))
        if bad == "hurricane-harvey_00000900" and phase == "post":
            text = text[: len(text) // 2]
        (base / "labels" / f"{name}.json").write_text(text, encoding="utf-8")


def _uid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.integers(0, 256, 16, dtype=np.uint8).tobytes(), version=4))


def _roads(rng: np.random.Generator) -> list[Road]:
    """One east-west and one north-south road, each crossing the whole tile."""
    y = float(rng.uniform(0.3, 0.7) * SIZE)
    x = float(rng.uniform(0.25, 0.75) * SIZE)
    tilt = rng.uniform(-12, 12, 2)
    return [
        ((-8.0, y - tilt[0]), (SIZE + 8.0, y + tilt[0])),
        ((x - tilt[1], -8.0), (x + tilt[1], SIZE + 8.0)),
    ]


def _road_distance(px: float, py: float, road: Road) -> float:
    (x1, y1), (x2, y2) = road
    dx, dy = x2 - x1, y2 - y1
    t = max(0.0, min(1.0, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - x1 - t * dx, py - y1 - t * dy)


def _place_buildings(
    spec: TileSpec, rng: np.random.Generator, roads: list[Road]
) -> list[_Building]:
    weights = np.array(_DAMAGE_WEIGHTS[spec.disaster_type])
    placed: list[tuple[float, float, float]] = []  # centre x, y and radius
    buildings: list[_Building] = []
    attempts = 0
    while len(buildings) < spec.buildings and attempts < 2000:
        attempts += 1
        w = float(rng.uniform(14, 34)) / spec.gsd
        h = float(rng.uniform(10, 22)) / spec.gsd
        radius = math.hypot(w, h) / 2
        cx = float(rng.uniform(radius + 2, SIZE - radius - 2))
        cy = float(rng.uniform(radius + 2, SIZE - radius - 2))
        if any(_road_distance(cx, cy, road) < radius + 5 for road in roads):
            continue
        if any(math.hypot(cx - x, cy - y) < radius + r + 3 for x, y, r in placed):
            continue
        road = min(roads, key=lambda r: _road_distance(cx, cy, r))
        (x1, y1), (x2, y2) = road
        angle = math.atan2(y2 - y1, x2 - x1) + math.radians(float(rng.uniform(-6, 6)))
        cos, sin = math.cos(angle), math.sin(angle)
        corners = tuple(
            (round(cx + u * cos - v * sin, 6), round(cy + u * sin + v * cos, 6))
            for u, v in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
        )
        if spec.disaster == "joplin-tornado":
            subtype = _CYCLE[len(buildings) % len(_CYCLE)]
        elif spec.tile_id == 902 or spec.undamaged:
            subtype = "no-damage"
        else:
            subtype = _DAMAGES[int(rng.choice(4, p=weights))]
            if rng.random() < 0.05:
                subtype = "un-classified"
        roof = _ROOFS[int(rng.integers(len(_ROOFS)))]
        buildings.append(_Building(corners, roof, subtype, _uid(rng)))
        placed.append((cx, cy, radius))
    return buildings


# -- labels ----------------------------------------------------------------------------------------


def _wkt(points: list[tuple[float, float]]) -> str:
    ring = [*points, points[0]]
    return "POLYGON ((" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + "))"


def _label(
    buildings: list[_Building],
    phase: str,
    affine: tuple[float, float, float, float, float, float],
    metadata: dict[str, object],
) -> dict[str, object]:
    a, b, c, d, e, f = affine
    lng_lat: list[dict[str, object]] = []
    xy: list[dict[str, object]] = []
    for building in buildings:
        properties: dict[str, str] = {"feature_type": "building"}
        if phase == "post":
            properties["subtype"] = building.subtype
        properties["uid"] = building.uid
        pixel = list(building.corners)
        world = [(round(a * x + b * y + c, 12), round(d * x + e * y + f, 12)) for x, y in pixel]
        lng_lat.append({"properties": dict(properties), "wkt": _wkt(world)})
        xy.append({"properties": dict(properties), "wkt": _wkt(pixel)})
    return {"features": {"lng_lat": lng_lat, "xy": xy}, "metadata": metadata}


def _metadata(
    spec: TileSpec, rng: np.random.Generator, phase: str, img_name: str
) -> dict[str, object]:
    hour = spec.pre_time if phase == "pre" else spec.post_time
    minute, second, milli = (int(v) for v in rng.integers((0, 0, 0), (60, 60, 1000)))
    number = int(rng.integers(2_000_000, 3_000_000))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    tail = "".join(alphabet[int(i)] for i in rng.integers(0, 64, 27))
    prefix = base64.urlsafe_b64encode(str(number).encode()).decode().rstrip("=")
    return {
        "sensor": "WORLDVIEW02",
        "provider_asset_type": "WORLDVIEW02",
        "gsd": spec.gsd,
        "capture_date": f"{hour}:{minute:02d}:{second:02d}.{milli:03d}Z",
        "off_nadir_angle": round(float(rng.uniform(5, 30)), 6),
        "pan_resolution": round(spec.gsd / 4, 6),
        "sun_azimuth": round(float(rng.uniform(110, 170)), 6),
        "sun_elevation": round(float(rng.uniform(40, 75)), 6),
        "target_azimuth": round(float(rng.uniform(0, 360)), 6),
        "disaster": spec.disaster,
        "disaster_type": spec.disaster_type,
        "catalog_id": "103001" + "".join(f"{int(v):X}" for v in rng.integers(0, 16, 10)),
        "original_width": SIZE,
        "original_height": SIZE,
        "width": SIZE,
        "height": SIZE,
        "id": f"{prefix}.{tail}",
        "img_name": img_name,
    }


def _target(buildings: list[_Building], phase: str) -> Image.Image:
    image = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(image)
    for building in buildings:
        value = SUBTYPE_CODES[building.subtype] if phase == "post" else 1
        draw.polygon(building.corners, fill=value)
    return image


# -- pixels ----------------------------------------------------------------------------------------


def _smooth(rng: np.random.Generator, cells: int, channels: int = 1) -> np.ndarray:
    """Zero-mean, unit-ish smooth noise of shape (SIZE, SIZE, channels)."""
    coarse = rng.standard_normal((cells, cells, channels)).astype(np.float32)
    layers = [
        np.asarray(
            Image.fromarray(coarse[:, :, i], "F").resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        )
        for i in range(channels)
    ]
    return np.stack(layers, axis=-1)


def _mask(polygons: list[list[tuple[float, float]]]) -> np.ndarray:
    image = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(image)
    for polygon in polygons:
        draw.polygon(polygon, fill=255)
    return np.asarray(image) > 0


def _grain(rng: np.random.Generator, amplitude: int) -> np.ndarray:
    """Fine luminance grain at half resolution (keeps the PNGs small)."""
    half = rng.integers(-amplitude, amplitude + 1, (SIZE // 2, SIZE // 2, 1)).astype(np.float32)
    return half.repeat(2, axis=0).repeat(2, axis=1)


def _render_pre(
    spec: TileSpec,
    rng: np.random.Generator,
    roads: list[Road],
    buildings: list[_Building],
) -> np.ndarray:
    ground = np.array(_GROUND[spec.disaster_type], dtype=np.float32)
    pixels = ground + 16 * _smooth(rng, 6) + 4 * _smooth(rng, 10, 3) + _grain(rng, 3)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for (x1, y1), (x2, y2) in roads:
        draw.line([(x1, y1), (x2, y2)], fill=(118, 116, 110), width=int(rng.integers(5, 8)))
    for _ in range(int(rng.integers(15, 40))):
        x, y = (float(v) for v in rng.uniform(0, SIZE, 2))
        r = float(rng.uniform(2, 5))
        shade = int(rng.integers(-12, 12))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(46 + shade, 70 + shade, 38 + shade))
    for building in buildings:
        shadow = [(x + 1.5, y + 1.5) for x, y in building.corners]
        draw.polygon(shadow, fill=(40, 40, 38))
        c0, c1, c2, c3 = building.corners
        m03 = ((c0[0] + c3[0]) / 2, (c0[1] + c3[1]) / 2)
        m12 = ((c1[0] + c2[0]) / 2, (c1[1] + c2[1]) / 2)
        lit = tuple(min(255, int(v * 1.08)) for v in building.roof)
        dim = tuple(int(v * 0.86) for v in building.roof)
        draw.polygon([c0, c1, m12, m03], fill=lit)
        draw.polygon([m03, m12, c2, c3], fill=dim)
        draw.line([m03, m12], fill=tuple(int(v * 0.7) for v in building.roof), width=1)
    return np.asarray(image).copy()


def _render_post(
    spec: TileSpec, rng: np.random.Generator, pre: np.ndarray, buildings: list[_Building]
) -> np.ndarray:
    post = pre.astype(np.float32) * rng.uniform(0.92, 1.08, 3).astype(np.float32)
    post += _grain(rng, 2)
    roofs = (
        _mask([list(b.corners) for b in buildings])
        if buildings
        else np.zeros((SIZE, SIZE), dtype=bool)
    )
    if spec.undamaged:  # the disaster left no trace here
        pass
    elif spec.disaster_type in _OVERLAY:
        colour, share = _OVERLAY[spec.disaster_type]
        field = _smooth(rng, 4)[:, :, 0]
        if spec.disaster_type == "tsunami":  # the sea side of the tile, at the bottom
            field += np.linspace(-1.5, 1.5, SIZE, dtype=np.float32)[:, None]
        alpha = np.clip((field - np.quantile(field, 1 - share)) / 0.25, 0, 0.9)
        alpha = np.where(roofs, 0, alpha)[:, :, None]
        tint = np.array(colour, dtype=np.float32) + 8 * _smooth(rng, 8)
        post[:] = alpha * tint + (1 - alpha) * post
    elif spec.disaster_type == "wind":  # stripped trees and scattered debris
        green = (post[:, :, 1] > post[:, :, 0] + 12) & ~roofs
        post[green] = post[green] * np.array([1.25, 0.95, 0.9], dtype=np.float32)
    for building in buildings:
        _damage(post, building, spec.disaster_type, rng)
    return np.clip(post, 0, 255).astype(np.uint8)


def _damage(
    post: np.ndarray, building: _Building, disaster_type: str, rng: np.random.Generator
) -> None:
    corners = list(building.corners)
    c0, c1, c2, c3 = corners
    if building.subtype == "minor-damage":  # a blue tarp on one roof half
        t = float(rng.uniform(0.2, 0.5))

        def lerp(p: tuple[float, float], q: tuple[float, float], s: float) -> tuple[float, float]:
            return (p[0] + (q[0] - p[0]) * s, p[1] + (q[1] - p[1]) * s)

        tarp = [lerp(c0, c1, t), lerp(c0, c1, t + 0.35), lerp(c3, c2, t + 0.35), lerp(c3, c2, t)]
        tarp = [
            lerp(p, q, 0.25)
            for p, q in zip(tarp, [tarp[3], tarp[2], tarp[1], tarp[0]], strict=True)
        ]
        post[_mask([tarp])] = (44, 92, 168)
    elif building.subtype in ("major-damage", "destroyed"):
        if building.subtype == "major-damage":
            m03 = ((c0[0] + c3[0]) / 2, (c0[1] + c3[1]) / 2)
            m12 = ((c1[0] + c2[0]) / 2, (c1[1] + c2[1]) / 2)
            area = _mask([[m03, m12, c2, c3]])
        else:
            cx = sum(p[0] for p in corners) / 4
            cy = sum(p[1] for p in corners) / 4
            spread = [(cx + (x - cx) * 1.25, cy + (y - cy) * 1.25) for x, y in corners]
            area = _mask([spread])
        base = np.array(_RUBBLE.get(disaster_type, (132, 112, 92)), dtype=np.float32)
        count = int(area.sum())
        rubble = base + rng.normal(0, 22, (count, 1)) + rng.normal(0, 10, (count, 3))
        post[area] = rubble.astype(np.float32)
    elif building.subtype == "un-classified":  # hidden under a small cloud
        cx = sum(p[0] for p in corners) / 4
        cy = sum(p[1] for p in corners) / 4
        yy, xx = np.mgrid[0:SIZE, 0:SIZE]
        alpha = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 9.0**2)).astype(np.float32)
        alpha = (0.9 * alpha)[:, :, None]
        post[:] = post * (1 - alpha) + 235 * alpha
