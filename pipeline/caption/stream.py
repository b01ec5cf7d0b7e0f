"""The caption stage's request stream: one window of requests in flight across partitions.

The stage commits its outputs partition by partition (atomically, in order, so a killed run
resumes), but the server should never wait for a partition to drain. :class:`CaptionStream`
runs an event loop in a thread that feeds the marked samples of every partition still to do,
in order, through one window of ``caption.concurrency`` requests: a freed slot takes the next
sample at once, whatever its partition. The stage's step for a partition
(:meth:`CaptionStream.collect`) waits until that partition's samples are all answered (or
failed) and writes them; by then the next partitions' requests are already in flight.

**Bodies are built just in time**: a sample's request (rendering, tile cap, base64, cache key,
the JSON bytes; in a worker thread, off the event loop) is built when the feeder reaches it,
and the feeder waits for a free slot before building the next, so at most ``concurrency + 1``
bodies exist, whatever the partition size, each as one copy of its JSON bytes, dropped as
soon as its reply arrives.

**Bounded look-ahead**: the feeder runs ahead of the partition the stage is waiting for by at
most ``2 * concurrency`` samples (their replies are held until their partition is written).

Replies go to the request cache as they arrive (in a worker thread: its fsync does not stall
the loop); requests with the same key are asked once. The circuit breaker, retries,
``Retry-After`` and failure kinds are the client's (:meth:`CaptionClient.ask`); once the breaker
is open, the samples not yet built fail as ``server_unavailable`` without being rendered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from eoinstruct.pipeline.caption.cache import Reply, RequestCache
from eoinstruct.pipeline.caption.client import (
    CaptionClient,
    CircuitBreaker,
    ClientCounters,
    RequestFailure,
)
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.facts import TagPolicy
from eoinstruct.pipeline.caption.prompts import (
    CaptionRequest,
    PromptBook,
    PromptTemplate,
    build_request,
)
from eoinstruct.pipeline.io.parquet import Failure, iter_samples
from eoinstruct.pipeline.records import Sample
from eoinstruct.pipeline.run.partitions import Partition

log = logging.getLogger(__name__)

AHEAD_FACTOR = 2
"""The feeder runs at most this many windows (``concurrency``) of samples ahead of the
partition the stage waits for."""


@dataclass
class Outcome:
    """What became of one marked sample.

    Attributes:
        sample: The sample.
        template: Its prompt template.
        request: The request (``None`` when it could not be built or was not sent).
        result: The reply, the request's failure after its retries, or a :class:`Failure`
            of the sample itself (its image could not be rendered, an unexpected error,
            ``server_unavailable`` once the breaker is open).
    """

    sample: Sample
    template: PromptTemplate
    request: CaptionRequest | None
    result: Reply | RequestFailure | Failure


@dataclass
class PartitionOutcomes:
    """A partition's outcomes, in sample order, with its counts.

    Attributes:
        outcomes: One per marked sample, in file order.
        not_marked: Samples of sources that are not captioned.
        counters: Requests sent, retries and cache hits for this partition's samples.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    not_marked: int = 0
    counters: ClientCounters = field(default_factory=ClientCounters)


def read_marked(partition: Partition, config: CaptionConfig) -> tuple[list[Sample], int]:
    """Return a partition's samples to caption, and how many others it has.

    Args:
        partition: The partition (input: the dedup stage's kept samples).
        config: Captioner settings (``sources``).

    Returns:
        The marked samples in file order, and the number of the others.
    """
    marked: list[Sample] = []
    others = 0
    for sample in iter_samples(partition.inputs[0]):
        if sample.source in config.sources:
            marked.append(sample)
        else:
            others += 1
    return marked, others


def prepare(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    policy: TagPolicy,
    cache: RequestCache | None,
) -> tuple[CaptionRequest | None, Reply | Failure | None]:
    """Build a sample's request and look it up in the cache.

    Args:
        sample: The sample.
        template: Its prompt template.
        config: Captioner settings.
        policy: The tag policy.
        cache: The request cache.

    Returns:
        The request (``None`` when it cannot be built) and the cached reply, or the failure
        of the sample, or ``None`` (ask the server).
    """
    from eoinstruct.pipeline.io.rasters import RasterReadError  # rasterio: only to ask

    try:
        request = build_request(sample, template, config, None, policy)
    except RasterReadError as exc:
        return None, Failure(sample.sample_id, exc.kind, str(exc))
    except Exception as exc:  # a bad sample must not lose the run
        log.exception("caption: cannot build the request of %s", sample.sample_id)
        return None, Failure(sample.sample_id, "unexpected_error", f"{type(exc).__name__}: {exc}")
    return request, cache.get(request.key) if cache is not None else None


