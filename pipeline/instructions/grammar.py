"""English grammar for answers and questions: articles, plurals, number words, casing, lists.

Templates never hand-write "a"/"an", plural endings or number words: builders pass names
through these helpers (backed by the ``inflect`` library), so "an earthquake", "1 building",
"3 buildings", "no damaged buildings" and "coastal wetlands" come out right for every value.
Class names keep their meaning but are written in natural case mid-sentence (``Coastal
wetlands`` → ``coastal wetlands``); acronyms stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

from eoinstruct.pipeline.inflection import engine as inflect_engine

_ACRONYM = re.compile(r"^[A-Z0-9]{2,}$")


def natural_case(name: str) -> str:
    """Write a class or object name as it reads mid-sentence.

    Underscores between words become spaces (hyphens stay: ``broad-leaved``); words are
    lower-cased unless they are acronyms (``NDVI``) or proper names marked by internal capitals.

    Args:
        name: A class name (``Coastal wetlands``, ``wind_turbine``, ``Broad-leaved forest``).

    Returns:
        The name in natural case (``coastal wetlands``, ``wind turbine``, ``broad-leaved forest``).
    """
    words = re.sub(r"_+", " ", name.strip()).split()
    out = [w if _ACRONYM.match(w) or any(c.isupper() for c in w[1:]) else w.lower() for w in words]
    return " ".join(out)


def sentence_case(text: str) -> str:
    """Capitalise the first letter of a sentence, leaving the rest as it is."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


@lru_cache(maxsize=4096)
def plural(noun: str) -> str:
    """Return the plural of a noun phrase (``wind turbine`` → ``wind turbines``).

    ``class`` gives ``classes``; a phrase that is already plural (``coastal wetlands``,
    ``pastures``) is returned as it is.
    Use it for countable nouns only: mass nouns (``water``, ``arable land``) have no plural here.
    """
    noun = noun.strip()
    if not noun:
        return noun
    single = inflect_engine().singular_noun(noun)
    already = (
        bool(single)
        and not noun.endswith(("ss", "us"))
        and inflect_engine().plural_noun(str(single)) == noun
    )
    return noun if already else str(inflect_engine().plural_noun(noun))


@lru_cache(maxsize=4096)
def singular(noun: str) -> str:
    """Return the singular of a plural noun phrase (``buildings`` → ``building``)."""
    result = inflect_engine().singular_noun(noun.strip())
    return str(result) if result else noun.strip()


@lru_cache(maxsize=4096)  # a few phrases per task family, asked for by every sample
def article(phrase: str) -> str:
    """Prefix a noun phrase with ``a`` or ``an`` (``an earthquake``, ``a wind turbine``)."""
    return str(inflect_engine().a(phrase.strip()))


@lru_cache(maxsize=256)  # a few small counts, asked for by every sample
def number_word(n: int, limit: int = 10) -> str:
    """Write a count in words up to ``limit`` (``three``), as digits above (``42``)."""
    if 0 <= n <= limit:
        return str(inflect_engine().number_to_words(str(n)))
    return str(n)


def count_phrase(n: int, noun: str, words: bool = False, zero: str = "no") -> str:
    """Return a count with its noun agreeing: ``1 building``, ``3 buildings``, ``no buildings``.

    Args:
        n: The count.
        noun: The noun phrase in the singular.
        words: Write small numbers as words (``three buildings``).
        zero: What a zero count reads as (``no``, or ``0``).

    Returns:
        The phrase.
    """
    if n == 0:
        return f"{zero} {plural(noun)}"
    number = number_word(n) if words else str(n)
    return f"{number} {noun if n == 1 else plural(noun)}"


def join_list(items: list[str] | tuple[str, ...], conj: str = "and") -> str:
    """Join phrases as English prose: ``a``, ``a and b``, ``a, b and c``."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def is_are(n: int) -> str:
    """Return ``is`` for one thing and ``are`` for several (or none)."""
    return "is" if n == 1 else "are"
