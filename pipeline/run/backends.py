"""Where partition work runs: in this process, on a local Dask cluster, or on a remote one.

Steps never import Dask: :func:`eoinstruct.pipeline.run.partitions.run_partitions` hands each
partition to an
executor's :meth:`~InProcessExecutor.map_unordered`, which yields results as partitions finish.
Each partition's work (fingerprint, step, atomic publish, completion record) happens where it
runs, so a worker that dies loses only its unfinished partition.

- ``inprocess`` (default): one partition after the other, in this process.
- ``local``: the run's background cluster when ``eoinstruct cluster start`` started one
  (:mod:`eoinstruct.pipeline.run.cluster`), else a :class:`distributed.LocalCluster` of
  ``workers`` processes started for this command (``eoinstruct all`` starts one for all its
  stages: :func:`shared_executor`).
- ``dask``: an existing cluster at ``scheduler`` (``tcp://host:port``); every worker must see
  the same files at the same paths (a shared file system) and have eoinstruct installed.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, wait
from contextlib import contextmanager
from pathlib import Path
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

    def run_everywhere(self, fn: Callable[[], R]) -> list[R]:
        """Call ``fn()`` once in every process that runs this executor's tasks."""
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

    def run_everywhere(self, fn: Callable[[], R]) -> list[R]:
        """Call ``fn()`` here: the only process."""
        return [fn()]

    def close(self) -> None:
        """Nothing to release."""


def warm_imports(own_worker: bool = False) -> int:
    """Import every partitioned stage's module (run on a worker, ahead of its first task).

    A new worker otherwise imports them inside the first task of each stage, after the driver
    has listed the sources; warming starts those imports while the driver still works alone
    (fingerprint, ingest's plan). Idempotent and cheap on a warm worker.

    Args:
        own_worker: The worker belongs to a cluster this package started (a command's local
            cluster or the run's, ``eoinstruct cluster start``), whose processes run pipeline
            steps only: it gets the CLI process's start-up
            (:func:`~eoinstruct.pipeline.run.startup.arrow_lists_without_pandas`), so its
            first pyarrow list conversion does not import pandas (0.2-0.3 CPU-s per worker),
            and it converts exactly as the in-process run does; the objects loaded so far
            are left out of garbage collection (``gc.freeze``), as the CLI process does. A
            worker of someone else's cluster (``--scheduler``) is left as it is.

    Returns:
        The number of stage modules loaded.
    """
    from eoinstruct.pipeline.stages import build_order

    if own_worker:
        from eoinstruct.pipeline.run.startup import arrow_lists_without_pandas

        arrow_lists_without_pandas()
        one_arrow_thread()
    loaded = 0
    for found in build_order():
        if found.partitioned:
            found.load()
            loaded += 1
    if own_worker:
        # as the CLI does after its imports: what is loaded now lives as long as the worker,
        # so every later full collection skips it (Dask, tornado, numpy, pyarrow, the stages);
        # the tasks' CPU in generate and validate was 1.09-1.14x in-process without it
        gc.freeze()
    return loaded


def one_arrow_thread() -> None:
    """Give pyarrow's CPU and I/O thread pools one thread each (in a worker of our cluster).

    pyarrow sizes both pools to the machine's cores in every process; each worker of a local
    cluster runs one task at a time on one of those cores, so its pools' extra threads only
    compete with the other workers' tasks (context switches, cache traffic) for the same
    cores. What the tasks read and write is the same whatever the pools' sizes (reads keep
    their order, writes their bytes).
    """
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _apply(item: Any, fn: Callable[[Any], Any]) -> Any:
    """Run on a worker: ``fn`` arrives once per worker (scattered), the item per task."""
    return fn(item)


