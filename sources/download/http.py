"""Resumable, verified downloads over HTTP.

:func:`download_file` streams one URL into ``<dest>.part``, resumes with an HTTP ``Range``
request after a dropped connection (and starts over when the server ignores ``Range`` or the
partial file is larger than expected), retries with back-off (or the server's ``Retry-After``
on 408/429/5xx), verifies size and checksum, then renames the file atomically to ``dest``. A
verified file is recorded in a small stamp file so that a re-run skips it without hashing it
again.

The retry loop is ``tenacity``'s, with a stop and a wait that count failures since the partial
file last grew, and a budget (:mod:`~eoinstruct.sources.download.limits`: attempts that never
reset, a byte cap, a deadline) that bounds the whole download. The resuming is own code
(kept: ``urllib3.Retry`` retries a request, not a body dropped half-way, and
``huggingface_hub`` 2.4's download restarted from byte 0 on each retry and deleted its
partial file when they ran out, so the next run fetched everything again; measured by
``python -m benchmarks.libraries``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
import tenacity
import urllib3
from tqdm import tqdm

from eoinstruct.sources.download.limits import (
    DownloadBudget,
    FailureStreak,
    is_dns_failure,
    learn_size,
    learned_size,
    learned_size_path,
)
from eoinstruct.sources.download.spec import (
    Checksum,
    ChecksumError,
    DownloadError,
    RemoteFileNotFound,
    VerificationError,
    check_checksum,
)

log = logging.getLogger(__name__)

_USER_AGENT = "eoinstruct-download/0.1 (+https://github.com; dataset download)"
CHUNK = 1 << 20
"""Bytes read or written at a time."""


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------


def file_digest(path: Path, algorithm: str, *, progress: bool = False) -> str:
    """Return the hex digest of a file.

    Args:
        path: The file.
        algorithm: ``md5`` or ``sha256``.
        progress: Show a progress bar.

    Returns:
        The lower-case hex digest.
    """
    digest = hashlib.new(algorithm)
    size = path.stat().st_size
    with (
        path.open("rb") as fh,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"{algorithm} {path.name}",
            disable=not progress or size < 64 * CHUNK,
            leave=False,
        ) as bar,
    ):
        while chunk := fh.read(8 * CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def verify_file(
    path: Path,
    *,
    expected_size: int | None = None,
    checksum: Checksum | None = None,
    progress: bool = False,
) -> str:
    """Check a file's size and checksum.

    Args:
        path: The file.
        expected_size: Size in bytes it must have, if known.
        checksum: ``(algorithm, hex digest)`` it must have, if known.
        progress: Show a progress bar while hashing.

    Returns:
        What was verified: ``md5``, ``sha256``, ``size`` or ``none``.

    Raises:
        VerificationError: If the size differs.
        ChecksumError: If the digest differs.
    """
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise VerificationError(
            f"{path.name}: {size} bytes, expected {expected_size}; the file is incomplete or "
            "not the published one"
        )
    if checksum is not None:
        algorithm, expected = check_checksum(checksum)
        actual = file_digest(path, algorithm, progress=progress)
        if actual != expected:
            raise ChecksumError(path, algorithm, expected, actual, "the file is corrupt")
        return algorithm
    return "size" if expected_size is not None else "none"


def _stamp_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.verified.json")


def _stamp_matches(dest: Path, expected_size: int | None, checksum: Checksum | None) -> str | None:
    stamp = _stamp_path(dest)
    try:
        data = json.loads(stamp.read_text())
        st = dest.stat()
    except (OSError, ValueError):
        return None
    wanted = list(check_checksum(checksum)) if checksum else None
    if (
        data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
        and data.get("checksum") == wanted
        and (expected_size is None or expected_size == st.st_size)
    ):
        return str(data.get("verified", "none"))
    return None


def _write_stamp(dest: Path, checksum: Checksum | None, verified: str) -> None:
    st = dest.stat()
    data = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "checksum": list(check_checksum(checksum)) if checksum else None,
        "verified": verified,
    }
    tmp = _stamp_path(dest).with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, _stamp_path(dest))


# --------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    """What :func:`download_file` did.

    Attributes:
        path: The final file.
        downloaded: False when the file was already complete and verified.
        transferred: Bytes received over the network in this call.
        verified: What was checked: ``md5``, ``sha256``, ``size`` or ``none``.
    """

    path: Path
    downloaded: bool
    transferred: int
    verified: str


RETRY_AFTER_MAX_S = 300.0
"""The longest ``Retry-After`` (seconds) a retry waits for; a longer one is cut to this."""


class _Retryable(Exception):
    """A failure worth another attempt (dropped connection, 5xx, short body).

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), if it did.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """Return the seconds of a ``Retry-After`` header given in seconds, else None.

    Args:
        value: The header's value (an HTTP date gives None: the backoff applies).

    Returns:
        Seconds to wait, at most :data:`RETRY_AFTER_MAX_S`.
    """
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or seconds != seconds or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_MAX_S)


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CONTENT_RANGE_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


