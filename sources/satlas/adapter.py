"""Source adapter for SatlasPretrain: one sensor's image time series of one Web-Mercator tile.

Layout facts this adapter relies on (``shared/docs/source-formats.md`` section 4, which cites
allenai/satlas ``SatlasPretrain.md``, ``satlas/util/__init__.py``,
``satlas/cmd/to_dataset/common.py``, ``satlas/tasks.py`` and torchgeo ``satlas.py`` with its
fixture ``tests/data/satlas``):

- Everything is in Web Mercator. Low-resolution images (Sentinel-2, Sentinel-1, Landsat) and
  all labels use zoom-13 tiles; NAIP uses zoom-17 tiles. Tiles are named ``<col>_<row>``.
  Every PNG is 8-bit; a full tile is 512x512 pixels, but some bands are stored smaller (the
  20 m Sentinel-2 bands, the 30 m and 100 m Landsat bands) and are upsampled to the tile grid.
- Images: ``<sensor>/<image name>/<band folder>/<col>_<row>.png`` with the band folders
  ``tci,b05,b06,b07,b08,b11,b12`` (sentinel2; ``tci`` is 3-channel R, G, B, the others are
  single-channel), ``vh,vv`` (sentinel1), ``b1`` … ``b11`` (landsat), ``tci,ir`` (naip).
- ``metadata/good_images_{lowres,highres}_all.json``: ``[[col, row, "<image name>"], …]``,
  the images with few black or white pixels; ``metadata/image_times.json``:
  ``{"<image name>": "<ISO 8601 time>"}``; split files such as ``train_lowres.json``:
  ``[[col, row], …]`` of zoom-13 label tiles.
- Labels: ``static/<col>_<row>/vector.json`` and ``<task>.png`` rasters (land_cover,
  tree_cover, dem, crop_type…), which apply to the most recent image of the tile;
  ``dynamic/<col>_<row>/<task>_<n>/vector.json`` (+ rasters), whose ``metadata.ImageName``
  names the one image they annotate. ``vector.json`` maps a category to a list of
  ``{"Geometry": {"Type": "point"|"polygon"|"polyline", …}, "Properties": {…}}``; an empty
  list means "annotated, none present". Coordinates are in an 8192x8192 space per zoom-13
  tile (they may fall outside it), which is also the pixel grid of the 16x16 zoom-17 NAIP
  tiles inside it (``satlas/cmd/to_dataset/property.py`` maps a feature to its NAIP tile as
  ``tile*16 + coord//512``). ``smoke`` and ``snow`` are classification labels: a tile-covering
  polygon whose property holds the class index (no, partial, yes).

Facts checked in torchgeo's fixture (``shared/peer-data`` §1e, read by the tests): the
metadata JSON shapes above; ``image_times.json`` values such as
``2022-03-09T06:02:35+00:00`` (for the S2 product ``…_20220309T032601_…_20220309T060235``,
whose *generation* time that is); Sentinel-1 and Landsat image folders named like monthly
mosaics (``2022-01``, ``2022-03``) and listed in ``good_images_lowres_all.json``; Landsat bands
of different sizes (b8 32 px, b1–b7 and b9–b10 16 px, b11 8 px, tci-less).

UNVERIFIED: the Sentinel-1 and Landsat folder naming and whether the real
``good_images_lowres_all.json`` lists them (if a sensor's images are in no list, its tiles are
found by scanning its first band folder, as torchgeo's loader does with a glob); the real sizes
of the smaller band PNGs; the scaling of the 8-bit non-TCI bands (probably raw value / 32,
clipped) and of the Sentinel-1 PNGs; whether Landsat is Level-1 (its band set b1–b11 suggests
so); the formatting of the metadata files.

Decisions:

- **Unit** ``<sensor>/<col>_<row>``: one sensor's tile (zoom 13, or zoom 17 for NAIP) with up
  to ``max_images`` of its images. An image belongs to a tile when it is listed for the tile
  in ``good_images_*`` (or, for a sensor absent from those lists, found on disk), has a time
  in ``image_times.json`` (or one readable from its name) and its first band file exists (for
  tci-bearing sensors that is the ``tci`` file, as satlas's own ``to_dataset`` requires). The
  newest image is always kept (static labels refer to it), then images that dynamic labels
  name, then the newest others; the kept images are ordered oldest first.
- **Images**: time step ``i`` gives role ``t<i>``: the ``tci`` PNG (bands
  ``tci_r, tci_g, tci_b``) for Sentinel-2 and NAIP, plus role ``t<i>_bands`` for the
  single-band PNGs (``b05 … b12``, displayed as b12/b08/b05 false colour; NAIP ``ir``).
  Sentinel-1 and Landsat have one image per time step, role ``t<i>``, one file per band
  (Sentinel-1 displayed as grey ``vv`` — the 8-bit dB scaling is unknown, so the SAR false
  colour cannot be made; Landsat as b4/b3/b2). Encoding ``uint8``; the reference grid of an
  image is its largest band. PNG headers are opened (mode and size are checked); no pixels.
- **Labels**: each vector feature becomes an :class:`~pipeline.records.ObjectLabel` on the
  image it annotates (static: the newest ``t<i>``; dynamic: the image named by
  ``ImageName``), with ``bbox`` in that image's pixels (coordinate / 16 on a 512-px zoom-13
  tile; coordinate minus the sub-tile offset on a NAIP tile), clipped to the image; points get
  a box of ±:data:`POINT_HALF_SIZE` label units (about ±19 m at the equator), polylines are
  padded by :data:`LINE_HALF_WIDTH`. ``polygon_wkt`` is the unclipped geometry in the same
  pixel space (``POINT``, ``LINESTRING`` or ``POLYGON``). Features wholly outside the image are
  left out. ``attribute`` is the feature's categorical property (``plant_type``,
  ``road_type``, ``resource``, ``park_type``, track ``sport``: :data:`ATTRIBUTE_PROPERTIES`);
  numeric properties (lanes, capacity…) are not kept. ``uid`` is
  ``<label folder>/<category>/<index>``.
- ``labels.properties``: ``smoke``/``snow`` class names; ``absent_categories`` (annotated but
  with no instance in the image, comma-separated); ``static_image_role`` (the role that static
  rasters and classifications refer to). Keys from dynamic labels carry ``:<role>``.
- ``labels.rasters``: static ``<task>.png`` by task name and dynamic ones as
  ``<task>:<role>``, for zoom-13 sensors only (a zoom-13 raster does not align with a NAIP
  tile's grid, so NAIP samples get none).
- **Georeference**: ``crs`` ``EPSG:3857``; the footprint is the tile's lon/lat rectangle
  (:func:`tile_bounds`); ``gsd_m`` is the Web-Mercator pixel size at the tile centre,
  ``2π·6378137 / (2^zoom · width) · cos(latitude)`` (9.55 m × cos(latitude) for a 512-px
  zoom-13 tile).
- **Split**: from the split files (option ``splits``); ``*lowres*`` files apply to zoom-13
  sensors, ``*highres*`` files to NAIP (via the zoom-13 parent tile), others (``*_event``) to
  all. A sensor with no applicable split file present is not filtered and gets split ``""``;
  a tile in several files takes the first file's split in the option's order.
- ``tags``: ``sensor``, ``tile``, ``zoom``, ``image_count``, for Sentinel-2 ``platform``,
  ``mgrs_tile`` and ``processing_level`` (from the product names), for NAIP ``label_tile``,
  and ``label_categories`` / ``raster_labels`` when there are labels.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
from PIL import Image, UnidentifiedImageError
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import (
    Band,
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
)
from eoinstruct.sources.options import parse_sensors

LABEL_ZOOM = 13
"""Zoom level of the label tiles (and of the low-resolution images)."""

LABEL_EXTENT = 8192
"""Size of a label tile's vector coordinate space (per axis)."""

