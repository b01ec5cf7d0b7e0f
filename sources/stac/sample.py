"""Writer of a tiny static STAC catalog of Sentinel-2, Landsat and Sentinel-1 scenes.

What is real (``shared/docs/source-formats.md`` §8, checked against the recorded Earth Search
responses in ``shared/peer-data`` §2):

- the catalog structure: ``catalog.json`` → ``<collection>/collection.json`` →
  ``<collection>/<item id>/<item id>.json``, written by pystac as a self-contained catalog
  (relative hrefs), with the asset files beside each item;
- the Earth Search collection ids ``sentinel-2-l2a``, ``landsat-c2-l2`` and
  ``sentinel-1-grd``, their asset keys (``coastal`` … ``swir22``; ``coastal`` … ``lwir11``;
  ``vv``/``vh`` with ``schema-calibration-<pol>``), asset fields (``eo:bands``, ``gsd``,
  ``proj:shape``, ``proj:transform``, ``raster:bands`` with the real scale, offset, nodata and
  data type) and item properties (``platform``, ``constellation``, ``eo:cloud_cover``,
  ``proj:epsg``, ``mgrs:*``, ``grid:code``, ``s2:*``, ``landsat:*``, ``sar:*``, ``sat:*``,
  ``start_datetime``/``end_datetime``);
- the place and grids: the point (-105.1019, 40.1672) (Longmont, Colorado) that the recorded
  Earth Search search used, MGRS tile 13TDE (10 m grid from x 399960, y 4500000, EPSG:32613)
  and WRS-2 path/row 033/032 (30 m grid from x 449085, y 4581915); item ids
  ``S2A_13TDE_20231008_0_L2A`` and ``LC08_L2SP_033032_20231008_02_T1`` are the recorded ones;
- dtypes and encodings: S2 uint16 ``DN = 10000·ρ + 1000`` (scale 0.0001, offset −0.1, nodata
  0); Landsat SR uint16 ``ρ = 2.75e-05·DN − 0.2``; ST_B10 uint16 ``T = 0.00341802·DN + 149`` K;
  Sentinel-1 GRD uint16 amplitude DN in radar geometry with GCPs (EPSG:4326), calibrated by
  ``σ0 = DN² / A²`` with A the ``sigmaNought`` table of the calibration XML (SAFE layout
  ``measurement/iw-vv.tiff``, ``annotation/calibration/calibration-iw-vv.xml``);
- assets are cloud-optimised GeoTIFFs (GDAL's COG driver, deflate).

What is synthetic: every pixel (one landscape shared by the three sensors: a warm, bright town
centre, fields in 400 m parcels, a reservoir 700 m east-south-east; July greener and hotter
than October; one parcel built over between the two S2 dates), the small extents (each asset
is an excerpt of its real tile/scene grid around the point: 120×120 px of S2 at 10 m,
80×80 px of Landsat at 30 m, 160×160 px of S1 GRD), the ids other than the two above, the
cloud covers and sun angles, the S1 geometry and calibration table. Items list only the data
assets (no ``visual``, ``scl``, ``thumbnail``, metadata files).

Content: S2 ``S2B_13TDE_20230724_0_L2A`` and ``S2A_13TDE_20231008_0_L2A`` (a change pair on
tile 13TDE); Landsat ``LC09_L2SP_033032_20230728_02_T1`` and ``LC08_L2SP_033032_20231008_02_T1``
(an urban-heat-island pair on path/row 033/032, whose scene grids are shifted by whole pixels
as real scenes are); S1 ``S1A_IW_GRDH_1SDV_20231007T005313_20231007T005338_050646_061A3B``. The
adapter chips all of them around :data:`CHIP_CENTER`. Deliberately bad items
(:data:`BAD_UNITS`):

- ``sentinel-2-l2a/S2A_13TDE_20230729_0_L2A``: ``B04.tif`` cut to 60 % of its bytes (header
  intact, tile data missing) → ingest fails ``corrupt_raster``.
- ``landsat-c2-l2/LC08_L2SP_033032_20230720_02_T1``: the ``red`` asset's file is not there →
  ingest fails ``missing_file``.

Same seed, byte-identical files (COGs carry no timestamp; pystac writes no time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform

from eoinstruct.sources.geo import from_lonlat

CHIP_CENTER: tuple[float, float] = (-105.1019, 40.1672)
"""(lon, lat) the sample chips are centred on (params.yaml ``sources.stac.chip_center``)."""

CHIP_SIZES: dict[str, int] = {"sentinel-2-l2a": 96, "landsat-c2-l2": 64, "sentinel-1-grd": 96}
"""Chip sizes that fit the excerpts (params.yaml ``sources.stac.chip_size``)."""

EPSG = 32613
CATALOG_ID = "eoinstruct-sample-stac"

S2_TILE_ORIGIN = (399960.0, 4500000.0)
"""Upper-left corner of MGRS tile 13TDE (ES ``proj:transform`` of the recorded item)."""

LANDSAT_SCENE_ORIGIN = (449085.0, 4581915.0)
"""Upper-left corner of the recorded LC08 033/032 scene (ES ``proj:transform``)."""

S2_BANDS: tuple[tuple[str, str, int, str, float], ...] = (
    ("coastal", "B01", 60, "Coastal aerosol (band 1)", 0.443),
    ("blue", "B02", 10, "Blue (band 2)", 0.49),
    ("green", "B03", 10, "Green (band 3)", 0.56),
    ("red", "B04", 10, "Red (band 4)", 0.665),
    ("rededge1", "B05", 20, "Red edge 1 (band 5)", 0.704),
    ("rededge2", "B06", 20, "Red edge 2 (band 6)", 0.74),
    ("rededge3", "B07", 20, "Red edge 3 (band 7)", 0.783),
    ("nir", "B08", 10, "NIR 1 (band 8)", 0.842),
    ("nir08", "B8A", 20, "NIR 2 (band 8A)", 0.865),
    ("nir09", "B09", 60, "NIR 3 (band 9)", 0.945),
    ("swir16", "B11", 20, "SWIR 1 (band 11)", 1.61),
    ("swir22", "B12", 20, "SWIR 2 (band 12)", 2.19),
)
"""(ES asset key, band, resolution m, title, centre wavelength µm) of the S2 L2A assets."""

LANDSAT_BANDS: tuple[tuple[str, str, str, str, float], ...] = (
    ("coastal", "SR_B1", "OLI_B1", "Coastal/Aerosol Band", 0.44),
    ("blue", "SR_B2", "OLI_B2", "Blue Band", 0.48),
    ("green", "SR_B3", "OLI_B3", "Green Band", 0.56),
    ("red", "SR_B4", "OLI_B4", "Red Band", 0.65),
    ("nir08", "SR_B5", "OLI_B5", "Near Infrared Band 0.8", 0.87),
    ("swir16", "SR_B6", "OLI_B6", "Short-wave Infrared Band 1.6", 1.61),
    ("swir22", "SR_B7", "OLI_B7", "Short-wave Infrared Band 2.2", 2.2),
    ("lwir11", "ST_B10", "TIRS_B10", "Surface Temperature Band", 10.9),
)
"""(ES asset key, file band, eo:bands name, title, centre wavelength µm) of Landsat 8/9 L2SP."""

# Reflectance of (vegetation, bare soil, town, water) per S2 band; Landsat uses the S2 band of
# the same wavelength. Synthetic, plausible shapes.
_SPECTRA: dict[str, tuple[float, float, float, float]] = {
    "B01": (0.03, 0.08, 0.10, 0.05),
    "B02": (0.04, 0.10, 0.12, 0.06),
    "B03": (0.08, 0.14, 0.14, 0.05),
    "B04": (0.04, 0.18, 0.16, 0.03),
    "B05": (0.12, 0.21, 0.18, 0.02),
    "B06": (0.30, 0.23, 0.19, 0.015),
    "B07": (0.38, 0.25, 0.20, 0.012),
    "B08": (0.42, 0.27, 0.21, 0.01),
    "B8A": (0.43, 0.28, 0.21, 0.01),
    "B09": (0.40, 0.28, 0.20, 0.008),
    "B11": (0.22, 0.33, 0.24, 0.005),
    "B12": (0.11, 0.28, 0.22, 0.003),
}
_LANDSAT_AS_S2 = {
    "SR_B1": "B01",
    "SR_B2": "B02",
    "SR_B3": "B03",
    "SR_B4": "B04",
    "SR_B5": "B8A",
    "SR_B6": "B11",
    "SR_B7": "B12",
}
_KELVIN_OFFSET = (-3.0, 3.0, 9.0, -8.0)
"""Surface temperature of (vegetation, soil, town, water) relative to the day's base."""
_SAR_VV_DB = (-11.0, -14.0, -3.0, -22.0)
_SAR_CROSS_DB = (-6.0, -8.0, -7.0, -6.0)
"""VH = VV + this, per cover."""

