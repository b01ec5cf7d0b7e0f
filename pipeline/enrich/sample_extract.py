"""Write a synthetic OpenStreetMap XML extract around the sample corpus' footprints.

What is real (the OSM XML format, https://wiki.openstreetmap.org/wiki/OSM_XML, and the OSM
data model, https://wiki.openstreetmap.org/wiki/Elements):

- an ``<osm version="0.6">`` document with a ``<bounds>`` element, then ``<node>``,
  ``<way>`` and ``<relation>`` elements in that order, each sorted by id, with the attributes
  the OSM API writes (``id``, ``visible``, ``version``, ``changeset``, ``timestamp``,
  ``user``, ``uid``; ``lat``/``lon`` with 7 decimals on nodes), ``<nd ref>`` lists on ways
  and ``<member type ref role>`` lists on relations, ``<tag k v>`` children;
- the modelling conventions: areas as closed ways (first node repeated last), neighbouring
  land-use areas sharing their boundary nodes, a ``type=multipolygon`` relation whose outer
  ring is split over two untagged ways and whose inner ring (an island or clearing) is a
  third, tags on the relation; a power line whose vertices are tagged ``power=tower`` nodes;
- tags from the OSM "Map features" wiki page (``landuse=farmland``/``meadow``/``residential``,
  ``natural=water``/``wood`` with ``water=lake``/``leaf_type``, ``building=yes``/``house``,
  ``highway=primary``/``residential`` with ``name``/``ref``/``surface``,
  ``amenity=school``, ``waterway=river``, ``power=line``/``tower``…);
- id ranges of today's database (nodes above 10 000 000 000, ways above 1 000 000 000,
  relations above 15 000 000).

What is synthetic: every element. Around each footprint (a lon/lat WKT polygon) the writer
places, relative to the footprint's bounding box: two land-use areas splitting it
(extending 20 % beyond it), a natural multipolygon with a hole near its centre, a road
crossing it, and a random choice of buildings, a school, a river, a power line, a park, a
railway, a water tower and a place of worship. So every footprint gets at least the keys
``landuse``, ``natural`` and ``highway`` (3 tag keys) under the default tagging rules.
Footprints may be anywhere and far apart; identical footprints are written once. The
``generator`` attribute says the data are synthetic.

The output depends only on the set of footprints and the seed (each footprint's elements
are drawn from a generator seeded by the seed and a hash of its WKT), and is byte-identical
for the same inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from shapely.errors import ShapelyError

from eoinstruct.pipeline.io.atomic import atomic_path

GENERATOR = "eoinstruct sample_corpus (synthetic data, not OpenStreetMap)"
"""Value of the root ``generator`` attribute."""

FIRST_NODE_ID = 11_200_000_000
FIRST_WAY_ID = 1_210_000_000
FIRST_RELATION_ID = 16_800_000

MARGIN = 0.2
"""How far (as a fraction of the footprint's width/height) land use and roads extend beyond it."""

_USERS: tuple[tuple[str, int], ...] = (
    ("mapper_ana", 1843021),
    ("geo_tom", 402117),
    ("landcover_fixer", 9981234),
    ("riverside_survey", 5512890),
    ("osm_paula", 12004567),
    ("kartograf_jan", 733410),
)
_EPOCH = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
_SPAN_S = 10 * 365 * 86400

_LANDUSE_A = ("residential", "farmland", "industrial", "commercial", "farmyard")
_LANDUSE_B = ("farmland", "meadow", "forest", "grass", "orchard", "vineyard")
_ROADS = (
    ("primary", "B 27"),
    ("secondary", "L 1180"),
    ("tertiary", ""),
    ("residential", ""),
    ("unclassified", ""),
)
_STREETS = ("Mill Road", "Church Street", "Station Road", "River Lane", "Oak Avenue")
_WATERS = (("water", "lake"), ("water", "pond"), ("water", "reservoir"))
_WOODS = (("wood", "broadleaved"), ("wood", "needleleaved"), ("wood", "mixed"))
_HOUSES = ("house", "yes", "detached", "residential")


@dataclass
class _Element:
    kind: str
    id: int
    tags: dict[str, str]
    meta: tuple[int, int, str, str, int]
    lat: float = 0.0
    lon: float = 0.0
    nodes: list[int] = field(default_factory=list)
    members: list[tuple[str, int, str]] = field(default_factory=list)


class _Builder:
    """Allocates ids and collects the elements of one extract."""

    def __init__(self) -> None:
        self.next = {"node": FIRST_NODE_ID, "way": FIRST_WAY_ID, "relation": FIRST_RELATION_ID}
        self.elements: list[_Element] = []

    @staticmethod
    def _meta(rng: np.random.Generator) -> tuple[int, int, str, str, int]:
        version = int(rng.integers(1, 9))
        changeset = int(rng.integers(20_000_000, 150_000_000))
        stamp = _EPOCH + dt.timedelta(seconds=int(rng.integers(0, _SPAN_S)))
        user, uid = _USERS[int(rng.integers(len(_USERS)))]
        return version, changeset, stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), user, uid

    def _new(self, kind: str, rng: np.random.Generator, tags: dict[str, str]) -> _Element:
        element = _Element(kind=kind, id=self.next[kind], tags=tags, meta=self._meta(rng))
        self.next[kind] += int(rng.integers(1, 4))
        self.elements.append(element)
        return element

    def node(
        self, rng: np.random.Generator, lon: float, lat: float, tags: dict[str, str] | None = None
    ) -> int:
        element = self._new("node", rng, tags or {})
        element.lon, element.lat = round(lon, 7), round(lat, 7)
        return element.id

    def way(self, rng: np.random.Generator, nodes: list[int], tags: dict[str, str]) -> int:
        element = self._new("way", rng, tags)
        element.nodes = list(nodes)
        return element.id

    def relation(
        self, rng: np.random.Generator, members: list[tuple[str, int, str]], tags: dict[str, str]
    ) -> int:
        element = self._new("relation", rng, tags)
        element.members = list(members)
        return element.id


