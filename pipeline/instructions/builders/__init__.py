"""Task builders: compute a template's values from a sample's labels, never guessing.

A builder takes a sample and the generation settings and returns
:class:`~eoinstruct.pipeline.instructions.builders.common.TaskValues`: the strings that fill the
template's placeholders,
plus what the validator needs to check the answer (the closed set of allowed answers, the
boxes that must appear). A builder that cannot answer from the labels raises
:class:`~eoinstruct.pipeline.instructions.builders.common.NotApplicable` with a reason, and no pair
is made.
Modules: :mod:`.common` (machinery, BigEarthNet classification, xBD basics),
:mod:`.landcover`, :mod:`.detection`, :mod:`.events`.
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders import detection, events, landcover
from eoinstruct.pipeline.instructions.builders.common import (
    DAMAGE_LEVELS,
    REFERRING_PHRASES,
    XBD_DISASTER_TYPES,
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    damage_counts,
    disaster_type,
    draw,
    format_boxes,
    landcover_multilabel,
    refer_damage_level,
    scale_box,
)

BUILDERS: dict[str, Builder] = {
    "landcover_multilabel": landcover_multilabel,
    "landcover_presence": landcover.landcover_presence,
    "urban_rural": landcover.urban_rural,
    "landcover_caption": landcover.landcover_caption,
    "satlas_landcover": landcover.satlas_landcover,
    "satlas_dominant_share": landcover.satlas_dominant_share,
    "disaster_type": disaster_type,
    "damage_counts": damage_counts,
    "refer_damage_level": refer_damage_level,
    "identify_damage": detection.identify_damage,
    "buildings_affected": events.buildings_affected,
    "damage_change": events.damage_change,
    "damage_description": events.damage_description,
    "refer_category": detection.refer_category,
    "identify_object": detection.identify_object,
    "ground_objects": detection.ground_objects,
    "count_objects": detection.count_objects,
    "methane_presence": events.methane_presence,
    "methane_strength": events.methane_strength,
    "methane_extent": events.methane_extent,
    "earthquake_occurred": events.earthquake_occurred,
    "earthquake_magnitude": events.earthquake_magnitude,
    "source_caption": events.source_caption,
    "main_object": events.main_object,
    "thermal_summary": events.thermal_summary,
    "scene_platform": events.scene_platform,
    "osm_land_use": events.osm_land_use,
}
"""Builder name (as used in template files) → function."""

__all__ = [
    "BUILDERS",
    "DAMAGE_LEVELS",
    "REFERRING_PHRASES",
    "XBD_DISASTER_TYPES",
    "Builder",
    "GenerationConfig",
    "NotApplicable",
    "TaskValues",
    "damage_counts",
    "disaster_type",
    "draw",
    "format_boxes",
    "landcover_multilabel",
    "refer_damage_level",
    "scale_box",
]
