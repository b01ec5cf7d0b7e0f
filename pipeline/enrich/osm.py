"""OpenStreetMap enrichment: the OSM tags of the features on a sample's footprint.

SkyScript (Wang et al., "SkyScript: A Large and Semantically Diverse Vision-Language Dataset
for Remote Sensing", AAAI 2024, arXiv:2312.12856) described each image by the OpenStreetMap
tags of the features lying on it (its meta files hold the image ``box`` and a
``surrounding_tags`` dict per OSM object; wangzhecheng/SkyScript README). This module does
the same for a :class:`~pipeline.records.Sample`: given its lon/lat footprint it returns
``osm:<key>`` tags for a configured set of tag keys, from either

- a local OSM XML extract (``.osm``, ``.osm.gz``, ``.osm.bz2``) read once with
  :func:`osmnx.features.features_from_xml` and queried through a spatial index
  (:class:`XmlTagger`), or
- an Overpass API endpoint, one query per footprint through
  :func:`osmnx.features.features_from_polygon` (:class:`OverpassTagger`).

**Which features count** (:class:`OsmConfig`). A feature is a tagged OSM node, way or
multipolygon relation carrying at least one of ``tag_keys``. With ``A`` the footprint and
``F`` the feature geometry:

- *points and lines* (zero-area geometries) count when they intersect ``A`` (share at least
  one point with it, boundary included);
- *polygons* (closed ways that OSM treats as areas, multipolygon relations with their holes)
  count when ``area(F ∩ A) > 0`` (touching the boundary is not enough) and either
  ``area(F ∩ A) / area(A) >= min_overlap`` (the feature covers that fraction of the
  footprint) or ``area(F ∩ A) / area(F) >= min_inside`` (that fraction of the feature lies
  on the footprint, so a building wholly inside a large tile still counts). ``min_inside``
  ``None`` disables the second test. Areas are compared in lon/lat degrees: for a footprint
  of a few kilometres the cos(latitude) factor is the same in numerator and denominator,
  so the ratios are those of true areas to well under a percent.

**Output**. For each key with matching features, ``<prefix><key>`` maps to the distinct
values (OSM multi-values such as ``school;library`` are split at ``;``), at most
``max_values_per_key`` of them, sorted and joined with ``;``. When a key has more values
than that, those kept are the ones with the largest area on the footprint, then the most
features, then alphabetical order, so the choice is deterministic. Optionally
``<prefix>feature_count`` gives the number of matching features (left out when zero).
Note that every ``osm:`` entry is a tag field for the filter's ``min_tags`` rule, including
``feature_count``.

**Memory**. :class:`XmlTagger` loads the whole extract: osmnx parses the XML into a Python
dict of every element and builds one shapely geometry per feature, about 1–2 KB per feature
plus the XML's nodes while loading. A city or a region of a few hundred thousand features
fits easily; for a country, clip the extract to the samples' footprints first (for example
``osmium extract --bbox``) or use Overpass. Each process loads an extract once
(:func:`load_xml_tagger` caches it by path, size, modification time and configuration).

**Overpass**. osmnx's global settings are set for the duration of each query and restored
afterwards (so the tagger is not thread-safe; processes are fine). Responses are not cached
on disk. Every request has a timeout; an unreachable endpoint, an HTTP error status
(including osmnx's otherwise endless 429/504 retries), a non-JSON answer or an Overpass
runtime-error remark (a timed-out, partial answer) raises :class:`OsmError` naming the URL.
With ``rate_limit`` true osmnx first asks ``<url>/status`` for a free slot, as the public
servers require (it may sleep up to a minute when the status cannot be parsed); set it to
false for your own Overpass instance.
"""

from __future__ import annotations

import bz2
import contextlib
import dataclasses
import functools
import gzip
import json
import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from xml.sax import SAXException

import geopandas as gpd
import numpy as np
import osmnx
import requests
import shapely
from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.records import Sample

log = logging.getLogger(__name__)