@dataclass(frozen=True)
class _Frame:
    """Maps (u, v) fractions of a footprint's bounding box to lon/lat."""

    west: float
    south: float
    width: float
    height: float

    def lonlat(self, u: float, v: float) -> tuple[float, float]:
        return self.west + u * self.width, self.south + v * self.height


def _pick(rng: np.random.Generator, options: Sequence[object]) -> object:
    return options[int(rng.integers(len(options)))]


def _ring_nodes(
    b: _Builder,
    rng: np.random.Generator,
    frame: _Frame,
    centre: tuple[float, float],
    radius: tuple[float, float],
    count: int,
) -> list[int]:
    """Nodes of an irregular closed ring (first node repeated last), counter-clockwise."""
    ids = []
    for k in range(count):
        angle = 2 * math.pi * k / count
        factor = float(rng.uniform(0.8, 1.15))
        u = centre[0] + radius[0] * factor * math.cos(angle)
        v = centre[1] + radius[1] * factor * math.sin(angle)
        ids.append(b.node(rng, *frame.lonlat(u, v)))
    return [*ids, ids[0]]


def _line_nodes(
    b: _Builder,
    rng: np.random.Generator,
    frame: _Frame,
    start: tuple[float, float],
    end: tuple[float, float],
    count: int,
    wobble: float,
    tags: dict[str, str] | None = None,
) -> list[int]:
    ids = []
    for k in range(count):
        t = k / (count - 1)
        u = start[0] + t * (end[0] - start[0])
        v = start[1] + t * (end[1] - start[1])
        if 0 < k < count - 1:
            u += float(rng.uniform(-wobble, wobble))
            v += float(rng.uniform(-wobble, wobble))
        node_tags = dict(tags) if tags else None
        if node_tags and "ref" in node_tags:
            node_tags["ref"] = f"{node_tags['ref']}{k + 1}"
        ids.append(b.node(rng, *frame.lonlat(u, v), node_tags))
    return ids


def _rectangle(
    b: _Builder,
    rng: np.random.Generator,
    frame: _Frame,
    centre: tuple[float, float],
    half: tuple[float, float],
) -> list[int]:
    (cu, cv), (hu, hv) = centre, half
    corners = [(cu - hu, cv - hv), (cu + hu, cv - hv), (cu + hu, cv + hv), (cu - hu, cv + hv)]
    ids = [b.node(rng, *frame.lonlat(u, v)) for u, v in corners]
    return [*ids, ids[0]]


