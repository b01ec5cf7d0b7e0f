"""RSVQA question-answer pairs, carried as the dataset gives them (one question type a template).

The pairs are the dataset's own: its authors generated them from OpenStreetMap (Lobry et al.
2020, section II-A), not annotators; the family is named for that (the source's VQA).

The RSVQA adapter stores each image's pairs in ``labels.properties["rsvqa_<type>"]`` (a JSON
list of ``[question id, question, answer]``), types ``presence``, ``comp``, ``count``,
``area`` (HR) and ``rural_urban`` (LR). A template per type asks one of them: the question
text verbatim (a template phrasing only frames it, "Look at the image. <question>"), the
answer verbatim (a sentence style only frames it, "The answer is 12."). Which pair is asked is
a seeded draw per sample and template; for the closed types (yes/no, rural/urban) the answer
value is drawn first, then a question with that answer, so that the answers stay balanced
where an image has both. The question id and type are in the values (``question_id``,
``question_type``); the type is also the template id.

A pair whose answer is malformed for its type (the adapter drops those at ingest; this is
the guard for labels written elsewhere) is never asked: when none is left the template does
not apply (``malformed_answer:<type>``).
"""

from __future__ import annotations

import json
import re

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
)
from eoinstruct.pipeline.instructions.grammar import article
from eoinstruct.pipeline.records import Sample

CLOSED: dict[str, tuple[str, ...]] = {
    "presence": ("yes", "no"),
    "comp": ("yes", "no"),
    "rural_urban": ("rural", "urban"),
}
"""The answers of the closed question types."""

_WHOLE = r"(?:0|[1-9]\d*)"
_OPEN: dict[str, re.Pattern[str]] = {
    "count": re.compile(rf"{_WHOLE}|between {_WHOLE} and {_WHOLE}|more than {_WHOLE}"),
    "area": re.compile(rf"{_WHOLE}m2|between {_WHOLE}m2 and {_WHOLE}m2|more than {_WHOLE}m2"),
}


def _well_formed(qtype: str, answer: str) -> bool:
    if qtype in CLOSED:
        return answer in CLOSED[qtype]
    return bool(_OPEN[qtype].fullmatch(answer))


def _pairs(sample: Sample, qtype: str) -> list[tuple[int, str, str]]:
    raw = sample.labels.properties.get(f"rsvqa_{qtype}")
    if not raw:
        raise NotApplicable(f"no_{qtype}_question")
    try:
        rows = json.loads(raw)
        pairs = [(int(q), str(text), str(answer)) for q, text, answer in rows]
    except (ValueError, TypeError) as exc:
        raise NotApplicable("malformed_rsvqa_labels") from exc
    kept = [p for p in pairs if p[1].strip() and _well_formed(qtype, p[2])]
    if not kept:
        raise NotApplicable(f"malformed_answer:{qtype}")
    return kept


def _builder(qtype: str) -> Builder:
    def build(sample: Sample, config: GenerationConfig) -> TaskValues:
        pairs = _pairs(sample, qtype)
        options = CLOSED.get(qtype, ())
        if options:
            target = options[draw(config.seed, sample.sample_id, qtype, "answer", n=len(options))]
            pairs = [p for p in pairs if p[2] == target] or pairs
        qid, question, answer = pairs[draw(config.seed, sample.sample_id, qtype, n=len(pairs))]
        values = {
            "question": question,
            "answer": answer,
            "Answer": answer[:1].upper() + answer[1:],
            "answer_a": article(answer) if qtype == "rural_urban" else answer,
            "question_id": str(qid),
            "question_type": qtype,
        }
        return TaskValues(values=values, options=options, answers=(answer,) if options else ())

    build.__name__ = f"rsvqa_{qtype}"
    build.__doc__ = f"Ask one of the sample's RSVQA ``{qtype}`` questions, with its answer."
    return build


BUILDERS: dict[str, Builder] = {
    f"rsvqa_{qtype}": _builder(qtype)
    for qtype in ("presence", "comp", "count", "area", "rural_urban")
}
"""Builder name → function."""