DEFAULT_TAG_KEYS: tuple[str, ...] = (
    "landuse",
    "natural",
    "building",
    "highway",
    "amenity",
    "leisure",
    "waterway",
    "power",
    "man_made",
    "railway",
    "aeroway",
)
"""Tag keys read by default: the OSM "map features" keys that describe what an image shows."""

FEATURE_COUNT_KEY = "feature_count"
"""Suffix of the optional tag holding the number of matching features."""

_REL_TOL = 1e-9

_SOURCE_KEYS = {"enabled", "extract", "overpass_url", "timeout_s", "rate_limit"}
"""Entries of the ``osm`` params section that choose the data source, not the tagging."""


class OsmError(RuntimeError):
    """OSM data could not be read: a missing or malformed extract, an unusable Overpass answer.

    The message names the file or URL and says what to do.
    """


@dataclass(frozen=True)
class OsmConfig:
    """Which OSM tags become sample tags, and how.

    Attributes:
        tag_keys: OSM keys to read (``landuse``, ``highway``…), in any order.
        max_values_per_key: At most this many distinct values per key (≥ 1).
        min_overlap: Fraction of the footprint's area a polygon must cover (0–1; 0 means
            any overlap of positive area).
        min_inside: Alternatively, fraction of a polygon's own area that must lie on the
            footprint (0–1; 1 means wholly inside); ``None`` disables this test.
        prefix: Prefix of the produced tag names (non-empty, e.g. ``osm:``).
        feature_count: Also produce ``<prefix>feature_count``.
    """

    tag_keys: tuple[str, ...] = DEFAULT_TAG_KEYS
    max_values_per_key: int = 5
    min_overlap: float = 0.0
    min_inside: float | None = 1.0
    prefix: str = "osm:"
    feature_count: bool = False

    def __post_init__(self) -> None:
        if not self.tag_keys or any(not str(k).strip() for k in self.tag_keys):
            raise ConfigError(f"osm.tag_keys must be non-empty names, got {self.tag_keys!r}")
        if len(set(self.tag_keys)) != len(self.tag_keys):
            raise ConfigError(f"osm.tag_keys repeats a key: {self.tag_keys!r}")
        if self.max_values_per_key < 1:
            raise ConfigError(f"osm.max_values_per_key must be >= 1, got {self.max_values_per_key}")
        if not 0.0 <= self.min_overlap <= 1.0:
            raise ConfigError(f"osm.min_overlap must be in [0, 1], got {self.min_overlap}")
        if self.min_inside is not None and not 0.0 <= self.min_inside <= 1.0:
            raise ConfigError(f"osm.min_inside must be in [0, 1] or null, got {self.min_inside}")
        if not self.prefix:
            raise ConfigError("osm.prefix must be non-empty (e.g. 'osm:')")

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> OsmConfig:
        """Build a configuration from the ``osm`` section of ``params.yaml``.

        Unknown keys that are not tagger options raise, so typos do not pass silently.

        Args:
            section: The section; missing entries take the defaults.

        Returns:
            The configuration.

        Raises:
            ConfigError: On an unknown entry or a bad value.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(section) - known - _SOURCE_KEYS
        if unknown:
            raise ConfigError(f"osm: unknown entries {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        if "tag_keys" in section:
            keys = section["tag_keys"]
            if isinstance(keys, str) or not isinstance(keys, Sequence):
                raise ConfigError(f"osm.tag_keys must be a list, got {keys!r}")
            kwargs["tag_keys"] = tuple(str(k) for k in keys)
        if "prefix" in section:
            kwargs["prefix"] = str(section["prefix"])
        if "feature_count" in section:
            kwargs["feature_count"] = bool(section["feature_count"])
        try:
            if "max_values_per_key" in section:
                kwargs["max_values_per_key"] = int(section["max_values_per_key"])
            if "min_overlap" in section:
                kwargs["min_overlap"] = float(section["min_overlap"])
            if section.get("min_inside") is not None:
                kwargs["min_inside"] = float(section["min_inside"])
            elif "min_inside" in section:
                kwargs["min_inside"] = None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"osm: bad value: {exc}") from exc
        return cls(**kwargs)


class Tagger(Protocol):
    """Anything that gives the OSM tags of a footprint."""

    config: OsmConfig

    def tags_for(self, footprint_wkt: str) -> dict[str, str]:
        """Return the OSM tags of the features on a lon/lat footprint."""
        ...


def parse_footprint(footprint_wkt: str) -> BaseGeometry | None:
    """Parse a sample footprint into a usable lon/lat (multi)polygon.

    Args:
        footprint_wkt: WKT in EPSG:4326 (lon/lat).

    Returns:
        The polygon, or ``None`` when the text is empty, unparseable, not a (multi)polygon,
        invalid, of zero area or out of lon/lat range.
    """
    if not footprint_wkt or not footprint_wkt.strip():
        return None
    try:
        geom = shapely.from_wkt(footprint_wkt)
    except (ShapelyError, ValueError):
        return None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    if geom.is_empty or not geom.is_valid or not geom.area > 0:
        return None
    west, south, east, north = geom.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        return None
    return geom


def _require_footprint(footprint_wkt: str) -> BaseGeometry:
    geom = parse_footprint(footprint_wkt)
    if geom is None:
        raise OsmError(
            f"footprint is not a valid lon/lat polygon: {footprint_wkt[:120]!r} "
            "(check it with pipeline.osm.parse_footprint first)"
        )
    return geom


def _split_values(value: object) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    parts = (part.strip() for part in str(value).split(";"))
    return tuple(sorted({part for part in parts if part}))


@dataclass(frozen=True)
class _Features:
    """Features as parallel arrays: geometry, own area and the configured tags of each."""

    geoms: np.ndarray
    areas: np.ndarray
    tags: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]

    @classmethod
    def from_gdf(cls, gdf: gpd.GeoDataFrame, keys: Sequence[str]) -> _Features:
        gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        present = [k for k in keys if k in gdf.columns]
        columns = [gdf[k].tolist() for k in present]
        tags = []
        for row in range(len(gdf)):
            entries = []
            for key, column in zip(present, columns, strict=True):
                values = _split_values(column[row])
                if values:
                    entries.append((key, values))
            tags.append(tuple(entries))
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        keep = np.array([bool(t) for t in tags], dtype=bool)
        geoms = geoms[keep] if len(geoms) else geoms
        return cls(
            geoms=geoms,
            areas=shapely.area(geoms) if len(geoms) else np.zeros(0),
            tags=tuple(t for t, k in zip(tags, keep, strict=True) if k),
        )

    @classmethod
    def empty(cls) -> _Features:
        return cls(geoms=np.empty(0, dtype=object), areas=np.zeros(0), tags=())


def _tags_from_candidates(
    features: _Features,
    candidates: np.ndarray,
    footprint: BaseGeometry,
    config: OsmConfig,
) -> dict[str, str]:
    """Apply the overlap rules to candidate features and build the tags."""
    candidates = np.unique(np.asarray(candidates, dtype=np.int64))
    if len(candidates) == 0:
        return {}
    geoms = features.geoms[candidates]
    own_area = features.areas[candidates]
    fp_area = footprint.area
    polygonal = own_area > 0
    shapely.prepare(footprint)
    hits = shapely.intersects(footprint, geoms)
    inter_area = np.zeros(len(candidates))
    if polygonal.any():
        inter_area[polygonal] = shapely.area(shapely.intersection(geoms[polygonal], footprint))
    keep_poly = inter_area > 0
    if config.min_overlap > 0:
        covers = inter_area >= config.min_overlap * fp_area * (1 - _REL_TOL)
        if config.min_inside is not None:
            covers |= inter_area >= config.min_inside * own_area * (1 - _REL_TOL)
        keep_poly &= covers
    keep = np.where(polygonal, keep_poly, hits)

    area_by: dict[tuple[str, str], float] = {}
    count_by: dict[tuple[str, str], int] = {}
    n_features = 0
    for i in np.flatnonzero(keep):
        n_features += 1
        for key, values in features.tags[candidates[i]]:
            for value in values:
                area_by[(key, value)] = area_by.get((key, value), 0.0) + float(inter_area[i])
                count_by[(key, value)] = count_by.get((key, value), 0) + 1

    by_key: dict[str, list[str]] = {}
    for key, value in area_by:
        by_key.setdefault(key, []).append(value)
    out: dict[str, str] = {}
    for key in sorted(by_key):
        ranked = sorted(by_key[key], key=lambda v: (-area_by[(key, v)], -count_by[(key, v)], v))
        out[f"{config.prefix}{key}"] = ";".join(sorted(ranked[: config.max_values_per_key]))
    if config.feature_count and n_features:
        out[f"{config.prefix}{FEATURE_COUNT_KEY}"] = str(n_features)
    return dict(sorted(out.items()))


def _query_tags(config: OsmConfig) -> dict[str, bool | str | list[str]]:
    return dict.fromkeys(config.tag_keys, True)


# -- local extract --------------------------------------------------------------------------


@contextlib.contextmanager
def _open_xml(path: Path) -> Iterator[IO[bytes]]:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            yield handle
    elif path.suffix == ".bz2":
        with bz2.open(path, "rb") as handle:
            yield handle
    else:
        with path.open("rb") as handle:
            yield handle


_XML_ERRORS = (
    ET.ParseError,
    SAXException,
    SyntaxError,
    OSError,
    EOFError,
    UnicodeDecodeError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
)


class XmlTagger:
    """Tags footprints from a local OSM XML extract, loaded once, through a spatial index.

    Attributes:
        config: The tagging configuration.
        path: The extract.
    """

    def __init__(self, path: Path, config: OsmConfig) -> None:
        """Load the extract (the whole file; see the module docstring on memory).

        Args:
            path: An OSM XML file (``.osm``/``.xml``, optionally ``.gz`` or ``.bz2``).
            config: Which tags to read and how.

        Raises:
            OsmError: If the file is missing, unreadable, not OSM XML or malformed.
        """
        self.path = Path(path)
        self.config = config
        if not self.path.is_file():
            raise OsmError(
                f"OSM extract not found: {self.path}; set osm.extract to an OSM XML file "
                "(.osm, .osm.gz, .osm.bz2, e.g. from download.geofabrik.de or an Overpass "
                "'out meta' export) or set osm.overpass_url instead"
            )
        self._check_root()
        try:
            gdf = osmnx.features.features_from_xml(self.path, tags=_query_tags(config))
        except InsufficientResponseError:
            log.warning("osm: %s holds no feature with keys %s", self.path, config.tag_keys)
            gdf = None
        except _XML_ERRORS as exc:
            raise OsmError(
                f"OSM extract {self.path} is malformed ({type(exc).__name__}: {exc}); "
                "re-download or re-export it as OSM XML"
            ) from exc
        self._features = (
            _Features.empty() if gdf is None else _Features.from_gdf(gdf, config.tag_keys)
        )
        del gdf  # only the filtered arrays are kept
        self._index = (
            gpd.GeoSeries(self._features.geoms, crs="EPSG:4326").sindex
            if len(self._features.geoms)
            else None
        )

    def _check_root(self) -> None:
        try:
            with _open_xml(self.path) as handle:
                _, root = next(iter(ET.iterparse(handle, events=("start",))))
        except StopIteration:
            root = None
        except _XML_ERRORS as exc:
            raise OsmError(
                f"OSM extract {self.path} is not readable XML ({type(exc).__name__}: {exc}); "
                "re-download or re-export it as OSM XML"
            ) from exc
        if root is None or root.tag != "osm":
            tag = None if root is None else root.tag
            raise OsmError(
                f"OSM extract {self.path} is not OSM XML (root element {tag!r}, expected "
                "'osm'); PBF files must be converted first, e.g. osmium cat in.pbf -o out.osm"
            )

    def __len__(self) -> int:
        """Number of features with at least one configured key."""
        return len(self._features.geoms)

    def tags_for(self, footprint_wkt: str) -> dict[str, str]:
        """Return the OSM tags of the features on a footprint.

        Args:
            footprint_wkt: Lon/lat (multi)polygon as WKT.

        Returns:
            ``<prefix><key>`` → ``;``-joined sorted values, sorted by name (see the module
            docstring for the rules).

        Raises:
            OsmError: If the footprint is not a valid lon/lat polygon.
        """
        footprint = _require_footprint(footprint_wkt)
        if self._index is None:
            return {}
        candidates = self._index.query(footprint, predicate="intersects")
        return _tags_from_candidates(self._features, candidates, footprint, self.config)


@functools.lru_cache(maxsize=4)
def _cached_xml_tagger(path: str, size: int, mtime_ns: int, config: OsmConfig) -> XmlTagger:
    del size, mtime_ns  # part of the cache key only
    return XmlTagger(Path(path), config)


def load_xml_tagger(path: Path, config: OsmConfig) -> XmlTagger:
    """Return the tagger of an extract, loading it at most once per process.

    Args:
        path: The OSM XML extract.
        config: The tagging configuration.

    Returns:
        The (possibly cached) tagger; a changed file (size or modification time) is reloaded.

    Raises:
        OsmError: If the extract is missing or malformed.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return XmlTagger(path, config)  # raises the missing-file OsmError
    return _cached_xml_tagger(str(path.resolve()), stat.st_size, stat.st_mtime_ns, config)


