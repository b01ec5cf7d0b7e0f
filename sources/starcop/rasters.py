"""STARCOP event rasters: the AVIRIS-NG bands, the raster grids and their georeference.

Holds the sensor and band names (:data:`STARCOP_BANDS`, the ``TOA_AVIRIS_<n>nm`` file
pattern, the true-colour wavelengths, the TOA encoding), the header of one raster as a grid
record, the checks that an event's image and label rasters share one grid, and the CRS,
lon/lat footprint and pixel size of that grid.

Facts relied on (``shared/docs/source-formats.md`` section 6, which cites spaceml-org/STARCOP;
re-read from that repository, commit c478926):

- An event folder holds single-band GeoTIFFs (COG, 128-pixel blocks, written by georeader's
  ``save_cog`` from ``starcop/data/sampling_dataset.py`` ``WindowDataset.cache_item``):
  ``TOA_AVIRIS_{460,550,640,2004,2109,2310,2350,2360}nm.tif``, ``TOA_WV3_SWIR1..8.tif``,
  ``mag1c.tif``, ``weight_mag1c.tif``, ``labelbinary.tif`` and the 4-band ``label_rgba.tif``.
  ``save_cog`` refuses to write without a CRS and a transform, so the rasters are
  georeferenced in the flight line's map grid (UTM for AVIRIS-NG).
- ``TOA_AVIRIS_<n>nm`` is **not** at-sensor radiance: it is the AVIRIS-NG L1B radiance
  (µW cm⁻² sr⁻¹ nm⁻¹) of the band nearest to ``n`` nm multiplied by ``π d² / cos θs``
  (``starcop/data/aviris.py`` ``observation_date_correction_factor``; the code's own comment
  calls it "normalized radiance because we don't divide by the solar irradiance"), i.e.
  µW cm⁻² nm⁻¹, equal to reflectance × 100 × solar irradiance (W m⁻² nm⁻¹). Typical visible
  values are 20–60 (STARCOP displays RGB as value / 50 or / 60): the pipeline's
  ``normalized_radiance`` encoding (:data:`TOA_ENCODING`), shown with white at 60.
- ``mag1c.tif`` is the mag1c matched-filter methane enhancement in ppm·m (band description
  "CH4 Absorption (ppm x m)" in ``starcop/process_aviris.py``; ``starcop/models/mag1c.py``
  ``rmf``: "units ppm x m"), non-negative (ReLU), clipped to 0–10 000.
- Every product of a tile is saved with nodata 0 (``WindowDataset.__getitem__`` sets
  ``fill_value_default = 0`` and ``save_cog`` writes it as ``nodata``), except
  ``labelbinary`` (no nodata). For ``mag1c`` this makes every zero enhancement "nodata" to
  GDAL readers — see the report.
- ``labelbinary`` is the 0/1 training target: mag1c ≥ 200 ppm·m connected to the hand
  annotation, whose non-transparent ``label_rgba`` pixels mark the annotated plume
  (``starcop/data/mask_creation.py`` ``proposed_mask``).

UNVERIFIED: dtypes (float32 products, uint8 labels are assumed, not checked), the GSD (about
3 m; taken from each raster's transform), whether the flight-line grids are rotated (the
footprint maps all four corners, so a rotated transform is handled), the exact nodata of the
released files.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.errors import CRSError, NotGeoreferencedWarning, RasterioError
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from eoinstruct.sources.base import (
    Band,
    SourceError,
)

RGB_NM: tuple[int, int, int] = (640, 550, 460)
"""Wavelengths shown as red, green, blue (STARCOP's own ``rgb_aviris``)."""

TOA_ENCODING = "normalized_radiance"
"""Encoding of the TOA_AVIRIS image: normalised radiance π·L·d²/cos θs (µW cm⁻² nm⁻¹)."""

SENSOR = "AVIRIS-NG"

_BAND_FILE = re.compile(r"^TOA_AVIRIS_(\d+)nm\.tif$")


def _band_name(nm: int) -> str:
    return f"TOA_AVIRIS_{nm}nm"


_BAND_DESCRIPTIONS: dict[int, str] = {
    460: "blue",
    550: "green",
    640: "red",
    2004: "shortwave infrared",
    2109: "shortwave infrared",
    2310: "shortwave infrared, methane absorption region",
    2350: "shortwave infrared, methane absorption region",
    2360: "shortwave infrared, methane absorption region",
}

STARCOP_BANDS: tuple[Band, ...] = (
    *(
        Band(_band_name(nm), f"{desc}, normalised TOA radiance", float(nm), None)
        for nm, desc in _BAND_DESCRIPTIONS.items()
    ),
    Band("mag1c", "methane enhancement from the mag1c matched filter (ppm·m)"),
)
"""Bands the adapter reads (GSD varies with flight altitude, about 3 m)."""


@dataclass(frozen=True)
class _Grid:
    """What a raster header says about its pixel grid."""

    path: Path
    width: int
    height: int
    count: int
    crs: CRS | None
    transform: Affine


def _is_plain_name(unit: str) -> bool:
    return bool(unit) and unit not in (".", "..") and "/" not in unit and "\\" not in unit


def _required_file(path: Path, unit: str) -> Path:
    if not path.is_file():
        raise SourceError("missing_file", f"{path} does not exist", unit)
    return path


def _read_grid(path: Path, unit: str) -> _Grid:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return _Grid(path, ds.width, ds.height, ds.count, ds.crs, ds.transform)
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{path}: cannot read GeoTIFF: {exc}", unit) from exc


def _same_georeference(a: _Grid, b: _Grid) -> bool:
    return a.crs == b.crs and a.transform.almost_equals(b.transform, precision=1e-6)


def _check_image_grid(grid: _Grid, ref: _Grid, unit: str) -> None:
    if grid.count != 1 or ref.count != 1:
        bad = grid if grid.count != 1 else ref
        raise SourceError("corrupt_raster", f"{bad.path}: {bad.count} bands, expected 1", unit)
    if (grid.width, grid.height) != (ref.width, ref.height):
        raise SourceError(
            "corrupt_raster",
            f"{grid.path}: {grid.width}x{grid.height} px but {ref.path.name} is "
            f"{ref.width}x{ref.height}",
            unit,
        )
    if not _same_georeference(grid, ref):
        raise SourceError(
            "bad_metadata", f"{grid.path}: CRS or transform differs from {ref.path.name}", unit
        )


def _check_label_grid(grid: _Grid, ref: _Grid, count: int, unit: str) -> None:
    if grid.count != count:
        raise SourceError(
            "malformed_label", f"{grid.path}: {grid.count} bands, expected {count}", unit
        )
    if (grid.width, grid.height) != (ref.width, ref.height) or not _same_georeference(grid, ref):
        raise SourceError(
            "malformed_label", f"{grid.path}: its grid differs from {ref.path.name}", unit
        )


def plume_figures(path: Path, gsd_m: float | None, unit: str) -> dict[str, str]:
    """Count the plume pixels of a ``labelbinary`` mask: the plume's size, as label properties.

    Args:
        path: The mask (``labelbinary.tif``; plume where the value is above 0).
        gsd_m: Pixel size in metres, or ``None`` when the raster is not georeferenced.
        unit: The event id (for errors).

    Returns:
        ``plume_pixels`` (plume pixels), ``image_pixels`` (width × height) and, with a pixel
        size, ``plume_area_m2`` (plume pixels × GSD², two decimals) and ``pixel_size_m``.

    Raises:
        SourceError: ``malformed_label`` if the mask cannot be read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                mask = ds.read(1) > 0
    except RasterioError as exc:
        raise SourceError("malformed_label", f"{path}: cannot read the mask: {exc}", unit) from exc
    pixels = int(np.count_nonzero(mask))
    figures = {"plume_pixels": str(pixels), "image_pixels": str(int(mask.size))}
    if gsd_m:
        figures["pixel_size_m"] = f"{gsd_m:g}"
        figures["plume_area_m2"] = f"{pixels * gsd_m**2:.2f}"
    return figures


def _georeference(grid: _Grid, unit: str) -> tuple[str, str, float | None]:
    """CRS text, lon/lat footprint WKT and pixel size (m) of a grid; empty if not georeferenced.

    The footprint maps the four corners through the full affine transform, so rotated
    flight-line grids give their true (rotated) outline.
    """
    if grid.crs is None or grid.transform == Affine.identity():
        return "", "", None
    crs = grid.crs
    try:
        epsg = crs.to_epsg()
        crs_text = f"EPSG:{epsg}" if epsg else crs.to_wkt()
        corners = [(0, 0), (grid.width, 0), (grid.width, grid.height), (0, grid.height)]
        xs, ys = zip(*(grid.transform @ c for c in corners), strict=True)
        lons, lats = warp_transform(crs, "EPSG:4326", list(xs), list(ys))
        gsd: float | None = None
        if crs.is_projected:
            factor = crs.linear_units_factor[1]
            gsd = round(math.hypot(grid.transform.a, grid.transform.d) * factor, 6)
    except (CRSError, RasterioError, ValueError) as exc:
        raise SourceError(
            "bad_metadata", f"{grid.path}: cannot map its CRS to lon/lat: {exc}", unit
        ) from exc
    points = list(zip(lons, lats, strict=True))
    if not all(math.isfinite(v) for p in points for v in p):
        raise SourceError("bad_metadata", f"{grid.path}: corners do not map to lon/lat", unit)
    polygon = orient(Polygon(points), 1.0)
    if not polygon.is_valid or polygon.area <= 0:
        raise SourceError("bad_metadata", f"{grid.path}: degenerate footprint {polygon}", unit)
    return crs_text, shapely.to_wkt(polygon, rounding_precision=7), gsd
