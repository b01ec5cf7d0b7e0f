"""Safe, once-only extraction of the archives of a source.

:func:`extract_archive` extracts ``.tar``, ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``,
``.tar.zst`` and ``.zip`` archives *safely*: every member is checked before it is written, and
members that are absolute paths, that resolve outside the target folder (``..``), that are
symlinks or hard links pointing outside it, or that are device files or FIFOs are refused
(the whole archive is refused). Extraction goes to a staging folder inside the target, and
only a complete, clean extraction is moved into place and recorded with a marker file, so a
truncated archive leaves nothing behind and a re-run does not extract twice. ``.tar.zst``
needs the ``zstandard`` module or the ``zstd`` command-line tool.
"""

from __future__ import annotations

import errno
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from tqdm import tqdm

from eoinstruct.sources.download.http import CHUNK
from eoinstruct.sources.download.limits import ExtractLimits
from eoinstruct.sources.download.spec import ArchiveError, UnsafeArchiveError

_ARCHIVE_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".tar.gz", "tar.gz"),
    (".tgz", "tar.gz"),
    (".tar.bz2", "tar.bz2"),
    (".tar.xz", "tar.xz"),
    (".tar.zst", "tar.zst"),
    (".tzst", "tar.zst"),
    (".tar", "tar"),
    (".zip", "zip"),
)


def archive_kind(path: Path | str) -> str:
    """Return the archive format of a file from its name.

    Args:
        path: The archive.

    Returns:
        ``tar``, ``tar.gz``, ``tar.bz2``, ``tar.xz``, ``tar.zst`` or ``zip``.

    Raises:
        ArchiveError: If the name has none of these suffixes.
    """
    name = Path(path).name.lower()
    for suffix, kind in _ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            return kind
    raise ArchiveError(
        f"{Path(path).name}: not a supported archive (.tar[.gz|.bz2|.xz|.zst], .zip)"
    )


def zstd_backend() -> str | None:
    """Return how ``.tar.zst`` archives can be read here: ``zstandard``, ``zstd-cli`` or None."""
    try:
        import zstandard  # noqa: F401
    except ImportError:
        pass
    else:
        return "zstandard"
    if shutil.which("zstd"):
        return "zstd-cli"
    return None


@dataclass(frozen=True)
class ExtractResult:
    """What :func:`extract_archive` did.

    Attributes:
        root: The folder extracted into.
        entries: Top-level names the archive put in ``root``.
        members: Number of members extracted.
        skipped: True when a marker showed the archive was already extracted.
    """

    root: Path
    entries: tuple[str, ...]
    members: int
    skipped: bool


def extraction_marker(archive_name: str, root: Path) -> Path:
    """Return the marker file recording that an archive was fully extracted into ``root``."""
    return Path(root) / f".{archive_name}.extracted.json"