def _landuse(b: _Builder, rng: np.random.Generator, frame: _Frame) -> None:
    """Two land-use areas splitting the footprint at u = s, sharing their boundary nodes."""
    s = float(rng.uniform(0.4, 0.65))
    lo, hi = -MARGIN, 1 + MARGIN
    boundary = _line_nodes(b, rng, frame, (s, lo), (s, hi), 6, 0.03)
    west = [b.node(rng, *frame.lonlat(lo, hi)), b.node(rng, *frame.lonlat(lo, lo))]
    east = [b.node(rng, *frame.lonlat(hi, hi)), b.node(rng, *frame.lonlat(hi, lo))]
    first = str(_pick(rng, _LANDUSE_A))
    second = str(_pick(rng, [v for v in _LANDUSE_B if v != first]))
    tags_a = {"landuse": first}
    if first == "residential":
        tags_a["name"] = "Neubausiedlung"
    tags_b = {"landuse": second}
    if second == "farmland":
        tags_b["crop"] = str(_pick(rng, ("wheat", "maize", "barley")))
    b.way(rng, [*boundary, *west, boundary[0]], tags_a)
    b.way(rng, [*boundary, *east, boundary[0]][::-1], tags_b)


def _natural(b: _Builder, rng: np.random.Generator, frame: _Frame) -> None:
    """A multipolygon (outer ring in two ways, one inner ring) near the footprint's centre."""
    centre = (float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.65)))
    radius = (float(rng.uniform(0.16, 0.25)), float(rng.uniform(0.16, 0.25)))
    outer = _ring_nodes(b, rng, frame, centre, radius, 10)
    inner = _ring_nodes(b, rng, frame, centre, (radius[0] * 0.35, radius[1] * 0.35), 6)
    half = len(outer) // 2
    outer_a = b.way(rng, outer[: half + 1], {})
    outer_b = b.way(rng, outer[half:], {})
    inner_way = b.way(rng, inner, {})
    if rng.random() < 0.5:
        natural, water = _pick(rng, _WATERS)  # type: ignore[misc]
        tags = {"natural": natural, "type": "multipolygon", "water": water}
        if rng.random() < 0.5:
            tags["name"] = "Lake Mirren"
    else:
        natural, leaf = _pick(rng, _WOODS)  # type: ignore[misc]
        tags = {"leaf_type": leaf, "natural": natural, "type": "multipolygon"}
    members = [("way", outer_a, "outer"), ("way", outer_b, "outer"), ("way", inner_way, "inner")]
    b.relation(rng, members, dict(sorted(tags.items())))


def _road(b: _Builder, rng: np.random.Generator, frame: _Frame) -> None:
    v0, v1 = float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))
    nodes = _line_nodes(b, rng, frame, (-MARGIN, v0), (1 + MARGIN, v1), 7, 0.04)
    kind, ref = _pick(rng, _ROADS)  # type: ignore[misc]
    tags = {"highway": kind, "name": str(_pick(rng, _STREETS)), "surface": "asphalt"}
    if ref:
        tags["ref"] = ref
    b.way(rng, nodes, dict(sorted(tags.items())))


