"""xBD damage tallies and the phrases that state them, for the disaster builders.

The buildings of a post label counted per damage level (:class:`Tally`) and the English that
states counts, shares and states ("three of the nine buildings were damaged", "both buildings
show no damage"), every word through the grammar helpers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from eoinstruct.pipeline.inflection import engine as inflect_engine
from eoinstruct.pipeline.instructions.builders.common import NotApplicable
from eoinstruct.pipeline.instructions.grammar import (
    article,
    count_phrase,
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
    "earthquake": "earthquakes typically damage buildings where they stand",
    "fire": "wildfires typically leave scorched ground and burnt buildings",
    "flooding": "floods typically leave water and mud around buildings",
    "tsunami": "tsunamis typically wash sediment and debris inland",
    "volcano": "eruptions typically cover the ground with ash and volcanic deposits",
    "wind": "windstorms typically strip trees and tear off roofs",
}
"""What each disaster type typically leaves (general knowledge an answer cites; stated as what
the type does, never as a fact about this image, which the labels cannot confirm)."""

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


def _verb(verb: str, n: int) -> str:
    """Agree a present or past verb with a count ("is"/"are", "has"/"have"; none: singular)."""
    return str(inflect_engine().plural_verb(verb, max(n, 1)))


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
    if t.damaged == 2:
        return f": both {_verb(verb, 2)} {rest}"
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
        return (f"both {plural(noun)}" if n == 2 else f"all {number_word(n)} {plural(noun)}"), n
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
        every = "both" if t.total == 2 else f"all {number_word(t.total)}"
        return f"{every} buildings {_verb(verb, t.total)} {rest}"
    return f"of the {number_word(t.total)} buildings, {states_list(t, DAMAGE_LEVELS)}"
