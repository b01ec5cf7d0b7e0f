"""Time series of one place: STAC items of one tile or path/row as one multi-date sample.

With the option ``time_series: true`` the adapter lists, besides one unit per item, one
*series unit* per Sentinel-2 MGRS tile or Landsat WRS-2 path/row that has items on at least
two dates. A series sample shows each date's chip as role ``t0``, ``t1``… (oldest first), so
a change pair (two dates) or a sequence (more) is one sample, as Satlas time series are.

Decisions:

- **Unit id** ``series/<collection>/<place>/<item id>+<item id>…`` (``<place>`` the MGRS
  tile, e.g. ``T13TDE``, or the path/row, e.g. ``033-032``): the members are named in the id,
  so any process can read the unit without searching again. The sample id is
  ``<source>:series/<collection>/<place>``.
- **Members**: optical items (Sentinel-2, Landsat; vegetation figures need red and NIR) whose
  ``eo:cloud_cover`` is at most ``series_max_cloud`` (default 20 %; the figures of a cloudy
  chip describe clouds, not the ground), one item per UTC date (the first by id), the newest
  :data:`MAX_DATES` dates. A member that cannot be read is left out (its own item unit records
  the failure); a member whose chip grid differs from the newest member's is left out (no
  pixel alignment, see :mod:`~eoinstruct.sources.stac.grid`); fewer than two left fails the
  unit (``corrupt_raster``/``missing_file`` of the first failure, or ``bad_metadata``).
- **Vegetation figures**, computed here from the chips and stored in ``labels.properties`` so
  builders and the audit read labels, never rasters: per date ``ndvi_mean:t<i>`` (mean NDVI
  ``(ρnir − ρred) / (ρnir + ρred)`` over pixels valid in both bands with a positive sum, three
  decimals) and ``ndvi_valid_share:t<i>``; a date with less than :data:`MIN_VALID_SHARE` valid
  pixels gets only the share. Red and NIR are the assets ``red``/``B04`` and ``nir``/``B08``
  (Sentinel-2, 10 m) or ``red``/``nir08`` (Landsat, any generation: the key, not the USGS
  band number, names the band). ``series_roles`` lists the roles (``t0/t1/…``) and
  ``series_items`` the member item ids in the same order.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.stac.assets import collection_profile
from eoinstruct.sources.stac.items import item_tags

SERIES_PREFIX = "series/"
"""Unit ids of series units start with this."""

MAX_DATES = 5
"""Most dates in one series sample (roles ``t0`` … ``t4``)."""

DEFAULT_MAX_CLOUD = 20.0
"""Default of ``series_max_cloud``: items cloudier than this (%) are not series members."""

MIN_VALID_SHARE = 0.5
"""Fewest valid pixels (share of the chip) for a date's NDVI to be stored."""

RED_KEYS = frozenset({"red", "B04"})
"""Asset keys of the red band (Earth Search / Planetary Computer)."""

NIR_KEYS = {"s2": frozenset({"nir", "B08"}), "landsat": frozenset({"nir08"})}
"""Asset keys of the near-infrared band, by collection family."""


def place_key(item: Mapping[str, Any]) -> str:
    """Return the place an item's scene belongs to (MGRS tile or WRS-2 path/row), or "".

    Args:
        item: The item as a dict.

    Returns:
        ``T13TDE``, ``033-032`` or "" (not an optical collection, or no tile/path-row).
    """
    profile = collection_profile(str(item.get("collection", "")))
    if profile is None or profile.family not in NIR_KEYS:
        return ""
    tags = item_tags(item)
    if profile.family == "s2":
        return tags.get("mgrs_tile", "")
    return tags.get("wrs_path_row", "").replace("/", "-")


def _cloud(item: Mapping[str, Any]) -> float | None:
    value = item.get("properties", {}).get("eo:cloud_cover")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def series_units(
    items: Mapping[str, Mapping[str, Any]],
    units: list[str],
    max_cloud: float = DEFAULT_MAX_CLOUD,
) -> list[str]:
    """Return the series units of the listed item units (see the module docstring).

    Args:
        items: Unit id → item.
        units: The item units listed (only these are members).
        max_cloud: Highest ``eo:cloud_cover`` (%) of a member; an item without one is kept.

    Returns:
        Sorted series unit ids, one per place with at least two dates.
    """
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for unit in sorted(units):
        item = items.get(unit)
        if item is None or "_broken" in item or not isinstance(item.get("properties"), Mapping):
            continue
        place = place_key(item)
        when = str(item["properties"].get("datetime") or "")[:10]
        cloud = _cloud(item)
        if not place or not when or (cloud is not None and cloud > max_cloud):
            continue
        collection = str(item.get("collection"))
        groups.setdefault((collection, place), {}).setdefault(when, str(item.get("id")))
    out = []
    for (collection, place), by_date in groups.items():
        if len(by_date) < 2:
            continue
        ids = [by_date[d] for d in sorted(by_date)][-MAX_DATES:]
        out.append(f"{SERIES_PREFIX}{collection}/{place}/{'+'.join(ids)}")
    return sorted(out)


def parse_series_unit(unit: str) -> tuple[str, str, list[str]]:
    """Split a series unit id into collection, place and member item ids.

    Args:
        unit: ``series/<collection>/<place>/<id>+<id>…``.

    Returns:
        ``(collection, place, item ids)``.

    Raises:
        ValueError: If the id is not of that form.
    """
    parts = unit.removeprefix(SERIES_PREFIX).split("/")
    ids = parts[2].split("+") if len(parts) == 3 else []
    if not unit.startswith(SERIES_PREFIX) or len(parts) != 3 or len(ids) < 2 or not all(ids):
        raise ValueError(f"bad series unit id {unit!r}; expected series/<collection>/<place>/<ids>")
    return parts[0], parts[1], ids


def _read(path: Path, unit: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return ds.read(1, masked=True).astype(np.float64).filled(np.nan)
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{path}: cannot read the chip: {exc}", unit) from exc


def ndvi_figures(red: np.ndarray, nir: np.ndarray) -> dict[str, str]:
    """Return a date's NDVI figures from its red and NIR reflectance (NaN where no data).

    Args:
        red: ``(height, width)`` red reflectance.
        nir: Near-infrared reflectance on the same grid.

    Returns:
        ``ndvi_valid_share`` and, when enough pixels are valid, ``ndvi_mean`` (3 decimals).
    """
    total = red + nir
    valid = np.isfinite(red) & np.isfinite(nir) & (total > 0)
    share = float(valid.mean()) if valid.size else 0.0
    figures = {"ndvi_valid_share": f"{share:.3f}"}
    if share >= MIN_VALID_SHARE:
        ndvi = (nir[valid] - red[valid]) / total[valid]
        figures["ndvi_mean"] = f"{float(np.clip(ndvi, -1, 1).mean()):.3f}"
    return figures


def ndvi_properties(family: str, files: Mapping[str, Path], unit: str) -> dict[str, str]:
    """Read a member's red and NIR chips and return its NDVI figures (unsuffixed names).

    Args:
        family: Collection family (``s2`` or ``landsat``).
        files: Asset key → chip GeoTIFF of the member.
        unit: The series unit (for errors).

    Returns:
        See :func:`ndvi_figures`; empty when the member has no red or NIR chip.
    """
    red = next((files[k] for k in sorted(files) if k in RED_KEYS), None)
    nir = next((files[k] for k in sorted(files) if k in NIR_KEYS.get(family, ())), None)
    if red is None or nir is None:
        return {}
    return ndvi_figures(_read(red, unit), _read(nir, unit))
