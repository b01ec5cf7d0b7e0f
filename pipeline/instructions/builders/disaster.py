"""xBD disaster tasks, from the building labels of a pre/post pair.

Type, damage counts, yes/no per level, damage at a box, referring, change, description and
a dialogue (what happened → how many damaged → which were destroyed → the rest).

Counts, levels and boxes come from the post label's buildings (``attribute`` is the xBD
``subtype``), the type from ``labels.properties["disaster_type"]``; the type shows only as
damage, so templates naming it need a damaged building. Words go through the grammar helpers
("an earthquake", "1 destroyed building", "three of the nine buildings were damaged").
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
    yes_no,
)
from eoinstruct.pipeline.instructions.builders.damage_words import (
    ANY_DAMAGE,
    DAMAGE_LEVELS,
    LEVEL_EVIDENCE,
    LEVEL_NAMES,
    LEVEL_NOUNS,
    LEVEL_STATES,
    SIGNATURES,
    TYPE_NAMES,
    TYPE_OPTIONS,
    Box,
    Tally,
    _buildings,
    _cap,
    _noun,
    _verb,
    change_breakdown,
    count_of,
    counts_list,
    description_breakdown,
    share_now,
    share_past,
    states_list,
    tally,
    type_phrase,
    unclassified_note,
)
from eoinstruct.pipeline.instructions.grammar import (
    count_phrase,
    is_are,
    join_list,
    number_word,
    plural,
    sentence_case,
)
from eoinstruct.pipeline.records import ObjectLabel, Sample

# -- builders ------------------------------------------------------------------------------------


def _type_of(sample: Sample) -> str:
    value = sample.labels.properties.get("disaster_type", "")
    if value not in TYPE_NAMES:
        raise NotApplicable("no_disaster_type")
    return value


def _type_values(dtype: str) -> dict[str, str]:
    phrase = type_phrase(dtype)
    return {
        "options": ", ".join(TYPE_OPTIONS),
        "disaster_type": TYPE_NAMES[dtype],
        "disaster_type_cap": sentence_case(TYPE_NAMES[dtype]),
        "disaster": phrase,
        "disaster_cap": sentence_case(phrase),
        "evidence": SIGNATURES[dtype],
    }


def disaster_type(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Disaster type of an xBD pre/post pair (only where some building shows damage)."""
    dtype = _type_of(sample)
    if tally(sample).damaged == 0:
        raise NotApplicable("no_visible_damage")
    return TaskValues(
        values=_type_values(dtype),
        options=TYPE_OPTIONS,
        answers=(TYPE_NAMES[dtype],),
    )


