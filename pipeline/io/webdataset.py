"""Writing WebDataset tar shards byte-for-byte reproducibly.

A WebDataset sample is a group of consecutive tar members sharing a key: ``<key>.json``,
``<key>.<role>.png``… (the key is everything before the first dot of the file name). Members
get fixed metadata (mtime 0, owner root, mode 0644) so the same samples give the same tar.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from types import TracebackType


class TarShardWriter:
    """Append WebDataset samples to one tar file.

    Args:
        path: The tar file to create.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)
        self.count = 0

    def write(self, key: str, members: dict[str, bytes]) -> None:
        """Write one sample.

        Args:
            key: Sample key; must not contain dots or slashes.
            members: Extension (``json``, ``post.png``…) → content, written in sorted order.

        Raises:
            ValueError: If the key would be split differently by a WebDataset reader.
        """
        if not key or "." in key or "/" in key:
            raise ValueError(f"bad WebDataset key {key!r}: no dots or slashes allowed")
        for ext in sorted(members):
            data = members[ext]
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            self._tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def close(self) -> None:
        """Finish the tar file."""
        self._tar.close()

    def __enter__(self) -> TarShardWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
