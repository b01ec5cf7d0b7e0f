"""Which assets of a STAC item are read, under which band names, and how their values scale.

Holds the collections the adapter supports and their asset keys (Earth Search and Planetary
Computer), :func:`select_assets` with its records (:class:`AssetChoice`, :class:`Scaling`),
the scale/offset/nodata of an asset (:func:`asset_scaling`), the CRS an item declares
(:func:`item_epsg`), the true-colour bands of a selection and the local path of an href.

Facts relied on (``shared/docs/source-formats.md`` §8, from the recorded Earth Search (ES) and
Planetary Computer (PC) responses in ``shared/peer-data`` §2 and §3, which the tests read):

- Asset keys differ by provider. ES ``sentinel-2-l2a`` / ``sentinel-2-c1-l2a`` use common
  names (``coastal`` B01, ``blue`` B02, ``green`` B03, ``red`` B04, ``rededge1-3`` B05-B07,
  ``nir`` B08, ``nir08`` B8A, ``nir09`` B09, ``swir16`` B11, ``swir22`` B12); PC
  ``sentinel-2-l2a`` uses the ESA band names (``B01`` … ``B12``, ``B8A``). Landsat
  ``landsat-c2-l2`` uses ``coastal, blue, green, red, nir08, swir16, swir22, lwir11`` on both
  (``lwir`` on Landsat 4-7 in the PC collection's ``item_assets``); the USGS band name is the
  end of the file name (``…_SR_B4.TIF``, ``…_ST_B10.TIF``). Sentinel-1 assets are keyed by
  lower-case polarisation (``vv``, ``vh``, ``hh``, ``hv``).
- ``raster:bands[0]`` gives ``scale``, ``offset`` and ``nodata``: S2 L2A uint16 scale 0.0001
  offset −0.1 nodata 0 (ES); Landsat SR scale 2.75e-05 offset −0.2 nodata 0; ST_B10 scale
  0.00341802 offset 149 nodata 0, unit kelvin; PC S1 RTC float32 nodata −32768; ES S1 GRD
  uint16 nodata 0, no scale. PC ``sentinel-2-l2a`` items carry no ``raster:bands``: their
  scaling comes from the collection's ``item_assets`` when known, else from ESA's rule that
  L2A products of processing baseline 04.00 and later store ``DN = 10000·ρ + 1000``
  (``BOA_ADD_OFFSET = −1000``; scale 0.0001, offset −0.1), earlier ones ``DN = 10000·ρ``.
- ``proj:epsg`` (or the newer ``proj:code`` ``"EPSG:32613"``) at item or asset level gives the
  CRS of gridded assets and is checked against the file header. ES S1 GRD items say
  ``proj:epsg: 4326`` but their GeoTIFFs are in radar geometry, georeferenced by GCPs.

UNVERIFIED: Landsat 4-7 keys other than ``lwir``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.sensors import SENTINEL2_L2A_ORDER

S2_BAND_ORDER: tuple[str, ...] = SENTINEL2_L2A_ORDER
"""Sentinel-2 L2A bands read by default, in this order (BigEarthNet's order)."""

S2_ES_KEYS: dict[str, str] = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "swir16": "B11",
    "swir22": "B12",
}
"""Earth Search Sentinel-2 asset key → ESA band name."""

LANDSAT_KEYS: dict[str, str] = {
    "coastal": "SR_B1",
    "blue": "SR_B2",
    "green": "SR_B3",
    "red": "SR_B4",
    "nir08": "SR_B5",
    "swir16": "SR_B6",
    "swir22": "SR_B7",
    "lwir11": "ST_B10",
    "lwir": "ST_B6",
}
"""Landsat asset key → USGS band name of Landsat 8/9 (``lwir``: Landsat 4-7), used when the
href does not end in ``_<band>.TIF``."""