def prepare_payload(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    policy: TagPolicy,
    cache: RequestCache | None,
) -> tuple[CaptionRequest | None, bytes, Reply | Failure | None]:
    """:func:`prepare`, then the body serialized once and dropped from the request.

    What is kept until the reply is the JSON bytes alone (one copy of the image per request
    in flight instead of the body's string plus the transport's bytes).

    Returns:
        The request without its body, the JSON body (empty when nothing is to be sent) and
        the cached reply or failure, as :func:`prepare`.
    """
    request, known = prepare(sample, template, config, policy, cache)
    if request is None or known is not None:
        return request, b"", known
    payload = json.dumps(request.body, separators=(",", ":")).encode()
    return _light(request), payload, None


class _Pending:
    """A partition being fed: outcomes by sample position, and when all are in."""

    def __init__(self) -> None:
        self.slots: list[Outcome | None] = []
        self.missing = -1  # unknown until the partition is read
        self.counters = ClientCounters()
        self.not_marked = 0
        self.admitted = 0
        self.done = threading.Event()

    def start(self, n: int, not_marked: int) -> None:
        self.slots = [None] * n
        self.missing = n
        self.not_marked = not_marked
        if not n:
            self.done.set()

    def resolve(self, position: int, outcome: Outcome) -> None:
        self.slots[position] = outcome
        self.missing -= 1
        if self.missing == 0:
            self.done.set()


