"""Finding STAC items: a static catalog's walk, an API search, one item fetched by id.

Holds :func:`walk_catalog`, which follows a static catalog's ``child`` and ``item`` links
(relative hrefs resolved against each JSON file, asset hrefs made local paths; a broken item
file is still indexed so that its failure is counted), :func:`item_matches`, which applies the
search filters (collections, bbox/intersects, datetime) to a catalog item,
:func:`search_api`, which searches a STAC API through pystac-client (paging, the query
extension, CQL2-JSON filters, sort, page size), and :func:`fetch_item` (STAC API - Features).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import shapely
from shapely.geometry import shape

from eoinstruct.sources.base import SourceError, SourceNotFoundError, json_loads
from eoinstruct.sources.stac.items import _TIME_FORMAT, acquisition_times
from eoinstruct.sources.stac.options import _Options


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


def search_api(opts: _Options, source: str) -> list[dict[str, Any]]:
    """Search a STAC API with pystac-client (it follows the ``next`` links page by page).

    Args:
        opts: The adapter's options (``api_url`` and the search filters).
        source: The adapter's name, for messages.

    Returns:
        The items found, as dicts.

    Raises:
        SourceNotFoundError: If the search fails.
    """
    from pystac_client import Client
    from pystac_client.exceptions import APIError

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
            f"{source}: search at {opts.api_url} failed: {exc}; check "
            "sources.stac.api_url and the search options in params.yaml"
        ) from exc


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

    def visit(path: Path, collection: str | None) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        node = load(path)
        if node is None:
            if key == catalog_path.resolve():
                raise SourceNotFoundError(
                    f"{source}: {path} is not a STAC catalog JSON; fix it or point "
                    "sources.stac.catalog in params.yaml at one"
                )
            return
        if node.get("type") == "Collection":
            collection = str(node.get("id"))
            collection_assets[collection] = dict(node.get("item_assets") or {})
        for link in node.get("links", []):
            if not isinstance(link, Mapping) or not isinstance(link.get("href"), str):
                continue
            target = _resolve(path, link["href"])
            if target is None:
                continue
            if link.get("rel") == "child":
                visit(target, collection)
            elif link.get("rel") == "item":
                _index_item(target, collection, items, item_paths)

    visit(catalog_path, None)


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


def fetch_item(api_url: str, unit: str) -> dict[str, Any]:
    """GET ``<api>/collections/<collection>/items/<id>`` (STAC API - Features).

    Args:
        api_url: The STAC API's root URL.
        unit: ``<collection>/<item id>``.

    Returns:
        The item as a dict.

    Raises:
        SourceError: ``missing_file`` if the item cannot be fetched, ``bad_metadata`` if the
            answer is not that item.
    """
    import requests

    collection, _, item_id = unit.partition("/")
    url = f"{api_url.rstrip('/')}/collections/{collection}/items/{item_id}"
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
