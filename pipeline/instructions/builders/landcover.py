"""Land-cover tasks: BigEarthNet classes, presence, urban/rural, captions, a dialogue; Satlas.

BigEarthNet answers come from the scene classes (CLC-43 labels of v1, BEN-19 labels of reBEN)
and, where the source adapter recorded them (reBEN, from the patch's reference map), the
class areas in ``labels.properties["class_shares"]`` (CLC level-3 name → share of the patch).
SatlasPretrain answers come from the shares of its ``land_cover.png`` label, recorded by the
adapter in ``labels.properties["land_cover_shares"]``. No builder here reads a raster.

Class names are written as they read mid-sentence (``arable land``, ``broad-leaved forest``);
the few BigEarthNet names with commas inside get a comma-free wording in prose
(:data:`PROSE_NAMES`) so lists of them stay readable. Closed-set answers (multi-label lists)
keep the exact class names of the options.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    yes_no,
)
from eoinstruct.pipeline.instructions.grammar import (
    article,
    count_phrase,
    join_list,
    sentence_case,
    singular,
)
from eoinstruct.pipeline.records import Sample
from eoinstruct.sources.bigearthnet_classes import (
    BEN19_NAMES,
    CLC43,
    CLC43_NAMES,
    CLC43_TO_BEN19,
    to_ben19,
)
from eoinstruct.sources.bigearthnet_v2.shares import CLASS_SHARES
from eoinstruct.sources.bigearthnet_v2.shares import UNLABELLED as BEN_UNLABELLED
from eoinstruct.sources.satlas.land_cover import LAND_COVER_CATEGORIES, LAND_COVER_SHARES
from eoinstruct.sources.satlas.land_cover import UNLABELLED as SATLAS_UNLABELLED

ARTIFICIAL_CLASSES: frozenset[str] = frozenset(n for c, n in CLC43 if c // 100 == 1)
"""CLC level-1 "Artificial surfaces" (codes 1xx): urban, industrial, transport, mines, dumps,
construction sites, green urban areas and sport facilities."""

URBAN_CLASSES: frozenset[str] = ARTIFICIAL_CLASSES - {"Mineral extraction sites", "Dump sites"}
"""Artificial surfaces that make a place urban (all but mines and dumps, found in the
countryside too)."""

WATER_CLASSES: frozenset[str] = frozenset(n for c, n in CLC43 if c // 100 == 5)
"""CLC level-1 "Water bodies" (codes 5xx)."""

URBAN_MIN_SHARE = 0.5
"""A patch is urban when urban classes cover at least this share of it."""

RURAL_MAX_SHARE = 0.1
"""A patch is rural when artificial surfaces (with unlabelled pixels) cover at most this share
of it and water does not cover most of it; between the two thresholds no pair is made."""

MOSTLY_SHARE = 0.5
"""A caption calls a class "mostly" from this share of the patch."""

PROSE_NAMES: dict[str, str] = {
    "Land principally occupied by agriculture, with significant areas of natural vegetation": (
        "agricultural land with significant areas of natural vegetation"
    ),
    "Transitional woodland, shrub": "transitional woodland-shrub",
    "Transitional woodland/shrub": "transitional woodland-shrub",
    "Beaches, dunes, sands": "sandy beaches and dunes",
    "Moors, heathland and sclerophyllous vegetation": "heathland and sclerophyllous vegetation",
}
"""BigEarthNet class names with commas inside → their wording in prose lists."""

SATLAS_NAMES: dict[str, str] = {
    "water": "water",
    "developed": "developed land",
    "tree": "tree cover",
    "shrub": "shrubland",
    "grass": "grassland",
    "crop": "cropland",
    "bare": "bare ground",
    "snow": "snow",
    "wetland": "wetland",
    "mangroves": "mangroves",
    "moss": "moss",
}
"""SatlasPretrain land-cover category → the class name in questions and answers."""

SATLAS_OPTIONS: tuple[str, ...] = tuple(SATLAS_NAMES[c] for c in LAND_COVER_CATEGORIES[1:])
"""The Satlas land-cover classes offered in questions, in category order."""

MIN_SHARE = 0.05
"""A land-cover class counts as present in a Satlas tile from this share of its pixels."""


# -- names and shares --------------------------------------------------------------------------


@lru_cache(maxsize=1024)  # class names: a closed set, written for every sample
def lower_first(name: str) -> str:
    """Write an exact class name mid-sentence: its first letter lower-cased, the rest kept."""
    return name[:1].lower() + name[1:]


@lru_cache(maxsize=1024)
def prose_name(name: str) -> str:
    """Return a BigEarthNet class name as it reads in a prose list (no commas inside)."""
    return PROSE_NAMES.get(name) or lower_first(name)


@lru_cache(maxsize=1024)
def is_plural(phrase: str) -> bool:
    """Whether a class phrase takes a plural verb (``pastures are``, ``arable land is``).

    The head is the phrase before ``with``/``associated``/``principally``; its last word
    decides (by ``inflect``), so a class that pairs two mass nouns reads as one
    (``heathland and sclerophyllous vegetation is``).
    """
    head = re.split(r" with | associated | principally ", phrase)[0]
    last = head.split()[-1]
    return singular(last) != last


def serial_list(items: list[str]) -> str:
    """Join exact class names (which may hold commas): ``a``, ``a and b``, ``a; b; and c``."""
    if len(items) < 3:
        return join_list(items)
    return "; ".join(items[:-1]) + "; and " + items[-1]


def percent(share: float) -> str:
    """Write a share of the patch: ``about 70 %``, or ``under 1 %``."""
    value = round(100 * share)
    return f"about {value} %" if value else "under 1 %"


def _json_shares(sample: Sample, key: str) -> dict[str, float]:
    """Read a JSON shares property (empty when absent)."""
    text = sample.labels.properties.get(key, "")
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotApplicable("malformed_shares") from exc
    return {str(k): float(v) for k, v in doc.items()}


def _class_set(sample: Sample, config: GenerationConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (options, present classes) in the configured BigEarthNet class set."""
    if sample.labels.scheme == "ben19":
        return BEN19_NAMES, tuple(sorted(set(sample.labels.classes)))
    if sample.labels.scheme == "clc43":
        if config.class_set == "clc43":
            return CLC43_NAMES, tuple(sorted(set(sample.labels.classes)))
        return BEN19_NAMES, to_ben19(sample.labels.classes)
    raise NotApplicable("no_clc_labels")


