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
scenes), :mod:`.thermal` (heat), :mod:`.sequence` (change pairs and image sequences);
:mod:`.common` holds the shared machinery. Adding a family is one module and one line below.
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders import (
    detection,
    disaster,
    earthquake,
    landcover,
    methane,
    scene,
    sequence,
    thermal,
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

_MODULES = (landcover, detection, disaster, methane, earthquake, scene, thermal, sequence)

BUILDERS: dict[str, Builder] = {}
"""Builder name (as used in template files) → function, from every family module."""
for _module in _MODULES:
    _clash = set(BUILDERS) & set(_module.BUILDERS)
    if _clash:
        raise RuntimeError(f"builder names defined twice: {sorted(_clash)}")
    BUILDERS.update(_module.BUILDERS)

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
