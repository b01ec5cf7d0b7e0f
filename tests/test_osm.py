"""Tests of OSM enrichment (pipeline/enrich/osm/) and the synthetic extract writer."""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import osmnx
import pytest
import shapely
from shapely.geometry import box

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.enrich.osm.extract import XmlTagger, load_xml_tagger
from eoinstruct.pipeline.enrich.osm.match import OsmConfig, OsmError, parse_footprint
from eoinstruct.pipeline.enrich.osm.overpass import OverpassTagger
from eoinstruct.pipeline.enrich.osm.tagger import enrich, tagger_from_params
from eoinstruct.pipeline.enrich.sample_extract import write_extract
from eoinstruct.pipeline.records import ImageRef, Labels, Sample

osmnx.settings.use_cache = False

# -- a hand-built world near (10 E, 50 N) ------------------------------------------------------
# Polygons are axis-aligned boxes so that the expected overlaps can be computed by hand.

NODES: dict[int, tuple[float, float, dict[str, str]]] = {
    1: (10.030, 50.090, {"amenity": "school;kindergarten", "name": "Schule"}),
    2: (10.095, 50.005, {"amenity": "cafe"}),
    3: (10.500, 50.500, {"power": "tower"}),
}
WAYS: dict[int, tuple[list[tuple[float, float]], dict[str, str]]] = {
    # highway: a line across A at 50.01 N
    100: ([(9.9, 50.01), (10.2, 50.01)], {"highway": "primary", "ref": "B 1"}),
    # a house wholly inside A, touching the EDGE footprint along x = 10.07
    101: (
        [(10.06, 50.085), (10.07, 50.085), (10.07, 50.095), (10.06, 50.095)],
        {"building": "house"},
    ),
    # farmland covering 30 % of A (x 10.00-10.03)
    102: ([(9.95, 49.95), (10.03, 49.95), (10.03, 50.15), (9.95, 50.15)], {"landuse": "farmland"}),
    # meadow covering 10 % of A (x 10.09-10.10), touching EDGE at x = 10.09
    103: ([(10.09, 49.95), (10.2, 49.95), (10.2, 50.15), (10.09, 50.15)], {"landuse": "meadow"}),
    # untagged rings of the water multipolygon: outer 10.02-10.08, hole 10.04-10.06
    201: ([(10.02, 50.02), (10.08, 50.02), (10.08, 50.08), (10.02, 50.08)], {}),
    202: ([(10.04, 50.04), (10.06, 50.04), (10.06, 50.06), (10.04, 50.06)], {}),
    # a river far to the north-east
    300: ([(11.0, 51.0), (11.1, 51.1)], {"waterway": "river"}),
    # a closed way without any configured key
    400: ([(10.01, 50.01), (10.02, 50.01), (10.02, 50.02)], {"barrier": "hedge"}),
}
CLOSED = {101, 102, 103, 201, 202}
RELATIONS = {
    500: ([(201, "outer"), (202, "inner")], {"type": "multipolygon", "natural": "water"}),
}

A = box(10.0, 50.0, 10.1, 50.1).wkt
HOLE = box(10.045, 50.045, 10.055, 50.055).wkt  # inside the water's hole only
EDGE = box(10.07, 50.07, 10.09, 50.09).wkt  # 25 % water; touches the house and the meadow
RIVER_AND_TOWER = box(10.45, 50.45, 11.05, 51.2).wkt
MISS = box(20.0, 20.0, 20.1, 20.1).wkt

A_TAGS = {
    "osm:amenity": "cafe;kindergarten;school",
    "osm:building": "house",
    "osm:highway": "primary",
    "osm:landuse": "farmland;meadow",
    "osm:natural": "water",
}


def _elements() -> list[dict]:
    """The world as Overpass JSON elements (nodes, ways with their vertex nodes, relations)."""
    elements: list[dict] = []
    next_id = 1000
    way_nodes: dict[int, list[int]] = {}
    for nid, (lon, lat, tags) in NODES.items():
        elements.append({"type": "node", "id": nid, "lat": lat, "lon": lon, "tags": tags})
    for wid, (coords, _) in WAYS.items():
        ids = []
        for lon, lat in coords:
            elements.append({"type": "node", "id": next_id, "lat": lat, "lon": lon})
            ids.append(next_id)
            next_id += 1
        way_nodes[wid] = [*ids, ids[0]] if wid in CLOSED else ids
    for wid, (_, tags) in WAYS.items():
        way = {"type": "way", "id": wid, "nodes": way_nodes[wid]}
        if tags:
            way["tags"] = tags
        elements.append(way)
    for rid, (members, tags) in RELATIONS.items():
        elements.append(
            {
                "type": "relation",
                "id": rid,
                "members": [{"type": "way", "ref": ref, "role": role} for ref, role in members],
                "tags": tags,
            }
        )
    return elements


