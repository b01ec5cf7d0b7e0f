"""Replies of the captioner: parsed, checked against the sample's tags, made into a pair.

**Replies** (:func:`parse_reply`, :func:`contradictions`) are dropped with a reason, never
written, when they are

- ``empty_reply``: no text;
- ``refusal``: the text (or an answer in it) matches :data:`REFUSAL_RE` ("I cannot…",
  "I'm sorry…", "as an AI…");
- ``garbled_reply``: not JSON of the template's shape (``{"pairs": [{"question", "answer"}]}``
  or ``{"caption"}``), also when cut off by ``max_tokens``;
- ``contradicts_tags``: the cheap consistency checks of :func:`contradictions` fail: (1) the
  reply denies something the tags assert ("no farmland" when ``center:landuse=farmland``, or a
  scene class / annotated object category); (2) it states a count of an annotated object
  category that differs from the number of labelled objects ("3 buildings" against 5 labels);
  (3) for a closed class set (scheme ``clc43``/``ben19``) it names a class of the scheme that
  the sample does not have, without negating it;
- ``invalid_pair``: the pair fails :func:`eoinstruct.pipeline.instructions.validate.validate_pair`
(e.g. the model
  wrote an ``<image>`` token or a box).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from eoinstruct.pipeline.caption.cache import Reply
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import CaptionRequest, PromptTemplate
from eoinstruct.pipeline.instructions.builders import TaskValues, draw
from eoinstruct.pipeline.instructions.pairs import sensor_tag
from eoinstruct.pipeline.records import InstructionPair, Sample, Turn, to_json

GENERATOR_VERSION = "1"
"""Version of the captioner's pair building; part of the pair id and the stage fingerprint."""

DROP_REASONS: tuple[str, ...] = (
    "empty_reply",
    "refusal",
    "garbled_reply",
    "contradicts_tags",
    "invalid_pair",
)
"""Reasons a reply is dropped (see the module docstring)."""

REFUSAL_RE = re.compile(
    r"\b(?:I\s*(?:cannot|can\s*not|can't|can’t|am\s+unable|'m\s+unable|am\s+not\s+able|"
    r"'m\s+not\s+able|won't|will\s+not)\b|I'm\s+sorry|I\s+am\s+sorry|as\s+an\s+AI\b|"
    r"unable\s+to\s+(?:assist|help|determine|view|see|analy[sz]e)\b)",
    re.IGNORECASE,
)
"""Phrases that mark a refusal."""

