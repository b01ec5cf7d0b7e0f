"""Checks every instruction pair before it is written.

:func:`validate_pair` returns the list of problems (empty when the pair is good): empty or
badly ordered turns, a wrong number of ``<image>`` tokens, image roles the sample lacks,
boxes out of range or not equal to the boxes computed from the source annotation, closed-set
answers outside the listed options, and over-long turns.
"""

from __future__ import annotations

import re

from eoinstruct.pipeline.instructions.pairs import Candidate
from eoinstruct.pipeline.records import Sample

MAX_TURN_CHARS = 6000
IMAGE_TOKEN = "<image>"
_BOX_RE = re.compile(r"\[\[\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+)\s*\]\]")


def parse_boxes(text: str) -> list[tuple[int, int, int, int, int]]:
    """Return every ``[[x1, y1, x2, y2, angle]]`` box written in a text, in order."""
    return [tuple(int(v) for v in m.groups()) for m in _BOX_RE.finditer(text)]  # type: ignore[misc]


def validate_pair(candidate: Candidate, sample: Sample, box_scale: int) -> list[str]:
    """Check one pair against its sample and the values it was built from.

    Args:
        candidate: The pair and its expected values.
        sample: The sample the pair is about.
        box_scale: Upper bound of box coordinates.

    Returns:
        Problems found, as short codes with details (empty list: the pair is valid).
    """
    pair, expected = candidate.pair, candidate.expected
    problems: list[str] = []
    if not pair.turns or len(pair.turns) % 2:
        problems.append(f"turn_count:{len(pair.turns)}")
    for i, turn in enumerate(pair.turns):
        want = "human" if i % 2 == 0 else "gpt"
        if turn.speaker != want:
            problems.append(f"turn_order:{i}")
        if not turn.value.strip():
            problems.append(f"empty_turn:{i}")
        if len(turn.value) > MAX_TURN_CHARS:
            problems.append(f"turn_too_long:{i}")
    if pair.turns:
        tokens = [t.value.count(IMAGE_TOKEN) for t in pair.turns]
        if tokens[0] != len(pair.image_roles) or any(tokens[1:]):
            problems.append(f"image_tokens:{tokens}!={len(pair.image_roles)}")
    have = {im.role for im in sample.images}
    if not pair.image_roles or not set(pair.image_roles) <= have:
        problems.append("unknown_image_role")
    answers = " ".join(t.value for t in pair.turns[1::2])
    text = " ".join(t.value for t in pair.turns)  # questions may hold boxes too
    boxes = parse_boxes(text) if "[[" in text else []  # every box starts with it
    for box in boxes:
        x1, y1, x2, y2, _ = box
        if not (0 <= x1 < x2 <= box_scale and 0 <= y1 < y2 <= box_scale):
            problems.append(f"box_out_of_range:{list(box)}")
    if tuple(boxes) != tuple(expected.boxes):
        problems.append("boxes_differ_from_annotation")
    if expected.options:
        outside = [a for a in expected.answers if a not in expected.options]
        if outside or not expected.answers:
            problems.append(f"answer_not_in_options:{outside}")
        folded = answers.casefold()
        missing = [a for a in expected.answers if a.casefold() not in folded]
        if missing:
            problems.append(f"answer_missing:{missing}")
    if pair.sample_id != sample.sample_id:
        problems.append("sample_mismatch")
    return problems