def _extras(b: _Builder, rng: np.random.Generator, frame: _Frame) -> None:
    if rng.random() < 0.8:
        for _ in range(int(rng.integers(3, 9))):
            centre = (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)))
            size = float(rng.uniform(0.008, 0.02))
            ring = _rectangle(b, rng, frame, centre, (size, size * 0.7))
            b.way(rng, ring, {"building": str(_pick(rng, _HOUSES))})
    if rng.random() < 0.5:
        centre = (float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.15, 0.85)))
        ring = _rectangle(b, rng, frame, centre, (0.04, 0.025))
        tags = {"amenity": "school", "building": "school", "name": "Primary School"}
        b.way(rng, ring, tags)
    if rng.random() < 0.5:
        u0, u1 = float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.15, 0.85))
        nodes = _line_nodes(b, rng, frame, (u0, -MARGIN), (u1, 1 + MARGIN), 8, 0.03)
        kind = str(_pick(rng, ("river", "stream")))
        b.way(rng, nodes, {"name": "Aller", "waterway": kind})
    if rng.random() < 0.4:
        v0, v1 = float(rng.uniform(-0.1, 0.3)), float(rng.uniform(0.7, 1.1))
        towers = {"power": "tower", "ref": "T"}
        nodes = _line_nodes(b, rng, frame, (-MARGIN, v0), (1 + MARGIN, v1), 5, 0.0, towers)
        b.way(rng, nodes, {"cables": "3", "power": "line", "voltage": "110000"})
    if rng.random() < 0.3:
        centre = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)))
        ring = _ring_nodes(b, rng, frame, centre, (0.06, 0.05), 7)
        b.way(rng, ring, {"leisure": "park", "name": "Town Park"})
    if rng.random() < 0.25:
        u0 = float(rng.uniform(0.0, 1.0))
        nodes = _line_nodes(b, rng, frame, (u0, -MARGIN), (1 - u0, 1 + MARGIN), 4, 0.01)
        b.way(rng, nodes, {"gauge": "1435", "railway": "rail"})
    if rng.random() < 0.25:
        u, v = float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))
        b.node(rng, *frame.lonlat(u, v), {"man_made": "water_tower"})
    if rng.random() < 0.3:
        u, v = float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))
        tags = {"amenity": "place_of_worship", "religion": "christian"}
        b.node(rng, *frame.lonlat(u, v), tags)


def _footprint_frame(wkt: str) -> _Frame:
    try:
        geom = shapely.from_wkt(wkt)
    except (ShapelyError, ValueError) as exc:
        raise ValueError(f"footprint is not WKT: {wkt[:120]!r}") from exc
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.area > 0:
        raise ValueError(f"footprint is not a lon/lat polygon: {wkt[:120]!r}")
    west, south, east, north = geom.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise ValueError(f"footprint is not in lon/lat range: {wkt[:120]!r}")
    return _Frame(west, south, east - west, north - south)


def _text(elements: list[_Element]) -> str:
    order = {"node": 0, "way": 1, "relation": 2}
    elements = sorted(elements, key=lambda e: (order[e.kind], e.id))
    nodes = [e for e in elements if e.kind == "node"]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<osm version="0.6" generator={quoteattr(GENERATOR)}>',
    ]
    if nodes:
        lats = [n.lat for n in nodes]
        lons = [n.lon for n in nodes]
        lines.append(
            f' <bounds minlat="{min(lats):.7f}" minlon="{min(lons):.7f}" '
            f'maxlat="{max(lats):.7f}" maxlon="{max(lons):.7f}"/>'
        )
    for e in elements:
        version, changeset, stamp, user, uid = e.meta
        head = (
            f' <{e.kind} id="{e.id}" visible="true" version="{version}" '
            f'changeset="{changeset}" timestamp="{stamp}" user={quoteattr(user)} uid="{uid}"'
        )
        if e.kind == "node":
            head += f' lat="{e.lat:.7f}" lon="{e.lon:.7f}"'
        children = [f'  <nd ref="{ref}"/>' for ref in e.nodes]
        children += [
            f'  <member type="{kind}" ref="{ref}" role={quoteattr(role)}/>'
            for kind, ref, role in e.members
        ]
        children += [
            f"  <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(e.tags.items())
        ]
        if children:
            lines.append(head + ">")
            lines.extend(children)
            lines.append(f" </{e.kind}>")
        else:
            lines.append(head + "/>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def write_extract(path: Path, footprints: Sequence[str], seed: int) -> None:
    """Write a synthetic OSM XML extract covering the given footprints.

    Args:
        path: The ``.osm`` file to write (its folder is created; written atomically).
        footprints: Lon/lat polygons as WKT, e.g. the ``footprint_wkt`` of the sample corpus'
            samples; duplicates and order do not matter.
        seed: Seed of the draws; same footprints and seed give a byte-identical file.

    Raises:
        ValueError: If a footprint is not a lon/lat polygon in WKT.
    """
    builder = _Builder()
    for wkt in sorted(set(footprints)):
        frame = _footprint_frame(wkt)
        digest = int.from_bytes(hashlib.sha256(wkt.encode("utf-8")).digest()[:8], "big")
        rng = np.random.default_rng([seed, digest])
        _landuse(builder, rng, frame)
        _natural(builder, rng, frame)
        _road(builder, rng, frame)
        _extras(builder, rng, frame)
    text = _text(builder.elements)
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(text, encoding="utf-8")
