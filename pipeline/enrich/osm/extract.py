"""OSM tags from a local OSM XML extract, loaded once and queried through a spatial index.

**Memory**. :class:`XmlTagger` loads the whole extract: osmnx parses the XML into a Python
dict of every element and builds one shapely geometry per feature, about 1–2 KB per feature
plus the XML's nodes while loading. A city or a region of a few hundred thousand features
fits easily; for a country, clip the extract to the samples' footprints first (for example
``osmium extract --bbox``) or use Overpass. Each process loads an extract once
(:func:`load_xml_tagger` caches it by path, size, modification time and configuration).
"""

from __future__ import annotations

import bz2
import contextlib
import functools
import gzip
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.sax import SAXException

import geopandas as gpd
import osmnx
from osmnx._errors import InsufficientResponseError

from eoinstruct.pipeline.enrich.osm.match import (
    Features,
    OsmConfig,
    OsmError,
    query_tags,
    require_footprint,
    tags_from_candidates,
)

log = logging.getLogger(__name__)


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
            gdf = osmnx.features.features_from_xml(self.path, tags=query_tags(config))
        except InsufficientResponseError:
            log.warning("osm: %s holds no feature with keys %s", self.path, config.tag_keys)
            gdf = None
        except _XML_ERRORS as exc:
            raise OsmError(
                f"OSM extract {self.path} is malformed ({type(exc).__name__}: {exc}); "
                "re-download or re-export it as OSM XML"
            ) from exc
        self._features = (
            Features.empty() if gdf is None else Features.from_gdf(gdf, config.tag_keys)
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
            ``<prefix><key>`` → ``;``-joined sorted values, sorted by name (see
            :mod:`~eoinstruct.pipeline.enrich.osm.match` for the rules).

        Raises:
            OsmError: If the footprint is not a valid lon/lat polygon.
        """
        footprint = require_footprint(footprint_wkt)
        if self._index is None:
            return {}
        candidates = self._index.query(footprint, predicate="intersects")
        return tags_from_candidates(self._features, candidates, footprint, self.config)


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