def read_extraction_marker(archive_name: str, root: Path) -> dict[str, Any] | None:
    """Return the contents of an archive's extraction marker, or None if there is none."""
    try:
        data = json.loads(extraction_marker(archive_name, root).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("archive") == archive_name else None


class _CountingReader:
    """File wrapper that reports bytes read to a progress bar."""

    def __init__(self, fh: IO[bytes], bar: tqdm) -> None:
        self._fh = fh
        self._bar = bar

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._bar.update(len(data))
        return data

    def close(self) -> None:
        self._fh.close()


@contextmanager
def _tar_stream(path: Path, kind: str, bar: tqdm) -> Iterator[tarfile.TarFile]:
    """Open a tar archive for sequential reading (no seeking, any size)."""
    if kind != "tar.zst":
        mode = {"tar": "r|", "tar.gz": "r|gz", "tar.bz2": "r|bz2", "tar.xz": "r|xz"}[kind]
        with path.open("rb") as raw:
            reader = _CountingReader(raw, bar)
            with tarfile.open(fileobj=reader, mode=mode) as tar:
                yield tar
        return
    backend = zstd_backend()
    if backend == "zstandard":
        import zstandard

        with path.open("rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(_CountingReader(raw, bar))
            try:
                with tarfile.open(fileobj=reader, mode="r|") as tar:
                    yield tar
            except zstandard.ZstdError as exc:
                raise ArchiveError(
                    f"{path.name}: the zstd stream is corrupt or truncated ({exc})"
                ) from exc
        return
    if backend == "zstd-cli":
        proc = subprocess.Popen(
            ["zstd", "-dcq", "--", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        ok = False
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                yield tar
            while proc.stdout.read(CHUNK):  # drain the tar padding so zstd exits cleanly
                pass
            ok = True
        finally:
            if not ok:
                proc.kill()
            proc.stdout.close()
            stderr = proc.stderr.read().decode(errors="replace").strip()
            proc.stderr.close()
            code = proc.wait()
        if code != 0:
            raise ArchiveError(f"{path.name}: zstd failed (exit {code}): {stderr}")
        bar.update(path.stat().st_size)
        return
    raise ArchiveError(
        f"{path.name}: cannot read .tar.zst archives: the Python module 'zstandard' is not "
        "installed and no 'zstd' command is on PATH. Install one of them "
        "(pip install zstandard, or apt-get install zstd) and run the command again."
    )


_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)
"""tarfile's own refusals under the ``data`` extraction filter (Python >= 3.11.4)."""


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


_BOOKKEEPING = re.compile(r"^\..+\.(extracted\.json|extracted\.tmp|extracting|verified\.json)$")
"""Names of this module's and the downloader's own records: an archive may not ship one."""


def _check_name(name: str, archive: str) -> None:
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing it")
    if any(_BOOKKEEPING.match(part) for part in re.split(r"[/\\]", name)):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} has the name of an extraction or download record "
            "(it could fake one); refusing the archive"
        )


def _check_target(name: str, base: Path, archive: str) -> None:
    target = (base / name).resolve()
    if not _within(target, base):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} would be written outside the target folder; refusing it"
        )


def _check_link(name: str, link: str, base: Path, archive: str, *, hard: bool) -> None:
    kind = "hard link" if hard else "symlink"
    if not link or link.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", link):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is a {kind} to the absolute path {link!r}; refusing it"
        )
    anchor = base if hard else base / PurePosixPath(name).parent
    if not _within((anchor / link).resolve(), base):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is a {kind} to {link!r}, outside the target folder; "
            "refusing it"
        )


def _check_tar_member(member: tarfile.TarInfo, base: Path, archive: str) -> None:
    name = member.name
    _check_name(name, archive)
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is a device or FIFO file; refusing it"
        )
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an unsupported type")
    _check_target(name, base, archive)
    if member.issym():
        _check_link(name, member.linkname, base, archive, hard=False)
    elif member.islnk():
        _check_link(name, member.linkname, base, archive, hard=True)


def _extract_tar(path: Path, kind: str, staging: Path, bar: tqdm, limits: ExtractLimits) -> int:
    count = written = 0
    size = path.stat().st_size
    extract_filter: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with _tar_stream(path, kind, bar) as tar:
        for member in tar:
            _check_tar_member(member, staging, path.name)
            count += 1
            written += member.size if member.isfile() else 0
            limits.check(path.name, size, written, count)
            tar.extract(member, staging, **extract_filter)
    return count


def _extract_zip(path: Path, staging: Path, bar: tqdm, limits: ExtractLimits) -> int:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        # zipfile stops each member at its declared size, so the sums bound what is written
        limits.check(path.name, path.stat().st_size, sum(i.file_size for i in infos), len(infos))
        for info in infos:
            _check_name(info.filename, path.name)
            mode = info.external_attr >> 16
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                raise UnsafeArchiveError(
                    f"{path.name}: member {info.filename!r} is a device or FIFO file; refusing it"
                )
            _check_target(info.filename, staging, path.name)
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", errors="replace")
                _check_link(info.filename, link, staging, path.name, hard=False)
        for info in infos:
            zf.extract(info, staging)
            bar.update(info.compress_size)
    return len(infos)


