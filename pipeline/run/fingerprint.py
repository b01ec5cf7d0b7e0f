"""Fingerprints: what a partition's outputs depend on, hashed.

A partition is redone when its fingerprint
(:func:`~eoinstruct.pipeline.run.partitions.partition_fingerprint`) changes: it covers the
stage, the package version, the project's code and templates (:func:`code_fingerprint`), the
stage's parameters, the partition's items and signature, and the content of its input files
(:func:`file_sha256`).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import eoinstruct


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Return a SHA-256 over the project's own code and templates.

    It covers every module and YAML file of the ``eoinstruct`` package (its ``pipeline``,
    ``sources`` and ``templates`` included), the same in a checkout and an installed wheel,
    so that a re-run after a code change redoes the partitions instead of keeping what the
    old code wrote.
    """
    root = Path(eoinstruct.__file__).parent
    files: list[Path] = []
    # followlinks: in a checkout, eoinstruct/pipeline, sources and templates are links
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files += [Path(folder) / n for n in names if n.endswith((".py", ".yaml"))]
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
