"""Checks every pair gets, whatever wrote it: metadata answers, yes/no answers, grammar.

The family rules (:mod:`.rules`) check that an answer agrees with the labels; these checks
look at the text alone (and at the sample's acquisition times, sensor and tags, to recognise
metadata), so they apply to template and captioner pairs alike. Each returns problem codes:

- ``metadata_answer:<what>``: an answer states what the pixels cannot show and the question
  did not give: an acquisition ``date`` (an ISO date, a written date, or the month and year
  of one of the sample's acquisitions), a ``platform`` (Sentinel-2A, Landsat 8,
  WorldView-3…, or the sample's own sensor or platform tag), an ``emission_rate``
  (``kg/h``) or an earthquake ``magnitude`` (``M 7.1``, "magnitude 5.3").
- ``yes_no_unanswered``: a yes/no question (its first interrogative sentence starts with an
  auxiliary — Is, Are, Does, Do, Can, Could, Was, Were, Did, Has, Have, Will, Would, Should
  — or, after an opening phrase, has one right after a comma: "Among these, is there…"; and
  it offers no alternatives joined by "or"; requests such as "Can you list…", embedded
  questions such as "Do you know how many…" and questions followed by another question or a
  request — "…? Where are they?", "…? Describe the change." — are not yes/no questions;
  format hints such as "Answer yes or no." may follow) whose answer does not start with Yes
  or No.
- ``grammar:<rule>``, in questions and answers (boxes and ``<ref>`` tags removed):
  ``article`` ("a" before a vowel sound or "an" before a consonant sound, decided by
  ``inflect``; acronyms, numbers and one-letter labels are left alone), ``number_agreement``
  ("1 buildings", "3 building": a number and a countable noun of :data:`COUNTABLE`),
  ``zero_count`` ("0 buildings": write "no buildings"), ``doubled_word`` ("the the"),
  ``all_two`` ("all two were destroyed": write "both"),
  ``sentence_start`` and ``sentence_end`` (an answer of style ``sentence`` or
  ``explanatory`` must start with a capital letter and end with ``.``, ``!`` or ``?``),
  ``capitalised_class`` (a BigEarthNet class name written with its capital after another
  word: "shows Coniferous forest"; an item of a ``;``-separated option list keeps its
  spelling) and ``any_capitalised`` ("Is there any Pastures").

Each rule is narrow on purpose: a code here rejects the pair, so ordinary phrasings must
never raise one (``tests/test_audit.py`` holds a table of both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.inflection import engine as inflect_engine
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43_NAMES

_ENGINE = inflect_engine()

SENTENCE_STYLES = frozenset({"sentence", "explanatory"})
"""Answer styles whose answers are full sentences."""

AUXILIARIES = frozenset(
    {
        "is",
        "are",
        "does",
        "do",
        "can",
        "could",
        "was",
        "were",
        "did",
        "has",
        "have",
        "will",
        "would",
        "should",
    }
)
"""Words that open a yes/no question."""

WH_WORDS = frozenset({"what", "which", "where", "when", "who", "whom", "whose", "why", "how"})
"""Words that open a question that is not a yes/no question."""

REQUEST_VERBS = frozenset(
    {"describe", "locate", "explain", "point", "show", "mark", "tell", "identify", "find",
     "outline", "indicate", "specify", "justify", "where", "why", "how", "which", "what"}
)  # fmt: skip
"""First words of a sentence that asks for more than yes or no after a question."""

COUNTABLE: frozenset[str] = frozenset(
    {
        "aircraft carrier", "airplane", "bridge", "building", "car", "change", "chimney",
        "class", "dam", "feature", "field", "house", "image", "island", "item", "lake",
        "object", "patch", "pier", "plane", "platform", "plume", "pond", "pool", "quarry",
        "river", "road", "ship", "silo", "stadium", "storage tank", "structure", "substation",
        "tank", "tile", "tower", "tree", "truck", "turbine", "vehicle", "vessel",
        "wind turbine",
    }
)  # fmt: skip
"""Countable nouns checked for number agreement (singular; plurals come from ``inflect``)."""

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip

NUMBERED = frozenset(
    {"band", "level", "zone", "class", "type", "grade", "category", "tier", "step", "channel",
     "number", "no", "turn", "image", "option", "quarter", "phase", "stage", "landsat"}
)  # fmt: skip
"""Words a number may follow as a label ("band 4 pixels"), not as a count."""

UNITS = frozenset(
    {
        "m", "km", "cm", "mm", "ha", "m²", "km²", "kg", "t", "ppm", "db", "k", "°c", "°", "%",
        "px", "pixels", "and", "or", "to", "percent", "per",
    }
)  # fmt: skip
"""Words a ``0`` may stand before (units, ranges)."""

STOP_AFTER_NOUN = frozenset(
    {
        "of", "in", "on", "at", "near", "and", "or", "with", "without", "are", "is", "were",
        "was", "have", "has", "had", "can", "could", "appear", "appears", "visible", "seen",
        "shown", "that", "which", "to", "from", "by", "for", "along", "around", "between",
        "inside", "outside", "remain", "remains", "changed", "stand", "stands",
    }
)  # fmt: skip
"""Words that may follow a counted noun (so it is the head noun, not a modifier)."""

_PLATFORM = re.compile(
    r"(?<![\w-])(?:"
    r"(?i:sentinel)[- ]?[1-6][A-Da-d]?|(?i:landsat)[- ]?\d{1,2}|(?i:worldview)[- ]?\d"
    r"|GeoEye(?:[- ]?\d)?|QuickBird|IKONOS|Pl[ée]iades(?: Neo)?|SPOT[- ]?\d|PlanetScope"
    r"|SkySat|RapidEye|Gaofen[- ]?\d|GF-\d|AVIRIS(?:-NG)?|EnMAP|PRISMA|TerraSAR-X"
    r"|COSMO-SkyMed|RADARSAT(?:-\d)?|ALOS(?:-\d)?|MODIS|NAIP|PNOA|SWISSIMAGE"
    r")(?![\w-])"
)
"""Satellite, sensor and imagery-programme names."""

PLATFORM_TAGS = ("platform", "constellation", "satellite", "mission", "spacecraft")
"""Sample tags whose values name the platform."""

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DATE = re.compile(
    r"\b(?:(?:19|20)\d{2}-[01]\d-[0-3]\d(?:T[\d:.]+Z?)?"
    r"|[0-3]?\d/[01]?\d/(?:19|20)\d{2}"
    rf"|[0-3]?\d(?:st|nd|rd|th)? (?:{_MONTHS})\.? (?:19|20)\d{{2}}"
    rf"|(?:{_MONTHS})\.? [0-3]?\d(?:st|nd|rd|th)?,? (?:19|20)\d{{2}})\b"
)
_MONTH_YEAR = re.compile(rf"\b(?:{_MONTHS}) (?:19|20)\d{{2}}\b")
_EMISSION = re.compile(
    r"(?:\d[\d,.]*\s*)?(?:\bkg\s*/\s*h(?:r|our)?\b|\bkg\s*h(?:-1|⁻¹)|\bkilograms? (?:per|an|a) "
    r"hour\b|\bt\s*/\s*h\b|\btonnes? (?:per|an) hour\b)",
    re.IGNORECASE,
)
_MAGNITUDE = re.compile(
    r"(?<![\w-])M[wL]?\s?[1-9](?:\.\d)?(?![\w-])"
    r"|(?i:\bmagnitude(?: of)?(?: M[wL]?)?\s?[1-9](?:\.\d+)?\b)"
    r"|(?i:\b[1-9]\.\d[- ]magnitude\b)"
)

_DIGIT = re.compile(r"\d")
"""Any digit: every match of :data:`_DATE`, :data:`_MONTH_YEAR` and :data:`_MAGNITUDE` has one."""

_BOX_SPAN = re.compile(r"<box>.*?</box>|\[\[[^\[\]]*\]\]", re.S)
_TAG = re.compile(r"</?(?:ref|p|box)>")
_SENTENCE = re.compile(r"(?<=[.?!])\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_ARTICLE = re.compile(r"(?<![\w'-])(a|an|A|An|AN)\s+([^\s,;:.!?()\[\]]+)")
_NUMBER_NOUN = re.compile(
    r"(?<![\w.,/-])(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"([A-Za-z][A-Za-z-]*)(?:\s+([A-Za-z][A-Za-z-]*))?(?=\s*([A-Za-z]+|[^\sA-Za-z]|$))",
    re.IGNORECASE,
)
_ZERO = re.compile(r"(?<![\w.,/-])0\s+([^\s\d]+)")
_DOUBLED = re.compile(r"\b([A-Za-z]+)\s+\1\b", re.IGNORECASE)
_ALL_TWO = re.compile(r"(?i)\ball (?:two|2)\b")
_ANY_CAPITAL = re.compile(r"\b[Ii]s there any\s+[A-Z]")
_OPENED = re.compile(
    r",\s+((?i:is|are|does|do|can|could|was|were|did|has|have|will|would|should)\s+[a-z])"
)
"""An auxiliary opening the main clause after a comma ("After the event, can any…")."""
_REQUEST = re.compile(r"(?i)(?:can|could|will|would)\s+you\b")
"""A request ("Can you list…"), not a yes/no question."""
_EMBEDDED = re.compile(
    r"(?i)(?:do|does|can|could|would)\s+you\s+(?:\w+\s+){1,2}?"
    r"(?:how|what|which|where|when|who|why)\b"
)
"""An embedded question ("Do you know how many…", "Do you see where…")."""
_DOUBLING_ALLOWED = frozenset({"that", "had", "is"})


_EMISSION_NEEDLES = ("kg", "kilogram", "/", "tonne")
"""Text one of which every :data:`_EMISSION` match holds (lower-cased)."""
_NUMBER_NEEDLES = (*"0123456789", *NUMBER_WORDS)
"""Text one of which every :data:`_NUMBER_NOUN` match holds (lower-cased)."""


def may_match(text: str, needles: tuple[str, ...]) -> bool:
    """Whether a case-insensitive pattern can match a text: it holds one of the pattern's needles.

    A prefilter by substring (C speed) before a slow regex scan, exact for ASCII text; other
    text always goes to the regex (``re`` folds a few non-ASCII letters onto ASCII ones).

    Args:
        text: The text.
        needles: Lower-case strings one of which every match of the pattern contains.

    Returns:
        False only when the pattern cannot match.
    """
    if not text.isascii():
        return True
    low = text.lower()
    return any(needle in low for needle in needles)


_BLANKS = re.compile(r"[ \t]+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)
def _whole_word(value: str) -> re.Pattern[str]:
    """The whole-word pattern of one name, compiled once."""
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")


@lru_cache(maxsize=16384)  # each turn is cleaned by several checks
def clean(text: str) -> str:
    """Return a turn's text without boxes and ``<ref>`` tags (what grammar checks read)."""
    return _BLANKS.sub(" ", _TAG.sub("", _BOX_SPAN.sub(" ", text))).strip()


