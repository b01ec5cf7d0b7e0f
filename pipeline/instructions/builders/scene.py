"""Scene tasks from tags and captions: SkyScript's captions and focus object, land use.

SkyScript tags every image with the OpenStreetMap tags of its focus object (``center:*``)
and of the objects around it (the ``surrounding_tags`` property); the enrich stage adds
``osm:*`` tags of every OSM feature on or near the footprint. The source's own tags win: a
land use from the enrichment is stated for a SkyScript image only when its own tags support
it (the enrichment reaches beyond the image and may disagree with what it shows).

Scene metadata (platform, acquisition date) is not asked about: it cannot be seen in the
pixels.
"""

from __future__ import annotations

import json
import re

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
)
from eoinstruct.pipeline.instructions.grammar import (
    article,
    is_are,
    join_list,
    natural_case,
    sentence_case,
)
from eoinstruct.pipeline.records import Sample

_CAPTION_LEAD = re.compile(
    r"^(?:an?|the)\s+(?:satellite|aerial|remote sensing)\s+(?:image|photo|view|picture)\s+of\s+",
    re.IGNORECASE,
)


def _lower_first(text: str) -> str:
    """Lower-case a leading capital unless the first word is an acronym or a proper name."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]


def source_caption(sample: Sample, config: GenerationConfig) -> TaskValues:
    """SkyScript: the source's caption (multi-object caption when there is one).

    ``caption`` is the caption as given (sentence-cased, with a full stop); ``content`` is
    what it says the image shows, without its "a satellite image of" lead, for "This image
    shows …" (a "; x nearby" tail becomes ", with x nearby").
    """
    props = sample.labels.properties
    caption = (props.get("title_multi_objects") or props.get("title") or "").strip().rstrip(".")
    if not caption:
        raise NotApplicable("no_caption")
    content = _lower_first(_CAPTION_LEAD.sub("", caption, count=1))
    head, sep, tail = content.partition("; ")
    if sep and tail.endswith(("nearby", "around", "around it")):
        content = f"{head}, with {tail}"
    return TaskValues(values={"caption": sentence_case(caption) + ".", "content": content})


# -- focus object ----------------------------------------------------------------------------

_FEATURE_KEYS: tuple[str, ...] = (
    "man_made", "aeroway", "railway", "power", "amenity", "leisure", "tourism", "historic",
    "highway", "waterway", "natural", "landuse", "building",
)  # fmt: skip
"""``center:*`` keys that name what an object is, most specific first (``man_made`` over the
``building=yes`` that a water tower also carries)."""

_ROAD_CLASSES = frozenset(
    {"motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential"}
)

_NAMES: dict[str, dict[str, str]] = {
    "highway": {
        "service": "service road", "living_street": "living street", "footway": "footpath",
        "cycleway": "cycle path", "pedestrian": "pedestrian street", "bridleway": "bridleway",
        "path": "path", "track": "track", "steps": "flight of steps",
    },
    "landuse": {
        "residential": "residential area", "industrial": "industrial area",
        "commercial": "commercial area", "retail": "retail area", "military": "military area",
        "railway": "railway land", "construction": "construction site",
        "recreation_ground": "recreation ground", "village_green": "village green",
    },
    "building": {
        "yes": "building", "residential": "residential building", "farm": "farmhouse",
        "farm_auxiliary": "farm building", "commercial": "commercial building",
        "industrial": "industrial building", "retail": "retail building",
        "apartments": "apartment building", "detached": "detached house",
        "semidetached_house": "semi-detached house", "terrace": "terraced house",
        "office": "office building", "public": "public building", "civic": "civic building",
        "religious": "religious building", "agricultural": "agricultural building",
    },
    "natural": {"water": "body of water", "wood": "woodland", "bare_rock": "bare rock"},
    "leisure": {
        "pitch": "sports pitch", "track": "running track", "sports_centre": "sports centre",
    },
    "amenity": {"parking": "car park", "place_of_worship": "place of worship"},
    "man_made": {"works": "factory", "wastewater_plant": "wastewater treatment plant"},
    "railway": {"rail": "railway line", "station": "railway station"},
    "aeroway": {"aerodrome": "airfield"},
    "power": {
        "line": "power line", "tower": "power tower", "plant": "power plant",
        "generator": "power generator", "minor_line": "power line",
    },
}  # fmt: skip
"""Per OSM key, values whose name is not the value itself (``highway=service`` → ``service
road``). Road classes read ``<class> road``; other values read as themselves."""

_SUBTYPES: dict[tuple[str, str], str] = {
    ("natural", "water"): "water",
    ("highway", "service"): "service",
}
"""A sub-tag that names the object better (``natural=water`` + ``water=lake`` → ``lake``)."""

_SUBTYPE_NAMES = {"parking_aisle": "parking aisle", "driveway": "driveway", "oxbow": "oxbow lake"}

_MASS_NOUNS = frozenset(
    {"farmland", "grass", "grassland", "scrub", "heath", "sand", "bare rock", "woodland",
     "railway land", "brownfield", "greenfield"}
)  # fmt: skip
"""Object names used without an article ("The image is centred on farmland.")."""


def focus_name(tags: dict[str, str]) -> tuple[str, str, str] | None:
    """Name the focus object of SkyScript ``center:*`` tags by key and value.

    Args:
        tags: A sample's tags.

    Returns:
        ``(key, value, name)``, e.g. ``("highway", "residential", "residential road")``, or
        None when no tag names a feature.
    """
    centre = {k.split(":", 1)[1]: v for k, v in tags.items() if k.startswith("center:")}
    for key in _FEATURE_KEYS:
        value = centre.get(key, "").strip()
        if not value or value == "no" or (value == "yes" and key != "building"):
            continue
        subtype = centre.get(_SUBTYPES.get((key, value), ""), "").strip()
        if subtype:
            name = _SUBTYPE_NAMES.get(subtype, natural_case(subtype))
        elif key == "highway" and value in _ROAD_CLASSES:
            name = f"{natural_case(value)} road"
        else:
            name = _NAMES.get(key, {}).get(value) or natural_case(value)
        return key, value, name
    return None


def _with_article(name: str) -> str:
    return name if name in _MASS_NOUNS else article(name)


def main_object(sample: Sample, config: GenerationConfig) -> TaskValues:
    """SkyScript: what the image's focus object is, named by its OSM key and value."""
    found = focus_name(dict(sample.tags))
    if found is None:
        raise NotApplicable("no_focus_tag")
    name = found[2]
    return TaskValues(values={"object": name, "object_a": _with_article(name)}, answers=(name,))


