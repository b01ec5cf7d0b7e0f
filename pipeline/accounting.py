"""Counting every input: read = kept + dropped (by reason) + failed (by error kind).

Each step returns a :class:`StageStats` per partition; the executor sums them per stage and
the report stage checks the identity for every stage. A broken identity is a bug and raises
:class:`AccountingError` rather than being reported as if it were fine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class AccountingError(AssertionError):
    """A stage's counts do not add up."""


@dataclass
class StageStats:
    """Counts of one stage over one partition (or summed over many).

    Attributes:
        read: Units the stage took in (source units, samples or pairs).
        kept: Units passed on.
        dropped: Units removed on purpose, by reason.
        failed: Units that could not be processed, by error kind.
        produced: Other counts that are not part of the identity (e.g. pairs per task).
        seconds: Wall time spent.
    """

    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    produced: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def drop(self, reason: str) -> None:
        """Count one unit dropped for ``reason``."""
        self.dropped[reason] += 1

    def fail(self, kind: str) -> None:
        """Count one unit failed with error ``kind``."""
        self.failed[kind] += 1

    def check(self, what: str = "stage") -> None:
        """Raise if ``read != kept + dropped + failed``.

        Args:
            what: Name used in the error message.

        Raises:
            AccountingError: If the identity does not hold.
        """
        total = self.kept + sum(self.dropped.values()) + sum(self.failed.values())
        if total != self.read:
            raise AccountingError(
                f"{what}: read {self.read} != kept {self.kept} + dropped "
                f"{dict(self.dropped)} + failed {dict(self.failed)}"
            )

    def __iadd__(self, other: StageStats) -> StageStats:
        self.read += other.read
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.failed.update(other.failed)
        self.produced.update(other.produced)
        self.seconds += other.seconds
        return self

    def to_dict(self, with_seconds: bool = True) -> dict[str, object]:
        """Return a JSON-ready dict with sorted keys (stable metrics files).

        Args:
            with_seconds: Include the wall time (leave it out of files that must be
                identical from one build to the next).
        """
        data: dict[str, object] = {
            "read": self.read,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "failed": dict(sorted(self.failed.items())),
            "produced": dict(sorted(self.produced.items())),
        }
        if with_seconds:
            data["seconds"] = round(self.seconds, 3)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StageStats:
        """Rebuild stats from :meth:`to_dict` output."""
        return cls(
            read=int(data["read"]),  # type: ignore[arg-type]
            kept=int(data["kept"]),  # type: ignore[arg-type]
            dropped=Counter(data.get("dropped", {})),  # type: ignore[arg-type]
            failed=Counter(data.get("failed", {})),  # type: ignore[arg-type]
            produced=Counter(data.get("produced", {})),  # type: ignore[arg-type]
            seconds=float(data.get("seconds", 0.0)),  # type: ignore[arg-type]
        )


def total(stats: Iterable[StageStats]) -> StageStats:
    """Sum several stats.

    Args:
        stats: Stats to add up.

    Returns:
        Their sum.
    """
    out = StageStats()
    for item in stats:
        out += item
    return out