_S2_CONTEXT = "https://stac-extensions.github.io/{}/schema.json"
_EXTENSIONS = {
    "eo": _S2_CONTEXT.format("eo/v1.1.0"),
    "raster": _S2_CONTEXT.format("raster/v1.1.0"),
    "proj": _S2_CONTEXT.format("projection/v1.1.0"),
    "view": _S2_CONTEXT.format("view/v1.0.0"),
    "mgrs": _S2_CONTEXT.format("mgrs/v1.0.0"),
    "grid": _S2_CONTEXT.format("grid/v1.0.0"),
    "sar": _S2_CONTEXT.format("sar/v1.0.0"),
    "sat": _S2_CONTEXT.format("sat/v1.0.0"),
    "landsat": "https://landsat.usgs.gov/stac/landsat-extension/v1.1.1/schema.json",
}
_COG = "image/tiff; application=geotiff; profile=cloud-optimized"
_SENTINEL_LICENCE = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"
_LANDSAT_LICENCE = "https://www.usgs.gov/core-science-systems/hdds/data-policy"


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


SCENES: tuple[Scene, ...] = (
    Scene(
        "sentinel-2-l2a",
        "S2B_13TDE_20230724_0_L2A",
        "2023-07-24T17:52:41.024000Z",
        "sentinel-2b",
        3.41,
        "summer",
    ),
    Scene(
        "sentinel-2-l2a",
        "S2A_13TDE_20231008_0_L2A",
        "2023-10-08T18:02:55.276000Z",
        "sentinel-2a",
        0.000299,
        "autumn",
    ),
    Scene(
        "sentinel-2-l2a",
        "S2A_13TDE_20230729_0_L2A",
        "2023-07-29T18:02:49.140000Z",
        "sentinel-2a",
        12.7,
        "summer",
        defect="corrupt_b04",
    ),
    Scene(
        "landsat-c2-l2",
        "LC09_L2SP_033032_20230728_02_T1",
        "2023-07-28T17:37:12.114081Z",
        "landsat-9",
        1.25,
        "summer",
        shift=(2, -1),
    ),
    Scene(
        "landsat-c2-l2",
        "LC08_L2SP_033032_20231008_02_T1",
        "2023-10-08T17:37:26.656958Z",
        "landsat-8",
        0.06,
        "autumn",
    ),
    Scene(
        "landsat-c2-l2",
        "LC08_L2SP_033032_20230720_02_T1",
        "2023-07-20T17:37:05.903214Z",
        "landsat-8",
        8.14,
        "summer",
        shift=(-1, 1),
        defect="missing_red",
    ),
    Scene(
        "sentinel-1-grd",
        "S1A_IW_GRDH_1SDV_20231007T005313_20231007T005338_050646_061A3B",
        "2023-10-07T00:53:25.614232Z",
        "sentinel-1a",
        None,
        "autumn",
    ),
)
"""The items of the sample catalog, in writing order."""

