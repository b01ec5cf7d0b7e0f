"""Task builders: compute a template's values from a sample's labels, never guessing.

A builder takes a sample and the generation settings and returns
:class:`~eoinstruct.pipeline.instructions.builders.common.TaskValues`: the strings that fill the
template's placeholders, plus what the validator needs to check the answer (the closed set of
allowed answers, the boxes that must appear). A builder that cannot answer from the labels
raises :class:`~eoinstruct.pipeline.instructions.builders.common.NotApplicable` with a reason,
and no pair is made.

One module per task family, each with its own ``BUILDERS`` table: :mod:`.landcover`
(BigEarthNet, Satlas land cover), :mod:`.detection` (Satlas objects), :mod:`.disaster` (xBD),
:mod:`.methane` (STARCOP), :mod:`.earthquake` (QuakeSet), :mod:`.scene` (SkyScript, OSM, STAC
scenes), :mod:`.thermal` (heat), :mod:`.sequence` (change pairs and image sequences),
:mod:`.change` (LEVIR-CD change masks), :mod:`.site` (fMoW sites and dates),
:mod:`.oriented` (DIOR-R and DOTA oriented objects, region captions), :mod:`.source_vqa`
(RSVQA's own question-answer pairs), :mod:`.presence` (object yes/no on SAR and infrared),
:mod:`.trees` (TreeSatAI genera), :mod:`.lcz` (So2Sat local climate zones);
:mod:`.common` holds the shared machinery. Adding a family is one module and one line below.
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders import (
    change,
    detection,
    disaster,
    earthquake,
    landcover,
    lcz,
    methane,
    oriented,
    presence,
    scene,
    sequence,
    site,
    source_vqa,
    thermal,
    trees,
)
from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    format_boxes,
    scale_box,
)
from eoinstruct.pipeline.tables import merge_tables

_MODULES = (
    landcover,
    detection,
    oriented,
    disaster,
    methane,
    earthquake,
    scene,
    thermal,
    sequence,
    change,
    site,
    source_vqa,
    presence,
    trees,
    lcz,
)

BUILDERS: dict[str, Builder] = merge_tables((m.BUILDERS for m in _MODULES), "builder names")
"""Builder name (as used in template files) → function, from every family module."""

__all__ = [
    "BUILDERS",
    "Builder",
    "GenerationConfig",
    "NotApplicable",
    "TaskValues",
    "draw",
    "format_boxes",
    "scale_box",
]
