"""Source adapter for Landsat, Sentinel-1 and Sentinel-2 scenes found through STAC.

A unit is one STAC item, ``<collection>/<item id>``, found either by walking a static STAC
catalog (option ``catalog``, what the sample corpus uses) or by searching a STAC API (option
``api_url``: Earth Search, Planetary Computer, any stac-fastapi). Reading a unit cuts a
small chip out of the item's cloud-optimised GeoTIFFs and writes it as local GeoTIFFs, one
per asset, under ``chips_dir/<collection>/<item id>/<asset>.tif``; the sample points at
those chips. Unlike the other adapters, ``read_unit`` therefore reads pixels, but only the
chip window of each asset.

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
- ``gsd`` is item-level on Landsat only (and ``lwir11`` has asset ``gsd`` 100 although the
  file is at 30 m); the adapter takes the pixel size from the file headers.
- S1 properties: ``sar:polarizations``, ``sar:instrument_mode``, ``sar:product_type``,
  ``sat:orbit_state``, ``sat:relative_orbit``, ``start_datetime`` / ``end_datetime`` (PC
  writes them as ``"2025-03-12 05:23:01.601759+00:00"``).

Decisions:

- **Chip grid.** Every asset of an item is resampled (nearest neighbour) onto one reference
  grid: the CRS and pixel grid of the item's finest selected asset (10 m for S2, 30 m for
  Landsat), ``chip_size`` × ``chip_size`` pixels. The chip is centred on one point, taken in
  this order: ``chip_center`` [lon, lat]; the centre of ``aoi`` [west, south, east, north];
  the centre of the search ``bbox`` / ``intersects``; otherwise the centre of the reference
  asset's raster (an S2 MGRS tile's centre is the same on every date). The centre is snapped
  to the reference pixel grid. **Multi-temporal alignment rule:** items of the same place
  (same MGRS tile, or same WRS path/row, whose scenes shift by whole 30 m pixels between
  dates) chipped around the same point get the same window in map coordinates, to the pixel;
  ``labels.properties["chip_grid"]`` says which (``"<crs> <x0> <y0> <res> <w>x<h>"``), so
  change-detection pairs are the samples with equal ``chip_grid``. Set ``chip_center`` or
  ``aoi`` for Landsat and S1 time series: their default centres move between scenes. Where an
  item does not cover the centre, the chip is all NaN and the filter drops the sample for low
  coverage.
- **Sentinel-1 GRD.** GRD GeoTIFFs are in radar geometry with GCPs and hold amplitude DN, which
  is not calibrated. With ``s1_calibration: sigma0`` (default) the adapter reads the
  product's calibration annotation (asset ``schema-calibration-<pol>``, the SAFE
  ``annotation/calibration/calibration-*.xml``), computes σ0 = DN² / A² with A the
  ``sigmaNought`` look-up table interpolated bilinearly over line and pixel (ESA, "Sentinel-1
  Level-1 Radiometric Calibration"), and warps the chip with the GCPs onto a UTM grid at the
  product's pixel spacing (no terrain correction, no thermal-noise removal): encoding
  ``sar_linear``. With ``s1_calibration: none`` the chip holds the DN amplitude as float,
  encoding ``float`` (no brightness scale, so the brightness filter does not apply). PC
  ``sentinel-1-rtc`` assets are terrain-corrected γ0 in linear power: ``sar_linear``.
- **Physical values.** Chips are float32 physical values with NaN as nodata: reflectance (S2,
  Landsat SR, encoding ``reflectance``), kelvin (Landsat ST_B10/ST_B6 as their own image,
  role ``thermal``, encoding ``kelvin``), σ0/γ0 (encoding ``sar_linear``).
- **Caching.** ``list_units`` keeps the items it found in memory and, in API mode, writes
  each as ``chips_dir/<collection>/<item id>/item.json`` (only when its content changed), so a
  second process can read units without searching; failing that, the item is fetched by id.
  Each chip folder has ``chip.json``, written last, recording what was read (item, assets,
  scaling, centre rule, size) and the grid; a unit whose ``chip.json`` matches is not re-read.
- **Signing.** ``sign`` names a function from :data:`SIGNERS` that turns an href into a
  readable href just before it is opened (hrefs stored in ``item.json`` stay unsigned). PC's
  blob storage needs a SAS token (:func:`sign_planetary_computer`; network, UNVERIFIED here).

UNVERIFIED: PC ``sentinel-1-grd`` GeoTIFFs having GCPs like ES ones; Landsat 4-7 keys other than
``lwir``; reading ``s3://`` hrefs (ES Landsat and S1 are requester-pays: set AWS credentials
and ``AWS_REQUEST_PAYER=requester`` for GDAL); the PC token endpoint.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree

import numpy as np
import rasterio
import shapely
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.transform import Affine, GCPTransformer
from rasterio.warp import reproject, transform_bounds
from rasterio.warp import transform as warp_transform
from rasterio.windows import Window
from shapely.geometry import shape

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.geo import footprint_from_box
from eoinstruct.sources.sensors import SENTINEL2_L2A_ORDER

Signer = Callable[[str], str]
"""Turns an asset href into one that can be opened (e.g. appends a SAS token)."""

CHIP_FORMAT = 1
"""Version of the chip layout; part of ``chip.json`` so a change re-reads old chips."""

DEFAULT_CHIP_SIZE = 256
"""Chip width and height in reference-grid pixels when ``chip_size`` does not say."""

DEFAULT_CATALOG = "catalog.json"
"""The static catalog's root JSON under ``root`` when neither ``catalog`` nor ``api_url`` is set."""

ITEM_JSON = "item.json"
CHIP_JSON = "chip.json"

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

PC_TOKEN_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token/{account}/{container}"
"""PC endpoint that hands out a SAS token for one blob storage container."""

_LANDSAT_BAND_IN_HREF = re.compile(r"_((?:SR|ST)_B\d{1,2})\.TIF$", re.IGNORECASE)
_MGRS_IN_ID = re.compile(r"_T?(\d{1,2}[C-X][A-Z]{2})_")
_ORBIT_IN_URI = re.compile(r"_R(\d{3})_")
_S2_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# --- signing -----------------------------------------------------------------------------


