"""What the audit sees of one pair: its text and its sample's labels, nothing the generator made.

An :class:`AuditItem` is built from a pair and its sample (in the ``validate`` stage) or from a
row of a published corpus (``eoinstruct audit``), whose ``metadata`` carries the labels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from eoinstruct.pipeline.records import InstructionPair, Labels, ObjectLabel, Sample

TASK_PREFIX_END = "\n"
"""The first human turn is ``<task tag> <sensor tag> <image>…``, a newline, then the question."""


@lru_cache(maxsize=16384)  # a template's phrasings repeat with the same tags
def strip_prefix(question: str) -> str:
    """Return a first-turn question without its tags and ``<image>`` tokens."""
    head, sep, rest = question.partition(TASK_PREFIX_END)
    if sep and ("<image>" in head or head.startswith("[")):
        return rest.strip()
    if question.startswith("[") and "] " in question:  # later turns may start with a task tag
        return question.split("] ", 1)[1].strip()
    return question.strip()


@dataclass(frozen=True)
class AuditItem:
    """One pair as the audit sees it.

    Attributes:
        pair_id: The pair's id.
        sample_id: Its sample's id.
        source: The source adapter.
        task: Task family.
        template_id: Template (or captioner template) that wrote it.
        paraphrase_id: The question phrasing drawn within the template (-1: unknown).
        generator: ``template/…`` or ``captioner/…``.
        answer_style: The answer style drawn (may be empty).
        image_roles: Images shown, in ``<image>`` order.
        questions: The human turns, without tags and ``<image>`` tokens.
        answers: The gpt turns.
        labels: The sample's labels (classes, objects, properties).
        tags: The sample's tags (source tags, ``osm:*`` enrichment, metadata).
        image_sizes: Image role → (width, height) in pixels.
        acquired: Acquisition times (ISO 8601), one per image of the sample.
        sensor: Sensor or platform name.
        modality: The sample's modality.
    """

    pair_id: str
    sample_id: str
    source: str
    task: str
    template_id: str
    generator: str
    answer_style: str
    image_roles: tuple[str, ...]
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    labels: Labels
    tags: Mapping[str, str] = field(default_factory=dict)
    image_sizes: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    acquired: tuple[str, ...] = ()
    sensor: str = ""
    modality: str = ""
    paraphrase_id: int = -1

    @property
    def is_template(self) -> bool:
        """Whether a template (not the captioner) wrote the pair."""
        return self.generator.startswith("template/")


SampleView = tuple[dict[str, str], dict[str, tuple[int, int]], tuple[str, ...]]
"""What every pair of a sample shares in the audit's view: tags, image sizes, acquisitions."""


def sample_view(sample: Sample) -> SampleView:
    """Return the parts of a sample's audit view that all its pairs share (build it once).

    Args:
        sample: The sample.

    Returns:
        Its tags, image sizes by role and acquisition times.
    """
    return (
        dict(sample.tags),
        {im.role: (im.width, im.height) for im in sample.images},
        tuple(sample.acquired),
    )


def from_pair(pair: InstructionPair, sample: Sample, view: SampleView | None = None) -> AuditItem:
    """Build the audit's view of a pair and its sample.

    Args:
        pair: The pair.
        sample: Its sample.
        view: :func:`sample_view` of the sample, when the caller keeps it for its pairs
            (the item then shares its tags and sizes; nothing in the audit changes them).

    Returns:
        The item.
    """
    tags, sizes, acquired = sample_view(sample) if view is None else view
    return AuditItem(
        pair_id=pair.pair_id,
        sample_id=pair.sample_id,
        source=pair.source,
        task=pair.task,
        template_id=pair.template_id,
        generator=pair.generator,
        answer_style=pair.answer_style,
        image_roles=pair.image_roles,
        questions=tuple(strip_prefix(t.value) for t in pair.turns[0::2]),
        answers=tuple(t.value.strip() for t in pair.turns[1::2]),
        labels=sample.labels,
        tags=tags,
        image_sizes=sizes,
        acquired=acquired,
        sensor=sample.sensor,
        modality=sample.modality,
        paraphrase_id=pair.paraphrase_id,
    )


def _labels(doc: Mapping[str, Any]) -> Labels:
    objects = tuple(
        ObjectLabel(
            category=str(o.get("category", "")),
            attribute=str(o.get("attribute", "")),
            image_role=str(o.get("image_role", "")),
            bbox=tuple(float(v) for v in o.get("bbox", (0, 0, 0, 0))),  # type: ignore[arg-type]
        )
        for o in doc.get("objects", ())
    )
    return Labels(
        scheme=str(doc.get("scheme", "")),
        classes=tuple(doc.get("classes", ())),
        objects=objects,
        properties={str(k): str(v) for k, v in dict(doc.get("properties", {})).items()},
    )


def _listed(value: Any) -> list[Any]:
    """A list from a row's list column, whether it is a list, a tuple, a NumPy array or None."""
    return [] if value is None else list(value)


def from_corpus_row(row: Mapping[str, Any]) -> AuditItem:
    """Build the audit's view of a corpus row (``metadata`` holds the sample's labels).

    Args:
        row: A row of the corpus's Parquet files (``images`` not needed).

    Returns:
        The item.
    """
    meta = row.get("metadata") or {}
    if isinstance(meta, str):
        meta = json.loads(meta)
    turns = _listed(row.get("conversations"))
    return AuditItem(
        pair_id=str(row["pair_id"]),
        sample_id=str(row["sample_id"]),
        source=str(row["source"]),
        task=str(row["task"]),
        template_id=str(row["template_id"]),
        generator=str(row.get("generator", "")),
        answer_style=str(row.get("answer_style") or ""),
        image_roles=tuple(_listed(row.get("image_roles"))),
        questions=tuple(strip_prefix(str(t["value"])) for t in turns[0::2]),
        answers=tuple(str(t["value"]).strip() for t in turns[1::2]),
        labels=_labels(meta.get("labels") or {}),
        tags={str(k): str(v) for k, v in dict(meta.get("tags") or {}).items()},
        image_sizes={k: (int(v[0]), int(v[1])) for k, v in (meta.get("image_sizes") or {}).items()},
        acquired=tuple(meta.get("acquired") or ()),
        sensor=str(row.get("sensor", "")),
        modality=str(row.get("modality", "")),
        paraphrase_id=-1 if row.get("paraphrase_id") is None else int(row["paraphrase_id"]),
    )
