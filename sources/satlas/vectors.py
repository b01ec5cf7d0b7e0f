"""SatlasPretrain's vector labels: ``vector.json`` files into objects and classifications.

Holds the readers of static and dynamic ``vector.json`` files (top-level shape checked), the
parsing of point, polyline and polygon geometries in label units, and :func:`_features`,
which maps the features onto an image's pixels as object labels (with their categorical
attribute) and turns the ``smoke``/``snow`` polygons into classification properties.

Facts relied on (``shared/docs/source-formats.md`` section 4, which cites allenai/satlas
``SatlasPretrain.md``, ``satlas/util/__init__.py``, ``satlas/cmd/to_dataset/common.py``,
``satlas/tasks.py`` and torchgeo ``satlas.py`` with its fixture ``tests/data/satlas``):

- Labels: ``static/<col>_<row>/vector.json`` and ``<task>.png`` rasters (land_cover,
  tree_cover, dem, crop_type…), which apply to the most recent image of the tile;
  ``dynamic/<col>_<row>/<task>_<n>/vector.json`` (+ rasters), whose ``metadata.ImageName``
  names the one image they annotate. ``vector.json`` maps a category to a list of
  ``{"Geometry": {"Type": "point"|"polygon"|"polyline", …}, "Properties": {…}}``; an empty
  list means "annotated, none present". Coordinates are in an 8192x8192 space per zoom-13
  tile (they may fall outside it), which is also the pixel grid of the 16x16 zoom-17 NAIP
  tiles inside it (``satlas/cmd/to_dataset/property.py`` maps a feature to its NAIP tile as
  ``tile*16 + coord//512``). ``smoke`` and ``snow`` are classification labels: a tile-covering
  polygon whose property holds the class index (no, partial, yes).

Decisions:

- **Labels**: each vector feature becomes an :class:`~eoinstruct.pipeline.records.ObjectLabel` on
the
  image it annotates (static: the newest ``t<i>``; dynamic: the image named by
  ``ImageName``), with ``bbox`` in that image's pixels (coordinate / 16 on a 512-px zoom-13
  tile; coordinate minus the sub-tile offset on a NAIP tile), clipped to the image; points get
  a box of ±:data:`POINT_HALF_SIZE` label units (about ±19 m at the equator), polylines are
  padded by :data:`LINE_HALF_WIDTH`. ``polygon_wkt`` is the unclipped geometry in the same
  pixel space (``POINT``, ``LINESTRING`` or ``POLYGON``). Features wholly outside the image are
  left out. ``attribute`` is the feature's categorical property (``plant_type``,
  ``road_type``, ``resource``, ``park_type``, track ``sport``: :data:`ATTRIBUTE_PROPERTIES`);
  numeric properties (lanes, capacity…) are not kept. ``uid`` is
  ``<label folder>/<category>/<index>``.
- ``labels.properties``: ``smoke``/``snow`` class names; ``absent_categories`` (annotated but
  with no instance in the image, comma-separated); ``line_categories`` (categories with a
  polyline feature in the image — roads, railways, rivers, runways… — comma-separated: line
  features are not countable objects, and the corpus rows carry no WKT, so this is how the
  audit knows them); ``static_image_role`` (the role that static rasters and classifications
  refer to). Keys from dynamic labels carry ``:<role>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from eoinstruct.pipeline.records import ImageRef, ObjectLabel
from eoinstruct.sources.base import (
    SourceError,
)
from eoinstruct.sources.satlas.metadata import _is_int, _read_json
from eoinstruct.sources.satlas.tiles import _Window

POINT_HALF_SIZE = 32.0
"""Half-size of a point's box, in label units (2 px on a 512-px zoom-13 tile, about 19 m)."""

LINE_HALF_WIDTH = 16.0
"""Padding of a polyline's box, in label units (1 px on a 512-px zoom-13 tile)."""

CLASSIFICATION_TASKS: dict[str, tuple[str, ...]] = {
    "smoke": ("no", "partial", "yes"),
    "snow": ("no", "partial", "yes"),
}
"""Classification tasks (tile-covering polygons; property = class index), satlas/tasks.py."""

ATTRIBUTE_PROPERTIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "power_plant": ("plant_type", ("oil", "nuclear", "coal", "gas")),
    "road": (
        "road_type",
        (
            "motorway",
            "trunk",
            "primary",
            "secondary",
            "tertiary",
            "residential",
            "service",
            "track",
            "pedestrian",
        ),
    ),
    "quarry": ("resource", ("sand", "gravel", "clay", "coal", "peat")),
    "park": ("park_type", ("park", "pitch", "golf_course", "cemetery")),
    "track": ("sport", ("running", "cycling", "horse")),
}
"""Category → (categorical property, its classes) kept as the object's attribute
(``property_tasks`` of allenai/satlas ``satlas/tasks.py``)."""


def _malformed(path: Path, unit: str, why: str) -> SourceError:
    return SourceError("malformed_label", f"satlas {unit}: {path}: {why}", unit)


def _load_vector(path: Path, unit: str, dynamic: bool) -> dict[str, Any]:
    """Read a ``vector.json`` and check its top-level shape."""
    data = _read_json(path, unit, "malformed_label")
    if not isinstance(data, dict):
        raise _malformed(path, unit, "not a JSON object")
    for key, value in data.items():
        if key == "metadata":
            if not isinstance(value, dict):
                raise _malformed(path, unit, "'metadata' is not an object")
        elif not isinstance(value, list):
            raise _malformed(path, unit, f"category {key!r} is not a list of features")
    if dynamic:
        image = data.get("metadata", {}).get("ImageName")
        if not isinstance(image, str) or not image:
            raise _malformed(path, unit, "no metadata.ImageName")
    return data


