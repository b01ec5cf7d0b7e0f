"""Stage ``fingerprint``: what DVC's ``ingest`` stage depends on, instead of the source roots.

A source root can hold millions of files (BigEarthNet: about 7 M); declared as a DVC
dependency, DVC hashes every byte of it once and stats every file on each ``dvc status``, and
a disabled source whose root does not exist breaks ``dvc repro``. This stage writes
``<paths.work>/sources.json`` instead: for every *enabled* source, its root, its unit count
and a SHA-256 over its units, their files' sizes and modification times
(:func:`~eoinstruct.pipeline.run.fingerprint.unit_file_lines`, the same lines ingest's
partition signatures use) and the index files at the top of the root
(:func:`~eoinstruct.pipeline.run.fingerprint.index_file_lines`). No file is opened: only
listed and stat'ed.

In ``dvc.yaml`` the stage is ``always_changed`` (it runs on every ``dvc repro``, so
``dvc status`` lists it as "always changed") and its output is not cached; ``ingest``
depends on the file. When no enabled root changed the file is byte-identical and DVC skips
ingest and everything after it; when one changed, ingest runs and redoes only the partitions
whose signatures changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.run.fingerprint import index_file_lines, unit_file_lines
from eoinstruct.sources.base import SourceAdapter
from eoinstruct.sources.registry import enabled_sources, make_adapter

OUTPUT = "sources.json"
"""The file written under ``paths.work``."""


def source_fingerprint(adapter: SourceAdapter) -> dict[str, Any]:
    """Fingerprint one source root from its listing and its files' sizes and times.

    Args:
        adapter: The source's adapter.

    Returns:
        ``root``, ``units`` (count), ``files`` (files stat'ed) and ``sha256``.
    """
    units = adapter.list_units()
    digest = hashlib.sha256()
    files = 0
    for line in index_file_lines(adapter.root):
        digest.update(f"index {line}\n".encode())
        files += 1
    for unit in units:
        digest.update(f"unit {unit}\n".encode())
        for line in unit_file_lines(adapter, (unit,)):
            digest.update(f"{line}\n".encode())
            files += 1
    return {
        "root": adapter.root.as_posix(),
        "units": len(units),
        "files": files,
        "sha256": digest.hexdigest(),
    }


def fingerprints(params: Params) -> dict[str, dict[str, Any]]:
    """Fingerprint every enabled source (a disabled one is not opened: it needs no root).

    Args:
        params: Parameters (``sources``).

    Returns:
        The fingerprints by source name, in the registry's order.

    Raises:
        SourceNotFoundError: If an enabled source's root is missing (with the remedy).
    """
    sources = params.section("sources")
    return {
        name: source_fingerprint(make_adapter(name, sources[name]))
        for name in enabled_sources(sources)
    }


def output_path(params: Params) -> Path:
    """Return ``<paths.work>/sources.json``."""
    return params.path_of("work") / OUTPUT


def run(params: Params, progress: bool = True) -> dict[str, dict[str, Any]]:
    """Write the enabled sources' fingerprints (rewritten only when they changed).

    Args:
        params: Parameters (``sources``, ``paths.work``).
        progress: Unused (the stage lists and stats files only); accepted like every stage.

    Returns:
        The fingerprints by source name.
    """
    found = fingerprints(params)
    text = json.dumps({"sources": found}, indent=1, sort_keys=True) + "\n"
    path = output_path(params)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    return found


def summarize(found: dict[str, dict[str, Any]]) -> str:
    """One line: sources, units and files fingerprinted (printed by the CLI)."""
    units = sum(int(f["units"]) for f in found.values())
    files = sum(int(f["files"]) for f in found.values())
    return f"fingerprint: {len(found)} enabled sources, {units} units, {files} files stat'ed"
