"""The corpus manifest: every published file with its SHA-256, bytes and rows.

``<corpus>/manifest.json`` lists every file of the corpus folder except itself, sorted by
path, with ``sha256``, ``bytes`` and ``rows`` (samples in a ``data/`` Parquet file or a tar,
pairs in a ``pairs/`` Parquet file; ``null`` for other files such as the card), plus totals per
kind. It is written by the shard stage after the card, checked by :func:`verify_manifest`
(locally, before a publish and after a download) and compared with the Hub's file listing by
:mod:`eoinstruct.pipeline.corpus.publish`. The manifest holds no time and no absolute path, so
the same corpus gives the same manifest.

Kept as own code: it is the corpus's own record, shipped inside it with the row counts; the Hub
states a SHA-256 only for LFS/Xet files (a git blob id for the rest) and DVC's hashes stay in
``dvc.lock``, which a downloaded corpus does not carry (publish checks the Hub's against it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.run.fingerprint import file_sha256

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class ManifestError(ValueError):
    """The manifest is missing or unreadable."""


def count_rows(path: Path) -> int | None:
    """Return the rows of a shard file, or ``None`` for files that are not shards.

    Args:
        path: A Parquet file (rows from its footer) or a WebDataset tar (distinct keys).

    Returns:
        The row count, or ``None``.
    """
    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix == ".tar":
        import tarfile  # only for tars (off by default): not imported by every shard run

        keys = set()
        with tarfile.open(path, "r") as tar:
            for member in tar:
                if member.isfile():
                    keys.add(member.name.split("/")[-1].split(".", 1)[0])
        return len(keys)
    return None


def corpus_files(folder: Path) -> list[str]:
    """Return the relative POSIX paths of the files a manifest must list, sorted.

    Args:
        folder: The corpus folder.

    Returns:
        Every regular file under it except the manifest and hidden files (``.cache``…).
    """
    names = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if rel.as_posix() == MANIFEST_NAME:
            continue
        names.append(rel.as_posix())
    return names


def build_manifest(
    folder: Path,
    known: Mapping[str, tuple[str, int]] | None = None,
    rows: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """Describe every file of a corpus folder.

    Args:
        folder: The corpus folder.
        known: Relative path → (SHA-256, bytes) computed when the file was written (the shard
            stage's completion records); reused where the size still matches, so a file is
            not read a second time for its hash.
        rows: Relative path → (rows, bytes) counted when the file was written; reused where
            the size still matches, so a shard's footer or tar is not read to count its rows.

    Returns:
        The manifest document.
    """
    files: dict[str, dict[str, Any]] = {}
    totals: dict[str, dict[str, int]] = {}
    for rel in corpus_files(folder):
        path = folder / rel
        size = path.stat().st_size
        counted, counted_size = (rows or {}).get(rel, (0, -1))
        count = counted if counted_size == size else count_rows(path)
        digest, known_size = (known or {}).get(rel, ("", -1))
        sha = digest if digest and known_size == size else file_sha256(path)
        entry: dict[str, Any] = {"sha256": sha, "bytes": size, "rows": count}
        files[rel] = entry
        kind = path.suffix.lstrip(".") or "other"
        slot = totals.setdefault(kind, {"files": 0, "bytes": 0, "rows": 0})
        slot["files"] += 1
        slot["bytes"] += entry["bytes"]
        slot["rows"] += count or 0
    return {
        "version": MANIFEST_VERSION,
        "files": files,
        "totals": {
            "files": len(files),
            "bytes": sum(e["bytes"] for e in files.values()),
            "by_kind": dict(sorted(totals.items())),
        },
    }


def write_manifest(
    folder: Path,
    known: Mapping[str, tuple[str, int]] | None = None,
    rows: Mapping[str, tuple[int, int]] | None = None,
) -> Path:
    """Write ``manifest.json`` into a corpus folder.

    Args:
        folder: The corpus folder.
        known: Digests computed when the files were written (:func:`build_manifest`).
        rows: Rows counted when the files were written (:func:`build_manifest`).

    Returns:
        The path written.

    Raises:
        ValueError: If the sample Parquet files (``data/``) and the tars hold different
            numbers of samples.
    """
    manifest = build_manifest(folder, known, rows)
    by_folder: dict[str, int] = {}
    for rel, entry in manifest["files"].items():
        top = rel.split("/", 1)[0]
        by_folder[top] = by_folder.get(top, 0) + (entry["rows"] or 0)
    if "data" in by_folder and "wds" in by_folder and by_folder["data"] != by_folder["wds"]:
        raise ValueError(
            f"{folder}: Parquet shards hold {by_folder['data']} samples but the tars "
            f"{by_folder['wds']}"
        )
    path = folder / MANIFEST_NAME
    write_text_atomic(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read a corpus folder's manifest.

    Args:
        folder: The corpus folder.

    Returns:
        The manifest document.

    Raises:
        ManifestError: If it is missing or not a manifest.
    """
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"{path} not found: run the shard stage first") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ManifestError(f"{path}: no 'files' mapping")
    return data


@dataclass
class Verification:
    """Result of checking files against a manifest.

    Attributes:
        checked: Files compared.
        missing: Files in the manifest but absent.
        mismatched: Files whose size or hash differs, with what differs.
        unexpected: Files present but not in the manifest.
    """

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: dict[str, str] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything matched."""
        return not (self.missing or self.mismatched or self.unexpected)

    def describe(self) -> str:
        """Return a one-paragraph account for messages."""
        if self.ok:
            return f"{self.checked} files match the manifest"
        parts = []
        if self.missing:
            parts.append(f"missing: {', '.join(self.missing)}")
        if self.mismatched:
            parts.append(
                "differ: " + "; ".join(f"{k} ({v})" for k, v in sorted(self.mismatched.items()))
            )
        if self.unexpected:
            parts.append(f"not in the manifest: {', '.join(self.unexpected)}")
        return " | ".join(parts)


def verify_manifest(folder: Path, check_rows: bool = False) -> Verification:
    """Check a corpus folder against its manifest (sizes and SHA-256 of every file).

    Args:
        folder: The corpus folder.
        check_rows: Also recount the rows of every shard.

    Returns:
        What matched and what did not; see :attr:`Verification.ok`.

    Raises:
        ManifestError: If the manifest is missing or unreadable.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    result = Verification()
    present = set(corpus_files(folder))
    for rel, entry in sorted(manifest["files"].items()):
        path = folder / rel
        if rel not in present:
            result.missing.append(rel)
            continue
        result.checked += 1
        size = path.stat().st_size
        if size != entry["bytes"]:
            result.mismatched[rel] = f"{size} bytes, manifest says {entry['bytes']}"
        elif file_sha256(path) != entry["sha256"]:
            result.mismatched[rel] = "SHA-256 differs"
        elif check_rows and count_rows(path) != entry.get("rows"):
            result.mismatched[rel] = f"{count_rows(path)} rows, manifest says {entry['rows']}"
    result.unexpected = sorted(present - set(manifest["files"]))
    return result
