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

import contextlib
import functools
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import eoinstruct
from eoinstruct.pipeline.accounting import StageStats, total
from eoinstruct.pipeline.io.atomic import sweep_temporaries, write_text_atomic
from eoinstruct.pipeline.records import to_json
from eoinstruct.pipeline.run import commits
from eoinstruct.pipeline.run.backends import Executor, InProcessExecutor
from eoinstruct.pipeline.run.fingerprint import code_fingerprint, file_sha256
from eoinstruct.pipeline.run.lock import LOCK_FILE, folder_lock
from eoinstruct.pipeline.run.outputs import FAULT_ENV as FAULT_ENV
from eoinstruct.pipeline.run.outputs import Partition as Partition
from eoinstruct.pipeline.run.outputs import PartitionOutputs as PartitionOutputs
from eoinstruct.pipeline.run.outputs import Step as Step
from eoinstruct.pipeline.run.outputs import default_state_dir as default_state_dir
from eoinstruct.pipeline.run.outputs import write_state_file as write_state_file
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

STATS_FILE = "_stats.json"
TIMINGS_FILE = "_timings.json"


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


@contextlib.contextmanager
def _drained(
    runner: Executor,
    records: Path,
    results: Mapping[str, tuple[CompletionRecord, float, float | None]],
    enabled: bool,
) -> Iterator[None]:
    """Finish the commits a stage's tasks deferred in every process (see ``commits``).

    On leaving, even by an exception, each process's committer finishes its queue (the
    partitions whose steps completed keep their records); then every record a task handed
    over is checked to be on disk.

    Raises:
        RuntimeError: A partition's record is not on disk (its worker died before its
            commit finished): a re-run redoes it.
    """
    if not enabled:
        yield
        return
    try:
        yield
    except BaseException:
        try:
            runner.run_everywhere(commits.drain_process)
        except Exception:  # the stage's own error is the one to report
            log.exception("a partition commit failed while the stage stopped")
        raise
    runner.run_everywhere(commits.drain_process)
    lost = [
        name
        for name, (_, _, cpu) in results.items()
        if cpu is not None and not (records / f"{name}.json").is_file()
    ]
    if lost:
        raise RuntimeError(
            f"{len(lost)} partitions' commits were lost (a worker stopped before it finished "
            f"them, e.g. {lost[0]}): run the stage again to redo them"
        )


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
    # commits are flushed and recorded by a thread while the next step runs: this process's
    # in-process; each worker's on a cluster, drained at the end of the stage
    in_process = isinstance(runner, InProcessExecutor) and after_each is None
    elsewhere = not isinstance(runner, InProcessExecutor) and after_each is None
    work_dir = states.parent.parent  # <work>/_state/<stage>
    task: Callable[[Partition], tuple[CompletionRecord, float, float | None]] = work
    if elsewhere:
        task = functools.partial(commits.deferred_task, fn=work, work=work_dir)
    with (
        _progress_bar(len(partitions), stage, progress) as bar,
        commits.deferred_commits(in_process, work_dir),
        _drained(runner, records, results, elsewhere),
    ):
        for record, seconds, cpu in runner.map_unordered(task, partitions):
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
