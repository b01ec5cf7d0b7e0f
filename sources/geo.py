"""Geometry shared by the adapters and the sample writers: lon/lat footprints and boxes.

A footprint is the outline of a sample in EPSG:4326 as a WKT polygon (lon lat order,
counter-clockwise), or an empty string when it cannot be worked out; the enrich stage looks
OpenStreetMap features up by it and the filter drops samples without one. Distances on the
ground use a spherical Earth (the metres per degree below), which is what the sources'
pixel sizes need, not geodesy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rasterio and shapely are imported on first use (not by listing units)
    from rasterio.crs import CRS

M_PER_DEG_LON = 111_320.0
"""Metres per degree of longitude at the equator (times cos(latitude) elsewhere)."""

M_PER_DEG_LAT = 110_574.0
"""Metres per degree of latitude (spherical Earth)."""


def lonlat_footprint(crs: CRS | str, xs: Sequence[float], ys: Sequence[float]) -> str:
    """Transform the corners of an outline to lon/lat and return it as a WKT polygon.

    Args:
        crs: The CRS of the corner coordinates.
        xs: Corner x coordinates, in ring order.
        ys: Corner y coordinates, in ring order.

    Returns:
        A closed, counter-clockwise ``POLYGON`` in EPSG:4326 (lon, lat) rounded to 1e-7
        degrees, or an empty string if the transform fails, gives coordinates that are not
        finite or fall outside the globe, or a degenerate polygon.
    """
    import shapely
    from rasterio.warp import transform as warp_transform
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    try:
        lons, lats = warp_transform(crs, "EPSG:4326", list(xs), list(ys))
    except Exception:  # GDAL/PROJ raise several private error types; any means "unknown".
        return ""
    if not all(math.isfinite(v) for v in (*lons, *lats)):
        return ""
    if not all(-180 <= x <= 180 for x in lons) or not all(-90 <= y <= 90 for y in lats):
        return ""
    polygon = Polygon(zip(lons, lats, strict=True))
    if not polygon.is_valid or polygon.area == 0:
        return ""
    return shapely.to_wkt(orient(polygon, 1.0), rounding_precision=7)


def footprint_from_box(box: tuple[float, float, float, float], crs: CRS | str) -> str:
    """Transform a map rectangle to lon/lat and return it as a WKT polygon.

    Args:
        box: ``(ulx, uly, lrx, lry)`` (left, top, right, bottom) in ``crs``.
        crs: The CRS of the corner coordinates.

    Returns:
        See :func:`lonlat_footprint` (an empty string when it cannot be worked out).
    """
    ulx, uly, lrx, lry = box
    return lonlat_footprint(crs, [ulx, lrx, lrx, ulx], [uly, uly, lry, lry])


def footprints_from_boxes(
    boxes: Sequence[tuple[float, float, float, float]], crs: CRS | str
) -> list[str]:
    """:func:`footprint_from_box` of many rectangles in one CRS, with one transform call.

    The same strings, box by box: the corners go through one ``rasterio.warp.transform``
    (each point is transformed on its own, so the values are those of one call per box) and
    shapely's array functions apply the same checks, orientation and WKT rounding. If the
    batched transform raises, each box is transformed on its own.

    Args:
        boxes: ``(ulx, uly, lrx, lry)`` rectangles in ``crs``.
        crs: Their CRS.

    Returns:
        One footprint per box (an empty string where it cannot be worked out).
    """
    if not boxes:
        return []
    import numpy as np
    import shapely
    from rasterio.warp import transform as warp_transform

    corners = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    xs = corners[:, [0, 2, 2, 0]].ravel().tolist()
    ys = corners[:, [1, 1, 3, 3]].ravel().tolist()
    try:
        lons_list, lats_list = warp_transform(crs, "EPSG:4326", xs, ys)
    except Exception:  # one bad box must not blank the others: each on its own
        return [footprint_from_box(box, crs) for box in boxes]
    lons = np.asarray(lons_list, dtype=np.float64).reshape(-1, 4)
    lats = np.asarray(lats_list, dtype=np.float64).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        usable = (
            np.isfinite(lons).all(axis=1)
            & np.isfinite(lats).all(axis=1)
            & ((lons >= -180) & (lons <= 180)).all(axis=1)
            & ((lats >= -90) & (lats <= 90)).all(axis=1)
        )
    out = [""] * len(corners)
    rows = np.flatnonzero(usable)
    if rows.size:
        polygons = shapely.polygons(np.stack([lons[rows], lats[rows]], axis=-1))
        good = shapely.is_valid(polygons) & (shapely.area(polygons) != 0)
        texts = shapely.to_wkt(
            shapely.orient_polygons(polygons[good], exterior_cw=False), rounding_precision=7
        )
        for row, text in zip(rows[good].tolist(), texts.tolist(), strict=True):
            out[row] = text
    return out


def from_lonlat(lon: float, lat: float, crs: CRS | str) -> tuple[float, float]:
    """Return the map coordinates of a lon/lat point in ``crs``.

    Args:
        lon: Longitude in degrees.
        lat: Latitude in degrees.
        crs: The target CRS (e.g. ``EPSG:32633``).

    Returns:
        ``(x, y)`` in ``crs``.
    """
    from rasterio.warp import transform as warp_transform

    (x,), (y,) = warp_transform("EPSG:4326", crs, [lon], [lat])
    return float(x), float(y)


def box_pixel_size_m(box: tuple[float, float, float, float], width: int, height: int) -> float:
    """Return the ground size of a pixel of an image spanning a lon/lat box.

    Args:
        box: ``(west, south, east, north)`` in degrees.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        Mean of the east-west and north-south pixel sizes in metres (spherical Earth:
        :data:`M_PER_DEG_LON` at the equator, :data:`M_PER_DEG_LAT`), rounded to 3 decimals.
    """
    west, south, east, north = box
    lat = math.radians((south + north) / 2)
    width_m = (east - west) * M_PER_DEG_LON * math.cos(lat) / width
    height_m = (north - south) * M_PER_DEG_LAT / height
    return round((width_m + height_m) / 2, 3)
