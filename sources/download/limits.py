"""Bounds on a download and on an extraction.

A hostile or broken server or archive cannot make a run loop, stream, or write without end.

**Downloads** (:class:`DownloadBudget`): a total number of attempts that never resets (a
failure streak, counted again only when the partial file grows past its largest size, also
stops a run of attempts that bring nothing), a byte cap from the spec's size (a server that
answers every resume with the wrong range cannot pull gigabytes for a small file), and an
overall deadline. A host name that does not resolve fails at once (:func:`is_dns_failure`).
A file without a size in its spec learns it from the first response that states one; the
size is kept beside the partial file and checked on every resume.

**Extractions** (:class:`ExtractLimits`): total bytes written, the ratio of those to the
archive's size, and the member count, each with a clear error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import tenacity

from eoinstruct.sources.download.spec import DownloadError, UnsafeArchiveError

MAX_ATTEMPTS = 50
"""Attempts at one file in one run, at most, whatever progress they make."""

BYTE_CAP_FACTOR = 3
"""A download may receive this many times the file's (approximate) size, plus a margin."""

BYTE_CAP_MARGIN = 64 << 20
"""Bytes allowed beyond :data:`BYTE_CAP_FACTOR` times the size (small files, headers)."""

UNKNOWN_SIZE_CAP = 1 << 40
"""Byte cap of a file whose spec states no size at all (1 TiB)."""

DEADLINE_S = 24 * 3600.0
"""Default overall time for one file (seconds); the partial file is kept for the next run."""


class DownloadLimitError(DownloadError):
    """A download ran into its byte cap, its deadline or its attempt limit."""


class ArchiveLimitError(UnsafeArchiveError):
    """An archive would write more bytes or members than its limits allow (a bomb)."""


@dataclass
class DownloadBudget:
    """What one file's download may spend in one run.

    Attributes:
        max_attempts: Requests at most (never reset by progress).
        max_bytes: Bytes received at most, over all attempts.
        deadline_s: Seconds from the first request at most.
        started: ``time.monotonic()`` at creation.
    """

    max_attempts: int = MAX_ATTEMPTS
    max_bytes: int = UNKNOWN_SIZE_CAP
    deadline_s: float = DEADLINE_S
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def for_size(cls, size: int | None, **kwargs: float) -> DownloadBudget:
        """A budget whose byte cap follows a file's exact or approximate size.

        Args:
            size: The spec's size (or approximate size) in bytes, None when unknown.
            **kwargs: ``max_attempts``, ``deadline_s`` to override.

        Returns:
            The budget.
        """
        cap = BYTE_CAP_FACTOR * size + BYTE_CAP_MARGIN if size else UNKNOWN_SIZE_CAP
        budget = cls(max_bytes=cap)
        for key, value in kwargs.items():
            setattr(budget, key, type(getattr(budget, key))(value))
        return budget

    def check(self, url: str, received: int, attempts: int) -> None:
        """Raise when the download has spent its budget.

        Args:
            url: The URL (for the message).
            received: Bytes received so far, over all attempts.
            attempts: Attempts made so far.

        Raises:
            DownloadLimitError: Naming the limit; the partial file is kept.
        """
        what = ""
        if received > self.max_bytes:
            what = f"received {received} bytes, over the cap of {self.max_bytes}"
        elif time.monotonic() - self.started > self.deadline_s:
            what = f"still running after the deadline of {self.deadline_s:.0f} s"
        elif attempts >= self.max_attempts:
            what = f"{attempts} attempts, the most allowed"
        if what:
            raise DownloadLimitError(
                f"{url}: download stopped: {what}; the server may be resending the file. The "
                "partial file is kept: run the command again later to resume"
            )


