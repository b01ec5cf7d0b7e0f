"""Fingerprints: what a partition's outputs depend on, hashed.

A partition is redone when its fingerprint
(:func:`~eoinstruct.pipeline.run.partitions.partition_fingerprint`) changes: it covers the
stage, the package version, the project's code and templates (:func:`code_fingerprint`), the
stage's parameters, the partition's items and signature, and the content of its input files
(:func:`file_sha256`). An ingest partition's signature is a digest of its units' files with
their sizes and modification times (:func:`unit_file_lines`), so a changed source file redoes
its partition without reading the pixels.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import eoinstruct

if TYPE_CHECKING:
    from eoinstruct.sources.base import SourceAdapter


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
    root = os.path.dirname(eoinstruct.__file__)
    files: list[tuple[str, str]] = []  # (path relative to the package, POSIX; path)
    # followlinks: in a checkout, eoinstruct/pipeline, sources and templates are links
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        files += [(prefix + n, os.path.join(folder, n)) for n in names if n.endswith(_CODE)]
    digest = hashlib.sha256()
    for rel, path in sorted(files):  # string paths: pathlib cost half the time here
        digest.update(rel.encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


_CODE = (".py", ".yaml")


def unit_file_lines(adapter: SourceAdapter, units: Iterable[str]) -> Iterator[str]:
    """Yield ``path:size:mtime_ns`` for every file the units are read from.

    Files are those of :meth:`~eoinstruct.sources.base.SourceAdapter.unit_files`, stat'ed by
    :meth:`~eoinstruct.sources.base.SourceAdapter.unit_file_stats`; one that vanished is left
    out. Only ``stat`` is called: no file is opened.

    Args:
        adapter: The source's adapter.
        units: Unit ids from its ``list_units``.

    Yields:
        One line per file, in the units' order.
    """
    for unit in units:
        for path, size, mtime_ns in adapter.unit_file_stats(unit):
            yield f"{path}:{size}:{mtime_ns}"


IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jp2", ".npy")
"""Files below the root's top level that :func:`index_file_lines` leaves to the units."""


def index_file_lines(root: Path) -> Iterator[str]:
    """Yield ``path:size:mtime_ns`` for the files at the top of a source root.

    The files directly in ``root``, and those in its immediate subfolders that are not images
    (:data:`IMAGE_SUFFIXES`): where datasets keep their index, split and label files
    (BigEarthNet's split CSVs, a STAC ``catalog.json``…). Images there are units' files, which
    :func:`unit_file_lines` covers; deeper folders (patch folders, tiles) are not entered.

    Args:
        root: The source root.

    Yields:
        One line per file, sorted by path.
    """
    found: list[Path] = []
    with os.scandir(root) as top:
        for entry in top:
            if entry.is_file():
                found.append(Path(entry.path))
            elif entry.is_dir():
                with os.scandir(entry.path) as inner:
                    found += [
                        Path(e.path)
                        for e in inner
                        if e.is_file() and not e.name.lower().endswith(IMAGE_SUFFIXES)
                    ]
    for path in sorted(found):
        try:
            st = path.stat()
        except OSError:
            continue
        yield f"{path.as_posix()}:{st.st_size}:{st.st_mtime_ns}"