BAD_UNITS: dict[str, str] = {
    "sentinel-2-l2a/S2A_13TDE_20230729_0_L2A": "corrupt_raster",
    "landsat-c2-l2/LC08_L2SP_033032_20230720_02_T1": "missing_file",
}
"""Unit id → the ingest failure kind the adapter must report."""

GOOD_UNITS: tuple[str, ...] = tuple(
    sorted(f"{s.collection}/{s.item_id}" for s in SCENES if not s.defect)
)
"""Units that read into samples that pass the filter."""


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


def _s2_assets(
    folder: Path, scene: Scene, land: _Landscape, rng: np.random.Generator
) -> dict[str, pystac.Asset]:
    ulx, uly = _excerpt_origin(S2_TILE_ORIGIN, 60.0, land.centre, 600.0)
    assets: dict[str, pystac.Asset] = {}
    for key, band, res, title, wavelength in S2_BANDS:
        size = 1200 // res
        transform = Affine(res, 0.0, ulx, 0.0, -res, uly)
        covers = land.grid_covers(transform, size, size, scene.season)
        rho = _mix(covers, _SPECTRA[band]) + rng.normal(0, 0.004, (size, size))
        path = folder / f"{band}.tif"
        _write_cog(path, _uint16(rho * 10000 + 1000), transform, 0)
        if key == "red" and scene.defect == "corrupt_b04":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * 0.6)])
        assets[key] = pystac.Asset(
            href=str(path),
            media_type=_COG,
            title=f"{title} - {res}m",
            roles=["data", "reflectance"],
            extra_fields={
                "eo:bands": [
                    {
                        "name": key,
                        "common_name": key,
                        "description": title,
                        "center_wavelength": wavelength,
                    }
                ],
                "gsd": res,
                "proj:shape": [size, size],
                "proj:transform": [res, 0, ulx, 0, -res, uly],
                "raster:bands": [
                    {
                        "nodata": 0,
                        "data_type": "uint16",
                        "bits_per_sample": 15,
                        "spatial_resolution": res,
                        "scale": 0.0001,
                        "offset": -0.1,
                    }
                ],
            },
        )
    return assets