EARTH_RADIUS_M = 6_378_137.0
"""Radius of the Web-Mercator sphere (EPSG:3857)."""

POINT_HALF_SIZE = 32.0
"""Half-size of a point's box, in label units (2 px on a 512-px zoom-13 tile, about 19 m)."""

LINE_HALF_WIDTH = 16.0
"""Padding of a polyline's box, in label units (1 px on a 512-px zoom-13 tile)."""

DEFAULT_MAX_IMAGES = 4
"""Default of the ``max_images`` option."""

DEFAULT_SPLITS: tuple[str, ...] = ("train_lowres", "test_lowres", "train_highres", "test_highres")
"""Split files used by default (those present under ``metadata/``)."""

TCI_BANDS: tuple[str, str, str] = ("tci_r", "tci_g", "tci_b")
"""Band names of a 3-channel ``tci`` PNG."""

IMAGE_LISTS: tuple[str, ...] = ("good_images_lowres_all.json", "good_images_highres_all.json")
"""The image lists under ``metadata/``."""

CLASSIFICATION_TASKS: dict[str, tuple[str, ...]] = {
    "smoke": ("no", "partial", "yes"),
    "snow": ("no", "partial", "yes"),
}
"""Classification tasks (tile-covering polygons; property = class index), satlas/tasks.py."""

ATTRIBUTE_PROPERTIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "power_plant": ("plant_type", ("oil", "nuclear", "coal", "gas")),
    "road": (
        "road_type",
        (
            "motorway",
            "trunk",
            "primary",
            "secondary",
            "tertiary",
            "residential",
            "service",
            "track",
            "pedestrian",
        ),
    ),
    "quarry": ("resource", ("sand", "gravel", "clay", "coal", "peat")),
    "park": ("park_type", ("park", "pitch", "golf_course", "cemetery")),
    "track": ("sport", ("running", "cycling", "horse")),
}
"""Category → (categorical property, its classes) kept as the object's attribute
(``property_tasks`` of allenai/satlas ``satlas/tasks.py``)."""

LANDSAT_BANDS: tuple[Band, ...] = (
    Band("b1", "coastal aerosol", 443, 30),
    Band("b2", "blue", 482, 30),
    Band("b3", "green", 562, 30),
    Band("b4", "red", 655, 30),
    Band("b5", "near infrared", 865, 30),
    Band("b6", "shortwave infrared 1", 1609, 30),
    Band("b7", "shortwave infrared 2", 2201, 30),
    Band("b8", "panchromatic", 590, 15),
    Band("b9", "cirrus", 1373, 30),
    Band("b10", "thermal infrared 1", 10895, 100),
    Band("b11", "thermal infrared 2", 12005, 100),
)
"""Landsat 8/9 OLI/TIRS bands b1–b11 (USGS Landsat 8–9 Data Users Handbook centres)."""