class DaskExecutor:
    """Run partitions on a Dask cluster (a new local one, or an existing one).

    The function (a stage's step with its parameters and whatever it loads lazily) is
    scattered to every worker once per :meth:`map_unordered` call, and each task carries only
    its partition: a task costs a few milliseconds whatever the step holds, and a step's
    caches stay warm from one partition to the next on the same worker.

    A local cluster starts in a background thread: the constructor returns at once, so the
    cluster's start (the forkserver's imports, the workers' fork and warming: about a second
    and a half of wall time) overlaps the driver's first serial work (``fingerprint``,
    ingest's listing). While it is still starting, :meth:`map_unordered` runs partitions in
    the driver itself, one after the other (:attr:`ran_here` counts them), and hands the
    rest to the workers as soon as they are up: the driver no longer idles through the start
    (ingest waited 1.0 s for it). A partition's outputs do not depend on where it runs (the
    in-process run is the same code in the same process). :attr:`client` waits for the start,
    and a failed start is raised there (and by the next :meth:`map_unordered`). Once the
    first stage's tasks are submitted, the driver imports the other stages' modules
    (:func:`warm_imports`, in its main thread: no concurrent imports) while the workers run
    them, so a later stage does not start with its imports while the workers idle. A client
    to an existing scheduler connects at once, as before (a connection error is raised here).

    Args:
        scheduler: Address of an existing scheduler (``tcp://host:port``); ``None`` starts a
            local cluster.
        workers: Worker processes of a local cluster.
        name: What timings and logs call it (default: from the arguments).
        own_workers: The scheduler's workers are this package's (the run's background
            cluster): see :func:`warm_imports` (default: only a cluster started here).
    """

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 2,
        name: str | None = None,
        own_workers: bool | None = None,
    ) -> None:
        from distributed import Client

        self._cluster: Any = None
        self._client: Any = None
        self._warming: list[Any] = []
        self._starting: Future[None] | None = None
        self._driver_warm: bool | deque[Any] = False
        """``True`` once the driver imported every stage module (:meth:`_warm_driver`)."""
        self.ran_here = 0
        """Partitions the driver ran itself while the local cluster started."""
        self.ran_here_cpu = 0.0
        """The CPU seconds of those partitions (the driver's thread)."""
        own = scheduler is None if own_workers is None else own_workers
        if scheduler:
            self._client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            self.name = name or f"dask({scheduler})"
            self._warm(own)
        else:
            self.name = name or f"local({workers} workers)"
            # the cluster starts beside the driver's first serial work (fingerprint, ingest's
            # listing): the first map_unordered (or .client) waits for it
            self._starting = Future()
            # what the start imports of this package, imported here first: the thread then
            # imports only Dask's own modules, never one the main thread imports meanwhile
            import eoinstruct.pipeline.run.cluster
            import eoinstruct.pipeline.stages  # noqa: F401

            threading.Thread(
                target=self._start_local,
                args=(workers, own),
                name="eoinstruct-cluster-start",
                daemon=True,
            ).start()
        log.info("executor: %s", self.name)

    def _start_local(self, workers: int, own: bool) -> None:
        """Start a local cluster and its client (in a background thread)."""
        from distributed import Client

        from eoinstruct.pipeline.run.cluster import local_cluster

        assert self._starting is not None
        try:
            self._cluster = local_cluster(workers)
            self._client = Client(self._cluster)
            self._warm(own)
        except BaseException as exc:  # handed to whoever waits for the cluster
            self._starting.set_exception(exc)
            return
        self._starting.set_result(None)

    def _warm(self, own: bool) -> None:
        """Submit one warming task per worker, not waited for (held so it is not cancelled).

        The stage imports run while the driver lists the sources; tasks queue behind it.
        """
        self._warming = [
            self._client.submit(
                warm_imports, own, workers=[address], allow_other_workers=False, pure=False
            )
            for address in self._client.scheduler_info().get("workers", {})
        ]

    @property
    def client(self) -> Any:
        """The :class:`distributed.Client` (waits for a local cluster still starting)."""
        if self._starting is not None:
            self._starting.result()
        return self._client

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Submit every item and yield results as tasks finish; re-raise the first error."""
        from distributed import as_completed

        pending = deque(items)
        # a local cluster still starting: the driver runs partitions itself meanwhile, one at
        # a time, until the workers are up (see the class's docstring)
        while pending and self._starting is not None and not self._starting.done():
            cpu = time.thread_time()
            result = fn(pending.popleft())
            self.ran_here += 1
            self.ran_here_cpu += time.thread_time() - cpu
            yield result
        if not pending:
            return
        items = list(pending)
        shipped = self.client.scatter(fn, broadcast=True, hash=False)
        futures = self.client.map(_apply, items, fn=shipped, pure=False)
        done = as_completed(futures)
        try:
            self._warm_driver(futures)
            for future in done:
                yield future.result()
                self._warm_driver(futures)
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()
            shipped.release()

    def _warm_driver(self, futures: list[Any]) -> None:
        """Import the next stage module here while at least two of this stage's tasks run.

        The driver imports the other stages' modules (:func:`warm_imports`) while the workers
        run tasks, so a later stage does not start with its imports while the workers idle;
        one module at a time, between results, and only while at least two of the stage's
        ``futures`` are unfinished (the workers still hold work), so the imports never
        delay the end of a short stage (all at once after the first submit did: 0.25 s after
        the last tasks of ``enrich`` on a loaded machine).
        """
        if self._driver_warm is True:
            return
        if not isinstance(self._driver_warm, deque):
            from eoinstruct.pipeline.stages import build_order

            self._driver_warm = deque(s for s in build_order() if s.partitioned)
        modules = self._driver_warm
        if modules and sum(1 for f in futures if not f.done()) >= 2:
            try:
                modules.popleft().load()
            except Exception:  # the stage that needs a module imports it and says why
                log.debug("driver: warming the stage imports failed", exc_info=True)
        if not modules:
            self._driver_warm = True

    def run_everywhere(self, fn: Callable[[], R]) -> list[R]:
        """Call ``fn()`` here and on every worker (outside their task threads).

        Here too: the driver runs partitions itself while a local cluster starts. A cluster
        still starting has run no task yet and is not waited for.
        """
        here = [fn()]
        if self._client is None or (self._starting is not None and not self._starting.done()):
            return here
        return here + list(self._client.run(fn).values())

    def close(self) -> None:
        """Close the client and the local cluster, if any (a shared cluster keeps running)."""
        if self.ran_here:
            log.info(  # benchmarks.stages reads this line: keep its words
                "%s: the driver ran %d partitions (%.3f CPU-s) while the cluster started",
                self.name,
                self.ran_here,
                self.ran_here_cpu,
            )
        if self._starting is not None:
            wait([self._starting])  # a failed start left nothing to close beyond what is set
        for future in self._warming:
            future.release()
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


CONNECT_TIMEOUT_S = 10
"""Longest wait to connect to a scheduler."""


def _run_cluster(state_file: Path | None) -> DaskExecutor | None:
    """Connect to the run's background cluster (``eoinstruct cluster start``), if alive."""
    from eoinstruct.pipeline.run.cluster import running_cluster
    from eoinstruct.pipeline.run.fingerprint import code_fingerprint

    state = running_cluster(state_file) if state_file is not None else None
    if state is None:
        return None
    if state.code != code_fingerprint():
        log.warning(
            "the run cluster (pid %d) runs other code than this command (changed since "
            "`eoinstruct cluster start`): not used; restart it with `eoinstruct cluster stop` "
            "and `eoinstruct cluster start`",
            state.pid,
        )
        return None
    try:
        return DaskExecutor(
            scheduler=state.address,
            name=f"local({state.workers} workers, run cluster pid {state.pid})",
            own_workers=True,
        )
    except OSError as exc:  # the process lives but its scheduler does not answer
        log.warning("run cluster at %s does not answer (%s): ignored", state.address, exc)
        return None


