"""Run a step over partitions, atomically and resumably.

A stage's work is split into :class:`Partition` objects (a slice of a source's units, or one
upstream partition's files). A *step* is a plain function ``step(partition, outputs) ->
StageStats`` that writes its files through :class:`PartitionOutputs`; it does not know how it
is scheduled. :func:`run_partitions` runs the steps in-process (a Dask executor can call the
same steps on workers): it publishes a partition's files together, then its completion record
``_done/<partition>.json`` (output hashes and counts) and its state record (the fingerprint of
everything the outputs depend on, and the time taken) in a separate state folder. A re-run
skips partitions whose state matches the current fingerprint and whose outputs are intact,
redoes the rest, and deletes files no current partition owns, so a crash loses nothing and
duplicates nothing.

Completion records and ``_stats.json`` are part of the stage's outputs and identical from one
build to the next (no times, no machine-specific fingerprints); fingerprints and timings live
in the state folder, which is local bookkeeping like a cache. A partition whose state record is
missing (e.g. outputs checked out by DVC on another machine) is simply redone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from tqdm import tqdm

import eoinstruct
from eoinstruct.pipeline.accounting import StageStats, total
from eoinstruct.pipeline.io.atomic import (
    publish_many,
    sweep_temporaries,
    temporary_path,
    write_text_atomic,
)
from eoinstruct.pipeline.records import to_json
from eoinstruct.pipeline.run.backends import Executor, InProcessExecutor
from eoinstruct.pipeline.run.fingerprint import code_fingerprint, file_sha256
from eoinstruct.pipeline.run.lock import LOCK_FILE, folder_lock

log = logging.getLogger(__name__)

FAULT_ENV = "EOINSTRUCT_FAULT"
"""Fault injection for the crash-resume harness: ``<stage>:<partition>:<phase>`` makes the
process SIGKILL itself at that point (phases: ``step`` — outputs written, nothing published;
``publish`` — one output published; ``record`` — completion record written, state not)."""

DONE_DIR = "_done"
UNFINISHED = "unfinished"
"""A step's ``produced`` count of items it could not finish (e.g. a request that failed):
a partition with any is redone by the next run instead of counting as done."""
STATS_FILE = "_stats.json"
TIMINGS_FILE = "_timings.json"


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


@dataclass(frozen=True)
class Partition:
    """A unit of scheduled work.

    Attributes:
        name: Unique, filesystem-safe name, e.g. ``xbd-00000``; output files are named by it.
        source: Source adapter the partition's data comes from.
        items: What to process: source unit ids (ingest) or names of inputs.
        inputs: Files the outputs depend on; their content is part of the fingerprint.
        signature: Extra text that changes when the inputs change in ways file content
            hashing does not see (e.g. sizes and mtimes of raw source files).
    """

    name: str
    source: str
    items: tuple[str, ...] = ()
    inputs: tuple[Path, ...] = ()
    signature: str = ""


class PartitionOutputs:
    """The files one step writes for one partition, published together at the end.

    Args:
        stage_dir: The stage's output folder.
        partition: The partition being processed.
        records_dir: Folder of completion records (default ``<stage_dir>/_done``).
        state_dir: Folder of state records (default :func:`default_state_dir`).
        stage: Stage name (default: the stage folder's name).
    """

    def __init__(
        self,
        stage_dir: Path,
        partition: Partition,
        records_dir: Path | None = None,
        state_dir: Path | None = None,
        stage: str = "",
    ) -> None:
        self.stage = stage or stage_dir.name
        self.stage_dir = stage_dir
        self.partition = partition
        self.records_dir = records_dir or stage_dir / DONE_DIR
        self.state_dir = state_dir or default_state_dir(stage_dir)
        self.aux_dir = self.records_dir.parent
        self._pending: dict[Path, Path] = {}

    def path(
        self, kind: str, suffix: str = ".parquet", stem: str | None = None, aux: bool = False
    ) -> Path:
        """Reserve an output file and return the temporary path to write it to.

        Args:
            kind: Sub-folder of the stage folder (``samples``, ``failed``…).
            suffix: File extension including the dot.
            stem: File name without extension; defaults to the partition name.
            aux: Write under the folder that holds the records instead of the stage folder
                (for ledgers of a stage whose folder is published).

        Returns:
            The temporary path; it becomes ``<stage_dir>/<kind>/<stem><suffix>`` on commit.
        """
        base = self.aux_dir if aux else self.stage_dir
        final = base / kind / f"{stem or self.partition.name}{suffix}"
        if final in self._pending:
            raise ValueError(f"output {final} reserved twice")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_path(final)
        self._pending[final] = tmp
        return tmp

    def abort(self) -> None:
        """Delete every temporary file written so far."""
        for tmp in self._pending.values():
            if tmp.exists():
                tmp.unlink()
        self._pending.clear()

    def commit(self, stats: StageStats, fingerprint: str) -> CompletionRecord:
        """Publish all reserved files, then the completion record.

        Reserved files that the step did not create are skipped (a step may reserve a split
        it then finds empty).

        Args:
            stats: The partition's counts (checked: read = kept + dropped + failed).
            fingerprint: The partition fingerprint to record.

        Returns:
            The completion record written.
        """
        stats.check(f"{self.stage_dir.name}/{self.partition.name}")
        stage = self.stage
        _fault_point(stage, self.partition.name, "step")
        outputs: dict[str, OutputEntry] = {}
        written = [(tmp, final) for final, tmp in sorted(self._pending.items()) if tmp.exists()]
        for done in publish_many(  # one read per file (hash), one flush per partition
            written, lambda _: _fault_point(stage, self.partition.name, "publish")
        ):
            key = _output_key(self.stage_dir, self.aux_dir, done.final)
            outputs[key] = {"sha256": done.sha256, "bytes": done.bytes}
        self._pending.clear()
        record: CompletionRecord = {
            "partition": self.partition.name,
            "source": self.partition.source,
            "outputs": outputs,
            "stats": stats.to_dict(with_seconds=False),
        }
        write_text_atomic(
            self.records_dir / f"{self.partition.name}.json",
            json.dumps(record, indent=1, sort_keys=True) + "\n",
        )
        _fault_point(stage, self.partition.name, "record")
        state = {"fingerprint": fingerprint, "seconds": round(stats.seconds, 3)}
        write_text_atomic(self.state_dir / f"{self.partition.name}.json", json.dumps(state))
        return record


Step = Callable[[Partition, PartitionOutputs], StageStats]


def _fault_point(stage: str, partition: str, phase: str) -> None:
    spec = os.environ.get(FAULT_ENV)
    if spec and spec == f"{stage}:{partition}:{phase}":
        log.warning("fault injection: killing the process at %s", spec)
        os.kill(os.getpid(), signal.SIGKILL)


def default_state_dir(stage_dir: Path) -> Path:
    """Return the state folder of a stage: ``_state/<stage folder name>`` beside it."""
    return stage_dir.parent / "_state" / stage_dir.name


AUX_PREFIX = "aux:"


def _output_key(stage_dir: Path, aux_dir: Path, path: Path) -> str:
    if path.is_relative_to(stage_dir):
        return path.relative_to(stage_dir).as_posix()
    return AUX_PREFIX + path.relative_to(aux_dir).as_posix()


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


def partition_fingerprint(stage: str, config: Mapping[str, Any], partition: Partition) -> str:
    """Fingerprint of everything a partition's outputs depend on.

    Args:
        stage: Stage name.
        config: The stage's parameters.
        partition: The partition.

    Returns:
        A SHA-256 hex digest over the stage, package version and code, parameters, items,
        signature and the content of the input files.
    """
    digest = hashlib.sha256()
    digest.update(
        to_json(
            {
                "stage": stage,
                "version": eoinstruct.__version__,
                "code": code_fingerprint(),
                "config": config,
                "partition": partition.name,
                "items": list(partition.items),
                "signature": partition.signature,
            }
        ).encode()
    )
    for path in partition.inputs:
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


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


def _remove_unowned(stage_dir: Path, owned: set[Path], keep: Iterable[str]) -> list[Path]:
    keep_paths = {stage_dir / k for k in keep}
    removed = []
    for path in sorted(stage_dir.rglob("*")):
        if path.is_file() and path not in owned and path not in keep_paths:
            path.unlink()
            removed.append(path)
    return removed


def _process_partition(
    stage: str,
    stage_dir: Path,
    records: Path,
    states: Path,
    step: Step,
    config: Mapping[str, Any],
    partition: Partition,
) -> tuple[CompletionRecord, float, float | None]:
    """Do one partition unless its outputs are current; runs wherever the executor puts it.

    Returns:
        The completion record, the seconds the partition took (now or when it was done),
        and the CPU seconds of the thread that did it now (step and commit; ``None``: it was
        current, not redone). On a Dask worker that is the task's own CPU, without the
        worker's event loop and heartbeats, so the benchmark can tell the task overhead.
    """
    fp = partition_fingerprint(stage, config, partition)
    record = read_record(records, partition.name)
    state = read_record(states, partition.name)
    if record_is_current(stage_dir, records, record, state, fp):
        assert record is not None and state is not None
        return record, float(state["seconds"]), None
    outputs = PartitionOutputs(stage_dir, partition, records, states, stage)
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        stats = step(partition, outputs)
    except BaseException:
        outputs.abort()
        raise
    stats.seconds = time.perf_counter() - started
    record = outputs.commit(stats, fp)
    return record, stats.seconds, time.thread_time() - cpu


def run_partitions(
    stage: str,
    stage_dir: Path,
    partitions: Sequence[Partition],
    step: Step,
    config: Mapping[str, Any],
    keep: Iterable[str] = (),
    progress: bool = True,
    records_dir: Path | None = None,
    state_dir: Path | None = None,
    executor: Executor | None = None,
) -> StageStats:
    """Run ``step`` over every partition not already done with the same fingerprint.

    Args:
        stage: Stage name (for messages, fingerprints and the progress bar).
        stage_dir: The stage's output folder.
        partitions: All partitions of the stage, in order; names must be unique.
        step: The step function (picklable, e.g. a module-level function or a
            :func:`functools.partial` of one, when the executor is a Dask cluster).
        config: Parameters the step's results depend on.
        keep: Paths relative to ``stage_dir`` of stage-level files the cleanup must keep.
        progress: Show a progress bar.
        records_dir: Folder for completion records and ``_stats.json`` (default
            ``<stage_dir>/_done`` and ``<stage_dir>``); set it to keep them out of a
            published folder.
        state_dir: Folder for state records, ``_timings.json`` and the stage's lock
            (default :func:`default_state_dir`); a second run on the same folders refuses
            (:class:`~eoinstruct.pipeline.run.lock.StageLocked`).
        executor: Where partitions run (default: in this process).

    Returns:
        The stats summed over all partitions (also written to ``_stats.json``, without
        times; the times go to ``<state_dir>/_timings.json``).
    """
    states = state_dir or default_state_dir(stage_dir)
    with folder_lock(states / LOCK_FILE, stage_dir, stage):
        return _run_partitions(
            stage,
            stage_dir,
            partitions,
            step,
            config,
            keep,
            progress,
            records_dir,
            states,
            executor,
        )


def _run_partitions(
    stage: str,
    stage_dir: Path,
    partitions: Sequence[Partition],
    step: Step,
    config: Mapping[str, Any],
    keep: Iterable[str],
    progress: bool,
    records_dir: Path | None,
    states: Path,
    executor: Executor | None,
) -> StageStats:
    """:func:`run_partitions` with the stage's lock held."""
    names = [p.name for p in partitions]
    if len(set(names)) != len(names):
        raise ValueError(f"{stage}: partition names are not unique")
    records = records_dir or stage_dir / DONE_DIR
    stats_path = (records_dir.parent if records_dir else stage_dir) / STATS_FILE
    stage_dir.mkdir(parents=True, exist_ok=True)
    swept = sweep_temporaries(stage_dir)
    if records_dir is not None:
        swept += sweep_temporaries(records_dir.parent)
    if swept:
        log.warning("%s: removed %d temporary files of an interrupted run", stage, len(swept))
    work = functools.partial(_process_partition, stage, stage_dir, records, states, step, config)
    runner = executor or InProcessExecutor()
    results: dict[str, tuple[CompletionRecord, float, float | None]] = {}
    started = time.perf_counter()
    items = 0
    # disable=None: shown on a terminal, quiet in logs and CI (and with --no-progress)
    with tqdm(
        total=len(partitions), desc=stage, unit="part", disable=None if progress else True
    ) as bar:
        for record, seconds, cpu in runner.map_unordered(work, partitions):
            results[str(record["partition"])] = (record, seconds, cpu)
            items += int(record["stats"]["read"])
            bar.update(1)
            bar.set_postfix(items_per_s=f"{items / max(time.perf_counter() - started, 1e-9):.1f}")
    owned: set[Path] = set()
    all_stats: list[StageStats] = []
    for name in names:
        record, seconds, _ = results[name]
        owned.add(records / f"{name}.json")
        owned.update(output_path(stage_dir, rel, records) for rel in record["outputs"])
        partition_stats = StageStats.from_dict(record["stats"])
        partition_stats.seconds = seconds
        all_stats.append(partition_stats)
    redone = sum(1 for _, _, cpu in results.values() if cpu is not None)
    task_cpu = sum(cpu for _, _, cpu in results.values() if cpu is not None)
    if redone < len(partitions):
        log.info(
            "%s: %d of %d partitions already done, skipped",
            stage,
            len(partitions) - redone,
            len(partitions),
        )
    # a stage with no partition (every source empty) has still run: downstream stages find
    # its (empty) records folder instead of "run the upstream stage first"
    records.mkdir(parents=True, exist_ok=True)
    removed = _remove_unowned(stage_dir, owned, [STATS_FILE, *keep])
    if records_dir is not None:
        removed += _remove_unowned(records_dir.parent, owned, [STATS_FILE])
    if removed:
        log.info("%s: removed %d files of partitions that no longer exist", stage, len(removed))
    for path in sorted(states.glob("*.json")) if states.is_dir() else []:
        if path.stem not in names and path.name != TIMINGS_FILE:
            path.unlink()
    summary = total(all_stats)
    summary.check(stage)
    write_text_atomic(
        stats_path,
        json.dumps(
            {
                "stage": stage,
                "partitions": len(partitions),
                **summary.to_dict(with_seconds=False),
            },
            indent=1,
            sort_keys=True,
        )
        + "\n",
    )
    timings = {
        "stage": stage,
        "partitions": len(partitions),
        "redone": redone,
        "seconds": round(summary.seconds, 3),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "task_cpu_seconds": round(task_cpu, 3),
        "items_read": summary.read,
        "executor": runner.name,
    }
    write_text_atomic(states / TIMINGS_FILE, json.dumps(timings, indent=1, sort_keys=True))
    return summary


def partitions_from(upstream: Sequence[tuple[Path, str]]) -> list[Partition]:
    """Derive a stage's partitions from finished upstream stages, one per upstream partition.

    Args:
        upstream: ``(stage_dir, kind)`` pairs; the first stage defines the partitions, each
            other must have the same partitions. A partition's inputs are the output of the
            given kind of each upstream stage, in that order.

    Returns:
        The partitions, sorted by name.

    Raises:
        FileNotFoundError: If an upstream stage has not run or lacks a partition.
    """
    tables = [
        (stage_dir, kind, {str(r["partition"]): r for r in completed_records(stage_dir)})
        for stage_dir, kind in upstream
    ]
    partitions = []
    for name in sorted(tables[0][2]):
        inputs: list[Path] = []
        for stage_dir, kind, records in tables:
            if name not in records:
                raise FileNotFoundError(f"{stage_dir} has no partition {name}: re-run it")
            path = output_of(stage_dir, records[name], kind)
            if path is None:
                raise FileNotFoundError(f"{stage_dir}: partition {name} wrote no {kind} file")
            inputs.append(path)
        source = str(tables[0][2][name]["source"])
        partitions.append(
            Partition(
                name=name,
                source=source,
                items=tuple(p.as_posix() for p in inputs),
                inputs=tuple(inputs),
            )
        )
    return partitions
