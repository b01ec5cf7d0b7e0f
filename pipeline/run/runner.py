"""The runner: owns the per-partition loop, so that a stage is only its step.

Most stages take items (source units, samples, pairs) one by one and, for each, keep it (passing
on zero or more records), drop it on purpose with reasons, or fail on it with an error kind.
:class:`ItemStage` is that step; :meth:`ItemStage.run_partition` is the loop every such stage
shares — read, call the step, count kept / dropped / failed, write the drop and failure ledgers
— so the accounting identity (read = kept + dropped + failed) and the ``except`` policy live in
one place:

- an exception with a ``kind`` that the stage declares expected (``SourceError``,
  ``RasterReadError``) is a failure of that kind with its message;
- any other exception is an ``unexpected_error`` failure, logged with its traceback, and the run
  goes on with the next item.

:func:`run_work_stage` then runs a step over a stage's partitions with the configured backend
(in-process or Dask), atomically and resumably (:mod:`eoinstruct.pipeline.run.partitions`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from eoinstruct.pipeline.accounting import FailureKind, StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import Drop, Failure, write_drops, write_failures
from eoinstruct.pipeline.run.backends import Executor, executor_for
from eoinstruct.pipeline.run.cluster import STATE_FILE
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, Step, run_partitions

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Out = TypeVar("Out")


class ItemDropped(Exception):
    """Raised by a step: the item is dropped on purpose.

    Args:
        reasons: Every reason that applied; the first is the counted one (its text before any
            ``:`` is the metrics key, the whole text goes to the ledger).
        detail: The values behind the decision (JSON or free text).
    """

    def __init__(self, reasons: Sequence[str], detail: str = "") -> None:
        if not reasons:
            raise ValueError("a drop needs at least one reason")
        super().__init__(reasons[0])
        self.reasons = tuple(str(r) for r in reasons)
        self.detail = detail


class ItemFailed(Exception):
    """Raised by a step: the item cannot be processed.

    Args:
        kind: The failure kind (a :class:`~eoinstruct.pipeline.accounting.FailureKind`).
        message: What went wrong, for the ledger.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = str(kind)


@dataclass
class Ledger:
    """What one partition's loop counted and recorded.

    Attributes:
        stats: The counts (``produced`` is free for a step's own figures).
        drops: Dropped items with their reasons, in processing order.
        failures: Failed items with their error, in processing order.
        seen: Keys a step has met in this partition (for per-partition uniqueness checks).
    """

    stats: StageStats = field(default_factory=StageStats)
    drops: list[Drop] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seen: set[object] = field(default_factory=set)

    def drop(self, item: str, reasons: Sequence[str], detail: str = "") -> None:
        """Record one dropped item."""
        self.drops.append(Drop(item, tuple(str(r) for r in reasons), detail))
        self.stats.drop(str(reasons[0]).split(":", 1)[0])

    def fail(self, item: str, kind: str, message: str) -> None:
        """Record one failed item."""
        self.failures.append(Failure(item, str(kind), message))
        self.stats.fail(str(kind))


