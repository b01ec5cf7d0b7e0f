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
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eoinstruct
from eoinstruct.pipeline.accounting import StageStats, total
from eoinstruct.pipeline.io.atomic import (
    Published,
    hash_files,
    publish_many,
    rename_files,
    sweep_temporaries,
    temporary_path,
    write_text_atomic,
)
from eoinstruct.pipeline.records import to_json
from eoinstruct.pipeline.run import commits
from eoinstruct.pipeline.run.backends import Executor, InProcessExecutor
from eoinstruct.pipeline.run.fingerprint import code_fingerprint, file_sha256
from eoinstruct.pipeline.run.lock import LOCK_FILE, folder_lock
from eoinstruct.pipeline.run.records import AUX_PREFIX as AUX_PREFIX
from eoinstruct.pipeline.run.records import DONE_DIR as DONE_DIR
from eoinstruct.pipeline.run.records import UNFINISHED as UNFINISHED
from eoinstruct.pipeline.run.records import CompletionRecord as CompletionRecord
from eoinstruct.pipeline.run.records import OutputEntry as OutputEntry
from eoinstruct.pipeline.run.records import StateRecord as StateRecord
from eoinstruct.pipeline.run.records import completed_records as completed_records
from eoinstruct.pipeline.run.records import output_of as output_of
from eoinstruct.pipeline.run.records import output_path as output_path
from eoinstruct.pipeline.run.records import read_record as read_record
from eoinstruct.pipeline.run.records import record_is_current as record_is_current

log = logging.getLogger(__name__)

FAULT_ENV = "EOINSTRUCT_FAULT"
"""Fault injection for the crash-resume harness: ``<stage>:<partition>:<phase>`` makes the
process SIGKILL itself at that point (phases: ``step`` — outputs written, nothing published;
``publish`` — one output published; ``record`` — completion record written, state not)."""

STATS_FILE = "_stats.json"
TIMINGS_FILE = "_timings.json"


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
        self._transient: set[Path] = set()
        self._digests: dict[Path, tuple[str, int]] = {}

    def path(
        self,
        kind: str,
        suffix: str = ".parquet",
        stem: str | None = None,
        aux: bool = False,
        transient: bool = False,
    ) -> Path:
        """Reserve an output file and return the temporary path to write it to.

        Args:
            kind: Sub-folder of the stage folder (``samples``, ``failed``…).
            suffix: File extension including the dot.
            stem: File name without extension; defaults to the partition name.
            aux: Write under the folder that holds the records instead of the stage folder
                (for ledgers of a stage whose folder is published).
            transient: A hand-off cache for a later stage, not an output of this one: it
                becomes ``<stage_dir>/../_<kind>/<stem><suffix>`` (outside the stage folder,
                so no DVC out and no cleanup of this stage owns it), is published with the
                partition's files but not listed in its completion record (a later stage may
                delete it without making this partition stale). A transient file the step
                does not write is deleted on commit, so a stale one never outlives a redo.

        Returns:
            The temporary path; it becomes ``<stage_dir>/<kind>/<stem><suffix>`` on commit.
        """
        base = self.aux_dir if aux else self.stage_dir
        if transient:
            base, kind = self.stage_dir.parent, f"_{kind}"
        final = base / kind / f"{stem or self.partition.name}{suffix}"
        if final in self._pending:
            raise ValueError(f"output {final} reserved twice")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_path(final)
        self._pending[final] = tmp
        if transient:
            self._transient.add(final)
        return tmp

    def digest_of(self, tmp: Path, sha256: str, size: int) -> None:
        """Give the digest of a reserved file hashed while it was written (not re-read).

        Args:
            tmp: The temporary path :meth:`path` returned.
            sha256: SHA-256 of its complete bytes.
            size: Its size in bytes (checked against the file on commit).
        """
        self._digests[tmp] = (sha256, size)

    def abort(self) -> None:
        """Delete every temporary file written so far."""
        for tmp in self._pending.values():
            if tmp.exists():
                tmp.unlink()
        self._pending.clear()
        self._transient.clear()
        self._digests.clear()

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
        for final in sorted(self._transient):
            if not self._pending[final].exists():
                final.unlink(missing_ok=True)  # no stale hand-off from an earlier run
        # a transient cache is renamed unhashed and unflushed (its reader verifies it)
        cache = [(tmp, final) for tmp, final in written if final in self._transient]
        durable = [(tmp, final) for tmp, final in written if final not in self._transient]
        background = commits.active() if not cache else None
        if background is None:  # one read per file (hash), one flush per partition
            published = publish_many(
                durable,
                lambda _: _fault_point(stage, self.partition.name, "publish"),
                known=self._digests,
                transient=cache,
            )
        else:  # hashed here; flushed, renamed and recorded by the run's committer thread
            published = hash_files(durable, self._digests)
        for done in published:
            key = _output_key(self.stage_dir, self.aux_dir, done.final)
            outputs[key] = {"sha256": done.sha256, "bytes": done.bytes}
        self._pending.clear()
        self._transient.clear()
        self._digests.clear()
        record: CompletionRecord = {
            "partition": self.partition.name,
            "source": self.partition.source,
            "outputs": outputs,
            "stats": stats.to_dict(with_seconds=False),
        }
        text = json.dumps(record, indent=1, sort_keys=True) + "\n"
        state = {"fingerprint": fingerprint, "seconds": round(stats.seconds, 3)}
        if background is None:
            write_text_atomic(self.records_dir / f"{self.partition.name}.json", text)
            self._recorded(json.dumps(state))
        else:
            background.submit(
                [tmp for tmp, _ in durable],
                functools.partial(self._finish, durable, published, text, json.dumps(state)),
                self.records_dir,
            )
        return record

    def _finish(
        self, files: list[tuple[Path, Path]], published: list[Published], text: str, state: str
    ) -> None:
        """A deferred commit's tail, on the committer thread: rename, then the records.

        The completion record is renamed into place unflushed (the run flushes it when it
        drains its commits); its outputs were flushed before it.
        """
        fault = functools.partial(_fault_point, self.stage, self.partition.name, "publish")
        rename_files(files, published, lambda _: fault())
        write_state_file(self.records_dir / f"{self.partition.name}.json", text)
        self._recorded(state)

    def _recorded(self, state: str) -> None:
        _fault_point(self.stage, self.partition.name, "record")
        write_state_file(self.state_dir / f"{self.partition.name}.json", state)


