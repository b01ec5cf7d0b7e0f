"""QuakeSet earthquake task: did an earthquake strike between the two SAR acquisitions shown?

A QuakeSet sample is a pair of Sentinel-1 acquisitions of one patch: ``pre``/``post`` around
an earthquake (positive) or ``before``/``pre``, both before it (hard negative). The pair's
label, ``labels.properties["earthquake"]`` (``yes``/``no``), answers the question; the pair
shown is ``labels.properties["pair"]``, earlier image first. The magnitude is not asked: it is
an event label, not something a 10 m SAR patch shows.
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    yes_no,
)
from eoinstruct.pipeline.instructions.grammar import article, sentence_case
from eoinstruct.pipeline.records import Sample

EVENT = "earthquake"

_REASONS_YES: tuple[str, ...] = (
    "the later image records the effects of {an_event} that struck the area after the earlier "
    "acquisition",
    "the area was hit by {an_event} after the first acquisition and before the second, so the "
    "later image shows the ground after the shaking",
    "the ground here was disturbed by {an_event} between the first and the second acquisition",
)
_REASONS_NO: tuple[str, ...] = (
    "both acquisitions show the ground before any {event} struck it, so the later image holds "
    "no {event} damage",
    "the ground in the later image is as undisturbed as in the earlier one, with no {event} "
    "in between",
    "the two acquisitions show the same ground without the changes {an_event} would leave",
)


def _pair_roles(sample: Sample) -> tuple[str, ...]:
    pair = sample.labels.properties.get("pair", "")
    roles = tuple(pair.split("/")) if pair else ()
    if len(roles) != 2:
        raise NotApplicable("no_pair_roles")
    return roles


def earthquake_occurred(sample: Sample, config: GenerationConfig) -> TaskValues:
    """QuakeSet: did an earthquake affect the area between the two acquisitions (Yes/No)?"""
    value = sample.labels.properties.get("earthquake", "")
    if value not in ("yes", "no"):
        raise NotApplicable("no_earthquake_label")
    hit = value == "yes"
    answer = yes_no(hit)
    an_event = article(EVENT)
    reasons = _REASONS_YES if hit else _REASONS_NO
    reason = reasons[draw(config.seed, sample.sample_id, "earthquake|reason", n=len(reasons))]
    reason_lc = reason.format(an_event=an_event, event=EVENT)
    return TaskValues(
        values={
            "answer": answer,
            "struck": (
                f"{an_event} struck this area" if hit else f"this area was not struck by {an_event}"
            ),
            "affected": (
                f"the area was affected by {an_event}"
                if hit
                else f"the area was not affected by {an_event}"
            ),
            "reason": sentence_case(reason_lc),
            "reason_lc": reason_lc,
        },
        options=("Yes", "No"),
        answers=(answer,),
        image_roles=_pair_roles(sample),
    )


BUILDERS: dict[str, Builder] = {
    "earthquake_occurred": earthquake_occurred,
}
"""Builder name (as used in template files) → function."""