LANDSAT_SIZE = 80
"""Pixels of a Landsat excerpt (2.4 km at 30 m)."""


def landsat_transform(scene: Scene, land_centre: tuple[float, float]) -> Affine:
    """The excerpt grid of a Landsat scene: the real scene grid around the point, shifted.

    Args:
        scene: The scene (its ``shift`` moves the grid by whole pixels).
        land_centre: The chip centre in EPSG:32613.

    Returns:
        The transform of the excerpt.
    """
    ulx, uly = _excerpt_origin(LANDSAT_SCENE_ORIGIN, 30.0, land_centre, 1200.0)
    return Affine(30.0, 0.0, ulx + 30.0 * scene.shift[0], 0.0, -30.0, uly - 30.0 * scene.shift[1])


def _landsat_assets(
    folder: Path, scene: Scene, land: _Landscape, rng: np.random.Generator
) -> dict[str, pystac.Asset]:
    size = LANDSAT_SIZE
    transform = landsat_transform(scene, land.centre)
    covers = land.grid_covers(transform, size, size, scene.season)
    base_k = 306.0 if scene.season == "summer" else 292.0
    date = scene.item_id.split("_")[3]
    product = f"{scene.item_id[:25]}_{_processed(date)}_02_T1"
    assets: dict[str, pystac.Asset] = {}
    for key, band, eo_name, title, wavelength in LANDSAT_BANDS:
        path = folder / f"{product}_{band}.TIF"
        if band == "ST_B10":
            kelvin = base_k + _mix(covers, _KELVIN_OFFSET) + rng.normal(0, 0.3, (size, size))
            data = _uint16((kelvin - 149.0) / 0.00341802)
            raster = {
                "nodata": 0,
                "data_type": "uint16",
                "spatial_resolution": 30,
                "unit": "kelvin",
                "scale": 0.00341802,
                "offset": 149,
            }
            roles = ["data", "temperature"]
        else:
            rho = _mix(covers, _SPECTRA[_LANDSAT_AS_S2[band]]) + rng.normal(0, 0.004, (size, size))
            data = _uint16((rho + 0.2) / 2.75e-05)
            raster = {
                "nodata": 0,
                "data_type": "uint16",
                "spatial_resolution": 30,
                "scale": 2.75e-05,
                "offset": -0.2,
            }
            roles = ["data", "reflectance"]
        if not (key == "red" and scene.defect == "missing_red"):
            _write_cog(path, data, transform, 0)
        extra: dict[str, Any] = {
            "eo:bands": [
                {
                    "name": eo_name,
                    "common_name": key,
                    "description": title,
                    "center_wavelength": wavelength,
                }
            ],
            "raster:bands": [raster],
        }
        if band == "ST_B10":
            extra["gsd"] = 100
        assets[key] = pystac.Asset(
            href=str(path), media_type=_COG, title=title, roles=roles, extra_fields=extra
        )
    return assets