class FailureStreak:
    """Failed attempts in a row, steering ``tenacity``'s stop and wait.

    The streak starts again from 1 only when the partial file grew past its largest size so
    far (bytes that a restart threw away are no progress); the budget's attempt limit never
    starts again.

    Args:
        part: The partial file.
        retries: Failed attempts in a row allowed after the first.
        backoff: Seconds before the first retry; doubled at each further one.
        budget: The download's budget (attempt limit).
    """

    def __init__(self, part: Path, retries: int, backoff: float, budget: DownloadBudget) -> None:
        self.part = part
        self.retries = retries
        self.backoff = backoff
        self.budget = budget
        self.failures = 0
        self.attempts = 0
        self.high_water = _size(part)

    def count(self, state: tenacity.RetryCallState) -> None:
        """Count a failed attempt (tenacity's ``after``)."""
        self.attempts += 1
        size = _size(self.part)
        self.failures = 1 if size > self.high_water else self.failures + 1
        self.high_water = max(self.high_water, size)

    def stop(self, state: tenacity.RetryCallState) -> bool:
        """Whether the retries, or the budget's attempts, are used up."""
        return self.failures > self.retries or self.attempts >= self.budget.max_attempts

    def wait(self, state: tenacity.RetryCallState) -> float:
        """Seconds before the next attempt: the backoff, or a longer ``Retry-After``."""
        delay = self.backoff * 2 ** min(self.failures - 1, 6)
        failure = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(failure, "retry_after", None)
        return max(delay, retry_after) if retry_after is not None else delay


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def is_dns_failure(exc: BaseException) -> bool:
    """Whether a connection error is a host name that does not resolve (no retry helps)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        text = str(current)
        if name in ("NameResolutionError", "gaierror") or any(
            sign in text
            for sign in (
                "NameResolutionError",
                "Name or service not known",
                "Temporary failure in name resolution",
                "nodename nor servname",
                "getaddrinfo failed",
            )
        ):
            return True
        current = current.__cause__ or current.__context__ or _reason(current)
    return False


def _reason(exc: BaseException) -> BaseException | None:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    args = getattr(exc, "args", ())
    return next((a for a in args if isinstance(a, BaseException)), None)


def learned_size_path(part: Path) -> Path:
    """The file holding the size a server stated for a partial download."""
    return part.with_name(part.name + ".size")


def learned_size(part: Path) -> int | None:
    """The size learned for a partial download, or None."""
    try:
        return int(learned_size_path(part).read_text().strip())
    except (OSError, ValueError):
        return None


def learn_size(part: Path, size: int) -> None:
    """Record the size a server stated for a partial download (first response only)."""
    path = learned_size_path(part)
    if not path.exists():
        path.write_text(f"{size}\n")


@dataclass(frozen=True)
class ExtractLimits:
    """What extracting one archive may write.

    Attributes:
        max_bytes: Bytes of member data at most (None: ``max_ratio`` times the archive).
        max_ratio: Member bytes per archive byte at most.
        max_members: Members at most.
    """

    max_bytes: int | None = None
    max_ratio: float = 200.0
    max_members: int = 20_000_000

    def byte_limit(self, archive_size: int) -> int:
        """Bytes an archive of this size may write."""
        by_ratio = int(self.max_ratio * max(archive_size, 1)) + (1 << 20)
        return min(self.max_bytes, by_ratio) if self.max_bytes is not None else by_ratio

    def check(self, archive: str, archive_size: int, written: int, members: int) -> None:
        """Raise when an extraction goes past a limit.

        Raises:
            ArchiveLimitError: Naming the limit (nothing is left extracted).
        """
        limit = self.byte_limit(archive_size)
        if written > limit:
            ratio = written / max(archive_size, 1)
            raise ArchiveLimitError(
                f"{archive}: would write more than {limit} bytes ({ratio:.0f}x its "
                f"{archive_size} bytes; limit {self.max_ratio:g}x"
                + (f" or {self.max_bytes} bytes" if self.max_bytes is not None else "")
                + "); refusing it as a decompression bomb"
            )
        if members > self.max_members:
            raise ArchiveLimitError(f"{archive}: more than {self.max_members} members; refusing it")
