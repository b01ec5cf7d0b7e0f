"""xBD georeference: a pixel → lon/lat affine transform fitted over a label's vertices.

Holds :class:`AffineFit` and :func:`fit_pixel_to_lonlat` with the acceptance limits
(:data:`MAX_FIT_RMS_PX`, :data:`MIN_SPREAD_PX`, :data:`MAX_FIT_CONDITION`), the fit of one
label's matched ``xy``/``lng_lat`` vertices, and the check that the fit maps the image corners
to valid lon/lat.

Checked against real files in ``shared/peer-data`` (README sections 4a, 4b): the ``xy`` and
``lng_lat`` vertices of a building in real label files (``joplin-tornado_00000050``)
correspond one to one, related by an affine transform to within 0.01 px.

Decision:

- Georeferencing: xBD PNGs have no CRS, so a pixel→lon/lat affine transform is fitted over the
  matched vertices (:func:`fit_pixel_to_lonlat`). The footprint is kept only if the fit has at
  least 3 points, spread at least :data:`MIN_SPREAD_PX` across its narrowest direction, and an
  RMS residual of at most :data:`MAX_FIT_RMS_PX` pixels and maps the image corners to valid
  lon/lat; the post label is fitted first, then the pre label. Otherwise ``crs`` and
  ``footprint_wkt`` stay empty (the filter stage drops such samples as ``no_geolocation``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from eoinstruct.sources.xbd.labels import _Feature, _Label

MAX_FIT_RMS_PX = 2.0
"""Largest RMS residual, in pixels, of an accepted pixel→lon/lat fit."""

MIN_SPREAD_PX = 1.0
"""Smallest RMS spread, in pixels, of the fit's points across their narrowest direction."""

MAX_FIT_CONDITION = 1e4
"""Largest condition number of the fit's linear part (a larger one is a degenerate mapping)."""


@dataclass(frozen=True)
class AffineFit:
    """A least-squares affine transform from pixel ``(x, y)`` to ``(lon, lat)``.

    ``lon = a*x + b*y + c`` and ``lat = d*x + e*y + f``.

    Attributes:
        coefficients: ``(a, b, c, d, e, f)``.
        n_points: Number of vertex pairs the fit used.
        rms_px: RMS residual expressed in pixels (lon/lat residuals mapped back through the
            inverse of the linear part).
        max_px: Largest residual in pixels.
    """

    coefficients: tuple[float, float, float, float, float, float]
    n_points: int
    rms_px: float
    max_px: float

    def apply(self, x: float, y: float) -> tuple[float, float]:
        """Map one pixel position to lon/lat.

        Args:
            x: Column in pixels (0 is the left edge of the image).
            y: Row in pixels (0 is the top edge).

        Returns:
            ``(lon, lat)`` in degrees.
        """
        a, b, c, d, e, f = self.coefficients
        return a * x + b * y + c, d * x + e * y + f

    def pixel_size_m(self) -> tuple[float, float]:
        """Approximate ground size of one pixel.

        Returns:
            ``(width, height)`` of a pixel in metres, on a spherical Earth at the latitude of
            the image origin.
        """
        a, b, _, d, e, _ = self.coefficients
        lat = math.radians(self.apply(0.0, 0.0)[1])
        m_per_deg = 111_320.0
        width = math.hypot(a * m_per_deg * math.cos(lat), d * m_per_deg)
        height = math.hypot(b * m_per_deg * math.cos(lat), e * m_per_deg)
        return width, height

    def footprint_wkt(self, width: int, height: int) -> str:
        """Map the image rectangle to a lon/lat polygon.

        Args:
            width: Image width in pixels.
            height: Image height in pixels.

        Returns:
            WKT of the rectangle ``(0, 0)`` to ``(width, height)`` in EPSG:4326 (lon lat order,
            counter-clockwise, coordinates rounded to 1e-10 degrees).
        """
        corners = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height))]
        corners.append((0.0, float(height)))
        polygon = orient(Polygon([self.apply(x, y) for x, y in corners]), 1.0)
        return shapely.to_wkt(polygon, rounding_precision=10)