@dataclass(frozen=True)
class SensorSpec:
    """How one sensor's images are stored in SatlasPretrain.

    Attributes:
        zoom: Web-Mercator zoom of its tiles.
        rgb_folder: Folder of the 3-channel true-colour PNG (``tci``), or empty.
        band_folders: Folders of the single-band PNGs, in reading order.
        band_display: Display bands of the single-band image.
        modality: Sample modality.
        sensor: Sample sensor name.
        licence: Licence of samples from this sensor (labels and imagery).
    """

    zoom: int
    rgb_folder: str
    band_folders: tuple[str, ...]
    band_display: tuple[str, ...]
    modality: str
    sensor: str
    licence: str

    @property
    def first_folder(self) -> str:
        """The band folder whose file must exist for an image to count for a tile."""
        return self.rgb_folder or self.band_folders[0]

    @property
    def folders(self) -> tuple[str, ...]:
        """Every band folder of an image."""
        return ((self.rgb_folder,) if self.rgb_folder else ()) + self.band_folders


_LABEL_LICENCE = "ODC-BY-1.0 AND ODbL-1.0 AND CC-BY-4.0"
_SENTINEL_LICENCE = f"{_LABEL_LICENCE} AND LicenseRef-Copernicus-Sentinel-Data"

SENSOR_SPECS: dict[str, SensorSpec] = {
    "sentinel2": SensorSpec(
        zoom=13,
        rgb_folder="tci",
        band_folders=("b05", "b06", "b07", "b08", "b11", "b12"),
        band_display=("b12", "b08", "b05"),
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        licence=_SENTINEL_LICENCE,
    ),
    "sentinel1": SensorSpec(
        zoom=13,
        rgb_folder="",
        band_folders=("vh", "vv"),
        band_display=("vv",),
        modality="sar",
        sensor="Sentinel-1 C-SAR",
        licence=_SENTINEL_LICENCE,
    ),
    "landsat": SensorSpec(
        zoom=13,
        rgb_folder="",
        band_folders=tuple(b.name for b in LANDSAT_BANDS),
        band_display=("b4", "b3", "b2"),
        modality="multispectral",
        sensor="Landsat 8/9 OLI/TIRS",
        licence=_LABEL_LICENCE,
    ),
    "naip": SensorSpec(
        zoom=17,
        rgb_folder="tci",
        band_folders=("ir",),
        band_display=("ir",),
        modality="rgb",
        sensor="NAIP",
        licence=_LABEL_LICENCE,
    ),
}
"""The sensors (values of the ``sensors`` option and image folders under the root).

Licences (SatlasPretrain.md): new labels ODC-BY, OpenStreetMap-derived labels ODbL, WorldCover
CC-BY-4.0; Sentinel imagery under the Copernicus legal notice; NAIP and Landsat public domain.
"""

SENSORS: tuple[str, ...] = tuple(SENSOR_SPECS)
"""Known sensor names."""

_SPLIT_NAMES = {"train": "train", "test": "test", "val": "validation", "valid": "validation"}
_TILE_RE = re.compile(r"^(-?\d+)_(-?\d+)$")
_S2_NAME = re.compile(r"^S2([A-D])_MSI(L\d[A-Z]?)_(\d{8}T\d{6})_N\d{4}_R(\d{3})_T(\d{2}[A-Z]{3})_")
_NAIP_DATE = re.compile(r"_(\d{8})$")
_MONTH_NAME = re.compile(r"^(\d{4})-(\d{2})$")
_DAY_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})")


# -- Web-Mercator tiles -----------------------------------------------------------------------


def tile_bounds(col: int, row: int, zoom: int) -> tuple[float, float, float, float]:
    """Return a Web-Mercator tile's lon/lat bounds.

    The inverse of the spherical Web-Mercator projection: ``lon = x / 2^z · 360 − 180`` and
    ``lat = atan(sinh(π · (1 − 2 · y / 2^z)))`` for tile coordinates ``x, y`` (rows grow
    southwards).

    Args:
        col: Tile column (``x``).
        row: Tile row (``y``).
        zoom: Zoom level.

    Returns:
        ``(west, south, east, north)`` in degrees.
    """
    n = float(2**zoom)

    def lon(x: float) -> float:
        return x / n * 360.0 - 180.0

    def lat(y: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))

    return lon(col), lat(row + 1), lon(col + 1), lat(row)


def tile_gsd_m(row: int, zoom: int, width: int) -> float:
    """Return the ground size of one pixel at the centre of a tile.

    Args:
        row: Tile row.
        zoom: Zoom level.
        width: Pixels across the tile (512 for a full SatlasPretrain PNG).

    Returns:
        Metres per pixel: the equatorial Web-Mercator pixel size scaled by the cosine of the
        latitude of the tile centre (9.55 m × cos(latitude) at zoom 13 and 512 px).
    """
    n = float(2**zoom)
    centre_lat = math.atan(math.sinh(math.pi * (1.0 - 2.0 * (row + 0.5) / n)))
    return 2.0 * math.pi * EARTH_RADIUS_M / (n * width) * math.cos(centre_lat)


def footprint_wkt(col: int, row: int, zoom: int) -> str:
    """Return a tile's lon/lat rectangle as a counter-clockwise WKT polygon.

    Args:
        col: Tile column.
        row: Tile row.
        zoom: Zoom level.

    Returns:
        ``POLYGON ((…))`` in EPSG:4326 (lon lat), rounded to 1e-9 degrees.
    """
    west, south, east, north = tile_bounds(col, row, zoom)
    ring = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return shapely.to_wkt(Polygon(ring), rounding_precision=9)