def _processed(date: str) -> str:
    """The processing date in a Landsat product id: 9 days after acquisition (synthetic)."""
    day = datetime.strptime(date, "%Y%m%d").toordinal() + 9
    return datetime.fromordinal(day).strftime("%Y%m%d")


GRD_SIZE = 160
"""Lines and pixels of the S1 GRD excerpt."""

GRD_HEADING_DEG = -10.0
"""Flight direction (azimuth from north) of the synthetic ascending pass."""


def grd_geometry(centre_xy: tuple[float, float]) -> Callable[[float, float], tuple[float, float]]:
    """Map GRD (line, pixel) to map (x, y) metres for the synthetic ascending pass.

    Lines advance along the flight direction (north-north-west), pixels across it to the
    right (east-north-east), 10 m apart, centred on ``centre_xy``.

    Args:
        centre_xy: Map position (in a UTM CRS) of the image centre.

    Returns:
        ``(line, pixel) → (x, y)``.
    """
    heading = math.radians(GRD_HEADING_DEG)
    fx, fy = math.sin(heading), math.cos(heading)
    rx, ry = math.cos(heading), -math.sin(heading)
    half = (GRD_SIZE - 1) / 2

    def to_map(line: float, pixel: float) -> tuple[float, float]:
        a, r = (line - half) * 10.0, (pixel - half) * 10.0
        return centre_xy[0] + a * fx + r * rx, centre_xy[1] + a * fy + r * ry

    return to_map


def grd_gcps(centre_xy: tuple[float, float], epsg: int = EPSG) -> list[GroundControlPoint]:
    """A 5×5 grid of GCPs (lon/lat, EPSG:4326) of the synthetic GRD excerpt.

    Args:
        centre_xy: Map position of the image centre in ``epsg``.
        epsg: The UTM CRS of ``centre_xy``.

    Returns:
        The GCPs, ``row``/``col`` at pixel corners as GDAL expects.
    """
    to_map = grd_geometry(centre_xy)
    steps = (0, 40, 80, 120, GRD_SIZE)
    points = [(float(r), float(c)) for r in steps for c in steps]
    xs, ys = zip(*(to_map(r - 0.5, c - 0.5) for r, c in points), strict=True)
    lons, lats = warp_transform(f"EPSG:{epsg}", "EPSG:4326", list(xs), list(ys))
    return [
        GroundControlPoint(row=r, col=c, x=lon, y=lat, id=str(i + 1))
        for i, ((r, c), lon, lat) in enumerate(zip(points, lons, lats, strict=True))
    ]


def sigma_nought_table(pol: str) -> tuple[list[int], list[int], np.ndarray]:
    """The synthetic calibration table: lines, pixels and ``sigmaNought`` values.

    Args:
        pol: ``VV`` or ``VH``.

    Returns:
        ``(lines, pixels, values)``, values of shape (lines, pixels), growing with range.
    """
    lines = [0, 40, 80, 120, GRD_SIZE - 1]
    pixels = [0, 40, 80, 120, GRD_SIZE - 1]
    base = 472.0 if pol == "VV" else 471.5
    values = np.array([[base + 0.11 * p + 0.01 * ln for p in pixels] for ln in lines])
    return lines, pixels, values


def calibration_xml(pol: str, when: str) -> str:
    """A calibration annotation in the SAFE ``calibration-*.xml`` structure.

    Args:
        pol: ``VV`` or ``VH``.
        when: Acquisition time, for the header and vector times.

    Returns:
        The XML text.
    """
    lines, pixels, values = sigma_nought_table(pol)
    stamp = when.rstrip("Z")
    vectors = []
    for line, row in zip(lines, values, strict=True):
        sigma = " ".join(f"{v:.6e}" for v in row)
        beta = " ".join("4.720000e+02" for _ in pixels)
        gamma = " ".join(f"{v * 0.93:.6e}" for v in row)
        vectors.append(
            "    <calibrationVector>\n"
            f"      <azimuthTime>{stamp}</azimuthTime>\n"
            f"      <line>{line}</line>\n"
            f'      <pixel count="{len(pixels)}">{" ".join(map(str, pixels))}</pixel>\n'
            f'      <sigmaNought count="{len(pixels)}">{sigma}</sigmaNought>\n'
            f'      <betaNought count="{len(pixels)}">{beta}</betaNought>\n'
            f'      <gamma count="{len(pixels)}">{gamma}</gamma>\n'
            f'      <dn count="{len(pixels)}">{beta}</dn>\n'
            "    </calibrationVector>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<calibration>\n  <adsHeader>\n'
        "    <missionId>S1A</missionId>\n    <productType>GRD</productType>\n"
        f"    <polarisation>{pol}</polarisation>\n    <mode>IW</mode>\n    <swath>IW</swath>\n"
        f"    <startTime>{stamp}</startTime>\n    <stopTime>{stamp}</stopTime>\n"
        "    <absoluteOrbitNumber>50646</absoluteOrbitNumber>\n"
        "    <missionDataTakeId>399931</missionDataTakeId>\n    <imageNumber>001</imageNumber>\n"
        "  </adsHeader>\n  <calibrationInformation>\n"
        "    <absoluteCalibrationConstant>1.000000e+00</absoluteCalibrationConstant>\n"
        "  </calibrationInformation>\n"
        f'  <calibrationVectorList count="{len(lines)}">\n'
        f"{''.join(vectors)}  </calibrationVectorList>\n</calibration>\n"
    )


def grd_sigma0(land: _Landscape, season: str, pol: str, rng: np.random.Generator) -> np.ndarray:
    """Synthetic σ0 (linear) of the GRD excerpt, shape (lines, pixels).

    Args:
        land: The landscape.
        season: ``summer`` or ``autumn``.
        pol: ``VV`` or ``VH``.
        rng: Speckle draws.

    Returns:
        σ0 in linear power.
    """
    to_map = grd_geometry(land.centre)
    rows, cols = np.meshgrid(np.arange(GRD_SIZE), np.arange(GRD_SIZE), indexing="ij")
    xs, ys = to_map(rows.astype(float), cols.astype(float))  # type: ignore[arg-type]
    covers = land.covers(np.asarray(xs), np.asarray(ys), season)
    db = _mix(covers, _SAR_VV_DB)
    if pol == "VH":
        db = db + _mix(covers, _SAR_CROSS_DB)
    speckle = rng.gamma(4.4, 1 / 4.4, db.shape)  # ENL 4.4 as in the S1 IW GRDH items
    return 10 ** (db / 10) * speckle


def grd_dn(sigma0: np.ndarray, pol: str) -> np.ndarray:
    """Invert ``σ0 = DN² / A²`` on the excerpt grid (uint16 DN, ≥ 1).

    Args:
        sigma0: σ0 per line and pixel.
        pol: ``VV`` or ``VH``.

    Returns:
        The DN.
    """
    lines, pixels, values = sigma_nought_table(pol)
    across = np.stack([np.interp(np.arange(GRD_SIZE), pixels, v) for v in values])
    lut = np.stack(
        [np.interp(np.arange(GRD_SIZE), lines, across[:, j]) for j in range(GRD_SIZE)], 1
    )
    return _uint16(np.sqrt(sigma0) * lut)


def _s1_assets(
    folder: Path, scene: Scene, land: _Landscape, rng: np.random.Generator
) -> dict[str, pystac.Asset]:
    gcps = grd_gcps(land.centre)
    assets: dict[str, pystac.Asset] = {}
    for pol in ("VV", "VH"):
        key = pol.lower()
        tiff = folder / "measurement" / f"iw-{key}.tiff"
        _write_cog(tiff, grd_dn(grd_sigma0(land, scene.season, pol, rng), pol), None, 0, gcps=gcps)
        xml = folder / "annotation" / "calibration" / f"calibration-iw-{key}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(calibration_xml(pol, scene.when), encoding="utf-8")
        assets[key] = pystac.Asset(
            href=str(tiff),
            media_type=_COG,
            title=f"{pol} Data",
            roles=["data"],
            extra_fields={"raster:bands": [{"nodata": 0, "data_type": "uint16"}]},
        )
        assets[f"schema-calibration-{key}"] = pystac.Asset(
            href=str(xml),
            media_type="application/xml",
            title=f"{pol} Calibration Schema",
            roles=["metadata"],
        )
    return assets


def _footprint(scene: Scene, land: _Landscape) -> tuple[dict[str, Any], list[float]]:
    """Item geometry (the excerpt's outline in lon/lat) and bbox."""
    if scene.collection == "sentinel-1-grd":
        to_map = grd_geometry(land.centre)
        corners = [to_map(r, c) for r, c in ((0, 0), (0, 159), (159, 159), (159, 0))]
    else:
        half = 600.0 if scene.collection == "sentinel-2-l2a" else 1200.0
        cx, cy = land.centre
        corners = [
            (cx - half, cy - half),
            (cx + half, cy - half),
            (cx + half, cy + half),
            (cx - half, cy + half),
        ]
    lons, lats = warp_transform(f"EPSG:{EPSG}", "EPSG:4326", *map(list, zip(*corners, strict=True)))
    ring = [[round(lon, 6), round(lat, 6)] for lon, lat in zip(lons, lats, strict=True)]
    ring.append(ring[0])
    bbox = [min(lons), min(lats), max(lons), max(lats)]
    return {"type": "Polygon", "coordinates": [ring]}, [round(v, 6) for v in bbox]


def _properties(scene: Scene, land: _Landscape, rng: np.random.Generator) -> dict[str, Any]:
    sun_el = round(
        float(rng.uniform(55, 65) if scene.season == "summer" else rng.uniform(38, 44)), 4
    )
    sun_az = round(
        float(rng.uniform(125, 140) if scene.season == "summer" else rng.uniform(155, 165)), 4
    )
    props: dict[str, Any] = {"platform": scene.platform}
    if scene.collection == "sentinel-2-l2a":
        date = scene.item_id.split("_")[2]
        stamp = scene.when[:19].replace("-", "").replace(":", "")
        props.update(
            {
                "constellation": "sentinel-2",
                "instruments": ["msi"],
                "eo:cloud_cover": scene.cloud_cover,
                "proj:epsg": EPSG,
                "mgrs:utm_zone": 13,
                "mgrs:latitude_band": "T",
                "mgrs:grid_square": "DE",
                "grid:code": "MGRS-13TDE",
                "view:sun_azimuth": sun_az,
                "view:sun_elevation": sun_el,
                "s2:product_type": "S2MSI2A",
                "s2:processing_baseline": "05.09",
                "s2:product_uri": (
                    f"{scene.item_id[:3]}_MSIL2A_{stamp}_N0509_R141_T13TDE_{date}T233154.SAFE"
                ),
                "earthsearch:boa_offset_applied": True,
            }
        )
    elif scene.collection == "landsat-c2-l2":
        path_row = scene.item_id.split("_")[2]
        props.update(
            {
                "instruments": ["oli", "tirs"],
                "gsd": 30,
                "eo:cloud_cover": scene.cloud_cover,
                "view:off_nadir": 0,
                "view:sun_elevation": sun_el,
                "view:sun_azimuth": sun_az,
                "proj:epsg": EPSG,
                "proj:shape": [LANDSAT_SIZE, LANDSAT_SIZE],
                "proj:transform": list(landsat_transform(scene, land.centre))[:6],
                "landsat:cloud_cover_land": scene.cloud_cover,
                "landsat:wrs_type": "2",
                "landsat:wrs_path": path_row[:3],
                "landsat:wrs_row": path_row[3:],
                "landsat:collection_category": "T1",
                "landsat:collection_number": "02",
                "landsat:correction": "L2SP",
                "grid:code": f"WRS2-{path_row}",
                "sci:doi": "10.5066/P9OGBGM6",
            }
        )
    else:
        start = scene.item_id.split("_")[4]
        end = scene.item_id.split("_")[5]
        props.update(
            {
                "constellation": "sentinel-1",
                "sar:frequency_band": "C",
                "sar:center_frequency": 5.405,
                "sar:observation_direction": "right",
                "sar:instrument_mode": "IW",
                "sar:polarizations": ["VV", "VH"],
                "sar:product_type": "GRD",
                "sar:resolution_range": 20,
                "sar:resolution_azimuth": 22,
                "sar:pixel_spacing_range": 10,
                "sar:pixel_spacing_azimuth": 10,
                "sar:looks_range": 5,
                "sar:looks_azimuth": 1,
                "sar:looks_equivalent_number": 4.4,
                "sat:orbit_state": "ascending",
                "sat:absolute_orbit": 50646,
                "sat:relative_orbit": 56,
                "proj:epsg": 4326,
                "start_datetime": _stamp_iso(start),
                "end_datetime": _stamp_iso(end),
            }
        )
    return props