# -- land use --------------------------------------------------------------------------------

SUPPORTED_BY: dict[str, frozenset[tuple[str, str]]] = {
    "residential": frozenset(
        ("building", v)
        for v in ("house", "residential", "detached", "apartments", "terrace", "bungalow")
    ),
    "farmyard": frozenset(
        ("building", v) for v in ("farm", "farm_auxiliary", "barn", "cowshed", "stable")
    ),
    "industrial": frozenset({("building", "industrial"), ("man_made", "works")}),
    "commercial": frozenset({("building", "commercial"), ("building", "office")}),
    "retail": frozenset({("building", "retail"), ("shop", "supermarket")}),
    "forest": frozenset({("natural", "wood")}),
    "meadow": frozenset({("natural", "grassland")}),
}
"""Land uses that a SkyScript image's own (non-``landuse``) tags vouch for: houses around the
focus object make an OSM ``landuse=residential`` agree with the image."""


def _source_tags(sample: Sample) -> list[tuple[str, str, bool]]:
    """SkyScript's own tags as ``(key, value, is_centre)``: the focus object's, then the rest."""
    tags = [
        (k.split(":", 1)[1], v, True) for k, v in sample.tags.items() if k.startswith("center:")
    ]
    raw = sample.labels.properties.get("surrounding_tags", "")
    try:
        around = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        around = []
    for item in around if isinstance(around, list) else []:
        if isinstance(item, dict):
            tags += [(str(k), str(v), False) for k, v in item.items()]
    return tags


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.split(";") if v.strip()]


def land_uses(sample: Sample) -> tuple[list[str], bool]:
    """The land uses to state, and whether they are OpenStreetMap's (enrichment) alone.

    With source tags (SkyScript): the focus object's ``landuse``, the surrounding objects'
    ``landuse`` values, and enrichment land uses that the source's other tags support
    (:data:`SUPPORTED_BY`); enrichment land uses the source does not vouch for are left
    out. Without source tags (STAC scenes): the enrichment's ``osm:landuse`` values.

    Args:
        sample: The sample.

    Returns:
        ``(values, from_osm)``: OSM ``landuse`` values, the focus object's first.
    """
    osm = _values(sample.tags.get("osm:landuse", ""))
    source = _source_tags(sample)
    if not source:
        return sorted(set(osm)), True
    stated = [v for k, v, centre in source if k == "landuse" and centre]
    stated += sorted({v for k, v, centre in source if k == "landuse" and not centre} - set(stated))
    pairs = {(k, v) for k, v, _ in source}
    stated += sorted(
        {v for v in osm if v not in stated and SUPPORTED_BY.get(v, frozenset()) & pairs}
    )
    return stated, False


def osm_land_use(sample: Sample, config: GenerationConfig) -> TaskValues:
    """The land uses on the image: the source's own tags first, OSM enrichment where it agrees.

    Not for a time series (``series_roles``): its newest image is also a sample of its own,
    which gets this question.
    """
    if sample.labels.properties.get("series_roles"):
        raise NotApplicable("time_series")
    values, from_osm = land_uses(sample)
    if not values:
        raise NotApplicable("no_land_use")
    names = [natural_case(v) for v in values]
    evidence = (
        "According to OpenStreetMap" if from_osm else "Judging by the features mapped in this image"
    )
    return TaskValues(
        values={
            "land_uses": join_list(names),
            "uses": "use" if len(names) == 1 else "uses",
            "is_are": is_are(len(names)),
            "evidence": evidence,
        },
        answers=tuple(names),
    )


BUILDERS: dict[str, Builder] = {
    "source_caption": source_caption,
    "main_object": main_object,
    "osm_land_use": osm_land_use,
}
"""Builder name (as used in template files) → function."""
