"""RSVQA split files: the three JSON lists of a split, indexed by list position.

Facts relied on (``shared/docs/source-formats.md`` section 12: syvlo/RSVQA
``AutomaticDB/DataSpecification.md`` and ``VQA_model/VQALoader.py``; file names confirmed by
third-party loaders and download scripts of RSVQA-LR and RSVQA-HR):

- Per split, ``<prefix>_<split>_{questions,answers,images}.json`` with prefix ``LR_split``
  (splits ``train``, ``val``, ``test``) or ``USGS_split`` (``train``, ``val``, ``test``,
  ``test_phili``, the Philadelphia test set). Each file is one object holding one list:
  ``{"images": [...]}``, ``{"questions": [...]}``, ``{"answers": [...]}``.
- Image entries: ``id``, ``questions_ids`` (question ids), ``active`` (and ``original_name``,
  ``sensor``, ``upperleft_map-x/-y``, ``res-x/-y``, ``people_id``, ``date_added``, not read).
  Question entries: ``id``, ``img_id``, ``type``, ``question``, ``answers_ids``, ``active``.
  Answer entries: ``id``, ``question_id`` (the specification spells ``quesiton_id``; both
  are read), ``answer``, ``active``.
- The official loader reads ``images[id]`` and ``questions[qid]`` **by list position**, so an
  id is a list index and a split file keeps every entry, ``active`` marking membership
  (inferred). An entry whose ``id`` differs from its position is an error, not re-indexed.

Decisions:

- A unit is one active image of one split (``lr_train_17``, ``hr_test_phili_3``); an active
  question whose ``img_id`` is not an active image of the split makes a unit of that id too,
  so that a question without image fails as a unit rather than vanishing.
- Errors in the references (a question or answer id beyond its list, an id that is not its
  position, a question naming another image, an inactive image with active questions) →
  ``bad_metadata``; a question whose answers are missing → ``malformed_label``.
- Content problems drop one question-answer pair with its reason (recorded in the sample's
  ``rsvqa_dropped``): an inactive question or answer, an answer malformed for its type
  (:mod:`~eoinstruct.sources.rsvqa.answers`), an unknown type, the same question asked twice
  with different answers (both dropped) or with the same answer (the repeat dropped). An
  image left with no pair → ``malformed_label``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoinstruct.sources.base import SourceError, SourceNotFoundError, json_loads
from eoinstruct.sources.rsvqa.answers import TYPES, answer_problem

PREFIX: dict[str, str] = {"LR": "LR_split", "HR": "USGS_split"}
"""File-name prefix of the split files, per dataset."""

SPLITS: dict[str, tuple[str, ...]] = {
    "LR": ("train", "val", "test"),
    "HR": ("train", "val", "test", "test_phili"),
}
"""Splits per dataset, as the file names spell them."""

SPLIT_NAME: dict[str, str] = {
    "train": "train",
    "val": "validation",
    "test": "test",
    "test_phili": "test",
}
"""Our split name (``Sample.split``) of each RSVQA split."""

KINDS: tuple[str, ...] = ("questions", "answers", "images")
"""The three files of a split, by the key of the list each holds."""


def split_path(folder: Path, dataset: str, split: str, kind: str) -> Path:
    """Return ``<folder>/<prefix>_<split>_<kind>.json``."""
    return folder / f"{PREFIX[dataset]}_{split}_{kind}.json"


@dataclass
class SplitFiles:
    """The three lists of one split of one dataset.

    Attributes:
        dataset: ``LR`` or ``HR``.
        split: The split as the file names spell it.
        paths: The files, by kind.
        lists: The entries, by kind (``images``, ``questions``, ``answers``).
    """

    dataset: str
    split: str
    paths: dict[str, Path]
    lists: dict[str, list[Any]] = field(default_factory=dict)

    def active_images(self) -> list[int]:
        """Image ids that are units: active images, and images named by active questions."""
        ids = {
            i
            for i, entry in enumerate(self.lists["images"])
            if isinstance(entry, dict) and entry.get("active") is True
        }
        for entry in self.lists["questions"]:
            if isinstance(entry, dict) and entry.get("active") is True:
                img = entry.get("img_id")
                if isinstance(img, int) and not isinstance(img, bool) and img >= 0:
                    ids.add(img)
        return sorted(ids)


def load_split(folder: Path, dataset: str, split: str) -> SplitFiles | None:
    """Read a split's three files.

    Args:
        folder: The dataset folder.
        dataset: ``LR`` or ``HR``.
        split: A split of :data:`SPLITS`.

    Returns:
        The split, or None when none of its files exists.

    Raises:
        SourceNotFoundError: If only some of its files exist, or one is not JSON holding an
            object with its list.
    """
    paths = {kind: split_path(folder, dataset, split, kind) for kind in KINDS}
    present = [p for p in paths.values() if p.is_file()]
    if not present:
        return None
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise SourceNotFoundError(f"rsvqa: {', '.join(missing)} missing beside {present[0].name}")
    files = SplitFiles(dataset, split, paths)
    for kind, path in paths.items():
        try:
            doc = json_loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceNotFoundError(f"rsvqa: {path} is not readable JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get(kind), list):
            raise SourceNotFoundError(f"rsvqa: {path} does not hold an object with a {kind!r} list")
        files.lists[kind] = doc[kind]
    return files


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _entry(files: SplitFiles, kind: str, index: Any, unit: str, what: str) -> dict[str, Any]:
    """The entry at list position ``index``, checked to be an object whose id is its position."""
    entries = files.lists[kind]
    name = files.paths[kind].name
    i = _int(index)
    if i is None or not 0 <= i < len(entries):
        failure = "malformed_label" if kind == "answers" else "bad_metadata"
        raise SourceError(failure, f"{what} names {kind[:-1]} id {index!r}, not in {name}", unit)
    entry = entries[i]
    if not isinstance(entry, dict):
        raise SourceError("bad_metadata", f"{name}[{i}] is not an object", unit)
    if "id" in entry and entry["id"] != i:
        raise SourceError(
            "bad_metadata", f"{name}[{i}] has id {entry['id']!r}; ids are list positions", unit
        )
    return entry


@dataclass(frozen=True)
class ImageQA:
    """An image's question-answer pairs, by type, and the pairs dropped with their reasons.

    Attributes:
        image: The image entry.
        pairs: Type → ``[question id, question, answer]`` lists, in question-id order.
        dropped: ``[question id, reason]`` lists.
        inactive: How many of the image's questions are inactive in the split.
    """

    image: Mapping[str, Any]
    pairs: dict[str, list[list[Any]]]
    dropped: list[list[Any]]
    inactive: int


def _answers(files: SplitFiles, qid: int, question: Mapping[str, Any], unit: str) -> list[str]:
    """The active answers of a question (checked to point back at it)."""
    ids = question.get("answers_ids")
    if not isinstance(ids, list) or not ids:
        raise SourceError("malformed_label", f"question {qid} has no answers_ids", unit)
    found: list[str] = []
    for aid in ids:
        entry = _entry(files, "answers", aid, unit, f"question {qid}")
        back = entry.get("question_id", entry.get("quesiton_id"))
        if back != qid:
            raise SourceError(
                "malformed_label", f"answer {aid} belongs to question {back!r}, not {qid}", unit
            )
        text = entry.get("answer")
        if not isinstance(text, str):
            raise SourceError("malformed_label", f"answer {aid} has no answer text", unit)
        if entry.get("active", True) is True:
            found.append(text.strip())
    return found


def image_qa(files: SplitFiles, image_id: int, unit: str) -> ImageQA:
    """Collect one image's question-answer pairs (see the module docstring for the checks).

    Args:
        files: The split.
        image_id: The image id (its position in the images list).
        unit: The unit, for errors.

    Returns:
        The pairs by type and the dropped ones.

    Raises:
        SourceError: ``bad_metadata`` or ``malformed_label``.
    """
    if not 0 <= image_id < len(files.lists["images"]):
        asking = [
            i
            for i, q in enumerate(files.lists["questions"])
            if isinstance(q, dict) and q.get("active") is True and q.get("img_id") == image_id
        ]
        raise SourceError(
            "bad_metadata",
            f"question(s) {asking[:5]} name image {image_id}, which "
            f"{files.paths['images'].name} lacks (a question without image)",
            unit,
        )
    image = _entry(files, "images", image_id, unit, f"unit {unit}")
    qids = image.get("questions_ids")
    if not isinstance(qids, list) or not all(_int(q) is not None for q in qids):
        raise SourceError("bad_metadata", f"image {image_id}: questions_ids is not a list", unit)
    active_image = image.get("active") is True
    orphans = [
        i
        for i, q in enumerate(files.lists["questions"])
        if isinstance(q, dict) and q.get("active") is True and q.get("img_id") == image_id
        and i not in qids
    ]  # fmt: skip
    if orphans:
        raise SourceError(
            "bad_metadata",
            f"active question(s) {orphans[:5]} name image {image_id}, whose questions_ids "
            "do not list them",
            unit,
        )
    candidates: list[tuple[int, str, str, str]] = []
    dropped: list[list[Any]] = []
    inactive = 0
    for qid in qids:
        question = _entry(files, "questions", qid, unit, f"image {image_id}")
        if question.get("img_id") != image_id:
            raise SourceError(
                "bad_metadata",
                f"question {qid} names image {question.get('img_id')!r}, not {image_id}",
                unit,
            )
        if question.get("active") is not True:
            inactive += 1
            continue
        if not active_image:
            raise SourceError(
                "bad_metadata", f"image {image_id} is inactive but question {qid} is active", unit
            )
        text, qtype = question.get("question"), question.get("type")
        if not isinstance(text, str) or not text.strip() or not isinstance(qtype, str):
            raise SourceError("malformed_label", f"question {qid} lacks its text or type", unit)
        answers = sorted(set(_answers(files, qid, question, unit)))
        if not answers:
            dropped.append([qid, "no_active_answer"])
        elif len(answers) > 1:
            dropped.append([qid, "answers_disagree"])
        elif qtype not in TYPES[files.dataset]:
            dropped.append([qid, f"type_not_in_rsvqa_{files.dataset.lower()}:{qtype}"])
        elif problem := answer_problem(qtype, answers[0]):
            dropped.append([qid, problem])
        else:
            candidates.append((qid, qtype, " ".join(text.split()), answers[0]))
    return _without_repeats(image, candidates, dropped, inactive, unit)


def _without_repeats(
    image: Mapping[str, Any],
    candidates: list[tuple[int, str, str, str]],
    dropped: list[list[Any]],
    inactive: int,
    unit: str,
) -> ImageQA:
    """Drop questions asked twice: both when their answers differ, the repeat otherwise."""
    by_text: dict[str, set[str]] = {}
    for _, _, text, answer in candidates:
        by_text.setdefault(text.casefold(), set()).add(answer)
    pairs: dict[str, list[list[Any]]] = {}
    seen: set[str] = set()
    for qid, qtype, text, answer in sorted(candidates):
        key = text.casefold()
        if len(by_text[key]) > 1:
            dropped.append([qid, "same_question_other_answer"])
        elif key in seen:
            dropped.append([qid, "repeated_question"])
        else:
            seen.add(key)
            pairs.setdefault(qtype, []).append([qid, text, answer])
    if not pairs:
        reasons = sorted({str(r) for _, r in dropped}) or ["no_active_question"]
        raise SourceError(
            "malformed_label",
            f"image {image.get('id')}: no well-formed question-answer pair "
            f"({', '.join(reasons)}; {inactive} inactive)",
            unit,
        )
    return ImageQA(image, pairs, sorted(dropped), inactive)
