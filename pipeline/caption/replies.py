"""Replies of the captioner: parsed, checked against the sample's tags, made into a pair.

**Replies** (:func:`parse_reply`, :func:`contradictions`) are dropped with a reason, never
written, when they are

- ``empty_reply``: no text;
- ``refusal``: the text (or an answer in it) matches :data:`REFUSAL_RE` ("I cannot…",
  "I'm sorry…", "as an AI…");
- ``garbled_reply``: not JSON of the template's shape (``{"pairs": [{"question", "answer"}]}``
  or ``{"caption"}``), also when cut off by ``max_tokens``. Valid JSON is read leniently
  (``strict=False``: raw control characters inside strings, which some grammar backends let
  through, are accepted);
- ``contradicts_tags``: the checks of :func:`~eoinstruct.pipeline.caption.checks.contradictions`
  fail (a denial of a focus tag, class or object category; a stated total of a labelled
  object category that differs from the labels; a closed-set class the sample lacks);
- ``invalid_pair``: the pair fails :func:`eoinstruct.pipeline.instructions.validate.validate_pair`
(e.g. the model
  wrote an ``<image>`` token or a box).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.caption.cache import Reply
from eoinstruct.pipeline.caption.checks import contradictions
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import CaptionRequest, PromptTemplate
from eoinstruct.pipeline.records import InstructionPair, Sample, Turn, to_json

if TYPE_CHECKING:  # the instruction builders are imported by make_pair, on first use
    from eoinstruct.pipeline.instructions.builders import TaskValues

GENERATOR_VERSION = "2"
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

_MAX_TURN_CHARS = 6000


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
        return json.loads(body, strict=False)
    except ValueError:
        pass
    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("no JSON object in the reply")
    value, _ = json.JSONDecoder(strict=False).raw_decode(body[start:])
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
        What was asked: engine, model (as configured), revision, prompt template (and region),
        sampling parameters, extra request fields, structured output, ``chars_per_token``;
        what answered, from the response: the served model, ``system_fingerprint``, token
        usage (JSON ``{"prompt_tokens", "completion_tokens"}``, -1 where the server sent
        none), the engine version (``/version``), the server (index into ``base_urls``) and
        the finish reason; and the image hash, the cache key and the generator version.
    """
    params = {
        "engine": config.engine,
        "model": config.model,
        "revision": config.revision,
        "prompt_template": template.id,
        "sampling": to_json(config.sampling()),
        "chars_per_token": f"{config.chars_per_token:g}",
        "structured_output": str(config.structured_output).lower(),
        "served_model": reply.served_model,
        "system_fingerprint": reply.system_fingerprint,
        "usage": to_json(
            {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
        ),
        "engine_version": reply.engine_version,
        "base_url_index": str(reply.base_url_index),
        "finish_reason": reply.finish_reason,
        "image_sha256": request.image_sha256,
        "cache_key": request.key,
        "version": GENERATOR_VERSION,
    }
    if config.extra_body:
        params["extra_body"] = to_json(dict(config.extra_body))
    if request.region:
        params["region"] = request.region
    return params


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
    from eoinstruct.pipeline.instructions.builders import TaskValues, draw
    from eoinstruct.pipeline.instructions.pairs import sensor_tag

    pairs = parse_reply(reply, template)
    problems = contradictions(pairs, sample, request.image_role)
    if problems:
        raise ReplyRejected("contradicts_tags", ";".join(problems))
    paraphrase = 0
    if template.reply == "caption":
        paraphrase = draw(config.seed, sample.sample_id, template.id, n=len(template.questions))
        question = template.questions[paraphrase].format(region=request.region, facts="")
        pairs = [(question, pairs[0][1])]
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
