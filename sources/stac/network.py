"""The STAC adapter's network side: timeouts, retries, failure kinds, antimeridian boxes.

Holds the HTTP settings every request of the adapter uses (:func:`requests_timeout`,
:func:`api_retry` for pystac-client and the item fetch, :func:`gdal_http_env` for rasterio's
``/vsicurl/`` reads), :func:`raster_error`, which tells a network failure from a missing or a
corrupt file, :func:`public_href` and :class:`RedactQueries` (hrefs without their signature in
messages and GDAL's log lines) and the
antimeridian helpers (:func:`split_antimeridian`, :func:`box_center`).

Facts relied on:

- GDAL's ``GDAL_HTTP_TIMEOUT`` bounds one HTTP request (curl's total time),
  ``GDAL_HTTP_CONNECTTIMEOUT`` its connection; with ``GDAL_HTTP_MAX_RETRY`` > 0 GDAL retries
  HTTP 429/500/502/503/504 and curl's "timed out"/"connection reset" errors after
  ``GDAL_HTTP_RETRY_DELAY`` seconds. Its errors read ``HTTP response code: <n>`` or
  ``CURL error: <text>`` (checked against a local server in ``tests/test_stac_network.py``).
- The STAC API spec lets a bbox cross the antimeridian: ``west > east``
  (``[170, -10, -170, 10]`` is 20° wide around 180°).

Decisions:

- **Worst case.** An API request waits at most ``connect_timeout_s`` + ``timeout_s`` and is
  not retried after a read timeout (a server that accepts and never answers fails after
  ``timeout_s``); connection errors and HTTP 429/5xx are retried ``retries`` times, without
  honouring ``Retry-After`` (it could ask for hours). An asset read is one GDAL request per
  range, each at most (``retries`` + 1) × ``timeout_s`` plus the retry delays.
- **Failure kinds.** For a remote href, HTTP 404/410 is ``missing_file`` (the server says
  the file is not there; retrying will not help); any other HTTP error status, a timeout, a
  refused, reset or unresolvable connection is ``network`` (the next run may succeed); only
  a file that arrived and cannot be decoded is ``corrupt_raster``.
- **Antimeridian.** A crossing box becomes two boxes, ``[west, 180]`` and ``[-180, east]``:
  an API search sends them as one ``intersects`` MultiPolygon (one request, so ``max_items``
  and ``sortby`` keep their meaning); a static catalog's items are matched against both.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from urllib3.util.retry import Retry

from eoinstruct.sources.base import SourceError

DEFAULT_TIMEOUT_S = 30.0
"""Seconds one HTTP request may wait for an answer (``sources.stac.timeout_s``)."""

DEFAULT_CONNECT_TIMEOUT_S = 10.0
"""Seconds to open a connection (``sources.stac.connect_timeout_s``)."""

DEFAULT_RETRIES = 2
"""Retries of a refused connection or an HTTP 429/5xx answer (``sources.stac.retries``)."""

RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)
"""HTTP statuses worth another try."""

MISSING_STATUSES: tuple[str, ...] = ("404", "410")
"""HTTP statuses that say the file is not there (``missing_file``, not ``network``)."""

_HTTP_STATUS = re.compile(
    r"(?:HTTP (?:response code:|error code:|status)?\s*|response_code=)(\d{1,3})\b"
)
_NETWORK_WORDS = (
    "curl error",
    "timed out",
    "could not connect",
    "couldn't connect",
    "connection refused",
    "connection reset",
    "could not resolve",
    "couldn't resolve",
    "recv failure",
    "send failure",
    "transfer closed",
    "empty reply",
    "ssl connect",
    "certificate",
)


def requests_timeout(connect_s: float, read_s: float) -> tuple[float, float]:
    """Return the ``(connect, read)`` timeout for :mod:`requests`.

    Args:
        connect_s: Seconds to connect.
        read_s: Seconds to wait between bytes of the answer.

    Returns:
        The pair requests takes as ``timeout``.
    """
    return (float(connect_s), float(read_s))


def api_retry(retries: int) -> Retry:
    """Return the retry policy of API requests (pystac-client's session, the item fetch).

    Args:
        retries: Retries of a refused connection or an HTTP 429/5xx answer.

    Returns:
        A urllib3 policy that never retries a read timeout and ignores ``Retry-After``.
    """
    return Retry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        other=0,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.5,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def gdal_http_env(connect_s: float, read_s: float, retries: int) -> dict[str, Any]:
    """GDAL configuration for ``/vsicurl/`` reads, to pass to :class:`rasterio.Env`.

    Args:
        connect_s: Seconds to connect.
        read_s: Seconds one request may take.
        retries: Retries of HTTP 429/5xx answers and timeouts.

    Returns:
        The options (GDAL takes whole seconds; at least 1).
    """
    return {
        "GDAL_HTTP_CONNECTTIMEOUT": max(1, math.ceil(connect_s)),
        "GDAL_HTTP_TIMEOUT": max(1, math.ceil(read_s)),
        "GDAL_HTTP_MAX_RETRY": int(retries),
        "GDAL_HTTP_RETRY_DELAY": 1,
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    }


def public_href(href: str) -> str:
    """Return an href fit for a message: without its query (a signature or token).

    Args:
        href: A path or URL, possibly signed.

    Returns:
        The href without ``?…``.
    """
    parsed = urlparse(href)
    if parsed.scheme and len(parsed.scheme) > 1 and parsed.query:
        return parsed._replace(query="").geturl() + "?…"
    return href


_SIGNED_URL = re.compile(r"((?:https?|s3|gs|az)://[^\s?\"']+)\?[^\s\"']+")


class RedactQueries(logging.Filter):
    """Log filter that drops the query (signature, token) of every URL in a message.

    GDAL reports its HTTP retries as warnings naming the full, signed URL; the adapter puts
    this filter on rasterio's ``rasterio._env`` logger, which relays them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without URL queries; keep the record.

        Args:
            record: A log record.

        Returns:
            True (the record is kept).
        """
        message = record.getMessage()
        redacted = _SIGNED_URL.sub(r"\1?…", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_gdal_logs() -> None:
    """Put :class:`RedactQueries` on rasterio's GDAL message logger (once)."""
    logger = logging.getLogger("rasterio._env")
    if not any(isinstance(f, RedactQueries) for f in logger.filters):
        logger.addFilter(RedactQueries())


def is_remote(href: str) -> bool:
    """Whether an href is read over a network (``http(s)://``, ``s3://``, ``/vsicurl/``…).

    Args:
        href: A path or URL.

    Returns:
        True for URLs and GDAL network paths, False for local paths and ``file://``.
    """
    if href.startswith(("/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "/vsihttp")):
        return True
    scheme = urlparse(href).scheme
    return bool(scheme) and len(scheme) > 1 and scheme != "file"


def network_kind(text: str) -> str | None:
    """Classify an error text of a remote read: ``network``, ``missing_file`` or None.

    Args:
        text: The error message (GDAL, curl or requests), with GDAL's logged messages.

    Returns:
        ``missing_file`` for HTTP 404/410; None for HTTP 416 (the file is shorter than its
        header says: truncated) and for a text that names no network failure (a decoding
        error); ``network`` for any other HTTP status (0: no answer) or a connection failure.
    """
    match = _HTTP_STATUS.search(text)
    if match:
        code = match.group(1)
        if code in MISSING_STATUSES:
            return "missing_file"
        return None if code == "416" else "network"
    lower = text.lower()
    if any(word in lower for word in _NETWORK_WORDS):
        return "network"
    return None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def gdal_messages() -> Iterator[list[str]]:
    """Collect what GDAL logs (through rasterio) while reading.

    A tile request that fails mid-read surfaces only as ``TIFFFillTile: Read error … got 0
    bytes``; the HTTP status is in a logged warning (``Request for a-b failed with
    response_code=503``), which :func:`raster_error` reads from here.

    Yields:
        The messages logged so far.
    """
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in ("rasterio._err", "rasterio._env")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.WARNING:
            # rasterio's warnings are silenced (the CLI sets ERROR): collect them all the
            # same, without passing them on to the handlers that silenced them
            logger.setLevel(logging.WARNING)
            logger.propagate = False
    try:
        yield handler.messages
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def _chain(exc: BaseException) -> list[str]:
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(texts) < 10:
        seen.add(id(current))
        texts.append(" ".join(str(current).split()))
        current = current.__cause__ or current.__context__
    return texts


def raster_error(
    href: str,
    exc: Exception,
    unit: str,
    action: str = "cannot open",
    logged: Sequence[str] = (),
) -> SourceError:
    """Turn a rasterio error on an asset into the unit's failure, with the right kind.

    Args:
        href: The href that was read (signed or not; the message drops the signature).
        exc: The error rasterio raised (its chained GDAL errors are read too).
        unit: Unit id.
        action: What was being done, for the message.
        logged: GDAL's messages logged during the read (:func:`gdal_messages`).

    Returns:
        ``network`` (remote href, connection or HTTP failure), ``missing_file`` (no such
        file, HTTP 404/410) or ``corrupt_raster`` (the bytes arrived and cannot be decoded,
        or the file is shorter than its header says).
    """
    texts = _chain(exc)
    text = "; ".join(dict.fromkeys(texts[:1] + texts[-1:]))
    shown = public_href(href)
    kind = None
    if is_remote(href):
        for candidate in [*texts, *(" ".join(m.split()) for m in logged)]:
            kind = network_kind(_SIGNED_URL.sub(r"\1?…", candidate))
            if kind is not None:
                text = _SIGNED_URL.sub(r"\1?…", candidate)[:300]
                break
    if kind == "network":
        return SourceError(
            "network",
            f"{shown}: {action}: network failure ({text}); a later run may succeed, or raise "
            "sources.stac.timeout_s / retries in params.yaml",
            unit,
        )
    if kind == "missing_file" or "No such file" in text or "does not exist" in text:
        return SourceError("missing_file", f"{shown}: {action}: {text}", unit)
    return SourceError("corrupt_raster", f"{shown}: {action}: {text}", unit)


def crosses_antimeridian(box: tuple[float, float, float, float]) -> bool:
    """Whether a ``[west, south, east, north]`` lon/lat box crosses the antimeridian.

    Args:
        box: The box (``west > east`` when it crosses, as the STAC API spec allows).

    Returns:
        ``west > east``.
    """
    return box[0] > box[2]


def split_antimeridian(
    box: tuple[float, float, float, float],
) -> list[tuple[float, float, float, float]]:
    """Split a box that crosses the antimeridian into its western and eastern parts.

    Args:
        box: ``[west, south, east, north]``.

    Returns:
        ``[(west, south, 180, north), (-180, south, east, north)]`` if it crosses, else
        ``[box]``.
    """
    west, south, east, north = box
    if not crosses_antimeridian(box):
        return [box]
    return [(west, south, 180.0, north), (-180.0, south, east, north)]


def box_center(box: tuple[float, float, float, float]) -> tuple[float, float]:
    """Return the centre ``(lon, lat)`` of a lon/lat box, across the antimeridian too.

    Args:
        box: ``[west, south, east, north]``.

    Returns:
        The centre, its longitude in [-180, 180] (180 for a box centred on the line).
    """
    west, south, east, north = box
    lat = (south + north) / 2
    if not crosses_antimeridian(box):
        return (west + east) / 2, lat
    lon = (west + east + 360.0) / 2
    return (lon - 360.0 if lon > 180 else lon), lat
