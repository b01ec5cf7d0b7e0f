"""The Sentinel-1 GRD assets of the sample STAC catalog: radar geometry and calibration.

Holds the synthetic ascending pass (GRD line/pixel → map coordinates, its GCPs), the synthetic
``sigmaNought`` table and its calibration annotation in the SAFE ``calibration-*.xml``
structure, σ0 per cover and its inversion to uint16 DN (``σ0 = DN² / A²``), and the writer of
the VV/VH measurement COGs with their calibration files (see
:mod:`eoinstruct.sources.stac.sample` for what is real).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pystac
from rasterio.control import GroundControlPoint
from rasterio.warp import transform as warp_transform

from eoinstruct.sources.stac.sample_scene import (
    _COG,
    EPSG,
    Scene,
    _Landscape,
    _mix,
    _uint16,
    _write_cog,
)

_SAR_VV_DB = (-11.0, -14.0, -3.0, -22.0)

_SAR_CROSS_DB = (-6.0, -8.0, -7.0, -6.0)
"""VH = VV + this, per cover."""

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
