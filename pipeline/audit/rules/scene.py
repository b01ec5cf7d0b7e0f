"""Audit rules for the scene task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they re-derive the answer with their own code.

- ``skyscript_caption``: the answer is the source's caption (``title_multi_objects`` or
  ``title``), give or take its "a satellite image of" lead and framing words.
- ``skyscript_main_object``: the answer names a ``center:*`` tag of the focus object, with
  its key where the value alone is an adjective (``residential`` → a residential *road*).
- ``osm_land_use``: every land use stated is vouched for by the source's own tags (the focus
  object's ``landuse``, the surrounding objects' ``landuse``, buildings that imply one) — or,
  without source tags, by the ``osm:landuse`` enrichment; the focus object's land use is
  stated; "OpenStreetMap" is cited only for land uses the enrichment maps.
- Every scene answer: no platform name and no acquisition date (not visible in pixels).
"""

from __future__ import annotations

import json
import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule

_FRAMING = frozenset(
    "a an the this that image images picture scene shows show showing shown you can see in of "
    "with is are it here view depicts".split()
)
"""Words a caption answer may add around the caption itself."""

_LEAD = re.compile(
    r"^\s*(an?|the)\s+(satellite|aerial|remote sensing)\s+(image|photo|view|picture)\s+of\s+"
)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _metadata_problems(item: AuditItem) -> list[str]:
    """Answers must not state the platform or the acquisition date."""
    answer = " ".join(item.answers).lower()
    problems = []
    platform = str(item.tags.get("platform", "")).strip().lower()
    if platform and platform in answer:
        problems.append(f"states_metadata:platform:{platform}")
    for when in item.acquired:
        day = when[:10]
        if day and day in answer:
            problems.append(f"states_metadata:date:{day}")
            break
    return problems


def caption_rule(item: AuditItem) -> list[str]:
    """The answer is the source caption: all its words, and nothing but framing words besides."""
    props = item.labels.properties
    captions = [props[k] for k in ("title_multi_objects", "title") if props.get(k)]
    if not captions:
        return ["no_source_caption"]
    said = _words(" ".join(item.answers))
    for caption in captions:
        body = _words(_LEAD.sub("", caption.lower()))
        full = _words(caption)
        extra = set(said) - set(full) - _FRAMING
        if set(body) <= set(said) and not extra:
            return _metadata_problems(item)
    return ["caption_mismatch", *_metadata_problems(item)]


_DESCRIPTOR_KEYS = frozenset(
    {"name", "surface", "tracktype", "leaf_type", "leaf_cycle", "lanes", "maxspeed", "ref",
     "oneway", "layer", "height", "operator", "crop", "trees", "religion", "denomination"}
)  # fmt: skip
"""``center:*`` keys that describe an object but do not say what it is."""

_KEY_NOUNS: dict[str, tuple[str, ...]] = {
    "highway": ("road", "street", "track", "path", "lane", "way", "motorway", "footpath"),
    "landuse": ("area", "land", "site", "zone", "ground"),
    "building": ("building", "house", "farmhouse", "barn", "shed"),
    "power": ("line", "tower", "plant", "substation", "generator", "power"),
    "railway": ("railway", "line", "station", "track"),
}
"""Nouns that show which key an adjectival value belongs to."""

_ADJECTIVAL: dict[str, frozenset[str]] = {
    "highway": frozenset(
        {"motorway_link", "trunk", "primary", "secondary", "tertiary", "unclassified",
         "residential", "service", "living_street", "trunk_link", "primary_link"}
    ),
    "landuse": frozenset({"residential", "industrial", "commercial", "retail", "military"}),
    "building": frozenset(
        {"yes", "residential", "commercial", "industrial", "retail", "farm_auxiliary",
         "apartments", "public", "civic", "religious", "office", "agricultural", "detached"}
    ),
    "power": frozenset({"line", "minor_line"}),
    "railway": frozenset({"rail", "light_rail", "narrow_gauge"}),
}  # fmt: skip
"""Values that do not name a thing without their key (``highway=residential``)."""

_SYNONYMS = {
    ("building", "yes"): ("building",),
    ("building", "farm"): ("farmhouse", "farm"),
    ("building", "farm_auxiliary"): ("farm building",),
    ("building", "apartments"): ("apartment building", "apartments"),
    ("building", "semidetached_house"): ("semi detached house",),
    ("building", "terrace"): ("terraced house", "terrace"),
    ("highway", "footway"): ("footpath", "footway"),
    ("highway", "cycleway"): ("cycle path", "cycleway"),
    ("highway", "pedestrian"): ("pedestrian street",),
    ("highway", "steps"): ("steps",),
    ("man_made", "wastewater_plant"): ("wastewater treatment plant", "wastewater plant"),
    ("railway", "rail"): ("railway line", "railway"),
    ("natural", "wood"): ("wood", "woodland"),
    ("natural", "water"): ("water",),
    ("amenity", "parking"): ("parking", "car park"),
    ("man_made", "works"): ("factory", "works"),
    ("aeroway", "aerodrome"): ("airfield", "aerodrome"),
}
"""Other words for a value (``building=yes`` is a *building*)."""


