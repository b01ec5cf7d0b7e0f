"""A lock per stage output folder: two runs of one stage on one folder never overlap.

The lock is an ``fcntl.flock`` on ``<state folder>/lock``: the kernel releases it when the
holding process ends, however it ends (SIGKILL included), so a stale lock file never blocks
a later run. The file records the holder's pid for the message. Where ``fcntl`` is missing
(not POSIX) runs are not locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "lock"
"""Name of the lock file in a stage's state folder."""


class StageLocked(RuntimeError):
    """Another process holds the stage's lock (the message is one line: what to do)."""


@contextlib.contextmanager
def folder_lock(lock_path: Path, folder: Path, stage: str) -> Iterator[None]:
    """Hold the lock of a stage's output folder for the duration of a block.

    Args:
        lock_path: The lock file (created if needed).
        folder: The output folder it protects (for the message).
        stage: The stage name (for the message).

    Raises:
        StageLocked: If another process holds it.
    """
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise StageLocked(
                f"{stage}: {folder} is in use by another run (pid {holder}); wait for it to "
                f"finish or stop it, then re-run (lock {lock_path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
