"""Download, verify and extract a whole source into the layout its adapter reads.

:func:`download_source` runs :func:`~eoinstruct.sources.download.http.download_file` and
:func:`~eoinstruct.sources.download.archive.extract_archive` over a source's
:class:`~eoinstruct.sources.download.spec.DownloadSpec` and reports what it did. Sources that
cannot be downloaded without registering (xBD) raise
:class:`~eoinstruct.sources.download.spec.ManualStepRequired` with instructions
(:func:`~eoinstruct.sources.download.lookup.manual_step`); once the user has put the archives
in the root, the same call verifies and extracts them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from eoinstruct.sources.download.archive import extract_archive, read_extraction_marker
from eoinstruct.sources.download.http import (
    download_file,
    new_session,
    rebase_url,
    verify_file,
)
from eoinstruct.sources.download.limits import DownloadBudget, ExtractLimits
from eoinstruct.sources.download.lookup import get_spec, manual_step
from eoinstruct.sources.download.spec import (
    DownloadSpec,
    ManualStepRequired,
    RemoteFile,
    RemoteFileNotFound,
)

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    """What happened to one file of a source.

    Attributes:
        key: The file's key.
        name: The file name.
        status: ``downloaded``, ``present`` (already complete), ``extracted-earlier``
            (marker found, archive not needed), ``found-extracted`` (its folders exist
            without a marker, not verified) or ``missing-upstream`` (404 on a file whose
            existence was UNVERIFIED).
        verified: ``md5``, ``sha256``, ``size``, ``none``, or ``marker`` (an earlier run
            verified and extracted it).
        extracted: Whether it was extracted in this run.
    """

    key: str
    name: str
    status: str
    verified: str = "none"
    extracted: bool = False


@dataclass
class DownloadReport:
    """Result of :func:`download_source`.

    Attributes:
        source: The source name.
        root: The folder the files were fetched into.
        files: One outcome per selected file.
        warnings: Degraded conditions (no checksum, unverified files, missing folders).
        params_root: The folder to set as ``sources.<source>.root`` in ``params.yaml``
            (``root`` itself, or the spec's ``params_root`` sub-folder when it exists).
    """

    source: str
    root: Path
    files: list[FileOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    params_root: Path | None = None

    def warn(self, message: str) -> None:
        """Record and log a warning."""
        log.warning("%s", message)
        self.warnings.append(message)

    def summary(self) -> str:
        """Return a human-readable summary, ending with the ``params.yaml`` setting."""
        lines = [f"{self.source}: {len(self.files)} file(s) in {self.root}"]
        for f in self.files:
            extra = ", extracted" if f.extracted else ""
            lines.append(f"  {f.name}: {f.status} (verified: {f.verified}{extra})")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        root = self.params_root if self.params_root is not None else self.root
        lines.append(f"params.yaml: sources.{self.source}: {{enabled: true, root: {root}}}")
        return "\n".join(lines)


def _found_extracted(spec: DownloadSpec, f: RemoteFile, root: Path) -> bool:
    """Whether ``f``'s folders already exist although no marker records extracting it.

    Only folders that no other file of the spec also provides count (two SatlasPretrain
    archives both fill ``sentinel2/``, so that folder says nothing about either).
    """
    if not f.extract or not f.provides:
        return False
    shared = {p for g in spec.files if g is not f for p in g.provides}
    if shared.intersection(f.provides):
        return False
    return all((root / p).exists() for p in f.provides)


def _present_manually(spec: DownloadSpec, f: RemoteFile, root: Path) -> bool:
    if (root / f.name).is_file() or read_extraction_marker(f.name, root) is not None:
        return True
    return _found_extracted(spec, f, root)


def download_source(
    name: str,
    root: Path | str,
    *,
    base_url: str | None = None,
    only: Sequence[str] | None = None,
    extract: bool = True,
    progress: bool = True,
    session: requests.Session | None = None,
) -> DownloadReport:
    """Download, verify and extract a source into the layout its adapter reads.

    Files already complete are not fetched again; archives whose extraction marker exists
    are neither fetched nor extracted again (so the archives may be deleted after a
    successful run). Files without a published checksum are checked by size (or not at
    all), with a warning in the report.

    Args:
        name: Source name (see :func:`~eoinstruct.sources.download.lookup.download_specs`) or
            alias.
        root: Target folder; afterwards it (or the spec's ``params_root`` sub-folder, see
            :attr:`DownloadReport.params_root`) is the ``root`` to put in ``params.yaml``.
        base_url: Replace the scheme and host of every URL (a mirror or a test server).
        only: Keys or names of the files to fetch (default: the spec's default files).
        extract: Extract archives after download.
        progress: Show progress bars.
        session: HTTP session to use.

    Returns:
        What was done, with warnings.

    Raises:
        ValueError: Unknown source or file.
        ManualStepRequired: The source must be fetched by hand and some selected files
            are not in ``root`` yet (nothing is downloaded).
        DownloadError: A download failed (see :func:`download_file`).
        VerificationError: A file failed its size or checksum check.
        ArchiveError: An archive could not be extracted.
    """
    spec = get_spec(name)
    files = spec.select(only)
    root = Path(root)
    report = DownloadReport(spec.name, root)

    missing_manual = [f for f in files if f.url is None and not _present_manually(spec, f, root)]
    if missing_manual:
        text = manual_step(spec.name, root) or f"{spec.name}: fetch these files by hand"
        names = "\n".join(f"  - {f.name}" for f in missing_manual)
        raise ManualStepRequired(spec.name, f"{text}\n\nMissing in {root}:\n{names}")

    root.mkdir(parents=True, exist_ok=True)
    own_session = session is None
    sess = session if session is not None else new_session()
    try:
        for f in files:
            report.files.append(
                _fetch_one(spec, f, root, base_url, extract, progress, sess, report)
            )
    finally:
        if own_session:
            sess.close()
    sub = root / spec.params_root if spec.params_root else root
    report.params_root = sub if sub.is_dir() else root
    if spec.params_root and sub != report.params_root:
        report.warn(
            f"{spec.name}: {spec.params_root}/ is not in {root}; set sources.{spec.name}.root "
            f"to the folder that holds {spec.layout}"
        )
    elif spec.params_root:
        siblings = sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir() and p.name != spec.params_root and not p.name.startswith(".")
        )
        if siblings:
            log.info(
                "%s: the adapter reads one folder at a time; the other parts are %s",
                spec.name,
                ", ".join(siblings),
            )
    return report


def _fetch_one(
    spec: DownloadSpec,
    f: RemoteFile,
    root: Path,
    base_url: str | None,
    extract: bool,
    progress: bool,
    sess: requests.Session,
    report: DownloadReport,
) -> FileOutcome:
    dest = root / f.name
    marker = read_extraction_marker(f.name, root) if f.extract else None
    if marker is not None and (f.size is None or marker.get("size") == f.size):
        # Extracted from a verified archive before; the archive itself may have been deleted.
        # A present archive of another size (a newer download) is verified and extracted.
        if not dest.exists() or marker.get("size") == dest.stat().st_size:
            return FileOutcome(f.key, f.name, "extracted-earlier", "marker")
    if marker is None and not dest.exists() and _found_extracted(spec, f, root):
        report.warn(
            f"{spec.name}: {', '.join(f.provides)} already exist in {root} without a record "
            f"of extracting {f.name}; not fetching it (contents not verified)"
        )
        return FileOutcome(f.key, f.name, "found-extracted", "none")

    if f.url is None:
        level = verify_file(dest, expected_size=f.size, checksum=f.checksum, progress=progress)
        outcome = FileOutcome(f.key, f.name, "present", level)
    else:
        url = rebase_url(f.url, base_url)
        try:
            result = download_file(
                url,
                dest,
                expected_size=f.size,
                checksum=f.checksum,
                session=sess,
                progress=progress,
                budget=DownloadBudget.for_size(f.size or f.approx_size),
            )
        except RemoteFileNotFound:
            if f.must_exist:
                raise
            report.warn(
                f"{spec.name}: {f.name} is not at {url} (its presence there was UNVERIFIED); "
                "skipped"
            )
            return FileOutcome(f.key, f.name, "missing-upstream", "none")
        outcome = FileOutcome(
            f.key, f.name, "downloaded" if result.downloaded else "present", result.verified
        )
    if f.checksum is None:
        checked = "its size was checked" if f.size is not None else "it could not be verified"
        report.warn(f"{spec.name}: {f.name} has no published checksum (UNVERIFIED); {checked}")
    if f.extract and extract:
        limits = ExtractLimits(max_bytes=f.max_extracted_bytes)
        if f.max_members is not None:
            limits = dataclasses.replace(limits, max_members=f.max_members)
        extract_archive(dest, root, progress=progress, limits=limits)
        outcome.extracted = True
        for p in f.provides:
            if not (root / p).exists():
                report.warn(
                    f"{spec.name}: {f.name} did not provide {p}/ (the expected layout is "
                    f"UNVERIFIED or the archive differs); check {root}"
                )
    return outcome
