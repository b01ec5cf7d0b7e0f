"""Cheap checks of a reply against the sample's labels: denials, totals, absent classes.

The checks read the answers only (questions may ask about anything) and are text rules, not
understanding, so they flag only statements that clearly contradict a label
(:func:`contradictions`):

1. **Denial**: "no/without/not any/lacks/absence of/free of [one word] X" where X is a value
   of a focus tag (``center:landuse=farmland``), a scene class or a labelled object category;
   "no other X", "no more X" deny something else and pass.
2. **Total count** of a labelled object category on the captioned image (line features such as
   roads are never counted): only a sentence that states a total for the category is
   compared (:func:`stated_totals`): "There are three buildings", "Three buildings are
   visible", "I count 3 buildings", "The image shows 4 buildings", "5 buildings in total",
   "a total of 5 buildings"; "at least N" and "more than N" are lower bounds, "at most N" and
   "fewer than N" upper bounds. Not totals, and never flagged: a number after "the", "these",
   "of", "each"… ("One of the buildings has a red roof", "The two largest buildings are near
   the road"), a number with a restricting word between it and the noun ("three large
   buildings", "two other buildings"), a noun followed by a restriction ("two buildings
   with red roofs", "three buildings near the road"), approximate numbers ("about 20").
3. **Closed class set** (schemes ``clc43``/``ben19``): naming a class of the scheme that the
   sample does not have, unless a negation precedes it within 40 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eoinstruct.pipeline.instructions.grammar import natural_case
from eoinstruct.pipeline.records import Sample

NUMBER_WORDS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "a single": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
"""Number words a total may be written in (and digits)."""

NEUTRAL_WORDS = frozenset(
    {"visible", "labelled", "labeled", "annotated", "distinct", "separate", "individual",
     "identifiable", "discernible", "clearly", "total"}
)  # fmt: skip
"""Words that may stand between a number and its noun without restricting the count."""

_UNINFORMATIVE_VALUES = {"yes", "no", "true", "false", "unknown", "none", "other"}
_NUMBER = r"(\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_SENTENCES = re.compile(r"[^.!?;:]+")
_LEAD_IN = re.compile(
    r"(?:\b(?P<verb>there\s+(?:is|are|was|were)|(?:i|we|you|one)\s+(?:can\s+)?"
    r"(?:count|see|observe)|(?:shows?|contains?|has|have|includes?|depicts?|features?|"
    r"displays?)|total\s+of|count\s+of)\s+|^\s*(?:in\s+total,?\s+|overall,?\s+)?)"
    r"(?P<bound>only\s+|exactly\s+|just\s+|at\s+least\s+|at\s+most\s+|more\s+than\s+|"
    r"fewer\s+than\s+|less\s+than\s+|no\s+more\s+than\s+|up\s+to\s+)?$"
)
_PRESENCE = re.compile(
    r"^\s*(?:(?:are|is|were|was)\s+(?:\w+\s+)?|can\s+be\s+|could\s+be\s+)"
    r"(?:visible|present|seen|shown|labell?ed|annotated|depicted|counted|identified|found)\b"
)
_IN_TOTAL = re.compile(
    r"^\s*(?:in\s+total|in\s+all|altogether|overall|in\s+(?:the|this)\s+"
    r"(?:image|scene|picture|photo|tile|view))\b"
)
_RESTRICTION = re.compile(
    r"^\s*(?:with|that|which|whose|who|near|next|along|beside|by|on|at|in|under|over|behind|"
    r"around|between|facing|having|to|from|like|across|among|within|outside|inside|of|"
    r"surrounding|lining|close)\b"
)
_LOWER_BOUNDS = ("at least", "more than")
_UPPER_BOUNDS = ("at most", "fewer than", "less than", "no more than", "up to")


def _term_pattern(term: str) -> str:
    words = [re.escape(w) for w in term.replace("_", " ").split()]
    return r"\s+".join(words) + r"(?:s|es)?"


def _number(word: str) -> int:
    word = " ".join(word.split())
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def stated_totals(text: str, noun: str) -> list[tuple[str, int]]:
    """Return the totals a text states for a noun: ``(relation, number)`` per statement.

    Args:
        text: The text (lower case or not).
        noun: The category in the singular (``building``, ``wind_turbine``).

    Returns:
        ``("==", n)``, ``(">=", n)`` or ``("<=", n)`` for each sentence that states a total
        (see the module docstring); other mentions of numbers give nothing.
    """
    pattern = re.compile(
        r"\b" + _NUMBER + r"\s+((?:[a-z-]+\s+){0,2}?)" + _term_pattern(noun.lower()) + r"\b"
    )
    found: list[tuple[str, int]] = []
    for sentence in _SENTENCES.findall(text.lower()):
        for match in pattern.finditer(sentence):
            fillers = match.group(2).split()
            if any(w not in NEUTRAL_WORDS for w in fillers):
                continue
            before, after = sentence[: match.start()], sentence[match.end() :]
            lead = _LEAD_IN.search(before)
            if lead is None:
                continue
            if lead.group("verb") is None and not (
                _PRESENCE.match(after) or _IN_TOTAL.match(after)
            ):
                continue
            if _RESTRICTION.match(after) and not _IN_TOTAL.match(after):
                continue
            bound = " ".join((lead.group("bound") or "").split())
            stated = _number(match.group(1))
            if bound in _LOWER_BOUNDS:
                found.append((">=", stated + (bound == "more than")))
            elif bound in _UPPER_BOUNDS:
                found.append(("<=", stated - (bound in ("fewer than", "less than"))))
            else:
                found.append(("==", stated))
    return found


def _present_terms(sample: Sample) -> list[str]:
    terms: list[str] = []
    for key, value in sample.tags.items():
        if not key.startswith("center:"):
            continue
        for part in str(value).split(";"):
            part = part.strip().replace("_", " ")
            if len(part) >= 3 and part.lower() not in _UNINFORMATIVE_VALUES and not part.isdigit():
                terms.append(part)
    terms.extend(sample.labels.classes)
    terms.extend(ob.category for ob in sample.labels.objects)
    return sorted(set(terms))


_NEGATION = (
    r"\b(?:no|without|not\s+any|lacks?|absence\s+of|free\s+of)\s+"
    r"(?:(?!other\b|more\b|additional\b|further\b|such\b|longer\b)[a-z-]+\s+)?"
)


def _label_counts(sample: Sample, image_role: str) -> dict[str, int]:
    """Numbers of labelled objects per category on an image (line features left out)."""
    counts: dict[str, int] = {}
    for ob in sample.labels.objects:
        lines = ob.polygon_wkt.upper().startswith(("LINESTRING", "MULTILINESTRING"))
        if ob.image_role != image_role or lines:
            continue
        counts[ob.category] = counts.get(ob.category, 0) + 1
    return counts


def contradictions(pairs: Sequence[tuple[str, str]], sample: Sample, image_role: str) -> list[str]:
    """Return the ways a reply contradicts the sample's labels (empty: consistent).

    Args:
        pairs: ``(question, answer)`` tuples; only the answers are read.
        sample: The sample.
        image_role: The role of the image the reply is about (for object counts).

    Returns:
        Problems such as ``denies:farmland``, ``count:building:3!=5``, ``absent_class:Airports``.
    """
    text = " ".join(answer for _, answer in pairs)
    lower = text.lower()
    problems: list[str] = []
    for term in _present_terms(sample):
        if re.search(_NEGATION + _term_pattern(term.lower()) + r"\b", lower):
            problems.append(f"denies:{term}")
    for category, n in sorted(_label_counts(sample, image_role).items()):
        for relation, stated in stated_totals(lower, natural_case(category)):
            wrong = {"==": stated != n, ">=": stated > n, "<=": stated < n}[relation]
            if wrong:
                sign = "!=" if relation == "==" else relation
                problems.append(f"count:{category}:{stated}{sign}{n}")
    from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43_NAMES

    vocabulary = {"clc43": CLC43_NAMES, "ben19": BEN19_NAMES}.get(sample.labels.scheme, ())
    if vocabulary and sample.labels.classes:
        have = set(sample.labels.classes)
        for name in vocabulary:
            if name in have:
                continue
            for match in re.finditer(r"\b" + re.escape(name.lower()) + r"\b", lower):
                before = lower[max(0, match.start() - 40) : match.start()]
                if not re.search(r"\b(?:no|not|without|neither|nor)\b", before):
                    problems.append(f"absent_class:{name}")
                    break
    return sorted(set(problems))