def _pc_token(account: str, container: str) -> str:
    """Fetch a SAS token for a PC storage container (network)."""
    import requests

    url = PC_TOKEN_URL.format(account=account, container=container)
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    token = response.json().get("token")
    if not isinstance(token, str) or not token:
        raise ValueError(f"{url} returned no token")
    return token


@dataclass
class _TokenCache:
    """SAS tokens by (account, container), each kept for ``ttl_s`` seconds."""

    ttl_s: float = 30 * 60
    tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_PC_TOKENS = _TokenCache()


def sign_planetary_computer(href: str, fetch_token: Callable[[str, str], str] = _pc_token) -> str:
    """Sign a Planetary Computer blob-storage href with a SAS token.

    Hrefs on ``<account>.blob.core.windows.net/<container>/…`` get ``?<token>`` appended (the
    token of that container, from :data:`PC_TOKEN_URL`, cached for 30 minutes); other hrefs
    and hrefs that already carry a query are returned unchanged. This is what PC's own
    ``planetary_computer.sign`` does (PC "Using tokens for data access" documentation); it
    needs the network and is UNVERIFIED here.

    Args:
        href: The asset href.
        fetch_token: ``(account, container) → token``; the default asks PC's token endpoint.

    Returns:
        The signed href.
    """
    parsed = urlparse(href)
    host = parsed.netloc
    if parsed.scheme != "https" or not host.endswith(".blob.core.windows.net") or parsed.query:
        return href
    account = host.split(".", 1)[0]
    container = parsed.path.lstrip("/").split("/", 1)[0]
    key = (account, container)
    now = time.monotonic()
    with _PC_TOKENS.lock:
        cached = _PC_TOKENS.tokens.get(key)
        if cached is None or now - cached[1] > _PC_TOKENS.ttl_s:
            cached = (fetch_token(account, container), now)
            _PC_TOKENS.tokens[key] = cached
    return f"{href}?{cached[0]}"


SIGNERS: dict[str, Signer] = {"planetary_computer": sign_planetary_computer}
"""Signers by the name the ``sign`` option uses."""


def register_signer(name: str, signer: Signer) -> None:
    """Make a signer available to the ``sign`` option.

    Args:
        name: The name to use in ``params.yaml``.
        signer: ``href → signed href``.
    """
    SIGNERS[name] = signer


# --- small records -------------------------------------------------------------------------


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
class ChipGrid:
    """The reference grid of a chip.

    Attributes:
        crs: ``EPSG:<code>`` (or WKT) of the grid.
        transform: The affine transform as ``(a, b, c, d, e, f)``.
        width: Width in pixels.
        height: Height in pixels.
    """

    crs: str
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int

    @property
    def affine(self) -> Affine:
        """The transform as an :class:`~rasterio.transform.Affine`."""
        return Affine(*self.transform)

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return abs(self.transform[0])

    def bounds(self) -> tuple[float, float, float, float]:
        """Return ``(left, bottom, right, top)`` in the grid's CRS."""
        a, _, c, _, e, f = self.transform
        right, bottom = c + a * self.width, f + e * self.height
        return min(c, right), min(f, bottom), max(c, right), max(f, bottom)

    def key(self) -> str:
        """Return a text that is equal for two chips iff they cover the same pixels."""
        left, _, _, top = self.bounds()
        return f"{self.crs} {left:.3f} {top:.3f} {self.resolution:g} {self.width}x{self.height}"


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


# --- item parsing (pure functions of an item dict) -----------------------------------------


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


# --- options ------------------------------------------------------------------------------


def _lonlat_box(value: object, name: str) -> tuple[float, float, float, float]:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"stac: option {name}={value!r} must be [west, south, east, north]")
    west, south, east, north = (float(v) for v in value)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValueError(f"stac: option {name}={value!r} is not a lon/lat box")
    return west, south, east, north


@dataclass(frozen=True)
class _Options:
    """Validated options."""

    catalog: str | None
    api_url: str | None
    chips_dir: Path
    collections: tuple[str, ...] | None
    bbox: tuple[float, float, float, float] | None
    intersects: dict[str, Any] | None
    datetime: str | None
    query: dict[str, Any] | None
    filter: dict[str, Any] | None
    sortby: Any
    max_items: int | None
    limit: int | None
    assets: dict[str, tuple[str, ...]]
    chip_size: dict[str, int]
    chip_center: tuple[float, float] | None
    sign: str | None
    s1_calibration: str

    def size_for(self, collection: str) -> int:
        return self.chip_size.get(collection, self.chip_size.get("default", DEFAULT_CHIP_SIZE))


_KNOWN_OPTIONS = {
    "catalog",
    "api_url",
    "chips_dir",
    "collections",
    "bbox",
    "intersects",
    "datetime",
    "query",
    "filter",
    "sortby",
    "max_items",
    "limit",
    "assets",
    "chip_size",
    "chip_center",
    "aoi",
    "sign",
    "s1_calibration",
}


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"stac: option {name}={value!r} must be a positive integer")
    return value


