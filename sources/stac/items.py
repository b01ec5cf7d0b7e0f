"""Descriptive metadata of a STAC item: sensor name, tags and acquisition times.

Holds :func:`sensor_name` (``Sentinel-2 MSI``, ``Landsat 9 OLI-2/TIRS-2``…), :func:`item_tags`
(platform, constellation, MGRS tile or WRS path/row, cloud class, orbit, SAR mode and
polarisations) and :func:`acquisition_times` (``datetime``, else ``start_datetime`` /
``end_datetime``), all pure functions of an item dict.

Facts relied on (``shared/docs/source-formats.md`` §8, from the recorded Earth Search and
Planetary Computer responses in ``shared/peer-data`` §2 and §3, which the tests read):

- S1 properties: ``sar:polarizations``, ``sar:instrument_mode``, ``sar:product_type``,
  ``sat:orbit_state``, ``sat:relative_orbit``, ``start_datetime`` / ``end_datetime`` (PC
  writes them as ``"2025-03-12 05:23:01.601759+00:00"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.stac.assets import collection_profile

_MGRS_IN_ID = re.compile(r"_T?(\d{1,2}[C-X][A-Z]{2})_")
_ORBIT_IN_URI = re.compile(r"_R(\d{3})_")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _platform_name(value: object) -> str:
    """Normalise ``sentinel-2a`` / ``Sentinel-2A`` / ``SENTINEL-1A`` / ``landsat-9``."""
    text = str(value or "").strip()
    match = re.fullmatch(r"(?i)sentinel[- ]?([123])([a-d])", text)
    if match:
        return f"Sentinel-{match.group(1)}{match.group(2).upper()}"
    match = re.fullmatch(r"(?i)landsat[- _]?(\d)", text)
    if match:
        return f"Landsat {match.group(1)}"
    return text


_LANDSAT_SENSORS = {
    "4": "Landsat 4 TM",
    "5": "Landsat 5 TM",
    "7": "Landsat 7 ETM+",
    "8": "Landsat 8 OLI/TIRS",
    "9": "Landsat 9 OLI-2/TIRS-2",
}


def sensor_name(item: Mapping[str, Any]) -> str:
    """Return the sensor of an item (``Sentinel-2 MSI``, ``Landsat 9 OLI-2/TIRS-2``…).

    Args:
        item: The item as a dict.

    Returns:
        The sensor name.
    """
    profile = collection_profile(str(item.get("collection", "")))
    family = profile.family if profile else ""
    if family == "s2":
        return "Sentinel-2 MSI"
    if family in ("s1grd", "s1rtc"):
        return "Sentinel-1 C-SAR"
    platform = _platform_name(item.get("properties", {}).get("platform"))
    if platform.startswith("Landsat "):
        return _LANDSAT_SENSORS.get(platform.split()[-1], platform)
    return platform or str(item.get("collection", ""))


def cloud_class(cover: float) -> str:
    """Name a cloud-cover percentage: clear < 10 ≤ mostly clear < 30 ≤ partly cloudy < 70.

    Args:
        cover: ``eo:cloud_cover`` in percent.

    Returns:
        ``clear``, ``mostly clear``, ``partly cloudy`` or ``cloudy``.
    """
    if cover < 10:
        return "clear"
    if cover < 30:
        return "mostly clear"
    if cover < 70:
        return "partly cloudy"
    return "cloudy"


def _mgrs_tile(item: Mapping[str, Any]) -> str:
    props = item.get("properties", {})
    tile = props.get("s2:mgrs_tile")
    if isinstance(tile, str) and tile:
        return f"T{tile}"
    code = props.get("grid:code")
    if isinstance(code, str) and code.startswith("MGRS-"):
        return f"T{code[5:]}"
    zone, band, square = (
        props.get("mgrs:utm_zone"),
        props.get("mgrs:latitude_band"),
        props.get("mgrs:grid_square"),
    )
    if zone is not None and band and square:
        return f"T{int(zone):02d}{band}{square}"
    match = _MGRS_IN_ID.search(f"_{item.get('id', '')}_")
    return f"T{match.group(1).zfill(5)}" if match else ""


def item_tags(item: Mapping[str, Any]) -> dict[str, str]:
    """Descriptive tags of an item: platform, constellation, tile or path/row, cloud, orbit.

    Args:
        item: The item as a dict.

    Returns:
        Non-empty tags.
    """
    props: Mapping[str, Any] = item.get("properties", {})
    collection = str(item.get("collection", ""))
    profile = collection_profile(collection)
    family = profile.family if profile else ""
    tags: dict[str, str] = {"collection": collection}
    platform = _platform_name(props.get("platform"))
    if platform:
        tags["platform"] = platform
    constellation = {"s2": "Sentinel-2", "landsat": "Landsat"}.get(family, "")
    if family.startswith("s1"):
        constellation = "Sentinel-1"
    if constellation:
        tags["constellation"] = constellation
    cover = props.get("eo:cloud_cover")
    if isinstance(cover, int | float) and not isinstance(cover, bool) and math.isfinite(cover):
        tags["cloud_cover"] = cloud_class(float(cover))
    orbit_state = props.get("sat:orbit_state")
    if isinstance(orbit_state, str) and orbit_state:
        tags["orbit_state"] = orbit_state.lower()
    relative = props.get("sat:relative_orbit")
    if isinstance(relative, int) and not isinstance(relative, bool):
        tags["relative_orbit"] = str(relative)
    if family == "s2":
        tile = _mgrs_tile(item)
        if tile:
            tags["mgrs_tile"] = tile
        tags["processing_level"] = "L2A"
        if "relative_orbit" not in tags:
            match = _ORBIT_IN_URI.search(str(props.get("s2:product_uri", "")))
            if match:
                tags["relative_orbit"] = str(int(match.group(1)))
    elif family == "landsat":
        path, row = props.get("landsat:wrs_path"), props.get("landsat:wrs_row")
        if path and row:
            tags["wrs_path_row"] = f"{int(path):03d}/{int(row):03d}"
        for key, tag in (
            ("landsat:correction", "processing_level"),
            ("landsat:collection_category", "collection_category"),
        ):
            value = props.get(key)
            if isinstance(value, str) and value:
                tags[tag] = value
    else:
        for key, tag in (
            ("sar:instrument_mode", "instrument_mode"),
            ("sar:product_type", "product_type"),
        ):
            value = props.get(key)
            if isinstance(value, str) and value:
                tags[tag] = value
        if family == "s1rtc":
            tags["product_type"] = "RTC"
        pols = props.get("sar:polarizations")
        if isinstance(pols, list) and pols:
            tags["polarisations"] = "+".join(str(p).upper() for p in pols)
    return tags


def _parse_time(value: object, what: str, unit: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SourceError("bad_metadata", f"{what} is {value!r}, not a time", unit)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SourceError("bad_metadata", f"cannot parse {what}={value!r}", unit) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def acquisition_times(item: Mapping[str, Any], unit: str = "") -> tuple[str, ...]:
    """Return the item's acquisition time(s) as ISO 8601 UTC strings to the second.

    Args:
        item: The item as a dict.
        unit: Unit id for errors.

    Returns:
        ``(datetime,)``, or ``(start_datetime, end_datetime)`` when ``datetime`` is null.

    Raises:
        SourceError: ``bad_metadata`` if no time is given or one is unparseable.
    """
    props = item.get("properties", {})
    when = _parse_time(props.get("datetime"), f"{item.get('id')}: datetime", unit)
    if when is not None:
        return (when.strftime(_TIME_FORMAT),)
    start = _parse_time(props.get("start_datetime"), f"{item.get('id')}: start_datetime", unit)
    end = _parse_time(props.get("end_datetime"), f"{item.get('id')}: end_datetime", unit)
    if start is None or end is None:
        raise SourceError("bad_metadata", f"{item.get('id')}: no datetime", unit)
    return start.strftime(_TIME_FORMAT), end.strftime(_TIME_FORMAT)
