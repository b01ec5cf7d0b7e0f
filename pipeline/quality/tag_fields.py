"""Which of a sample's fields are *label* fields, the ones ``filter.min_tags`` counts.

EarthDial-Instruct drops images with fewer than three tag fields: too little is known about
them to write instructions. A tag field there is a semantic annotation — what the image
shows — never metadata. :func:`label_fields` returns a sample's distinct label fields:

- each scene **class** label (``class:Pastures``);
- each distinct **object kind**, category and attribute (``object:building/destroyed``);
- each **OpenStreetMap tag** key: the enrichment's ``osm:<key>`` (``osm.prefix``) and the
  OSM tags a source ships, SkyScript's ``center:<key>`` and ``surrounding:<key>``
  (:data:`LABEL_TAG_PREFIXES`), except the keys of :data:`OSM_METADATA_KEYS`
  (``osm:feature_count``, ids, names);
- each **semantic label** a source gives as a tag or a label property
  (:data:`LABEL_KEYS`: ``disaster_type``, ``has_plume``/``methane_plume``, ``earthquake``,
  ``smoke``…), the same fact counted once when it is both a tag and a property
  (:data:`ALIASES`).

Every other tag and property is metadata and never counts: ids, sensor and platform, dates,
orbits, tiles, cloud cover, years, imagery sources, OSM element ids and types, GSD,
file names, scores and measured quantities (an emission rate, a magnitude).
:data:`METADATA_KEYS` lists those the project's sources write, so that a new key is a
decision (``tests/test_min_tags.py`` checks that every key of the sample build is in one
list); a key in neither list does not count either. A custom ``osm.prefix`` must be added to
:data:`LABEL_TAG_PREFIXES` for its tags to count.
"""

from __future__ import annotations

from eoinstruct.pipeline.records import Sample

LABEL_TAG_PREFIXES: tuple[str, ...] = ("osm:", "center:", "surrounding:")
"""Tag prefixes of OpenStreetMap tags: the enrichment's and SkyScript's (object, surroundings)."""

OSM_METADATA_KEYS: frozenset[str] = frozenset(
    {"feature_count", "id", "osm_id", "element_type", "name", "source", "note", "ref",
     "version", "timestamp", "user"}
)  # fmt: skip
"""Keys after an OSM prefix that are bookkeeping, not what the image shows."""

LABEL_KEYS: frozenset[str] = frozenset(
    {
        "disaster_type",  # xBD: fire, flooding, wind… (tag and property)
        "magnitude_class",  # QuakeSet: the event's class (micro … great)
        "earthquake",  # QuakeSet: yes/no between the two images
        "methane_plume",  # STARCOP tag: present/absent
        "has_plume",  # STARCOP property: true/false (the same fact)
        "emission_class",  # STARCOP: weak/strong
        "building_change",  # LEVIR-CD: true/false, whether the change mask marks any pixel
        "smoke",  # SatlasPretrain classification labels
        "snow",
        # RSVQA: the dataset's question-answer pairs of one type (OSM-derived facts of the image)
        "rsvqa_presence",
        "rsvqa_comp",
        "rsvqa_count",
        "rsvqa_area",
        "rsvqa_rural_urban",
        "dominant_genus",  # TreeSatAI: the genus of the largest area fraction
        "leaf_type",  # TreeSatAI: coniferous/broadleaved/mixed/cleared, from the genera
        "built_type",  # So2Sat LCZ42: built/natural, from the local climate zone
        "urban_form",  # So2Sat: compact/open/… arrangement of a built zone
        "building_height",  # So2Sat: high-/mid-/low-rise of a built zone
        "land_cover_type",  # So2Sat: trees/bush/low plants/bare/water of a natural zone
    }
)
"""Tag or property keys that are semantic labels of the image."""

ALIASES: dict[str, str] = {"has_plume": "methane_plume"}
"""Keys that name the same fact as another key (counted once)."""