def _xml(elements: list[dict]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for e in elements:
        attrs = f'id="{e["id"]}"'
        if e["type"] == "node":
            attrs += f' lat="{e["lat"]}" lon="{e["lon"]}"'
        lines.append(f" <{e['type']} {attrs}>")
        lines += [f'  <nd ref="{ref}"/>' for ref in e.get("nodes", [])]
        lines += [
            f'  <member type="{m["type"]}" ref="{m["ref"]}" role="{m["role"]}"/>'
            for m in e.get("members", [])
        ]
        lines += [f'  <tag k="{k}" v="{v}"/>' for k, v in e.get("tags", {}).items()]
        lines.append(f" </{e['type']}>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("osm") / "tiny.osm"
    path.write_text(_xml(_elements()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tagger(extract: Path) -> XmlTagger:
    return XmlTagger(extract, OsmConfig())


# -- the tagger on a local extract -------------------------------------------------------------


def test_footprint_with_points_lines_polygons_and_multipolygon(tagger: XmlTagger) -> None:
    assert len(tagger) == 9  # 3 nodes, 5 tagged ways with a configured key, 1 relation
    assert tagger.tags_for(A) == A_TAGS
    assert list(tagger.tags_for(A)) == sorted(A_TAGS)


def test_hole_partial_overlap_touching_and_miss(tagger: XmlTagger) -> None:
    # inside the multipolygon's hole: the water's bounding box contains it, the water does not
    assert tagger.tags_for(HOLE) == {}
    # partly over the water; the house and the meadow only touch its boundary
    assert tagger.tags_for(EDGE) == {"osm:natural": "water"}
    # a point and a line crossing it, nothing else
    assert tagger.tags_for(RIVER_AND_TOWER) == {"osm:power": "tower", "osm:waterway": "river"}
    assert tagger.tags_for(MISS) == {}


def test_min_overlap_and_min_inside(extract: Path) -> None:
    strict = XmlTagger(extract, OsmConfig(min_overlap=0.2))
    # farmland 30 % and water (36 % - 4 % hole = 32 %) stay; meadow (10 %) goes; the house
    # covers 1 % of A but lies wholly inside it; points and lines always count
    assert strict.tags_for(A) == {**A_TAGS, "osm:landuse": "farmland"}
    assert strict.tags_for(EDGE) == {"osm:natural": "water"}  # 25 % >= 20 %
    assert XmlTagger(extract, OsmConfig(min_overlap=0.3)).tags_for(EDGE) == {}
    no_inside = XmlTagger(extract, OsmConfig(min_overlap=0.2, min_inside=None))
    expected = {k: v for k, v in A_TAGS.items() if k != "osm:building"}
    assert no_inside.tags_for(A) == {**expected, "osm:landuse": "farmland"}
    # the water is 1/32 inside EDGE: min_inside 0.03 keeps it although it covers < 30 %
    loose = XmlTagger(extract, OsmConfig(min_overlap=0.3, min_inside=0.03))
    assert loose.tags_for(EDGE) == {"osm:natural": "water"}


def test_max_values_per_key_keeps_largest_then_alphabetical(extract: Path) -> None:
    one = XmlTagger(extract, OsmConfig(max_values_per_key=1))
    tags = one.tags_for(A)
    assert tags["osm:landuse"] == "farmland"  # 30 % beats 10 %
    assert tags["osm:amenity"] == "cafe"  # points tie: alphabetical
    two = XmlTagger(extract, OsmConfig(max_values_per_key=2))
    assert two.tags_for(A)["osm:amenity"] == "cafe;kindergarten"


def test_tag_keys_prefix_and_feature_count(extract: Path) -> None:
    config = OsmConfig(tag_keys=("landuse", "natural"), prefix="osm.", feature_count=True)
    tags = XmlTagger(extract, config).tags_for(A)
    assert tags == {
        "osm.feature_count": "3",
        "osm.landuse": "farmland;meadow",
        "osm.natural": "water",
    }
    counted = XmlTagger(extract, OsmConfig(feature_count=True))
    assert counted.tags_for(A)["osm:feature_count"] == "7"
    assert "osm:feature_count" not in counted.tags_for(MISS)


def test_gzipped_extract_and_cached_loading(extract: Path, tmp_path: Path) -> None:
    gz = tmp_path / "tiny.osm.gz"
    gz.write_bytes(gzip.compress(extract.read_bytes()))
    assert XmlTagger(gz, OsmConfig()).tags_for(A) == A_TAGS
    first = load_xml_tagger(extract, OsmConfig())
    assert load_xml_tagger(extract, OsmConfig()) is first
    assert load_xml_tagger(extract, OsmConfig(min_overlap=0.5)) is not first


def test_invalid_footprint_raises(tagger: XmlTagger) -> None:
    for bad in ("", "POLYGON ((0 0, 1 1", "POINT (10 50)", box(10, 50, 200, 51).wkt):
        assert parse_footprint(bad) is None
        with pytest.raises(OsmError, match="footprint"):
            tagger.tags_for(bad)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.osm", None, "not found"),
        ("truncated.osm", _xml(_elements())[:700], "malformed"),
        ("garbage.osm", "this is not xml\n", "not readable XML"),
        ("html.osm", "<html><body>404</body></html>", "not OSM XML"),
        ("bad_lat.osm", '<osm version="0.6"><node id="1" lat="north" lon="1"/></osm>', "malformed"),
        ("bad.osm.gz", "not gzip", "not readable XML"),
    ],
)
def test_bad_extract_raises_osm_error_naming_the_file(
    tmp_path: Path, name: str, content: str | None, match: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(OsmError, match=match) as info:
        XmlTagger(path, OsmConfig())
    assert str(path) in str(info.value)


def test_extract_without_matching_features_tags_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm"
    path.write_text('<osm version="0.6"><node id="1" lat="50" lon="10"/></osm>\n')
    empty = XmlTagger(path, OsmConfig())
    assert len(empty) == 0
    assert empty.tags_for(A) == {}


def test_config_validation() -> None:
    assert OsmConfig.from_mapping({}) == OsmConfig()
    section = {"enabled": True, "extract": "x.osm", "tag_keys": ["landuse"], "min_inside": None}
    config = OsmConfig.from_mapping(section)
    assert config.tag_keys == ("landuse",)
    assert config.min_inside is None
    for bad in (
        {"min_overlap": 1.5},
        {"max_values_per_key": 0},
        {"tag_keys": "landuse"},
        {"tag_keys": []},
        {"prefix": ""},
        {"min_overlap": "lots"},
        {"tag_kyes": ["landuse"]},
    ):
        with pytest.raises(ConfigError):
            OsmConfig.from_mapping(bad)


def test_tagger_from_params(extract: Path) -> None:
    assert tagger_from_params({"enabled": False}) is None
    tagger = tagger_from_params({"extract": extract.name}, base=extract.parent)
    assert isinstance(tagger, XmlTagger)
    assert tagger.tags_for(A) == A_TAGS
    overpass = tagger_from_params({"overpass_url": "http://127.0.0.1:9/api", "rate_limit": False})
    assert isinstance(overpass, OverpassTagger)
    with pytest.raises(ConfigError, match="neither"):
        tagger_from_params({"enabled": True})
    with pytest.raises(OsmError, match="not found"):
        tagger_from_params({"extract": "nowhere/none.osm"})


# -- enrich() ----------------------------------------------------------------------------------


def _sample(footprint: str, tags: dict[str, str]) -> Sample:
    image = ImageRef("image", ("x.png",), ("R", "G", "B"), "uint8", 8, 8)
    return Sample(
        sample_id="test:1",
        source="test",
        native_id="1",
        modality="rgb",
        sensor="camera",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt=footprint,
        acquired=(),
        images=(image,),
        tags=tags,
        labels=Labels(),
        licence="CC0-1.0",
    )


def test_enrich_merges_deterministically(tagger: XmlTagger) -> None:
    sample = _sample(A, {"sensor": "x", "osm:old": "stale", "acquired": "2020"})
    enriched = enrich(sample, tagger)
    assert enriched is not sample
    assert enriched.tags == {"acquired": "2020", "sensor": "x", **A_TAGS}
    assert list(enriched.tags) == sorted(enriched.tags)
    assert sample.tags == {"sensor": "x", "osm:old": "stale", "acquired": "2020"}
    assert enrich(enriched, tagger) == enriched  # idempotent
    assert enriched.footprint_wkt == sample.footprint_wkt and enriched.labels == sample.labels


def test_enrich_leaves_samples_without_usable_footprint_unchanged(tagger: XmlTagger) -> None:
    for footprint in ("", "   ", "POLYGON ((0 0"):
        sample = _sample(footprint, {"sensor": "x"})
        assert enrich(sample, tagger) is sample
    missed = enrich(_sample(MISS, {"sensor": "x", "osm:landuse": "old"}), tagger)
    assert missed.tags == {"sensor": "x"}


# -- Overpass, against a fake server on 127.0.0.1 ----------------------------------------------


class _FakeOverpass(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    queries: list[str] = []  # noqa: RUF012
    status = "2 slots available now."
    next_status: list[str] = []  # noqa: RUF012

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        # the slot check reads the 5th line; "N slots available now." means no wait
        text = "Connected as: 1\nCurrent time: x\nAnnounced endpoint: none\nRate limit: 2\n"
        queued = type(self).next_status
        status = queued.pop(0) if queued else type(self).status
        self._send(200, (text + status + "\n").encode(), "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        type(self).queries.append(form["data"][0])
        mode = type(self).mode
        if mode == "ok":
            self._send(200, json.dumps({"version": 0.6, "elements": _elements()}).encode())
        elif mode == "busy":
            self._send(429, b"Too Many Requests", "text/plain")
        elif mode == "remark":
            body = {"elements": [], "remark": 'runtime error: Query timed out in "query"'}
            self._send(200, json.dumps(body).encode())
        elif mode == "html":
            self._send(200, b"<html>maintenance</html>", "text/html")
        elif mode == "slow":
            time.sleep(3)
            self._send(200, json.dumps({"elements": []}).encode())


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the "slow" answer goes to a client that has given up


@pytest.fixture(scope="module")
def overpass() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _FakeOverpass)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def _overpass_tagger(url: str, **kwargs: object) -> OverpassTagger:
    return OverpassTagger(url, OsmConfig(), timeout_s=5, rate_limit=False, **kwargs)  # type: ignore[arg-type]


def test_overpass_gives_the_same_tags_as_the_extract(overpass: str, tagger: XmlTagger) -> None:
    _FakeOverpass.mode = "ok"
    _FakeOverpass.queries.clear()
    before = (osmnx.settings.overpass_url, osmnx.settings.requests_timeout)
    remote = _overpass_tagger(overpass)
    for footprint in (A, HOLE, EDGE, RIVER_AND_TOWER):
        assert remote.tags_for(footprint) == tagger.tags_for(footprint)
    query = _FakeOverpass.queries[0]
    assert "['landuse']" in query and "(poly:" in query and "[out:json]" in query
    assert (osmnx.settings.overpass_url, osmnx.settings.requests_timeout) == before


def test_overpass_with_rate_limit_reads_the_status(overpass: str) -> None:
    _FakeOverpass.mode = "ok"
    remote = OverpassTagger(overpass, OsmConfig(), timeout_s=5, rate_limit=True)
    started = time.monotonic()
    assert remote.tags_for(EDGE) == {"osm:natural": "water"}
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("mode", "match"),
    [("busy", "HTTP 429"), ("remark", "incomplete"), ("html", "not JSON"), ("slow", "timed out")],
)
def test_overpass_bad_answers_raise_quickly(overpass: str, mode: str, match: str) -> None:
    _FakeOverpass.mode = mode
    remote = OverpassTagger(overpass, OsmConfig(), timeout_s=1, rate_limit=False)
    started = time.monotonic()
    with pytest.raises(OsmError, match=match) as info:
        remote.tags_for(A)
    assert overpass in str(info.value)
    assert time.monotonic() - started < 2.5
    _FakeOverpass.mode = "ok"


def test_unreachable_overpass_raises_quickly() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    started = time.monotonic()
    with pytest.raises(OsmError, match="unreachable") as info:
        OverpassTagger(url, OsmConfig(), timeout_s=2, rate_limit=True).tags_for(A)
    assert url in str(info.value)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("status", "match"),
    [
        ("Slot available after: 2030-01-01T00:00:00Z, in 3600 seconds.", "no free query slot"),
        ("Currently running queries (pid, space limit, time limit, start time):", "no free"),
        ("<html>maintenance</html>", "status page not understood.*osm.rate_limit: false"),
    ],
)
def test_overpass_slot_wait_is_bounded(overpass: str, status: str, match: str) -> None:
    _FakeOverpass.mode, _FakeOverpass.status = "ok", status
    started = time.monotonic()
    try:
        with pytest.raises(OsmError, match=match):
            OverpassTagger(overpass, OsmConfig(), timeout_s=1, rate_limit=True).tags_for(A)
    finally:
        _FakeOverpass.status = "2 slots available now."
    assert time.monotonic() - started < 1.5  # osmnx alone: 60 s, or forever


def test_overpass_waits_for_a_slot_that_frees_soon(overpass: str) -> None:
    _FakeOverpass.mode = "ok"
    _FakeOverpass.next_status[:] = ["Slot available after: 2030-01-01T00:00:00Z, in 0 seconds."]
    started = time.monotonic()
    remote = OverpassTagger(overpass, OsmConfig(), timeout_s=5, rate_limit=True)
    assert remote.tags_for(EDGE) == {"osm:natural": "water"}
    assert 0.4 < time.monotonic() - started < 3 and not _FakeOverpass.next_status


@pytest.mark.parametrize("rate_limit", [True, False])
def test_overpass_that_never_answers_fails_within_the_timeout(rate_limit: bool) -> None:
    with socket.socket() as sock:  # accepts (the kernel does), never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        started = time.monotonic()
        with pytest.raises(OsmError, match=r"unreachable.*Timeout") as info:
            OverpassTagger(url, OsmConfig(), timeout_s=1, rate_limit=rate_limit).tags_for(A)
        assert time.monotonic() - started < 2
    assert url in str(info.value) and "osm.timeout_s" in str(info.value)


def test_overpass_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError):
        OverpassTagger("ftp://x", OsmConfig())
    with pytest.raises(ConfigError):
        OverpassTagger("http://x", OsmConfig(), timeout_s=0)


# -- the synthetic extract writer --------------------------------------------------------------

FOOTPRINTS = [
    box(-8.5, 40.2, -8.486, 40.211).wkt,  # a BigEarthNet-sized patch in Portugal
    box(-8.486, 40.2, -8.472, 40.211).wkt,  # its eastern neighbour
    box(-95.30, 29.70, -95.296, 29.704).wkt,  # an xBD-sized tile near Houston
    shapely.affinity.rotate(box(139.70, 35.60, 139.71, 35.61), 30).wkt,  # rotated, Tokyo
    box(-122.7, 38.4, -122.696, 38.404).wkt,
    box(24.9, 60.1, 24.91, 60.11).wkt,
]


def test_writer_is_deterministic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.osm", tmp_path / "sub" / "b.osm", tmp_path / "c.osm"
    write_extract(a, FOOTPRINTS, seed=3)
    write_extract(b, list(reversed(FOOTPRINTS)) + FOOTPRINTS[:2], seed=3)
    write_extract(c, FOOTPRINTS, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_written_extract_parses_and_tags_every_footprint(tmp_path: Path) -> None:
    path = tmp_path / "sample.osm"
    write_extract(path, FOOTPRINTS, seed=3)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6"')
    gdf = osmnx.features.features_from_xml(path)
    relations = gdf.loc["relation"]
    assert len(relations) == len(FOOTPRINTS)
    assert set(relations["type"]) == {"multipolygon"}
    assert all(g.geom_type == "Polygon" and len(g.interiors) == 1 for g in relations.geometry)
    for element in ("node", "way"):
        assert (gdf.loc[element].index > 1_000_000_000).all()
    strict = XmlTagger(path, OsmConfig(min_overlap=0.05, min_inside=0.5))
    for config_tagger in (XmlTagger(path, OsmConfig()), strict):
        for footprint in FOOTPRINTS:
            tags = config_tagger.tags_for(footprint)
            assert {"osm:landuse", "osm:natural", "osm:highway"} <= set(tags), footprint
    # some of the optional features appear somewhere
    everything = set()
    for footprint in FOOTPRINTS:
        everything |= set(XmlTagger(path, OsmConfig()).tags_for(footprint))
    assert len(everything) >= 6


def test_writer_rejects_non_polygons(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="footprint"):
        write_extract(tmp_path / "x.osm", ["POINT (1 2)"], seed=1)
    with pytest.raises(ValueError, match="footprint"):
        write_extract(tmp_path / "x.osm", ["nonsense"], seed=1)
    assert not (tmp_path / "x.osm").exists()