# -- Overpass -------------------------------------------------------------------------------


class OverpassTagger:
    """Tags footprints by querying an Overpass API endpoint (one request per footprint).

    Attributes:
        config: The tagging configuration.
        url: Base URL of the endpoint (osmnx appends ``/interpreter`` and ``/status``).
        timeout_s: Timeout of every HTTP request, also sent as the query's server timeout.
        rate_limit: Ask ``<url>/status`` for a slot before each query (public servers).
    """

    def __init__(
        self,
        url: str,
        config: OsmConfig,
        *,
        timeout_s: float = 60.0,
        rate_limit: bool = True,
    ) -> None:
        """Set up the tagger; nothing is sent until the first footprint.

        Args:
            url: Base URL, e.g. ``https://overpass-api.de/api``.
            config: Which tags to read and how.
            timeout_s: Seconds for each request (connect and read).
            rate_limit: Use the endpoint's slot management (false for a private instance).

        Raises:
            ConfigError: If the URL is not http(s) or the timeout is not positive.
        """
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"osm.overpass_url must be an http(s) URL, got {url!r}")
        if not timeout_s > 0:
            raise ConfigError(f"osm.timeout_s must be positive, got {timeout_s}")
        self.url = url.rstrip("/")
        self.config = config
        self.timeout_s = float(timeout_s)
        self.rate_limit = rate_limit
        self._reachable = False

    def _fail(self, what: str) -> OsmError:
        return OsmError(
            f"Overpass endpoint {self.url}: {what}; check osm.overpass_url, raise "
            "osm.timeout_s, or use a local extract (osm.extract)"
        )

    def _probe(self) -> None:
        """Fail fast when nothing answers at the URL (osmnx would sleep 60 s first)."""
        if self._reachable:
            return
        try:
            requests.get(f"{self.url}/status", timeout=min(self.timeout_s, 10.0))
        except requests.RequestException as exc:
            raise self._fail(f"unreachable ({type(exc).__name__}: {exc})") from exc
        self._reachable = True

    def _check_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: reject what osmnx would retry forever or accept as partial."""
        del args, kwargs
        if response.request is None or response.request.method != "POST":
            return
        if response.status_code != 200:
            raise self._fail(f"HTTP {response.status_code} {response.reason}")
        try:
            body = response.json()
        except ValueError as exc:
            raise self._fail(f"answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
            raise self._fail("answer has no 'elements' list")
        remark = str(body.get("remark", ""))
        if "error" in remark.lower():
            raise self._fail(f"server remark {remark!r} (the answer is incomplete)")

    @contextlib.contextmanager
    def _osmnx_settings(self) -> Iterator[None]:
        s = osmnx.settings
        new = {
            "overpass_url": self.url,
            "overpass_rate_limit": self.rate_limit,
            "requests_timeout": max(1, math.ceil(self.timeout_s)),
            "use_cache": False,
            "cache_only_mode": False,
            "doh_url_template": None,
            "requests_kwargs": {"hooks": {"response": [self._check_response]}},
        }
        old = {name: getattr(s, name) for name in new}
        for name, value in new.items():
            setattr(s, name, value)
        try:
            yield
        finally:
            for name, value in old.items():
                setattr(s, name, value)

    def tags_for(self, footprint_wkt: str) -> dict[str, str]:
        """Query the endpoint for the features on a footprint and return their OSM tags.

        Args:
            footprint_wkt: Lon/lat (multi)polygon as WKT.

        Returns:
            ``<prefix><key>`` → ``;``-joined sorted values, sorted by name.

        Raises:
            OsmError: If the footprint is invalid or the endpoint is unreachable, times out
                or gives an unusable answer.
        """
        footprint = _require_footprint(footprint_wkt)
        self._probe()
        try:
            with self._osmnx_settings():
                gdf = osmnx.features.features_from_polygon(footprint, _query_tags(self.config))
        except InsufficientResponseError:
            return {}
        except OsmError:
            raise
        except requests.RequestException as exc:
            raise self._fail(f"request failed ({type(exc).__name__}: {exc})") from exc
        except (ResponseStatusCodeError, KeyError, json.JSONDecodeError) as exc:
            raise self._fail(f"unusable answer ({type(exc).__name__}: {exc})") from exc
        features = _Features.from_gdf(gdf, self.config.tag_keys)
        candidates = np.arange(len(features.geoms))
        return _tags_from_candidates(features, candidates, footprint, self.config)


# -- wiring ---------------------------------------------------------------------------------


def tagger_from_params(section: Mapping[str, Any], base: Path | None = None) -> Tagger | None:
    """Build the tagger described by the ``osm`` section of ``params.yaml``.

    ``extract`` (a file) wins over ``overpass_url``; ``enabled: false`` gives ``None``.

    Args:
        section: ``{enabled, extract, overpass_url, timeout_s, rate_limit, tag_keys,
            max_values_per_key, min_overlap, min_inside, prefix, feature_count}``.
        base: Folder that a relative ``extract`` is relative to (default: the working
            directory).

    Returns:
        The tagger, or ``None`` when OSM enrichment is disabled.

    Raises:
        ConfigError: If the section is inconsistent (enabled without a data source, bad
            values).
        OsmError: If the extract is missing or malformed.
    """
    config = OsmConfig.from_mapping(section)
    if not bool(section.get("enabled", True)):
        return None
    extract = section.get("extract")
    if extract:
        path = Path(str(extract))
        if base is not None and not path.is_absolute():
            path = base / path
        return load_xml_tagger(path, config)
    url = section.get("overpass_url")
    if url:
        return OverpassTagger(
            str(url),
            config,
            timeout_s=float(section.get("timeout_s", 60.0)),
            rate_limit=bool(section.get("rate_limit", True)),
        )
    raise ConfigError("osm.enabled is true but neither osm.extract nor osm.overpass_url is set")


def enrich(sample: Sample, tagger: Tagger) -> Sample:
    """Return a copy of a sample with its OSM tags merged into ``tags``.

    Tags with the tagger's prefix are replaced (so enriching twice gives the same sample);
    other tags are kept as they are. The result's tags are sorted by name. A sample whose
    footprint is missing or unusable (see :func:`parse_footprint`) is returned unchanged:
    count those with ``parse_footprint(sample.footprint_wkt) is None``.

    Args:
        sample: The sample.
        tagger: An :class:`XmlTagger`, :class:`OverpassTagger` or anything with ``tags_for``
            and ``config``.

    Returns:
        The enriched copy, or ``sample`` itself when it has no usable footprint.

    Raises:
        OsmError: If the tagger cannot answer (an Overpass endpoint down).
    """
    if parse_footprint(sample.footprint_wkt) is None:
        return sample
    prefix = tagger.config.prefix
    osm_tags = tagger.tags_for(sample.footprint_wkt)
    merged = {k: v for k, v in sample.tags.items() if not str(k).startswith(prefix)}
    merged.update(osm_tags)
    return dataclasses.replace(sample, tags=dict(sorted(merged.items())))
