"""The tagger of the ``osm`` params section, and the enrichment of one sample with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.enrich.osm.match import OsmConfig, Tagger, parse_footprint
from eoinstruct.pipeline.records import Sample


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
        from eoinstruct.pipeline.enrich.osm.extract import load_xml_tagger  # osmnx: slow

        path = Path(str(extract))
        if base is not None and not path.is_absolute():
            path = base / path
        return load_xml_tagger(path, config)
    url = section.get("overpass_url")
    if url:
        from eoinstruct.pipeline.enrich.osm.overpass import OverpassTagger  # osmnx: slow

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
