"""Partition commits flushed off the critical path: a background thread per in-process run.

A partition's commit (:meth:`~eoinstruct.pipeline.run.partitions.PartitionOutputs.commit`)
hashes its files where the step ran, then must flush them, rename them and write its
completion and state records, in that order, so that a record on disk always stands for
outputs that are on disk. Flushing waits on the disk (a ``syncfs`` per partition took ≈ 5-20
ms, more on a busy disk), while nothing in the order needs the step of the next partition to
wait. Inside :func:`deferred_commits` (an in-process run with no per-partition callback) each
commit's flush-rename-record tail is handed to one background thread, which takes every tail
queued so far, flushes their files with one ``syncfs``, then renames and records each
partition in order; the next partition's step runs meanwhile.

What is kept: a kill (SIGKILL, an exception) leaves each final name absent, old or complete
and each record standing for complete outputs (the records are written only after their
outputs' flush and rename), exactly as before; the run waits for every queued commit before it
lists, cleans up or summarises the stage, and flushes once more (the records themselves) before
its summary, so a finished stage is as durable as before. What changes: a power loss in the
middle of a stage may lose the records of the last few partitions (written, not yet flushed),
which a re-run reads as missing and redoes.

A run on a Dask cluster defers its tasks' commits the same way, in each worker process
(:func:`deferred_task`, :func:`drain_process`): a worker's next partition runs while its
committer flushes the last one (two workers flushing per partition waited on the disk for
each other: filter's 3 ms partitions took 28 ms on a worker). The task returns the partition's
record before it is on disk; the run drains every worker's committer at the end of the stage,
before it lists, cleans up or summarises anything, and checks that every record it was handed
is on disk (a worker that died with queued commits fails the stage with a clear error; a
re-run redoes those partitions).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from eoinstruct.pipeline.io.atomic import flush_files, handoff_cache_pending

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class _Tail:
    """One partition's commit after its hashing: files to flush, then what to do."""

    flush: tuple[Path, ...]
    finish: Callable[[], None]
    where: Path
    one_by_one: bool = False


class BackgroundCommits:
    """A thread that flushes queued commits together and finishes them in order."""

    def __init__(self, whole_file_system: bool = True) -> None:
        self._whole = whole_file_system
        self._queue: queue.Queue[_Tail | None] = queue.Queue()
        self._error: BaseException | None = None
        self._done_any = False
        self._flush_on_drain: Path | None = None
        self.finished = 0
        """Tails finished so far (renamed and recorded)."""
        self._thread = threading.Thread(target=self._work, name="eoinstruct-commits", daemon=True)
        self._thread.start()

    def submit(
        self, flush: list[Path], finish: Callable[[], None], where: Path, one_by_one: bool = False
    ) -> None:
        """Queue a commit's tail: flush ``flush``, then call ``finish`` (renames, records).

        Args:
            flush: The partition's complete temporary files.
            finish: Renames them and writes the partition's records.
            where: A folder ``finish`` writes to (flushed again by :meth:`drain`).
            one_by_one: Flush these files one by one, never the whole file system (the
                partition also wrote a hand-off cache, which a ``syncfs`` would write too).

        Raises:
            BaseException: The error of an earlier tail (the run stops at its next commit).
        """
        if self._error is not None:
            raise self._error
        self._queue.put(_Tail(tuple(flush), finish, where, one_by_one))

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:  # every tail queued meanwhile shares the flush
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            if self._error is None:
                try:
                    if any(tail.one_by_one for tail in batch):
                        self._whole = False  # a cache now waits: the drain's flush too
                    flush_files([p for tail in batch for p in tail.flush], self._whole)
                    for tail in batch:
                        tail.finish()
                        self.finished += 1
                        self._flush_on_drain = tail.where
                except BaseException as exc:  # kept for the run's thread; later tails skipped
                    self._error = exc
            if stop:
                return

    def drain(self) -> None:
        """Wait for every queued tail, then flush the records once (one ``syncfs``).

        Raises:
            BaseException: The first error a tail raised.
        """
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._flush_on_drain is not None and self._flush_on_drain.exists():
            flush_files([self._flush_on_drain], self._whole)


_ACTIVE: BackgroundCommits | None = None


def active() -> BackgroundCommits | None:
    """The running :func:`deferred_commits` block's committer (this process), or None."""
    return _ACTIVE


@contextlib.contextmanager
def deferred_commits(enabled: bool = True, work: Path | None = None) -> Iterator[None]:
    """Run a block with partition commits finished in the background (see the module).

    On leaving, even by an exception, every queued commit is finished (the partitions whose
    steps completed keep their records). Nested or disabled: the block's commits stay
    synchronous.

    Args:
        enabled: False runs the block unchanged.
        work: The run's work folder: while its hand-off cache holds files
            (:func:`~eoinstruct.pipeline.io.atomic.handoff_cache_pending`), the commits flush
            their own files one by one rather than the whole file system, which would write
            the cache to disk too (filter, the first stage after score: 0.17 s of its 0.47).

    Raises:
        BaseException: A commit's error, when the block itself raised none.
    """
    global _ACTIVE
    if not enabled or _ACTIVE is not None:
        yield
        return
    commits = BackgroundCommits(work is None or not handoff_cache_pending(work))
    _ACTIVE = commits
    try:
        yield
    except BaseException:
        _ACTIVE = None
        try:
            commits.drain()
        except Exception:  # the block's own error is the one to report
            log.exception("a partition commit failed while the run stopped")
        raise
    _ACTIVE = None
    commits.drain()


_PROCESS: BackgroundCommits | None = None
"""This process's committer for tasks of a run driven by another process (a Dask worker)."""

_PROCESS_LOCK = threading.Lock()
"""Guards :data:`_PROCESS` (a worker of someone else's cluster may run tasks in threads)."""


def deferred_task(item: T, fn: Callable[[T], R], work: Path | None = None) -> R:
    """Run ``fn(item)`` with its commits deferred to this process's committer.

    The task of a run whose partitions run in other processes (a Dask worker, or the driver
    itself while its cluster starts). The committer starts with the first such task of a
    stage and outlives it: :func:`drain_process`, called in every process at the end of the
    stage, finishes its queued commits.

    Args:
        item: The task's item (a partition).
        fn: The task's function (the partition's work, commit included).
        work: The run's work folder (see :func:`deferred_commits`).

    Returns:
        What ``fn`` returns.
    """
    global _ACTIVE, _PROCESS
    if _ACTIVE is not None and _ACTIVE is not _PROCESS:  # inside an in-process run's block
        return fn(item)
    with _PROCESS_LOCK:  # one committer per process, drained by drain_process
        if _PROCESS is None:
            _PROCESS = BackgroundCommits(work is None or not handoff_cache_pending(work))
        _ACTIVE = _PROCESS
    try:
        return fn(item)
    finally:
        _ACTIVE = None


def drain_process() -> int:
    """Finish every commit :func:`deferred_task` queued in this process (none: 0).

    Returns:
        The number of commits the committer finished.

    Raises:
        BaseException: The first error a commit raised.
    """
    global _PROCESS
    with _PROCESS_LOCK:
        committer, _PROCESS = _PROCESS, None
    if committer is None:
        return 0
    committer.drain()
    return committer.finished
