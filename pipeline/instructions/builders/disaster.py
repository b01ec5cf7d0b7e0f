"""xBD disaster tasks, from the building labels of a pre/post pair.

Type, damage counts, yes/no per level, damage at a box, referring, change, description and
a dialogue (what happened → how many damaged → which were destroyed → the rest).

Counts, levels and boxes come from the post label's buildings (``attribute`` is the xBD
``subtype``), the type from ``labels.properties["disaster_type"]``; the type shows only as
damage, so templates naming it need a damaged building. Words go through the grammar helpers
("an earthquake", "1 destroyed building", "three of the nine buildings were damaged").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import inflect

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
from eoinstruct.pipeline.instructions.grammar import (
    article,
    count_phrase,
    is_are,
    join_list,
    number_word,
    plural,
    sentence_case,
)
from eoinstruct.pipeline.records import ObjectLabel, Sample

Box = tuple[int, int, int, int, int]

TYPE_NAMES: dict[str, str] = {
    "earthquake": "earthquake",
    "fire": "wildfire",
    "flooding": "flooding",
    "tsunami": "tsunami",
    "volcano": "volcanic eruption",
    "wind": "windstorm",
}
"""xBD disaster type → the name an answer uses (and the option listed in questions)."""

XBD_DISASTER_TYPES: tuple[str, ...] = tuple(TYPE_NAMES)
"""Disaster types used in xBD label metadata."""

TYPE_OPTIONS: tuple[str, ...] = tuple(TYPE_NAMES.values())
"""The options of disaster-type questions."""

MASS_NOUNS = frozenset({"flooding"})
"""Type names that take no article ("flooding", not "a flooding")."""

SIGNATURES: dict[str, str] = {
    "earthquake": "buildings are damaged where they stand, with no water or burn marks around them",
    "fire": "the ground is scorched and the damaged buildings are burnt",
    "flooding": "water and mud cover the ground around the buildings",
    "tsunami": "sediment and debris have been washed inland over the ground",
    "volcano": "ash and volcanic deposits cover the ground",
    "wind": "trees are stripped and debris is scattered around torn roofs",
}
"""What each disaster type leaves in a post-event image (the evidence an answer cites)."""

DAMAGE_LEVELS: tuple[str, ...] = ("no-damage", "minor-damage", "major-damage", "destroyed")
"""xBD damage subtypes, from least to most severe (``un-classified`` is not a level)."""

DAMAGED_LEVELS: tuple[str, ...] = DAMAGE_LEVELS[1:]
UNCLASSIFIED = "un-classified"
ANY_DAMAGE = "damaged"
"""Pseudo-level of yes/no questions: any of :data:`DAMAGED_LEVELS`."""

LEVEL_NAMES: dict[str, str] = {lvl: lvl.replace("-", " ") for lvl in DAMAGE_LEVELS}
"""Damage level → the option written in questions and answers."""

LEVEL_NOUNS: dict[str, str] = {
    "no-damage": "undamaged building",
    "minor-damage": "building with minor damage",
    "major-damage": "building with major damage",
    "destroyed": "destroyed building",
    ANY_DAMAGE: "damaged building",
}
"""Damage level → singular noun phrase for its buildings (counted with ``count_phrase``)."""

LEVEL_STATES: dict[str, tuple[str, str]] = {
    "no-damage": ("shows", "no damage"),
    "minor-damage": ("has", "minor damage"),
    "major-damage": ("has", "major damage"),
    "destroyed": ("is", "destroyed"),
}
"""Damage level → (verb in the singular, rest) of a clause about its buildings."""

LEVEL_CHANGES: dict[str, tuple[str, str]] = {
    "minor-damage": ("suffered", "minor damage"),
    "major-damage": ("suffered", "major damage"),
    "destroyed": ("was", "destroyed"),
}
"""Damaged level → (past verb in the singular, rest): what happened to its buildings."""

LEVEL_EVIDENCE: dict[str, str] = {
    "no-damage": "its roof and walls look intact, with no water, debris or burn marks around it",
    "minor-damage": "it still stands, with limited harm such as missing roof elements, cracks,"
    " partial burning or water around it",
    "major-damage": "part of its roof or walls has collapsed, or water and mud surround it",
    "destroyed": "it has collapsed, burnt out or been buried by water or mud",
}
"""What each level means on the xBD joint damage scale (no level words, so answers name one)."""

_INFLECT = inflect.engine()


def _verb(verb: str, n: int) -> str:
    """Agree a present or past verb with a count ("is"/"are", "has"/"have"; none: singular)."""
    return str(_INFLECT.plural_verb(verb, max(n, 1)))


def _cap(text: str, prefix: str = "In all, ") -> str:
    """Sentence case, or ``prefix`` before a sentence that would start with digits."""
    return prefix + text if text[:1].isdigit() else sentence_case(text)


def _noun(noun: str, n: int) -> str:
    return noun if n == 1 else plural(noun)


def type_phrase(disaster_type: str) -> str:
    """The type's name with its article where it takes one (``a wildfire``, ``flooding``)."""
    name = TYPE_NAMES[disaster_type]
    return name if name in MASS_NOUNS else article(name)


@dataclass(frozen=True)
class Tally:
    """Buildings of a tile: ``counts`` per level (and ``un-classified``), ``total`` of all."""

    counts: Counter[str]
    total: int

    def n(self, level: str) -> int:
        """Buildings of a level (``damaged``: of any damaged level)."""
        if level == ANY_DAMAGE:
            return sum(self.counts[lvl] for lvl in DAMAGED_LEVELS)
        return self.counts[level]

    @property
    def damaged(self) -> int:
        """Buildings with minor or major damage or destroyed."""
        return self.n(ANY_DAMAGE)

    @property
    def unclassified(self) -> int:
        """Buildings the annotators could not classify."""
        return self.counts[UNCLASSIFIED]


