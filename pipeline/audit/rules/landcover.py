"""Audit rules for the landcover task family: re-derive each answer from the labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they find the classes a text names with their own table of class wordings,
and decide presence, urban/rural and shares from ``labels.classes`` and the shares the source
adapters record in ``labels.properties`` (``class_shares`` for reBEN: CLC level-3 name →
share of the patch; ``land_cover_shares`` for SatlasPretrain: category → share of the tile;
both with the unlabelled pixels under ``unlabelled``).

Codes: ``asked_class_unclear``, ``no_yes_no``, ``wrong_yes_no:<class>``,
``negation_mismatch``, ``class_not_in_labels:<class>``, ``missing_class:<class>``,
``no_urban_rural``, ``wrong_urban_rural:<answer>``, ``share_mismatch:<class>:<said>!=<true>``,
``not_mostly:<class>``, ``class_below_share:<class>``, ``wrong_dominant:<said>!=<true>``,
``unverifiable:<why>``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43, CLC43_TO_BEN19

_CLC_NAMES = frozenset(name for _, name in CLC43)
_BEN_NAMES = frozenset(BEN19_NAMES)
_CLC_ONLY = _CLC_NAMES - _BEN_NAMES

_ARTIFICIAL = frozenset(name for code, name in CLC43 if 100 <= code < 200)
_URBAN = _ARTIFICIAL - {"Mineral extraction sites", "Dump sites"}
_WATER = frozenset(name for code, name in CLC43 if 500 <= code < 600)
_URBAN_MIN, _RURAL_MAX, _MOSTLY, _PRESENT_MIN = 0.5, 0.1, 0.5, 0.05

_OTHER_WORDINGS: dict[str, tuple[str, ...]] = {
    "Land principally occupied by agriculture, with significant areas of natural vegetation": (
        "agricultural land with significant areas of natural vegetation",
    ),
    "Transitional woodland, shrub": ("transitional woodland-shrub",),  # = CLC 324 alone
    "Beaches, dunes, sands": ("sandy beaches and dunes",),
    "Moors, heathland and sclerophyllous vegetation": ("heathland and sclerophyllous vegetation",),
}
"""Prose wordings of BigEarthNet names besides the names themselves."""

_SATLAS_WORDINGS: dict[str, tuple[str, ...]] = {
    "water": ("water",),
    "developed": ("developed land", "developed"),
    "tree": ("tree cover", "trees", "tree"),
    "shrub": ("shrubland", "shrub"),
    "grass": ("grassland", "grass"),
    "crop": ("cropland", "crop"),
    "bare": ("bare ground", "bare"),
    "snow": ("snow",),
    "wetland": ("wetland",),
    "mangroves": ("mangroves",),
    "moss": ("moss",),
}
"""SatlasPretrain land-cover category → the wordings that name it."""

_PERCENT_AFTER = re.compile(r"\s*\((?:(?:about|around|roughly)\s+)?(\d+)\s*%\)|\s*\(under 1 %\)")
_ANY_PERCENT = re.compile(r"(\d+)\s*%")


# -- finding classes in text -------------------------------------------------------------------

Wordings = Sequence[tuple[str, str]]


def _wordings(names: Iterable[str], extra: dict[str, tuple[str, ...]]) -> Wordings:
    """(casefolded wording, name) pairs, longest wording first (a tuple: immutable)."""
    pairs = {(n.casefold(), n) for n in names}
    pairs |= {(w.casefold(), n) for n, ws in extra.items() if n in names for w in ws}
    return tuple(sorted(pairs, key=lambda p: (-len(p[0]), p)))


_ALL_BEN = _wordings(_CLC_NAMES | _BEN_NAMES, _OTHER_WORDINGS)
_ONLY_BEN19 = _wordings(_BEN_NAMES, _OTHER_WORDINGS)
_ONLY_CLC43 = _wordings(_CLC_NAMES, _OTHER_WORDINGS)
_SATLAS = _wordings(_SATLAS_WORDINGS, _SATLAS_WORDINGS)


@functools.lru_cache(maxsize=4096)
def _wording_pattern(wording: str) -> re.Pattern[str]:
    """The whole-word pattern of one casefolded wording, compiled once."""
    return re.compile(rf"(?<![\w-]){re.escape(wording)}(?![\w-])")


def mentions(text: str, wordings: Wordings) -> list[tuple[int, int, str]]:
    """Find the classes a text names: (start, end, name), in text order, longest match first.

    A wording counts only as whole words (``arable land`` inside ``non-irrigated arable land``
    is the longer class).
    """
    if type(wordings) is not tuple:  # a list may change: no cache of its own
        return list(_mentions(text, tuple(wordings)))
    entry = _FOUND.get(id(wordings))
    if entry is None or entry[0] is not wordings:
        entry = _FOUND[id(wordings)] = (wordings, {})  # held: its id stays its own
    found = entry[1].get(text)
    if found is None:
        if len(entry[1]) >= _FOUND_MAX:
            entry[1].clear()
        found = entry[1][text] = _find(text, wordings)
    return list(found)


_FOUND: dict[int, tuple[Wordings, dict[str, tuple[tuple[int, int, str], ...]]]] = {}
"""``id`` of a wordings tuple → the tuple and its texts' mentions: a lookup by identity, not by
hashing the tuple's hundred wordings on every call (a sample's pairs name classes often)."""
_FOUND_MAX = 8192


@functools.lru_cache(maxsize=8192)  # questions repeat (a multilabel question lists every class)
def _mentions(text: str, wordings: tuple[tuple[str, str], ...]) -> tuple[tuple[int, int, str], ...]:
    """:func:`mentions` of a text and a wordings tuple (for lists)."""
    return _find(text, wordings)


def _find(text: str, wordings: Wordings) -> tuple[tuple[int, int, str], ...]:
    """The mentions of a text (uncached).

    Each wording the text holds as a substring (C speed; a whole-word match needs it) is
    searched with its whole-word pattern, longest wording first; a match overlapping one
    taken before is left out. (Measured on the sample's turns: faster than first finding
    candidate wordings by the text's words.)
    """
    folded = text.casefold()
    taken: list[tuple[int, int, str]] = []
    for wording, name in wordings:
        if wording not in folded:
            continue
        for match in _wording_pattern(wording).finditer(folded):
            start, end = match.span()
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, name))
    return tuple(sorted(taken))


def _shares(item: AuditItem, key: str) -> dict[str, float] | None:
    """A JSON shares property of the labels, or None when absent or unreadable."""
    text = item.labels.properties.get(key, "")
    try:
        doc = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return {str(k): float(v) for k, v in doc.items()} if isinstance(doc, dict) else None


def _share_of(name: str, level3: dict[str, float]) -> float:
    """The share of a BigEarthNet class (level-3 or 19-class name) from level-3 shares."""
    if name in _CLC_NAMES:
        return level3.get(name, 0.0)
    return sum(v for k, v in level3.items() if CLC43_TO_BEN19.get(k) == name)


def _present(item: AuditItem, name: str) -> bool | None:
    """Whether the labels hold a BigEarthNet class (None: they cannot tell)."""
    classes = set(item.labels.classes)
    if name in classes:
        return True
    if item.labels.scheme == "clc43":
        return name in _BEN_NAMES and any(CLC43_TO_BEN19.get(c) == name for c in classes)
    if item.labels.scheme == "ben19":
        if name in _BEN_NAMES:
            return False
        level3 = _shares(item, "class_shares")
        return None if level3 is None else level3.get(name, 0.0) > 0
    return None


def _percent_problems(
    text: str, found: list[tuple[int, int, str]], share: dict[str, float]
) -> list[str]:
    """Check every ``<class> (about N %)`` of a text against the class's true share."""
    problems: list[str] = []
    for _, end, name in found:
        match = _PERCENT_AFTER.match(text, end)
        if not match:
            continue
        if name not in share:
            problems.append(f"unverifiable:share_of_{name}")
            continue
        true = round(100 * share[name])
        said = int(match.group(1)) if match.group(1) else 0
        if abs(said - true) > 1 or (match.group(1) is None and true >= 1):
            problems.append(f"share_mismatch:{name}:{said}!={true}")
    return problems


def _claimed_absent(item: AuditItem, found: Iterable[str]) -> list[str]:
    """``class_not_in_labels`` for each named class the labels lack."""
    problems: list[str] = []
    for name in sorted(set(found)):
        present = _present(item, name)
        if present is None:
            problems.append(f"unverifiable:{name}")
        elif not present:
            problems.append(f"class_not_in_labels:{name}")
    return problems


# -- BigEarthNet ---------------------------------------------------------------------------------


def multilabel(item: AuditItem) -> list[str]:
    """The classes listed are exactly the sample's classes in the class set the question offers."""
    offered = {n for _, _, n in mentions(item.questions[0], _ALL_BEN)}
    clc43 = bool(offered & _CLC_ONLY)
    classes = set(item.labels.classes)
    if item.labels.scheme == "clc43":
        expected = classes if clc43 else {CLC43_TO_BEN19[c] for c in classes if c in CLC43_TO_BEN19}
    elif item.labels.scheme == "ben19" and not clc43:
        expected = classes
    else:
        return [f"unverifiable:class_set_of_{item.labels.scheme or 'no_scheme'}"]
    answer = " ".join(item.answers)
    found = {n for _, _, n in mentions(answer, _ONLY_CLC43 if clc43 else _ONLY_BEN19)}
    return [f"missing_class:{n}" for n in sorted(expected - found)] + [
        f"class_not_in_labels:{n}" for n in sorted(found - expected)
    ]


def presence(item: AuditItem) -> list[str]:
    """The Yes/No agrees with the labels about the one class asked; other classes named exist."""
    asked = {n for _, _, n in mentions(item.questions[0], _ALL_BEN)}
    if len(asked) != 1:
        return [f"asked_class_unclear:{sorted(asked)}"]
    (name,) = asked
    answer = " ".join(item.answers).strip()
    first, _, rest = answer.partition(" ")
    word = first.strip(".,:;!").casefold()
    if word not in ("yes", "no"):
        return ["no_yes_no"]
    problems: list[str] = []
    truth = _present(item, name)
    if truth is None:
        problems.append(f"unverifiable:{name}")
    elif (word == "yes") != truth:
        problems.append(f"wrong_yes_no:{name}")
    if rest and (word == "no") != bool(_NEGATION.search(rest.casefold())):
        problems.append("negation_mismatch")
    others = [n for _, _, n in mentions(answer, _ALL_BEN) if n != name]
    return problems + _claimed_absent(item, others)


_NEGATION = re.compile(r"\b(not|no|cannot)\b")
_URBAN_RURAL = re.compile(r"\b(urban|rural)\b")


def urban_rural(item: AuditItem) -> list[str]:
    """Urban/rural from the class areas (or from CLC-43 labels alone where they make it sure)."""
    answer = " ".join(item.answers)
    verdict = _URBAN_RURAL.search(answer.casefold())
    if not verdict:
        return ["no_urban_rural"]
    said = verdict.group(1)
    level3 = _shares(item, "class_shares")
    problems: list[str] = []
    if level3:
        urban = sum(v for k, v in level3.items() if k in _URBAN)
        artificial = sum(v for k, v in level3.items() if k in _ARTIFICIAL)
        water = sum(v for k, v in level3.items() if k in _WATER)
        unknown = level3.get("unlabelled", 0.0)
        right = (
            urban >= _URBAN_MIN
            if said == "urban"
            else artificial + unknown <= _RURAL_MAX and water < 0.5
        )
        measured = urban if said == "urban" else artificial
        for number in _ANY_PERCENT.findall(answer):
            if abs(int(number) - round(100 * measured)) > 1:
                problems.append(f"share_mismatch:{said}:{number}!={round(100 * measured)}")
        if "under 1 %" in answer and round(100 * measured) >= 1:
            problems.append(f"share_mismatch:{said}:0!={round(100 * measured)}")
    elif item.labels.scheme == "clc43":
        classes = set(item.labels.classes)
        if said == "urban":
            right = bool(classes) and classes <= _URBAN
        else:
            right = bool(classes) and not classes & _ARTIFICIAL and not classes <= _WATER
    else:
        return ["unverifiable:no_class_shares"]
    if not right:
        problems.append(f"wrong_urban_rural:{said}")
    found = [n for _, _, n in mentions(answer, _ALL_BEN)]
    return problems + _claimed_absent(item, found)


def caption(item: AuditItem) -> list[str]:
    """Every class named is in the labels; shares and "mostly" agree with the class areas."""
    answer = " ".join(item.answers)
    found = mentions(answer, _ALL_BEN)
    problems = _claimed_absent(item, [n for _, _, n in found])
    level3 = _shares(item, "class_shares")
    share = {n: _share_of(n, level3) for _, _, n in found} if level3 else {}
    problems += _percent_problems(answer, found, share)
    folded = answer.casefold()
    for start, _, name in found:
        if folded[:start].endswith("mostly ") and share.get(name, 0.0) < _MOSTLY:
            problems.append(f"not_mostly:{name}")
    return problems


def _dialogue_urban(answer: str, level3: dict[str, float]) -> list[str]:
    """The Yes/No of "is it urban?" by the urban/rural thresholds; its percentages agree."""
    word = answer.strip().split(" ")[0].strip(".,:;!").casefold()
    if word not in ("yes", "no"):
        return ["no_yes_no"]
    urban = sum(v for k, v in level3.items() if k in _URBAN)
    artificial = sum(v for k, v in level3.items() if k in _ARTIFICIAL)
    water = sum(v for k, v in level3.items() if k in _WATER)
    unknown = level3.get("unlabelled", 0.0)
    problems: list[str] = []
    if word == "yes" and urban < _URBAN_MIN:
        problems.append(f"wrong_yes_no:urban:{round(100 * urban)}")
    if word == "no" and not (artificial + unknown <= _RURAL_MAX and water < 0.5):
        problems.append(f"wrong_yes_no:not_surely_rural:{round(100 * artificial)}")
    measured = round(100 * (urban if word == "yes" else artificial))
    for number in _ANY_PERCENT.findall(answer):
        if abs(int(number) - measured) > 1:
            problems.append(f"share_mismatch:{number}!={measured}")
    if "under 1 %" in answer and measured >= 1:
        problems.append(f"share_mismatch:0!={measured}")
    return problems


def dialogue(item: AuditItem) -> list[str]:
    """``ben_dialogue``: the largest class and its share → the other classes → urban or not.

    Turn 1 names first the class with the largest share (by more than the unlabelled
    pixels) and gives its share; a later answer that starts with Yes/No answers "is it
    urban" by the thresholds; the other later answer names every other class of the labels
    (none twice, not the first class) with shares that agree.
    """
    level3 = _shares(item, "class_shares")
    if not level3 or item.labels.scheme != "ben19":
        return ["unverifiable:no_class_shares"]
    if len(item.answers) < 2 or len(item.questions) != len(item.answers):
        return ["dialogue_turns:too_few"]
    classes = set(item.labels.classes)
    share = {n: _share_of(n, level3) for n in classes}
    first = item.answers[0]
    found = mentions(first, _ONLY_BEN19)
    if not found:
        return ["turn1:missing_class:dominant"]
    said = found[0][2]
    ranked = sorted(share.values(), reverse=True)
    problems: list[str] = []
    if said not in classes:
        problems.append(f"turn1:class_not_in_labels:{said}")
    elif share[said] < ranked[0] or (
        len(ranked) > 1
        and (
            ranked[0] - ranked[1] <= level3.get("unlabelled", 0.0)
            or round(100 * ranked[0]) == round(100 * ranked[1])
        )
    ):
        problems.append(f"turn1:wrong_dominant:{said}")
    elif any(v >= share[said] for k, v in level3.items() if k in _CLC_NAMES - set(CLC43_TO_BEN19)):
        problems.append(f"turn1:outranked_outside_ben19:{said}")
    number = _ANY_PERCENT.search(first)  # "under 1 %" reads as 1, within the tolerance of 0
    true = round(100 * share.get(said, 0.0))
    if number is None:
        problems.append("turn1:share_missing")
    elif abs(int(number.group(1)) - true) > 1:
        problems.append(f"turn1:share_mismatch:{said}:{number.group(1)}!={true}")
    for i, answer in enumerate(item.answers[1:], start=2):
        if re.match(r"\s*(yes|no)\b", answer, re.IGNORECASE):
            problems += [f"turn{i}:{p}" for p in _dialogue_urban(answer, level3)]
            continue
        named = [n for _, _, n in mentions(answer, _ONLY_BEN19)]
        wrong = [f"class_not_in_labels:{n}" for n in sorted(set(named) - classes)]
        wrong += [f"missing_class:{n}" for n in sorted(classes - set(named) - {said})]
        wrong += ["repeats_first_class"] if said in named else []
        wrong += ["class_named_twice"] if len(named) != len(set(named)) else []
        wrong += _percent_problems(answer, mentions(answer, _ONLY_BEN19), share)
        problems += [f"turn{i}:{p}" for p in wrong]
    return problems


# -- SatlasPretrain ------------------------------------------------------------------------------


def _satlas_shares(item: AuditItem) -> tuple[dict[str, float], float] | None:
    """(category → share, unlabelled share), or None when the labels have no shares."""
    shares = _shares(item, "land_cover_shares")
    if shares is None:
        return None
    unknown = shares.pop("unlabelled", 0.0)
    return {k: v for k, v in shares.items() if k in _SATLAS_WORDINGS}, unknown


def satlas_landcover(item: AuditItem) -> list[str]:
    """The classes listed are those covering at least 5 % of the tile; shares agree."""
    got = _satlas_shares(item)
    if got is None:
        return ["unverifiable:no_land_cover_shares"]
    shares, unknown = got
    answer = " ".join(item.answers)
    found = mentions(answer, _SATLAS)
    named = {n for _, _, n in found}
    problems: list[str] = []
    for name in sorted(named):
        share = shares.get(name, 0.0)
        if share < _PRESENT_MIN:
            certain = share + unknown < _PRESENT_MIN
            problems.append(f"class_below_share:{name}" if certain else f"unverifiable:{name}")
    for name in sorted(set(shares) - named):
        if shares[name] >= _PRESENT_MIN:
            problems.append(f"missing_class:{name}")
    return problems + _percent_problems(answer, found, shares)


def satlas_dominant(item: AuditItem) -> list[str]:
    """The first class named is the largest one and the first percentage its share."""
    got = _satlas_shares(item)
    if got is None:
        return ["unverifiable:no_land_cover_shares"]
    shares, unknown = got
    if not shares:
        return ["unverifiable:empty_land_cover"]
    answer = " ".join(item.answers)
    found = mentions(answer, _SATLAS)
    if not found:
        return ["missing_class:dominant"]
    ranked = sorted(shares.values(), reverse=True)
    top = max(sorted(shares), key=lambda k: shares[k])
    said = found[0][2]
    problems: list[str] = []
    if said != top:
        margin = shares.get(top, 0.0) - shares.get(said, 0.0)
        problems.append(
            f"wrong_dominant:{said}!={top}" if margin > unknown else f"unverifiable:{said}"
        )
    elif len(ranked) > 1 and ranked[0] - ranked[1] <= unknown:
        problems.append("unverifiable:dominant_within_unlabelled")
    number = _ANY_PERCENT.search(answer)
    true = round(100 * shares.get(said, 0.0))
    if number is None:
        problems.append("share_missing")
    elif abs(int(number.group(1)) - true) > 1:
        problems.append(f"share_mismatch:{said}:{number.group(1)}!={true}")
    return problems + _percent_problems(answer, found[1:], shares)


RULES: dict[str, Rule] = {
    "ben_landcover_multilabel": multilabel,
    "ben_landcover_presence": presence,
    "ben_urban_rural": urban_rural,
    "ben_landcover_caption": caption,
    "ben_dialogue": dialogue,
    "satlas_landcover": satlas_landcover,
    "satlas_landcover_share": satlas_dominant,
}
"""Template id → rule."""