Step = Callable[[Partition, PartitionOutputs], StageStats]


def _fault_point(stage: str, partition: str, phase: str) -> None:
    spec = os.environ.get(FAULT_ENV)
    if spec and spec == f"{stage}:{partition}:{phase}":
        log.warning("fault injection: killing the process at %s", spec)
        os.kill(os.getpid(), signal.SIGKILL)


def write_state_file(final: Path, text: str) -> None:
    """Write a state folder file (a state record, the timings) by rename, without a flush.

    The state folder is local bookkeeping like a cache: a record a power loss leaves absent,
    old or garbled reads as missing or stale (:func:`read_record`), and its partition is
    redone; so it is renamed into place (a kill leaves it old or complete) but not
    ``fsync``-ed, which the outputs and completion records are (one flush saved per
    partition).

    Args:
        final: The file.
        text: Its content (UTF-8).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def default_state_dir(stage_dir: Path) -> Path:
    """Return the state folder of a stage: ``_state/<stage folder name>`` beside it."""
    return stage_dir.parent / "_state" / stage_dir.name


def _output_key(stage_dir: Path, aux_dir: Path, path: Path) -> str:
    if path.is_relative_to(stage_dir):
        return path.relative_to(stage_dir).as_posix()
    return AUX_PREFIX + path.relative_to(aux_dir).as_posix()


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


class _QuietBar:
    """What a run without a progress bar updates instead of tqdm (not imported then)."""

    def __enter__(self) -> _QuietBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def set_postfix(self, **values: object) -> None:
        """Nothing to show."""


def _progress_bar(total: int, stage: str, progress: bool) -> Any:
    """A tqdm bar over the partitions, or a :class:`_QuietBar` (tqdm unimported) without one.

    ``disable=None``: shown on a terminal, quiet (and tqdm not even imported) off one.
    """
    isatty = getattr(sys.stderr, "isatty", None)  # tqdm's own test of disable=None
    if not progress or sys.stderr is None or (isatty is not None and not isatty()):
        return _QuietBar()
    from tqdm import tqdm  # ≈ 10-20 ms of start-up, only where a bar may be shown

    return tqdm(total=total, desc=stage, unit="part", disable=None)


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
    after_each: Callable[[CompletionRecord], None] | None = None,
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
        after_each: Called here with each partition's completion record once it is on disk
            (done now or earlier), e.g. to delete a hand-off cache the partition consumed.

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
            after_each,
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
    after_each: Callable[[CompletionRecord], None] | None = None,
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
    # in this process, commits are flushed and recorded by a thread while the next step runs
    in_process = isinstance(runner, InProcessExecutor) and after_each is None
    with (
        _progress_bar(len(partitions), stage, progress) as bar,
        commits.deferred_commits(in_process, states.parent.parent),  # <work>/_state/<stage>
    ):
        for record, seconds, cpu in runner.map_unordered(work, partitions):
            results[str(record["partition"])] = (record, seconds, cpu)
            if after_each is not None:
                after_each(record)
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
    write_state_file(states / TIMINGS_FILE, json.dumps(timings, indent=1, sort_keys=True))
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