LANDSAT_REQUIRED: tuple[str, ...] = ("blue", "green", "red", "nir08", "swir16", "swir22")
LANDSAT_OPTIONAL: tuple[str, ...] = ("coastal", "lwir11", "lwir")
LANDSAT_THERMAL: tuple[str, ...] = ("lwir11", "lwir")
SAR_KEYS: tuple[str, ...] = ("vv", "vh", "hh", "hv")

S2_COLLECTIONS: tuple[str, ...] = ("sentinel-2-l2a", "sentinel-2-c1-l2a")
LANDSAT_COLLECTIONS: tuple[str, ...] = ("landsat-c2-l2",)
S1_GRD_COLLECTIONS: tuple[str, ...] = ("sentinel-1-grd",)
S1_RTC_COLLECTIONS: tuple[str, ...] = ("sentinel-1-rtc",)
SUPPORTED_COLLECTIONS: tuple[str, ...] = (
    *S2_COLLECTIONS,
    *LANDSAT_COLLECTIONS,
    *S1_GRD_COLLECTIONS,
    *S1_RTC_COLLECTIONS,
)
"""Collections whose assets, scaling and tags the adapter knows."""

COPERNICUS_LICENCE = "Copernicus-Sentinel-Data-Terms"
"""Sentinel data: free, full and open access under the Copernicus Sentinel data terms."""

LANDSAT_LICENCE = "USGS-Public-Domain"
"""Landsat data from USGS: US public domain, no restrictions (USGS data policy)."""

_LANDSAT_BAND_IN_HREF = re.compile(r"_((?:SR|ST)_B\d{1,2})\.TIF$", re.IGNORECASE)
_S2_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")


@dataclass(frozen=True)
class Scaling:
    """How stored values become physical values: ``value · scale + offset``.

    Attributes:
        scale: Multiplier.
        offset: Added after scaling.
        nodata: Stored value that means "no data" (None: the file's own, if any).
    """

    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


@dataclass(frozen=True)
class AssetChoice:
    """One asset the adapter reads, and how.

    Attributes:
        key: The asset key in the item (``red``, ``B04``, ``vv``…).
        band: Band name in the sample (``B04``, ``SR_B4``, ``ST_B10``, ``VV``).
        role: Image role it belongs to (``image`` or ``thermal``).
        href: The asset href (absolute, unsigned).
        scaling: Scale, offset and nodata.
        calibration_href: Sentinel-1 GRD calibration annotation href (empty if none).
    """

    key: str
    band: str
    role: str
    href: str
    scaling: Scaling
    calibration_href: str = ""


@dataclass(frozen=True)
class Collection:
    """What the adapter knows about a supported collection family.

    Attributes:
        family: ``s2``, ``landsat``, ``s1grd`` or ``s1rtc``.
        licence: Licence of the data.
    """

    family: str
    licence: str


def collection_profile(collection: str) -> Collection | None:
    """Return what the adapter knows about a collection id, or None if unsupported.

    Args:
        collection: A STAC collection id.

    Returns:
        The collection's profile.
    """
    if collection in S2_COLLECTIONS:
        return Collection("s2", COPERNICUS_LICENCE)
    if collection in LANDSAT_COLLECTIONS:
        return Collection("landsat", LANDSAT_LICENCE)
    if collection in S1_GRD_COLLECTIONS:
        return Collection("s1grd", COPERNICUS_LICENCE)
    if collection in S1_RTC_COLLECTIONS:
        return Collection("s1rtc", COPERNICUS_LICENCE)
    return None


