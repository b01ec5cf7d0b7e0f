"""Whole files written atomically, only when their content changes, and folders of them.

:func:`write_file` and :func:`replace_files` were in :mod:`~eoinstruct.pipeline.io.charts`
(which still exports them); here they import no Pillow, so a stage that writes its figures as
text (``validate``'s audit) does not pay for it at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from eoinstruct.pipeline.io.atomic import TMP_MARK, write_bytes_atomic


def write_file(path: Path, content: str | bytes) -> Path:
    """Write a file atomically unless it already holds exactly this content.

    Args:
        path: The file (its folder is created if missing).
        content: Text (written as UTF-8) or bytes.

    Returns:
        The path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if not path.is_file() or path.read_bytes() != data:
        write_bytes_atomic(path, data)
    return path


def replace_files(folder: Path, files: Mapping[str, str | bytes]) -> list[Path]:
    """Write files under a folder (atomically) and remove every other file there.

    Args:
        folder: The folder (created if missing).
        files: Relative path → text or bytes.

    Returns:
        The paths written, in the order given.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_file(folder / name, content) for name, content in files.items()]
    keep = {p.resolve() for p in written}
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in keep and TMP_MARK not in path.name:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return written