def make_executor(settings: Mapping[str, Any] | None, state_file: Path | None = None) -> Executor:
    """Build an executor from the ``executor`` section of ``params.yaml``.

    Args:
        settings: ``{kind: inprocess|local|dask, workers: int, scheduler: str}``; ``None``
            means in-process.
        state_file: The run cluster's state file (``<paths.work>/_state/cluster.json``):
            ``local`` connects to that cluster while it is alive, and otherwise starts a
            cluster of its own (and says so).

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
    shared = _run_cluster(state_file)
    if shared is not None:
        return shared
    workers = int(settings.get("workers", 2))
    log.info(
        "executor: no run cluster (`eoinstruct cluster start`): starting a local one of %d "
        "workers for this command",
        workers,
    )
    return DaskExecutor(workers=workers)


_SHARED: list[Executor] = []
"""The executor of an enclosing :func:`shared_executor` block (at most one)."""


@contextmanager
def shared_executor(
    settings: Mapping[str, Any] | None, state_file: Path | None = None
) -> Iterator[Executor]:
    """One executor for every stage run inside the block (``eoinstruct all``).

    :func:`executor_for` returns it instead of building one per stage, so a local cluster is
    started once per run, not once per stage.

    Args:
        settings: The ``executor`` section.
        state_file: The run cluster's state file.

    Yields:
        The executor, closed at the end of the block.
    """
    executor = make_executor(settings, state_file)
    try:
        with use_executor(executor):
            yield executor
    finally:
        executor.close()


@contextmanager
def use_executor(executor: Executor) -> Iterator[Executor]:
    """Run every stage inside the block on ``executor`` (left open: the caller closes it).

    Args:
        executor: The executor.

    Yields:
        The executor.
    """
    _SHARED.append(executor)
    try:
        yield executor
    finally:
        _SHARED.remove(executor)


def enclosing_executor() -> Executor | None:
    """The executor of an enclosing :func:`use_executor` block (``eoinstruct all``), if any.

    For a stage whose partitions are too light to start a cluster for (the caption stage
    with the captioner off): it uses the run's executor when there is one, else runs
    in-process.
    """
    return _SHARED[-1] if _SHARED else None


@contextmanager
def executor_for(
    settings: Mapping[str, Any] | None, state_file: Path | None = None
) -> Iterator[Executor]:
    """The executor of one stage: the enclosing shared one, else a new one closed after it.

    Args:
        settings: The ``executor`` section.
        state_file: The run cluster's state file.

    Yields:
        The executor.
    """
    if _SHARED:
        yield _SHARED[-1]
        return
    executor = make_executor(settings, state_file)
    try:
        yield executor
    finally:
        executor.close()
