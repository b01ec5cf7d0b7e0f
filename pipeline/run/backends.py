"""Where partition work runs: in this process, on a local Dask cluster, or on a remote one.

Steps never import Dask: :func:`eoinstruct.pipeline.run.partitions.run_partitions` hands each
partition to an
executor's :meth:`~InProcessExecutor.map_unordered`, which yields results as partitions finish.
Each partition's work (fingerprint, step, atomic publish, completion record) happens where it
runs, so a worker that dies loses only its unfinished partition.

- ``inprocess`` (default): one partition after the other, in this process.
- ``local``: a :class:`distributed.LocalCluster` of ``workers`` processes on this machine.
- ``dask``: an existing cluster at ``scheduler`` (``tcp://host:port``); every worker must see
  the same files at the same paths (a shared file system) and have eoinstruct installed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

KINDS = ("inprocess", "local", "dask")


class Executor(Protocol):
    """Runs a function over items, yielding results in completion order."""

    name: str

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, as each finishes."""
        ...

    def close(self) -> None:
        """Release the executor's resources."""
        ...


class InProcessExecutor:
    """Run everything in this process, in order."""

    name = "inprocess"

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, in order."""
        for item in items:
            yield fn(item)

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Run partitions on a Dask cluster (a new local one, or an existing one).

    Args:
        scheduler: Address of an existing scheduler (``tcp://host:port``); ``None`` starts a
            local cluster.
        workers: Worker processes of a local cluster.
        threads_per_worker: Threads per local worker (1: GDAL and numpy are not always
            thread-friendly, and processes give real parallelism).
    """

    def __init__(
        self, scheduler: str | None = None, workers: int = 2, threads_per_worker: int = 1
    ) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if scheduler:
            self.client = Client(scheduler)
            self.name = f"dask({scheduler})"
        else:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self._cluster)
            self.name = f"local({workers} workers)"
        log.info("executor: %s", self.name)

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Submit every item and yield results as tasks finish; re-raise the first error."""
        from distributed import as_completed

        futures = self.client.map(fn, list(items), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()

    def close(self) -> None:
        """Close the client and the local cluster, if any."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(settings: Mapping[str, Any] | None) -> Executor:
    """Build an executor from the ``executor`` section of ``params.yaml``.

    Args:
        settings: ``{kind: inprocess|local|dask, workers: int, scheduler: str}``; ``None``
            means in-process.

    Returns:
        The executor (close it when done).

    Raises:
        ValueError: If the kind is unknown or ``dask`` has no scheduler address.
    """
    settings = dict(settings or {})
    kind = str(settings.get("kind", "inprocess"))
    if kind not in KINDS:
        raise ValueError(f"executor.kind {kind!r} is not one of {KINDS}")
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "dask":
        scheduler = settings.get("scheduler")
        if not scheduler:
            raise ValueError("executor.kind dask needs executor.scheduler (tcp://host:port)")
        return DaskExecutor(scheduler=str(scheduler))
    return DaskExecutor(workers=int(settings.get("workers", 2)))
