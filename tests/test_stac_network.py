"""The STAC adapter on a network that misbehaves, with local servers on 127.0.0.1.

One threaded HTTP server plays a STAC API without ``conformsTo`` (Earth Search v0), one that
lists its conformance classes, and an asset host answering each way a remote read can fail
(HTTP 404/500/503, a reset connection, a corrupt file) with HTTP range support for GDAL's
``/vsicurl/``. A socket that listens but never accepts plays a server that never answers;
a closed port one that refuses. Antimeridian boxes are checked on crafted COGs in UTM zones
60 and 1 around Fiji.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform

from eoinstruct.pipeline.accounting import FailureKind
from eoinstruct.sources.base import FAILURE_KINDS, SourceError, SourceNotFoundError
from eoinstruct.sources.stac import network
from eoinstruct.sources.stac.adapter import STACScenes
from eoinstruct.sources.stac.options import _parse_options
from eoinstruct.sources.stac.search import fetch_item, item_matches, search_api, search_kwargs
from eoinstruct.sources.stac.signing import sign_href

GEOJSON = "application/geo+json"
FIJI = (180.0, -16.5)
"""A point on the antimeridian (Taveuni, Fiji)."""


def _item(item_id: str, lon: float, lat: float, href: str, epsg: int = 32613) -> dict[str, Any]:
    ring = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": "sentinel-2-l2a",
        "bbox": [lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1],
        "geometry": {"type": "Polygon", "coordinates": [[*ring, [lon - 0.1, lat + 0.1], ring[0]]]},
        "properties": {
            "datetime": "2023-07-24T17:55:00Z",
            "platform": "sentinel-2b",
            "constellation": "sentinel-2",
            "proj:epsg": epsg,
            "eo:cloud_cover": 1.0,
        },
        "assets": {"red": {"href": href, "type": "image/tiff; application=geotiff"}},
        "links": [],
    }


class _Handler(BaseHTTPRequestHandler):
    """Routes: ``/noconf``, ``/conf`` (a STAC API), ``/assets/<mode>/<any>.tif``."""

    files: ClassVar[dict[str, bytes]] = {}
    items: ClassVar[list[dict[str, Any]]] = []
    bodies: ClassVar[list[dict[str, Any]]] = []
    hits: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _landing(self, api: str) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}/{api}"
        landing: dict[str, Any] = {
            "type": "Catalog",
            "id": api,
            "stac_version": "1.0.0",
            "description": "test API",
            "links": [
                {"rel": "self", "href": base},
                {"rel": "root", "href": base},
                {"rel": "search", "href": f"{base}/search", "method": "POST", "type": GEOJSON},
                {"rel": "search", "href": f"{base}/search", "method": "GET", "type": GEOJSON},
            ],
        }
        if api == "conf":  # item search but no query extension
            landing["conformsTo"] = [
                "https://api.stacspec.org/v1.0.0/core",
                "https://api.stacspec.org/v1.0.0/item-search",
            ]
        elif api == "coreonly":
            landing["conformsTo"] = ["https://api.stacspec.org/v1.0.0/core"]
        self._send(200, json.dumps(landing).encode())

    def _search(self, body: dict[str, Any]) -> None:
        type(self).bodies.append(body)
        links = []
        if self.path.startswith("/loop/"):  # a next link back to the same page, forever
            base = f"http://127.0.0.1:{self.server.server_address[1]}/loop/search"
            links = [{"rel": "next", "href": f"{base}?page=2", "method": "GET", "type": GEOJSON}]
        page = {"type": "FeatureCollection", "features": type(self).items, "links": links}
        self._send(200, json.dumps(page).encode(), "application/geo+json")

    def _asset(self, head: bool) -> None:
        mode, name = self.path.split("/")[2], self.path.rsplit("/", 1)[-1]
        type(self).hits.append(mode)
        if mode in ("e404", "e500", "e503"):
            self._send(int(mode[1:]), b"", "text/plain")
            return
        if mode == "reset":  # close with RST, no answer
            linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            return
        data = type(self).files[f"{mode}/{name}"]
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if mode == "partial" and match and int(match[1]) >= 16384:
            self._send(503, b"", "text/plain")  # the header reads, the tiles do not
            return
        if match and int(match[1]) >= len(data):  # a truncated file: what a server answers
            self._send(416, b"", "text/plain")
            return
        if match:
            first = int(match[1])
            last = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
            body = data[first : last + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        if self.path.startswith("/assets/"):
            self._asset(head=True)
        else:
            self._send(405)

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        if path.startswith("/assets/"):
            self._asset(head=False)
        elif path.endswith("/search"):
            self._search({"get": self.path})
        elif path.strip("/") in ("noconf", "conf", "coreonly", "loop"):
            self._landing(path.strip("/"))
        elif re.fullmatch(r"/noconf/collections/[^/]+/items/[^/]+", path):
            found = [i for i in type(self).items if i["id"] == path.rsplit("/", 1)[-1]]
            self._send(200 if found else 404, json.dumps(found[0] if found else {}).encode())
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[-1]), b"{}")
        else:
            self._send(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self._search(json.loads(self.rfile.read(length) or b"{}"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # reset connections and clients that gave up


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def silent() -> Iterator[str]:
    """A server that accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _refused() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# -- options and the antimeridian --------------------------------------------------------------


