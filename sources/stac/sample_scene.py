"""What the sample STAC catalog's items share: the scene record, the map grid, the landscape.

Holds :class:`Scene` (one item of the sample catalog), the point and chip sizes the sample is
cut around (:data:`CHIP_CENTER`, :data:`CHIP_SIZES`), the UTM zone 13N grid helpers, the
synthetic landscape (fractions of vegetation, bare soil, town and water at map coordinates)
and the single-band COG writer. What is real and what is synthetic is listed in
:mod:`eoinstruct.sources.stac.sample`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.transform import Affine

from eoinstruct.sources.geo import from_lonlat

CHIP_CENTER: tuple[float, float] = (-105.1019, 40.1672)
"""(lon, lat) the sample chips are centred on (params.yaml ``sources.stac.chip_center``)."""

CHIP_SIZES: dict[str, int] = {"sentinel-2-l2a": 96, "landsat-c2-l2": 64, "sentinel-1-grd": 96}
"""Chip sizes that fit the excerpts (params.yaml ``sources.stac.chip_size``)."""

EPSG = 32613

_COG = "image/tiff; application=geotiff; profile=cloud-optimized"


@dataclass(frozen=True)
class Scene:
    """One item of the sample catalog.

    Attributes:
        collection: Collection id.
        item_id: Item id.
        when: Acquisition time (UTC, ISO 8601 with ``Z``).
        platform: STAC ``platform``.
        cloud_cover: ``eo:cloud_cover`` (None for S1).
        season: ``summer`` or ``autumn`` (drives vegetation and temperature).
        shift: Whole-pixel shift (columns, rows) of the excerpt grid (Landsat scene jitter).
        defect: ``""``, ``corrupt_b04`` or ``missing_red``.
    """

    collection: str
    item_id: str
    when: str
    platform: str
    cloud_cover: float | None
    season: str
    shift: tuple[int, int] = (0, 0)
    defect: str = ""


def _utm(lon: float, lat: float) -> tuple[float, float]:
    return from_lonlat(lon, lat, f"EPSG:{EPSG}")


def _excerpt_origin(
    grid_origin: tuple[float, float], align: float, centre: tuple[float, float], half: float
) -> tuple[float, float]:
    """Upper-left corner of an excerpt of a real grid, aligned to ``align`` metres."""
    ox, oy = grid_origin
    cx, cy = centre
    ulx = ox + align * round((cx - half - ox) / align)
    uly = oy - align * round((oy - (cy + half)) / align)
    return ulx, uly


class _Landscape:
    """Cover fractions and values of the synthetic landscape at map coordinates (EPSG:32613)."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 1000])
        self.centre = _utm(*CHIP_CENTER)
        self.parcels = rng.uniform(0.0, 1.0, (37, 41))
        self.phase = rng.uniform(0, 2 * np.pi, 4)

    def covers(
        self, xs: np.ndarray, ys: np.ndarray, season: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(vegetation, soil, town, water) fractions at the points, summing to 1."""
        cx, cy = self.centre
        dx, dy = xs - cx, ys - cy
        town = np.exp(-(dx**2 + (dy * 1.3) ** 2) / (2 * 380.0**2))
        town = np.clip(town + 0.1 * np.cos(dx / 90 + self.phase[0]) * town, 0, 1)
        water = 1.0 / (1.0 + np.exp((np.hypot(dx - 700, dy + 250) - 260) / 25))
        ix = np.floor(xs / 400).astype(int) % 37
        iy = np.floor(ys / 400).astype(int) % 41
        green = self.parcels[ix, iy]
        if season == "summer":
            green = np.clip(green + 0.35, 0, 1)
        wave = 0.08 * np.sin(xs / 150 + self.phase[1]) * np.cos(ys / 170 + self.phase[2])
        veg = np.clip(green + wave, 0.02, 0.98)
        if season == "autumn":  # a parcel built over between July and October
            built = (np.abs(dx - 250) < 120) & (np.abs(dy - 150) < 90)
            town = np.where(built, np.maximum(town, 0.85), town)
        rest = (1 - water) * (1 - town)
        return veg * rest, (1 - veg) * rest, town * (1 - water), water

    def grid_covers(
        self, transform: Affine, width: int, height: int, season: str
    ) -> tuple[np.ndarray, ...]:
        """Cover fractions at the pixel centres of a north-up grid."""
        cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        xs = transform.c + transform.a * cols
        ys = transform.f + transform.e * rows
        return self.covers(xs, ys, season)


def _mix(covers: Sequence[np.ndarray], values: Sequence[float]) -> np.ndarray:
    return sum(c * v for c, v in zip(covers, values, strict=True))  # type: ignore[return-value]


def _write_cog(
    path: Path,
    array: np.ndarray,
    transform: Affine | None,
    nodata: float | None,
    crs: str | None = f"EPSG:{EPSG}",
    gcps: Sequence[GroundControlPoint] | None = None,
) -> None:
    """Write one single-band COG (deflate, 128 px tiles, no overviews)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "nodata": nodata,
        "compress": "deflate",
        "predictor": 2,
        "blocksize": 128,
        "overviews": "none",
    }
    if gcps is not None:
        profile.update(gcps=list(gcps), crs="EPSG:4326")
    else:
        profile.update(transform=transform, crs=crs)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)


def _uint16(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 1, 65535).astype(np.uint16)