def _mentions(words: list[str], phrase: str) -> bool:
    target = _words(phrase)
    n = len(target)
    return any(words[i : i + n] == target for i in range(len(words) - n + 1))


def main_object_rule(item: AuditItem) -> list[str]:
    """The answer names a focus-object tag by value, and by key where the value needs it."""
    centre = [
        (k.split(":", 1)[1], v)
        for k, v in item.tags.items()
        if k.startswith("center:") and k.split(":", 1)[1] not in _DESCRIPTOR_KEYS
    ]
    if not centre:
        return ["no_centre_tags"]
    words = _words(" ".join(item.answers))
    bare = []
    for key, value in centre:
        phrases = _SYNONYMS.get((key, value), (value.replace("_", " "),))
        if value == "yes" and (key, value) not in _SYNONYMS:
            continue
        if not any(_mentions(words, p) for p in phrases):
            continue
        if value in _ADJECTIVAL.get(key, frozenset()) and (key, value) not in _SYNONYMS:
            if not any(n in words for n in _KEY_NOUNS.get(key, ())):
                bare.append(f"{key}={value}")
                continue
        return _metadata_problems(item)
    if bare:
        return [f"tag_value_without_key:{bare[0]}", *_metadata_problems(item)]
    return [f"main_object_not_in_tags:{' '.join(words)}", *_metadata_problems(item)]


_LAND_USES = frozenset(
    "residential industrial commercial retail farmland farmyard meadow forest grass orchard "
    "vineyard quarry cemetery allotments military railway construction brownfield greenfield "
    "landfill religious recreation_ground village_green basin reservoir plant_nursery "
    "aquaculture salt_pond greenhouse_horticulture garages education institutional".split()
)
"""OSM ``landuse`` values an answer might state (the common ones of the OSM wiki)."""

_IMPLIES: dict[str, set[tuple[str, str]]] = {
    "residential": {("building", b) for b in ("house", "residential", "detached", "apartments",
                                               "terrace", "bungalow")},
    "farmyard": {("building", b) for b in ("farm", "farm_auxiliary", "barn", "cowshed",
                                            "stable")},
    "industrial": {("building", "industrial"), ("man_made", "works")},
    "commercial": {("building", "commercial"), ("building", "office")},
    "retail": {("building", "retail"), ("shop", "supermarket")},
    "forest": {("natural", "wood")},
    "meadow": {("natural", "grassland")},
}  # fmt: skip
"""Source tags that vouch for a land use (a house makes ``residential`` agree with the image)."""


def _split(text: str) -> set[str]:
    return {p.strip().split(" (")[0] for p in re.split(r";", text) if p.strip()}


def _around(item: AuditItem) -> set[tuple[str, str]]:
    """The surrounding objects' tags.

    From the full list (``surrounding_tags`` property) if it reads, else from the
    ``surrounding:<key>`` summary tags (which may leave rare values out).
    """
    try:
        objects = json.loads(item.labels.properties.get("surrounding_tags") or "null")
    except json.JSONDecodeError:
        objects = None
    if isinstance(objects, list):
        return {(str(k), str(v)) for o in objects if isinstance(o, dict) for k, v in o.items()}
    return {
        (key.split(":", 1)[1], v)
        for key, value in item.tags.items()
        if key.startswith("surrounding:")
        for v in _split(value)
        if not v.startswith("+")
    }


def land_use_rule(item: AuditItem) -> list[str]:
    """Stated land uses agree with the source's own tags; OSM is cited only for what it maps."""
    tags = item.tags
    osm = _split(str(tags.get("osm:landuse", "")))
    centre = {k.split(":", 1)[1]: v for k, v in tags.items() if k.startswith("center:")}
    around = _around(item)
    has_source = bool(centre or around)
    pairs = set(centre.items()) | around
    if has_source:
        allowed = {v for k, v in pairs if k == "landuse"}
        allowed |= {use for use, support in _IMPLIES.items() if support & pairs}
    else:
        allowed = set(osm)
    answer = " ".join(item.answers)
    words = _words(answer)
    vocabulary = _LAND_USES | allowed | osm
    stated = {u for u in vocabulary if _mentions(words, u.replace("_", " "))}
    problems = [f"land_use_contradicts_source:{u}" for u in sorted(stated - allowed)]
    if "landuse" in centre and centre["landuse"] not in stated:
        problems.append(f"missing_centre_land_use:{centre['landuse']}")
    if not has_source:
        problems += [f"missing_land_use:{u}" for u in sorted(osm - stated)]
    if "openstreetmap" in words:
        problems += [f"osm_claim_not_in_osm:{u}" for u in sorted(stated - osm)]
    if not stated:
        problems.append("no_land_use_stated")
    return problems + _metadata_problems(item)


RULES: dict[str, Rule] = {
    "skyscript_caption": caption_rule,
    "skyscript_main_object": main_object_rule,
    "osm_land_use": land_use_rule,
}
"""Template id → rule."""