def _number(value: object, what: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SourceError("bad_metadata", f"{what} is {value!r}, not a finite number", unit)
    return float(value)


def _raster_band0(asset: Mapping[str, Any]) -> Mapping[str, Any] | None:
    bands = asset.get("raster:bands")
    if isinstance(bands, list) and bands and isinstance(bands[0], Mapping):
        return bands[0]
    return None


def s2_default_scaling(properties: Mapping[str, Any]) -> Scaling:
    """Scaling of a Sentinel-2 L2A band asset that carries no ``raster:bands``.

    ESA added ``BOA_ADD_OFFSET = -1000`` with processing baseline 04.00 (25 January 2022):
    reflectance = (DN − 1000) / 10000 from then on, DN / 10000 before.

    Args:
        properties: The item properties (``s2:processing_baseline`` or the baseline in
            ``s2:product_uri``).

    Returns:
        Scale 0.0001, offset −0.1 or 0, nodata 0.
    """
    baseline = properties.get("s2:processing_baseline")
    major: int | None = None
    if isinstance(baseline, str) and baseline.split(".")[0].isdigit():
        major = int(baseline.split(".")[0])
    else:
        match = _S2_BASELINE.search(str(properties.get("s2:product_uri", "")))
        if match:
            major = int(match.group(1))
    offset = -0.1 if major is None or major >= 4 else 0.0
    return Scaling(scale=0.0001, offset=offset, nodata=0.0)


def asset_scaling(
    item: Mapping[str, Any],
    key: str,
    collection_assets: Mapping[str, Any] | None = None,
    unit: str = "",
) -> Scaling:
    """Return the scaling of an asset: its ``raster:bands``, else the collection's, else known.

    Args:
        item: The item as a dict.
        key: The asset key.
        collection_assets: The collection's ``item_assets``, if known.
        unit: Unit id for errors.

    Returns:
        The scaling (scale 1, offset 0 and the file's nodata when nothing is declared).

    Raises:
        SourceError: ``bad_metadata`` if a declared scale, offset or nodata is not a number.
    """
    asset = item.get("assets", {}).get(key, {})
    band = _raster_band0(asset)
    if band is None and collection_assets:
        band = _raster_band0(collection_assets.get(key, {}))
    if band is None:
        profile = collection_profile(str(item.get("collection", "")))
        if profile is not None and profile.family == "s2":
            return s2_default_scaling(item.get("properties", {}))
        return Scaling()
    where = f"{item.get('id')}: asset {key} raster:bands"
    scale = _number(band.get("scale", 1.0), f"{where} scale", unit)
    offset = _number(band.get("offset", 0.0), f"{where} offset", unit)
    nodata_raw = band.get("nodata")
    nodata: float | None
    if nodata_raw is None:
        nodata = None
    elif isinstance(nodata_raw, str) and nodata_raw.lower() in ("nan", "inf", "-inf"):
        nodata = float(nodata_raw)
    else:
        nodata = _number(nodata_raw, f"{where} nodata", unit)
    return Scaling(scale=scale, offset=offset, nodata=nodata)


def item_epsg(item: Mapping[str, Any], key: str | None = None) -> int | None:
    """Return the EPSG code an item (or one of its assets) declares.

    Reads ``proj:epsg`` (projection extension v1) or ``proj:code`` ``"EPSG:<n>"`` (v2), asset
    level first.

    Args:
        item: The item as a dict.
        key: An asset key whose own projection fields take precedence.

    Returns:
        The code, or None if none is declared (or ``proj:code`` is not an EPSG code).
    """
    places: list[Mapping[str, Any]] = []
    if key is not None:
        places.append(item.get("assets", {}).get(key, {}))
    places.append(item.get("properties", {}))
    for place in places:
        epsg = place.get("proj:epsg")
        if isinstance(epsg, int) and not isinstance(epsg, bool):
            return epsg
        code = place.get("proj:code")
        if isinstance(code, str) and code.upper().startswith("EPSG:"):
            number = code.split(":", 1)[1]
            if number.isdigit():
                return int(number)
    return None


def _sar_keys(item: Mapping[str, Any]) -> list[str]:
    assets = item.get("assets", {})
    return [k for k in SAR_KEYS if k in assets]


def _landsat_band(key: str, href: str) -> str:
    match = _LANDSAT_BAND_IN_HREF.search(urlparse(href).path or href)
    if match:
        return match.group(1).upper()
    return LANDSAT_KEYS.get(key, key)


def select_assets(
    item: Mapping[str, Any],
    wanted: Sequence[str] | None = None,
    collection_assets: Mapping[str, Any] | None = None,
    unit: str = "",
) -> list[AssetChoice]:
    """Choose the assets of an item to read, with their band names, roles and scaling.

    Defaults by collection: Sentinel-2 the 12 L2A bands (ES keys ``coastal`` … ``swir22`` or
    PC keys ``B01`` … ``B12``, whichever the item has); Landsat ``blue, green, red, nir08,
    swir16, swir22`` (required) and ``coastal``, ``lwir11``/``lwir`` when present; Sentinel-1
    every polarisation asset among ``vv, vh, hh, hv``.

    Args:
        item: The item as a dict (absolute hrefs).
        wanted: Asset keys to read instead of the default (all required).
        collection_assets: The collection's ``item_assets`` (scaling fallback).
        unit: Unit id for errors.

    Returns:
        The chosen assets, in reading order.

    Raises:
        SourceError: ``missing_band`` if a required asset is absent, ``bad_metadata`` if the
            collection is not supported or an asset has no href.
    """
    collection = str(item.get("collection", ""))
    profile = collection_profile(collection)
    if profile is None:
        raise SourceError(
            "bad_metadata",
            f"{item.get('id')}: collection {collection!r} is not supported "
            f"(supported: {', '.join(SUPPORTED_COLLECTIONS)})",
            unit,
        )
    assets: Mapping[str, Any] = item.get("assets", {})
    keys: list[str]
    required: list[str]
    if wanted is not None:
        keys, required = list(wanted), list(wanted)
    elif profile.family == "s2":
        pc_style = "B04" in assets and "red" not in assets
        keys = list(S2_BAND_ORDER) if pc_style else list(S2_ES_KEYS)
        required = keys
    elif profile.family == "landsat":
        keys = [
            k
            for k in ("coastal", *LANDSAT_REQUIRED, *LANDSAT_OPTIONAL[1:])
            if k in LANDSAT_REQUIRED or k in assets
        ]
        required = list(LANDSAT_REQUIRED)
    else:
        keys = _sar_keys(item)
        required = keys if keys else ["vv"]
    missing = [k for k in required if k not in assets]
    if missing:
        raise SourceError(
            "missing_band", f"{item.get('id')}: no asset {missing} in {sorted(assets)}", unit
        )
    choices: list[AssetChoice] = []
    for key in keys:
        asset = assets[key]
        href = asset.get("href")
        if not isinstance(href, str) or not href:
            raise SourceError("bad_metadata", f"{item.get('id')}: asset {key} has no href", unit)
        if profile.family == "s2":
            band = S2_ES_KEYS.get(key, key)
        elif profile.family == "landsat":
            band = _landsat_band(key, href)
        else:
            band = key.upper() if key in SAR_KEYS else key
        role = "thermal" if profile.family == "landsat" and key in LANDSAT_THERMAL else "image"
        calibration = ""
        if profile.family == "s1grd":
            cal = assets.get(f"schema-calibration-{key}", {})
            calibration = str(cal.get("href", "")) if isinstance(cal, Mapping) else ""
        choices.append(
            AssetChoice(
                key=key,
                band=band,
                role=role,
                href=href,
                scaling=asset_scaling(item, key, collection_assets, unit),
                calibration_href=calibration,
            )
        )
    return choices


def _true_colour(picked: Sequence[AssetChoice], family: str) -> tuple[str, ...]:
    """Band names of the red, green and blue assets, if all three are read."""
    by_key = {c.key: c.band for c in picked}
    by_band = {c.band for c in picked}
    if family == "s2" and {"B04", "B03", "B02"} <= by_band:
        return ("B04", "B03", "B02")
    if all(k in by_key for k in ("red", "green", "blue")):
        return (by_key["red"], by_key["green"], by_key["blue"])
    return ()


def _local_path(href: str) -> Path | None:
    """Return the local path of an href (plain path or ``file://``), None if remote."""
    parsed = urlparse(href)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if not parsed.scheme:
        return Path(href)
    return None