def image_time_from_name(name: str) -> datetime | None:
    """Read an acquisition time from an image folder name, where the name holds one.

    Sentinel-2 product names give the sensing time (``…_MSIL1C_20220309T032601_…``), NAIP
    names end with the date (``m_3808245_se_17_1_20110801``), monthly mosaics are named
    ``YYYY-MM`` (first of the month) and other names may start with ``YYYY-MM-DD``.

    Args:
        name: The image folder name.

    Returns:
        The time in UTC, or None if the name holds none.
    """
    try:
        if match := _S2_NAME.match(name):
            return datetime.strptime(match[3], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        if match := _NAIP_DATE.search(name):
            return datetime.strptime(match[1], "%Y%m%d").replace(tzinfo=UTC)
        if match := _MONTH_NAME.match(name):
            return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
        if match := _DAY_NAME.match(name):
            return datetime.strptime(match[1], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


# -- the adapter ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    """Images per sensor and tile, and the split of each label tile."""

    images: dict[str, dict[tuple[int, int], tuple[str, ...]]]
    splits: dict[str, dict[tuple[int, int], str] | None]


@dataclass(frozen=True)
class _Candidate:
    name: str
    time: datetime


@dataclass(frozen=True)
class _Window:
    """Where an image lies in its label tile's 8192-unit space."""

    x0: float
    y0: float
    size: float


class SatlasPretrain(SourceAdapter):
    """Reader of SatlasPretrain tiles: one sensor's images of one tile with its labels.

    Options (``sources.satlas`` in ``params.yaml``):
        sensors: Image folders to read, any of :data:`SENSORS` (default ``["sentinel2"]``).
        splits: Split files under ``metadata/`` (stems such as ``train_lowres``; default
            :data:`DEFAULT_SPLITS`, those present).
        max_images: Most images per sample (default 4); the newest image is always one.

    Args:
        root: The folder where the SatlasPretrain tars were extracted (``metadata/``,
            ``sentinel2/``, ``static/``…).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.sensors: tuple[str, ...] = _parse_sensors(self.options.get("sensors", ["sentinel2"]))
        self.max_images: int = _parse_max_images(self.options.get("max_images", DEFAULT_MAX_IMAGES))
        splits = self.options.get("splits")
        self.explicit_splits = splits is not None
        self.splits: tuple[str, ...] = (
            _parse_splits(splits) if splits is not None else DEFAULT_SPLITS
        )
        self._index_cache: _Index | None = None
        self._times_cache: dict[str, Any] | None = None

    # -- listing ------------------------------------------------------------------------------

    def _metadata(self) -> Path:
        return self.root / "metadata"

    def _index(self) -> _Index:
        """Build (once) the image index and split tables from the metadata and folders.

        Raises:
            SourceNotFoundError: If the metadata or every selected sensor folder is missing,
                an explicitly selected split file is missing, or a metadata list is malformed.
        """
        if self._index_cache is not None:
            return self._index_cache
        where = (
            "download the tars listed in allenai/satlas satlaspretrain_urls.txt "
            "(https://github.com/allenai/satlas/blob/main/SatlasPretrain.md), extract them "
            f"into one folder and point sources.{self.name}.root in params.yaml at it"
        )
        times = self._metadata() / "image_times.json"
        if not times.is_file():
            raise SourceNotFoundError(f"{self.name}: {times} not found; {where}")
        present = [s for s in self.sensors if (self.root / s).is_dir()]
        if not present:
            folders = ", ".join(f"{s}/" for s in self.sensors)
            raise SourceNotFoundError(
                f"{self.name}: {self.root} holds none of the image folders {folders} "
                f"(sources.{self.name}.sensors); {where}"
            )
        listed: list[tuple[int, int, str]] = []
        for list_name in IMAGE_LISTS:
            path = self._metadata() / list_name
            if path.is_file():
                listed += _load_image_list(path, where)
        images: dict[str, dict[tuple[int, int], tuple[str, ...]]] = {}
        for sensor in self.sensors:
            folder = self.root / sensor
            names = _subfolders(folder) if folder.is_dir() else set()
            by_tile: dict[tuple[int, int], set[str]] = {}
            for col, row, image in listed:
                if image in names:
                    by_tile.setdefault((col, row), set()).add(image)
            if not by_tile:  # a sensor the image lists do not cover: scan its folders
                first = SENSOR_SPECS[sensor].first_folder
                for image in names:
                    for tile in _tiles_in(folder / image / first):
                        by_tile.setdefault(tile, set()).add(image)
            images[sensor] = {t: tuple(sorted(v)) for t, v in by_tile.items()}
        split_tables: dict[str, dict[tuple[int, int], str] | None] = {}
        loaded: list[tuple[str, list[tuple[int, int]]]] = []
        for stem in self.splits:
            path = self._metadata() / f"{stem}.json"
            if not path.is_file():
                if self.explicit_splits:
                    raise SourceNotFoundError(
                        f"{self.name}: split file {path} not found (sources.{self.name}.splits "
                        "in params.yaml)"
                    )
                continue
            loaded.append((stem, _load_split(path, where)))
        for sensor in self.sensors:
            applicable = [(s, t) for s, t in loaded if _split_applies(s, sensor)]
            if not applicable:
                split_tables[sensor] = None
                continue
            table: dict[tuple[int, int], str] = {}
            for stem, tiles in applicable:
                split = _split_name(stem)
                for tile in tiles:
                    table.setdefault(tile, split)
            split_tables[sensor] = table
        self._index_cache = _Index(images=images, splits=split_tables)
        return self._index_cache

    def list_units(self) -> list[str]:
        """List ``<sensor>/<col>_<row>`` for every tile of the selected sensors and splits.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If the metadata or the image folders are missing (see
                :meth:`_index`).
        """
        index = self._index()
        units: list[str] = []
        for sensor in self.sensors:
            table = index.splits[sensor]
            zoom = SENSOR_SPECS[sensor].zoom
            for col, row in index.images[sensor]:
                if table is None or _label_tile(col, row, zoom) in table:
                    units.append(f"{sensor}/{col}_{row}")
        return sorted(units)

    def _parse_unit(self, unit: str) -> tuple[str, int, int]:
        sensor, _, tile = unit.partition("/")
        match = _TILE_RE.match(tile)
        if sensor not in SENSOR_SPECS or not match:
            raise ValueError(
                f"{self.name}: bad unit id {unit!r}; expected <sensor>/<col>_<row> with sensor "
                f"one of {list(SENSORS)}"
            )
        return sensor, int(match[1]), int(match[2])

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a tile is read from (for change detection on re-runs).

        Args:
            unit: ``<sensor>/<col>_<row>``.

        Returns:
            The metadata files, the tile's static and dynamic label files and the band files
            of its listed images that exist, sorted.
        """
        try:
            sensor, col, row = self._parse_unit(unit)
        except ValueError:
            return []
        spec = SENSOR_SPECS[sensor]
        paths = [self._metadata() / name for name in (*IMAGE_LISTS, "image_times.json")]
        paths += [self._metadata() / f"{stem}.json" for stem in self.splits]
        label_col, label_row = _label_tile(col, row, spec.zoom)
        static = self.root / "static" / f"{label_col}_{label_row}"
        if static.is_dir():
            paths += [p for p in static.iterdir()]
        dynamic = self.root / "dynamic" / f"{label_col}_{label_row}"
        if dynamic.is_dir():
            paths += [p for d in dynamic.iterdir() if d.is_dir() for p in d.iterdir()]
        names = self._index().images.get(sensor, {}).get((col, row), ())
        for name in names:
            for folder in spec.folders:
                paths.append(self.root / sensor / name / folder / f"{col}_{row}.png")
        return sorted({p for p in paths if p.is_file()})

    # -- reading ------------------------------------------------------------------------------

    def _image_times(self, unit: str) -> dict[str, Any]:
        if self._times_cache is None:
            path = self._metadata() / "image_times.json"
            data = _read_json(path, unit, "bad_metadata")
            if not isinstance(data, dict):
                raise SourceError("bad_metadata", f"{path}: not a JSON object", unit)
            self._times_cache = data
        return self._times_cache

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one sensor tile with its images and labels into one sample (metadata only).

        Args:
            unit: ``<sensor>/<col>_<row>`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``missing_file`` if no listed image of the tile is on disk or a
                dynamic label folder has no ``vector.json``; ``missing_band`` if a kept image
                lacks a band file; ``corrupt_raster`` if a PNG header is unreadable or of the
                wrong mode; ``malformed_label`` for unreadable or ill-formed ``vector.json``;
                ``bad_metadata`` for an unreadable ``image_times.json`` or time.
            ValueError: If ``unit`` is not of the form above.
        """
        sensor, col, row = self._parse_unit(unit)
        spec = SENSOR_SPECS[sensor]
        names = self._index().images.get(sensor, {}).get((col, row), ())
        if not names:
            raise SourceError(
                "missing_file",
                f"{self.name} {unit}: no {sensor} image is listed for tile {col}_{row}",
                unit,
            )
        times = self._image_times(unit)
        candidates: list[_Candidate] = []
        for name in names:
            when = _image_time(name, times, self._metadata() / "image_times.json", unit)
            if when is None:
                continue
            if (self.root / sensor / name / spec.first_folder / f"{col}_{row}.png").is_file():
                candidates.append(_Candidate(name, when))
        if not candidates:
            expected = self.root / sensor / names[-1] / spec.first_folder / f"{col}_{row}.png"
            raise SourceError(
                "missing_file",
                f"{self.name} {unit}: none of the {len(names)} listed images has a dated "
                f"{spec.first_folder} file for this tile (e.g. {expected})",
                unit,
            )

        label_col, label_row = _label_tile(col, row, spec.zoom)
        label_name = f"{label_col}_{label_row}"
        static_dir = self.root / "static" / label_name
        static_vector = static_dir / "vector.json"
        static_data = (
            _load_vector(static_vector, unit, dynamic=False) if static_vector.is_file() else None
        )
        dynamic = _load_dynamic(self.root / "dynamic" / label_name, unit)

        chosen = _choose(candidates, {image for _, image, _ in dynamic}, self.max_images)
        roles = {c.name: f"t{i}" for i, c in enumerate(chosen)}
        images: list[ImageRef] = []
        primary: dict[str, ImageRef] = {}
        for cand in chosen:
            refs = _image_refs(self.root, sensor, cand.name, col, row, roles[cand.name], unit)
            images += refs
            primary[roles[cand.name]] = refs[0]
        newest_role = roles[chosen[-1].name]
        window = _window(col, row, spec.zoom)

        objects: list[ObjectLabel] = []
        properties: dict[str, str] = {}
        rasters: dict[str, str] = {}
        if static_data is not None:
            found = _features(
                static_data, static_vector, unit, window, primary[newest_role], "static"
            )
            objects += found.objects
            properties.update(found.properties)
        if spec.zoom == LABEL_ZOOM and static_dir.is_dir():
            for path in sorted(static_dir.glob("*.png")):
                rasters[path.stem] = str(path)
        if static_data is not None or rasters:
            properties["static_image_role"] = newest_role
        for folder, image, data in dynamic:
            role = roles.get(image)
            if role is None:
                continue
            found = _features(
                data, folder / "vector.json", unit, window, primary[role], folder.name
            )
            objects += found.objects
            properties.update({f"{k}:{role}": v for k, v in found.properties.items()})
            if spec.zoom == LABEL_ZOOM:
                for path in sorted(folder.glob("*.png")):
                    rasters[f"{path.stem}:{role}"] = str(path)

        acquired: list[str] = []
        for cand in chosen:
            text = cand.time.strftime("%Y-%m-%dT%H:%M:%SZ")
            if text not in acquired:
                acquired.append(text)
        width = max(im.width for im in images)
        bands: list[str] = []
        for im in images:
            bands += [b for b in im.bands if b not in bands]
        tags = _tags(sensor, col, row, spec.zoom, [c.name for c in chosen])
        if spec.zoom != LABEL_ZOOM:
            tags["label_tile"] = label_name
        categories = sorted({o.category for o in objects})
        if categories:
            tags["label_categories"] = ",".join(categories)
        if rasters:
            tags["raster_labels"] = ",".join(sorted(rasters))
        table = self._index().splits[sensor]
        split = table.get((label_col, label_row), "") if table is not None else ""
        native_id = f"{sensor}/{col}_{row}"
        sample = Sample(
            sample_id=f"{self.name}:{native_id}",
            source=self.name,
            native_id=native_id,
            modality=spec.modality,
            sensor=spec.sensor,
            bands=tuple(bands),
            gsd_m=round(tile_gsd_m(row, spec.zoom, width), 4),
            crs="EPSG:3857",
            footprint_wkt=footprint_wkt(col, row, spec.zoom),
            acquired=tuple(acquired),
            images=tuple(images),
            tags=tags,
            labels=Labels(
                scheme="",
                classes=(),
                objects=tuple(objects),
                properties=properties,
                rasters=rasters,
            ),
            licence=spec.licence,
            split=split,
        )
        return [sample]


# -- options and metadata -----------------------------------------------------------------------


def _parse_sensors(value: object) -> tuple[str, ...]:
    """Validate the ``sensors`` option (a name or a list of names)."""
    return parse_sensors(value, SENSORS, "satlas")


def _parse_max_images(value: object) -> int:
    """Validate the ``max_images`` option (a positive integer)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"satlas: option max_images={value!r} must be a positive integer")
    return value


def _parse_splits(value: object) -> tuple[str, ...]:
    """Validate the ``splits`` option: split-file stems (``.json`` is stripped)."""
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    stems = [str(n).removesuffix(".json") for n in names]
    if not stems or any(not s or "/" in s for s in stems):
        raise ValueError(
            f"satlas: option splits={value!r} must list split files under metadata/, "
            "e.g. [train_lowres, test_lowres]"
        )
    return tuple(dict.fromkeys(stems))


def _split_name(stem: str) -> str:
    """``train_lowres`` → ``train``; ``val_…`` → ``validation``."""
    prefix = stem.split("_", 1)[0]
    return _SPLIT_NAMES.get(prefix, prefix)


def _split_applies(stem: str, sensor: str) -> bool:
    """Whether a split file selects tiles of a sensor (lowres: zoom 13, highres: NAIP)."""
    if "highres" in stem:
        return SENSOR_SPECS[sensor].zoom != LABEL_ZOOM
    if "lowres" in stem:
        return SENSOR_SPECS[sensor].zoom == LABEL_ZOOM
    return True


def _label_tile(col: int, row: int, zoom: int) -> tuple[int, int]:
    """The zoom-13 tile holding a tile of another zoom."""
    shift = zoom - LABEL_ZOOM
    return (col >> shift, row >> shift) if shift > 0 else (col, row)


def _window(col: int, row: int, zoom: int) -> _Window:
    """Where a tile lies in its zoom-13 label tile's 8192-unit space."""
    shift = zoom - LABEL_ZOOM
    if shift <= 0:
        return _Window(0.0, 0.0, float(LABEL_EXTENT))
    size = LABEL_EXTENT / 2**shift
    sub = 2**shift
    return _Window((col % sub) * size, (row % sub) * size, size)


def _subfolders(folder: Path) -> set[str]:
    with os.scandir(folder) as entries:
        return {e.name for e in entries if e.is_dir() and not e.name.startswith(".")}


def _tiles_in(folder: Path) -> list[tuple[int, int]]:
    """Tiles ``<col>_<row>.png`` in a band folder (empty if it does not exist)."""
    if not folder.is_dir():
        return []
    tiles = []
    with os.scandir(folder) as entries:
        for entry in entries:
            stem, dot, suffix = entry.name.rpartition(".")
            match = _TILE_RE.match(stem)
            if dot and suffix == "png" and match:
                tiles.append((int(match[1]), int(match[2])))
    return tiles


def _load_json_list(path: Path, where: str) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceNotFoundError(f"satlas: {path} is unreadable ({exc}); {where}") from exc
    if not isinstance(data, list):
        raise SourceNotFoundError(f"satlas: {path} is not a JSON list; {where}")
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _load_image_list(path: Path, where: str) -> list[tuple[int, int, str]]:
    """Read a ``good_images_*.json`` list of ``[col, row, image name]``."""
    entries: list[tuple[int, int, str]] = []
    for item in _load_json_list(path, where):
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not (_is_int(item[0]) and _is_int(item[1]) and isinstance(item[2], str))
        ):
            raise SourceNotFoundError(
                f"satlas: {path}: entry {item!r} is not [col, row, image name]; {where}"
            )
        entries.append((item[0], item[1], item[2]))
    return entries


def _load_split(path: Path, where: str) -> list[tuple[int, int]]:
    """Read a split file: ``[[col, row], …]`` (``[col, row, image]`` rows are accepted)."""
    tiles: list[tuple[int, int]] = []
    for item in _load_json_list(path, where):
        if (
            not isinstance(item, list)
            or len(item) not in (2, 3)
            or not (_is_int(item[0]) and _is_int(item[1]))
        ):
            raise SourceNotFoundError(f"satlas: {path}: entry {item!r} is not [col, row]; {where}")
        tiles.append((item[0], item[1]))
    return tiles


def _read_json(path: Path, unit: str, kind: str) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(kind, f"satlas {unit}: {path} is not valid JSON ({exc})", unit) from exc
    except OSError as exc:
        raise SourceError(
            "missing_file", f"satlas {unit}: cannot read {path} ({exc})", unit
        ) from exc


def _parse_time(text: object, what: str, unit: str) -> datetime:
    """Parse an ISO 8601 time (naive times are UTC)."""
    if not isinstance(text, str):
        raise SourceError("bad_metadata", f"satlas {unit}: {what} {text!r} is not a time", unit)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceError(
            "bad_metadata", f"satlas {unit}: {what} {text!r} is not ISO 8601", unit
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _image_time(name: str, times: Mapping[str, Any], path: Path, unit: str) -> datetime | None:
    """An image's time from ``image_times.json``, else from its name, else None."""
    if name in times:
        return _parse_time(times[name], f"{path}: time of {name}", unit)
    return image_time_from_name(name)


def _choose(
    candidates: list[_Candidate], dynamic_images: set[str], max_images: int
) -> list[_Candidate]:
    """Keep the newest image, then dynamically labelled ones, then the newest others."""
    ordered = sorted(candidates, key=lambda c: (c.time, c.name))
    older = list(reversed(ordered[:-1]))
    priority = [ordered[-1]]
    priority += [c for c in older if c.name in dynamic_images]
    priority += [c for c in older if c.name not in dynamic_images]
    return sorted(priority[:max_images], key=lambda c: (c.time, c.name))


def _tags(sensor: str, col: int, row: int, zoom: int, names: list[str]) -> dict[str, str]:
    tags = {
        "sensor": sensor,
        "tile": f"{col}_{row}",
        "zoom": str(zoom),
        "image_count": str(len(names)),
    }
    if sensor == "sentinel2":
        matches = [m for m in (_S2_NAME.match(n) for n in names) if m]
        platforms = dict.fromkeys(f"Sentinel-2{m[1]}" for m in matches)
        tiles = dict.fromkeys(m[5] for m in matches)
        levels = dict.fromkeys(m[2] for m in matches)
        for key, values in (
            ("platform", platforms),
            ("mgrs_tile", tiles),
            ("processing_level", levels),
        ):
            if values:
                tags[key] = ",".join(values)
    return tags


# -- images ------------------------------------------------------------------------------------


def _header(path: Path, modes: tuple[str, ...], unit: str, kind_missing: str) -> tuple[int, int]:
    """Open a PNG's header and check its mode.

    Returns:
        ``(width, height)``.

    Raises:
        SourceError: ``kind_missing`` if the file is missing; ``corrupt_raster`` if the header
            cannot be read or the mode is not one of ``modes``.
    """
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
    except FileNotFoundError as exc:
        raise SourceError(kind_missing, f"satlas {unit}: {path} is missing", unit) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"satlas {unit}: {path}: unreadable PNG ({exc})", unit
        ) from exc
    if mode not in modes or size[0] < 1 or size[1] < 1:
        raise SourceError(
            "corrupt_raster",
            f"satlas {unit}: {path}: mode {mode} size {size}, expected an 8-bit "
            f"{'/'.join(modes)} PNG",
            unit,
        )
    return int(size[0]), int(size[1])


def _image_refs(
    root: Path, sensor: str, name: str, col: int, row: int, role: str, unit: str
) -> list[ImageRef]:
    """The image references of one time step (the tci image first, where there is one)."""
    spec = SENSOR_SPECS[sensor]
    folder = root / sensor / name
    tile = f"{col}_{row}.png"
    refs: list[ImageRef] = []
    if spec.rgb_folder:
        path = folder / spec.rgb_folder / tile
        width, height = _header(path, ("RGB", "RGBA"), unit, "missing_band")
        refs.append(
            ImageRef(
                role=role,
                files=(str(path),),
                bands=TCI_BANDS,
                encoding="uint8",
                width=width,
                height=height,
                display_bands=TCI_BANDS,
            )
        )
    paths = [folder / band / tile for band in spec.band_folders]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SourceError(
            "missing_band", f"satlas {unit}: band file(s) missing: {', '.join(missing)}", unit
        )
    sizes = [_header(p, ("L",), unit, "missing_band") for p in paths]
    refs.append(
        ImageRef(
            role=f"{role}_bands" if spec.rgb_folder else role,
            files=tuple(str(p) for p in paths),
            bands=spec.band_folders,
            encoding="uint8",
            width=max(w for w, _ in sizes),
            height=max(h for _, h in sizes),
            display_bands=spec.band_display,
        )
    )
    return refs


# -- labels ------------------------------------------------------------------------------------


def _malformed(path: Path, unit: str, why: str) -> SourceError:
    return SourceError("malformed_label", f"satlas {unit}: {path}: {why}", unit)


def _load_vector(path: Path, unit: str, dynamic: bool) -> dict[str, Any]:
    """Read a ``vector.json`` and check its top-level shape."""
    data = _read_json(path, unit, "malformed_label")
    if not isinstance(data, dict):
        raise _malformed(path, unit, "not a JSON object")
    for key, value in data.items():
        if key == "metadata":
            if not isinstance(value, dict):
                raise _malformed(path, unit, "'metadata' is not an object")
        elif not isinstance(value, list):
            raise _malformed(path, unit, f"category {key!r} is not a list of features")
    if dynamic:
        image = data.get("metadata", {}).get("ImageName")
        if not isinstance(image, str) or not image:
            raise _malformed(path, unit, "no metadata.ImageName")
    return data


def _load_dynamic(folder: Path, unit: str) -> list[tuple[Path, str, dict[str, Any]]]:
    """Read every dynamic label folder of a label tile: ``(folder, image name, vector)``."""
    if not folder.is_dir():
        return []
    found: list[tuple[Path, str, dict[str, Any]]] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        vector = sub / "vector.json"
        if not vector.is_file():
            raise SourceError(
                "missing_file", f"satlas {unit}: dynamic label folder lacks {vector}", unit
            )
        data = _load_vector(vector, unit, dynamic=True)
        found.append((sub, str(data["metadata"]["ImageName"]), data))
    return found


@dataclass(frozen=True)
class _Found:
    objects: list[ObjectLabel]
    properties: dict[str, str]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _points(value: object, minimum: int) -> list[tuple[float, float]] | None:
    """``[[c, r], …]`` as float pairs, or None if it is not a list of ≥ ``minimum`` points."""
    if not isinstance(value, list) or len(value) < minimum:
        return None
    out: list[tuple[float, float]] = []
    for point in value:
        if not isinstance(point, list) or len(point) < 2 or not all(map(_number, point[:2])):
            return None
        out.append((float(point[0]), float(point[1])))
    return out


def _geometry(feature: object, where: str, path: Path, unit: str) -> tuple[str, BaseGeometry]:
    """Parse a feature's geometry (in label units) into ``(type, shapely geometry)``."""
    if not isinstance(feature, dict) or not isinstance(feature.get("Geometry"), dict):
        raise _malformed(path, unit, f"{where} has no 'Geometry' object")
    geometry = feature["Geometry"]
    kind = geometry.get("Type")
    try:
        if kind == "point":
            points = _points([geometry.get("Point")], 1)
            if points:
                return kind, Point(points[0])
        elif kind == "polyline":
            points = _points(geometry.get("Polyline"), 2)
            if points:
                return kind, LineString(points)
        elif kind == "polygon":
            rings = geometry.get("Polygon")
            if isinstance(rings, list) and rings:
                parsed = [_points(ring, 3) for ring in rings]
                if all(r is not None for r in parsed):
                    shell, *holes = parsed
                    return kind, Polygon(shell, holes)  # type: ignore[arg-type]
        else:
            raise _malformed(path, unit, f"{where}: unknown geometry type {kind!r}")
    except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
        raise _malformed(path, unit, f"{where}: bad {kind} geometry ({exc})") from exc
    raise _malformed(path, unit, f"{where}: bad {kind} coordinates")


def _class_value(value: object, classes: tuple[str, ...]) -> str | None:
    """A class index or name as the class name (None if neither)."""
    if _is_int(value) and 0 <= value < len(classes):  # type: ignore[operator]
        return classes[value]  # type: ignore[index]
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _features(
    data: Mapping[str, Any],
    path: Path,
    unit: str,
    window: _Window,
    image: ImageRef,
    folder_name: str,
) -> _Found:
    """Turn a ``vector.json`` into objects on ``image`` and classification properties."""
    sx = image.width / window.size
    sy = image.height / window.size
    objects: list[ObjectLabel] = []
    properties: dict[str, str] = {}
    absent: list[str] = []
    for category, features in data.items():
        if category == "metadata":
            continue
        if category in CLASSIFICATION_TASKS:
            for k, feature in enumerate(features):
                props = feature.get("Properties") if isinstance(feature, dict) else None
                value = (
                    _class_value(props.get(category), CLASSIFICATION_TASKS[category])
                    if isinstance(props, dict)
                    else None
                )
                if value is None:
                    raise _malformed(path, unit, f"{category}[{k}] has no valid class")
                properties[category] = value
            continue
        kept = 0
        for k, feature in enumerate(features):
            where = f"{category}[{k}]"
            kind, geometry = _geometry(feature, where, path, unit)
            pixel = shapely.transform(
                geometry,
                lambda xy: (xy - (window.x0, window.y0)) * (sx, sy),
            )
            pad = {"point": POINT_HALF_SIZE, "polyline": LINE_HALF_WIDTH}.get(kind, 0.0)
            x1, y1, x2, y2 = pixel.bounds
            x1, x2 = max(0.0, x1 - pad * sx), min(float(image.width), x2 + pad * sx)
            y1, y2 = max(0.0, y1 - pad * sy), min(float(image.height), y2 + pad * sy)
            if not (x2 > x1 and y2 > y1):
                continue  # wholly outside this image
            objects.append(
                ObjectLabel(
                    category=category,
                    attribute=_attribute(category, feature.get("Properties")),
                    image_role=image.role,
                    bbox=(round(x1, 4), round(y1, 4), round(x2, 4), round(y2, 4)),
                    polygon_wkt=shapely.to_wkt(pixel, rounding_precision=4),
                    uid=f"{folder_name}/{category}/{k}",
                )
            )
            kept += 1
        if kept == 0:
            absent.append(category)
    if absent:
        properties["absent_categories"] = ",".join(sorted(absent))
    return _Found(objects=objects, properties=properties)


def _attribute(category: str, properties: object) -> str:
    """The categorical property of a feature that describes it (``gas``, ``residential``…)."""
    if category not in ATTRIBUTE_PROPERTIES or not isinstance(properties, dict):
        return ""
    key, classes = ATTRIBUTE_PROPERTIES[category]
    return _class_value(properties.get(key), classes) or ""
