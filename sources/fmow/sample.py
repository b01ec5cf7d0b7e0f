"""Write a tiny fMoW-rgb tree in the real layout, with synthetic pixels.

No fixture of fMoW exists in ``shared/peer-data``; this one follows ``docs/source-formats.md``
section 9 (fMoW/dataset README, fMoW/baseline ``dataFunctions.py`` and dumped JSON examples).

What is real: the tree ``<split>/<category>/<category>_<n>/<category>_<n>_<t>_rgb.{jpg,json}``
(plus ``_msrgb`` files in one folder, which the default variant ignores), the category names,
the JSON keys and their forms (``gsd``, ``img_width``, ``img_height``, ``timestamp``
``YYYY-MM-DDTHH:MM:SSZ``, ``utm``, ``country_code``, ``cloud_cover``, ``scan_direction``,
``approximate_wavelengths``, ``off_nadir_angle_dbl``, ``sun_elevation_dbl``, ``img_filename``,
``raw_location`` as a lon/lat WKT polygon, ``bounding_boxes`` with ``ID``, ``box`` ``[x, y, w,
h]``, ``category``, ``raw_location``, ``visible``); one folder's ``bounding_boxes`` is a single
dict, which the baseline accepts.

What is synthetic: every pixel (a textured ground and the object drawn in its box), the
places, the dates, the sizes (100–160 px; real chips are hundreds to thousands of pixels) and
the values of the angles. Views of one folder differ in size, box, brightness and date.

Good units: :data:`SEQUENCES` (9 folders, 1 to 6 views; the 6-view one is kept as 5).
Deliberately bad units (:data:`BAD_UNITS`):

=====================================  ===================  ====================================
unit                                   failure kind         why
=====================================  ===================  ====================================
``train/park/park_9``                  ``missing_file``     view 1 has its JPEG but no JSON
``train/lighthouse/lighthouse_4``      ``bad_metadata``     view 0's timestamp is ``2014-13-40``
``train/tower/tower_17``               ``malformed_label``  view 2's box runs past the image
``train/zoo/zoo_6``                    ``corrupt_raster``   view 1's ``.jpg`` holds no JPEG
``train/helipad/helipad_3``            ``malformed_label``  its boxes are of category ``prison``
=====================================  ===================  ====================================
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

JPEG_QUALITY = 88


@dataclass(frozen=True)
class ViewSpec:
    """One view: its ``<t>``, time, size, GSD and cloud cover."""

    t: int
    timestamp: str
    width: int
    height: int
    gsd: float
    cloud_cover: int = 0


@dataclass(frozen=True)
class SequenceSpec:
    """One sequence folder: split, category, number, place and views."""

    split: str
    category: str
    n: int
    lon: float
    lat: float
    country: str
    utm: str
    views: tuple[ViewSpec, ...]
    colour: tuple[int, int, int]

    @property
    def unit(self) -> str:
        """The unit id, ``<split>/<category>/<category>_<n>``."""
        return f"{self.split}/{self.category}/{self.category}_{self.n}"


def _v(t: int, timestamp: str, size: tuple[int, int], gsd: float, cloud: int = 0) -> ViewSpec:
    return ViewSpec(t, timestamp, size[0], size[1], gsd, cloud)


SEQUENCES: tuple[SequenceSpec, ...] = (
    SequenceSpec(
        "train",
        "airport_hangar",
        3,
        8.5389,
        47.4582,
        "CHE",
        "32T",
        (
            _v(0, "2016-06-14T10:41:07Z", (140, 120), 0.52),
            _v(1, "2011-09-02T10:22:51Z", (128, 112), 0.61, 3),
            _v(2, "2013-04-20T10:35:12Z", (136, 120), 0.55),
        ),
        (150, 150, 158),
    ),
    SequenceSpec(
        "train",
        "dam",
        12,
        -111.4846,
        36.9375,
        "USA",
        "12S",
        (
            _v(0, "2010-05-11T18:02:44Z", (150, 128), 0.48),
            _v(1, "2012-08-30T18:15:09Z", (144, 128), 0.5, 8),
            _v(2, "2012-08-30T18:15:21Z", (144, 124), 0.5, 8),
            _v(3, "2015-10-03T18:09:30Z", (156, 132), 0.31),
        ),
        (196, 190, 176),
    ),
    SequenceSpec(
        "train",
        "fountain",
        514,
        2.2945,
        48.8584,
        "FRA",
        "31U",
        (
            _v(0, "2009-07-19T11:02:33Z", (112, 108), 0.6),
            _v(1, "2011-03-27T10:51:02Z", (120, 116), 0.55),
            _v(2, "2012-06-08T11:09:47Z", (116, 112), 0.5),
            _v(3, "2014-09-14T10:58:16Z", (124, 120), 0.47),
            _v(4, "2016-05-01T11:04:55Z", (120, 120), 0.34),
        ),
        (120, 170, 210),
    ),
    SequenceSpec(
        "train",
        "solar_farm",
        7,
        35.0169,
        29.9502,
        "ISR",
        "36R",
        (
            _v(0, "2013-01-22T08:40:19Z", (160, 128), 1.2),
            _v(1, "2016-11-05T08:33:48Z", (152, 124), 0.5),
        ),
        (52, 60, 92),
    ),
    SequenceSpec(
        "train",
        "stadium",
        41,
        151.2251,
        -33.8915,
        "AUS",
        "56H",
        (_v(0, "2014-02-17T23:55:02Z", (148, 140), 0.46),),
        (96, 150, 80),
    ),
    SequenceSpec(
        "train",
        "swimming_pool",
        88,
        -46.6520,
        -23.5874,
        "BRA",
        "23K",
        (
            _v(0, "2008-03-03T13:10:00Z", (104, 100), 0.62),
            _v(1, "2010-12-12T13:02:41Z", (108, 104), 0.55),
            _v(2, "2012-02-29T13:20:15Z", (104, 104), 0.5),
            _v(3, "2013-07-07T13:05:33Z", (112, 104), 0.5),
            _v(4, "2015-01-19T13:11:27Z", (108, 108), 0.47),
            _v(5, "2016-08-23T13:08:08Z", (112, 108), 0.31),
        ),
        (70, 160, 220),
    ),
    SequenceSpec(
        "val",
        "storage_tank",
        5,
        4.0310,
        51.9540,
        "NLD",
        "31U",
        (
            _v(0, "2012-05-04T10:50:50Z", (132, 116), 0.5),
            _v(1, "2014-06-21T10:44:12Z", (128, 120), 0.47, 12),
            _v(2, "2017-03-30T10:39:40Z", (136, 124), 0.31),
        ),
        (226, 226, 218),
    ),
    SequenceSpec(
        "val",
        "crop_field",
        20,
        -98.3921,
        38.4713,
        "USA",
        "14S",
        (
            _v(0, "2011-07-15T17:20:02Z", (160, 144), 1.6),
            _v(1, "2013-09-02T17:33:18Z", (156, 140), 0.5),
            _v(2, "2016-06-25T17:27:46Z", (160, 148), 0.5),
        ),
        (110, 150, 60),
    ),
    SequenceSpec(
        "train",
        "road_bridge",
        2,
        13.4013,
        52.5163,
        "DEU",
        "33U",
        (
            _v(0, "2010-04-18T10:12:30Z", (144, 112), 0.55),
            _v(1, "2012-10-09T10:20:08Z", (140, 116), 0.5),
            _v(2, "2015-05-26T10:16:40Z", (148, 120), 0.47),
        ),
        (128, 120, 112),
    ),
)
"""The good sequence folders (``road_bridge_2`` also has ``_msrgb`` files and its first
view's ``bounding_boxes`` is a single dict)."""

_BAD: tuple[SequenceSpec, ...] = (
    SequenceSpec(
        "train",
        "park",
        9,
        18.0686,
        59.3293,
        "SWE",
        "34V",
        (
            _v(0, "2012-06-01T10:00:00Z", (120, 110), 0.5),
            _v(1, "2015-06-01T10:00:00Z", (120, 110), 0.5),
        ),
        (60, 140, 60),
    ),
    SequenceSpec(
        "train",
        "lighthouse",
        4,
        -9.4986,
        38.6913,
        "PRT",
        "29S",
        (
            _v(0, "2014-13-40T11:00:00Z", (110, 110), 0.5),
            _v(1, "2016-02-02T11:00:00Z", (110, 110), 0.5),
        ),
        (230, 230, 230),
    ),
    SequenceSpec(
        "train",
        "tower",
        17,
        139.8107,
        35.7101,
        "JPN",
        "54S",
        (
            _v(0, "2011-01-01T01:00:00Z", (120, 120), 0.5),
            _v(1, "2013-01-01T01:00:00Z", (120, 120), 0.5),
            _v(2, "2016-01-01T01:00:00Z", (120, 120), 0.5),
        ),
        (200, 60, 60),
    ),
    SequenceSpec(
        "train",
        "zoo",
        6,
        -0.1534,
        51.5353,
        "GBR",
        "30U",
        (
            _v(0, "2010-08-08T11:00:00Z", (120, 120), 0.5),
            _v(1, "2014-08-08T11:00:00Z", (120, 120), 0.5),
        ),
        (90, 120, 70),
    ),
    SequenceSpec(
        "train",
        "helipad",
        3,
        -73.9857,
        40.7484,
        "USA",
        "18T",
        (_v(0, "2013-03-03T15:00:00Z", (110, 110), 0.5),),
        (110, 110, 110),
    ),
)

BAD_UNITS: dict[str, str] = {
    "train/park/park_9": "missing_file",
    "train/lighthouse/lighthouse_4": "bad_metadata",
    "train/tower/tower_17": "malformed_label",
    "train/zoo/zoo_6": "corrupt_raster",
    "train/helipad/helipad_3": "malformed_label",
}
"""Unit → the failure kind it must raise (see the module docstring)."""


def box_of(seq: SequenceSpec, view: ViewSpec) -> tuple[int, int, int, int]:
    """Return the object's box ``(x, y, w, h)`` on a view: central, about half the image."""
    w = max(16, int(view.width * 0.45))
    h = max(16, int(view.height * 0.4))
    shift = (view.t * 7 + seq.n) % 11 - 5
    return (view.width - w) // 2 + shift, (view.height - h) // 2 - shift // 2, w, h


def _polygon(lon: float, lat: float, half_w_m: float, half_h_m: float) -> str:
    dx = half_w_m / (111_320.0 * math.cos(math.radians(lat)))
    dy = half_h_m / 110_540.0
    x0, x1, y0, y1 = lon - dx, lon + dx, lat - dy, lat + dy
    return (
        f"POLYGON (({x0:.7f} {y1:.7f}, {x1:.7f} {y1:.7f}, {x1:.7f} {y0:.7f}, "
        f"{x0:.7f} {y0:.7f}, {x0:.7f} {y1:.7f}))"
    )


def _doc(seq: SequenceSpec, view: ViewSpec, variant: str) -> dict[str, object]:
    x, y, w, h = box_of(seq, view)
    category = "prison" if seq.category == "helipad" else seq.category
    if seq.category == "tower" and view.t == 2:
        w = view.width  # runs past the right edge
    box: dict[str, object] = {
        "ID": 100_000 + seq.n * 10 + view.t,
        "box": [x, y, w, h],
        "category": category,
        "raw_location": _polygon(seq.lon, seq.lat, w * view.gsd / 2, h * view.gsd / 2),
        "visible": True,
    }
    stem = f"{seq.category}_{seq.n}_{view.t}_{variant}"
    single = seq.category == "road_bridge" and view.t == 0
    return {
        "gsd": view.gsd,
        "img_width": view.width,
        "img_height": view.height,
        "timestamp": view.timestamp,
        "utm": seq.utm,
        "country_code": seq.country,
        "cloud_cover": view.cloud_cover,
        "scan_direction": "Forward" if view.t % 2 == 0 else "Reverse",
        "approximate_wavelengths": [661, 545, 477],
        "off_nadir_angle_dbl": round(5.0 + 3.7 * view.t, 3),
        "sun_elevation_dbl": round(40.0 + 2.3 * view.t, 3),
        "img_filename": f"{stem}.jpg",
        "raw_location": _polygon(
            seq.lon, seq.lat, view.width * view.gsd / 2, view.height * view.gsd / 2
        ),
        "bounding_boxes": box if single else [box],
    }


def _pixels(rng: np.random.Generator, seq: SequenceSpec, view: ViewSpec) -> np.ndarray:
    height, width = view.height, view.width
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ground = 95 + 25 * np.sin(xx / (6 + seq.n % 5)) * np.cos(yy / (9 + view.t))
    ground += rng.normal(0, 14, (height, width))
    image = np.stack([ground * f for f in (1.0, 0.95, 0.82)], axis=-1)
    x, y, w, h = box_of(seq, view)
    patch = np.array(seq.colour, dtype=np.float32) + rng.normal(0, 10, (h, w, 3))
    stripes = (np.arange(w) // max(3, w // 8)) % 2 == 0
    patch[:, stripes] *= 0.8
    image[y : y + h, x : x + w] = patch
    image *= 0.9 + 0.05 * view.t
    return np.clip(image, 6, 245).astype(np.uint8)


def _jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, "RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False)
    return buffer.getvalue()


def _write_sequence(root: Path, seq: SequenceSpec, s_index: int, seed: int) -> None:
    folder = root / seq.split / seq.category / f"{seq.category}_{seq.n}"
    folder.mkdir(parents=True, exist_ok=True)
    variants = ("rgb", "msrgb") if seq.category == "road_bridge" else ("rgb",)
    for view in seq.views:
        rng = np.random.default_rng([seed, s_index, view.t])
        pixels = _pixels(rng, seq, view)
        for variant in variants:
            stem = folder / f"{seq.category}_{seq.n}_{view.t}_{variant}"
            data = _jpeg(pixels if variant == "rgb" else pixels[..., ::-1].copy())
            if seq.category == "zoo" and view.t == 1:
                data = b"<html>403 Forbidden</html>\n"
            stem.with_suffix(".jpg").write_bytes(data)
            if seq.category == "park" and view.t == 1:
                continue
            doc = _doc(seq, view, variant)
            stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")


def write(root: Path, seed: int) -> None:
    """Write the sample tree under ``root`` (created if needed).

    The same seed gives byte-identical files; each view draws from
    ``numpy.random.default_rng([seed, sequence, t])``.

    Args:
        root: The folder to hold ``train/`` and ``val/``.
        seed: Random seed.
    """
    root = Path(root)
    for s_index, seq in enumerate((*SEQUENCES, *_BAD)):
        _write_sequence(root, seq, s_index, seed)
