"""QuakeSet earthquake tasks from the labels of a pre/post SAR pair."""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    yes_no,
)
from eoinstruct.pipeline.records import Sample

MAGNITUDE_CLASSES: tuple[str, ...] = (
    "micro",
    "minor",
    "light",
    "moderate",
    "strong",
    "major",
    "great",
)
"""Magnitude classes (USGS: minor 3–3.9 … great ≥ 8; micro below 3) as QuakeSet tags them."""


def _pair_roles(sample: Sample) -> tuple[str, ...]:
    pair = sample.labels.properties.get("pair", "")
    roles = tuple(pair.split("/")) if pair else ()
    if len(roles) != 2:
        raise NotApplicable("no_pair_roles")
    return roles


def earthquake_occurred(sample: Sample, config: GenerationConfig) -> TaskValues:
    """QuakeSet: did an earthquake affect the area between the two acquisitions?"""
    value = sample.labels.properties.get("earthquake", "")
    if value not in ("yes", "no"):
        raise NotApplicable("no_earthquake_label")
    answer = yes_no(value == "yes")
    return TaskValues(
        values={"answer": answer},
        options=("Yes", "No"),
        answers=(answer,),
        image_roles=_pair_roles(sample),
    )


def earthquake_magnitude(sample: Sample, config: GenerationConfig) -> TaskValues:
    """QuakeSet: magnitude class of the earthquake (positive pairs only)."""
    props = sample.labels.properties
    label = sample.tags.get("magnitude_class", "")
    if props.get("earthquake") != "yes" or label not in MAGNITUDE_CLASSES:
        raise NotApplicable("no_magnitude")
    return TaskValues(
        values={
            "class": label,
            "magnitude": props.get("magnitude", ""),
            "options": ", ".join(MAGNITUDE_CLASSES),
        },
        options=MAGNITUDE_CLASSES,
        answers=(label,),
        image_roles=_pair_roles(sample),
    )


BUILDERS: dict[str, Builder] = {
    "earthquake_occurred": earthquake_occurred,
    "earthquake_magnitude": earthquake_magnitude,
}
"""Builder name (as used in template files) → function."""
