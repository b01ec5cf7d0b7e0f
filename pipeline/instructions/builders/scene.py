"""Scene tasks from tags and captions.

A source's own tags and captions (SkyScript), OpenStreetMap tags and scene metadata (STAC).
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    join_phrases,
)
from eoinstruct.pipeline.records import Sample


def source_caption(sample: Sample, config: GenerationConfig) -> TaskValues:
    """SkyScript: the source's caption (multi-object caption when there is one)."""
    props = sample.labels.properties
    caption = props.get("title_multi_objects") or props.get("title") or ""
    caption = caption.strip()
    if not caption:
        raise NotApplicable("no_caption")
    return TaskValues(values={"caption": caption[0].upper() + caption[1:].rstrip(".") + "."})


def main_object(sample: Sample, config: GenerationConfig) -> TaskValues:
    """SkyScript: what the image's focus object is, from its OpenStreetMap tags."""
    centre = sorted(
        (k.split(":", 1)[1], v) for k, v in sample.tags.items() if k.startswith("center:")
    )
    preferred = ("building", "landuse", "natural", "leisure", "amenity", "highway", "waterway")
    for key in preferred:
        for k, v in centre:
            if k == key and v not in ("yes", ""):
                name = v.replace("_", " ")
                return TaskValues(values={"object": name}, answers=(name,))
    raise NotApplicable("no_focus_tag")


def scene_platform(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which satellite acquired the scene, from the STAC item's ``platform``."""
    platform = sample.tags.get("platform", "")
    if not platform:
        raise NotApplicable("no_platform")
    return TaskValues(values={"platform": platform, "date": (sample.acquired or ("",))[0][:10]})


def osm_land_use(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Land uses OpenStreetMap maps on the footprint (``osm:landuse`` from the enrich stage)."""
    values = [v.replace("_", " ") for v in sample.tags.get("osm:landuse", "").split(";") if v]
    if not values:
        raise NotApplicable("no_osm_landuse")
    return TaskValues(values={"land_uses": join_phrases(sorted(values))})


BUILDERS: dict[str, Builder] = {
    "source_caption": source_caption,
    "main_object": main_object,
    "scene_platform": scene_platform,
    "osm_land_use": osm_land_use,
}
"""Builder name (as used in template files) → function."""
