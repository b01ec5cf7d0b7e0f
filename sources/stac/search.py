"""Finding STAC items: a static catalog's walk, an API search, one item fetched by id.

Holds :func:`walk_catalog`, which follows a static catalog's ``child`` and ``item`` links
(relative hrefs resolved against each JSON file, asset hrefs made local paths; a broken item
file is still indexed so that its failure is counted), :func:`item_matches`, which applies the
search filters (collections, bbox/intersects, datetime) to a catalog item,
:func:`search_api`, which searches a STAC API through pystac-client (paging, the query
extension, CQL2-JSON filters, sort, page size; timeouts, retries, APIs without
``conformsTo``, antimeridian boxes: :mod:`~eoinstruct.sources.stac.network`), and
:func:`fetch_item` (STAC API - Features).
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import shapely
from shapely.geometry import shape

from eoinstruct.sources.base import SourceError, SourceNotFoundError, json_loads
from eoinstruct.sources.stac.items import _TIME_FORMAT, acquisition_times
from eoinstruct.sources.stac.network import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    MISSING_STATUSES,
    RETRY_STATUSES,
    api_retry,
    crosses_antimeridian,
    requests_timeout,
    split_antimeridian,
)
from eoinstruct.sources.stac.options import _Options

log = logging.getLogger(__name__)


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


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def search_kwargs(opts: _Options) -> dict[str, Any]:
    """The keyword arguments of pystac-client's ``Client.search`` for the options.

    A ``bbox`` crossing the antimeridian (``west > east``) is sent as an ``intersects``
    MultiPolygon of its two halves (:func:`~eoinstruct.sources.stac.network.split_antimeridian`).

    Args:
        opts: The adapter's options.

    Returns:
        The search filters, paging and extension options that are set.
    """
    kwargs: dict[str, Any] = {}
    for name in ("collections", "bbox", "intersects", "datetime", "query", "sortby"):
        value = getattr(opts, name)
        if value is not None:
            kwargs[name] = list(value) if isinstance(value, tuple) else value
    if opts.bbox is not None and crosses_antimeridian(opts.bbox):
        del kwargs["bbox"]
        kwargs["intersects"] = {
            "type": "MultiPolygon",
            "coordinates": [
                [[[w, s], [e, s], [e, n], [w, n], [w, s]]]
                for w, s, e, n in split_antimeridian(opts.bbox)
            ],
        }
    if opts.filter is not None:
        kwargs["filter"] = opts.filter
        kwargs["filter_lang"] = "cql2-json"
    if opts.max_items is not None:
        kwargs["max_items"] = opts.max_items
    if opts.limit is not None:
        kwargs["limit"] = opts.limit
    return kwargs


_CLASSES = (
    ("ITEM_SEARCH", "api_url", "/item-search"),
    ("QUERY", "query", "/item-search#query"),
    ("FILTER", "filter", "/item-search#filter"),
    ("SORT", "sortby", "/item-search#sort"),
)
"""pystac-client conformance name, the option that needs it, how its conformsTo URI ends."""


def _needed_classes(opts: _Options) -> list[tuple[str, str, str]]:
    return [c for c in _CLASSES if c[1] == "api_url" or getattr(opts, c[1]) is not None]


def _missing_class(conforms_to: list[str], opts: _Options) -> tuple[str, str] | None:
    """The first conformance class the options need that the API does not list.

    Any version of a class counts (stac-fastapi lists ``v1.1.0/item-search#sort``, which
    pystac-client's ``v1.0.*`` patterns would refuse).
    """
    for name, option, ending in _needed_classes(opts):
        if not any(str(uri).rstrip("/").endswith(ending) for uri in conforms_to):
            return name, option
    return None


def _items_of_pages(pages: Iterator[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """The items of the search pages, stopping at a page that brings nothing new.

    A server whose ``next`` link leads back to pages already read would otherwise be followed
    forever (pystac-client stops only at an empty page or ``max_items``).
    """
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for number, page in enumerate(pages, start=1):
        features = [f for f in page.get("features", []) if isinstance(f, dict)]
        keys = [(str(f.get("collection")), str(f.get("id"))) for f in features]
        if not set(keys) - seen:
            log.warning(
                "%s: search page %d repeats items already read (a next-link loop); stopping "
                "with %d items",
                where,
                number,
                len(items),
            )
            break
        for key, feature in zip(keys, features, strict=True):
            if key not in seen:
                seen.add(key)
                items.append(dict(feature))
    return items


def search_api(opts: _Options, source: str) -> list[dict[str, Any]]:
    """Search a STAC API with pystac-client (it follows the ``next`` links page by page).

    Every request (landing page, each search page) has the ``connect_timeout_s`` /
    ``timeout_s`` timeout and ``retries`` retries
    (:func:`~eoinstruct.sources.stac.network.api_retry`).
    An API whose landing page has no ``conformsTo`` (Earth Search v0, older stac-server) is
    assumed to support item search and the extensions the options use, with a logged
    warning; an API that lists its conformance classes but not one the options need (any
    version) is an error naming the option.

    Args:
        opts: The adapter's options (``api_url`` and the search filters).
        source: The adapter's name, for messages.

    Returns:
        The items found, as dicts.

    Raises:
        SourceNotFoundError: If the search fails (one line: the API, what failed, what to do).
    """
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO
    from pystac_client.warnings import DoesNotConformTo, NoConformsTo

    where = f"{source}: STAC API {opts.api_url}"
    timeout = requests_timeout(opts.connect_timeout_s, opts.timeout_s)
    stac_io = StacApiIO(timeout=timeout, max_retries=api_retry(opts.retries))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoConformsTo)
            warnings.simplefilter("error", DoesNotConformTo)
            client = Client.open(str(opts.api_url), stac_io=stac_io, timeout=timeout)
            needed = [name for name, _, _ in _needed_classes(opts)]
            if not client.has_conforms_to():
                log.warning(
                    "%s: the landing page lists no conformsTo (an older STAC API such as "
                    "Earth Search v0); assuming it supports %s",
                    where,
                    ", ".join(needed),
                )
            else:
                missing = _missing_class(client.get_conforms_to(), opts)
                if missing is not None:
                    raise DoesNotConformTo(*missing)
            for name in needed:
                client.add_conforms_to(name)
            search = client.search(**search_kwargs(opts))
            return _items_of_pages(search.pages_as_dicts(), where)
    except DoesNotConformTo as exc:
        name = str(exc.args[0]) if exc.args else "?"
        option = {c[0]: c[1] for c in _CLASSES}.get(name, name.lower())
        remedy = (
            "point sources.stac.api_url at a STAC API with item search"
            if option == "api_url"
            else f"remove sources.stac.{option} from params.yaml or use an API that supports it"
        )
        raise SourceNotFoundError(
            f"{where} does not conform to {name} (its conformsTo lacks it); {remedy}"
        ) from None
    except (APIError, OSError, ValueError, requests.RequestException) as exc:
        raise SourceNotFoundError(
            f"{where}: search failed: {_one_line(exc)}; check sources.stac.api_url and the "
            "search options, or raise sources.stac.timeout_s / retries in params.yaml"
        ) from None


def walk_catalog(
    catalog_path: Path,
    source: str,
    items: dict[str, dict[str, Any]],
    item_paths: dict[str, Path],
    collection_assets: dict[str, dict[str, Any]],
) -> None:
    """Index every item under a static catalog: unit → item dict and path.

    Args:
        catalog_path: The catalog's root JSON.
        source: The adapter's name, for messages.
        items: Filled with unit → item dict (asset hrefs made local paths).
        item_paths: Filled with unit → item JSON path.
        collection_assets: Filled with collection id → its ``item_assets``.

    Raises:
        SourceNotFoundError: If the root JSON is not a STAC catalog.
    """
    seen: set[Path] = set()

    def load(path: Path) -> dict[str, Any] | None:
        try:
            value = json_loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return value if isinstance(value, dict) else None

    Frame = tuple[Path, str | None, Iterator[Any]]

    def open_node(path: Path, collection: str | None) -> Frame | None:
        key = path.resolve()
        if key in seen:
            return None
        seen.add(key)
        node = load(path)
        if node is None:
            if key == catalog_path.resolve():
                raise SourceNotFoundError(
                    f"{source}: {path} is not a STAC catalog JSON; fix it or point "
                    "sources.stac.catalog in params.yaml at one"
                )
            return None
        if node.get("type") == "Collection":
            collection = str(node.get("id"))
            collection_assets[collection] = dict(node.get("item_assets") or {})
        links = node.get("links")
        return path, collection, iter(links if isinstance(links, list) else [])

    # Depth first, in link order, with an explicit stack: a chain of child catalogs
    # thousands deep is walked, not a RecursionError.
    stack = [frame for frame in (open_node(catalog_path, None),) if frame is not None]
    while stack:
        path, collection, links = stack[-1]
        link = next(links, None)
        if link is None:
            stack.pop()
            continue
        if not isinstance(link, Mapping) or not isinstance(link.get("href"), str):
            continue
        target = _resolve(path, link["href"])
        if target is None:
            continue
        if link.get("rel") == "child":
            child = open_node(target, collection)
            if child is not None:
                stack.append(child)
        elif link.get("rel") == "item":
            _index_item(target, collection, items, item_paths)


def _index_item(
    path: Path,
    collection: str | None,
    items: dict[str, dict[str, Any]],
    item_paths: dict[str, Path],
) -> None:
    try:
        item = json_loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        item = None
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        # A broken item file is still a unit, so that its failure is counted.
        stem = path.stem
        unit = f"{collection or '_'}/{stem}"
        item_paths[unit] = path
        items[unit] = {"id": stem, "collection": collection, "_broken": str(path)}
        return
    item.setdefault("collection", collection)
    for asset in item.get("assets", {}).values():
        if isinstance(asset, dict) and isinstance(asset.get("href"), str):
            target = _resolve(path, asset["href"])
            if target is not None:
                asset["href"] = str(target)
    unit = f"{item.get('collection')}/{item['id']}"
    item_paths[unit] = path
    items[unit] = item


def item_matches(item: Mapping[str, Any], opts: _Options) -> bool:
    """Apply collections, bbox/intersects and datetime to a catalog item.

    Args:
        item: The item as a dict (or the stand-in of a broken item file).
        opts: The adapter's options.

    Returns:
        Whether the item passes the search filters (an item whose time cannot be read passes:
        reading it reports the bad time).
    """
    if "_broken" in item:
        return opts.collections is None or item.get("collection") in opts.collections
    if opts.collections is not None and item.get("collection") not in opts.collections:
        return False
    area = None
    if opts.bbox is not None:
        area = shapely.union_all([shapely.box(*b) for b in split_antimeridian(opts.bbox)])
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


def fetch_item(api_url: str, unit: str, opts: _Options | None = None) -> dict[str, Any]:
    """GET ``<api>/collections/<collection>/items/<id>`` (STAC API - Features).

    Args:
        api_url: The STAC API's root URL.
        unit: ``<collection>/<item id>``.
        opts: The adapter's options (timeouts and retries; the defaults without).

    Returns:
        The item as a dict.

    Raises:
        SourceError: ``network`` if the API cannot be reached, times out or answers HTTP
            429/5xx; ``missing_file`` if it has no such item (HTTP 404/410) or answers another
            status; ``bad_metadata`` if the answer is not that item.
    """
    import requests
    from requests.adapters import HTTPAdapter

    connect_s = opts.connect_timeout_s if opts else DEFAULT_CONNECT_TIMEOUT_S
    read_s = opts.timeout_s if opts else DEFAULT_TIMEOUT_S
    retries = opts.retries if opts else DEFAULT_RETRIES
    collection, _, item_id = unit.partition("/")
    url = f"{api_url.rstrip('/')}/collections/{collection}/items/{item_id}"
    try:
        with requests.Session() as session:
            session.mount("http://", HTTPAdapter(max_retries=api_retry(retries)))
            session.mount("https://", HTTPAdapter(max_retries=api_retry(retries)))
            response = session.get(
                url,
                timeout=requests_timeout(connect_s, read_s),
                headers={"Accept": "application/geo+json"},
            )
    except requests.RequestException as exc:
        raise SourceError(
            "network",
            f"cannot fetch {url}: {_one_line(exc)}; a later run may succeed, or raise "
            "sources.stac.timeout_s / retries in params.yaml",
            unit,
        ) from None
    status = response.status_code
    if str(status) in MISSING_STATUSES:
        raise SourceError("missing_file", f"{url}: no such item (HTTP {status})", unit)
    if status in RETRY_STATUSES:
        raise SourceError("network", f"{url}: HTTP {status} after {retries} retries", unit)
    if status != 200:
        raise SourceError("missing_file", f"{url}: HTTP {status}", unit)
    try:
        item = response.json()
    except (ValueError, RecursionError) as exc:
        raise SourceError("bad_metadata", f"{url}: not JSON: {_one_line(exc)}", unit) from None
    if not isinstance(item, dict) or item.get("id") != item_id:
        raise SourceError("bad_metadata", f"{url}: not the item {item_id}", unit)
    return item
