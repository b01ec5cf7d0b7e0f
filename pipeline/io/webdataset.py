"""Writing WebDataset tar shards byte-for-byte reproducibly.

A WebDataset sample is a group of consecutive tar members sharing a key: ``<key>.json``,
``<key>.<role>.png``… (the key is everything before the first dot of the file name). The
members are written by ``webdataset.TarWriter`` with fixed metadata (mtime 0, owner root,
mode 0644, ustar), so the same samples give the same tar: the sample build's 69 shards are
byte-identical to those of the hand-written ``tarfile`` writer this replaced (measured by
``python -m benchmarks.libraries``).
Rotation (a new shard after ``max_rows`` pairs or ``max_bytes``) stays in the shard stage.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import webdataset


class TarShardWriter:
    """Append WebDataset samples to one tar file.

    Args:
        path: The tar file to create.
        file: An open binary file to write it to instead of opening ``path`` (closed by
            :meth:`close`).
    """

    def __init__(self, path: Path, file: BinaryIO | io.BufferedIOBase | None = None) -> None:
        self.path = path
        self._file: BinaryIO | io.BufferedIOBase = path.open("wb") if file is None else file
        self._tar = webdataset.TarWriter(
            self._file, user="root", group="root", mode=0o644, mtime=0, encoder=False
        )
        self.count = 0

    def write(self, key: str, members: dict[str, bytes]) -> None:
        """Write one sample.

        Args:
            key: Sample key; must not contain dots or slashes.
            members: Extension (``json``, ``post.png``…) → content, written in sorted order.

        Raises:
            ValueError: If the key would be split differently by a WebDataset reader, or an
                extension starts with ``_`` (WebDataset's metadata, which it would not write).
        """
        if not key or "." in key or "/" in key:
            raise ValueError(f"bad WebDataset key {key!r}: no dots or slashes allowed")
        if any(not ext or ext.startswith("_") for ext in members):
            raise ValueError(f"{key}: member extensions must not be empty or start with '_'")
        self._tar.write({"__key__": key, **members})
        self.count += 1

    def close(self) -> None:
        """Finish the tar file."""
        try:
            self._tar.close()
        finally:
            self._file.close()

    def __enter__(self) -> TarShardWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
