"""SkyScript's images: imagery sources, file names and JPEG headers.

Holds the imagery sources by their two-letter code (:data:`IMAGERY_SOURCES`: Earth Engine
collection, sensor, nominal GSD), the OSM element types and the file-name patterns of
``imagesN/<t><osm_id>_<SRC>_<yy>.jpg``, the safe-path check of a ``filepath`` and the JPEG
header check; the pixel size measured from a box is the shared
:func:`~eoinstruct.sources.geo.box_pixel_size_m`.

Layout facts relied on (``shared/docs/source-formats.md`` §3, which cites
wangzhecheng/SkyScript ``README.md`` and ``image_sources.py``; torchgeo's layout fixture
``tests/data/skyscript`` in ``shared/peer-data`` §1d):

- Images: ``images2/`` … ``images7/`` (one folder per ``imagesN.zip``) of RGB ``.jpg`` files
  named ``<t><osm_id>_<SRC>_<yy>.jpg``: ``<t>`` the OSM element type of the focus object
  (``a`` area, ``w`` way, ``n`` node), ``<SRC>`` the imagery-source code
  (:data:`IMAGERY_SOURCES`), ``<yy>`` the two-digit capture year (README: ``_19`` → 2019).

Decisions:

- ``gsd_m``: the pixel size measured from the box and the JPEG size (mean of the east-west and
  north-south sizes, spherical Earth) when there is a box, else the nominal GSD of the imagery
  source (:data:`IMAGERY_SOURCES`), the finest the collection offers: an exported image need
  not have it (how SkyScript chose export scales is UNVERIFIED).
- Sensor: from the imagery-source code. An unknown code of the right form is kept (sensor
  ``unknown (<code>)``, GSD from the box only).
- Licence: SkyScript states no licence for the data (its code is MIT); each image falls under
  its imagery source's terms, named in the ``imagery_source`` tag.

UNVERIFIED: image sizes, the data licence, and the nominal GSDs of NAIP (``US``, 0.6–1 m; 1.0
used), SkySat (``P3`` 0.8 m, ``P5`` 2.0 m) and PNOA (``ES``, 0.1 m read from the collection
name ``PNOA10``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from eoinstruct.sources.base import SourceError


@dataclass(frozen=True)
class ImagerySource:
    """An imagery source of SkyScript, by its two-letter code in the file names.

    Attributes:
        collection: The Google Earth Engine image collection the images came from.
        sensor: Sensor or platform name for :attr:`~pipeline.records.Sample.sensor`.
        nominal_gsd_m: The collection's finest ground sample distance in metres.
        gsd_verified: Whether :attr:`nominal_gsd_m` is certain (from the collection name or
            the sensor's specification) rather than an approximation.
    """

    collection: str
    sensor: str
    nominal_gsd_m: float
    gsd_verified: bool


IMAGERY_SOURCES: dict[str, ImagerySource] = {
    "US": ImagerySource("USDA/NAIP/DOQQ", "NAIP aerial orthophoto", 1.0, False),
    "DE": ImagerySource(
        "Germany/Brandenburg/orthos/20cm", "Brandenburg aerial orthophoto", 0.2, True
    ),
    "FI": ImagerySource("Finland/SMK/V/50cm", "Finland NLS aerial orthophoto", 0.5, True),
    "CH": ImagerySource(
        "ORTHO/Switzerland/SWISSIMAGE/10cm", "SWISSIMAGE aerial orthophoto", 0.1, True
    ),
    "ES": ImagerySource("Spain/PNOA/PNOA10", "PNOA aerial orthophoto", 0.1, False),
    "P3": ImagerySource("SKYSAT/GEN-A/PUBLIC/ORTHO/RGB", "SkySat", 0.8, False),
    "P5": ImagerySource("SKYSAT/GEN-A/PUBLIC/ORTHO/MULTISPECTRAL", "SkySat", 2.0, False),
    "S2": ImagerySource("COPERNICUS/S2_SR_HARMONIZED", "Sentinel-2 MSI", 10.0, True),
    "L8": ImagerySource("LANDSAT/LC08/C02/T1_TOA", "Landsat 8 OLI", 30.0, True),
    "L9": ImagerySource("LANDSAT/LC09/C02/T1_TOA", "Landsat 9 OLI-2", 30.0, True),
}
"""Imagery-source code → source (codes and collections: wangzhecheng/SkyScript
``image_sources.py``; GSDs of entries with ``gsd_verified=False`` are UNVERIFIED)."""

ELEMENT_TYPES: dict[str, str] = {"a": "area", "w": "way", "n": "node"}
"""First letter of an image name → OSM element type of the focus object."""

_NAME_RE = re.compile(
    r"^(?P<type>[anw])(?P<osm_id>\d+)_(?P<code>[A-Z0-9]{2})_(?P<yy>\d{2})\.(?:jpg|jpeg|JPG|JPEG)$"
)

_IMAGES_DIR_RE = re.compile(r"^images(?P<n>\d+)$")


def _safe_relative(filepath: str) -> bool:
    path = PurePosixPath(filepath)
    return (
        bool(filepath)
        and not path.is_absolute()
        and "\\" not in filepath
        and ":" not in filepath
        and all(part not in ("", ".", "..") for part in filepath.split("/"))
    )


def _jpeg_size(path: Path, unit: str) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"skyscript {unit}: {path}: unreadable ({exc})", unit
        ) from exc
    if mode != "RGB":
        raise SourceError(
            "corrupt_raster", f"skyscript {unit}: {path}: expected an RGB JPEG, got {mode}", unit
        )
    return int(size[0]), int(size[1])
