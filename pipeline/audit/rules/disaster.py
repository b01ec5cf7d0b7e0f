"""Audit rules for the xBD templates: re-derive each answer from the building labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they read the text with their own parsing and compare it with the labels'
buildings (``category == "building"``, ``attribute`` the xBD damage subtype) and
``labels.properties["disaster_type"]``.

What the text is read for:

- counts: clauses that name a damage level (``destroyed``, ``major``/``minor`` damage, ``no
  damage``/``undamaged``, ``damage``/``damaged`` for any damage, ``could not be assessed`` /
  ``unclassified``) with a number in digits or words (``no``/``none`` for zero), ``level:
  number`` lists, and shares ``N of the M (assessed) buildings``;
- yes/no: the first word of the answer, against whether the level asked has buildings;
- boxes: ``[[x1, y1, x2, y2, angle]]`` on a 0..100 grid, against the label boxes scaled with
  this module's own rounding (outwards);
- disaster types: type names and their synonyms (``wildfire``, ``windstorm``…).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.instructions.validate import parse_boxes

BOX_GRID = 100
"""Boxes are written on a 0..100 grid (EarthDial)."""

LEVELS = ("no-damage", "minor-damage", "major-damage", "destroyed")
DAMAGED = ("minor-damage", "major-damage", "destroyed")
ANY = "damaged"
UNCLASSIFIED = "un-classified"

_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_NUMBER = r"\d+|" + "|".join(_WORDS) + r"|none|no"
_BOTH = re.compile(r"\bboth\b(?!\s+(?:the\s+)?(?:images?|acquisitions?|views?|dates?|pictures?))")
"""``both`` as a count of buildings ("both buildings", "both were destroyed"), not of images."""
_NUMBER_RE = re.compile(rf"\b({_NUMBER})\b")

# Level keywords, most specific first ("undamaged" and "no damage" before "damage").
_LEVEL_WORDS: tuple[tuple[str, str], ...] = (
    (UNCLASSIFIED, r"could not be (?:assessed|classified)|\bun-?classified\b"),
    ("no-damage", r"\bundamaged\b|\bno damage\b"),
    ("major-damage", r"\bmajor\b"),
    ("minor-damage", r"\bminor\b"),
    ("destroyed", r"\bdestroyed\b"),
    (ANY, r"\bdamage[sd]?\b"),
)
_LIST_ITEM = re.compile(
    r"\b(destroyed|major damage|minor damage|no damage|unclassified)\s*:\s*(\d+|none)\b"
)
_SHARE = re.compile(rf"(?:\b({_NUMBER})\s+)?of the ({_NUMBER})\s+(assessed\s+)?buildings?\b")
_CLAUSE_SPLIT = re.compile(r"[.;,:!?]|\band\b|\bbut\b")
_TAG = re.compile(r"<box>.*?</box>|</?ref>|\[\[[^\]]*\]\]")

_TYPE_WORDS: dict[str, str] = {
    "earthquake": r"\bearthquake",
    "fire": r"\bwildfire|\bfire\b|\bbushfire",
    "flooding": r"\bflood",
    "tsunami": r"\btsunami",
    "volcano": r"\bvolcan",
    "wind": r"\bwindstorm|\bwind\b|\bstorm\b|\bhurricane|\btornado",
}


def _number(word: str) -> int:
    word = word.lower()
    if word.isdigit():
        return int(word)
    if word in ("no", "none"):
        return 0
    return _WORDS.index(word)


@dataclass
class Stated:
    """What a text states: counts per level (``damaged``, ``un-classified`` too) and totals.

    Attributes:
        counts: Level → the number stated (the first one, where a level is stated twice).
        totals: ``all`` (``of the N buildings``) or ``assessed`` → the number stated.
        conflicts: Levels stated with two different numbers.
    """

    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    def add(self, level: str, n: int) -> None:
        """Record a stated count."""
        if level in self.counts and self.counts[level] != n:
            self.conflicts.append(level)
        self.counts.setdefault(level, n)


def plain(text: str) -> str:
    """Lower-case text without ``<ref>``/``<box>`` tags and boxes; ``both`` (buildings) → two."""
    return _BOTH.sub("two", _TAG.sub(" ", text).lower())


def level_in(text: str) -> tuple[str, tuple[int, int]] | None:
    """The damage level a clause names (most specific keyword) and where, or ``None``."""
    for level, pattern in _LEVEL_WORDS:
        match = re.search(pattern, text)
        if match:
            return level, match.span()
    return None


def stated_counts(text: str) -> Stated:
    """Parse every count a text states (see the module docstring)."""
    stated = Stated()
    text = plain(text)
    for match in _LIST_ITEM.finditer(text):
        level = {"no damage": "no-damage", "unclassified": UNCLASSIFIED}.get(
            match.group(1), match.group(1).replace(" ", "-")
        )
        stated.add(level, _number(match.group(2)))
    text = _LIST_ITEM.sub(" ", text)
    for clause in _CLAUSE_SPLIT.split(text):
        lead = None
        share = _SHARE.search(clause)
        if share:
            stated.totals["assessed" if share.group(3) else "all"] = _number(share.group(2))
            lead = share.group(1)
            clause = clause[: share.start()] + " " + clause[share.end() :]
        found = level_in(clause)
        if found is None:
            continue
        level, (start, end) = found
        if lead is None:
            number = _NUMBER_RE.search(clause[:start] + " " + clause[end:])
            if number is None:
                continue
            lead = number.group(1)
        stated.add(level, _number(lead))
    return stated


@dataclass(frozen=True)
class Truth:
    """The labels' buildings by level."""

    counts: Counter[str]

    def n(self, level: str) -> int:
        """Buildings of a level (``damaged``: any damaged level)."""
        if level == ANY:
            return sum(self.counts[lvl] for lvl in DAMAGED)
        return self.counts[level]

    @property
    def total(self) -> int:
        """Every building."""
        return sum(self.counts.values())


