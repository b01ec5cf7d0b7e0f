"""What a source's download is: its files and their facts, and the errors of a download.

Each source states its :class:`DownloadSpec` in ``sources/<name>/download.py`` (``SPEC``),
next to its adapter; :mod:`~eoinstruct.sources.download.lookup` finds them through the source
registry, so a source with a ``download.py`` can be downloaded without being listed anywhere
else. The dataset's title, homepage and licence are not repeated in the spec: it reads them
from the source's facts (``sources/<name>/facts.py``).

Each fact in a spec carries a comment saying where it comes from. A fact that could not be
confirmed is marked **UNVERIFIED** there, and the code tolerates it: a file without a known
checksum is checked by size only (or not at all) and the report says so; a file whose very
existence is unconfirmed (``must_exist=False``) is skipped with a warning when the server
answers 404; an approximate size (``approx_size``) is only shown, never enforced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eoinstruct.sources.base import SourceFacts

HashAlgorithm = Literal["md5", "sha256"]
"""Checksum algorithms the specs use."""

Checksum = tuple[HashAlgorithm, str]
"""A published checksum: ``(algorithm, lower-case hex digest)``."""

_HEX_LENGTH: dict[str, int] = {"md5": 32, "sha256": 64}

GB = 1_000_000_000
"""A decimal gigabyte, for approximate sizes."""


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class DownloadError(Exception):
    """A file could not be downloaded (network failure, HTTP error, retries exhausted)."""


class RemoteFileNotFound(DownloadError):
    """The server answered 404 or 410 for a file."""


class VerificationError(DownloadError):
    """A downloaded or existing file does not have the expected size or checksum."""


class ChecksumError(VerificationError):
    """A file's digest differs from the published one.

    Attributes:
        path: The file that was checked (already deleted when raised by a download).
        algorithm: ``md5`` or ``sha256``.
        expected: The published digest.
        actual: The digest of the file.
    """

    def __init__(self, path: Path, algorithm: str, expected: str, actual: str, note: str) -> None:
        super().__init__(
            f"{path.name}: {algorithm} checksum mismatch: expected {expected}, got {actual}; {note}"
        )
        self.path = path
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class ArchiveError(Exception):
    """An archive cannot be extracted: corrupt, truncated, unsupported or missing a decoder."""


class UnsafeArchiveError(ArchiveError):
    """An archive member would be written outside the target folder, or is a device file."""


class ManualStepRequired(Exception):
    """A source needs a manual step (registration, licence acceptance) before it can be fetched.

    Attributes:
        source: The source name.
        instructions: What to do, with the expected files and layout.
    """

    def __init__(self, source: str, instructions: str) -> None:
        super().__init__(instructions)
        self.source = source
        self.instructions = instructions


# --------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source, as its publisher distributes it.

    Attributes:
        key: Short id used with ``--only`` (``s2``, ``split-train``…).
        name: File name under the root (the download's target).
        url: Official download URL, or None when the file can only be fetched by hand.
        size: Exact size in bytes, from a verified source; enforced.
        checksum: Published checksum, from a verified source; enforced.
        approx_size: Approximate or unverified size in bytes; shown, never enforced.
        extract: Whether the file is an archive to extract into the root.
        provides: Paths (relative to the root) the file provides once extracted; a missing
            one gives a warning, and when all exist the file counts as already extracted.
        default: Whether the file is fetched when ``only`` is not given (large optional
            parts are not).
        must_exist: False for files whose existence at ``url`` is UNVERIFIED: a 404 then
            gives a warning instead of an error.
        note: Provenance of the facts and caveats, shown by ``--list``.
        max_extracted_bytes: Bytes an archive may write when extracted (None: 200 times its
            size, :class:`~eoinstruct.sources.download.limits.ExtractLimits`).
        max_members: Members an archive may hold (None: the default limit).
    """

    key: str
    name: str
    url: str | None
    size: int | None = None
    checksum: Checksum | None = None
    approx_size: int | None = None
    extract: bool = False
    provides: tuple[str, ...] = ()
    default: bool = True
    must_exist: bool = True
    note: str = ""
    max_extracted_bytes: int | None = None
    max_members: int | None = None


@dataclass(frozen=True)
class DownloadSpec:
    """Where and how to fetch one source.

    Attributes:
        facts: The source's facts (``sources/<name>/facts.py``); :attr:`name`,
            :attr:`title`, :attr:`homepage` and :attr:`licence` are read from them.
        layout: What the target folder holds after download and extraction (STARCOP's
            parts differ from the one folder the adapter reads, ``facts.layout``).
        files: The files, in download order.
        manual: Instructions when the files cannot be fetched automatically (``{root}`` is
            replaced by the target folder), else None.
        params_root: Sub-folder of the target to give the adapter as ``root`` when the
            archives extract into one folder per part (STARCOP), "" for the target itself.
        aliases: Other names ``eoinstruct download`` accepts for the source.
    """

    facts: SourceFacts
    layout: str
    files: tuple[RemoteFile, ...]
    manual: str | None = None
    params_root: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Source name (the adapter's ``sources.<name>`` in ``params.yaml``)."""
        return self.facts.name

    @property
    def title(self) -> str:
        """Dataset name and version."""
        return self.facts.title

    @property
    def homepage(self) -> str:
        """Where the dataset is described."""
        return self.facts.homepage

    @property
    def licence(self) -> str:
        """Licence of the data, as the source's facts state it."""
        return self.facts.licence

    def select(self, only: Sequence[str] | None = None) -> tuple[RemoteFile, ...]:
        """Return the files to fetch.

        Args:
            only: Keys or file names; None selects the default files.

        Returns:
            The selected files, in spec order.

        Raises:
            ValueError: If ``only`` names a file the spec does not have.
        """
        if only is None:
            return tuple(f for f in self.files if f.default)
        wanted = {item.strip() for entry in only for item in entry.split(",") if item.strip()}
        known = {f.key for f in self.files} | {f.name for f in self.files}
        unknown = sorted(wanted - known)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown file(s) {', '.join(unknown)}; known: "
                + ", ".join(f"{f.key} ({f.name})" for f in self.files)
            )
        if not wanted:
            raise ValueError(f"{self.name}: --only selects no file")
        return tuple(f for f in self.files if f.key in wanted or f.name in wanted)


def zenodo_url(record: int, name: str) -> str:
    """Return the download URL of a file of a Zenodo record."""
    return f"https://zenodo.org/records/{record}/files/{name}?download=1"


def hf_dataset_url(repo: str, revision: str, path: str) -> str:
    """Return the download URL of a file of a Hugging Face dataset at a pinned revision."""
    return f"https://huggingface.co/datasets/{repo}/resolve/{revision}/{path}"


def check_checksum(checksum: Checksum) -> tuple[str, str]:
    """Validate a published checksum.

    Args:
        checksum: ``(algorithm, hex digest)``.

    Returns:
        The algorithm and the lower-case digest.

    Raises:
        ValueError: If the algorithm is not md5 or sha256, or the digest is malformed.
    """
    algorithm, digest = checksum
    if algorithm not in _HEX_LENGTH:
        raise ValueError(f"unsupported checksum algorithm {algorithm!r} (md5 or sha256)")
    digest = digest.lower()
    if len(digest) != _HEX_LENGTH[algorithm] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"malformed {algorithm} digest {digest!r}")
    return algorithm, digest


def human_size(size: int) -> str:
    """Return a size in bytes as text (``66.0 GB``)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover
