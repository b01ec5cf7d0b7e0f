"""Atomic file output: write to a temporary name in the same folder, then rename.

A reader never sees a half-written file: either the old file (or none) or the complete new
one. Temporary files are named ``.<name>.tmp-<pid>`` so a crashed run's leftovers are easy to
recognise and sweep (:func:`sweep_temporaries`).

A stage publishes a partition's files together (:func:`publish_many`): each file is read once,
hashing it and flushing it in the same pass, then the whole file system is flushed once
(``syncfs``; one ``fsync`` per file where the call is missing), then every file is renamed. A
kill at any point leaves each final name either absent/old or complete. Transient files (a
hand-off cache a later stage reads and deletes) are only renamed: neither hashed nor flushed,
so a power loss may leave one truncated or garbled, and its reader must treat a file it cannot
verify as absent; a partition with transient files flushes its durable files one by one, since
``syncfs`` would also wait on the cache's bytes (and so does every later stage's commit while
the cache still holds files: :func:`handoff_cache_pending`). The three steps are also callable
one by one (:func:`hash_files`, :func:`flush_files`, :func:`rename_files`): an in-process run
hashes where the step ran and flushes and renames on a background thread
(:mod:`~eoinstruct.pipeline.run.commits`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TMP_MARK = ".tmp-"


def temporary_path(final: Path) -> Path:
    """Return the temporary name used while ``final`` is being written.

    Args:
        final: The path the file will have once complete.

    Returns:
        A hidden sibling path unique to this process.
    """
    return final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}")


def publish(tmp: Path, final: Path) -> None:
    """Flush ``tmp`` to disk and rename it to ``final`` in one step.

    Args:
        tmp: A complete temporary file.
        final: Its final name (replaced if it exists).
    """
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)


@functools.lru_cache(maxsize=1)
def _syncfs() -> Callable[[int], int] | None:
    """Return the C library's ``syncfs`` (Linux), or None.

    Looked up among the symbols the process already has (``dlopen(NULL)``), not through
    :func:`ctypes.util.find_library`, which starts ``ldconfig`` in a child process: a stage's
    memory probe then counted the child's view of the parent's pages too (enrich's peak RSS
    read 173 MB in some runs instead of 91).
    """
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


@dataclass(frozen=True)
class Published:
    """A file published by :func:`publish_many`.

    Attributes:
        final: Its final path.
        sha256: SHA-256 of its bytes, computed while flushing it.
        bytes: Its size.
    """

    final: Path
    sha256: str
    bytes: int


def publish_many(
    files: Sequence[tuple[Path, Path]],
    after_each: Callable[[Published], None] | None = None,
    known: Mapping[Path, tuple[str, int]] | None = None,
    transient: Sequence[tuple[Path, Path]] = (),
) -> list[Published]:
    """Publish complete temporary files: hash each once, flush them once, rename each.

    Args:
        files: ``(tmp, final)`` pairs, renamed in this order.
        after_each: Called after each rename (fault injection, progress).
        known: Temporary path → (SHA-256, size) of files hashed while they were written
            (:class:`HashingWriter`); those are not read again (their size is checked).
        transient: ``(tmp, final)`` pairs of a hand-off cache, renamed first, without hashing
            or flushing (not in the result); with any, ``files`` are flushed one by one.

    Returns:
        What was published (``files`` only), in order.

    Raises:
        OSError: If a file with a known digest does not have the size it was given.
    """
    rename_transient(transient)
    one_by_one = bool(transient) or _syncfs() is None
    digests = hash_files(files, known, flush=one_by_one)
    if not one_by_one:
        flush_files([tmp for tmp, _ in files])
    rename_files(files, digests, after_each)
    return digests


def rename_transient(files: Sequence[tuple[Path, Path]]) -> None:
    """Rename a hand-off cache's complete temporary files into place, unflushed.

    Args:
        files: ``(tmp, final)`` pairs.
    """
    for tmp, final in files:
        # not renamed over an old file: ext4 flushes a file renamed over another (auto_da_alloc)
        final.unlink(missing_ok=True)
        os.replace(tmp, final)


def hash_files(
    files: Sequence[tuple[Path, Path]],
    known: Mapping[Path, tuple[str, int]] | None = None,
    flush: bool = False,
) -> list[Published]:
    """Hash complete temporary files (the first step of :func:`publish_many`).

    Args:
        files: ``(tmp, final)`` pairs.
        known: Digests and sizes of files hashed while written (see :func:`publish_many`).
        flush: ``fsync`` each file as well, in the same pass.

    Returns:
        One :class:`Published` per pair, in order (not renamed yet).

    Raises:
        OSError: If a file with a known digest does not have the size it was given.
    """
    digests: list[Published] = []
    for tmp, final in files:
        if known is not None and tmp in known:
            sha, expected = known[tmp]
            actual = tmp.stat().st_size
            if actual != expected:
                raise OSError(f"{tmp}: {actual} bytes on disk, {expected} hashed")
            if flush:
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
            digests.append(Published(final, sha, actual))
            continue
        digest = hashlib.sha256()
        size = 0
        with open(tmp, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
            if flush:
                os.fsync(handle.fileno())
        digests.append(Published(final, digest.hexdigest(), size))
    return digests


HANDOFF_CACHE = "_rendered"
"""The work folder's hand-off cache (the score stage's renderings, which shard reads and
deletes: :data:`eoinstruct.pipeline.io.rendered.RENDER_CACHE`). Its files are never flushed:
while any exist, a flush of the whole file system would write them to disk for nothing."""


def handoff_cache_pending(work: Path) -> bool:
    """Whether the hand-off cache of ``work`` holds files (see :data:`HANDOFF_CACHE`).

    Args:
        work: The work folder.

    Returns:
        True where ``work/_rendered`` has an entry.
    """
    with contextlib.suppress(OSError), os.scandir(work / HANDOFF_CACHE) as entries:
        return next(entries, None) is not None
    return False


def flush_files(paths: Sequence[Path], whole_file_system: bool = True) -> None:
    """Flush files to disk: one ``syncfs`` of their file system, else one ``fsync`` each.

    Args:
        paths: Files (or folders) on one file system (the first one names it); none: nothing
            is done.
        whole_file_system: False flushes each path alone: where the file system holds other
            unflushed bytes that need not reach the disk (a pending hand-off cache,
            :func:`handoff_cache_pending`), ``syncfs`` would wait on writing them too.
    """
    if not paths:
        return
    syncfs = _syncfs() if whole_file_system else None
    if syncfs is not None:
        fd = os.open(paths[0], os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:  # no syncfs, or it failed: one flush per file (or folder)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def rename_files(
    files: Sequence[tuple[Path, Path]],
    digests: Sequence[Published],
    after_each: Callable[[Published], None] | None = None,
) -> None:
    """Rename hashed (and flushed) temporary files to their final names, in order.

    Args:
        files: ``(tmp, final)`` pairs.
        digests: Their :func:`hash_files` results (passed to ``after_each``).
        after_each: Called after each rename.
    """
    for (tmp, final), done in zip(files, digests, strict=True):
        os.replace(tmp, final)
        if after_each is not None:
            after_each(done)


class HashingWriter(io.RawIOBase):
    """A write-only file that hashes what it writes: the digest without reading it back.

    Args:
        path: The file to create (truncated).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._file = open(path, "wb", buffering=0)  # closed in close()
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        """Return True (the file is written)."""
        return True

    def write(self, data: Any) -> int:
        """Write and hash ``data`` (any bytes-like object).

        Returns:
            The number of bytes written.
        """
        view = memoryview(data).cast("B")
        self._digest.update(view)
        written = 0
        while written < len(view):
            written += self._file.write(view[written:]) or 0
        self.size += written
        return written

    def tell(self) -> int:
        """Return the bytes written so far."""
        return self.size

    def close(self) -> None:
        """Close the file."""
        if not self.closed:
            self._file.close()
        super().close()

    def hexdigest(self) -> str:
        """Return the SHA-256 of everything written."""
        return self._digest.hexdigest()


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path to write; rename it to ``final`` when the block succeeds.

    On an exception the temporary file is removed and ``final`` is left untouched.

    Args:
        final: The destination path; its folder is created if needed.

    Yields:
        The temporary path to write to.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    try:
        yield tmp
        publish(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(final: Path, data: bytes) -> None:
    """Write ``data`` to ``final`` atomically.

    Args:
        final: Destination path.
        data: File content.
    """
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(final: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``final`` atomically.

    Args:
        final: Destination path.
        text: File content.
    """
    write_bytes_atomic(final, text.encode("utf-8"))


def sweep_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files left in ``folder`` (recursively) by an interrupted run.

    Args:
        folder: Folder to clean; missing folders are ignored.

    Returns:
        The paths removed.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.rglob(f".*{TMP_MARK}*")):
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed
