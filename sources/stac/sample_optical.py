"""The Sentinel-2 L2A and Landsat C2 L2 assets of the sample STAC catalog.

Holds the real grids the excerpts are cut from (MGRS tile 13TDE, WRS-2 path/row 033/032), the
Earth Search asset keys and fields of both collections, the synthetic reflectance spectra and
surface temperatures per cover, and the writers of an item's COG assets with their real
scale, offset and nodata (see :mod:`eoinstruct.sources.stac.sample` for what is real).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from rasterio.transform import Affine

from eoinstruct.sources.stac.sample_scene import (
    _COG,
    Scene,
    _excerpt_origin,
    _Landscape,
    _mix,
    _uint16,
    _write_cog,
)

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
