"""SatlasPretrain's metadata: image lists, image times, split files, options, tags.

Holds the readers of ``metadata/good_images_*.json``, ``image_times.json`` and the split
files, the folder scans used for sensors the image lists do not cover, image times (from
``image_times.json`` or the image name), the choice of a tile's images, the adapter's option
parsers and the sample tags.

Facts relied on (``shared/docs/source-formats.md`` section 4, which cites allenai/satlas
``SatlasPretrain.md``, ``satlas/util/__init__.py``, ``satlas/cmd/to_dataset/common.py``,
``satlas/tasks.py`` and torchgeo ``satlas.py`` with its fixture ``tests/data/satlas``):

- ``metadata/good_images_{lowres,highres}_all.json``: ``[[col, row, "<image name>"], …]``,
  the images with few black or white pixels; ``metadata/image_times.json``:
  ``{"<image name>": "<ISO 8601 time>"}``; split files such as ``train_lowres.json``:
  ``[[col, row], …]`` of zoom-13 label tiles.

Facts checked in torchgeo's fixture (``shared/peer-data`` §1e, read by the tests): the
metadata JSON shapes above; ``image_times.json`` values such as
``2022-03-09T06:02:35+00:00`` (for the S2 product ``…_20220309T032601_…_20220309T060235``,
whose *generation* time that is); Sentinel-1 and Landsat image folders named like monthly
mosaics (``2022-01``, ``2022-03``) and listed in ``good_images_lowres_all.json``.

UNVERIFIED: the Sentinel-1 and Landsat folder naming and whether the real
``good_images_lowres_all.json`` lists them (if a sensor's images are in no list, its tiles are
found by scanning its first band folder, as torchgeo's loader does with a glob); the
formatting of the metadata files.

Decisions:

- **Split**: from the split files (option ``splits``); ``*lowres*`` files apply to zoom-13
  sensors, ``*highres*`` files to NAIP (via the zoom-13 parent tile), others (``*_event``) to
  all. A sensor with no applicable split file present is not filtered and gets split ``""``;
  a tile in several files takes the first file's split in the option's order.
- ``tags``: ``sensor``, ``tile``, ``zoom``, ``image_count``, for Sentinel-2 ``platform``,
  ``mgrs_tile`` and ``processing_level`` (from the product names), for NAIP ``label_tile``,
  and ``label_categories`` / ``raster_labels`` when there are labels.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eoinstruct.sources.base import (
    SourceError,
    SourceNotFoundError,
    json_loads,
)
from eoinstruct.sources.options import parse_sensors
from eoinstruct.sources.satlas.images import SENSOR_SPECS, SENSORS
from eoinstruct.sources.satlas.tiles import _TILE_RE, LABEL_ZOOM

DEFAULT_MAX_IMAGES = 4
"""Default of the ``max_images`` option."""

DEFAULT_SPLITS: tuple[str, ...] = ("train_lowres", "test_lowres", "train_highres", "test_highres")
"""Split files used by default (those present under ``metadata/``)."""

IMAGE_LISTS: tuple[str, ...] = ("good_images_lowres_all.json", "good_images_highres_all.json")
"""The image lists under ``metadata/``."""

_SPLIT_NAMES = {"train": "train", "test": "test", "val": "validation", "valid": "validation"}

_S2_NAME = re.compile(r"^S2([A-D])_MSI(L\d[A-Z]?)_(\d{8}T\d{6})_N\d{4}_R(\d{3})_T(\d{2}[A-Z]{3})_")

_NAIP_DATE = re.compile(r"_(\d{8})$")

_MONTH_NAME = re.compile(r"^(\d{4})-(\d{2})$")

_DAY_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def image_time_from_name(name: str) -> datetime | None:
    """Read an acquisition time from an image folder name, where the name holds one.

    Sentinel-2 product names give the sensing time (``…_MSIL1C_20220309T032601_…``), NAIP
    names end with the date (``m_3808245_se_17_1_20110801``), monthly mosaics are named
    ``YYYY-MM`` (first of the month) and other names may start with ``YYYY-MM-DD``.

    Args:
        name: The image folder name.

    Returns:
        The time in UTC, or None if the name holds none.
    """
    try:
        if match := _S2_NAME.match(name):
            return datetime.strptime(match[3], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        if match := _NAIP_DATE.search(name):
            return datetime.strptime(match[1], "%Y%m%d").replace(tzinfo=UTC)
        if match := _MONTH_NAME.match(name):
            return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
        if match := _DAY_NAME.match(name):
            return datetime.strptime(match[1], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class _Index:
    """Images per sensor and tile, and the split of each label tile."""

    images: dict[str, dict[tuple[int, int], tuple[str, ...]]]
    splits: dict[str, dict[tuple[int, int], str] | None]


@dataclass(frozen=True)
class _Candidate:
    name: str
    time: datetime


def _parse_sensors(value: object) -> tuple[str, ...]:
    """Validate the ``sensors`` option (a name or a list of names)."""
    return parse_sensors(value, SENSORS, "satlas")


def _parse_max_images(value: object) -> int:
    """Validate the ``max_images`` option (a positive integer)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"satlas: option max_images={value!r} must be a positive integer")
    return value