class ItemStage(ABC, Generic[Item, Out]):
    """A stage whose step handles one item at a time; the loop is :meth:`run_partition`.

    Subclasses set :attr:`name` (and the ledger folders) and implement :meth:`items`,
    :meth:`item_id`, :meth:`process` and :meth:`write`. An instance is the picklable step
    that :func:`run_work_stage` runs over partitions.
    """

    name: ClassVar[str]
    drops_kind: ClassVar[str | None] = None
    """Output folder of the drop ledger (``dropped``, ``rejected``), or None: never drops."""
    failures_kind: ClassVar[str | None] = "failed"
    """Output folder of the failure ledger, or None: the stage writes none, and an unexpected
    error stops the stage instead of failing one item."""
    expected_errors: ClassVar[tuple[type[Exception], ...]] = ()
    """Exceptions with a ``kind`` attribute that are ordinary failures of one item."""

    @abstractmethod
    def items(self, partition: Partition) -> Iterable[Item]:
        """Yield the partition's items; each one is counted as read."""

    @abstractmethod
    def item_id(self, item: Item) -> str:
        """Return the id the ledgers name an item by."""

    @abstractmethod
    def process(self, item: Item, ledger: Ledger) -> Sequence[Out]:
        """Handle one item.

        Args:
            item: The item.
            ledger: The partition's ledger (for ``produced`` counts and ``seen`` keys).

        Returns:
            The records the item passes on (the item counts as kept, even with none).

        Raises:
            ItemDropped: To drop it on purpose.
            ItemFailed: When it cannot be processed.
        """

    @abstractmethod
    def write(
        self, partition: Partition, outputs: PartitionOutputs, kept: list[Out], ledger: Ledger
    ) -> None:
        """Write the partition's kept records (the runner writes the ledgers)."""

    def run_partition(self, partition: Partition, outputs: PartitionOutputs) -> StageStats:
        """The loop: read each item, call :meth:`process`, count, then write everything.

        Args:
            partition: The partition.
            outputs: Where to write.

        Returns:
            The partition's counts.
        """
        ledger = Ledger()
        kept: list[Out] = []
        for item in self.items(partition):
            ledger.stats.read += 1
            try:
                records = self.process(item, ledger)
            except ItemDropped as exc:
                ledger.drop(self.item_id(item), exc.reasons, exc.detail)
                continue
            except ItemFailed as exc:
                ledger.fail(self.item_id(item), exc.kind, str(exc))
                continue
            except self.expected_errors as exc:
                ledger.fail(self.item_id(item), str(getattr(exc, "kind")), str(exc))  # noqa: B009
                continue
            except Exception as exc:  # a bug on odd input must not lose the run
                if self.failures_kind is None:
                    raise  # a stage without a failure ledger has nowhere to record it
                log.exception("%s: unexpected error on %s", self.name, self.item_id(item))
                ledger.fail(
                    self.item_id(item),
                    FailureKind.UNEXPECTED_ERROR,
                    f"{type(exc).__name__}: {exc}",
                )
                continue
            kept.extend(records)
            ledger.stats.kept += 1
        self.write(partition, outputs, kept, ledger)
        if self.drops_kind is not None:
            write_drops(
                outputs.path(self.drops_kind),
                self.name,
                partition.name,
                partition.source,
                ledger.drops,
            )
        elif ledger.drops:
            raise RuntimeError(f"{self.name} dropped items but declares no drop ledger")
        if self.failures_kind is not None:
            write_failures(
                outputs.path(self.failures_kind),
                self.name,
                partition.name,
                partition.source,
                ledger.failures,
            )
        return ledger.stats

    def __call__(self, partition: Partition, outputs: PartitionOutputs) -> StageStats:
        """Run one partition (the runner's :data:`Step` signature)."""
        return self.run_partition(partition, outputs)


def run_work_stage(
    params: Params,
    stage: str,
    partitions: Sequence[Partition],
    step: Step,
    config: Mapping[str, Any],
    progress: bool = True,
) -> StageStats:
    """Run a stage whose outputs live in ``<paths.work>/<stage>``.

    Args:
        params: Parameters (for the work and state folders and the executor).
        stage: Stage name.
        partitions: The stage's partitions.
        step: The step (an :class:`ItemStage` or any ``step(partition, outputs)``).
        config: Parameters the outputs depend on (part of every partition's fingerprint).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    with stage_executor(params) as executor:
        return run_partitions(
            stage,
            params.work_dir(stage),
            partitions,
            step,
            config,
            progress=progress,
            state_dir=params.state_dir(stage),
            executor=executor,
        )


def cluster_state_file(params: Params) -> Path:
    """The run cluster's state file, ``<paths.work>/_state/cluster.json``."""
    return params.path_of("work") / "_state" / STATE_FILE


@contextmanager
def stage_executor(params: Params) -> Iterator[Executor]:
    """The executor a stage runs its partitions on (see :func:`executor_for`).

    Inside ``eoinstruct all`` it is the run's one executor; with ``executor.kind: local`` it
    is the background cluster of ``eoinstruct cluster start`` while that runs; otherwise a
    new one, closed when the stage ends.

    Args:
        params: Parameters (the ``executor`` section and the work folder).

    Yields:
        The executor.
    """
    with executor_for(params.settings.executor.as_dict(), cluster_state_file(params)) as ex:
        yield ex