def _corrupt(path: Path, exc: BaseException) -> ArchiveError:
    return ArchiveError(
        f"{path.name}: the archive is corrupt or truncated ({type(exc).__name__}: {exc}); "
        f"nothing was extracted. Delete {path} and download it again."
    )


def _merge_move(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, merging folders and replacing files."""
    if src.is_dir() and not src.is_symlink() and dst.is_dir():
        for child in list(src.iterdir()):
            _merge_move(child, dst / child.name)
        src.rmdir()
        return
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.exists():
        shutil.rmtree(dst)
    os.replace(src, dst)


def extract_archive(
    path: Path | str,
    root: Path | str,
    *,
    progress: bool = False,
    force: bool = False,
    limits: ExtractLimits | None = None,
) -> ExtractResult:
    """Extract an archive into ``root`` safely, once.

    Every member is checked before it is written: absolute paths, paths that resolve
    outside ``root`` (``..``, or through a symlink), symlinks and hard links pointing
    outside ``root``, and device files or FIFOs make the whole archive refused. The
    archive is extracted into a staging folder inside ``root``; only when it has been
    read to the end without error are its top-level entries moved into ``root`` (merged
    with existing folders) and a marker ``.<archive>.extracted.json`` written. A corrupt
    or truncated archive leaves no file behind and no marker; a re-run with the marker in
    place does nothing.

    Args:
        path: The archive (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``,
            ``.tar.zst``/``.tzst``, ``.zip``).
        root: Folder to extract into (created if needed).
        progress: Show a progress bar (bytes of the archive read).
        force: Extract even if the marker says it was done.
        limits: Bytes, ratio and members the archive may write (default
            :class:`~eoinstruct.sources.download.limits.ExtractLimits`); past one, the archive
            is refused as a bomb (:class:`~eoinstruct.sources.download.limits.ArchiveLimitError`).

    Returns:
        What was extracted.

    Raises:
        UnsafeArchiveError: If a member is unsafe, has the name of a marker, or the archive
            goes past its limits (nothing is left extracted).
        OSError: ENOSPC when the disk is full (said so; the archive is not blamed).
        ArchiveError: If the archive is corrupt, truncated or unsupported, or ``.tar.zst``
            cannot be decoded here (nothing is left extracted).
    """
    path = Path(path)
    root = Path(root)
    kind = archive_kind(path)
    root.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size
    marker = read_extraction_marker(path.name, root)
    if not force and marker is not None and marker.get("size") == size:
        return ExtractResult(
            root, tuple(marker.get("entries", ())), int(marker.get("members", 0)), True
        )
    extraction_marker(path.name, root).unlink(missing_ok=True)
    staging = root / f".{path.name}.extracting"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    staging = staging.resolve()
    try:
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"extract {path.name}",
            disable=not progress,
            leave=False,
        ) as bar:
            if kind == "zip":
                members = _extract_zip(path, staging, bar, limits or ExtractLimits())
            else:
                members = _extract_tar(path, kind, staging, bar, limits or ExtractLimits())
        entries = tuple(sorted(p.name for p in staging.iterdir()))
        for entry in entries:
            _merge_move(staging / entry, root / entry)
    except ArchiveError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except _FILTER_ERRORS as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnsafeArchiveError(f"{path.name}: {exc}; refusing the archive") from exc
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno != errno.ENOSPC:
            raise _corrupt(path, exc) from exc
        raise OSError(
            errno.ENOSPC,
            f"disk full while extracting {path.name} into {root} ({size} bytes of archive); "
            "the archive is not at fault: free space there and run the command again",
        ) from exc
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        ValueError,
    ) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _corrupt(path, exc) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    record = {"archive": path.name, "size": size, "members": members, "entries": list(entries)}
    tmp = root / f".{path.name}.extracted.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, extraction_marker(path.name, root))
    return ExtractResult(root, entries, members, False)