_NUMBER_WORDS = {
    "no": 0,
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
_UNINFORMATIVE_VALUES = {"yes", "no", "true", "false", "unknown", "none", "other"}
_MAX_TURN_CHARS = 6000


def _scheme_vocabulary(scheme: str) -> tuple[str, ...]:
    """Return the class names of a closed class set, or ``()`` for an unknown scheme."""
    if scheme in ("clc43", "ben19"):
        from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43_NAMES

        return CLC43_NAMES if scheme == "clc43" else BEN19_NAMES
    return ()


class ReplyRejected(Exception):
    """A reply that must not become a pair.

    Args:
        reason: One of :data:`DROP_REASONS`.
        detail: What was wrong.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _strip_fences(text: str) -> str:
    match = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    return match.group(1) if match else text


def _load_json(text: str) -> Any:
    body = _strip_fences(text).strip()
    try:
        return json.loads(body)
    except ValueError:
        pass
    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("no JSON object in the reply")
    value, _ = json.JSONDecoder().raw_decode(body[start:])
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("empty or non-string field")
    if len(value) > _MAX_TURN_CHARS:
        raise ValueError("field too long")
    return " ".join(value.split())


def parse_reply(reply: Reply, template: PromptTemplate) -> list[tuple[str, str]]:
    """Turn a reply into question/answer pairs, or reject it.

    A caption reply gives one pair whose question is filled in later (drawn from the
    template's ``questions``); its first element is then empty.

    Args:
        reply: The reply.
        template: The prompt template the request used.

    Returns:
        ``(question, answer)`` tuples, at most ``template.max_pairs`` for a QA template.

    Raises:
        ReplyRejected: With reason ``empty_reply``, ``refusal`` or ``garbled_reply``.
    """
    content = reply.content.strip()
    if not content:
        raise ReplyRejected("empty_reply", f"finish_reason={reply.finish_reason or 'none'}")
    try:
        data = _load_json(content)
    except ValueError as exc:
        if REFUSAL_RE.search(content):
            raise ReplyRejected("refusal", content[:200]) from exc
        cut = " (cut off: finish_reason=length)" if reply.finish_reason == "length" else ""
        raise ReplyRejected("garbled_reply", f"not JSON{cut}: {content[:200]!r}") from exc
    try:
        if template.reply == "caption":
            value = data.get("caption") if isinstance(data, Mapping) else data
            pairs = [("", _text(value))]
        else:
            items = data.get("pairs") if isinstance(data, Mapping) else data
            if not isinstance(items, list) or not items:
                raise ValueError("no 'pairs' list")
            pairs = []
            for item in items[: template.max_pairs]:
                if not isinstance(item, Mapping):
                    raise ValueError("a pair is not an object")
                pairs.append((_text(item.get("question")), _text(item.get("answer"))))
    except ValueError as exc:
        raise ReplyRejected("garbled_reply", f"{exc}: {content[:200]!r}") from exc
    for _, answer in pairs:
        if REFUSAL_RE.search(answer):
            raise ReplyRejected("refusal", answer[:200])
    return pairs


def _term_pattern(term: str) -> str:
    words = [re.escape(w) for w in term.replace("_", " ").split()]
    return r"\s+".join(words) + r"(?:s|es)?"


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


_NEGATION = r"\b(?:no|without|not\s+any|lacks?|absence\s+of|free\s+of)\s+(?:[a-z-]+\s+){0,2}"
_COUNT = (
    r"\b(\d+|"
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")\s+(?:[a-z-]+\s+){0,2}?"
)


def contradictions(pairs: Sequence[tuple[str, str]], sample: Sample, image_role: str) -> list[str]:
    """Return the ways a reply contradicts the sample's tags (empty: consistent).

    Only the answers are checked (questions may ask about anything). The checks are cheap
    text rules, not understanding: see the module docstring.

    Args:
        pairs: ``(question, answer)`` tuples.
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
    counts: dict[str, int] = {}
    for ob in sample.labels.objects:
        if ob.image_role == image_role:
            counts[ob.category] = counts.get(ob.category, 0) + 1
    for category, n in sorted(counts.items()):
        pattern = _COUNT + _term_pattern(category.lower()) + r"\b"
        for match in re.finditer(pattern, lower):
            word = match.group(1)
            stated = int(word) if word.isdigit() else _NUMBER_WORDS[word]
            if stated != n:
                problems.append(f"count:{category}:{stated}!={n}")
    vocabulary = _scheme_vocabulary(sample.labels.scheme)
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


def caption_pair_id(engine: str, sample_id: str, template_id: str, key: str) -> str:
    """Return the stable id of a captioner pair (80 bits of SHA-256, hex)."""
    text = f"captioner/{engine}/{GENERATOR_VERSION}|{sample_id}|{template_id}|{key}".encode()
    return hashlib.sha256(text).hexdigest()[:20]


def generator_params(
    config: CaptionConfig, template: PromptTemplate, reply: Reply, request: CaptionRequest
) -> dict[str, str]:
    """Return the provenance recorded in every captioner pair.

    Args:
        config: Captioner settings.
        template: The prompt template.
        reply: The reply the pair was made from.
        request: The request.

    Returns:
        Engine, model, revision, prompt template, sampling parameters, structured output,
        the server that answered (index into ``base_urls``), the finish reason, the image
        hash and the cache key.
    """
    return {
        "engine": config.engine,
        "model": config.model,
        "revision": config.revision,
        "prompt_template": template.id,
        "sampling": to_json(config.sampling()),
        "structured_output": str(config.structured_output).lower(),
        "base_url_index": str(reply.base_url_index),
        "finish_reason": reply.finish_reason,
        "image_sha256": request.image_sha256,
        "cache_key": request.key,
        "version": GENERATOR_VERSION,
    }


def make_pair(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    request: CaptionRequest,
    reply: Reply,
) -> tuple[InstructionPair, TaskValues]:
    """Build the pair of one reply, or reject the reply.

    Args:
        sample: The sample.
        template: The prompt template.
        config: Captioner settings.
        request: The request the reply answers.
        reply: The reply.

    Returns:
        The pair (one multi-turn conversation) and the values :func:`validate_pair` checks it
        against (no boxes, no closed-set options).

    Raises:
        ReplyRejected: If the reply is empty, a refusal, garbled or contradicts the tags.
    """
    pairs = parse_reply(reply, template)
    problems = contradictions(pairs, sample, request.image_role)
    if problems:
        raise ReplyRejected("contradicts_tags", ";".join(problems))
    paraphrase = 0
    if template.reply == "caption":
        paraphrase = draw(config.seed, sample.sample_id, template.id, n=len(template.questions))
        pairs = [(template.questions[paraphrase], pairs[0][1])]
    prefix = " ".join(p for p in (template.task_tag, sensor_tag(sample, 1), "<image>") if p)
    turns: list[Turn] = []
    for i, (question, answer) in enumerate(pairs):
        turns.append(Turn("human", f"{prefix}\n{question}" if i == 0 else question))
        turns.append(Turn("gpt", answer))
    pair = InstructionPair(
        pair_id=caption_pair_id(config.engine, sample.sample_id, template.id, request.key),
        sample_id=sample.sample_id,
        source=sample.source,
        task=template.task,
        template_id=template.id,
        paraphrase_id=paraphrase,
        generator=f"captioner/{config.engine}",
        generator_params=generator_params(config, template, reply, request),
        image_roles=(request.image_role,),
        turns=tuple(turns),
        split=sample.split or "train",
    )
    return pair, TaskValues(values={})
