"""xBD label JSON: features, metadata values and sensor names.

Holds the parsed label record (features with their pixel and lon/lat polygons, metadata),
the reading and validation of a label file and its features, and the checked reading of the
metadata ``gsd`` and ``capture_date``, with the sensor names of the metadata ``sensor`` values.

Layout facts this adapter relies on (see ``docs/source-formats.md`` section 5, which cites
torchgeo ``torchgeo/datasets/xview.py`` and DIUx-xView/xView2_baseline):

- Label JSON: ``{"features": {"lng_lat": [...], "xy": [...]}, "metadata": {...}}`` where each
  feature is ``{"properties": {"feature_type", "subtype" (post only), "uid"}, "wkt"}``; ``xy``
  holds pixel-space polygons and ``lng_lat`` the same polygons in EPSG:4326
  (xView2_baseline ``spacenet/inference/inference.py`` and ``model/process_data.py``).
- Damage subtypes: ``no-damage``, ``minor-damage``, ``major-damage``, ``destroyed``,
  ``un-classified``.

Checked against real files in ``shared/peer-data`` (README sections 4a, 4b): real label files of
``joplin-tornado_00000050`` follow that schema, ``capture_date`` reads like
``2011-05-29T17:29:25.433Z``, ``sensor`` like ``WORLDVIEW02`` / ``QUICKBIRD02``.

UNVERIFIED: the meaning of metadata ``gsd`` (on joplin it is 2.35 m while the fitted pixel size
is about 0.45 m, so it is probably the multispectral GSD, not the pixel size of the
pan-sharpened PNG; it is passed on unchanged as the brief asks), and the formats of metadata
values in files other than the ones above.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon

from eoinstruct.sources.base import SourceError, json_loads

SENSOR_NAMES: dict[str, str] = {
    "WORLDVIEW02": "WorldView-2",
    "WORLDVIEW03_VNIR": "WorldView-3",
    "GEOEYE01": "GeoEye-1",
    "QUICKBIRD02": "QuickBird-2",
}
"""Metadata ``sensor`` values → sensor names; unknown values are kept as they are."""

DEFAULT_SENSOR = "Maxar VHR"
"""Sensor of a sample whose label metadata gives none."""


@dataclass(frozen=True)
class _Feature:
    feature_type: str
    subtype: str
    uid: str
    wkt: str
    geometry: Polygon | MultiPolygon


@dataclass(frozen=True)
class _Label:
    path: Path
    xy: tuple[_Feature, ...]
    lng_lat: tuple[_Feature, ...]
    metadata: Mapping[str, Any]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _malformed(path: Path, unit: str, why: str) -> SourceError:
    return SourceError("malformed_label", f"xbd {unit}: {path}: {why}", unit)


def _read_label(path: Path, unit: str) -> _Label:
    try:
        data = json_loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _malformed(path, unit, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise _malformed(path, unit, "no 'features' object")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _malformed(path, unit, "'metadata' is not an object")
    if "xy" not in data["features"]:
        raise _malformed(path, unit, "no features.xy list")
    parsed: dict[str, tuple[_Feature, ...]] = {}
    for key in ("xy", "lng_lat"):
        items = data["features"].get(key, [])
        if not isinstance(items, list):
            raise _malformed(path, unit, f"features.{key} is not a list")
        parsed[key] = tuple(
            _parse_feature(item, f"features.{key}[{i}]", path, unit) for i, item in enumerate(items)
        )
    return _Label(path=path, xy=parsed["xy"], lng_lat=parsed["lng_lat"], metadata=metadata)


def _parse_feature(item: object, where: str, path: Path, unit: str) -> _Feature:
    if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
        raise _malformed(path, unit, f"{where} has no 'properties' object")
    props = item["properties"]
    text = item.get("wkt")
    if not isinstance(text, str):
        raise _malformed(path, unit, f"{where} has no 'wkt' text")
    try:
        geometry = shapely.from_wkt(text)
    except shapely.errors.ShapelyError as exc:
        raise _malformed(path, unit, f"{where}: unparseable WKT {text[:60]!r}") from exc
    if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
        raise _malformed(path, unit, f"{where}: not a non-empty polygon: {text[:60]!r}")
    feature_type = _text(props.get("feature_type"))
    if not feature_type:
        raise _malformed(path, unit, f"{where} has no properties.feature_type")
    return _Feature(
        feature_type=feature_type,
        subtype=_text(props.get("subtype")),
        uid=_text(props.get("uid")),
        wkt=text,
        geometry=geometry,
    )


def _gsd(value: object, path: Path, unit: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        gsd = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise SourceError("bad_metadata", f"xbd {unit}: {path}: gsd {value!r}", unit) from exc
    return gsd if math.isfinite(gsd) and gsd > 0 else None


def _iso_date(value: object, path: Path, unit: str) -> str:
    """Normalise a capture date to ``YYYY-MM-DDThh:mm:ssZ`` (UTC, seconds truncated)."""
    text = _text(value)
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceError(
            "bad_metadata", f"xbd {unit}: {path}: capture_date {text!r} is not ISO 8601", unit
        ) from exc
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