def _parse_options(options: Mapping[str, Any]) -> _Options:
    unknown = sorted(set(options) - _KNOWN_OPTIONS)
    if unknown:
        raise ValueError(f"stac: unknown options {unknown}; known: {sorted(_KNOWN_OPTIONS)}")
    catalog, api_url = options.get("catalog"), options.get("api_url")
    if catalog is not None and api_url is not None:
        raise ValueError("stac: set only one of the options catalog (a path) and api_url")
    if catalog is None and api_url is None:
        catalog = DEFAULT_CATALOG
    chips_dir = options.get("chips_dir")
    if not isinstance(chips_dir, str | Path) or not str(chips_dir):
        raise ValueError(
            "stac: option chips_dir (where chips are written, e.g. data/work/stac_chips) "
            "is required"
        )
    collections = options.get("collections")
    if collections is not None:
        if isinstance(collections, str):
            collections = [collections]
        if not collections or not all(isinstance(c, str) for c in collections):
            raise ValueError(f"stac: option collections={collections!r} must list ids")
        collections = tuple(collections)
    bbox = _lonlat_box(options["bbox"], "bbox") if options.get("bbox") is not None else None
    aoi = _lonlat_box(options["aoi"], "aoi") if options.get("aoi") is not None else None
    intersects = options.get("intersects")
    if intersects is not None:
        try:
            geom = shape(intersects)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"stac: option intersects is not GeoJSON: {exc}") from exc
        if geom.is_empty:
            raise ValueError("stac: option intersects is empty")
        intersects = dict(intersects)
    if bbox is not None and intersects is not None:
        raise ValueError("stac: give bbox or intersects, not both")
    if aoi is not None and bbox is None and intersects is None:
        bbox = aoi
    for name in ("query", "filter"):
        if options.get(name) is not None and not isinstance(options[name], Mapping):
            raise ValueError(f"stac: option {name} must be a mapping")
    if catalog is not None:
        api_only = [n for n in ("query", "filter", "sortby", "limit") if options.get(n) is not None]
        if api_only:
            raise ValueError(f"stac: options {api_only} need api_url (a STAC API)")
    max_items = options.get("max_items")
    limit = options.get("limit")
    assets_opt = options.get("assets") or {}
    if not isinstance(assets_opt, Mapping) or not all(
        isinstance(v, Sequence)
        and not isinstance(v, str)
        and v
        and all(isinstance(k, str) for k in v)
        for v in assets_opt.values()
    ):
        raise ValueError("stac: option assets must map a collection id to a list of asset keys")
    size_opt = options.get("chip_size", DEFAULT_CHIP_SIZE)
    sizes: dict[str, int] = {}
    if isinstance(size_opt, Mapping):
        sizes = {str(k): _positive_int(v, f"chip_size.{k}") for k, v in size_opt.items()}
    else:
        sizes = {"default": _positive_int(size_opt, "chip_size")}
    center_opt = options.get("chip_center")
    center: tuple[float, float] | None = None
    if center_opt is not None:
        ok = (
            isinstance(center_opt, Sequence)
            and not isinstance(center_opt, str)
            and len(center_opt) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in center_opt)
        )
        if not ok or not (-180 <= center_opt[0] <= 180 and -90 <= center_opt[1] <= 90):
            raise ValueError(f"stac: option chip_center={center_opt!r} must be [lon, lat]")
        center = (float(center_opt[0]), float(center_opt[1]))
    elif aoi is not None:
        center = ((aoi[0] + aoi[2]) / 2, (aoi[1] + aoi[3]) / 2)
    elif bbox is not None:
        center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
    elif intersects is not None:
        point = shape(intersects).centroid
        center = (point.x, point.y)
    sign = options.get("sign")
    if sign is not None and sign not in SIGNERS:
        raise ValueError(f"stac: option sign={sign!r}; known signers: {sorted(SIGNERS)}")
    calibration = options.get("s1_calibration", "sigma0")
    if calibration not in ("sigma0", "none"):
        raise ValueError("stac: option s1_calibration must be 'sigma0' or 'none'")
    dt = options.get("datetime")
    if dt is not None and not isinstance(dt, str):
        raise ValueError("stac: option datetime must be a string (RFC 3339 instant or interval)")
    return _Options(
        catalog=str(catalog) if catalog is not None else None,
        api_url=str(api_url) if api_url is not None else None,
        chips_dir=Path(chips_dir),
        collections=collections,
        bbox=bbox,
        intersects=intersects,
        datetime=dt,
        query=dict(options["query"]) if options.get("query") is not None else None,
        filter=dict(options["filter"]) if options.get("filter") is not None else None,
        sortby=options.get("sortby"),
        max_items=_positive_int(max_items, "max_items") if max_items is not None else None,
        limit=_positive_int(limit, "limit") if limit is not None else None,
        assets={str(k): tuple(v) for k, v in assets_opt.items()},
        chip_size=sizes,
        chip_center=center,
        sign=sign,
        s1_calibration=str(calibration),
    )


def _time_range(text: str) -> tuple[datetime | None, datetime | None]:
    """Parse a STAC ``datetime`` search value (instant, date, or ``a/b`` with ``..``)."""

    def bound(part: str, end: bool) -> datetime | None:
        part = part.strip()
        if part in ("", ".."):
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
            day = datetime.fromisoformat(part).replace(tzinfo=UTC)
            return day.replace(hour=23, minute=59, second=59, microsecond=999999) if end else day
        parsed = datetime.fromisoformat(part.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)

    try:
        if "/" in text:
            first, second = text.split("/", 1)
            return bound(first, False), bound(second, True)
        return bound(text, False), bound(text, True)
    except ValueError as exc:
        raise ValueError(f"stac: option datetime={text!r} is not RFC 3339: {exc}") from exc


# --- reading pixels -------------------------------------------------------------------------


def _local_path(href: str) -> Path | None:
    """Return the local path of an href (plain path or ``file://``), None if remote."""
    parsed = urlparse(href)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if not parsed.scheme:
        return Path(href)
    return None


def _open_error(href: str, exc: Exception, unit: str) -> SourceError:
    text = str(exc)
    if "No such file" in text or "404" in text or "does not exist" in text:
        return SourceError("missing_file", f"{href}: {text}", unit)
    return SourceError("corrupt_raster", f"{href}: cannot open: {text}", unit)


def _check_exists(href: str, unit: str) -> None:
    path = _local_path(href)
    if path is not None and not path.is_file():
        raise SourceError("missing_file", f"{path}: file not found", unit)