def new_session() -> requests.Session:
    """Return an HTTP session with this module's User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    return session


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download_file(
    url: str,
    dest: Path | str,
    *,
    expected_size: int | None = None,
    checksum: Checksum | None = None,
    session: requests.Session | None = None,
    progress: bool = True,
    retries: int = 8,
    timeout: float | tuple[float, float] = (15.0, 120.0),
    backoff: float = 2.0,
    budget: DownloadBudget | None = None,
) -> FetchResult:
    """Download one URL to ``dest``, resumably, and verify it.

    The body goes to ``<dest>.part``. After a dropped connection or a timeout the download
    continues from the partial file's length with an HTTP ``Range`` request; if the server
    ignores ``Range`` (answers 200) or the partial file is larger than ``expected_size``,
    it starts over cleanly. Once complete, the size and checksum are checked; a mismatch
    deletes the partial file and raises. Only then is the file renamed to ``dest``
    (atomically) and a stamp written beside it, so a re-run skips it without hashing again.
    An existing ``dest`` is re-verified (unless its stamp matches) and downloaded again if
    it fails.

    Args:
        url: Where to fetch the file (redirects are followed).
        dest: Final path.
        expected_size: Size in bytes, if known (enforced).
        checksum: ``(algorithm, hex digest)``, if known (enforced).
        session: HTTP session to use (a new one by default).
        progress: Show a tqdm progress bar.
        retries: How many times in a row a failed attempt is retried; an attempt after which
            the partial file is larger than ever before starts the count again, so a flaky
            connection can still finish a large file (the budget's attempt limit never starts
            again). 0 disables retrying (the partial file is kept either way, and a later
            call resumes it).
        timeout: Connect and read timeouts in seconds for each request.
        backoff: Seconds to wait before the first retry; doubled at each further one.
        budget: Attempts, bytes and time the download may spend
            (:class:`~eoinstruct.sources.download.limits.DownloadBudget`; default: from
            ``expected_size``). Without ``expected_size`` the size the server states first is
            kept beside the partial file and enforced on every resume and at the end.

    Returns:
        What was done.

    Raises:
        RemoteFileNotFound: If the server answers 404 or 410.
        DownloadError: On another HTTP error, or when the retries are exhausted.
        VerificationError: If the size differs from ``expected_size`` (the partial file is
            deleted).
        ChecksumError: If the digest differs (the partial file is deleted).
    """
    dest = Path(dest)
    if checksum is not None:
        check_checksum(checksum)
    if dest.exists():
        level = _stamp_matches(dest, expected_size, checksum)
        if level is not None:
            log.debug("%s: already downloaded and verified (%s)", dest.name, level)
            return FetchResult(dest, False, 0, level)
        try:
            level = verify_file(
                dest, expected_size=expected_size, checksum=checksum, progress=progress
            )
        except VerificationError as exc:
            log.warning("%s exists but fails verification (%s); downloading it again", dest, exc)
            dest.unlink()
        else:
            _write_stamp(dest, checksum, level)
            return FetchResult(dest, False, 0, level)

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    own_session = session is None
    sess = session if session is not None else new_session()
    try:
        transferred = _fetch(
            sess,
            url,
            part,
            expected_size,
            progress,
            retries,
            timeout,
            backoff,
            dest.name,
            budget or DownloadBudget.for_size(expected_size),
        )
    finally:
        if own_session:
            sess.close()
    size = expected_size if expected_size is not None else learned_size(part)
    learned_size_path(part).unlink(missing_ok=True)
    try:
        level = verify_file(part, expected_size=size, checksum=checksum, progress=progress)
    except ChecksumError as exc:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            dest,
            exc.algorithm,
            exc.expected,
            exc.actual,
            f"downloaded from {url}; the file was deleted (run again to download it anew)",
        ) from None
    except VerificationError as exc:
        part.unlink(missing_ok=True)
        raise VerificationError(f"{exc} (downloaded from {url}; the file was deleted)") from None
    if expected_size is None and level == "size":
        level = "none"  # checked against the server's own statement, not a published size
    os.replace(part, dest)
    _write_stamp(dest, checksum, level)
    return FetchResult(dest, True, transferred, level)


def _fetch(
    sess: requests.Session,
    url: str,
    part: Path,
    expected_size: int | None,
    progress: bool,
    retries: int,
    timeout: float | tuple[float, float],
    backoff: float,
    label: str,
    budget: DownloadBudget,
) -> int:
    """Fill ``part`` with the body of ``url``, resuming and retrying; return bytes received."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        log.warning(
            "%s: partial file has %d bytes, more than the expected %d; starting over",
            part,
            offset,
            expected_size,
        )
        part.unlink()
        offset = 0
    if expected_size is not None and 0 < offset == expected_size:
        return 0
    received = [0]
    streak = FailureStreak(part, retries, backoff, budget)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        assert state.outcome is not None
        log.warning(
            "%s: %s; retrying from byte %d in %.0f s (%d/%d)",
            label,
            state.outcome.exception(),
            _size(part),
            state.upcoming_sleep,
            streak.failures,
            retries,
        )

    with tqdm(
        total=expected_size,
        initial=offset,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        disable=not progress,
        leave=False,
    ) as bar:
        try:
            for trial in tenacity.Retrying(
                retry=tenacity.retry_if_exception_type(_Retryable),
                after=streak.count,
                stop=streak.stop,
                wait=streak.wait,
                before_sleep=before_sleep,
                reraise=True,
            ):
                with trial:
                    expected = expected_size if expected_size is not None else learned_size(part)
                    _attempt(sess, url, part, _size(part), expected, timeout, bar, received, budget)
        except _Retryable as exc:
            if streak.attempts >= budget.max_attempts:
                budget.check(url, received[0], streak.attempts)
            raise DownloadError(
                f"{url}: download failed ({exc}); {_size(part)} bytes are kept in {part} - "
                "run the command again to resume"
            ) from None
    return received[0]


