"""Counting every input: read = kept + dropped (by reason) + failed (by error kind).

Each step returns a :class:`StageStats` per partition; the executor sums them per stage and
the report stage checks the identity for every stage. A broken identity is a bug and raises
:class:`AccountingError` rather than being reported as if it were fine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AccountingError(AssertionError):
    """A stage's counts do not add up."""


class FailureKind(StrEnum):
    """Why a unit could not be processed: the ``failed`` keys of the stage metrics."""

    MISSING_FILE = "missing_file"
    MISSING_BAND = "missing_band"
    MALFORMED_LABEL = "malformed_label"
    BAD_METADATA = "bad_metadata"
    CORRUPT_RASTER = "corrupt_raster"
    NETWORK = "network"
    """A remote read timed out, was refused or reset, or got HTTP 429/5xx (not the data's fault)."""
    CRS_MISMATCH = "crs_mismatch"
    """Band files of one image in different CRSs (pixels read: the score stage)."""
    SIZE_MISMATCH = "size_mismatch"
    """Band files of one image with other bounds, or a size the layout does not allow."""
    BAND_COUNT = "band_count"
    """A raster with another band count than its layout declares."""
    DTYPE = "dtype"
    """A raster whose dtype its encoding does not allow."""
    TOO_LARGE = "too_large"
    """A raster header declaring more pixels than the read limit (a forged header)."""
    UNEXPECTED_ERROR = "unexpected_error"
    """A bug on odd input: logged with its traceback, counted, and the run goes on."""


class Reason(StrEnum):
    """Why a unit was dropped on purpose: the ``dropped`` keys of the stage metrics.

    The filter's reasons come first, in the order the filter checks them
    (:data:`eoinstruct.pipeline.quality.thresholds.FILTER_REASONS`).
    """

    NO_GEOLOCATION = "no_geolocation"
    OUTSIDE_AOI = "outside_aoi"
    LOW_COVERAGE = "low_coverage"
    SNOW_OR_CLOUD = "snow_or_cloud"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    DEGENERATE = "degenerate"
    TOO_FEW_TAGS = "too_few_tags"
    DUPLICATE_EXACT = "duplicate_exact"
    DUPLICATE_NEAR = "duplicate_near"
    DUPLICATE_PLACE_TIME = "duplicate_place_time"
    NO_APPLICABLE_TEMPLATE = "no_applicable_template"
    """``generate``: no template applies to the sample's labels."""


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
    def from_dict(cls, data: Mapping[str, Any]) -> StageStats:
        """Rebuild stats from :meth:`to_dict` output."""
        return cls(
            read=int(data["read"]),
            kept=int(data["kept"]),
            dropped=Counter(data.get("dropped", {})),
            failed=Counter(data.get("failed", {})),
            produced=Counter(data.get("produced", {})),
            seconds=float(data.get("seconds", 0.0)),
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