def test_network_options_and_defaults(tmp_path: Path) -> None:
    opts = _parse_options({"chips_dir": str(tmp_path)})
    assert (opts.timeout_s, opts.connect_timeout_s, opts.retries) == (30.0, 10.0, 2)
    opts = _parse_options(
        {"chips_dir": str(tmp_path), "timeout_s": 2, "connect_timeout_s": 0.5, "retries": 0}
    )
    assert (opts.timeout_s, opts.connect_timeout_s, opts.retries) == (2.0, 0.5, 0)
    for bad in ({"timeout_s": 0}, {"timeout_s": True}, {"retries": -1}, {"retries": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _parse_options({"chips_dir": str(tmp_path), **bad})
    env = network.gdal_http_env(0.5, 2.2, 1)
    assert env["GDAL_HTTP_CONNECTTIMEOUT"] == 1 and env["GDAL_HTTP_TIMEOUT"] == 3
    assert env["GDAL_HTTP_MAX_RETRY"] == 1


def test_antimeridian_box_is_split_and_centred(tmp_path: Path) -> None:
    box = (170.0, -20.0, -170.0, -10.0)
    assert network.split_antimeridian(box) == [(170, -20, 180, -10), (-180, -20, -170, -10)]
    assert network.split_antimeridian((1.0, 2.0, 3.0, 4.0)) == [(1.0, 2.0, 3.0, 4.0)]
    assert network.box_center(box) == (180.0, -15.0)
    assert network.box_center((175.0, 0.0, -165.0, 2.0)) == (-175.0, 1.0)
    assert network.box_center((-10.0, 0.0, 30.0, 2.0)) == (10.0, 1.0)
    opts = _parse_options({"chips_dir": str(tmp_path), "bbox": list(box)})
    assert opts.bbox == box and opts.chip_center == (180.0, -15.0)
    aoi = _parse_options({"chips_dir": str(tmp_path), "aoi": [178, -17, -179, -16]})
    assert aoi.chip_center == (179.5, -16.5) and aoi.bbox == (178, -17, -179, -16)
    for bad in ([10, 0, 10, 1], [170, 5, -170, 1], [-181, 0, 10, 1]):
        with pytest.raises(ValueError, match="lon/lat box"):
            _parse_options({"chips_dir": str(tmp_path), "bbox": bad})
    # catalog matching: both sides of the line, not the rest of the globe
    sides = {lon: _item(f"i{lon}", lon, -15.0, "x.tif") for lon in (175.0, -175.0, 0.0, 160.0)}
    matched = sorted(lon for lon, item in sides.items() if item_matches(item, opts))
    assert matched == [-175.0, 175.0]
    # API search: one request, the two halves as an intersects MultiPolygon
    kwargs = search_kwargs(opts)
    assert "bbox" not in kwargs and kwargs["intersects"]["type"] == "MultiPolygon"
    halves = shapely.geometry.shape(kwargs["intersects"])
    assert [tuple(round(v) for v in g.bounds) for g in halves.geoms] == [
        (170, -20, 180, -10),
        (-180, -20, -170, -10),
    ]


def _utm_cog(
    path: Path, epsg: int, center: tuple[float, float], size: int = 80, compress: str = "none"
) -> None:
    (x,), (y,) = warp_transform("EPSG:4326", f"EPSG:{epsg}", [center[0]], [center[1]])
    x0, y0 = round(x / 10) * 10 - size * 5, round(y / 10) * 10 + size * 5
    values = (np.arange(size * size, dtype=np.uint16).reshape(size, size) % 5000) + 1000
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="uint16",
        crs=f"EPSG:{epsg}",
        transform=Affine(10, 0, x0, 0, -10, y0),
        nodata=0,
        tiled=True,
        blockxsize=32,
        blockysize=32,
        compress=compress,
    ) as dst:
        dst.write(values, 1)


def _catalog(root: Path, items: list[dict[str, Any]]) -> None:
    links = []
    for item in items:
        folder = root / item["id"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{item['id']}.json").write_text(json.dumps(item), encoding="utf-8")
        links.append({"rel": "item", "href": f"./{item['id']}/{item['id']}.json"})
    catalog = {
        "type": "Catalog",
        "id": "t",
        "stac_version": "1.0.0",
        "description": "t",
        "links": links,
    }
    (root / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")


def test_antimeridian_chip_grid_on_both_sides(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    root.mkdir()
    # the same spot seen from UTM zone 60 (west of the line) and zone 1 (east of it)
    _utm_cog(root / "z60.tif", 32660, (179.999, FIJI[1]))
    _utm_cog(root / "z01.tif", 32601, (-179.999, FIJI[1]))
    items = [
        _item("S2A_60KYF_20230724_0_L2A", 179.95, FIJI[1], str(root / "z60.tif"), 32660),
        _item("S2A_01KAA_20230724_0_L2A", -179.95, FIJI[1], str(root / "z01.tif"), 32601),
        _item("S2A_31NAA_20230724_0_L2A", 3.0, 0.0, str(root / "z01.tif"), 32601),
    ]
    _catalog(root, items)
    options = {
        "chips_dir": str(tmp_path / "chips"),
        "aoi": [179.5, -17.0, -179.5, -16.0],
        "assets": {"sentinel-2-l2a": ["red"]},
        "chip_size": 16,
    }
    adapter = STACScenes(root, options)
    units = adapter.list_units()
    assert units == [f"sentinel-2-l2a/{i['id']}" for i in sorted(items[:2], key=lambda i: i["id"])]
    for unit, epsg in zip(units, (32601, 32660), strict=True):
        (sample,) = adapter.read_unit(unit)
        assert sample.crs == f"EPSG:{epsg}"
        assert sample.labels.properties["chip_center"] == "180.000000,-16.500000"
        # the grid is centred on the line, in the item's own CRS, to the pixel
        (x,), (y,) = warp_transform("EPSG:4326", sample.crs, [FIJI[0]], [FIJI[1]])
        with rasterio.open(sample.images[0].files[0]) as chip:
            left, bottom, right, top = chip.bounds
            assert chip.width == chip.height == 16
            assert abs((left + right) / 2 - x) <= 10 and abs((bottom + top) / 2 - y) <= 10
            assert np.isfinite(chip.read(1)).all()
        # its footprint: two parts, one each side of the line, adding up to the chip
        footprint = shapely.from_wkt(sample.footprint_wkt)
        assert footprint.geom_type == "MultiPolygon" and len(footprint.geoms) == 2
        west, east = sorted(footprint.geoms, key=lambda g: -g.bounds[0])
        assert west.bounds[0] > 179.99 and west.bounds[2] == 180
        assert east.bounds[0] == -180 and east.bounds[2] < -179.99
        width_deg = west.bounds[2] - west.bounds[0] + east.bounds[2] - east.bounds[0]
        assert width_deg == pytest.approx(160 / (111_320 * np.cos(np.radians(16.5))), rel=0.02)


def test_a_catalog_chain_thousands_deep_is_walked(tmp_path: Path) -> None:
    depth = 1500  # deeper than Python's recursion limit (1000)
    _utm_cog(tmp_path / "red.tif", 32613, (-105.1019, 40.1672), size=32)
    item = _item("S2B_13TDE_20230724_0_L2A", -105.1019, 40.1672, str(tmp_path / "red.tif"))
    (tmp_path / "item.json").write_text(json.dumps(item), encoding="utf-8")
    for level in range(depth):
        rel = "item" if level == depth - 1 else "child"
        target = "item.json" if rel == "item" else f"c{level + 1}.json"
        node = {
            "type": "Catalog",
            "id": f"c{level}",
            "stac_version": "1.0.0",
            "description": "chain",
            "links": [{"rel": rel, "href": target}],
        }
        name = "catalog.json" if level == 0 else f"c{level}.json"
        (tmp_path / name).write_text(json.dumps(node), encoding="utf-8")
    adapter = STACScenes(tmp_path, {"chips_dir": str(tmp_path / "chips")})
    assert adapter.list_units() == ["sentinel-2-l2a/S2B_13TDE_20230724_0_L2A"]


# -- the STAC API: conformance and timeouts ----------------------------------------------------


def _api_opts(tmp_path: Path, url: str, **extra: Any) -> Any:
    return _parse_options(
        {"api_url": url, "chips_dir": str(tmp_path), "timeout_s": 1, "retries": 1, **extra}
    )


def test_api_without_conformsto_is_searched_with_a_warning(
    server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _Handler.items = [_item("a", 10.0, 10.0, "http://x/a.tif"), _item("b", 11.0, 10.0, "h.tif")]
    _Handler.bodies.clear()
    opts = _api_opts(tmp_path, f"{server}/noconf", query={"eo:cloud_cover": {"lt": 20}})
    with caplog.at_level(logging.WARNING, logger="eoinstruct.sources.stac.search"):
        found = search_api(opts, "stac")
    assert [i["id"] for i in found] == ["a", "b"]
    assert "no conformsTo" in caplog.text and "ITEM_SEARCH, QUERY" in caplog.text
    assert _Handler.bodies[-1]["query"] == {"eo:cloud_cover": {"lt": 20}}
    # the adapter lists them, and a crossing bbox goes out as one intersects search
    adapter = STACScenes(
        tmp_path,
        {"api_url": f"{server}/noconf", "chips_dir": str(tmp_path), "bbox": [170, -5, -170, 5]},
    )
    assert adapter.list_units() == ["sentinel-2-l2a/a", "sentinel-2-l2a/b"]
    assert _Handler.bodies[-1]["intersects"]["type"] == "MultiPolygon"
    assert "bbox" not in _Handler.bodies[-1]


def test_a_next_link_loop_ends(
    server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _Handler.items = [_item("a", 10.0, 10.0, "http://x/a.tif"), _item("b", 11.0, 10.0, "h.tif")]
    _Handler.bodies.clear()
    with caplog.at_level(logging.WARNING, logger="eoinstruct.sources.stac.search"):
        found = search_api(_api_opts(tmp_path, f"{server}/loop"), "stac")
    assert [i["id"] for i in found] == ["a", "b"] and len(_Handler.bodies) == 2
    assert "next-link loop" in caplog.text


@pytest.mark.parametrize(
    ("api", "extra", "match"),
    [
        ("conf", {"query": {"eo:cloud_cover": {"lt": 20}}}, "QUERY.*sources.stac.query"),
        ("conf", {"sortby": [{"field": "id", "direction": "asc"}]}, "SORT.*sources.stac.sortby"),
        ("coreonly", {}, "ITEM_SEARCH.*point sources.stac.api_url"),
    ],
)
def test_api_lacking_a_conformance_class_says_what_to_do(
    server: str, tmp_path: Path, api: str, extra: dict[str, Any], match: str
) -> None:
    _Handler.items = [_item("a", 10.0, 10.0, "http://x/a.tif")]
    with pytest.raises(SourceNotFoundError, match=match) as info:
        search_api(_api_opts(tmp_path, f"{server}/{api}", **extra), "stac")
    assert "\n" not in str(info.value) and "does not conform" in str(info.value)


def test_silent_or_absent_api_fails_within_the_timeout(silent: str, tmp_path: Path) -> None:
    for url, match in ((silent, "timed out"), (_refused(), "search failed")):
        started = time.monotonic()
        with pytest.raises(SourceNotFoundError, match=match) as info:
            search_api(_api_opts(tmp_path, url, retries=0), "stac")
        assert time.monotonic() - started < 2.5  # timeout_s 1, no retry of a read timeout
        assert "\n" not in str(info.value) and "sources.stac.timeout_s" in str(info.value)


def test_item_fetch_kinds_and_timeout(server: str, silent: str, tmp_path: Path) -> None:
    _Handler.items = [_item("a", 10.0, 10.0, "http://x/a.tif")]
    opts = _api_opts(tmp_path, f"{server}/noconf", retries=0)
    assert fetch_item(f"{server}/noconf", "sentinel-2-l2a/a", opts)["id"] == "a"
    with pytest.raises(SourceError) as info:
        fetch_item(f"{server}/noconf", "sentinel-2-l2a/zz", opts)
    assert info.value.kind == "missing_file"
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        fetch_item(silent, "sentinel-2-l2a/a", opts)
    assert info.value.kind == "network" and time.monotonic() - started < 2.5
    with pytest.raises(SourceError) as info:
        fetch_item(_refused(), "sentinel-2-l2a/a", opts)
    assert info.value.kind == "network"


# -- assets over HTTP: network failures are not corrupt rasters --------------------------------


@pytest.fixture(scope="module")
def asset_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("cog") / "red.tif"
    _utm_cog(path, 32613, (-105.1019, 40.1672), size=64, compress="deflate")
    return path.read_bytes()


def _remote_adapter(tmp_path: Path, href: str, **extra: Any) -> tuple[STACScenes, str]:
    root = tmp_path / "cat"
    root.mkdir(parents=True, exist_ok=True)
    item = _item("S2B_13TDE_20230724_0_L2A", -105.1019, 40.1672, href)
    _catalog(root, [item])
    options = {
        "chips_dir": str(tmp_path / "chips"),
        "chip_center": [-105.1019, 40.1672],
        "chip_size": 16,
        "assets": {"sentinel-2-l2a": ["red"]},
        "timeout_s": 1,
        "connect_timeout_s": 1,
        "retries": 0,
        **extra,
    }
    adapter = STACScenes(root, options)
    return adapter, f"sentinel-2-l2a/{item['id']}"


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("ok", None),
        ("e500", "network"),
        ("e503", "network"),
        ("reset", "network"),
        ("e404", "missing_file"),
        ("corrupt", "corrupt_raster"),
    ],
)
def test_remote_asset_failures_are_classified(
    server: str, asset_bytes: bytes, tmp_path: Path, mode: str, kind: str | None
) -> None:
    # a fresh name per test: GDAL caches what it learnt about a URL for the process
    name = f"{mode}-{tmp_path.name}.tif"
    _Handler.files[f"ok/{name}"] = asset_bytes
    # corrupt: the header intact, the tiles' compressed bytes garbage
    junk = bytes(np.random.default_rng(0).integers(0, 256, len(asset_bytes), dtype=np.uint8))
    _Handler.files[f"corrupt/{name}"] = asset_bytes[:600] + junk[600:]
    adapter, unit = _remote_adapter(tmp_path, f"{server}/assets/{mode}/{name}")
    if kind is None:
        (sample,) = adapter.read_unit(unit)
        with rasterio.open(sample.images[0].files[0]) as chip:
            assert np.isfinite(chip.read(1)).all()
        return
    with pytest.raises(SourceError) as info:
        adapter.read_unit(unit)
    assert info.value.kind == kind, str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("rasterio_level", [logging.NOTSET, logging.ERROR])
def test_remote_tiles_failing_is_network_missing_is_corrupt(
    tmp_path: Path, server: str, rasterio_level: int, request: pytest.FixtureRequest
) -> None:
    # ERROR: what the CLI sets (rasterio's warnings silenced); GDAL's messages still classify
    logger = logging.getLogger("rasterio")
    request.addfinalizer(lambda level=logger.level: logger.setLevel(level))
    logger.setLevel(rasterio_level)
    big = tmp_path / "big.tif"
    _utm_cog(big, 32613, (-105.1019, 40.1672), size=512, compress="deflate")
    data = big.read_bytes()
    assert len(data) > 4 * 16384
    name = f"big-{tmp_path.name}.tif"
    _Handler.files[f"partial/{name}"] = data
    adapter, unit = _remote_adapter(tmp_path, f"{server}/assets/partial/{name}")
    with pytest.raises(SourceError) as info:
        adapter.read_unit(unit)
    assert info.value.kind == "network" and "cannot read window" in str(info.value)
    # the same file truncated on the server (tiles past its end): corrupt, not the network
    _Handler.files[f"truncated/{name}"] = data[: len(data) // 3]
    adapter, unit = _remote_adapter(tmp_path / "t", f"{server}/assets/truncated/{name}")
    with pytest.raises(SourceError) as info:
        adapter.read_unit(unit)
    assert info.value.kind == "corrupt_raster", str(info.value)


def test_remote_asset_silent_or_refused_is_network(
    silent: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for index, base in enumerate((silent, _refused())):
        adapter, unit = _remote_adapter(tmp_path / str(index), f"{base}/red-{index}.tif")
        started = time.monotonic()
        with pytest.raises(SourceError) as info:
            adapter.read_unit(unit)
        assert info.value.kind == "network", str(info.value)
        assert time.monotonic() - started < 3.5  # timeout_s 1, GDAL's seconds are whole
        assert "sources.stac.timeout_s" in str(info.value)


def test_network_retries_bounded_and_signature_not_shown(
    server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _Handler.hits.clear()
    href = f"{server}/assets/e503/x-{tmp_path.name}.tif?sig=SECRET"
    adapter, unit = _remote_adapter(tmp_path, href, retries=1)
    started = time.monotonic()
    with (
        pytest.raises(SourceError) as info,
        caplog.at_level(logging.WARNING),
        caplog.at_level(logging.WARNING, logger="rasterio"),
    ):
        adapter.read_unit(unit)
    assert "Retrying" in caplog.text and "SECRET" not in caplog.text  # GDAL's retry warning
    assert info.value.kind == "network" and "SECRET" not in str(info.value)
    assert 2 <= _Handler.hits.count("e503") <= 4  # one try, one retry (GDAL may HEAD first)
    assert time.monotonic() - started < 5


def test_network_is_a_declared_failure_kind() -> None:
    assert "network" in FAILURE_KINDS and FailureKind.NETWORK == "network"
    assert network.network_kind("CURL error: Operation timed out after 1000 ms") == "network"
    assert network.network_kind("HTTP response code: 404") == "missing_file"
    assert network.network_kind("HTTP response code: 502") == "network"
    assert network.network_kind("TIFFReadEncodedTile() failed.") is None
    assert network.public_href("https://a/b.tif?se=1&sig=x") == "https://a/b.tif?…"
    assert network.public_href("/data/b.tif") == "/data/b.tif"


def test_planetary_computer_token_request_times_out(
    silent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pc = pytest.importorskip("planetary_computer")

    class Settings:
        sas_url = f"{silent}/api/sas/v1/token"
        subscription_key = None

    monkeypatch.setattr(pc.sas.Settings, "get", staticmethod(lambda: Settings))
    monkeypatch.setattr(pc.sas, "TOKEN_CACHE", {})
    href = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/60/V/UK/B04_10m.tif"
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        sign_href("planetary_computer", href, "u", (1.0, 1.0), 0)
    assert info.value.kind == "network" and "cannot sign" in str(info.value)
    assert time.monotonic() - started < 2.5