def truth_of(item: AuditItem) -> Truth:
    """Count the item's buildings per damage subtype."""
    return Truth(Counter(o.attribute for o in item.labels.objects if o.category == "building"))


def count_problems(stated: Stated, truth: Truth) -> list[str]:
    """Compare stated counts and totals with the labels."""
    problems = [f"count_conflict:{lvl}" for lvl in stated.conflicts]
    for level, n in stated.counts.items():
        if n != truth.n(level):
            problems.append(f"count_mismatch:{level}:{n}!={truth.n(level)}")
    want = {"all": truth.total, "assessed": truth.total - truth.n(UNCLASSIFIED)}
    for kind, n in stated.totals.items():
        if n != want[kind]:
            problems.append(f"total_mismatch:{kind}:{n}!={want[kind]}")
    return problems


def types_named(text: str) -> set[str]:
    """The xBD disaster types a text names."""
    low = plain(text)
    return {dtype for dtype, pattern in _TYPE_WORDS.items() if re.search(pattern, low)}


def type_problems(text: str, item: AuditItem, required: bool = True) -> list[str]:
    """Check the disaster type a text names against ``properties["disaster_type"]``."""
    truth = item.labels.properties.get("disaster_type", "")
    named = types_named(text)
    if not named:
        return ["missing_disaster_type"] if required else []
    if len(named) > 1:
        return [f"several_disaster_types:{','.join(sorted(named))}"]
    if truth not in named:
        return [f"wrong_disaster_type:{named.pop()}!={truth or 'unknown'}"]
    if truth_of(item).n(ANY) == 0:
        return ["disaster_type_without_visible_damage"]
    return []


def grid_box(
    bbox: tuple[float, float, float, float], size: tuple[int, int]
) -> tuple[int, int, int, int, int]:
    """A pixel box on the 0..100 grid, rounded outwards and kept at least one cell wide."""
    width, height = size
    x1 = min(max(math.floor(bbox[0] * BOX_GRID / width), 0), BOX_GRID - 1)
    y1 = min(max(math.floor(bbox[1] * BOX_GRID / height), 0), BOX_GRID - 1)
    x2 = max(min(math.ceil(bbox[2] * BOX_GRID / width), BOX_GRID), x1 + 1)
    y2 = max(min(math.ceil(bbox[3] * BOX_GRID / height), BOX_GRID), y1 + 1)
    return (x1, y1, x2, y2, 0)


def _level_boxes(item: AuditItem, level: str) -> list[tuple[int, int, int, int, int]]:
    wanted = DAMAGED if level == ANY else (level,)
    return sorted(
        grid_box(o.bbox, item.image_sizes[o.image_role])
        for o in item.labels.objects
        if o.category == "building" and o.attribute in wanted and o.image_role in item.image_sizes
    )


def box_problems(answer: str, item: AuditItem) -> list[str]:
    """Boxes of a ``<ref>…</ref><box>…</box>`` answer against all buildings of the level."""
    refs = re.findall(r"<ref>(.*?)</ref>", answer)
    boxes = parse_boxes(answer)
    if not refs:
        return ["boxes_without_ref"] if boxes else []
    found = level_in(refs[0].lower())
    if found is None:
        return [f"unknown_ref:{refs[0]}"]
    level = found[0]
    truth = _level_boxes(item, level)
    if sorted(boxes) != truth:
        return [f"boxes_mismatch:{level}:{len(boxes)}!={len(truth)}"]
    return []


# -- rules ---------------------------------------------------------------------------------------


def _answer(item: AuditItem) -> str:
    return item.answers[-1] if item.answers else ""


def check_disaster_type(item: AuditItem) -> list[str]:
    """``xbd_disaster_type``: the type named is the label's (and some damage shows)."""
    return type_problems(_answer(item), item)


