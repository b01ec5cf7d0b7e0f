"""Reading STAC chips: windowed reads of the assets, reprojection, chip files.

Holds :func:`read_chips`, which reads the window of each selected asset that covers the chip
grid (gridded COGs directly, radar-geometry Sentinel-1 GRD through its GCPs, calibrated if
asked), turns stored values into physical ones, resamples them (nearest neighbour) onto the
grid and writes one float32 GeoTIFF per asset, then ``chip.json``; a folder whose
``chip.json`` records the same request (:func:`chip_request`) is reused as it is.

Decision:

- **Physical values.** Chips are float32 physical values with NaN as nodata: reflectance (S2,
  Landsat SR, encoding ``reflectance``), kelvin (Landsat ST_B10/ST_B6 as their own image,
  role ``thermal``, encoding ``kelvin``), σ0/γ0 (encoding ``sar_linear``).

UNVERIFIED: reading ``s3://`` hrefs (ES Landsat and S1 are requester-pays: set AWS credentials
and ``AWS_REQUEST_PAYER=requester`` for GDAL).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.transform import Affine, GCPTransformer
from rasterio.warp import reproject, transform_bounds
from rasterio.warp import transform as warp_transform
from rasterio.windows import Window

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.stac.assets import AssetChoice, Scaling, collection_profile, item_epsg
from eoinstruct.sources.stac.calibration import CalibrationLut, load_calibration
from eoinstruct.sources.stac.grid import ChipGrid, _crs_text, _Header, _read_header, chip_grid
from eoinstruct.sources.stac.network import (
    gdal_http_env,
    gdal_messages,
    public_href,
    raster_error,
    redact_gdal_logs,
)
from eoinstruct.sources.stac.options import _Options
from eoinstruct.sources.stac.signing import sign_href

CHIP_FORMAT = 1
"""Version of the chip layout; part of ``chip.json`` so a change re-reads old chips."""
CHIP_JSON = "chip.json"


def _physical(raw: np.ndarray, scaling: Scaling, file_nodata: float | None) -> np.ndarray:
    """Apply nodata and scaling to stored values (float32, NaN where there is no data)."""
    values = raw.astype(np.float64)
    invalid = ~np.isfinite(values)
    for nodata in (scaling.nodata, file_nodata):
        if nodata is None:
            continue
        invalid |= np.isnan(values) if math.isnan(nodata) else values == nodata
    out = values * scaling.scale + scaling.offset
    out[invalid] = np.nan
    return out.astype(np.float32)


def _src_window(
    ds_transform: Affine, width: int, height: int, bounds: tuple[float, float, float, float]
) -> Window | None:
    """The window of a north-up raster covering ``bounds`` plus one pixel, clipped; None if none."""
    left, bottom, right, top = bounds
    inv = ~ds_transform
    cols, rows = zip(*(inv @ (x, y) for x in (left, right) for y in (bottom, top)), strict=True)
    col0, col1 = math.floor(min(cols)) - 1, math.ceil(max(cols)) + 1
    row0, row1 = math.floor(min(rows)) - 1, math.ceil(max(rows)) + 1
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, width), min(row1, height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _read_gridded(
    href: str, header: _Header, grid: ChipGrid, scaling: Scaling, unit: str
) -> np.ndarray:
    """Read the chip of a map-projected asset, resampled onto ``grid`` (nearest)."""
    out = np.full((grid.height, grid.width), np.nan, dtype=np.float32)
    assert header.crs is not None
    if CRS.from_user_input(grid.crs) == header.crs:
        bounds = grid.bounds()
    else:
        bounds = transform_bounds(grid.crs, header.crs, *grid.bounds(), densify_pts=21)
    window = _src_window(header.transform, header.width, header.height, bounds)
    if window is None:
        return out
    with gdal_messages() as logged:
        try:
            with rasterio.open(href) as ds:
                raw = ds.read(1, window=window)
                src_transform = ds.transform @ Affine.translation(window.col_off, window.row_off)
        except RasterioError as exc:
            raise raster_error(href, exc, unit, "cannot read window", logged) from exc
    values = _physical(raw, scaling, header.nodata)
    reproject(
        values,
        out,
        src_transform=src_transform,
        src_crs=header.crs,
        src_nodata=np.nan,
        dst_transform=grid.affine,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return out


def _read_gcp(
    href: str,
    header: _Header,
    grid: ChipGrid,
    scaling: Scaling,
    lut: CalibrationLut | None,
    unit: str,
) -> np.ndarray:
    """Read a GCP-georeferenced (radar geometry) asset onto ``grid``, calibrating if asked."""
    out = np.full((grid.height, grid.width), np.nan, dtype=np.float32)
    assert header.gcp_crs is not None
    left, bottom, right, top = grid.bounds()
    ticks = np.linspace(0.0, 1.0, 9)
    xs = [left + t * (right - left) for t in ticks] * 2 + [left] * 9 + [right] * 9
    ys = [bottom] * 9 + [top] * 9 + [bottom + t * (top - bottom) for t in ticks] * 2
    gx, gy = warp_transform(grid.crs, header.gcp_crs, xs, ys)
    rows, cols = GCPTransformer(list(header.gcps)).rowcol(gx, gy, op=float)
    col0 = max(math.floor(min(cols)) - 2, 0)
    row0 = max(math.floor(min(rows)) - 2, 0)
    col1 = min(math.ceil(max(cols)) + 2, header.width)
    row1 = min(math.ceil(max(rows)) + 2, header.height)
    if col1 <= col0 or row1 <= row0:
        return out
    window = Window(col0, row0, col1 - col0, row1 - row0)
    with gdal_messages() as logged:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(href) as ds:
                    raw = ds.read(1, window=window)
        except RasterioError as exc:
            raise raster_error(href, exc, unit, "cannot read window", logged) from exc
    values = _physical(raw, scaling, header.nodata)
    if lut is not None:
        gain = lut.at(np.arange(row0, row1, dtype=np.float64), np.arange(col0, col1, dtype=float))
        values = (values.astype(np.float64) ** 2 / gain**2).astype(np.float32)
    shifted = [
        GroundControlPoint(row=g.row - row0, col=g.col - col0, x=g.x, y=g.y) for g in header.gcps
    ]
    reproject(
        values,
        out,
        gcps=shifted,
        src_crs=header.gcp_crs,
        src_nodata=np.nan,
        dst_transform=grid.affine,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return out


def _write_chip(path: Path, array: np.ndarray, grid: ChipGrid, band: str) -> None:
    """Write one float32 chip GeoTIFF atomically (temporary name, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=1,
            dtype="float32",
            crs=grid.crs,
            transform=grid.affine,
            nodata=float("nan"),
            compress="deflate",
            predictor=3,
        ) as dst:
            dst.write(array, 1)
            dst.set_band_description(1, band)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_json_atomic(path: Path, value: object, only_if_changed: bool = False) -> None:
    text = json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if only_if_changed and path.is_file():
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except OSError:
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def chip_request(
    item: Mapping[str, Any], choices: Sequence[AssetChoice], opts: _Options
) -> dict[str, Any]:
    """What decides a chip's content; equal requests may reuse chips.

    Args:
        item: The item as a dict.
        choices: The assets read.
        opts: The adapter's options (``chip_center``, ``chip_size``, ``s1_calibration``).

    Returns:
        The request, as recorded in ``chip.json``.
    """
    props = item.get("properties", {})
    collection = str(item.get("collection"))
    return {
        "format": CHIP_FORMAT,
        "item": item.get("id"),
        "collection": collection,
        "updated": props.get("updated") or props.get("created") or props.get("datetime"),
        "center": list(opts.chip_center) if opts.chip_center else "raster",
        "size": opts.size_for(collection),
        "s1_calibration": opts.s1_calibration,
        "assets": [
            {
                "key": c.key,
                "band": c.band,
                "href": c.href,
                "scale": c.scaling.scale,
                "offset": c.scaling.offset,
                "nodata": c.scaling.nodata,
                "calibration": c.calibration_href,
            }
            for c in choices
        ],
    }