class CaptionStream:
    """Requests of many partitions through one window; results collected per partition.

    Use it as a context manager around the stage's run; the feeding thread starts at the
    first :meth:`collect`.

    Args:
        config: Captioner settings (a server engine).
        book: The prompt templates and mixes.
        policy: The tag policy.
        cache: The request cache.
        breaker: The run's circuit breaker.
        plan: The partitions the stage will do, in the order it does them (others are
            collected as ``None``; a planned partition the stage skips costs only cache hits).
    """

    def __init__(
        self,
        config: CaptionConfig,
        book: PromptBook,
        policy: TagPolicy,
        cache: RequestCache | None,
        breaker: CircuitBreaker,
        plan: Sequence[Partition],
    ) -> None:
        self.config = config
        self.book = book
        self.policy = policy
        self.cache = cache
        self.client = CaptionClient(config, cache, breaker)
        self.plan = list(plan)
        self._index = {p.name: i for i, p in enumerate(self.plan)}
        self._pending = [_Pending() for _ in self.plan]
        self._cursor = 0  # the partition the stage waits for next (loop thread)
        self._ahead = 0  # admitted samples of partitions after the cursor
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._asked: dict[str, asyncio.Future[Reply | RequestFailure]] = {}

    def __enter__(self) -> CaptionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ stage side

    def collect(self, partition: Partition) -> PartitionOutcomes | None:
        """Wait for every sample of a partition and return the outcomes.

        Partitions before it in the plan that were not collected are given up (the stage
        skipped them).

        Args:
            partition: A partition of the plan.

        Returns:
            Its outcomes, or ``None`` if it is not in the plan (the caller asks itself).

        Raises:
            RuntimeError: If the feeding thread failed.
        """
        index = self._index.get(partition.name)
        if index is None:
            return None
        self._start()
        self._move_cursor(index)
        pending = self._pending[index]
        while not pending.done.wait(0.2):
            if self._thread is not None and not self._thread.is_alive():
                break
        if not pending.done.is_set():
            raise RuntimeError(f"caption: the request stream stopped: {self._error!r}")
        self._move_cursor(index + 1)
        outcomes = [o for o in pending.slots if o is not None]
        pending.slots = []  # release the samples and replies (its counts stay for the loop)
        return PartitionOutcomes(outcomes, pending.not_marked, pending.counters)

    def close(self) -> None:
        """Stop feeding, cancel what is in flight (answered replies are cached) and wait."""
        if self._loop is not None and self._task is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        if self._thread is not None or self._started.is_set():
            return
        self._thread = threading.Thread(target=self._run, name="caption-stream", daemon=True)
        self._thread.start()
        self._started.wait()

    def _move_cursor(self, index: int) -> None:
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._advance, index)
        except RuntimeError:  # the loop has finished: everything is fed already
            pass

    # ------------------------------------------------------------------ loop side

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to collect()
            self._error = exc
            if not isinstance(exc, asyncio.CancelledError):
                log.exception("caption: the request stream failed")
        finally:
            self._started.set()

    async def _main(self) -> None:
        import aiohttp

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.current_task()
        self._started.set()
        concurrency = self.config.concurrency
        window = asyncio.Semaphore(concurrency)
        limit = asyncio.Semaphore(concurrency)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                for index, partition in enumerate(self.plan):
                    await self._feed(index, partition, session, window, limit, tasks)
                if tasks:
                    await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()

    def _advance(self, index: int) -> None:
        while self._cursor < min(index, len(self.plan)):
            self._cursor += 1
            if self._cursor < len(self.plan):
                self._ahead -= self._pending[self._cursor].admitted
        assert self._wake is not None
        self._wake.set()

    async def _admit(self, index: int) -> None:
        assert self._wake is not None
        limit = AHEAD_FACTOR * self.config.concurrency
        while index > self._cursor and self._ahead >= limit:
            self._wake.clear()
            await self._wake.wait()
        pending = self._pending[index]
        pending.admitted += 1
        if index > self._cursor:
            self._ahead += 1

    async def _feed(
        self,
        index: int,
        partition: Partition,
        session: object,
        window: asyncio.Semaphore,
        limit: asyncio.Semaphore,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        pending = self._pending[index]
        if index < self._cursor:
            return  # given up by the stage before it was fed
        marked, others = await asyncio.to_thread(read_marked, partition, self.config)
        pending.start(len(marked), others)
        for position, sample in enumerate(marked):
            await self._admit(index)
            template = self.book.choose(
                self.config.prompt_template, self.config.seed, sample.sample_id
            )
            if self.client.breaker.open:
                reason = f"not sent: {self.client.breaker.reason}"
                failure = Failure(sample.sample_id, "server_unavailable", reason)
                pending.resolve(position, Outcome(sample, template, None, failure))
                continue
            request, payload, known = await asyncio.to_thread(
                prepare_payload, sample, template, self.config, self.policy, self.cache
            )
            if request is None or known is not None:
                assert known is not None
                if isinstance(known, Reply):
                    pending.counters.cache_hits += 1
                pending.resolve(position, Outcome(sample, template, request, known))
                continue
            await window.acquire()
            task = asyncio.create_task(
                self._send(
                    pending, position, sample, template, request, payload, session, window, limit
                )
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _send(
        self,
        pending: _Pending,
        position: int,
        sample: Sample,
        template: PromptTemplate,
        request: CaptionRequest,
        payload: bytes,
        session: object,
        window: asyncio.Semaphore,
        limit: asyncio.Semaphore,
    ) -> None:
        try:
            asked = self._asked.get(request.key)
            if asked is not None:  # the same request is in flight for another sample
                result = await asyncio.shield(asked)
            else:
                result = await self._ask(request, payload, pending, session, limit, sample)
        finally:
            window.release()
        pending.resolve(position, Outcome(sample, template, request, result))

    async def _ask(
        self,
        request: CaptionRequest,
        payload: bytes,
        pending: _Pending,
        session: object,
        limit: asyncio.Semaphore,
        sample: Sample,
    ) -> Reply | RequestFailure:
        future: asyncio.Future[Reply | RequestFailure] = asyncio.get_running_loop().create_future()
        self._asked[request.key] = future
        try:
            try:
                result = await self.client.ask(
                    session, limit, request, pending.counters, False, payload
                )
                if isinstance(result, Reply) and self.cache is not None:
                    await asyncio.to_thread(self.cache.put, request.key, result)
            except Exception as exc:  # e.g. the cache's disk is full: asked again next run
                log.exception("caption: unexpected error on %s", sample.sample_id)
                result = RequestFailure("unexpected_error", f"{type(exc).__name__}: {exc}", 1)
            future.set_result(result)
            return result
        finally:
            if not future.done():
                future.cancel()
            del self._asked[request.key]


def _light(request: CaptionRequest) -> CaptionRequest:
    """Return the request without its body (the pair needs its key, image hash and region)."""
    return CaptionRequest(
        key=request.key,
        body={},
        image_sha256=request.image_sha256,
        image_role=request.image_role,
        template_id=request.template_id,
        region=request.region,
    )