def _set_shares(sample: Sample, options: tuple[str, ...]) -> dict[str, float]:
    """The patch's class shares in the class set of ``options`` (empty without shares)."""
    out: dict[str, float] = {}
    for name, share in _json_shares(sample, CLASS_SHARES).items():
        target = CLC43_TO_BEN19.get(name) if options == BEN19_NAMES else name
        if target in options:
            out[target] = out.get(target, 0.0) + share
    return out


def _ordered(present: tuple[str, ...], shares: dict[str, float]) -> list[str]:
    """Classes by decreasing share when every one has a share, else alphabetically."""
    if shares and all(c in shares for c in present):
        return sorted(present, key=lambda c: (-shares[c], c))
    return sorted(present)


# -- BigEarthNet -------------------------------------------------------------------------------


def landcover_multilabel(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Multi-label land-cover classification from BigEarthNet CLC labels (v1: 43, v2: 19)."""
    if sample.labels.scheme == "ben19":
        if config.class_set != "ben19":
            raise NotApplicable("no_clc43_labels")
        options, classes = BEN19_NAMES, tuple(sorted(set(sample.labels.classes)))
    elif sample.labels.scheme != "clc43":
        raise NotApplicable("no_clc_labels")
    elif config.class_set == "ben19":
        options, classes = BEN19_NAMES, to_ben19(sample.labels.classes)
    elif config.class_set == "clc43":
        options, classes = CLC43_NAMES, tuple(sorted(set(sample.labels.classes)))
    else:
        raise ValueError(f"unknown class_set {config.class_set!r}; use ben19 or clc43")
    if not classes:
        raise NotApplicable("no_class_in_set")
    return TaskValues(
        values={
            "options": "; ".join(options),
            "classes": "; ".join(classes),
            "class_list": serial_list([lower_first(c) for c in classes]),
            "class_count": count_phrase(len(classes), "land-cover type", words=True),
        },
        options=tuple(options),
        answers=tuple(classes),
    )


def landcover_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Is a given land-cover class present? The side (yes/no) is drawn first, 50/50.

    A "no" asks about a class of the same class set that the patch lacks.
    """
    options, present = _class_set(sample, config)
    if not present:
        raise NotApplicable("no_class_in_set")
    absent = tuple(c for c in options if c not in present)
    ask_present = draw(config.seed, sample.sample_id, "presence_side", n=2) == 0 or not absent
    pool = present if ask_present else absent
    name = pool[draw(config.seed, sample.sample_id, "presence_class", n=len(pool))]
    yes = name in present
    phrase = prose_name(name)
    verb = "are" if is_plural(phrase) else "is"
    answer = yes_no(yes)
    shown = _ordered(present, _set_shares(sample, options))
    return TaskValues(
        values={
            "class": phrase,
            "is_are": verb,
            "Is_are": sentence_case(verb),
            "answer": answer,
            "contains": "contains" if yes else "does not contain",
            "can": "can" if yes else "cannot",
            "includes": "includes" if yes else "does not include",
            "no": "" if yes else "no ",
            "present": join_list([prose_name(c) for c in shown]),
            "but_no": "" if yes else f", but no {phrase}",
            "but_not_by": "" if yes else f", but not by {phrase}",
        },
        options=("Yes", "No"),
        answers=(answer,),
    )


def _urban_rural_from_shares(shares: dict[str, float]) -> tuple[str, str]:
    """(answer, reason) from the patch's CLC level-3 shares."""
    urban = sum(v for k, v in shares.items() if k in URBAN_CLASSES)
    artificial = sum(v for k, v in shares.items() if k in ARTIFICIAL_CLASSES)
    water = sum(v for k, v in shares.items() if k in WATER_CLASSES)
    unknown = shares.get(BEN_UNLABELLED, 0.0)
    if urban >= URBAN_MIN_SHARE:
        return "urban", f"built-up land covers {percent(urban)} of the patch"
    if artificial + unknown <= RURAL_MAX_SHARE and water < 0.5:
        if artificial == 0:
            return "rural", "no artificial surface is mapped in the patch"
        return "rural", f"artificial surfaces cover only {percent(artificial)} of the patch"
    raise NotApplicable("neither_urban_nor_rural")


def _urban_rural_from_classes(classes: frozenset[str]) -> tuple[str, str]:
    """(answer, reason) from CLC-43 labels alone, where they make it certain."""
    names = join_list([prose_name(c) for c in sorted(classes)])
    if classes and classes <= URBAN_CLASSES:
        return "urban", f"every land-cover class of the patch is urban ({names})"
    if classes and not classes & ARTIFICIAL_CLASSES and not classes <= WATER_CLASSES:
        return "rural", f"none of its land-cover classes ({names}) is an artificial surface"
    raise NotApplicable("urban_share_unknown")


def urban_rural(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Urban or rural, from class areas where the patch has them.

    With class shares (reBEN): urban when urban classes cover at least
    :data:`URBAN_MIN_SHARE` of the patch, rural when artificial surfaces and unlabelled pixels
    cover at most :data:`RURAL_MAX_SHARE` (and water not most of it), no pair in between.
    With CLC-43 labels only (v1): urban when every class is urban, rural when none is
    artificial (and not all are water). BEN-19 labels without shares leave out roads,
    airports and mines, so they decide nothing.
    """
    if sample.labels.scheme not in ("clc43", "ben19"):
        raise NotApplicable("no_clc_labels")
    shares = _json_shares(sample, CLASS_SHARES)
    if shares:
        answer, reason = _urban_rural_from_shares(shares)
    elif sample.labels.scheme == "clc43":
        answer, reason = _urban_rural_from_classes(frozenset(sample.labels.classes))
    else:
        raise NotApplicable("no_class_shares")
    area = article(f"{answer} area")
    return TaskValues(
        values={
            "answer": answer,
            "Answer": sentence_case(answer),
            "area": area,
            "Area": sentence_case(area),
            "reason": reason,
        },
        options=("urban", "rural"),
        answers=(answer,),
    )


def landcover_caption(sample: Sample, config: GenerationConfig) -> TaskValues:
    """A description of the classes present, with their shares where the patch has them."""
    options, present = _class_set(sample, config)
    if not present:
        raise NotApplicable("no_class_in_set")
    shares = _set_shares(sample, options)
    ordered = _ordered(present, shares)
    classes = join_list([prose_name(c) for c in ordered])
    if shares and all(c in shares for c in present):
        parts = [f"{prose_name(c)} ({percent(shares[c])})" for c in ordered]
        if len(parts) == 1:
            description = f"covered by {parts[0]}"
        elif shares[ordered[0]] >= MOSTLY_SHARE:
            description = f"mostly {parts[0]}, with some {join_list(parts[1:])}"
        else:
            description = f"a mix of {join_list(parts)}"
    else:
        description = f"covered by {classes}"
    return TaskValues(values={"classes": classes, "description": description})


def _urban_answer(shares: dict[str, float]) -> tuple[bool, str]:
    """(urban?, reason about "it") from level-3 shares; NotApplicable between the thresholds."""
    verdict, _ = _urban_rural_from_shares(shares)
    if verdict == "urban":
        urban = sum(v for k, v in shares.items() if k in URBAN_CLASSES)
        return True, f"built-up land covers {percent(urban)} of it"
    artificial = sum(v for k, v in shares.items() if k in ARTIFICIAL_CLASSES)
    if artificial == 0:
        return False, "not one artificial surface is mapped in it"
    return False, f"artificial surfaces cover only {percent(artificial)} of it"


def landcover_dialogue(sample: Sample, config: GenerationConfig) -> TaskValues:
    """A dialogue on a reBEN patch: what it mainly is → what else → is it urban?

    Turns: ``main`` (the class with the largest share, and its share; no pair when unlabelled
    pixels could change which class that is, or a CLC class outside the 19, such as roads,
    covers more), ``else`` (the other classes by decreasing share,
    left out for a one-class patch) and ``urban`` (Yes/No by the thresholds of
    :func:`urban_rural`, left out between them). Needs the patch's class shares.
    """
    if sample.labels.scheme != "ben19":
        raise NotApplicable("no_ben19_labels")
    options, present = _class_set(sample, config)
    shares = _set_shares(sample, options)
    if not present or not all(shares.get(c, 0.0) > 0 for c in present):
        raise NotApplicable("no_class_shares")
    ordered = _ordered(present, shares)
    top = ordered[0]
    level3 = _json_shares(sample, CLASS_SHARES)
    unknown = level3.get(BEN_UNLABELLED, 0.0)
    second = shares[ordered[1]] if len(ordered) > 1 else 0.0
    if shares[top] - second <= unknown or percent(shares[top]) == percent(second):
        raise NotApplicable("dominant_uncertain")
    outside = [v for k, v in level3.items() if k in CLC43_NAMES and not CLC43_TO_BEN19.get(k)]
    if shares[top] <= max(outside, default=0.0):
        raise NotApplicable("dominant_outside_class_set")
    name = prose_name(top)
    verb = "cover" if is_plural(name) else "covers"
    values = {
        "main": name,
        "main_cap": sentence_case(name),
        "main_share": percent(shares[top]),
        "covers": verb,
    }
    turns: tuple[str, ...] = ("main",)
    if len(ordered) > 1:
        others = [f"{prose_name(c)} ({percent(shares[c])})" for c in ordered[1:]]
        values |= {
            "others": join_list(others),
            "others_cap": sentence_case(join_list(others)),
            "n_others": count_phrase(len(others), "other class", words=True),
        }
        turns += ("else",)
    closed: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    try:
        urban, reason = _urban_answer(_json_shares(sample, CLASS_SHARES))
    except NotApplicable:
        pass
    else:
        answer = yes_no(urban)
        closed, answers = ("Yes", "No"), (answer,)
        values |= {
            "answer": answer,
            "reason": reason,
            "verdict": "it is urban" if urban else "it is not urban",
            "area": "an urban area" if urban else "a rural area",
        }
        turns += ("urban",)
    if len(turns) < 2:
        raise NotApplicable("nothing_to_follow_up")
    return TaskValues(values=values, options=closed, answers=answers, turns=turns)


# -- SatlasPretrain ----------------------------------------------------------------------------


def _satlas_shares(sample: Sample) -> tuple[dict[str, float], float]:
    """(category → share, unlabelled share) of a Satlas tile's land-cover label."""
    shares = _json_shares(sample, LAND_COVER_SHARES)
    if not shares:
        raise NotApplicable("no_land_cover_shares")
    unknown = shares.pop(SATLAS_UNLABELLED, 0.0)
    shares = {k: v for k, v in shares.items() if k in SATLAS_NAMES and v > 0}
    if not shares:
        raise NotApplicable("empty_land_cover")
    return shares, unknown


def _static_image(sample: Sample) -> tuple[str, ...]:
    """The image static labels describe (the most recent), as the Satlas adapter records it."""
    role = sample.labels.properties.get("static_image_role", "")
    return (role,) if role else ()


def satlas_landcover(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Multi-label land cover of a Satlas tile: the classes with at least 5 % of its pixels.

    No pair when unlabelled pixels could move a class across the 5 % line.
    """
    shares, unknown = _satlas_shares(sample)
    present = sorted((c for c, v in shares.items() if v >= MIN_SHARE), key=lambda c: -shares[c])
    uncertain = [
        c for c in SATLAS_NAMES if shares.get(c, 0.0) < MIN_SHARE <= shares.get(c, 0.0) + unknown
    ]
    if uncertain:
        raise NotApplicable("share_uncertain")
    if not present:
        raise NotApplicable("no_class_above_share")
    names = [SATLAS_NAMES[c] for c in present]
    return TaskValues(
        values={
            "options": ", ".join(SATLAS_OPTIONS),
            "classes": ", ".join(names),
            "class_list": join_list(names),
            "class_count": count_phrase(len(names), "land-cover type", words=True),
            "share_list": join_list([f"{SATLAS_NAMES[c]} ({percent(shares[c])})" for c in present]),
        },
        options=SATLAS_OPTIONS,
        answers=tuple(names),
        image_roles=_static_image(sample),
    )


def satlas_dominant_share(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which land-cover class covers most of a Satlas tile, and what share of it.

    No pair when unlabelled pixels could change which class is largest.
    """
    shares, unknown = _satlas_shares(sample)
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    top, share = ranked[0]
    second = ranked[1] if len(ranked) > 1 else None
    if share - (second[1] if second else 0.0) <= unknown:
        raise NotApplicable("dominant_uncertain")
    runner_up = f", ahead of {SATLAS_NAMES[second[0]]} ({percent(second[1])})" if second else ""
    return TaskValues(
        values={
            "options": ", ".join(SATLAS_OPTIONS),
            "class": SATLAS_NAMES[top],
            "percent": f"{round(100 * share)}",
            "runner_up": runner_up,
        },
        options=SATLAS_OPTIONS,
        answers=(SATLAS_NAMES[top],),
        image_roles=_static_image(sample),
    )


BUILDERS: dict[str, Builder] = {
    "landcover_multilabel": landcover_multilabel,
    "landcover_presence": landcover_presence,
    "urban_rural": urban_rural,
    "landcover_caption": landcover_caption,
    "landcover_dialogue": landcover_dialogue,
    "satlas_landcover": satlas_landcover,
    "satlas_dominant_share": satlas_dominant_share,
}
"""Builder name (as used in template files) → function."""
