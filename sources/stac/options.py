"""The STAC adapter's options, validated once when the adapter is made.

Holds :func:`_parse_options`, which checks every option of ``params.yaml``
``sources.stac`` (catalog or API mode, search filters, assets, chip size and centre, signer,
Sentinel-1 calibration) and returns them as an :class:`_Options` record, with the defaults
(:data:`DEFAULT_CHIP_SIZE`, :data:`DEFAULT_CATALOG`). The chip centre it derives from
``chip_center``, ``aoi``, ``bbox`` or ``intersects`` follows the rule in
:mod:`eoinstruct.sources.stac.grid`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from eoinstruct.sources.stac.network import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    box_center,
)
from eoinstruct.sources.stac.signing import SIGNERS, check_signer

DEFAULT_CHIP_SIZE = 256
"""Chip width and height in reference-grid pixels when ``chip_size`` does not say."""

DEFAULT_CATALOG = "catalog.json"
"""The static catalog's root JSON under ``root`` when neither ``catalog`` nor ``api_url`` is set."""


def _lonlat_box(value: object, name: str) -> tuple[float, float, float, float]:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"stac: option {name}={value!r} must be [west, south, east, north]")
    west, south, east, north = (float(v) for v in value)
    # west > east crosses the antimeridian (STAC API spec); west == east is empty.
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and west != east and -90 <= south < north <= 90
    ):
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
    time_series: bool = False
    series_max_cloud: float = 20.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

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
    "time_series",
    "series_max_cloud",
    "timeout_s",
    "connect_timeout_s",
    "retries",
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
        center = box_center(aoi)
    elif bbox is not None:
        center = box_center(bbox)
    elif intersects is not None:
        point = shape(intersects).centroid
        center = (point.x, point.y)
    sign = options.get("sign")
    if sign is not None and sign not in SIGNERS:
        raise ValueError(f"stac: option sign={sign!r}; known signers: {sorted(SIGNERS)}")
    if sign is not None:
        try:
            check_signer(sign)
        except ImportError as exc:
            raise ValueError(str(exc)) from None
    calibration = options.get("s1_calibration", "sigma0")
    if calibration not in ("sigma0", "none"):
        raise ValueError("stac: option s1_calibration must be 'sigma0' or 'none'")
    dt = options.get("datetime")
    if dt is not None and not isinstance(dt, str):
        raise ValueError("stac: option datetime must be a string (RFC 3339 instant or interval)")
    time_series = options.get("time_series", False)
    if not isinstance(time_series, bool):
        raise ValueError("stac: option time_series must be true or false")
    max_cloud = options.get("series_max_cloud", 20.0)
    if isinstance(max_cloud, bool) or not isinstance(max_cloud, int | float) or max_cloud < 0:
        raise ValueError("stac: option series_max_cloud must be a number >= 0 (percent)")
    timeouts = {}
    for name, default in (
        ("timeout_s", DEFAULT_TIMEOUT_S),
        ("connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S),
    ):
        value = options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
            raise ValueError(f"stac: option {name}={value!r} must be seconds in (0, 3600]")
        timeouts[name] = float(value)
    retries = options.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ValueError(f"stac: option retries={retries!r} must be an integer from 0 to 10")
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
        time_series=time_series,
        series_max_cloud=float(max_cloud),
        timeout_s=timeouts["timeout_s"],
        connect_timeout_s=timeouts["connect_timeout_s"],
        retries=retries,
    )