def damage_counts(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Counts of buildings per xBD damage level in the post-disaster image."""
    t = tally(sample)
    terse = [f"{LEVEL_NAMES[lvl]}: {t.n(lvl)}" for lvl in reversed(DAMAGE_LEVELS)]
    if t.unclassified:
        terse.append(f"unclassified: {t.unclassified}")
    counts = counts_list(t, DAMAGE_LEVELS, keep_zero=True)
    values = {
        "counts_terse": sentence_case("; ".join(terse)),
        "counts_terse_plain": "; ".join(terse),
        "counts_all": counts,
        "unclassified_note": unclassified_note(t),
        "share": share_now(t),
        "share_cap": _cap(share_now(t)),
    }
    return TaskValues(values=values)


def _claim(sample: Sample, config: GenerationConfig, t: Tally) -> tuple[bool, str, int]:
    """Draw yes or no (50/50), then a claim "at least k buildings of a level" that makes it true.

    Yes: a level present and ``k`` of 1 or up to its count; no: ``k`` above its count plus the
    un-classified buildings (any of which could be of the level), so either side is possible.
    """
    levels = (*reversed(DAMAGE_LEVELS), ANY_DAMAGE)
    key = (config.seed, sample.sample_id)
    yes = draw(*key, "affected_side", n=2) == 0
    if yes:
        pool = [(lvl, 1) for lvl in levels if t.n(lvl)]
        pool += [(lvl, 2 + draw(*key, lvl, n=t.n(lvl) - 1)) for lvl in levels if t.n(lvl) > 1]
    else:
        pool = [(lvl, t.n(lvl) + t.unclassified + 1) for lvl in levels]
    level, k = pool[draw(*key, "affected_level", n=len(pool))]
    return yes, level, k


def buildings_affected(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: are there at least k buildings of one damage level? (side drawn first)."""
    t = tally(sample)
    yes, level, k = _claim(sample, config, t)
    n = t.n(level)
    answer = yes_no(yes)
    count_ref = ("only " if n and not yes else "") + count_of(n, level)
    values = {
        "ref_k": count_of(k, level, words=True),
        "is_are_k": is_are(k),
        "is_are_k_cap": sentence_case(is_are(k)),
        "answer": answer,
        "count_ref": count_ref,
        "finding": f"there {is_are(n)} {count_ref}",
        "counts_present": counts_list(t, DAMAGE_LEVELS, keep_zero=False),
        "unclassified_note": unclassified_note(t),
    }
    return TaskValues(values=values, options=("Yes", "No"), answers=(answer,))


def _boxes_of(
    sample: Sample, objects: list[ObjectLabel], config: GenerationConfig
) -> tuple[Box, ...]:
    roles = {o.image_role for o in objects}
    if len(roles) != 1:
        raise NotApplicable("objects_on_several_images")
    image = sample.image(roles.pop())
    boxes = [scale_box(o.bbox, image.width, image.height, config.box_scale) for o in objects]
    return tuple(sorted(boxes, key=lambda b: (b[1], b[0], b[3], b[2])))


def _of_level(sample: Sample, level: str) -> list[ObjectLabel]:
    return [b for b in _buildings(sample) if b.attribute == level]


def refer_damage_level(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Refer to all buildings of one damage level (drawn among the levels present)."""
    by_level = {lvl: _of_level(sample, lvl) for lvl in DAMAGE_LEVELS}
    candidates = [lvl for lvl in DAMAGE_LEVELS if 0 < len(by_level[lvl]) <= config.max_boxes]
    if not candidates:
        reason = "too_many_boxes" if any(by_level.values()) else "no_referable_buildings"
        raise NotApplicable(reason)
    level = candidates[draw(config.seed, sample.sample_id, "refer_level", n=len(candidates))]
    objects = by_level[level]
    boxes = _boxes_of(sample, objects, config)
    n = len(objects)
    noun = _noun(LEVEL_NOUNS[level], n)
    return TaskValues(
        values={
            "ref": noun,
            "ref_q": plural(LEVEL_NOUNS[level]),
            "boxes": format_boxes(boxes),
            "n": number_word(n),
            "is_are": is_are(n),
        },
        boxes=boxes,
        image_roles=(objects[0].image_role,),
    )


def identify_damage(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: the damage level of the building at a box (level drawn first, then a building)."""
    present = [lvl for lvl in DAMAGE_LEVELS if _of_level(sample, lvl)]
    if not present:
        raise NotApplicable("no_classified_buildings")
    level = present[draw(config.seed, sample.sample_id, "identify_level", n=len(present))]
    buildings = _of_level(sample, level)
    obj = buildings[draw(config.seed, sample.sample_id, "identify_damage", n=len(buildings))]
    image = sample.image(obj.image_role)
    box = scale_box(obj.bbox, image.width, image.height, config.box_scale)
    options = tuple(LEVEL_NAMES[lvl] for lvl in DAMAGE_LEVELS)
    verb, rest = LEVEL_STATES[level]
    return TaskValues(
        values={
            "box": format_boxes((box,)),
            "options": ", ".join(options),
            "level": LEVEL_NAMES[level],
            "level_cap": sentence_case(LEVEL_NAMES[level]),
            "state": f"{verb} {rest}",
            "evidence": LEVEL_EVIDENCE[level],
        },
        options=options,
        answers=(LEVEL_NAMES[level],),
        boxes=(box,),
        image_roles=(obj.image_role,),
    )


def damage_change(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Change detection on xBD: which buildings were damaged between the pre and post images."""
    t = tally(sample)
    breakdown = change_breakdown(t)
    if t.damaged == 0 and not t.unclassified:
        after = f"{'They look' if t.total > 1 else 'It looks'} the same in both images."
    elif t.damaged == t.total:
        after = (
            "No building came through undamaged."
            if t.total > 1
            else "It is the only building in sight."
        )
    else:
        after = _cap(join_list(_undamaged_parts(t)), "Of the rest, ") + "."
    values = {
        "changed": share_past(t) + breakdown,
        "changed_cap": _cap(share_past(t) + breakdown),
        "after": after,
    }
    return TaskValues(values=values)


def damage_description(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: a damage description (the disaster type where damage shows, damage per level)."""
    t = tally(sample)
    values: dict[str, str] = {}
    breakdown = description_breakdown(t)
    answers: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    if t.damaged:
        dtype = _type_of(sample)
        values |= _type_values(dtype)
        values["lead"] = f"{type_phrase(dtype)} has hit this area"
        values["lead_alt"] = f"these images show the aftermath of {type_phrase(dtype)}"
        options = TYPE_OPTIONS
        answers = (TYPE_NAMES[dtype],)
    else:
        values["lead"] = "there is no visible damage"
        values["lead_alt"] = "the buildings came through the event unharmed"
        values["evidence"] = "roofs and walls look the same in the post-event image as before"
    values["lead_cap"] = sentence_case(values["lead"])
    values["lead_alt_cap"] = sentence_case(values["lead_alt"])
    values["breakdown"] = breakdown
    values["breakdown_cap"] = sentence_case(breakdown)
    values["evidence_cap"] = sentence_case(values["evidence"])
    return TaskValues(values=values, options=options, answers=answers)


def _undamaged_parts(t: Tally) -> list[str]:
    """``six buildings show no damage``, ``one building could not be assessed`` (non-zero)."""
    parts = []
    if undamaged := t.n("no-damage"):
        parts.append(
            f"{count_phrase(undamaged, 'building', words=True)} "
            f"{_verb('shows', undamaged)} no damage"
        )
    if t.unclassified:
        building = count_phrase(t.unclassified, "building", words=True)
        parts.append(f"{building} could not be assessed")
    return parts


def _rest_note(t: Tally) -> str:
    """``; the other six show no damage`` after a count of damaged buildings (or ``""``)."""
    undamaged = t.n("no-damage")
    if t.damaged == t.total:
        return "; none came through undamaged" if t.total > 1 else ""
    if not t.unclassified:
        return f"; the other {number_word(undamaged)} {_verb('shows', undamaged)} no damage"
    return "; " + join_list(_undamaged_parts(t))


def _destroyed_lead(destroyed: int, damaged: int) -> str:
    """``Two of them were destroyed`` / ``All three were destroyed`` / ``It was destroyed``."""
    if destroyed == damaged == 1:
        return "It was destroyed"
    if destroyed == damaged:
        return (
            "Both were destroyed"
            if destroyed == 2
            else f"All {number_word(destroyed)} were destroyed"
        )
    return _cap(f"{number_word(destroyed)} of them {_verb('was', destroyed)} destroyed")


def damage_dialogue(sample: Sample, config: GenerationConfig) -> TaskValues:
    """A dialogue on xBD: what happened → how many buildings were damaged → which were destroyed.

    Turns: ``what`` (the disaster type, with its evidence), ``count`` (damaged buildings out
    of all), then ``destroyed`` (their boxes) or ``none_destroyed``, and ``rest`` (how badly
    the other damaged buildings are hit) where some were destroyed and some were not. The
    box turn is left out where more than ``max_boxes`` buildings were destroyed.
    """
    dtype = _type_of(sample)
    t = tally(sample)
    if t.damaged == 0:
        raise NotApplicable("no_visible_damage")
    values = _type_values(dtype)
    values |= {
        "damaged_count": count_of(t.damaged, ANY_DAMAGE, words=True),
        "damaged_count_cap": sentence_case(count_of(t.damaged, ANY_DAMAGE, words=True)),
        "damaged_share": share_past(t),
        "damaged_share_cap": _cap(share_past(t)),
        "rest_note": _rest_note(t),
    }
    destroyed = t.n("destroyed")
    others = t.damaged - destroyed
    spared = ("major-damage", "minor-damage")
    turns: tuple[str, ...] = ("what", "count")
    boxes: tuple[Box, ...] = ()
    if destroyed == 0:
        turns += ("none_destroyed",)
        single = t.damaged == 1
        values["none_lead"] = "It was not destroyed" if single else "None of them was destroyed"
        level = next(lvl for lvl in spared if t.n(lvl))
        values["damaged_states"] = (
            " ".join(("the damaged building", *LEVEL_STATES[level]))
            if single
            else states_list(t, spared, unclassified=False)
        )
    elif destroyed <= config.max_boxes:
        objects = _of_level(sample, "destroyed")
        boxes = _boxes_of(sample, objects, config)
        values |= {
            "ref": _noun(LEVEL_NOUNS["destroyed"], destroyed),
            "boxes": format_boxes(boxes),
            "is_are": is_are(destroyed),
            "destroyed_lead": _destroyed_lead(destroyed, t.damaged),
            "them": "it" if destroyed == 1 else "them",
        }
        turns += ("destroyed",)
        if others:
            turns += ("rest",)
            values |= {
                "rest_states": states_list(t, spared, unclassified=False),
                "rest_states_cap": _cap(states_list(t, spared, False), "Of the rest, "),
                "rest_terse": sentence_case(
                    "; ".join(f"{LEVEL_NAMES[lvl]}: {t.n(lvl)}" for lvl in spared if t.n(lvl))
                ),
                "standing": f"unlike the destroyed {_noun('building', destroyed)}, "
                f"{'it' if others == 1 else 'they'} {is_are(others)} still standing",
            }
    return TaskValues(
        values=values,
        options=TYPE_OPTIONS,
        answers=(TYPE_NAMES[dtype],),
        boxes=boxes,
        turns=turns,
    )


BUILDERS: dict[str, Builder] = {
    "disaster_type": disaster_type,
    "damage_counts": damage_counts,
    "refer_damage_level": refer_damage_level,
    "identify_damage": identify_damage,
    "buildings_affected": buildings_affected,
    "damage_change": damage_change,
    "damage_description": damage_description,
    "damage_dialogue": damage_dialogue,
}
"""Builder name (as used in template files) → function."""