COVERAGE_TOLERANCE = 0.02
"""Largest difference between two assets' shares of one chip that their files cover."""


def _check_same_coverage(
    unit: str, hrefs: Mapping[str, str], headers: Mapping[str, _Header], grid: ChipGrid
) -> None:
    """Check that the map-projected assets of an item cover the same share of its chip.

    The assets of an item are one acquisition: their files cover one scene, so a chip at the
    scene's edge is cut alike from each. A file that covers less of the chip than its siblings
    (another size or origin) would give a partly empty band.

    Raises:
        SourceError: ``corrupt_raster`` naming the asset that covers less of the chip.
    """
    shares: dict[str, float] = {}
    for key in sorted(headers):
        header = headers[key]
        if header.crs is None or header.transform.is_identity:
            continue
        if CRS.from_user_input(grid.crs) == header.crs:
            left, bottom, right, top = grid.bounds()
        else:
            left, bottom, right, top = transform_bounds(
                grid.crs, header.crs, *grid.bounds(), densify_pts=21
            )
        t = header.transform
        x0, y0 = t * (0, 0)
        x1, y1 = t * (header.width, header.height)
        width = min(right, max(x0, x1)) - max(left, min(x0, x1))
        height = min(top, max(y0, y1)) - max(bottom, min(y0, y1))
        area = (right - left) * (top - bottom)
        shares[key] = max(width, 0.0) * max(height, 0.0) / area if area > 0 else 0.0
    if len(shares) < 2:
        return
    most = max(shares.values())
    for key, share in shares.items():
        if most - share > COVERAGE_TOLERANCE:
            raise SourceError(
                "corrupt_raster",
                f"{public_href(hrefs[key])}: covers {share:.0%} of the chip where the item's "
                f"other assets cover {most:.0%} (a file of another extent)",
                unit,
            )


