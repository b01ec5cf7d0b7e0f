"""Object outlines (oriented quadrilaterals) shared by the DIOR and DOTA adapters.

An oriented object is annotated as a quadrilateral (DOTA's ``x1 y1 … x4 y4``, DIOR-R's
``robndbox`` corners). The adapters keep it twice: as the object's ``polygon_wkt`` (pixel
coordinates) and, because corpus rows carry boxes but no WKT, in the label property
:data:`OUTLINES_KEY`, one outline per object in the order of ``labels.objects``
(``x y,x y,x y,x y`` per object, objects separated by ``;``). The oriented-box builders and the
audit read that property, so an oriented answer can be re-derived from a published row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely

from eoinstruct.sources.base import SourceError

OUTLINES_KEY = "outlines"
"""Label property holding every object's outline, in ``labels.objects`` order."""

CUT_KEY = "cut_categories"
"""Label property naming categories with an object cut by a chip edge and not kept."""

Point = tuple[float, float]


def parse_quad(values: Sequence[str], unit: str, what: str) -> tuple[Point, ...]:
    """Read eight numbers as a quadrilateral, rejecting odd or non-numeric lists.

    Args:
        values: ``x1 y1 x2 y2 x3 y3 x4 y4`` as strings.
        unit: The unit id (for the error).
        what: Where the numbers come from (file and line), for the error.

    Returns:
        The four corners.

    Raises:
        SourceError: ``malformed_label`` for a count other than 8, a value that is not a
            finite number, or a quadrilateral without area.
    """
    if len(values) != 8:
        raise SourceError("malformed_label", f"{what}: {len(values)} coordinates, expected 8", unit)
    try:
        numbers = [float(v) for v in values]
    except ValueError as exc:
        raise SourceError("malformed_label", f"{what}: non-numeric coordinate", unit) from exc
    if not all(math.isfinite(v) for v in numbers):
        raise SourceError("malformed_label", f"{what}: non-finite coordinate", unit)
    quad = tuple((numbers[i], numbers[i + 1]) for i in range(0, 8, 2))
    if shapely.Polygon(quad).convex_hull.area <= 0:
        raise SourceError("malformed_label", f"{what}: quadrilateral without area", unit)
    return quad


def check_inside(points: Sequence[Point], width: int, height: int, unit: str, what: str) -> None:
    """Reject an outline with a corner outside the image (beyond a half-pixel tolerance).

    Raises:
        SourceError: ``malformed_label`` naming the corner.
    """
    for x, y in points:
        if not (-0.5 <= x <= width + 0.5 and -0.5 <= y <= height + 0.5):
            raise SourceError(
                "malformed_label",
                f"{what}: corner ({x:g}, {y:g}) outside the {width}x{height} image",
                unit,
            )


def clamp(points: Sequence[Point], width: int, height: int) -> tuple[Point, ...]:
    """Clamp corners into ``[0, width] x [0, height]`` (the half-pixel tolerance above)."""
    return tuple((min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in points)


def clip(
    points: Sequence[Point], window: tuple[int, int, int, int]
) -> tuple[tuple[Point, ...], float]:
    """Clip an outline to a window and shift it into the window's pixel frame.

    Args:
        points: The outline's corners in image pixels.
        window: ``(x, y, width, height)`` of the window.

    Returns:
        The clipped outline's vertices (window pixels, no closing repeat; empty when outside)
        and the fraction of the outline's area that lies inside the window.
    """
    x0, y0, w, h = window
    shape = shapely.Polygon(points).buffer(0)
    inside = shape.intersection(shapely.box(x0, y0, x0 + w, y0 + h))
    if shape.area <= 0 or inside.is_empty or inside.area <= 0:
        return (), 0.0
    hull = inside.convex_hull
    coords = list(hull.exterior.coords)[:-1]
    return tuple((round(x - x0, 2), round(y - y0, 2)) for x, y in coords), inside.area / shape.area


def bounds(points: Sequence[Point]) -> tuple[float, float, float, float]:
    """Axis-aligned box ``(x1, y1, x2, y2)`` of an outline."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def wkt(points: Sequence[Point]) -> str:
    """The outline as a closed WKT polygon."""
    ring = [*points, points[0]]
    return "POLYGON ((" + ", ".join(f"{x:g} {y:g}" for x, y in ring) + "))"


def outlines_property(outlines: Sequence[Sequence[Point]]) -> str:
    """Write the :data:`OUTLINES_KEY` property: ``x y,x y,…;x y,…`` in object order."""
    return ";".join(",".join(f"{x:g} {y:g}" for x, y in points) for points in outlines)
