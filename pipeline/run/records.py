"""Completion records of partitioned stages: what a finished partition wrote and counted.

A partition's completion record (``_done/<partition>.json``) lists its published outputs with
their digests and its counts; its state record (in the state folder) the fingerprint it was
done for. :mod:`.partitions` writes them; these helpers read them (also for the stages that
take an upstream stage's outputs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

DONE_DIR = "_done"
UNFINISHED = "unfinished"
"""A step's ``produced`` count of items it could not finish (e.g. a request that failed):
a partition with any is redone by the next run instead of counting as done."""


class OutputEntry(TypedDict):
    """One published file of a partition: its digest and size."""

    sha256: str
    bytes: int


class CompletionRecord(TypedDict):
    """``_done/<partition>.json``: what a finished partition wrote and counted."""

    partition: str
    source: str
    outputs: dict[str, OutputEntry]
    stats: dict[str, Any]


class StateRecord(TypedDict):
    """``_state/<stage>/<partition>.json``: the fingerprint it was done for, and its time."""

    fingerprint: str
    seconds: float


AUX_PREFIX = "aux:"


def output_path(stage_dir: Path, key: str, records_dir: Path | None = None) -> Path:
    """Resolve an output key of a completion record to a path.

    Args:
        stage_dir: The stage's output folder.
        key: A key of the record's ``outputs``.
        records_dir: The stage's records folder, if not ``<stage_dir>/_done``.

    Returns:
        The file path.
    """
    if key.startswith(AUX_PREFIX):
        aux = (records_dir or stage_dir / DONE_DIR).parent
        return aux / key[len(AUX_PREFIX) :]
    return stage_dir / key


def read_record(records_dir: Path, name: str) -> Any:
    """Return a partition's completion or state record, or ``None`` if absent or unreadable.

    Returns:
        The parsed JSON (a :class:`CompletionRecord` or :class:`StateRecord`), or ``None``.
    """
    path = records_dir / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def record_is_current(
    stage_dir: Path,
    records_dir: Path,
    record: CompletionRecord | None,
    state: StateRecord | None,
    fp: str,
) -> bool:
    """Whether a partition's completion record stands for its current inputs and outputs.

    Args:
        stage_dir: The stage's output folder.
        records_dir: Where the stage's completion records lie.
        record: The partition's completion record (None: never completed).
        state: The partition's local state record (None: none).
        fp: The partition's current fingerprint.

    Returns:
        True if the record and the state match ``fp``, no item was left unfinished and every
        output the record lists is on disk at its recorded size; False if the partition must
        be redone.
    """
    if not record or not state or state.get("fingerprint") != fp:
        return False
    stats = record.get("stats", {})
    produced = stats.get("produced", {}) if isinstance(stats, Mapping) else {}
    if isinstance(produced, Mapping) and produced.get(UNFINISHED, 0):
        return False  # items the step could not finish (a server down): redo them
    outputs = record.get("outputs", {})
    assert isinstance(outputs, Mapping)
    for rel, meta in outputs.items():
        path = output_path(stage_dir, rel, records_dir)
        if not path.is_file() or path.stat().st_size != meta["bytes"]:
            return False
    return True


def completed_records(stage_dir: Path, records_dir: Path | None = None) -> list[CompletionRecord]:
    """Return the completion records of a finished stage, sorted by partition name.

    Args:
        stage_dir: The stage's output folder.
        records_dir: Folder of its completion records (default ``<stage_dir>/_done``).

    Returns:
        The records (see :meth:`PartitionOutputs.commit`).

    Raises:
        FileNotFoundError: If the stage has not run (no records folder).
    """
    done = records_dir or stage_dir / DONE_DIR
    if not done.is_dir():
        raise FileNotFoundError(f"{done} does not exist: run the upstream stage first")
    records = []
    for path in sorted(done.glob("*.json")):
        records.append(json.loads(path.read_text(encoding="utf-8")))
    return records


def output_of(stage_dir: Path, record: CompletionRecord, kind: str) -> Path | None:
    """Return the path of a partition's output of one kind, or ``None`` if it wrote none.

    Args:
        stage_dir: The stage's output folder.
        record: A completion record.
        kind: The output sub-folder (``samples``…).

    Returns:
        The file path, or ``None``.
    """
    outputs = record["outputs"]
    assert isinstance(outputs, Mapping)
    matches = [rel for rel in outputs if rel.split("/", 1)[0] == kind]
    if len(matches) > 1:
        raise ValueError(f"partition {record['partition']} has several {kind} outputs")
    return output_path(stage_dir, matches[0]) if matches else None