@lru_cache(maxsize=16384)
def _norm(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def _given(found: str, question: str) -> bool:
    """Whether the question gives what the answer states (compared without spaces, case)."""
    return bool(_norm(found)) and _norm(found) in _norm(question)


def _acquired_months(item: AuditItem) -> frozenset[str]:
    return _months_of(tuple(item.acquired))


@lru_cache(maxsize=4096)  # a sample's pairs share its times
def _months_of(acquired: tuple[str, ...]) -> frozenset[str]:
    months = set()
    for text in acquired:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            continue
        months.add(_norm(when.strftime("%B %Y")))
        months.add(_norm(when.strftime("%b %Y")))
    return frozenset(months)


def _platform_names(item: AuditItem) -> frozenset[str]:
    tags, sensor, names = _LAST_PLATFORMS[0]
    if tags is item.tags and sensor == item.sensor:  # the same sample's tags (never changed)
        return names
    values = tuple(str(item.tags.get(key, "")) for key in PLATFORM_TAGS)
    names = _platforms_of(item.sensor, values)
    _LAST_PLATFORMS[0] = (item.tags, item.sensor, names)  # held: its identity stays its own
    return names


_LAST_PLATFORMS: list[tuple[object, str, frozenset[str]]] = [(None, "", frozenset())]
"""The last tags mapping looked at, its sensor and their platform names (a sample's pairs
share one mapping and come one after another)."""


@lru_cache(maxsize=4096)  # a sample's pairs share its sensor and tags
def _platforms_of(sensor: str, values: tuple[str, ...]) -> frozenset[str]:
    names = {sensor.strip()} if len(sensor.strip()) >= 4 else set()
    for value in values:
        for part in re.split(r"[,;]", value):
            if len(part.strip()) >= 4:
                names.add(part.strip())
    return frozenset(names)


@lru_cache(maxsize=16384)  # answers repeat; a sample's pairs share its months and platforms
def _metadata_claims(
    answer: str, months: frozenset[str], platforms: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    """What an answer states that is metadata unless the question gave it: (what, text).

    Args:
        answer: The answer turn.
        months: The sample's acquisition months (:func:`_months_of`).
        platforms: The sample's platform names (:func:`_platforms_of`).

    Returns:
        ``(date|platform|emission_rate|magnitude, the words stated)``, in check order.
    """
    text = clean(answer)
    claims: list[tuple[str, str]] = []
    digits = _DIGIT.search(text) is not None  # dates and magnitudes need one
    if digits:
        claims += [("date", m.group(0)) for m in _DATE.finditer(text)]
        claims += [
            ("date", m.group(0)) for m in _MONTH_YEAR.finditer(text) if _norm(m.group(0)) in months
        ]
    claims += [("platform", m.group(0)) for m in _PLATFORM.finditer(text)]
    claims += [("platform", p) for p in platforms if p in text and _whole_word(p).search(text)]
    if may_match(text, _EMISSION_NEEDLES):
        claims += [("emission_rate", m.group(0)) for m in _EMISSION.finditer(text)]
    if digits:
        claims += [("magnitude", m.group(0)) for m in _MAGNITUDE.finditer(text)]
    return tuple(claims)


def metadata_problems(item: AuditItem) -> list[str]:
    """Find answers that state metadata the question does not give.

    Args:
        item: The pair.

    Returns:
        ``metadata_answer:<date|platform|emission_rate|magnitude>`` codes, each once.
    """
    found: set[str] = set()
    months = _acquired_months(item)
    platforms = _platform_names(item)
    asked = ""
    for turn_question, answer in zip(item.questions, item.answers, strict=False):
        asked += f" {turn_question}"
        claims = _metadata_claims(answer, months, platforms)
        found.update(what for what, said in claims if not _given(said, asked))
    return [f"metadata_answer:{what}" for what in sorted(found)]


def _split(question: str) -> tuple[str, list[str]]:
    """A question's first sentence ending with ``?`` and the sentences after it."""
    sentences = [s.strip() for s in _SENTENCE.split(clean(question)) if s.strip()]
    for i, sentence in enumerate(sentences):
        if sentence.endswith("?"):
            return sentence, sentences[i + 1 :]
    return "", []


def interrogative(question: str) -> str:
    """Return a question's first sentence that ends with ``?`` (empty if none)."""
    return _split(question)[0]


def asks_for_more(sentence: str) -> bool:
    """Whether a sentence after a question asks for more than how to answer.

    Another question or a request ("Where are they?", "Describe the change.", "Please locate
    them.") asks for more; a format hint ("Answer yes or no.", "Reply with the class only.")
    does not.
    """
    words = _WORD.findall(sentence.lower())
    if words[:1] == ["please"]:
        words = words[1:]
    return sentence.rstrip().endswith("?") or (bool(words) and words[0] in REQUEST_VERBS)


@lru_cache(maxsize=8192)  # template questions repeat
def is_yes_no_question(question: str) -> bool:
    """Say whether a question asks for yes or no.

    Its first interrogative sentence starts with an auxiliary (:data:`AUXILIARIES`), is not
    a request ("Can you list…") and offers no alternatives ("Is this urban or rural?"), and
    nothing but format hints follows it: "Were any destroyed? Where are they?" or "…?
    Describe the change." asks for more than yes or no, and the answer may give it at once.

    Args:
        question: The question (a hint such as "Answer yes or no." may follow it).

    Returns:
        True for a yes/no question.
    """
    sentence, after = _split(question)
    if any(asks_for_more(s) for s in after):
        return False
    words = _WORD.findall(sentence)
    if not words or words[0].lower() in WH_WORDS:
        return False
    if words[0].lower() not in AUXILIARIES:
        # "Among the buildings, is there…": an auxiliary after an opening phrase
        opened = _OPENED.search(sentence)
        if opened is None:
            return False
        sentence = sentence[opened.start(1) :]
    if _REQUEST.match(sentence) or _EMBEDDED.match(sentence):
        return False
    return " or " not in f" {sentence.lower()} "


_STARTS_YES_NO = re.compile(r"\s*(?:yes|no)\b", re.IGNORECASE)


def starts_with_yes_no(answer: str) -> bool:
    """Whether an answer starts with the word Yes or No."""
    return _STARTS_YES_NO.match(clean(answer)) is not None


def yes_no_problems(item: AuditItem) -> list[str]:
    """Find yes/no questions whose answer does not start with Yes or No."""
    for question, answer in zip(item.questions, item.answers, strict=False):
        if is_yes_no_question(question) and not starts_with_yes_no(answer):
            return ["yes_no_unanswered"]
    return []


@lru_cache(maxsize=8192)
def _wants_an(word: str) -> bool | None:
    """Whether a word takes "an" (None: leave it alone — acronyms, numbers, labels)."""
    bare = word.strip("'\"")
    if len(bare) < 2 or not re.fullmatch(r"[A-Za-z][A-Za-z'-]*", bare):
        return None
    letters = bare.replace("-", "").replace("'", "")
    if letters.isupper() or any(c.isupper() for c in letters[1:]):
        return None  # acronyms (SAR, NDVI) and names with inner capitals read either way
    return str(_ENGINE.a(bare)).lower().startswith("an ")


def _article_problem(text: str) -> bool:
    for match in _ARTICLE.finditer(text):
        word = match.group(2)
        if word.lower() in {"or", "and", "to", "b", "c"}:
            continue  # "a or b": a label
        wants = _wants_an(word)
        if wants is not None and wants != (match.group(1).lower() == "an"):
            return True
    return False


@lru_cache(maxsize=8192)
def _noun_number(phrase: str) -> str:
    """``singular``/``plural`` for a countable noun of :data:`COUNTABLE`, else ``""``."""
    low = phrase.lower()
    if low in COUNTABLE:
        return "singular"
    single = _ENGINE.singular_noun(low)
    if single and single in COUNTABLE and single != low:
        return "plural"
    return ""


def _agreement_problem(text: str) -> bool:
    if not may_match(text, _NUMBER_NEEDLES):
        return False
    for match in _NUMBER_NOUN.finditer(text):
        before = re.search(r"([A-Za-z][\w-]*)\s+$", text[: match.start()])
        if before and (before.group(1)[0].isupper() or before.group(1).lower() in NUMBERED):
            continue  # "Landsat 9 image", "band 4 pixels": a name or label, not a count
        number, first, second, after = match.groups()
        n = int(number) if number.isdigit() else NUMBER_WORDS[number.lower()]
        if n == 0:
            continue
        candidates = [(first, second or "")]
        if second:
            candidates.insert(0, (f"{first} {second}", after or ""))
            candidates.append((second, after or ""))  # "2 destroyed building"
        for phrase, following in candidates:
            kind = _noun_number(phrase)
            if not kind:
                continue
            if n == 1 and kind == "plural":
                return True
            head = not following or not following[0].isalpha() or following in STOP_AFTER_NOUN
            if n >= 2 and kind == "singular" and head:
                return True
            break
    return False


def _zero_problem(text: str) -> bool:
    if "0" not in text:  # every match starts with it
        return False
    return any(m.group(1).lower().strip(".,;:") not in UNITS for m in _ZERO.finditer(text))


def _doubled_problem(text: str) -> bool:
    return any(m.group(1).lower() not in _DOUBLING_ALLOWED for m in _DOUBLED.finditer(text))


def _class_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted(
        {re.escape(n[0]) + "(?i:" + re.escape(n[1:]) + ")" for n in names if n[:1].isupper()},
        key=len,
        reverse=True,
    )
    # an item of a ";"-separated option list keeps the class's own spelling
    return re.compile(r"(?<=[A-Za-z] )(?:" + "|".join(alternatives) + r")(?![\w-])(?!\s*;)")


_CLASS_NAME = _class_pattern((*BEN19_NAMES, *CLC43_NAMES))


@lru_cache(maxsize=16384)  # template questions and terse answers repeat
def _turn_grammar(text: str) -> frozenset[str]:
    """The grammar rules one turn breaks (those checked on every turn)."""
    body = clean(text)
    found: set[str] = set()
    if _article_problem(body):
        found.add("article")
    if _agreement_problem(body):
        found.add("number_agreement")
    if _zero_problem(body):
        found.add("zero_count")
    if _doubled_problem(body):
        found.add("doubled_word")
    if may_match(body, ("all",)) and _ALL_TWO.search(body):
        found.add("all_two")
    if _CLASS_NAME.search(body):
        found.add("capitalised_class")
    return frozenset(found)


@lru_cache(maxsize=16384)  # template questions repeat
def _question_checks(question: str) -> tuple[bool, frozenset[str]]:
    """Whether a question asks for yes or no, and the grammar rules it breaks."""
    rules = _turn_grammar(question)
    if _ANY_CAPITAL.search(clean(question)):
        rules = rules | {"any_capitalised"}
    return is_yes_no_question(question), rules


@lru_cache(maxsize=16384)  # terse answers repeat
def _answer_checks(answer: str, sentence: bool) -> tuple[bool, frozenset[str]]:
    """Whether an answer starts with Yes or No, and the grammar rules it breaks.

    Args:
        answer: The answer turn.
        sentence: Its style writes full sentences (:data:`SENTENCE_STYLES`).
    """
    rules = _turn_grammar(answer)
    if sentence:
        body = clean(answer)
        if body[:1].islower():
            rules = rules | {"sentence_start"}
        if body and body.rstrip("\"')")[-1:] not in {".", "!", "?"}:
            rules = rules | {"sentence_end"}
    return starts_with_yes_no(answer), rules


def grammar_problems(item: AuditItem) -> list[str]:
    """Find grammar slips in a pair's questions and answers.

    Args:
        item: The pair.

    Returns:
        ``grammar:<rule>`` codes, each once (rules in the module docstring).
    """
    sentence = item.answer_style in SENTENCE_STYLES
    found: set[str] = set()
    for question in item.questions:
        found |= _question_checks(question)[1]
    for answer in item.answers:
        found |= _answer_checks(answer, sentence)[1]
    return [f"grammar:{rule}" for rule in sorted(found)]


def generic_problems(item: AuditItem) -> list[str]:
    """Run every generic check on a pair.

    Args:
        item: The pair.

    Returns:
        Problem codes (empty: none found): metadata answers, an unanswered yes/no question,
        grammar slips (as :func:`metadata_problems`, :func:`yes_no_problems` and
        :func:`grammar_problems` give them, each turn's checks looked up once).
    """
    found = metadata_problems(item)
    sentence = item.answer_style in SENTENCE_STYLES
    asks = [_question_checks(question) for question in item.questions]
    says = [_answer_checks(answer, sentence) for answer in item.answers]
    if any(yes_no and not starts for (yes_no, _), (starts, _) in zip(asks, says, strict=False)):
        found.append("yes_no_unanswered")
    rules: set[str] = set()
    for _, broken in (*asks, *says):
        rules |= broken
    return found + [f"grammar:{rule}" for rule in sorted(rules)]