def _stamp_iso(stamp: str) -> str:
    return (
        datetime.strptime(stamp, "%Y%m%dT%H%M%S")
        .replace(tzinfo=UTC)
        .strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    )


_COLLECTIONS: dict[str, tuple[str, str, list[str]]] = {
    "sentinel-2-l2a": (
        "Sentinel-2 Level-2A",
        _SENTINEL_LICENCE,
        ["eo", "raster", "proj", "view", "mgrs", "grid"],
    ),
    "landsat-c2-l2": (
        "Landsat Collection 2 Level-2",
        _LANDSAT_LICENCE,
        ["eo", "raster", "proj", "view", "landsat", "grid"],
    ),
    "sentinel-1-grd": (
        "Sentinel-1 Level-1C Ground Range Detected (GRD)",
        _SENTINEL_LICENCE,
        ["sar", "sat", "proj", "raster"],
    ),
}


def write(root: Path, seed: int) -> None:
    """Write the sample STAC catalog under ``root`` (created if needed).

    Args:
        root: Output folder; it will hold ``catalog.json`` and one folder per collection.
        seed: Seed of the pixel draws; the same seed gives byte-identical files.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    land = _Landscape(seed)
    catalog = pystac.Catalog(
        id=CATALOG_ID,
        description="eoinstruct sample: Sentinel-2, Landsat and Sentinel-1 around Longmont, CO",
    )
    collections: dict[str, pystac.Collection] = {}
    for cid, (title, licence_href, _) in _COLLECTIONS.items():
        collection = pystac.Collection(
            id=cid,
            title=title,
            description=f"{title} (sample excerpt)",
            license="proprietary",
            extent=pystac.Extent(
                pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
                pystac.TemporalExtent([[datetime(2015, 6, 27, tzinfo=UTC), None]]),
            ),
        )
        collection.add_link(pystac.Link("license", licence_href, title="licence"))
        catalog.add_child(collection)
        collections[cid] = collection

    for index, scene in enumerate(SCENES):
        rng = np.random.default_rng([seed, index])
        folder = root / scene.collection / scene.item_id
        folder.mkdir(parents=True, exist_ok=True)
        if scene.collection == "sentinel-2-l2a":
            assets = _s2_assets(folder, scene, land, rng)
        elif scene.collection == "landsat-c2-l2":
            assets = _landsat_assets(folder, scene, land, rng)
        else:
            assets = _s1_assets(folder, scene, land, rng)
        geometry, bbox = _footprint(scene, land)
        when = datetime.fromisoformat(scene.when.replace("Z", "+00:00"))
        item = pystac.Item(
            id=scene.item_id,
            geometry=geometry,
            bbox=bbox,
            datetime=when,
            properties=_properties(scene, land, rng),
            stac_extensions=[_EXTENSIONS[e] for e in _COLLECTIONS[scene.collection][2]],
            collection=scene.collection,
        )
        for key, asset in assets.items():
            item.add_asset(key, asset)
        collections[scene.collection].add_item(item)

    # A trailing slash: pystac takes a root whose name has a dot (".stac.tmp-1") for a file.
    catalog.normalize_hrefs(root.as_posix().rstrip("/") + "/")
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
