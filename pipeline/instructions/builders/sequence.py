"""Change pairs and image sequences: several dates of one place, shown oldest first.

Every pair here shows one image per acquisition date, in date order (roles ``t0``, ``t1``…,
or QuakeSet's ``before``, ``pre``, ``post``), so its sensor tag carries ``temp``; questions
refer to the images by position ("the first", "the last"), never by date.

- **STAC time series** (:mod:`eoinstruct.sources.stac.series`): vegetation change between the
  first and the last image, and which image is greenest, from the mean NDVI of each date
  stored at ingest (``ndvi_mean:t<i>``). A change of at least :data:`NDVI_CHANGE` in mean
  NDVI is called a change ("greener", "less green"); a smaller one "no clear change". The
  greenest image is asked only when it leads every other by at least :data:`NDVI_CHANGE`.
- **Satlas time series**: the dominant land cover of the most recent image (the static
  labels describe the newest image), with every date shown.
- **QuakeSet sequences**: a positive patch with a ``before`` image shows ``before``, ``pre``,
  ``post``; the question asks about one of the two intervals (a seeded draw), and the answer
  is yes only for ``pre`` → ``post``, the interval the earthquake fell in.
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
from eoinstruct.pipeline.instructions.builders.landcover import satlas_dominant_share
from eoinstruct.pipeline.instructions.grammar import number_word
from eoinstruct.pipeline.records import Sample

NDVI_CHANGE = 0.1
"""Smallest change in mean NDVI called a change in vegetation."""

ORDINALS: tuple[str, ...] = ("first", "second", "third", "fourth", "fifth")
"""Position words of images in a sequence."""

VERDICTS = {"up": "greener", "down": "less green", "none": "no clear change"}
"""Vegetation change verdict → the phrase the answers use."""

_SEQUENCE = ("before", "pre", "post")
"""QuakeSet roles in date order."""


def _date_roles(sample: Sample, prefix: str = "t") -> tuple[str, ...]:
    """The sample's date roles ``t0``, ``t1``… in order (no ``_bands`` companions)."""
    roles = [im.role for im in sample.images]
    out = tuple(f"{prefix}{i}" for i in range(len(roles)) if f"{prefix}{i}" in roles)
    if len(out) < 2:
        raise NotApplicable("fewer_than_two_dates")
    return out


def _ndvi_means(sample: Sample) -> tuple[tuple[str, ...], list[float]]:
    props = sample.labels.properties
    roles = tuple(r for r in props.get("series_roles", "").split("/") if r)
    if len(roles) < 2:
        raise NotApplicable("not_a_series")
    try:
        means = [float(props[f"ndvi_mean:{r}"]) for r in roles]
    except (KeyError, ValueError):
        raise NotApplicable("no_ndvi") from None
    return roles, means


def _count(roles: tuple[str, ...]) -> str:
    return number_word(len(roles))


def vegetation_change(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STAC series: greener, less green or no clear change between the first and last image."""
    roles, means = _ndvi_means(sample)
    first, last = means[0], means[-1]
    delta = round(last - first, 3)
    if abs(delta) >= NDVI_CHANGE:
        verdict = "up" if delta > 0 else "down"
    else:
        verdict = "none"
    phrase = VERDICTS[verdict]
    moved = {"up": "rose", "down": "fell", "none": "moved"}[verdict]
    if verdict == "none":
        sentence = "There is no clear change in the vegetation between the first and last image"
        reason = (
            f"the mean NDVI {moved} only from {first:.2f} to {last:.2f}, less than the "
            f"{NDVI_CHANGE:g} a clear change would need"
        )
    else:
        sentence = f"The vegetation is {phrase} in the last image than in the first"
        reason = (
            f"the mean NDVI {moved} from {first:.2f} in the first image to {last:.2f} in the last"
        )
    return TaskValues(
        values={
            "count": _count(roles),
            "answer": phrase[0].upper() + phrase[1:],
            "verdict": phrase,
            "sentence": sentence,
            "reason": reason,
        },
        options=tuple(v[0].upper() + v[1:] for v in VERDICTS.values()),
        answers=(phrase[0].upper() + phrase[1:],),
        image_roles=roles,
    )


def greenest_image(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STAC series: which image shows the greenest vegetation (a clear lead only)."""
    roles, means = _ndvi_means(sample)
    if len(roles) > len(ORDINALS):
        raise NotApplicable("too_many_dates")
    ranked = sorted(range(len(means)), key=lambda i: -means[i])
    top, second = ranked[0], ranked[1]
    if means[top] - means[second] < NDVI_CHANGE:
        raise NotApplicable("no_clear_lead")
    ordinal = ORDINALS[top]
    return TaskValues(
        values={
            "count": _count(roles),
            "ordinal": ordinal,
            "answer": f"The {ordinal} image",
            "top_ndvi": f"{means[top]:.2f}",
            "runner_up": ORDINALS[second],
            "runner_ndvi": f"{means[second]:.2f}",
        },
        options=tuple(f"The {o} image" for o in ORDINALS[: len(roles)]),
        answers=(f"The {ordinal} image",),
        image_roles=roles,
    )


def satlas_sequence_landcover(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Satlas series: the dominant land cover of the most recent image, all dates shown."""
    roles = _date_roles(sample)
    newest = sample.labels.properties.get("static_image_role", "")
    if newest != roles[-1]:
        raise NotApplicable("labels_not_on_newest")
    single = satlas_dominant_share(sample, config)
    return TaskValues(
        values={**single.values, "count": _count(roles)},
        options=single.options,
        answers=single.answers,
        image_roles=roles,
    )


def quakeset_interval(sample: Sample, config: GenerationConfig) -> TaskValues:
    """QuakeSet before/pre/post: did the earthquake strike in the interval asked about?"""
    props = sample.labels.properties
    have = {im.role for im in sample.images}
    if props.get("earthquake") != "yes" or not set(_SEQUENCE) <= have:
        raise NotApplicable("no_three_image_sequence")
    asked = draw(config.seed, sample.sample_id, "sequence|interval", n=2)
    hit = asked == 1  # interval 0: before → pre; interval 1: pre → post
    interval = ("first and the second", "second and the third")[asked]
    if hit:
        reason = (
            "the first two images were both acquired before the earthquake, and the third "
            "after it, so it struck between the second and the third"
        )
    else:
        reason = (
            "the first and the second image were both acquired before the earthquake; it "
            "struck between the second and the third"
        )
    answer = yes_no(hit)
    return TaskValues(
        values={
            "interval": interval,
            "answer": answer,
            "struck": (
                f"the earthquake struck between the {interval} image"
                if hit
                else f"the earthquake did not strike between the {interval} image"
            ),
            "reason": reason[0].upper() + reason[1:],
            "reason_lc": reason,
        },
        options=("Yes", "No"),
        answers=(answer,),
        image_roles=_SEQUENCE,
    )


BUILDERS: dict[str, Builder] = {
    "vegetation_change": vegetation_change,
    "greenest_image": greenest_image,
    "satlas_sequence_landcover": satlas_sequence_landcover,
    "quakeset_interval": quakeset_interval,
}
"""Builder name (as used in template files) → function."""