METADATA_KEYS: frozenset[str] = frozenset(
    {
        # acquisition: platform, sensor, orbit, product, tiles, dates, cloud cover
        "platform", "constellation", "sensor", "collection", "collection_category",
        "instrument_mode", "polarisations", "product_type", "processing_level", "calibration",
        "orbit_state", "relative_orbit", "mgrs_tile", "wrs_path_row", "tile", "zoom",
        "image_count", "cloud_cover", "eo:cloud_cover", "view:sun_azimuth",
        "view:sun_elevation", "date", "datetime", "year", "imagery_source",
        "imagery_source_code", "nominal_gsd_m", "metadata_gsd_m",
        # identifiers, files, dataset bookkeeping
        "paired_s1_patch", "paired_s2_patch", "s2v1_name", "label_tile", "osm_id",
        "osm_element_type", "event_id", "patch", "pair", "split", "subset", "csv", "folder",
        "name", "candidate_id", "label_path", "flight_line_window", "window_labels",
        "window_col_off", "window_row_off", "window_width", "window_height", "stac_item",
        "stac_collection", "chip_center", "chip_grid", "listed_in", "static_image_role",
        "difficulty", "mag1c_units", "toa_units", "similarity_CLIP_openai",
        # flight data of UAV frames (HIT-UAV), DontCare boxes left out of the objects
        "daylight", "altitude_m", "camera_angle_deg", "dontcare_boxes",
        # places and events (where or which, not what the pixels show)
        "country", "region", "disaster",
        # measured quantities: what the pixels do not give, or figures computed from them
        "magnitude", "event_magnitude", "qplume_kg_h", "pixel_size_m", "image_pixels",
        "plume_pixels", "plume_area_m2", "lst_mean_c", "lst_p10_c", "lst_p90_c",
        "lst_quadrant_means_c", "lst_valid_share", "change_components", "changed_pixels",
        "changed_area_m2", "component_pixels", "changed_pixels_by_third",
        # summaries that repeat labels counted elsewhere, captions, quality flags
        "label_categories", "raster_labels", "absent_categories", "surrounding_objects",
        "outlines", "cut_categories", "box_kind",
        "genus_shares", "lcz_code",
        "class_shares", "land_cover_shares", "line_categories",
        "surrounding_tags", "title", "title_multi_objects", "contains_seasonal_snow",
        "contains_cloud_or_shadow",
        # RSVQA: dataset, split, image id; question-answer pairs dropped at ingest (reasons)
        "rsvqa_dataset", "rsvqa_split", "rsvqa_image_id", "rsvqa_dropped",
    }
)  # fmt: skip
METADATA_KEYS |= {"series_roles", "series_items"} | {
    f"{key}:t{i}"
    for key in ("ndvi_mean", "ndvi_valid_share", "eo:cloud_cover")
    for i in range(5)  # STAC time series (sources/stac/series.py): per-date figures, t0 … t4
}
METADATA_KEYS |= {"utm_zone"} | {
    f"{key}:t{i}"
    for key in ("timestamp", "view", "gsd_m", "cloud_cover")
    for i in range(5)  # fMoW sequences (sources/fmow/adapter.py): per-view facts, t0 … t4
}
"""Tag and property keys the sources write that are metadata (never counted)."""


def is_label_tag(key: str) -> bool:
    """Whether a tag or property key is a label field (see the module docstring)."""
    for prefix in LABEL_TAG_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :] not in OSM_METADATA_KEYS
    return key in LABEL_KEYS


def label_fields(sample: Sample) -> set[str]:
    """Return a sample's distinct, non-empty label fields.

    Args:
        sample: The sample.

    Returns:
        Names such as ``class:Pastures``, ``object:building/destroyed``, ``tag:osm:landuse``,
        ``tag:disaster_type``.
    """
    fields = {f"class:{c}" for c in sample.labels.classes if c.strip()}
    fields |= {
        f"object:{o.category}/{o.attribute}" for o in sample.labels.objects if o.category.strip()
    }
    for mapping in (sample.tags, sample.labels.properties):
        for key, value in mapping.items():
            if str(value).strip() and is_label_tag(key):
                fields.add(f"tag:{ALIASES.get(key, key)}")
    return fields
