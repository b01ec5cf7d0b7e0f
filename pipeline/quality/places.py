"""Location keys: names of the place a sample shows, shared by every view of that place.

Two samples with a common key show the same place, whatever their source, sensor or date, so
the splits put them in one split (:func:`eoinstruct.pipeline.quality.splits.assign_splits`).
A key does not name its source, so the same place distributed by two sources gets the same
key. The keys come from what the sources already record:

- ``mgrs:<tile>:<row>_<col>``: a BigEarthNet patch, a 1.2 km cell of a Sentinel-2 MGRS tile
  (v1.0 and reBEN name their patches by tile, row and column; a Sentinel-1 patch carries the
  position of the Sentinel-2 patch it was cut to). The tile comes from the name (reBEN S2,
  every S1 name) or from the ``mgrs_tile`` tag (v1.0 S2 names have none).
- ``tile:z<zoom>:<col>_<row>``: a Web-Mercator tile (Satlas: its Sentinel-1 and Sentinel-2
  images of one tile).
- ``chip:<lon>,<lat>``: a chip cut around a fixed centre from several catalogue items (STAC:
  the Landsat, Sentinel-1 and Sentinel-2 chips of one footprint).
- ``event:<event>/<patch>``: a patch of an event seen in several pairs (QuakeSet:
  ``before/pre`` and ``pre/post`` of one patch).

Samples with none of these are grouped by their footprints only (centroids closer than
``same_place_m``, see :mod:`eoinstruct.pipeline.quality.splits`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_BEN_PATCH = re.compile(
    r"^S[12][AB]_.*?(?:_T?(?P<tile>\d{2}[A-Z]{3}))?_(?P<row>\d{1,3})_(?P<col>\d{1,3})$"
)


def place_keys(
    native_id: str, tags: Mapping[str, str], properties: Mapping[str, str]
) -> tuple[str, ...]:
    """Return the location keys of one sample (sorted; empty when none applies).

    Args:
        native_id: The sample's id in its source.
        tags: Its tags.
        properties: Its labels' properties.

    Returns:
        The keys, e.g. ``("mgrs:33UUP:63_45",)``.
    """
    keys: set[str] = set()
    match = _BEN_PATCH.match(native_id)
    if match:
        tile = match["tile"] or tags.get("mgrs_tile", "").removeprefix("T")
        if tile:
            keys.add(f"mgrs:{tile}:{int(match['row'])}_{int(match['col'])}")
    if tags.get("tile") and tags.get("zoom"):
        keys.add(f"tile:z{tags['zoom']}:{tags['tile']}")
    if properties.get("chip_center"):
        keys.add(f"chip:{properties['chip_center']}")
    if properties.get("event_id") and properties.get("patch"):
        keys.add(f"event:{properties['event_id']}/{properties['patch']}")
    return tuple(sorted(keys))


def footprint_centre(wkt: str) -> tuple[float, float] | None:
    """The centroid (lon, lat) of a WGS 84 footprint, correct across the antimeridian.

    A footprint crossing the antimeridian is stored as two parts, one each side of ±180°
    (a MULTIPOLYGON): its plain centroid would fall near longitude 0. When a footprint's
    longitudes span more than 180°, western longitudes are shifted by +360° before the
    centroid is taken, and the result is wrapped back into [-180, 180).

    Args:
        wkt: The footprint as WKT (lon/lat); empty for none.

    Returns:
        The centre, or None for an empty or unreadable footprint.
    """
    import shapely
    from shapely.errors import ShapelyError
    from shapely.ops import transform

    if not wkt or not wkt.strip():
        return None
    try:
        geom = shapely.from_wkt(wkt)
    except (ShapelyError, ValueError):
        return None
    if geom is None or geom.is_empty:
        return None
    west, _, east, _ = geom.bounds
    if east - west > 180.0:
        geom = transform(lambda x, y, z=None: (x + 360.0 * (x < 0), y), geom)
    point = geom.centroid
    if point.is_empty:
        return None
    lon = (float(point.x) + 180.0) % 360.0 - 180.0
    return lon, float(point.y)


def footprint_centres(wkts: Sequence[str]) -> list[tuple[float, float] | None]:
    """:func:`footprint_centre` of many footprints, parsed and centred by GEOS in one call.

    The same values as calling :func:`footprint_centre` on each (the same GEOS parse and
    centroid, the same wrap); footprints that span more than 180° of longitude (the
    antimeridian case) and a batch with an unreadable footprint go through it one by one.

    Args:
        wkts: Footprints as WKT (lon/lat); empty for none.

    Returns:
        One centre or None per footprint, in order.
    """
    import numpy as np
    import shapely
    from shapely.errors import ShapelyError

    texts = [w if w and w.strip() else None for w in wkts]
    try:
        geoms = shapely.from_wkt(np.array(texts, dtype=object))
    except (ShapelyError, ValueError):
        return [footprint_centre(w) for w in wkts]
    bounds = shapely.bounds(geoms)
    points = shapely.centroid(geoms)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms) | shapely.is_empty(points)
    xs, ys = np.full(len(texts), np.nan), np.full(len(texts), np.nan)
    xs[~empty], ys[~empty] = shapely.get_x(points[~empty]), shapely.get_y(points[~empty])
    out: list[tuple[float, float] | None] = []
    for i, wkt in enumerate(wkts):
        if texts[i] is None or empty[i]:
            out.append(None)
        elif bounds[i, 2] - bounds[i, 0] > 180.0:
            out.append(footprint_centre(wkt))
        else:
            out.append(((float(xs[i]) + 180.0) % 360.0 - 180.0, float(ys[i])))
    return out