def _size(path: Path) -> int:
    """Return a file's size, 0 when it does not exist."""
    return path.stat().st_size if path.exists() else 0


def _attempt(
    sess: requests.Session,
    url: str,
    part: Path,
    offset: int,
    expected_size: int | None,
    timeout: float | tuple[float, float],
    bar: tqdm,
    received: list[int],
    budget: DownloadBudget,
) -> None:
    """Make one request, appending to ``part``; raise :class:`_Retryable` on a transient failure.

    ``received[0]`` counts the bytes received, across attempts; ``budget`` bounds them and
    the time. A host name that does not resolve raises :class:`DownloadError` at once.
    """
    headers = {"Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    try:
        with sess.get(url, headers=headers, stream=True, timeout=timeout) as resp:
            status = resp.status_code
            if status in (404, 410):
                raise RemoteFileNotFound(f"{url}: HTTP {status} {resp.reason} (file not found)")
            if status == 416 and offset > 0:
                match = _CONTENT_RANGE_UNSATISFIED.match(resp.headers.get("Content-Range", ""))
                total = int(match.group(1)) if match else expected_size
                if total is not None and total == offset:
                    return
                part.unlink(missing_ok=True)
                bar.reset(total=expected_size)
                raise _Retryable(f"server refused the range from byte {offset}; starting over")
            if status in (408, 429) or status >= 500:
                raise _Retryable(
                    f"HTTP {status} {resp.reason}",
                    retry_after_seconds(resp.headers.get("Retry-After")),
                )
            if status >= 400:
                raise DownloadError(f"{url}: HTTP {status} {resp.reason}")
            encoded = resp.headers.get("Content-Encoding", "identity").lower() not in (
                "",
                "identity",
            )
            if status == 206:
                match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
                if match is None or int(match.group(1)) != offset:
                    part.unlink(missing_ok=True)
                    bar.reset(total=expected_size)
                    raise _Retryable(
                        f"server answered range {resp.headers.get('Content-Range')!r} "
                        f"for bytes={offset}-; starting over"
                    )
                total = None if match.group(3) == "*" else int(match.group(3))
                mode = "ab"
            else:
                if offset > 0:
                    log.info(
                        "%s: the server ignored the Range request; downloading from the start",
                        url,
                    )
                    bar.reset(total=expected_size)
                offset = 0
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() and not encoded else None
                mode = "wb"
            if bar.total is None and total is not None:
                bar.total = total
                bar.refresh()
            if total is not None and expected_size is None:
                learn_size(part, total)
            elif total is not None and total != expected_size and learned_size(part) is not None:
                part.unlink(missing_ok=True)
                learned_size_path(part).unlink(missing_ok=True)
                raise _Retryable(
                    f"the server now reports {total} bytes, {expected_size} at the first "
                    "response; starting over"
                )
            if expected_size is not None and total is not None and total != expected_size:
                raise VerificationError(
                    f"{url}: the server reports {total} bytes, expected {expected_size}; "
                    "not downloading a different file"
                )
            with part.open(mode) as fh:
                for chunk in _body_chunks(resp):
                    fh.write(chunk)
                    offset += len(chunk)
                    received[0] += len(chunk)
                    bar.update(len(chunk))
                    budget.check(url, received[0], 0)
                    if expected_size is not None and offset > expected_size:
                        fh.close()
                        part.unlink(missing_ok=True)
                        raise VerificationError(
                            f"{url}: received more than the expected {expected_size} bytes; "
                            "the partial file was deleted"
                        )
            if total is not None and offset < total:
                raise _Retryable(f"connection closed after {offset} of {total} bytes")
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.ReadTimeoutError,
        urllib3.exceptions.DecodeError,
    ) as exc:
        if is_dns_failure(exc):
            host = urlsplit(url).hostname
            raise DownloadError(
                f"{url}: cannot resolve the host {host} (DNS); check the network connection, "
                "or give --base-url for a mirror"
            ) from None
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None