def _crs_text(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _physical(raw: np.ndarray, scaling: Scaling, file_nodata: float | None) -> np.ndarray:
    """Apply nodata and scaling to stored values (float32, NaN where there is no data)."""
    values = raw.astype(np.float64)
    invalid = ~np.isfinite(values)
    for nodata in (scaling.nodata, file_nodata):
        if nodata is None:
            continue
        invalid |= np.isnan(values) if math.isnan(nodata) else values == nodata
    out = values * scaling.scale + scaling.offset
    out[invalid] = np.nan
    return out.astype(np.float32)


def _src_window(
    ds_transform: Affine, width: int, height: int, bounds: tuple[float, float, float, float]
) -> Window | None:
    """The window of a north-up raster covering ``bounds`` plus one pixel, clipped; None if none."""
    left, bottom, right, top = bounds
    inv = ~ds_transform
    cols, rows = zip(*(inv @ (x, y) for x in (left, right) for y in (bottom, top)), strict=True)
    col0, col1 = math.floor(min(cols)) - 1, math.ceil(max(cols)) + 1
    row0, row1 = math.floor(min(rows)) - 1, math.ceil(max(rows)) + 1
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, width), min(row1, height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


@dataclass(frozen=True)
class _Header:
    """What the header of one asset file says."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int
    nodata: float | None
    gcps: tuple[GroundControlPoint, ...]
    gcp_crs: CRS | None


def _read_header(href: str, unit: str) -> _Header:
    _check_exists(href, unit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(href) as ds:
                gcps, gcp_crs = ds.gcps
                return _Header(
                    crs=ds.crs,
                    transform=ds.transform,
                    width=ds.width,
                    height=ds.height,
                    nodata=ds.nodata,
                    gcps=tuple(gcps),
                    gcp_crs=gcp_crs,
                )
    except RasterioError as exc:
        raise _open_error(href, exc, unit) from exc


def _read_gridded(
    href: str, header: _Header, grid: ChipGrid, scaling: Scaling, unit: str
) -> np.ndarray:
    """Read the chip of a map-projected asset, resampled onto ``grid`` (nearest)."""
    out = np.full((grid.height, grid.width), np.nan, dtype=np.float32)
    assert header.crs is not None
    if CRS.from_user_input(grid.crs) == header.crs:
        bounds = grid.bounds()
    else:
        bounds = transform_bounds(grid.crs, header.crs, *grid.bounds(), densify_pts=21)
    window = _src_window(header.transform, header.width, header.height, bounds)
    if window is None:
        return out
    try:
        with rasterio.open(href) as ds:
            raw = ds.read(1, window=window)
            src_transform = ds.transform @ Affine.translation(window.col_off, window.row_off)
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{href}: cannot read window: {exc}", unit) from exc
    values = _physical(raw, scaling, header.nodata)
    reproject(
        values,
        out,
        src_transform=src_transform,
        src_crs=header.crs,
        src_nodata=np.nan,
        dst_transform=grid.affine,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return out


@dataclass(frozen=True)
class CalibrationLut:
    """A Sentinel-1 ``sigmaNought`` calibration look-up table.

    Attributes:
        lines: Image line of each calibration vector (ascending).
        pixels: Image pixels of the vectors' samples (the same for every vector).
        values: ``sigmaNought`` values, shape ``(len(lines), len(pixels))``.
    """

    lines: np.ndarray
    pixels: np.ndarray
    values: np.ndarray

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Interpolate the table bilinearly at image rows × columns.

        Args:
            rows: Row indices (1-D).
            cols: Column indices (1-D).

        Returns:
            Array of shape ``(len(rows), len(cols))``.
        """
        across = np.stack([np.interp(cols, self.pixels, v) for v in self.values])
        return np.stack([np.interp(rows, self.lines, across[:, j]) for j in range(len(cols))], 1)


def parse_calibration(text: str, source: str = "", unit: str = "") -> CalibrationLut:
    """Parse a Sentinel-1 calibration annotation into its ``sigmaNought`` table.

    The SAFE file ``annotation/calibration/calibration-*.xml`` holds
    ``calibration/calibrationVectorList/calibrationVector`` elements, each with ``line``,
    ``pixel`` (space-separated) and ``sigmaNought`` (same count) (ESA Sentinel-1 Product
    Specification).

    Args:
        text: The XML.
        source: Where it came from, for messages.
        unit: Unit id for errors.

    Returns:
        The table.

    Raises:
        SourceError: ``bad_metadata`` if the XML is malformed or the vectors disagree.
    """
    try:
        root = ElementTree.fromstring(text)
        lines: list[float] = []
        rows: list[np.ndarray] = []
        pixels: np.ndarray | None = None
        for vector in root.iter("calibrationVector"):
            line = float(vector.findtext("line", ""))
            pix = np.array(vector.findtext("pixel", "").split(), dtype=np.float64)
            sigma = np.array(vector.findtext("sigmaNought", "").split(), dtype=np.float64)
            if pix.size == 0 or pix.size != sigma.size:
                raise ValueError(f"vector at line {line:g}: {pix.size} pixels, {sigma.size} values")
            if pixels is None:
                pixels = pix
            elif not np.array_equal(pixels, pix):
                sigma = np.interp(pixels, pix, sigma)
            lines.append(line)
            rows.append(sigma)
    except (ElementTree.ParseError, ValueError) as exc:
        raise SourceError("bad_metadata", f"{source}: bad calibration XML: {exc}", unit) from exc
    if pixels is None or not lines:
        raise SourceError("bad_metadata", f"{source}: no calibrationVector", unit)
    order = np.argsort(lines)
    values = np.stack(rows)[order]
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise SourceError("bad_metadata", f"{source}: sigmaNought values must be > 0", unit)
    return CalibrationLut(np.asarray(lines)[order], pixels, values)


def _read_text(href: str, unit: str) -> str:
    path = _local_path(href)
    if path is not None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise SourceError("missing_file", f"{path}: file not found", unit) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError("bad_metadata", f"{path}: cannot read: {exc}", unit) from exc
    if urlparse(href).scheme in ("http", "https"):
        import requests

        try:
            response = requests.get(href, timeout=60)
        except requests.RequestException as exc:
            raise SourceError("missing_file", f"{href}: {exc}", unit) from exc
        if response.status_code != 200:
            raise SourceError("missing_file", f"{href}: HTTP {response.status_code}", unit)
        return response.text
    raise SourceError("missing_file", f"{href}: cannot fetch this kind of href", unit)


def _utm_epsg(lon: float, lat: float) -> int:
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def _read_gcp(
    href: str,
    header: _Header,
    grid: ChipGrid,
    scaling: Scaling,
    lut: CalibrationLut | None,
    unit: str,
) -> np.ndarray:
    """Read a GCP-georeferenced (radar geometry) asset onto ``grid``, calibrating if asked."""
    out = np.full((grid.height, grid.width), np.nan, dtype=np.float32)
    assert header.gcp_crs is not None
    left, bottom, right, top = grid.bounds()
    ticks = np.linspace(0.0, 1.0, 9)
    xs = [left + t * (right - left) for t in ticks] * 2 + [left] * 9 + [right] * 9
    ys = [bottom] * 9 + [top] * 9 + [bottom + t * (top - bottom) for t in ticks] * 2
    gx, gy = warp_transform(grid.crs, header.gcp_crs, xs, ys)
    rows, cols = GCPTransformer(list(header.gcps)).rowcol(gx, gy, op=float)
    col0 = max(math.floor(min(cols)) - 2, 0)
    row0 = max(math.floor(min(rows)) - 2, 0)
    col1 = min(math.ceil(max(cols)) + 2, header.width)
    row1 = min(math.ceil(max(rows)) + 2, header.height)
    if col1 <= col0 or row1 <= row0:
        return out
    window = Window(col0, row0, col1 - col0, row1 - row0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(href) as ds:
                raw = ds.read(1, window=window)
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{href}: cannot read window: {exc}", unit) from exc
    values = _physical(raw, scaling, header.nodata)
    if lut is not None:
        gain = lut.at(np.arange(row0, row1, dtype=np.float64), np.arange(col0, col1, dtype=float))
        values = (values.astype(np.float64) ** 2 / gain**2).astype(np.float32)
    shifted = [
        GroundControlPoint(row=g.row - row0, col=g.col - col0, x=g.x, y=g.y) for g in header.gcps
    ]
    reproject(
        values,
        out,
        gcps=shifted,
        src_crs=header.gcp_crs,
        src_nodata=np.nan,
        dst_transform=grid.affine,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return out


def _write_chip(path: Path, array: np.ndarray, grid: ChipGrid, band: str) -> None:
    """Write one float32 chip GeoTIFF atomically (temporary name, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=1,
            dtype="float32",
            crs=grid.crs,
            transform=grid.affine,
            nodata=float("nan"),
            compress="deflate",
            predictor=3,
        ) as dst:
            dst.write(array, 1)
            dst.set_band_description(1, band)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_json_atomic(path: Path, value: object, only_if_changed: bool = False) -> None:
    text = json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if only_if_changed and path.is_file():
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except OSError:
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _footprint(grid: ChipGrid) -> str:
    """The chip rectangle in lon/lat as a counter-clockwise WKT polygon ("" if it fails)."""
    left, bottom, right, top = grid.bounds()
    return footprint_from_box((left, top, right, bottom), grid.crs)


# --- the adapter ----------------------------------------------------------------------------


class STACScenes(SourceAdapter):
    """Chips of Sentinel-2, Landsat and Sentinel-1 STAC items, one sample per item.

    Options (``params.yaml``, ``sources.stac``):

    - ``catalog``: path of a static STAC catalog's root JSON, relative to ``root`` (default
      ``catalog.json``); or
    - ``api_url``: URL of a STAC API (``root`` must then be an existing folder; it is not read).
    - ``chips_dir`` (required): where chips and cached items are written, e.g.
      ``data/work/stac_chips`` (the ingest stage must declare it as an output).
    - ``collections``, ``bbox`` [w, s, e, n] or ``intersects`` (GeoJSON), ``datetime`` (RFC
      3339 instant or ``a/b`` interval), ``max_items``: search filters (also applied to a
      static catalog); ``query`` (dict, the STAC query extension), ``filter`` (CQL2-JSON),
      ``sortby``, ``limit`` (page size): API only.
    - ``assets``: collection id → asset keys to read (default: see :func:`select_assets`).
    - ``chip_size``: chip width/height in reference pixels, an int or collection id → int
      (key ``default`` for the rest); default 256.
    - ``chip_center`` [lon, lat] or ``aoi`` [w, s, e, n]: the point chips are centred on (see
      the module docstring for the rule); ``aoi`` is also the search bbox when none is given.
    - ``sign``: None or a name in :data:`SIGNERS` (``planetary_computer``).
    - ``s1_calibration``: ``sigma0`` (default) or ``none`` for Sentinel-1 GRD.

    Args:
        root: Folder holding the static catalog (or any existing folder in API mode).
        options: The options above.

    Raises:
        SourceNotFoundError: If the root or the catalog file is missing.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.opts = _parse_options(self.options)
        self.chips_dir = self.opts.chips_dir
        self._items: dict[str, dict[str, Any]] = {}
        self._item_paths: dict[str, Path] = {}
        self._collection_assets: dict[str, dict[str, Any]] = {}
        self._walked = False
        if self.opts.catalog is not None and not self.catalog_path.is_file():
            raise SourceNotFoundError(
                f"{self.name}: no STAC catalog at {self.catalog_path}; write one (the sample "
                "corpus does) or point sources.stac.root and sources.stac.catalog in "
                "params.yaml at a static STAC catalog, or set sources.stac.api_url"
            )

    @property
    def catalog_path(self) -> Path:
        """Path of the static catalog's root JSON (catalog mode)."""
        return self.root / str(self.opts.catalog)

    # --- listing

    def list_units(self) -> list[str]:
        """Find the items: walk the static catalog or search the API.

        Returns:
            Sorted unit ids ``<collection>/<item id>``.

        Raises:
            SourceNotFoundError: If the catalog cannot be read or the search fails.
        """
        if self.opts.catalog is not None:
            self._walk_catalog()
            units = [u for u in sorted(self._item_paths) if self._matches(self._items[u])]
            if self.opts.max_items is not None:
                units = units[: self.opts.max_items]
            return units
        items = self._search()
        units: list[str] = []
        for item in items:
            unit = f"{item.get('collection')}/{item.get('id')}"
            if unit in self._items:
                continue
            self._items[unit] = item
            _write_json_atomic(self._unit_dir(unit) / ITEM_JSON, item, only_if_changed=True)
            units.append(unit)
        return sorted(units)

    def _search(self) -> list[dict[str, Any]]:
        from pystac_client import Client
        from pystac_client.exceptions import APIError

        opts = self.opts
        kwargs: dict[str, Any] = {}
        for name in ("collections", "bbox", "intersects", "datetime", "query", "sortby"):
            value = getattr(opts, name)
            if value is not None:
                kwargs[name] = list(value) if isinstance(value, tuple) else value
        if opts.filter is not None:
            kwargs["filter"] = opts.filter
            kwargs["filter_lang"] = "cql2-json"
        if opts.max_items is not None:
            kwargs["max_items"] = opts.max_items
        if opts.limit is not None:
            kwargs["limit"] = opts.limit
        try:
            client = Client.open(str(opts.api_url))
            search = client.search(**kwargs)
            return [dict(item) for item in search.items_as_dicts()]
        except (APIError, OSError, ValueError) as exc:
            raise SourceNotFoundError(
                f"{self.name}: search at {opts.api_url} failed: {exc}; check "
                "sources.stac.api_url and the search options in params.yaml"
            ) from exc

    def _walk_catalog(self) -> None:
        """Index every item under the static catalog (once): unit → item dict and path."""
        if self._walked:
            return
        seen: set[Path] = set()

        def load(path: Path) -> dict[str, Any] | None:
            try:
                value = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                return None
            return value if isinstance(value, dict) else None

        def visit(path: Path, collection: str | None) -> None:
            key = path.resolve()
            if key in seen:
                return
            seen.add(key)
            node = load(path)
            if node is None:
                if key == self.catalog_path.resolve():
                    raise SourceNotFoundError(
                        f"{self.name}: {path} is not a STAC catalog JSON; fix it or point "
                        "sources.stac.catalog in params.yaml at one"
                    )
                return
            if node.get("type") == "Collection":
                collection = str(node.get("id"))
                self._collection_assets[collection] = dict(node.get("item_assets") or {})
            for link in node.get("links", []):
                if not isinstance(link, Mapping) or not isinstance(link.get("href"), str):
                    continue
                target = _resolve(path, link["href"])
                if target is None:
                    continue
                if link.get("rel") == "child":
                    visit(target, collection)
                elif link.get("rel") == "item":
                    self._index_item(target, collection)

        visit(self.catalog_path, None)
        self._walked = True

    def _index_item(self, path: Path, collection: str | None) -> None:
        try:
            item = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            item = None
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            # A broken item file is still a unit, so that its failure is counted.
            stem = path.stem
            unit = f"{collection or '_'}/{stem}"
            self._item_paths[unit] = path
            self._items[unit] = {"id": stem, "collection": collection, "_broken": str(path)}
            return
        item.setdefault("collection", collection)
        for asset in item.get("assets", {}).values():
            if isinstance(asset, dict) and isinstance(asset.get("href"), str):
                target = _resolve(path, asset["href"])
                if target is not None:
                    asset["href"] = str(target)
        unit = f"{item.get('collection')}/{item['id']}"
        self._item_paths[unit] = path
        self._items[unit] = item

    def _matches(self, item: Mapping[str, Any]) -> bool:
        """Apply collections, bbox/intersects and datetime to a catalog item."""
        if "_broken" in item:
            return self.opts.collections is None or item.get("collection") in self.opts.collections
        opts = self.opts
        if opts.collections is not None and item.get("collection") not in opts.collections:
            return False
        area = None
        if opts.bbox is not None:
            area = shapely.box(*opts.bbox)
        elif opts.intersects is not None:
            area = shape(opts.intersects)
        if area is not None:
            try:
                geom = shape(item["geometry"]) if item.get("geometry") else None
            except (AttributeError, TypeError, ValueError, KeyError):
                geom = None
            if geom is None or not geom.intersects(area):
                return False
        if opts.datetime is not None:
            start, end = _time_range(opts.datetime)
            try:
                times = acquisition_times(item)
            except SourceError:
                return True  # read_unit reports the bad time
            first = datetime.strptime(times[0], _TIME_FORMAT).replace(tzinfo=UTC)
            last = datetime.strptime(times[-1], _TIME_FORMAT).replace(tzinfo=UTC)
            if (start is not None and last < start) or (end is not None and first > end):
                return False
        return True

    # --- per unit

    def _unit_dir(self, unit: str) -> Path:
        collection, _, item_id = unit.partition("/")
        return self.chips_dir / collection / item_id

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a unit is read from: its item JSON and its local asset files.

        Args:
            unit: ``<collection>/<item id>``.

        Returns:
            Existing paths, sorted.
        """
        paths: set[Path] = set()
        if self.opts.catalog is not None:
            self._walk_catalog()
            if unit in self._item_paths:
                paths.add(self._item_paths[unit])
        else:
            paths.add(self._unit_dir(unit) / ITEM_JSON)
        item = self._items.get(unit)
        if item is not None and "_broken" not in item:
            for asset in item.get("assets", {}).values():
                href = asset.get("href") if isinstance(asset, Mapping) else None
                local = _local_path(href) if isinstance(href, str) else None
                if local is not None and local.suffix.lower() in (".tif", ".tiff", ".xml"):
                    paths.add(local)
        return sorted(p for p in paths if p.is_file())

    def _item(self, unit: str) -> dict[str, Any]:
        """Return a unit's item: from memory, the catalog, ``item.json``, or the API."""
        if unit in self._items:
            return self._items[unit]
        if self.opts.catalog is not None:
            self._walk_catalog()
            if unit in self._items:
                return self._items[unit]
            raise SourceError("missing_file", f"no item {unit} in {self.catalog_path}", unit)
        cached = self._unit_dir(unit) / ITEM_JSON
        if cached.is_file():
            try:
                item = json.loads(cached.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SourceError(
                    "bad_metadata", f"{cached}: unreadable item: {exc}", unit
                ) from exc
        else:
            item = self._fetch_item(unit)
            _write_json_atomic(cached, item, only_if_changed=True)
        if not isinstance(item, dict):
            raise SourceError("bad_metadata", f"{cached}: not an item", unit)
        self._items[unit] = item
        return item

    def _fetch_item(self, unit: str) -> dict[str, Any]:
        """GET ``<api>/collections/<collection>/items/<id>`` (STAC API - Features)."""
        import requests

        collection, _, item_id = unit.partition("/")
        url = f"{str(self.opts.api_url).rstrip('/')}/collections/{collection}/items/{item_id}"
        try:
            response = requests.get(url, timeout=60, headers={"Accept": "application/geo+json"})
        except requests.RequestException as exc:
            raise SourceError("missing_file", f"cannot fetch {url}: {exc}", unit) from exc
        if response.status_code == 404:
            raise SourceError("missing_file", f"{url}: no such item (HTTP 404)", unit)
        if response.status_code != 200:
            raise SourceError("missing_file", f"{url}: HTTP {response.status_code}", unit)
        try:
            item = response.json()
        except ValueError as exc:
            raise SourceError("bad_metadata", f"{url}: not JSON: {exc}", unit) from exc
        if not isinstance(item, dict) or item.get("id") != item_id:
            raise SourceError("bad_metadata", f"{url}: not the item {item_id}", unit)
        return item

    def _sign(self, href: str) -> str:
        return SIGNERS[self.opts.sign](href) if self.opts.sign else href

    def read_unit(self, unit: str) -> list[Sample]:
        """Cut the item's chip, write it under ``chips_dir`` and describe it as a sample.

        Args:
            unit: ``<collection>/<item id>``.

        Returns:
            One sample.

        Raises:
            SourceError: ``missing_band`` (a required asset is absent), ``missing_file`` (an
                asset file or the item cannot be found), ``corrupt_raster`` (an asset cannot
                be read), ``bad_metadata`` (malformed item, unsupported collection, the CRS
                the item declares differs from the file's, no time) or ``malformed_label``
                (the item JSON itself is broken).
            ValueError: If ``unit`` is not ``<collection>/<item id>``.
        """
        collection, sep, item_id = unit.partition("/")
        if not sep or not collection or not item_id:
            raise ValueError(f"{self.name}: bad unit id {unit!r}; expected <collection>/<item>")
        item = self._item(unit)
        if "_broken" in item:
            raise SourceError("malformed_label", f"{item['_broken']}: not a STAC item JSON", unit)
        if not isinstance(item.get("properties"), Mapping) or not isinstance(
            item.get("assets"), Mapping
        ):
            raise SourceError("bad_metadata", f"{unit}: item has no properties or assets", unit)
        wanted = self.opts.assets.get(collection)
        choices = select_assets(item, wanted, self._collection_assets.get(collection), unit)
        acquired = acquisition_times(item, unit)
        grid, paths = self._chips(unit, item, choices)
        return [self._sample(unit, item, choices, grid, paths, acquired)]

    def _request(self, item: Mapping[str, Any], choices: Sequence[AssetChoice]) -> dict[str, Any]:
        """What decides a chip's content; equal requests may reuse chips."""
        props = item.get("properties", {})
        collection = str(item.get("collection"))
        return {
            "format": CHIP_FORMAT,
            "item": item.get("id"),
            "collection": collection,
            "updated": props.get("updated") or props.get("created") or props.get("datetime"),
            "center": list(self.opts.chip_center) if self.opts.chip_center else "raster",
            "size": self.opts.size_for(collection),
            "s1_calibration": self.opts.s1_calibration,
            "assets": [
                {
                    "key": c.key,
                    "band": c.band,
                    "href": c.href,
                    "scale": c.scaling.scale,
                    "offset": c.scaling.offset,
                    "nodata": c.scaling.nodata,
                    "calibration": c.calibration_href,
                }
                for c in choices
            ],
        }

    def _chips(
        self, unit: str, item: Mapping[str, Any], choices: Sequence[AssetChoice]
    ) -> tuple[ChipGrid, dict[str, Path]]:
        """Write (or reuse) the chips of an item; return the grid and chip path per key."""
        folder = self._unit_dir(unit)
        paths = {c.key: folder / f"{c.key}.tif" for c in choices}
        request = self._request(item, choices)
        manifest_path = folder / CHIP_JSON
        if manifest_path.is_file():
            try:
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
                if manifest.get("request") == json.loads(json.dumps(request)) and all(
                    p.is_file() for p in paths.values()
                ):
                    g = manifest["grid"]
                    grid = ChipGrid(g["crs"], tuple(g["transform"]), g["width"], g["height"])
                    return grid, paths
            except (OSError, ValueError, KeyError, TypeError):
                pass
        family = collection_profile(str(item.get("collection")))
        headers = {c.key: _read_header(self._sign(c.href), unit) for c in choices}
        grid = self._grid(unit, item, choices, headers)
        for choice in choices:
            href = self._sign(choice.href)
            header = headers[choice.key]
            if header.crs is not None and not header.transform.is_identity:
                declared = item_epsg(item, choice.key)
                if family is not None and family.family != "s1grd" and declared is not None:
                    if header.crs.to_epsg() != declared:
                        raise SourceError(
                            "bad_metadata",
                            f"{choice.href}: file CRS {_crs_text(header.crs)} differs from the "
                            f"item's EPSG:{declared}",
                            unit,
                        )
                array = _read_gridded(href, header, grid, choice.scaling, unit)
            elif header.gcps and header.gcp_crs is not None:
                lut = None
                if family is not None and family.family == "s1grd":
                    lut = self._calibration(choice, unit)
                array = _read_gcp(href, header, grid, choice.scaling, lut, unit)
            else:
                raise SourceError(
                    "bad_metadata", f"{choice.href}: no CRS and no GCPs: not georeferenced", unit
                )
            _write_chip(paths[choice.key], array, grid, choice.band)
        manifest = {
            "request": request,
            "grid": {
                "crs": grid.crs,
                "transform": list(grid.transform),
                "width": grid.width,
                "height": grid.height,
                "key": grid.key(),
            },
        }
        _write_json_atomic(manifest_path, manifest)
        return grid, paths

    def _calibration(self, choice: AssetChoice, unit: str) -> CalibrationLut | None:
        if self.opts.s1_calibration == "none":
            return None
        if not choice.calibration_href:
            raise SourceError(
                "missing_file",
                f"{unit}: no asset schema-calibration-{choice.key} to calibrate {choice.key} "
                "(set s1_calibration: none to keep uncalibrated DN)",
                unit,
            )
        text = _read_text(self._sign(choice.calibration_href), unit)
        return parse_calibration(text, choice.calibration_href, unit)

    def _grid(
        self,
        unit: str,
        item: Mapping[str, Any],
        choices: Sequence[AssetChoice],
        headers: Mapping[str, _Header],
    ) -> ChipGrid:
        """The chip grid: the finest gridded asset's pixel grid around the centre point."""
        size = self.opts.size_for(str(item.get("collection")))
        gridded = {
            k: h for k, h in headers.items() if h.crs is not None and not h.transform.is_identity
        }
        if gridded:
            key = min(gridded, key=lambda k: (abs(gridded[k].transform.a), k))
            ref = gridded[key]
            t = ref.transform
            if t.b != 0 or t.d != 0:
                raise SourceError("bad_metadata", f"{unit}: asset {key} grid is rotated", unit)
            if self.opts.chip_center is not None:
                (x,), (y,) = warp_transform(
                    "EPSG:4326", ref.crs, [self.opts.chip_center[0]], [self.opts.chip_center[1]]
                )
                col_c, row_c = ~t @ (x, y)
            else:
                col_c, row_c = ref.width / 2, ref.height / 2
            col0 = round(col_c - size / 2)
            row0 = round(row_c - size / 2)
            x0, y0 = t @ (col0, row0)
            assert ref.crs is not None
            crs = _crs_text(ref.crs)
            return ChipGrid(crs, (t.a, 0.0, x0, 0.0, t.e, y0), size, size)
        # Radar geometry (S1 GRD): a UTM grid at the product's pixel spacing.
        props = item.get("properties", {})
        spacing = props.get("sar:pixel_spacing_range", 10.0)
        res = float(spacing) if isinstance(spacing, int | float) and spacing > 0 else 10.0
        if self.opts.chip_center is not None:
            lon, lat = self.opts.chip_center
        else:
            lon, lat = self._gcp_centre(unit, item, headers)
        epsg = _utm_epsg(lon, lat)
        (x,), (y,) = warp_transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
        x0 = round(x / res - size / 2) * res
        y0 = round(y / res + size / 2) * res
        return ChipGrid(f"EPSG:{epsg}", (res, 0.0, x0, 0.0, -res, y0), size, size)

    @staticmethod
    def _gcp_centre(
        unit: str, item: Mapping[str, Any], headers: Mapping[str, _Header]
    ) -> tuple[float, float]:
        header = next(iter(headers.values()))
        if header.gcps and header.gcp_crs is not None:
            transformer = GCPTransformer(list(header.gcps))
            x, y = transformer.xy(header.height / 2, header.width / 2)
            (lon,), (lat,) = warp_transform(header.gcp_crs, "EPSG:4326", [x], [y])
            return float(lon), float(lat)
        bbox = item.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4:
            return (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
        raise SourceError("bad_metadata", f"{unit}: cannot tell where the item is", unit)

    def _sample(
        self,
        unit: str,
        item: Mapping[str, Any],
        choices: Sequence[AssetChoice],
        grid: ChipGrid,
        paths: Mapping[str, Path],
        acquired: tuple[str, ...],
    ) -> Sample:
        collection = str(item.get("collection"))
        profile = collection_profile(collection)
        assert profile is not None
        family = profile.family
        images: list[ImageRef] = []
        for role in ("image", "thermal"):
            picked = [c for c in choices if c.role == role]
            if not picked:
                continue
            bands = tuple(c.band for c in picked)
            if role == "thermal":
                encoding, display = "kelvin", (bands[0],)
            elif family in ("s2", "landsat"):
                encoding = "reflectance"
                display = _true_colour(picked, family)
            elif family == "s1grd" and self.opts.s1_calibration == "none":
                encoding, display = "float", (bands[0],)
            else:
                encoding, display = "sar_linear", ()
            images.append(
                ImageRef(
                    role=role,
                    files=tuple(str(paths[c.key]) for c in picked),
                    bands=bands,
                    encoding=encoding,
                    width=grid.width,
                    height=grid.height,
                    display_bands=display,
                )
            )
        if family in ("s1grd", "s1rtc"):
            modality = "sar"
        elif images[0].role == "thermal":
            modality = "thermal"
        else:
            modality = "multispectral"
        tags = item_tags(item)
        if family == "s1grd":
            tags["calibration"] = "sigma0" if self.opts.s1_calibration == "sigma0" else "none"
        elif family == "s1rtc":
            tags["calibration"] = "gamma0_rtc"
        props = item.get("properties", {})
        properties: dict[str, str] = {
            "stac_collection": collection,
            "stac_item": str(item.get("id")),
            "chip_grid": grid.key(),
        }
        if self.opts.chip_center is not None:
            properties["chip_center"] = (
                f"{self.opts.chip_center[0]:.6f},{self.opts.chip_center[1]:.6f}"
            )
        for key in ("eo:cloud_cover", "view:sun_elevation", "view:sun_azimuth"):
            value = props.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                properties[key] = f"{float(value):g}"
        return Sample(
            sample_id=f"{self.name}:{unit}",
            source=self.name,
            native_id=unit,
            modality=modality,
            sensor=sensor_name(item),
            bands=tuple(b for image in images for b in image.bands),
            gsd_m=round(grid.resolution, 6),
            crs=grid.crs,
            footprint_wkt=_footprint(grid),
            acquired=acquired,
            images=tuple(images),
            tags=tags,
            labels=Labels(properties=properties),
            licence=profile.licence,
            split="",
        )


def _true_colour(picked: Sequence[AssetChoice], family: str) -> tuple[str, ...]:
    """Band names of the red, green and blue assets, if all three are read."""
    by_key = {c.key: c.band for c in picked}
    by_band = {c.band for c in picked}
    if family == "s2" and {"B04", "B03", "B02"} <= by_band:
        return ("B04", "B03", "B02")
    if all(k in by_key for k in ("red", "green", "blue")):
        return (by_key["red"], by_key["green"], by_key["blue"])
    return ()


def _resolve(base: Path, href: str) -> Path | None:
    """Resolve a link or asset href of a local JSON file to a local path (None if remote)."""
    parsed = urlparse(href)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        return None
    path = Path(href)
    # normpath, not resolve: a relative root keeps relative (machine-independent) paths.
    return path if path.is_absolute() else Path(os.path.normpath(base.parent / path))


def units_by_place(samples: Iterable[Sample]) -> dict[str, list[str]]:
    """Group samples whose chips cover the same pixels (candidates for change pairs).

    Args:
        samples: STAC samples.

    Returns:
        ``chip_grid`` → sample ids in acquisition order, only groups of two or more.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for sample in samples:
        key = sample.labels.properties.get("chip_grid", "")
        if key:
            groups.setdefault(key, []).append(
                (sample.acquired[0] if sample.acquired else "", sample.sample_id)
            )
    return {k: [s for _, s in sorted(v)] for k, v in sorted(groups.items()) if len(v) > 1}
