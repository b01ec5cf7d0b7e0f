"""fMoW per-image JSON: the facts of one view (time, GSD, size, the object's box, place).

Layout facts this module relies on (``docs/source-formats.md`` section 9, from fMoW/baseline
``code/data_ml_functions/dataFunctions.py`` and dumped examples):

- Every image ``<category>_<n>_<t>_<variant>.jpg`` has a JSON of the same stem with ``gsd``
  (metres), ``img_width``, ``img_height``, ``timestamp`` (``2012-04-02T10:32:22Z``), ``utm``
  (``32T``), ``country_code`` (``CHE``), ``cloud_cover`` (int, percent), ``raw_location``
  (the image's footprint as a WKT polygon in lon/lat) and ``bounding_boxes``.
- ``bounding_boxes`` is a list of ``{ID, box: [x, y, w, h], category, raw_location…}`` with the
  box's top-left corner and size in pixels; the baseline wraps a single dict in a list, so
  a bare dict is accepted too.

UNVERIFIED: whether a train/val JSON ever holds boxes of other categories than its folder's
(the box of the folder's category is used; the first by ``ID`` when there are several), and
the ``sensor_platform_name`` key (kept as a tag when present).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.errors import ShapelyError

from eoinstruct.sources.base import SourceError, json_loads


@dataclass(frozen=True)
class ViewMeta:
    """What the JSON of one view says.

    Attributes:
        index: The ``<t>`` of the file name (the view's index in the distribution).
        timestamp: Acquisition time, ISO 8601 in UTC (``2012-04-02T10:32:22Z``).
        gsd_m: Ground sample distance in metres.
        width: Image width in pixels.
        height: Image height in pixels.
        box: The object's box ``(x1, y1, x2, y2)`` in pixels.
        box_id: The box's ``ID`` as text.
        cloud_cover: Cloud cover in percent as text (empty if absent).
        country_code: ISO 3166 alpha-3 code (empty if absent).
        utm: UTM zone (empty if absent).
        footprint_wkt: The image footprint in lon/lat as WKT (empty if absent).
        platform: ``sensor_platform_name`` (empty if absent).
        wavelengths: ``approximate_wavelengths`` in nm, one per band in file order (empty if
            absent or malformed).
    """

    index: int
    timestamp: str
    gsd_m: float
    width: int
    height: int
    box: tuple[float, float, float, float]
    box_id: str
    cloud_cover: str = ""
    country_code: str = ""
    utm: str = ""
    footprint_wkt: str = ""
    platform: str = ""
    wavelengths: tuple[float, ...] = ()

    @property
    def date(self) -> str:
        """The acquisition date, ``YYYY-MM-DD``."""
        return self.timestamp[:10]


def _fail(kind: str, unit: str, path: Path, what: str) -> SourceError:
    return SourceError(kind, f"fmow {unit}: {path.name}: {what}", unit)


def _number(doc: dict[str, Any], key: str, unit: str, path: Path) -> float:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail("bad_metadata", unit, path, f"{key} is {value!r}, not a finite number")
    return float(value)


def parse_timestamp(text: object) -> str:
    """Return an fMoW ``timestamp`` as ISO 8601 UTC (``…Z``).

    Args:
        text: The JSON value (``2012-04-02T10:32:22Z``; fractional seconds and offsets
            are accepted).

    Returns:
        ``YYYY-MM-DDTHH:MM:SSZ``.

    Raises:
        ValueError: If it is not such a time.
    """
    if not isinstance(text, str) or len(text) < 10:
        raise ValueError(f"timestamp {text!r} is not an ISO 8601 time")
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _boxes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    boxes = doc.get("bounding_boxes")
    if isinstance(boxes, dict):
        boxes = [boxes]
    if not isinstance(boxes, list):
        return []
    return [b for b in boxes if isinstance(b, dict)]


def _box_of(doc: dict[str, Any], category: str, unit: str, path: Path) -> tuple[list[float], str]:
    found = [b for b in _boxes(doc) if b.get("category") == category]
    if not found:
        said = sorted({str(b.get("category")) for b in _boxes(doc)})
        raise _fail("malformed_label", unit, path, f"no box of category {category} ({said})")
    found.sort(key=lambda b: str(b.get("ID", "")))
    box = found[0].get("box")
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
    ):
        raise _fail("malformed_label", unit, path, f"box {box!r} is not [x, y, w, h]")
    return [float(v) for v in box], str(found[0].get("ID", ""))


def _footprint(doc: dict[str, Any], unit: str, path: Path) -> str:
    text = doc.get("raw_location")
    if not text:
        return ""
    try:
        geometry = shapely.from_wkt(str(text))
    except (ShapelyError, ValueError) as exc:
        raise _fail("bad_metadata", unit, path, f"raw_location is not WKT ({exc})") from exc
    minx, miny, maxx, maxy = geometry.bounds
    if geometry.is_empty or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _fail("bad_metadata", unit, path, "raw_location is not a lon/lat polygon")
    return str(geometry.wkt)


def read_view(path: Path, index: int, category: str, unit: str) -> ViewMeta:
    """Read and check the JSON of one view.

    Args:
        path: The ``…_<t>_<variant>.json`` file.
        index: Its ``<t>``.
        category: The folder's category (the box to use).
        unit: The unit id, for messages.

    Returns:
        The view's facts.

    Raises:
        SourceError: ``malformed_label`` for unreadable JSON, no box of the category or a
            box that is not inside the image; ``bad_metadata`` for a bad ``timestamp``,
            ``gsd``, image size or ``raw_location``.
    """
    try:
        doc = json_loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail("malformed_label", unit, path, f"unreadable JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise _fail("malformed_label", unit, path, "not a JSON object")
    try:
        timestamp = parse_timestamp(doc.get("timestamp"))
    except ValueError as exc:
        raise _fail("bad_metadata", unit, path, str(exc)) from exc
    gsd = _number(doc, "gsd", unit, path)
    width, height = (int(_number(doc, k, unit, path)) for k in ("img_width", "img_height"))
    if gsd <= 0 or width <= 0 or height <= 0:
        raise _fail("bad_metadata", unit, path, f"gsd {gsd}, size {width}x{height}")
    (x, y, w, h), box_id = _box_of(doc, category, unit, path)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise _fail(
            "malformed_label", unit, path, f"box {[x, y, w, h]} outside the {width}x{height} image"
        )
    cloud = doc.get("cloud_cover")
    waves = doc.get("approximate_wavelengths")
    if not isinstance(waves, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 300 < v < 1100 for v in waves
    ):
        waves = []
    return ViewMeta(
        index=index,
        timestamp=timestamp,
        gsd_m=gsd,
        width=width,
        height=height,
        box=(x, y, x + w, y + h),
        box_id=box_id,
        cloud_cover="" if cloud is None else str(cloud),
        country_code=str(doc.get("country_code") or ""),
        utm=str(doc.get("utm") or ""),
        footprint_wkt=_footprint(doc, unit, path),
        platform=str(doc.get("sensor_platform_name") or ""),
        wavelengths=tuple(float(v) for v in waves),
    )
