"""Audit rules for RSVQA's own question-answer pairs: consistency with the sample's labels.

RSVQA's answers were generated from OpenStreetMap by the dataset's authors; nothing here can
re-derive them from the pixels. What the rules check, with code of their own (no builder, no
adapter import), against ``labels.properties["rsvqa_<type>"]`` (JSON ``[id, question,
answer]`` lists, one per question type):

- the pair asks one of the sample's questions of the template's type, verbatim
  (``question_not_in_labels``), and answers with that question's answer, verbatim
  (``answer_differs_from_labels``): the terse answer is it, a sentence contains it;
- the answer is well formed for its type (``malformed_answer``): ``yes``/``no`` for presence
  and comparison, ``rural``/``urban``, a whole number for counts, ``<n>m2`` for areas (or the
  loaders' bucket forms "between 10 and 100", "more than 1000m2"); a presence or comparison
  answer starts with yes or no (``no_yes_no``);
- the question reads as its type (``question_not_of_type``): presence and comparison
  questions are yes/no questions, count questions ask "how many" or for a number or amount,
  area questions for an area, rural/urban questions name both;
- the labels do not contradict themselves where they can be compared (``conflicting_labels``):
  the same question with two answers, or a presence answer that disagrees with the count or
  area of the same object ("Is there a road?" no, "How many roads are there?" 3).

What they cannot check: that an answer is true of the pixels (the OSM data behind it may be
out of date or misregistered), comparisons between two objects (the counts of both are
rarely asked), and objects named in words the question patterns do not parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.inflection import engine as inflect_engine

_ENGINE = inflect_engine()
_WHOLE = r"(?:0|[1-9]\d*)"
_FORMS: dict[str, re.Pattern[str]] = {
    "presence": re.compile(r"yes|no"),
    "comp": re.compile(r"yes|no"),
    "rural_urban": re.compile(r"rural|urban"),
    "count": re.compile(rf"{_WHOLE}|between {_WHOLE} and {_WHOLE}|more than {_WHOLE}"),
    "area": re.compile(rf"{_WHOLE}m2|between {_WHOLE}m2 and {_WHOLE}m2|more than {_WHOLE}m2"),
}
_AUX = ("is ", "are ", "does ", "do ", "can ")
_READS_AS: dict[str, Callable[[str], bool]] = {
    "presence": lambda q: q.startswith(_AUX),
    "comp": lambda q: q.startswith(_AUX),
    "count": lambda q: "how many" in q or "number of" in q or "amount of" in q,
    "area": lambda q: "area" in q,
    "rural_urban": lambda q: "rural" in q and "urban" in q,
}
_IN_IMAGE = r"(?: (?:in|on) the (?:image|picture|scene))?"
_OBJECT: dict[str, tuple[re.Pattern[str], ...]] = {
    "presence": (
        re.compile(rf"is there (?:an? )?(.+?){_IN_IMAGE}\?"),
        re.compile(rf"are there (?:any )?(.+?){_IN_IMAGE}\?"),
        re.compile(rf"(?:is|are) (?:an? |any )?(.+?) present{_IN_IMAGE}\?"),
    ),
    "count": (
        re.compile(rf"how many (.+?) are (?:there|present){_IN_IMAGE}\?"),
        re.compile(rf"what is the (?:number|amount) of (.+?){_IN_IMAGE}\?"),
    ),
    "area": (re.compile(rf"what is the area covered by (.+?){_IN_IMAGE}\?"),),
}


def _labels(item: AuditItem, qtype: str) -> list[tuple[str, str]] | None:
    """The sample's (question, answer) pairs of one type, or None when unreadable."""
    raw = item.labels.properties.get(f"rsvqa_{qtype}", "")
    try:
        return [(str(row[1]), str(row[2])) for row in json.loads(raw)] if raw else []
    except (ValueError, TypeError, IndexError):
        return None


def _object(qtype: str, question: str) -> str:
    """The object a presence, count or area question is about, singular ("" if unparsed)."""
    for pattern in _OBJECT.get(qtype, ()):
        found = pattern.fullmatch(question.casefold().strip())
        if found:
            phrase = found.group(1).strip()
            return str(_ENGINE.singular_noun(phrase) or phrase)
    return ""


def _amounts(item: AuditItem) -> dict[str, set[bool]]:
    """Object → whether the labels say it is there (presence answers, counts, areas)."""
    said: dict[str, set[bool]] = {}
    for qtype in ("presence", "count", "area"):
        for question, answer in _labels(item, qtype) or []:
            thing = _object(qtype, question)
            if not thing or not _FORMS[qtype].fullmatch(answer):
                continue
            there = answer == "yes" if qtype == "presence" else answer not in ("0", "0m2")
            said.setdefault(thing, set()).add(there)
    return said


def _contains(answer: str, value: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(value)}(?![\w])", answer, re.IGNORECASE) is not None


def _rule(qtype: str) -> Rule:
    def rule(item: AuditItem) -> list[str]:
        labels = _labels(item, qtype)
        if labels is None:
            return ["unreadable_labels"]
        if not item.questions or not item.answers:
            return ["no_exchange"]
        asked = [(q, a) for q, a in labels if q in item.questions[0]]
        if not asked:
            return ["question_not_in_labels"]
        question, truth = max(asked, key=lambda qa: len(qa[0]))
        problems: list[str] = []
        if len({a for q, a in labels if q.casefold() == question.casefold()}) > 1:
            problems.append("conflicting_labels:same_question")
        if not _FORMS[qtype].fullmatch(truth):
            problems.append(f"malformed_answer:{qtype}:{truth}")
        if not _READS_AS[qtype](question.casefold()):
            problems.append(f"question_not_of_type:{qtype}")
        answer = item.answers[0]
        terse = answer.strip().rstrip(".").strip()
        if terse.casefold() != truth.casefold() and not _contains(answer, truth):
            problems.append(f"answer_differs_from_labels:{terse}!={truth}")
        if qtype in ("presence", "comp"):
            said = re.match(r"\W*(yes|no)\b", answer, re.IGNORECASE)
            if not said:
                problems.append("no_yes_no")
            elif said.group(1).lower() != truth:
                problems.append(f"wrong_yes_no:{said.group(1).lower()}!={truth}")
        thing = _object(qtype, question)
        if thing and len(_amounts(item).get(thing, set())) > 1:
            problems.append(f"conflicting_labels:presence_vs_amount:{thing}")
        return problems

    rule.__name__ = f"rsvqa_{qtype}"
    rule.__doc__ = f"``rsvqa_{qtype}``: the pair is one of the sample's {qtype} pairs, verbatim."
    return rule


RULES: dict[str, Rule] = {
    f"rsvqa_{qtype}": _rule(qtype) for qtype in ("presence", "comp", "count", "area", "rural_urban")
}
"""Template id → rule."""