def _buildings(sample: Sample) -> list[ObjectLabel]:
    return [o for o in sample.labels.objects if o.category == "building"]


def tally(sample: Sample) -> Tally:
    """Count a sample's buildings per damage level.

    Raises:
        NotApplicable: No buildings or damage labels, an unknown level, or none classified.
    """
    buildings = _buildings(sample)
    if not buildings:
        raise NotApplicable("no_buildings")
    if not any(b.attribute for b in buildings):
        raise NotApplicable("no_damage_labels")
    counts = Counter(b.attribute for b in buildings)
    unknown = set(counts) - set(DAMAGE_LEVELS) - {UNCLASSIFIED}
    if unknown:
        raise NotApplicable(f"unknown_damage_level:{sorted(unknown)[0]}")
    if counts[UNCLASSIFIED] == len(buildings):
        raise NotApplicable("no_classified_buildings")
    return Tally(counts, len(buildings))


# -- phrases -------------------------------------------------------------------------------------


def count_of(n: int, level: str, words: bool = False) -> str:
    """``2 destroyed buildings``, ``1 building with major damage``, ``no undamaged buildings``."""
    return count_phrase(n, LEVEL_NOUNS[level], words=words)


def state_clause(n: int, level: str) -> str:
    """``five are destroyed``, ``one has major damage``, ``none shows no damage``."""
    verb, rest = LEVEL_STATES[level]
    subject = "none" if n == 0 else number_word(n)
    return f"{subject} {_verb(verb, n)} {rest}"


def change_clause(n: int, level: str) -> str:
    """``two were destroyed``, ``one suffered major damage``."""
    verb, rest = LEVEL_CHANGES[level]
    return f"{number_word(n)} {_verb(verb, n)} {rest}"


def change_breakdown(t: Tally) -> str:
    """``: two were destroyed and one suffered major damage`` / ``: they were all destroyed``."""
    levels = [lvl for lvl in reversed(DAMAGED_LEVELS) if t.n(lvl)]
    if len(levels) != 1:
        return f": {join_list([change_clause(t.n(lvl), lvl) for lvl in levels])}" if levels else ""
    verb, rest = LEVEL_CHANGES[levels[0]]
    if t.damaged == 1:
        return f": it {verb} {rest}"
    return f": they {'were all' if verb == 'was' else 'all ' + _verb(verb, 2)} {rest}"


def counts_list(t: Tally, levels: tuple[str, ...], keep_zero: bool) -> str:
    """Noun phrases of the levels, most severe first: ``2 destroyed buildings and …``."""
    order = [lvl for lvl in reversed(DAMAGE_LEVELS) if lvl in levels]
    return join_list([count_of(t.n(lvl), lvl) for lvl in order if keep_zero or t.n(lvl)])


def unclassified_note(t: Tally) -> str:
    """`` One more building could not be assessed.`` (with its leading space), or ``""``."""
    if not t.unclassified:
        return ""
    more = count_phrase(t.unclassified, "more building", words=True)
    return f" {_cap(more)} could not be assessed."


def _share_subject(t: Tally) -> tuple[str, int]:
    """Subject and verb count of a damaged share: ``three of the nine (assessed) buildings``."""
    n, classified = t.damaged, t.total - t.unclassified
    noun = "assessed building" if t.unclassified else "building"
    if classified == 1:
        return f"the only {noun}", 1
    if n == classified:
        return f"all {number_word(n)} {plural(noun)}", n
    digits = classified > 10  # "7 of the 13", not "seven of the 13"
    head = "none" if n == 0 else str(n) if digits else number_word(n)
    return f"{head} of the {number_word(classified)} {plural(noun)}", n


def share_now(t: Tally) -> str:
    """``three of the nine buildings show damage`` (present tense)."""
    subject, n = _share_subject(t)
    negation = "no " if t.damaged == 0 and subject.startswith("the only") else ""
    return f"{subject} {_verb('shows', n)} {negation}damage"


def share_past(t: Tally) -> str:
    """``three of the nine buildings were damaged`` (past tense)."""
    subject, n = _share_subject(t)
    negation = "not " if t.damaged == 0 and subject.startswith("the only") else ""
    return f"{subject} {_verb('was', n)} {negation}damaged"


def states_list(t: Tally, levels: tuple[str, ...], unclassified: bool = True) -> str:
    """``five are destroyed, one has major damage and four show no damage`` (non-zero levels).

    With ``unclassified``, the buildings that could not be assessed are listed last.
    """
    order = [lvl for lvl in reversed(DAMAGE_LEVELS) if lvl in levels and t.n(lvl)]
    parts = [state_clause(t.n(lvl), lvl) for lvl in order]
    if unclassified and t.unclassified:
        parts.append(f"{number_word(t.unclassified)} could not be assessed")
    return join_list(parts)


def description_breakdown(t: Tally) -> str:
    """``of the nine buildings, two are destroyed and …`` / ``all six buildings show no damage``."""
    if t.total == 1:
        level = next(iter(t.counts))
        verb, rest = LEVEL_STATES[level]
        return f"the only building {verb} {rest}"
    only = [lvl for lvl in DAMAGE_LEVELS if t.n(lvl) == t.total]
    if only:
        verb, rest = LEVEL_STATES[only[0]]
        return f"all {number_word(t.total)} buildings {_verb(verb, t.total)} {rest}"
    return f"of the {number_word(t.total)} buildings, {states_list(t, DAMAGE_LEVELS)}"


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
        return f"All {number_word(destroyed)} were destroyed"
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
