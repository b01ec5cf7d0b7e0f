"""The ``eoinstruct download`` command: arguments, ``--list`` and exit statuses.

``eoinstruct download SOURCE --root DIR`` fetches a source's files into ``DIR``, checks them
against the sizes and checksums their publishers (or well-tested loaders) state, and extracts
the archives so that ``DIR`` is the ``root`` the source's adapter reads (``sources.<name>.root``
in ``params.yaml``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from eoinstruct.sources import registry
from eoinstruct.sources.download.lookup import get_spec
from eoinstruct.sources.download.spec import (
    ArchiveError,
    DownloadError,
    DownloadSpec,
    ManualStepRequired,
    VerificationError,
    human_size,
)

EXIT_OK = 0
"""Exit status: everything selected is downloaded, verified and extracted."""
EXIT_USAGE = 2
"""Exit status: unknown source or file name, bad arguments."""
EXIT_MANUAL_STEP = 3
"""Exit status: the source needs a manual step first (e.g. registration); nothing was fetched."""
EXIT_VERIFICATION = 4
"""Exit status: a file failed its size or checksum check (the bad file was deleted)."""
EXIT_DOWNLOAD = 5
"""Exit status: a download failed (network, HTTP status) after its retries."""
EXIT_ARCHIVE = 6
"""Exit status: an archive is corrupt, truncated, unsafe or of an unsupported format."""


def describe(spec: DownloadSpec) -> str:
    """Return the facts of a source's files as text (``--list``)."""
    lines = [
        f"{spec.name}: {spec.title}",
        f"  homepage: {spec.homepage}",
        f"  licence:  {spec.licence}",
        f"  layout:   {spec.layout}",
    ]
    if spec.manual:
        lines.append("  MANUAL STEP: registration required (see the message without --list)")
    for f in spec.files:
        if f.size is not None:
            size = f"{f.size} B"
        elif f.approx_size:
            size = f"~{human_size(f.approx_size)} (approx.)"
        else:
            size = "size ?"
        check = f"{f.checksum[0]}:{f.checksum[1]}" if f.checksum else "no checksum"
        flags = [] if f.default else ["optional"]
        if not f.must_exist:
            flags.append("may be absent")
        lines.append(
            f"  [{f.key}] {f.name}  {size}  {check}" + (f"  ({', '.join(flags)})" if flags else "")
        )
        lines.append(f"      {f.url or '(manual download)'}")
        if f.note:
            lines.append(f"      {f.note}")
    return "\n".join(lines)


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``download`` subcommand's arguments to a parser.

    Args:
        parser: The (sub)parser.
    """
    names = [name for name in registry.source_names() if registry.entry(name).has_download()]
    parser.add_argument("source", help="source name: " + ", ".join(names))
    parser.add_argument(
        "--root", type=Path, help="target folder (then set sources.<source>.root to it)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="FILE",
        help="fetch only these files (key or file name; repeat or separate with commas)",
    )
    parser.add_argument("--no-extract", action="store_true", help="do not extract archives")
    parser.add_argument(
        "--base-url", help="replace the scheme and host of every URL (a mirror or test server)"
    )
    parser.add_argument(
        "--list", action="store_true", help="show the files, sizes, checksums and licence"
    )


def run_download(args: argparse.Namespace, *, progress: bool = True) -> int:
    """Run ``eoinstruct download`` from parsed arguments.

    Args:
        args: Arguments from :func:`add_download_arguments`.
        progress: Show progress bars.

    Returns:
        The exit status: :data:`EXIT_OK`, :data:`EXIT_USAGE`, :data:`EXIT_MANUAL_STEP`,
        :data:`EXIT_VERIFICATION`, :data:`EXIT_DOWNLOAD` or :data:`EXIT_ARCHIVE`.
    """
    from eoinstruct.sources.download.run import download_source  # requests, tenacity: slow

    prog = "eoinstruct download"
    try:
        spec = get_spec(args.source)
        if args.list:
            print(describe(spec))
            return EXIT_OK
        if args.root is None:
            print(f"{prog}: error: --root is required", file=sys.stderr)
            return EXIT_USAGE
        report = download_source(
            spec.name,
            args.root,
            base_url=args.base_url,
            only=args.only,
            extract=not args.no_extract,
            progress=progress,
        )
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ManualStepRequired as exc:
        print(exc.instructions, file=sys.stderr)
        return EXIT_MANUAL_STEP
    except VerificationError as exc:
        print(f"{prog}: verification failed: {exc}", file=sys.stderr)
        return EXIT_VERIFICATION
    except DownloadError as exc:
        print(f"{prog}: download failed: {exc}", file=sys.stderr)
        return EXIT_DOWNLOAD
    except ArchiveError as exc:
        print(f"{prog}: extraction failed: {exc}", file=sys.stderr)
        return EXIT_ARCHIVE
    except OSError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_DOWNLOAD
    print(report.summary())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m eoinstruct.sources.download SOURCE --root DIR``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (see :func:`run_download`).
    """
    parser = argparse.ArgumentParser(
        prog="eoinstruct download", description="Download, verify and extract a source dataset."
    )
    add_download_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_download(args, progress=not args.no_progress)
