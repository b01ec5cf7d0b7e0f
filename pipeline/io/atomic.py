"""Atomic file output: write to a temporary name in the same folder, then rename.

A reader never sees a half-written file: either the old file (or none) or the complete new
one. Temporary files are named ``.<name>.tmp-<pid>`` so a crashed run's leftovers are easy to
recognise and sweep (:func:`sweep_temporaries`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

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
