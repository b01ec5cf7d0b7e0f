"""Which OSM features lie on a footprint, and the tags they give.

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
Every ``osm:<key>`` entry is a label field for the filter's ``min_tags`` rule except
``feature_count``, which is metadata (:mod:`eoinstruct.pipeline.quality.tag_fields`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from eoinstruct.pipeline.config import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

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


def require_footprint(footprint_wkt: str) -> BaseGeometry:
    """Return :func:`parse_footprint` of a footprint; raise :class:`OsmError` when unusable."""
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
class Features:
    """Features as parallel arrays: geometry, own area and the configured tags of each."""

    geoms: np.ndarray
    areas: np.ndarray
    tags: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]

    @classmethod
    def from_gdf(cls, gdf: gpd.GeoDataFrame, keys: Sequence[str]) -> Features:
        """Keep the features of an osmnx frame that carry a value of one of ``keys``."""
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
    def empty(cls) -> Features:
        """Return no features."""
        return cls(geoms=np.empty(0, dtype=object), areas=np.zeros(0), tags=())


def tags_from_candidates(
    features: Features,
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


def query_tags(config: OsmConfig) -> dict[str, bool | str | list[str]]:
    """Return the osmnx ``tags`` query of a configuration: any value of each key."""
    return dict.fromkeys(config.tag_keys, True)