def check_damage_counts(item: AuditItem) -> list[str]:
    """``xbd_damage_counts``: a count for every level, each equal to the labels'."""
    stated = stated_counts(_answer(item))
    truth = truth_of(item)
    problems = [f"missing_count:{lvl}" for lvl in LEVELS if lvl not in stated.counts]
    if truth.n(UNCLASSIFIED) and UNCLASSIFIED not in stated.counts:
        problems.append(f"missing_count:{UNCLASSIFIED}")
    return problems + count_problems(stated, truth)


def check_affected(item: AuditItem) -> list[str]:
    """``xbd_affected``: yes/no against whether the labels hold at least k of the level asked.

    The question names a level and optionally ``at least k`` (default 1: "any"). A "no" must
    hold even if every un-classified building were of that level.
    """
    question = plain(item.questions[0])
    found = level_in(question)
    if found is None or found[0] == UNCLASSIFIED:
        return ["level_not_in_question"]
    level = found[0]
    at_least = re.search(rf"\bat least ({_NUMBER})\b", question)
    k = _number(at_least.group(1)) if at_least else 1
    answer = _answer(item)
    said = re.match(r"\s*(yes|no)\b", answer, re.IGNORECASE)
    if said is None:
        return ["no_yes_no"]
    truth = truth_of(item)
    problems = []
    yes = said.group(1).lower() == "yes"
    if yes != (truth.n(level) >= k):
        problems.append(f"wrong_yes_no:{level}>={k}")
    elif not yes and truth.n(level) + truth.n(UNCLASSIFIED) >= k:
        problems.append(f"unverifiable_no:{level}>={k}")
    return problems + count_problems(stated_counts(answer[said.end() :]), truth)


def check_identify(item: AuditItem) -> list[str]:
    """``xbd_identify_damage``: the level named is that of the building at the asked box."""
    boxes = parse_boxes(item.questions[0])
    if len(boxes) != 1:
        return [f"question_boxes:{len(boxes)}"]
    at = [
        o.attribute
        for o in item.labels.objects
        if o.category == "building"
        and o.image_role in item.image_sizes
        and grid_box(o.bbox, item.image_sizes[o.image_role]) == boxes[0]
    ]
    if not at:
        return ["no_building_at_box"]
    text = plain(_answer(item))
    named = {
        level
        for level, pattern in _LEVEL_WORDS[1:5]
        if re.search(pattern, text.replace("damaged", "").replace("assessed", ""))
    }
    if not named:
        return ["no_level_in_answer"]
    if len(named) > 1:
        return [f"several_levels:{','.join(sorted(named))}"]
    level = named.pop()
    if level not in at:
        return [f"wrong_level:{level}!={'|'.join(sorted(set(at)))}"]
    return []


def check_refer(item: AuditItem) -> list[str]:
    """``xbd_refer_damage_level``: boxes of every building of the level, and the count said."""
    answer = _answer(item)
    if not parse_boxes(answer):
        return ["no_boxes"]
    return box_problems(answer, item) + count_problems(stated_counts(answer), truth_of(item))


def check_change(item: AuditItem) -> list[str]:
    """``xbd_change``: the damaged share and per-level counts stated."""
    stated = stated_counts(_answer(item))
    truth = truth_of(item)
    problems = count_problems(stated, truth)
    single = truth.total - truth.n(UNCLASSIFIED) == 1
    if ANY not in stated.counts and not single:
        problems.append("missing_count:damaged")
    return problems


def check_description(item: AuditItem) -> list[str]:
    """``xbd_damage_description``: the type (where damage shows) and the counts per level."""
    answer = _answer(item)
    truth = truth_of(item)
    problems = type_problems(answer, item, required=truth.n(ANY) > 0)
    stated = stated_counts(answer)
    problems += count_problems(stated, truth)
    if truth.total > 1:
        missing = [lvl for lvl in LEVELS if truth.n(lvl) and lvl not in stated.counts]
        problems += [f"missing_count:{lvl}" for lvl in missing]
    return problems


def check_dialogue(item: AuditItem) -> list[str]:
    """``xbd_dialogue``: every turn: the type (first answer), counts and boxes stated."""
    if not item.answers:
        return ["no_answers"]
    problems = type_problems(item.answers[0], item)
    for i, answer in enumerate(item.answers):
        turn = [f"turn{i + 1}:{p}" for p in count_problems(stated_counts(answer), truth_of(item))]
        if parse_boxes(answer):
            turn += [f"turn{i + 1}:{p}" for p in box_problems(answer, item)]
        problems += turn
    return problems


RULES: dict[str, Rule] = {
    "xbd_disaster_type": check_disaster_type,
    "xbd_damage_counts": check_damage_counts,
    "xbd_affected": check_affected,
    "xbd_identify_damage": check_identify,
    "xbd_refer_damage_level": check_refer,
    "xbd_change": check_change,
    "xbd_damage_description": check_description,
    "xbd_dialogue": check_dialogue,
}
"""Template id → rule."""
