"""BigEarthNet v1.0 patch metadata: the labels JSON and the patch names.

Holds the location and parsing of a patch's ``<name>_labels_metadata.json`` (labels, corner
coordinates, acquisition time) and the tags read from the S2 and S1 patch names (platform,
processing level, MGRS tile, mode, product type, polarisations).

Layout facts relied on (see ``shared/docs/source-formats.md`` §1, and the files in
``shared/peer-data`` §1a, §8a, §8b that the tests read):

- ``<name>_labels_metadata.json``: S2 keys ``labels, coordinates{ulx,uly,lrx,lry},
  projection, tile_source, acquisition_date`` ("YYYY-MM-DD hh:mm:ss"); S1 keys ``labels,
  coordinates{ulx,uly,lrx,lly}`` (the real ``lly`` typo), ``projection,
  corresponding_s2_patch, scene_source, acquisition_time`` ("YYYY-MM-DDThh:mm:ss")
  (kai-tub/bigearthnet_common ``constants.py`` ``BEN_S2_V1_0_JSON_KEYS`` /
  ``BEN_S1_V1_0_JSON_KEYS`` and ``archive_bugs.md``). ``projection`` is a WKT string, the
  corner coordinates are in that CRS, and labels are CLC-2018 level-3 names (43 classes).
- S1 is paired to S2 only through ``corresponding_s2_patch``.
- Patch names: ``S2[AB]_MSIL2A_<date>T<time>_<h>_<v>`` and
  ``S1[AB]_IW_GRDH_1SDV_<date>T<time>_<tile>_<h>_<v>`` (``BEN_S2_RE`` / ``BEN_S1_RE`` in
  kai-tub/bigearthnet_common); platform, mode, product type and polarisations are parsed
  from them.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from eoinstruct.sources.base import SourceError, json_loads
from eoinstruct.sources.bigearthnet_classes import CLC43_NAMES

_LABELS_JSON = "_labels_metadata.json"

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")

_MGRS_IN_SAFE = re.compile(r"_T(\d{2}[C-X][A-Z]{2})_")

_S2_NAME = re.compile(r"^S2([AB])_MSI(L\d[A-Z]?)_")

_S1_NAME = re.compile(r"^S1([AB])_([A-Z]{2}|S\d)_([A-Z]{3})[HMF_]?_\d[A-Z]([SD])([HV])_")

_POLARISATIONS = {("D", "V"): "VV+VH", ("D", "H"): "HH+HV", ("S", "V"): "VV", ("S", "H"): "HH"}


def _find_labels_json(folder: Path, patch: str, unit: str) -> Path:
    """Locate a patch's labels JSON (the one named after the folder if several).

    Raises:
        SourceError: ``missing_file`` if there is none.
    """
    preferred = folder / f"{patch}{_LABELS_JSON}"
    if preferred.is_file():
        return preferred
    candidates = sorted(p for p in folder.glob(f"*{_LABELS_JSON}") if p.is_file())
    if not candidates:
        raise SourceError("missing_file", f"{folder} has no *{_LABELS_JSON}", unit)
    return candidates[0]


def _load_json(path: Path | str, unit: str) -> dict[str, Any]:
    """Parse the labels JSON into a dict.

    Raises:
        SourceError: ``missing_file`` if unreadable, ``malformed_label`` if not a JSON object.
    """
    try:
        with open(path, "rb") as handle:  # bytes then decode: half of read_text's cost
            data = handle.read()
        if b"\r" in data:  # read_text's newline translation, for the same error positions
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError("malformed_label", f"{path} is not UTF-8 text: {exc}", unit) from exc
    except OSError as exc:
        raise SourceError("missing_file", f"cannot read {path}: {exc}", unit) from exc
    try:
        meta = json_loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError("malformed_label", f"{path} is not valid JSON: {exc}", unit) from exc
    if not isinstance(meta, dict):
        raise SourceError("malformed_label", f"{path} holds no JSON object", unit)
    return meta


def _parse_labels(meta: Mapping[str, Any], path: Path | str, unit: str) -> tuple[str, ...]:
    """Return the sorted, unique CLC-43 class names of the JSON's ``labels``.

    Raises:
        SourceError: ``malformed_label`` if ``labels`` is missing, not a list of strings, or
            names a class outside the 43 BigEarthNet v1 classes.
    """
    labels = meta.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise SourceError("malformed_label", f"{path}: 'labels' is missing or not a list", unit)
    unknown = sorted({x for x in labels if x not in CLC43_NAMES})
    if unknown:
        raise SourceError(
            "malformed_label", f"{path}: labels not among the 43 CLC classes: {unknown}", unit
        )
    return tuple(sorted(set(labels)))


def _parse_box(
    meta: Mapping[str, Any], lower_keys: Sequence[str], path: Path | str, unit: str
) -> tuple[float, float, float, float] | None:
    """Return the corner coordinates ``(ulx, uly, lrx, lry)``, or None if degenerate.

    Args:
        meta: The parsed JSON.
        lower_keys: Accepted names of the lower y coordinate (``lly`` is the S1 typo).
        path: The JSON's path, for messages.
        unit: The unit, for errors.

    Returns:
        The box, or ``None`` if it has no area (torchgeo's fixture has all zeros).

    Raises:
        SourceError: ``malformed_label`` if ``coordinates`` or one of its keys is missing or
            not a number.
    """
    coords = meta.get("coordinates")
    if not isinstance(coords, dict):
        raise SourceError("malformed_label", f"{path}: 'coordinates' is missing", unit)
    lower = next((k for k in lower_keys if k in coords), lower_keys[0])
    values: list[float] = []
    for key in ("ulx", "uly", "lrx", lower):
        value = coords.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SourceError(
                "malformed_label", f"{path}: coordinates.{key} is missing or not a number", unit
            )
        if not math.isfinite(value):
            raise SourceError("malformed_label", f"{path}: coordinates.{key} is not finite", unit)
        values.append(float(value))
    ulx, uly, lrx, lry = values
    if lrx <= ulx or uly <= lry:
        return None
    return ulx, uly, lrx, lry


def _parse_time(value: object, key: str, path: Path | str, unit: str) -> tuple[str, ...]:
    """Convert the JSON acquisition time to ``("YYYY-MM-DDThh:mm:ssZ",)`` (UTC).

    Returns:
        One ISO 8601 time, or an empty tuple if the key is missing or empty.

    Raises:
        SourceError: ``bad_metadata`` if the value is present but unparseable.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parsed = _iso_time(value)
        if parsed:
            return (parsed,)
    raise SourceError("bad_metadata", f"{path}: cannot parse {key}={value!r}", unit)


@functools.lru_cache(maxsize=4096)
def _iso_time(value: str) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` of a time text in one of :data:`_TIME_FORMATS`, else "".

    Cached: the patches of one tile share their acquisition time.
    """
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
    return ""


def _s2_tags(patch: str, meta: Mapping[str, Any]) -> dict[str, str]:
    """Tags of an S2 patch: platform and processing level (name), MGRS tile (tile_source)."""
    tags: dict[str, str] = {}
    match = _S2_NAME.match(patch)
    if match:
        tags["platform"] = f"Sentinel-2{match.group(1)}"
        tags["processing_level"] = match.group(2)
    tile_source = meta.get("tile_source")
    if isinstance(tile_source, str):
        tile = _MGRS_IN_SAFE.search(tile_source)
        if tile:
            tags["mgrs_tile"] = f"T{tile.group(1)}"
    return tags


def s1_name_tags(patch: str, meta: Mapping[str, Any]) -> dict[str, str]:
    """Tags of an S1 patch: platform, mode, product, polarisations (name) and S2 partner."""
    tags: dict[str, str] = {}
    match = _S1_NAME.match(patch)
    if match:
        platform, mode, product, count, pol = match.groups()
        tags["platform"] = f"Sentinel-1{platform}"
        tags["instrument_mode"] = mode
        tags["product_type"] = product
        tags["polarisations"] = _POLARISATIONS[(count, pol)]
    partner = meta.get("corresponding_s2_patch")
    if isinstance(partner, str) and partner.strip():
        tags["paired_s2_patch"] = partner.strip()
    return tags
