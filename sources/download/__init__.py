"""Download, verify and extract each source dataset from its official location.

``eoinstruct download SOURCE --root DIR`` fetches a source's files into ``DIR``, checks them
against the sizes and checksums their publishers (or well-tested loaders) state, and extracts
the archives so that ``DIR`` is the ``root`` the source's adapter reads (``sources.<name>.root``
in ``params.yaml``).

The package is split by concern:

- :mod:`.spec`: what a download is (:class:`RemoteFile`, :class:`DownloadSpec`, checksums,
  errors);
- :mod:`.lookup`: the specs of the registered sources (each in ``sources/<name>/download.py``)
  and the instructions of manual steps;
- :mod:`.http`: resumable, retried, verified HTTP downloads of one file;
- :mod:`.archive`: safe, once-only extraction of archives;
- :mod:`.run`: a whole source (:func:`download_source`) and its report;
- :mod:`.cli`: the ``eoinstruct download`` arguments, ``--list`` and exit statuses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoinstruct.sources.download.archive import (
        ExtractResult,
        archive_kind,
        extract_archive,
        extraction_marker,
        read_extraction_marker,
        zstd_backend,
    )
    from eoinstruct.sources.download.cli import (
        EXIT_ARCHIVE,
        EXIT_DOWNLOAD,
        EXIT_MANUAL_STEP,
        EXIT_OK,
        EXIT_USAGE,
        EXIT_VERIFICATION,
        add_download_arguments,
        describe,
        main,
        run_download,
    )
    from eoinstruct.sources.download.http import (
        FetchResult,
        download_file,
        file_digest,
        new_session,
        rebase_url,
        verify_file,
    )
    from eoinstruct.sources.download.lookup import download_specs, get_spec, manual_step
    from eoinstruct.sources.download.run import DownloadReport, FileOutcome, download_source
    from eoinstruct.sources.download.spec import (
        ArchiveError,
        Checksum,
        ChecksumError,
        DownloadError,
        DownloadSpec,
        ManualStepRequired,
        RemoteFile,
        RemoteFileNotFound,
        UnsafeArchiveError,
        VerificationError,
    )

_WHERE: dict[str, str] = {
    "ArchiveError": "spec",
    "Checksum": "spec",
    "ChecksumError": "spec",
    "DownloadError": "spec",
    "DownloadReport": "run",
    "DownloadSpec": "spec",
    "EXIT_ARCHIVE": "cli",
    "EXIT_DOWNLOAD": "cli",
    "EXIT_MANUAL_STEP": "cli",
    "EXIT_OK": "cli",
    "EXIT_USAGE": "cli",
    "EXIT_VERIFICATION": "cli",
    "ExtractResult": "archive",
    "FetchResult": "http",
    "FileOutcome": "run",
    "ManualStepRequired": "spec",
    "RemoteFile": "spec",
    "RemoteFileNotFound": "spec",
    "UnsafeArchiveError": "spec",
    "VerificationError": "spec",
    "add_download_arguments": "cli",
    "archive_kind": "archive",
    "describe": "cli",
    "download_file": "http",
    "download_source": "run",
    "download_specs": "lookup",
    "extract_archive": "archive",
    "extraction_marker": "archive",
    "file_digest": "http",
    "get_spec": "lookup",
    "main": "cli",
    "manual_step": "lookup",
    "new_session": "http",
    "read_extraction_marker": "archive",
    "rebase_url": "http",
    "run_download": "cli",
    "verify_file": "http",
    "zstd_backend": "archive",
}
"""Each public name → its submodule: imported on first use, so that the command line (which
only adds the ``download`` arguments) does not import ``requests``, ``tenacity`` and the
archive readers at every start."""


def __getattr__(name: str) -> Any:
    """Import a public name's submodule on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EXIT_ARCHIVE",
    "EXIT_DOWNLOAD",
    "EXIT_MANUAL_STEP",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_VERIFICATION",
    "ArchiveError",
    "Checksum",
    "ChecksumError",
    "DownloadError",
    "DownloadReport",
    "DownloadSpec",
    "ExtractResult",
    "FetchResult",
    "FileOutcome",
    "ManualStepRequired",
    "RemoteFile",
    "RemoteFileNotFound",
    "UnsafeArchiveError",
    "VerificationError",
    "add_download_arguments",
    "archive_kind",
    "describe",
    "download_file",
    "download_source",
    "download_specs",
    "extract_archive",
    "extraction_marker",
    "file_digest",
    "get_spec",
    "main",
    "manual_step",
    "new_session",
    "read_extraction_marker",
    "rebase_url",
    "run_download",
    "verify_file",
    "zstd_backend",
]
