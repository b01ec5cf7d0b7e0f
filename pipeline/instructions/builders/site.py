"""fMoW sites: what the boxed site is (over a sequence or in one view), and "when" questions.

An fMoW sample is a sequence of views of one place, oldest first (roles ``t0``, ``t1``…), with
the box of its object on every view (``labels.objects``, one per view) and the view times in
``labels.properties["timestamp:t<i>"]``.

- **Classification** answers the category of the boxed object, the one fact the labels state;
  the question gives the box (on the first image for a sequence, on the image shown for a
  single view) and a closed list of options: the true category and
  :data:`DISTRACTORS` others drawn from the 62 (seeded).
- **When questions** are answerable from the sequence order and the dates the question gives
  (the pixels show no date): the date of the image at a position (the dates listed in a
  seeded shuffle), the position of the image taken on a date, and the time between the first
  and the last image in whole years and months. They need three views (two for the span).
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    format_boxes,
    scale_box,
)
from eoinstruct.pipeline.instructions.grammar import count_phrase, join_list, number_word
from eoinstruct.pipeline.records import ObjectLabel, Sample
from eoinstruct.sources.fmow.categories import CATEGORIES, SCHEME, category_words

DISTRACTORS = 5
"""Categories besides the true one listed as options."""

ORDINALS: tuple[str, ...] = ("first", "second", "third", "fourth", "fifth")
"""Position words of the images of a sequence."""


def _roles(sample: Sample, least: int) -> tuple[str, ...]:
    if sample.labels.scheme != SCHEME or len(sample.labels.classes) != 1:
        raise NotApplicable("not_an_fmow_site")
    roles = tuple(r for r in sample.labels.properties.get("series_roles", "").split("/") if r)
    if len(roles) < least:
        raise NotApplicable(f"fewer_than_{least}_views")
    if len(roles) > len(ORDINALS):
        raise NotApplicable("too_many_views")
    return roles


def _object_on(sample: Sample, role: str) -> ObjectLabel:
    found = [o for o in sample.labels.objects if o.image_role == role]
    if len(found) != 1 or found[0].category != sample.labels.classes[0]:
        raise NotApplicable("no_single_box_on_view")
    return found[0]


def _options(sample: Sample, config: GenerationConfig, template: str) -> tuple[str, ...]:
    truth = sample.labels.classes[0]
    pool = [c for c in CATEGORIES if c != truth]
    chosen = {truth}
    while len(chosen) < DISTRACTORS + 1:
        index = draw(config.seed, sample.sample_id, template, f"option{len(chosen)}", n=len(pool))
        chosen.add(pool.pop(index))
    return tuple(sorted(category_words(c) for c in chosen))


def _classify(
    sample: Sample, config: GenerationConfig, roles: tuple[str, ...], role: str, template: str
) -> TaskValues:
    obj = _object_on(sample, role)
    image = sample.image(role)
    box = scale_box(obj.bbox, image.width, image.height, config.box_scale)
    options = _options(sample, config, template)
    answer = category_words(sample.labels.classes[0])
    return TaskValues(
        values={
            "count": number_word(len(roles)),
            "box": format_boxes((box,)),
            "options": "; ".join(options),
            "class": answer,
            "Class": answer[0].upper() + answer[1:],
        },
        options=options,
        answers=(answer,),
        boxes=(box,),
        image_roles=roles,
    )


def sequence_class(sample: Sample, config: GenerationConfig) -> TaskValues:
    """A sequence: the category of the site boxed on the first image, every view shown."""
    roles = _roles(sample, 2)
    return _classify(sample, config, roles, roles[0], "fmow_sequence_class")


def view_class(sample: Sample, config: GenerationConfig) -> TaskValues:
    """One view (a seeded draw among the views): the category of the boxed site."""
    roles = _roles(sample, 1)
    role = roles[draw(config.seed, sample.sample_id, "fmow_view|role", n=len(roles))]
    return _classify(sample, config, (role,), role, "fmow_view_class")


def _dates(sample: Sample, roles: tuple[str, ...]) -> list[str]:
    props = sample.labels.properties
    try:
        dates = [props[f"timestamp:{r}"][:10] for r in roles]
    except KeyError:
        raise NotApplicable("no_timestamps") from None
    if dates != sorted(dates):
        raise NotApplicable("views_not_in_date_order")
    return dates


def _shuffled(dates: list[str], seed: int, sample_id: str) -> str:
    pool = list(dates)
    out = []
    while pool:
        out.append(
            pool.pop(draw(seed, sample_id, "fmow_when|shuffle", str(len(pool)), n=len(pool)))
        )
    return join_list(out)


def view_date(sample: Sample, config: GenerationConfig) -> TaskValues:
    """The date of the image at a drawn position (the dates listed shuffled)."""
    roles = _roles(sample, 3)
    dates = _dates(sample, roles)
    k = draw(config.seed, sample.sample_id, "fmow_when|position", n=len(roles))
    return TaskValues(
        values={
            "count": number_word(len(roles)),
            "dates": _shuffled(dates, config.seed, sample.sample_id),
            "ordinal": ORDINALS[k],
            "date": dates[k],
        },
        options=tuple(dict.fromkeys(dates)),
        answers=(dates[k],),
        image_roles=roles,
    )


def image_on_date(sample: Sample, config: GenerationConfig) -> TaskValues:
    """The position of the image taken on a drawn date (a date of one view)."""
    roles = _roles(sample, 3)
    dates = _dates(sample, roles)
    single = [i for i, d in enumerate(dates) if dates.count(d) == 1]
    if not single:
        raise NotApplicable("no_date_of_one_view")
    k = single[draw(config.seed, sample.sample_id, "fmow_when|date", n=len(single))]
    answer = f"The {ORDINALS[k]} image"
    return TaskValues(
        values={
            "count": number_word(len(roles)),
            "dates": _shuffled(dates, config.seed, sample.sample_id),
            "date": dates[k],
            "ordinal": ORDINALS[k],
            "answer": answer,
        },
        options=tuple(f"The {o} image" for o in ORDINALS[: len(roles)]),
        answers=(answer,),
        image_roles=roles,
    )


def months_between(first: str, last: str) -> int:
    """Return the whole months from one ``YYYY-MM-DD`` date to a later one."""
    y1, m1, d1 = (int(v) for v in first.split("-"))
    y2, m2, d2 = (int(v) for v in last.split("-"))
    return (y2 - y1) * 12 + (m2 - m1) - (1 if d2 < d1 else 0)


def time_span(sample: Sample, config: GenerationConfig) -> TaskValues:
    """An fMoW sequence: whole years and months between the first and the last image."""
    roles = _roles(sample, 2)
    dates = _dates(sample, roles)
    months = months_between(dates[0], dates[-1])
    if months < 1:
        raise NotApplicable("less_than_a_month")
    years, rest = divmod(months, 12)
    parts = [
        count_phrase(years, "year") if years else "",
        count_phrase(rest, "month") if rest else "",
    ]
    span = join_list(parts)
    return TaskValues(
        values={
            "count": number_word(len(roles)),
            "dates": _shuffled(dates, config.seed, sample.sample_id),
            "span": span,
            "Span": span[0].upper() + span[1:],
            "first": dates[0],
            "last": dates[-1],
        },
        image_roles=roles,
    )


BUILDERS: dict[str, Builder] = {
    "fmow_sequence_class": sequence_class,
    "fmow_view_class": view_class,
    "fmow_view_date": view_date,
    "fmow_image_on_date": image_on_date,
    "fmow_time_span": time_span,
}
"""Builder name (as used in template files) → function."""