def fit_pixel_to_lonlat(
    pixel_xy: Sequence[tuple[float, float]] | np.ndarray,
    lonlat: Sequence[tuple[float, float]] | np.ndarray,
) -> AffineFit | None:
    """Fit a pixel→lon/lat affine transform to corresponding points by least squares.

    xBD label files give every building twice, in pixels (``features.xy``) and in EPSG:4326
    (``features.lng_lat``), with corresponding vertices; fitting over all of them recovers the
    image's georeferencing, which the PNGs lack. The points are centred before solving, for
    precision at the 1e-9 degree level.

    Args:
        pixel_xy: ``(x, y)`` pixel positions, shape ``(n, 2)``.
        lonlat: The matching ``(lon, lat)`` positions in degrees, shape ``(n, 2)``.

    Returns:
        The fit, or ``None`` if it is degenerate: fewer than 3 points, points spread less than
        :data:`MIN_SPREAD_PX` across their narrowest direction (collinear), non-finite
        values, or a linear part with a condition number above :data:`MAX_FIT_CONDITION`.
        The caller judges the residual (:attr:`AffineFit.rms_px`).

    Raises:
        ValueError: If the two inputs do not both have shape ``(n, 2)``.
    """
    pixels = np.asarray(pixel_xy, dtype=np.float64).reshape(-1, 2)
    world = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    if pixels.shape != world.shape:
        raise ValueError(f"{len(pixels)} pixel points but {len(world)} lon/lat points")
    n = len(pixels)
    if n < 3 or not (np.isfinite(pixels).all() and np.isfinite(world).all()):
        return None
    pixel_mean = pixels.mean(axis=0)
    world_mean = world.mean(axis=0)
    centred = pixels - pixel_mean
    spread = np.linalg.svd(centred, compute_uv=False)
    if spread[-1] / math.sqrt(n) < MIN_SPREAD_PX:
        return None
    # world - world_mean = centred @ linear.T
    solution, *_ = np.linalg.lstsq(centred, world - world_mean, rcond=None)
    linear = solution.T  # rows: lon, lat; columns: x, y
    if not np.isfinite(linear).all() or np.linalg.cond(linear) > MAX_FIT_CONDITION:
        return None
    offset = world_mean - linear @ pixel_mean
    residual_world = world - (pixels @ linear.T + offset)
    residual_px = np.linalg.solve(linear, residual_world.T).T
    distances = np.hypot(residual_px[:, 0], residual_px[:, 1])
    coefficients = (
        float(linear[0, 0]),
        float(linear[0, 1]),
        float(offset[0]),
        float(linear[1, 0]),
        float(linear[1, 1]),
        float(offset[1]),
    )
    return AffineFit(
        coefficients=coefficients,
        n_points=n,
        rms_px=float(math.sqrt(float(np.mean(distances**2)))),
        max_px=float(distances.max()),
    )


def _rings(geometry: Polygon | MultiPolygon) -> list[np.ndarray]:
    polygons = list(geometry.geoms) if isinstance(geometry, MultiPolygon) else [geometry]
    rings: list[np.ndarray] = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            rings.append(np.asarray(ring.coords, dtype=np.float64)[:-1, :2])
    return rings


def _fit_label(label: _Label) -> AffineFit | None:
    """Fit over the vertices of the buildings present in both lists (matched by uid)."""
    world_by_uid: dict[str, list[_Feature]] = {}
    for feature in label.lng_lat:
        if feature.uid:
            world_by_uid.setdefault(feature.uid, []).append(feature)
    pixel_parts: list[np.ndarray] = []
    world_parts: list[np.ndarray] = []
    for feature in label.xy:
        candidates = world_by_uid.get(feature.uid)
        if not candidates:
            continue
        world_feature = candidates.pop(0)
        pixel_rings, world_rings = _rings(feature.geometry), _rings(world_feature.geometry)
        if len(pixel_rings) != len(world_rings):
            continue
        for p_ring, w_ring in zip(pixel_rings, world_rings, strict=True):
            if p_ring.shape == w_ring.shape:
                pixel_parts.append(p_ring)
                world_parts.append(w_ring)
    if not pixel_parts:
        return None
    return fit_pixel_to_lonlat(np.vstack(pixel_parts), np.vstack(world_parts))


def _plausible_lonlat(fit: AffineFit, width: int, height: int) -> bool:
    for x, y in ((0, 0), (width, 0), (width, height), (0, height)):
        lon, lat = fit.apply(x, y)
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return False
    return True