def read_chips(
    unit: str,
    item: Mapping[str, Any],
    choices: Sequence[AssetChoice],
    folder: Path,
    opts: _Options,
) -> tuple[ChipGrid, dict[str, Path]]:
    """Write (or reuse) the chips of an item; return the grid and chip path per key.

    Args:
        unit: Unit id for errors.
        item: The item as a dict.
        choices: The assets to read.
        folder: The unit's chip folder (``chips_dir/<collection>/<item id>``).
        opts: The adapter's options.

    Returns:
        The chip grid and the chip GeoTIFF of each asset key.

    Raises:
        SourceError: ``missing_file``, ``network`` (a remote read timed out, was refused or
            reset, or got HTTP 429/5xx), ``corrupt_raster`` or ``bad_metadata`` (the CRS the
            item declares differs from the file's; an asset is not georeferenced).
    """
    paths = {c.key: folder / f"{c.key}.tif" for c in choices}
    request = chip_request(item, choices, opts)
    manifest_path = folder / CHIP_JSON
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("request") == json.loads(json.dumps(request)) and all(
                p.is_file() for p in paths.values()
            ):
                g = manifest["grid"]
                grid = ChipGrid(g["crs"], tuple(g["transform"]), g["width"], g["height"])
                return grid, paths
        except (OSError, ValueError, KeyError, TypeError):
            pass
    # Every remote read (header, window, on any worker) has the timeouts and retries, and
    # GDAL's retry warnings are logged without the href's signature.
    redact_gdal_logs()
    with rasterio.Env(**gdal_http_env(opts.connect_timeout_s, opts.timeout_s, opts.retries)):
        family = collection_profile(str(item.get("collection")))
        net = ((opts.connect_timeout_s, opts.timeout_s), opts.retries)
        headers = {
            c.key: _read_header(sign_href(opts.sign, c.href, unit, *net), unit) for c in choices
        }
        grid = chip_grid(unit, item, headers, opts)
        _check_same_coverage(unit, {c.key: c.href for c in choices}, headers, grid)
        for choice in choices:
            href = sign_href(opts.sign, choice.href, unit, *net)
            header = headers[choice.key]
            if header.crs is not None and not header.transform.is_identity:
                declared = item_epsg(item, choice.key)
                if family is not None and family.family != "s1grd" and declared is not None:
                    if header.crs.to_epsg() != declared:
                        raise SourceError(
                            "bad_metadata",
                            f"{public_href(choice.href)}: file CRS {_crs_text(header.crs)} "
                            f"differs from the item's EPSG:{declared}",
                            unit,
                        )
                array = _read_gridded(href, header, grid, choice.scaling, unit)
            elif header.gcps and header.gcp_crs is not None:
                lut = None
                if family is not None and family.family == "s1grd":
                    lut = load_calibration(choice, opts, unit)
                array = _read_gcp(href, header, grid, choice.scaling, lut, unit)
            else:
                raise SourceError(
                    "bad_metadata",
                    f"{public_href(choice.href)}: no CRS and no GCPs: not georeferenced",
                    unit,
                )
            _write_chip(paths[choice.key], array, grid, choice.band)
    manifest = {
        "request": request,
        "grid": {
            "crs": grid.crs,
            "transform": list(grid.transform),
            "width": grid.width,
            "height": grid.height,
            "key": grid.key(),
        },
    }
    _write_json_atomic(manifest_path, manifest)
    return grid, paths