def _load_dynamic(folder: Path, unit: str) -> list[tuple[Path, str, dict[str, Any]]]:
    """Read every dynamic label folder of a label tile: ``(folder, image name, vector)``."""
    if not folder.is_dir():
        return []
    found: list[tuple[Path, str, dict[str, Any]]] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        vector = sub / "vector.json"
        if not vector.is_file():
            raise SourceError(
                "missing_file", f"satlas {unit}: dynamic label folder lacks {vector}", unit
            )
        data = _load_vector(vector, unit, dynamic=True)
        found.append((sub, str(data["metadata"]["ImageName"]), data))
    return found


@dataclass(frozen=True)
class _Found:
    objects: list[ObjectLabel]
    properties: dict[str, str]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _points(value: object, minimum: int) -> list[tuple[float, float]] | None:
    """``[[c, r], …]`` as float pairs, or None if it is not a list of ≥ ``minimum`` points."""
    if not isinstance(value, list) or len(value) < minimum:
        return None
    out: list[tuple[float, float]] = []
    for point in value:
        if not isinstance(point, list) or len(point) < 2 or not all(map(_number, point[:2])):
            return None
        out.append((float(point[0]), float(point[1])))
    return out


def _geometry(feature: object, where: str, path: Path, unit: str) -> tuple[str, BaseGeometry]:
    """Parse a feature's geometry (in label units) into ``(type, shapely geometry)``."""
    if not isinstance(feature, dict) or not isinstance(feature.get("Geometry"), dict):
        raise _malformed(path, unit, f"{where} has no 'Geometry' object")
    geometry = feature["Geometry"]
    kind = geometry.get("Type")
    try:
        if kind == "point":
            points = _points([geometry.get("Point")], 1)
            if points:
                return kind, Point(points[0])
        elif kind == "polyline":
            points = _points(geometry.get("Polyline"), 2)
            if points:
                return kind, LineString(points)
        elif kind == "polygon":
            rings = geometry.get("Polygon")
            if isinstance(rings, list) and rings:
                parsed = [_points(ring, 3) for ring in rings]
                if all(r is not None for r in parsed):
                    shell, *holes = parsed
                    return kind, Polygon(shell, holes)
        else:
            raise _malformed(path, unit, f"{where}: unknown geometry type {kind!r}")
    except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
        raise _malformed(path, unit, f"{where}: bad {kind} geometry ({exc})") from exc
    raise _malformed(path, unit, f"{where}: bad {kind} coordinates")


def _class_value(value: object, classes: tuple[str, ...]) -> str | None:
    """A class index or name as the class name (None if neither)."""
    if isinstance(value, int) and _is_int(value) and 0 <= value < len(classes):
        return classes[value]
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _features(
    data: Mapping[str, Any],
    path: Path,
    unit: str,
    window: _Window,
    image: ImageRef,
    folder_name: str,
) -> _Found:
    """Turn a ``vector.json`` into objects on ``image`` and classification properties."""
    sx = image.width / window.size
    sy = image.height / window.size
    objects: list[ObjectLabel] = []
    properties: dict[str, str] = {}
    absent: list[str] = []
    lines: set[str] = set()
    for category, features in data.items():
        if category == "metadata":
            continue
        if category in CLASSIFICATION_TASKS:
            for k, feature in enumerate(features):
                props = feature.get("Properties") if isinstance(feature, dict) else None
                value = (
                    _class_value(props.get(category), CLASSIFICATION_TASKS[category])
                    if isinstance(props, dict)
                    else None
                )
                if value is None:
                    raise _malformed(path, unit, f"{category}[{k}] has no valid class")
                properties[category] = value
            continue
        kept = 0
        for k, feature in enumerate(features):
            where = f"{category}[{k}]"
            kind, geometry = _geometry(feature, where, path, unit)
            pixel = shapely.transform(
                geometry,
                lambda xy: (xy - (window.x0, window.y0)) * (sx, sy),
            )
            pad = {"point": POINT_HALF_SIZE, "polyline": LINE_HALF_WIDTH}.get(kind, 0.0)
            x1, y1, x2, y2 = pixel.bounds
            x1, x2 = max(0.0, x1 - pad * sx), min(float(image.width), x2 + pad * sx)
            y1, y2 = max(0.0, y1 - pad * sy), min(float(image.height), y2 + pad * sy)
            if not (x2 > x1 and y2 > y1):
                continue  # wholly outside this image
            objects.append(
                ObjectLabel(
                    category=category,
                    attribute=_attribute(category, feature.get("Properties")),
                    image_role=image.role,
                    bbox=(round(x1, 4), round(y1, 4), round(x2, 4), round(y2, 4)),
                    polygon_wkt=shapely.to_wkt(pixel, rounding_precision=4),
                    uid=f"{folder_name}/{category}/{k}",
                )
            )
            kept += 1
            if kind == "polyline":
                lines.add(category)
        if kept == 0:
            absent.append(category)
    if absent:
        properties["absent_categories"] = ",".join(sorted(absent))
    if lines:
        properties["line_categories"] = ",".join(sorted(lines))
    return _Found(objects=objects, properties=properties)


def _attribute(category: str, properties: object) -> str:
    """The categorical property of a feature that describes it (``gas``, ``residential``…)."""
    if category not in ATTRIBUTE_PROPERTIES or not isinstance(properties, dict):
        return ""
    key, classes = ATTRIBUTE_PROPERTIES[category]
    return _class_value(properties.get(key), classes) or ""