def _body_chunks(resp: requests.Response) -> Iterator[bytes]:
    """Yield the body as it arrives, including the bytes received before a dropped connection.

    ``requests``' ``iter_content`` buffers up to a whole chunk and loses that buffer when the
    connection breaks; ``urllib3``'s ``read1`` returns whatever has arrived, so a resumed
    download continues exactly where the data stopped.
    """
    raw = resp.raw
    if not hasattr(raw, "read1"):
        yield from (chunk for chunk in resp.iter_content(CHUNK) if chunk)
        return
    while True:
        chunk = raw.read1(CHUNK, decode_content=True)
        if not chunk:
            return
        yield chunk


def rebase_url(url: str, base_url: str | None) -> str:
    """Replace the scheme and host of ``url`` by those of ``base_url`` (a mirror or test server).

    A path in ``base_url`` is prefixed to the original path.

    Args:
        url: The official URL.
        base_url: E.g. ``http://127.0.0.1:8000`` or ``https://mirror.example/ds``; None keeps
            ``url``.

    Returns:
        The rebased URL (query kept).
    """
    if not base_url:
        return url
    base = urlsplit(base_url)
    orig = urlsplit(url)
    path = base.path.rstrip("/") + "/" + orig.path.lstrip("/")
    return urlunsplit((base.scheme, base.netloc, path, orig.query, ""))
