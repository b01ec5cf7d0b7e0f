"""The captioner's client of an OpenAI-compatible chat-completions server.

**Requests** (:class:`CaptionClient`) are asynchronous (aiohttp) under a concurrency limit,
spread over several servers (``base_urls``: data-parallel replicas; a request goes to the
server chosen by its cache key and moves to the next one on each retry), with a timeout per
request and retries with exponential backoff (at least the server's ``Retry-After``) on
5xx/408/429 answers, timeouts, dropped connections and malformed response bodies. Other 4xx
answers are not retried.

**Provenance**: each reply keeps the response's ``model``, ``system_fingerprint`` and token
``usage``, and the engine version the server reports at ``GET <root>/version`` (vLLM; asked
once per server and run, empty where the server has no such endpoint).

The retry loop is ``tenacity``'s. The transport stays aiohttp (kept: ``openai`` is not in the
lock and would add httpx, jiter and distro for one POST, while its own retries stay on one base
URL and skip malformed bodies; ``aiohttp-retry`` 2.9 sends the headers, the API key among them,
only with the first URL of a list: read in its ``RetryClient._make_request``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import email.utils
import json
import logging
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tenacity

from eoinstruct.pipeline.caption.cache import Reply, RequestCache
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import CaptionRequest
from eoinstruct.pipeline.config import ConfigError

log = logging.getLogger(__name__)

FAILURE_KINDS: tuple[str, ...] = (
    "server_error",
    "timeout",
    "connection_error",
    "bad_response",
    "client_error",
    "engine_error",
    "server_unavailable",
    "unexpected_error",
)
"""Kinds of request failure, after the retries (the stage adds render failures;
``engine_error``: the offline engine's worker failed; ``server_unavailable``: not sent, the
circuit breaker had opened; ``unexpected_error``: the stream could not ask or store it)."""


@dataclass(frozen=True)
class RequestFailure:
    """A request that failed after its retries.

    Attributes:
        kind: One of :data:`FAILURE_KINDS`.
        message: What happened on the last attempt.
        attempts: Attempts made.
    """

    kind: str
    message: str
    attempts: int


RETRY_AFTER_MAX_S = 300.0
"""The longest ``Retry-After`` (seconds) a retry waits for; a longer one is cut to this."""


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header, given in seconds or as an HTTP date."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())
    if seconds is None or not seconds >= 0:
        return None
    return min(seconds, RETRY_AFTER_MAX_S)


class _Retryable(Exception):
    def __init__(
        self, kind: str, message: str, retry_after: float | None = None, down: bool = True
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.down = down  # a sign of a dead server (the circuit breaker counts it)


@dataclass
class CircuitBreaker:
    """Opens after ``limit`` consecutive failed attempts with no reply in between.

    Connection errors, timeouts and 5xx answers count; a busy server's 429/408 and malformed
    bodies do not. Once open, no request is sent any more (``server_unavailable``). Share one
    breaker between the clients of a run so that a dead server stops the whole run quickly.

    Attributes:
        limit: Consecutive failed attempts that open it (0: never opens).
        consecutive: Failed attempts since the last reply.
        reason: Why it opened (empty while closed).
    """

    limit: int
    consecutive: int = 0
    reason: str = ""

    @property
    def open(self) -> bool:
        """Whether requests are refused."""
        return bool(self.reason)

    def failed(self, message: str) -> None:
        """Count one failed attempt (opens the breaker at ``limit``)."""
        self.consecutive += 1
        if self.limit and self.consecutive >= self.limit and not self.reason:
            self.reason = f"{self.consecutive} consecutive failed attempts, the last: {message}"
            log.error("captioner: circuit breaker open: %s", self.reason)

    def replied(self) -> None:
        """Count one reply (closes the run of failures)."""
        self.consecutive = 0


class _Fatal(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class ClientCounters:
    """What a client did: requests sent (attempts), retries, cache hits.

    ``in_flight`` is the number of requests on the wire now (sent, no answer yet).
    """

    attempts: int = 0
    retries: int = 0
    cache_hits: int = 0
    replies: int = 0
    failures: int = 0
    in_flight: int = 0


def split_cached(
    requests: Sequence[CaptionRequest], cache: RequestCache | None, counters: ClientCounters
) -> tuple[dict[str, Reply | RequestFailure], dict[str, CaptionRequest]]:
    """Split requests into cached replies and those still to ask, each key once.

    Args:
        requests: The requests.
        cache: The reply cache (``None``: nothing is cached).
        counters: Counters whose ``cache_hits`` are incremented.

    Returns:
        Replies by key (from the cache) and the requests to send, by key.
    """
    results: dict[str, Reply | RequestFailure] = {}
    todo: dict[str, CaptionRequest] = {}
    for request in requests:
        if request.key in results or request.key in todo:
            continue
        cached = cache.get(request.key) if cache is not None else None
        if cached is not None:
            counters.cache_hits += 1
            results[request.key] = cached
        else:
            todo[request.key] = request
    return results, todo


class CaptionClient:
    """Asynchronous chat-completions client with a cache, retries and a concurrency limit.

    Args:
        config: Captioner settings.
        cache: The request cache (``None``: no caching).
        breaker: The run's circuit breaker (default: one of this client's own, from
            ``config.circuit_breaker``).
    """

    def __init__(
        self,
        config: CaptionConfig,
        cache: RequestCache | None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if not config.base_urls:
            raise ConfigError("caption: no base_urls to send requests to")
        self.config = config
        self.cache = cache
        self.breaker = breaker if breaker is not None else CircuitBreaker(config.circuit_breaker)
        self.counters = ClientCounters()
        self._rng = random.Random(config.seed)
        self._versions: dict[int, str] = {}

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        token = os.environ.get(self.config.api_key_env, "") if self.config.api_key_env else ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _version(self, session: Any, index: int) -> str:
        """Return the engine version of a server (``GET <root>/version``), ``""`` if none."""
        if index in self._versions:
            return self._versions[index]
        import aiohttp

        root = self.config.base_urls[index].removesuffix("/v1")
        version = ""
        try:
            async with session.get(f"{root}/version", headers=self._headers()) as response:
                if response.status == 200:
                    data = json.loads(await response.text())
                    version = str(data.get("version", "")) if isinstance(data, dict) else ""
        except (TimeoutError, aiohttp.ClientError, ValueError):
            version = ""
        self._versions[index] = version
        return version

    async def _post(self, session: Any, index: int, body: Mapping[str, Any] | bytes) -> Reply:
        import aiohttp

        url = f"{self.config.base_urls[index]}/chat/completions"
        self.counters.in_flight += 1
        try:
            sent = {"data": body} if isinstance(body, bytes) else {"json": body}
            async with session.post(url, headers=self._headers(), **sent) as response:
                text = await response.text()
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except TimeoutError as exc:
            raise _Retryable(
                "timeout", f"no reply within {self.config.timeout_s} s from {url}"
            ) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable("connection_error", f"{type(exc).__name__}: {exc} ({url})") from exc
        finally:
            self.counters.in_flight -= 1
        if status >= 500 or status in (408, 429):
            raise _Retryable(
                "server_error",
                f"HTTP {status} from {url}: {text[:200]}",
                retry_after,
                down=status >= 500,
            )
        if status >= 400:
            raise _Fatal("client_error", f"HTTP {status} from {url}: {text[:300]}")
        try:
            data = json.loads(text)
            choice = data["choices"][0]
            message = choice["message"]
            content = message.get("content") or ""
            if not isinstance(content, str):
                raise TypeError("content is not a string")
            finish = str(choice.get("finish_reason") or "")
            usage = data.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens", -1))
            completion_tokens = int(usage.get("completion_tokens", -1))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _Retryable(
                "bad_response",
                f"malformed completion from {url}: {text[:200]!r} ({exc})",
                down=False,
            ) from exc
        return Reply(
            content=content,
            finish_reason=finish,
            base_url_index=index,
            served_model=str(data.get("model") or ""),
            system_fingerprint=str(data.get("system_fingerprint") or ""),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            engine_version=await self._version(session, index),
        )

    async def ask(
        self,
        session: Any,
        limit: asyncio.Semaphore,
        request: CaptionRequest,
        tally: ClientCounters | None = None,
        store: bool = True,
        payload: bytes | None = None,
    ) -> Reply | RequestFailure:
        """Ask one request, with its retries (no cache lookup).

        Args:
            session: An ``aiohttp.ClientSession``.
            limit: Held during each attempt (the concurrency limit).
            request: The request.
            tally: Counters of the caller's own (attempts, retries, replies, failures),
                counted besides the client's.
            store: Put the reply in the cache (off when the caller stores it itself).
            payload: The body already serialized as JSON (then ``request.body`` is not
                used and may be empty).

        Returns:
            The reply, or the failure after the retries.
        """
        tallies = [self.counters] if tally is None else [self.counters, tally]
        n = len(self.config.base_urls)
        start = int(request.key[:8], 16) % n
        exponential = tenacity.wait_exponential(multiplier=self.config.backoff_s)

        def wait(state: tenacity.RetryCallState) -> float:
            delay = float(exponential(state)) * (1.0 + 0.1 * self._rng.random())
            failure = state.outcome.exception() if state.outcome is not None else None
            retry_after = getattr(failure, "retry_after", None)
            return max(delay, retry_after) if retry_after is not None else delay

        def before_sleep(state: tenacity.RetryCallState) -> None:
            for counters in tallies:
                counters.retries += 1
            assert state.outcome is not None
            log.warning(
                "captioner: attempt %d of %s failed: %s",
                state.attempt_number,
                request.key[:12],
                state.outcome.exception(),
            )

        attempt = 0
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self.config.retries + 1),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for trial in retrying:
                with trial:
                    attempt = trial.retry_state.attempt_number
                    async with limit:
                        if self.breaker.open:
                            raise _Fatal("server_unavailable", f"not sent: {self.breaker.reason}")
                        try:
                            index = (start + attempt - 1) % n
                            for counters in tallies:
                                counters.attempts += 1
                            body = request.body if payload is None else payload
                            reply = await self._post(session, index, body)
                        except _Retryable as exc:
                            if exc.down:
                                self.breaker.failed(str(exc))
                            raise
                        self.breaker.replied()
        except (_Retryable, _Fatal) as exc:
            log.warning(
                "captioner: %s failed after %d attempt(s): %s", request.key[:12], attempt, exc
            )
            for counters in tallies:
                counters.failures += 1
            return RequestFailure(exc.kind, str(exc), attempt)
        if store and self.cache is not None:
            self.cache.put(request.key, reply)
        for counters in tallies:
            counters.replies += 1
        return reply

    async def fetch(self, requests: Sequence[CaptionRequest]) -> dict[str, Reply | RequestFailure]:
        """Get the replies of several requests (cached ones without asking).

        Identical keys are requested once. Each reply is stored in the cache as soon as it
        arrives. All bodies exist before the first is sent: the stage streams instead
        (:class:`~eoinstruct.pipeline.caption.stream.CaptionStream`); this serves the offline
        engine's batches and direct use.

        Args:
            requests: The requests.

        Returns:
            Reply or failure by cache key.
        """
        import aiohttp

        results, todo = split_cached(requests, self.cache, self.counters)
        if not todo:
            return results
        limit = asyncio.Semaphore(self.config.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        connector = aiohttp.TCPConnector(limit=self.config.concurrency, force_close=False)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            replies = await asyncio.gather(*(self.ask(session, limit, r) for r in todo.values()))
        results.update(zip(todo, replies, strict=True))
        return results

    def fetch_sync(self, requests: Sequence[CaptionRequest]) -> dict[str, Reply | RequestFailure]:
        """Blocking :meth:`fetch` (runs its own event loop, in a thread if one is running).

        Args:
            requests: The requests.

        Returns:
            Reply or failure by cache key.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.fetch(requests))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self.fetch(requests)).result()