def _parse_splits(value: object) -> tuple[str, ...]:
    """Validate the ``splits`` option: split-file stems (``.json`` is stripped)."""
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    stems = [str(n).removesuffix(".json") for n in names]
    if not stems or any(not s or "/" in s for s in stems):
        raise ValueError(
            f"satlas: option splits={value!r} must list split files under metadata/, "
            "e.g. [train_lowres, test_lowres]"
        )
    return tuple(dict.fromkeys(stems))


def _split_name(stem: str) -> str:
    """``train_lowres`` → ``train``; ``val_…`` → ``validation``."""
    prefix = stem.split("_", 1)[0]
    return _SPLIT_NAMES.get(prefix, prefix)


def _split_applies(stem: str, sensor: str) -> bool:
    """Whether a split file selects tiles of a sensor (lowres: zoom 13, highres: NAIP)."""
    if "highres" in stem:
        return SENSOR_SPECS[sensor].zoom != LABEL_ZOOM
    if "lowres" in stem:
        return SENSOR_SPECS[sensor].zoom == LABEL_ZOOM
    return True


def _subfolders(folder: Path) -> set[str]:
    with os.scandir(folder) as entries:
        return {e.name for e in entries if e.is_dir() and not e.name.startswith(".")}


def _tiles_in(folder: Path) -> list[tuple[int, int]]:
    """Tiles ``<col>_<row>.png`` in a band folder (empty if it does not exist)."""
    if not folder.is_dir():
        return []
    tiles = []
    with os.scandir(folder) as entries:
        for entry in entries:
            stem, dot, suffix = entry.name.rpartition(".")
            match = _TILE_RE.match(stem)
            if dot and suffix == "png" and match:
                tiles.append((int(match[1]), int(match[2])))
    return tiles


def _load_json_list(path: Path, where: str) -> list[Any]:
    try:
        data = json_loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceNotFoundError(f"satlas: {path} is unreadable ({exc}); {where}") from exc
    if not isinstance(data, list):
        raise SourceNotFoundError(f"satlas: {path} is not a JSON list; {where}")
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _load_image_list(path: Path, where: str) -> list[tuple[int, int, str]]:
    """Read a ``good_images_*.json`` list of ``[col, row, image name]``."""
    entries: list[tuple[int, int, str]] = []
    for item in _load_json_list(path, where):
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not (_is_int(item[0]) and _is_int(item[1]) and isinstance(item[2], str))
        ):
            raise SourceNotFoundError(
                f"satlas: {path}: entry {item!r} is not [col, row, image name]; {where}"
            )
        entries.append((item[0], item[1], item[2]))
    return entries


def _load_split(path: Path, where: str) -> list[tuple[int, int]]:
    """Read a split file: ``[[col, row], …]`` (``[col, row, image]`` rows are accepted)."""
    tiles: list[tuple[int, int]] = []
    for item in _load_json_list(path, where):
        if (
            not isinstance(item, list)
            or len(item) not in (2, 3)
            or not (_is_int(item[0]) and _is_int(item[1]))
        ):
            raise SourceNotFoundError(f"satlas: {path}: entry {item!r} is not [col, row]; {where}")
        tiles.append((item[0], item[1]))
    return tiles


def _read_json(path: Path, unit: str, kind: str) -> object:
    try:
        return json_loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(kind, f"satlas {unit}: {path} is not valid JSON ({exc})", unit) from exc
    except OSError as exc:
        raise SourceError(
            "missing_file", f"satlas {unit}: cannot read {path} ({exc})", unit
        ) from exc


def _parse_time(text: object, what: str, unit: str) -> datetime:
    """Parse an ISO 8601 time (naive times are UTC)."""
    if not isinstance(text, str):
        raise SourceError("bad_metadata", f"satlas {unit}: {what} {text!r} is not a time", unit)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceError(
            "bad_metadata", f"satlas {unit}: {what} {text!r} is not ISO 8601", unit
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _image_time(name: str, times: Mapping[str, Any], path: Path, unit: str) -> datetime | None:
    """An image's time from ``image_times.json``, else from its name, else None."""
    if name in times:
        return _parse_time(times[name], f"{path}: time of {name}", unit)
    return image_time_from_name(name)


def _choose(
    candidates: list[_Candidate], dynamic_images: set[str], max_images: int
) -> list[_Candidate]:
    """Keep the newest image, then dynamically labelled ones, then the newest others."""
    ordered = sorted(candidates, key=lambda c: (c.time, c.name))
    older = list(reversed(ordered[:-1]))
    priority = [ordered[-1]]
    priority += [c for c in older if c.name in dynamic_images]
    priority += [c for c in older if c.name not in dynamic_images]
    return sorted(priority[:max_images], key=lambda c: (c.time, c.name))


def _tags(sensor: str, col: int, row: int, zoom: int, names: list[str]) -> dict[str, str]:
    tags = {
        "sensor": sensor,
        "tile": f"{col}_{row}",
        "zoom": str(zoom),
        "image_count": str(len(names)),
    }
    if sensor == "sentinel2":
        matches = [m for m in (_S2_NAME.match(n) for n in names) if m]
        platforms = dict.fromkeys(f"Sentinel-2{m[1]}" for m in matches)
        tiles = dict.fromkeys(m[5] for m in matches)
        levels = dict.fromkeys(m[2] for m in matches)
        for key, values in (
            ("platform", platforms),
            ("mgrs_tile", tiles),
            ("processing_level", levels),
        ):
            if values:
                tags[key] = ",".join(values)
    return tags
