"""SatlasPretrain's Web-Mercator tiles: bounds, pixel size, footprint, label-tile windows.

Holds the zoom and coordinate-space constants, :func:`tile_bounds`, :func:`tile_gsd_m`,
:func:`footprint_wkt`, the zoom-13 label tile of a tile of another zoom and where an image
lies in that label tile's 8192-unit space.

Facts relied on (``shared/docs/source-formats.md`` section 4, which cites allenai/satlas
``SatlasPretrain.md``, ``satlas/util/__init__.py``, ``satlas/cmd/to_dataset/common.py``,
``satlas/tasks.py`` and torchgeo ``satlas.py`` with its fixture ``tests/data/satlas``):

- Everything is in Web Mercator. Low-resolution images (Sentinel-2, Sentinel-1, Landsat) and
  all labels use zoom-13 tiles; NAIP uses zoom-17 tiles. Tiles are named ``<col>_<row>``.
  Every PNG is 8-bit; a full tile is 512x512 pixels, but some bands are stored smaller (the
  20 m Sentinel-2 bands, the 30 m and 100 m Landsat bands) and are upsampled to the tile grid.

Decision:

- **Georeference**: ``crs`` ``EPSG:3857``; the footprint is the tile's lon/lat rectangle
  (:func:`tile_bounds`); ``gsd_m`` is the Web-Mercator pixel size at the tile centre,
  ``2π·6378137 / (2^zoom · width) · cos(latitude)`` (9.55 m × cos(latitude) for a 512-px
  zoom-13 tile).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import shapely
from shapely.geometry import Polygon

LABEL_ZOOM = 13
"""Zoom level of the label tiles (and of the low-resolution images)."""

LABEL_EXTENT = 8192
"""Size of a label tile's vector coordinate space (per axis)."""

EARTH_RADIUS_M = 6_378_137.0
"""Radius of the Web-Mercator sphere (EPSG:3857)."""

_TILE_RE = re.compile(r"^(-?\d+)_(-?\d+)$")


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


@dataclass(frozen=True)
class _Window:
    """Where an image lies in its label tile's 8192-unit space."""

    x0: float
    y0: float
    size: float


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
