"""WebDataset tars of the corpus, produced on demand from its Parquet shards.

The Parquet sample shards (``<corpus>/data/<stem>.parquet``) are the one stored copy of every
image. The tars are another layout of the same rows: :func:`row_members` turns one sample row
back into the members the shard stage writes under its key (``<key>.json``,
``<key>.<role>.png``, ``<key>.<role>.npy``; :func:`eoinstruct.pipeline.corpus.rows.sample_records`),
and :func:`write_webdataset` streams each ``data/<stem>.parquet`` into ``<out>/<stem>.tar``,
byte-identical to the tar the shard stage writes with ``shard.webdataset: true``.

Parquet keeps two numbers of an array as float32 (``gsd_m`` and ``wavelengths_nm``); the JSON
member states them as the shard stage wrote them: the sample's ``gsd_m`` from its metadata
(float64 JSON) and the wavelengths from the source's facts, each where float32 holds exactly
that value, else the shortest decimal float32 holds (``664.6``, not ``664.5999755859375``).

Written into ``<corpus>/wds`` (the default), the tars join the corpus's manifest, so that a
publish uploads them and a download verifies them; the card says how they are produced.
Each tar is written to a temporary name and renamed when complete, so an interrupted run leaves
no partial tar and a re-run writes only what is missing: a tar whose recorded source digest
(``<out>/.done/<stem>.json``) matches its Parquet file is kept.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from eoinstruct.pipeline.corpus.manifest import MANIFEST_NAME, read_manifest, write_manifest
from eoinstruct.pipeline.corpus.rows import band_wavelengths, json_nodata, sample_key
from eoinstruct.pipeline.corpus.views import wds_pairs
from eoinstruct.pipeline.io.webdataset import TarShardWriter
from eoinstruct.pipeline.records import to_json

DONE_DIR = ".done"
"""Folder of ``<out>`` holding one completion record per tar written (hidden: no manifest
lists it)."""

READ_BATCH_ROWS = 16
"""Sample rows read from Parquet at a time (bounded memory whatever the shard size)."""


def _float32(value: float | None) -> float | None:
    """The shortest decimal a float32 holds exactly (``None`` and NaN kept)."""
    if value is None or math.isnan(value):
        return value
    return float(str(np.float32(value)))


def _exact(stored: float | None, written: object) -> float | None:
    """The value the shard stage wrote (``written``) when float32 stored exactly that."""
    if stored is not None and isinstance(written, int | float) and np.float32(written) == stored:
        return written
    return _float32(stored)


def row_members(row: Mapping[str, Any]) -> tuple[str, dict[str, bytes]]:
    """Return the WebDataset key and members of one corpus sample row.

    Args:
        row: A row of ``data/*.parquet`` as ``pyarrow`` gives it (``to_pylist``).

    Returns:
        ``(key, {extension: bytes})``: ``json`` (the sample document), ``<role>.png`` and
        ``<role>.npy``, exactly as the shard stage writes them.

    Raises:
        ValueError: If the row's images or arrays do not match its ``image_roles``.
    """
    roles = list(row["image_roles"])
    images = list(row["images"])
    if len(images) != len(roles):
        raise ValueError(f"{row['sample_id']}: {len(images)} images for roles {roles}")
    metadata = json.loads(row["metadata"])
    arrays: dict[str, dict[str, Any]] = {}
    for item in row["arrays"]:
        info = {k: v for k, v in item.items() if k != "npy"}
        info["gsd_m"] = _exact(item["gsd_m"], metadata.get("gsd_m"))
        facts = band_wavelengths(row["source"], item["bands"])
        info["wavelengths_nm"] = [
            _exact(w, f) for w, f in zip(item["wavelengths_nm"], facts, strict=True)
        ]
        info["nodata"] = json_nodata(item["nodata"])
        arrays[item["role"]] = {"info": info, "npy": item["npy"]}
    if set(arrays) - set(roles):
        raise ValueError(f"{row['sample_id']}: arrays for unknown roles {sorted(arrays)}")
    doc = {
        "sample_id": row["sample_id"],
        "source": row["source"],
        "modality": row["modality"],
        "sensor": row["sensor"],
        "split": row["split"],
        "acquired": list(row["acquired"]),
        "image_roles": roles,
        "metadata": metadata,
        "arrays": {r: arrays[r]["info"] for r in roles if r in arrays},
        "dialogues": [
            {**d, "generator_params": json.loads(d["generator_params"])} for d in row["dialogues"]
        ],
    }
    members = {"json": to_json(doc).encode("utf-8")}
    for role, image in zip(roles, images, strict=True):
        members[f"{role}.png"] = image["bytes"]
        if role in arrays:
            members[f"{role}.npy"] = arrays[role]["npy"]
    return sample_key(row["sample_id"]), members


NPY_COLUMN = "arrays.list.element.npy"
"""The Parquet column of the lossless arrays' ``.npy`` bytes (most of a shard's bytes)."""


def iter_parquet_members(path: Path, arrays: bool = True) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield ``(key, members)`` for each sample row of a corpus Parquet file, in order.

    Args:
        path: A ``data/<stem>.parquet`` file.
        arrays: Read the arrays' ``.npy`` bytes; False skips that column (a scan that needs
            the documents and images only): each ``<role>.npy`` member is then empty.

    Yields:
        The key and members of each row (:func:`row_members`).
    """
    with pq.ParquetFile(path) as file:
        columns = None
        if not arrays:
            schema = file.metadata.schema
            names = [schema.column(i).path for i in range(len(schema))]
            columns = [c for c in names if c != NPY_COLUMN]
        # one thread: the stages run one process per core, and each decoding thread's buffers
        # stayed resident (55 MB more peak memory on a 220-sample export, no CPU saved)
        batches = file.iter_batches(batch_size=READ_BATCH_ROWS, columns=columns, use_threads=False)
        for batch in batches:
            for row in batch.to_pylist():
                if not arrays:
                    row["arrays"] = [{**a, "npy": b""} for a in row["arrays"]]
                yield row_members(row)


def parquet_pair_records(
    path: Path, arrays: bool = True
) -> Iterator[tuple[str, dict[str, Any], dict[str, bytes]]]:
    """Yield ``(pair_id, pair document, members of its roles)`` for every pair of a Parquet file.

    The same records as :func:`eoinstruct.pipeline.corpus.views.tar_pair_records` gives for
    the tar of the same stem.

    Args:
        path: A ``data/<stem>.parquet`` file.
        arrays: Read the arrays' bytes (False: empty ``.npy`` members, see
            :func:`iter_parquet_members`).

    Yields:
        One entry per dialogue.
    """
    for key, members in iter_parquet_members(path, arrays):
        sample = {**members, "json": json.loads(members["json"])}
        del key
        for pair in wds_pairs([sample]):
            pair_id, doc = pair.pop("__key__"), pair.pop("json")
            yield pair_id, doc, pair


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def write_tar(parquet: Path, tar: Path) -> int:
    """Write the tar of one Parquet shard atomically (a temporary name, then a rename).

    Args:
        parquet: A ``data/<stem>.parquet`` file.
        tar: The tar to write.

    Returns:
        The number of samples written.
    """
    partial = tar.with_name(f".{tar.name}.partial")
    try:
        with TarShardWriter(partial) as writer:
            for key, members in iter_parquet_members(parquet):
                writer.write(key, members)
        partial.replace(tar)
    finally:
        partial.unlink(missing_ok=True)
    return writer.count


def _update_manifest(corpus: Path, out: Path, sources: list[Path]) -> None:
    """List the tars in the corpus's manifest (they sit in ``<corpus>/wds``), stale ones gone.

    Tars of ``wds/`` without a Parquet shard of the same stem (left by an older corpus) are
    removed first; the digests already in the manifest and in the completion records are
    reused, so only the card and new files are hashed.
    """
    stems = {p.stem for p in sources}
    for tar in out.glob("*.tar"):
        if tar.stem not in stems:
            tar.unlink()
            (out / DONE_DIR / f"{tar.stem}.json").unlink(missing_ok=True)
    known: dict[str, tuple[str, int]] = {
        rel: (entry["sha256"], entry["bytes"])
        for rel, entry in read_manifest(corpus)["files"].items()
        if not rel.startswith("wds/")
    }
    for record in (out / DONE_DIR).glob("*.json"):
        entry = json.loads(record.read_text(encoding="utf-8"))
        if entry.get("sha256"):
            known[f"wds/{record.stem}.tar"] = (entry["sha256"], int(entry["bytes"]))
    write_manifest(corpus, known)


def write_webdataset(
    corpus: Path,
    out: Path | None = None,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> dict[str, int]:
    """Write one WebDataset tar per Parquet sample shard of a corpus.

    Args:
        corpus: The corpus folder (its ``data/*.parquet`` are read).
        out: Where the tars go (default ``<corpus>/wds``, where the shard stage writes them).
        progress: Show a progress bar (one step per tar).
        echo: Prints the summary line.

    Returns:
        ``written`` and ``kept`` (tars already complete) and ``samples`` written.

    Raises:
        FileNotFoundError: If the corpus has no ``data`` folder (never sharded).

    When ``out`` is ``<corpus>/wds`` the corpus's ``manifest.json`` is rewritten to list the
    tars (a publish then uploads them too); elsewhere the corpus folder is left unchanged.
    """
    from tqdm import tqdm

    corpus = Path(corpus)
    out = Path(out) if out is not None else corpus / "wds"
    data = corpus / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data} not found: run the shard stage first")
    sources = sorted(data.glob("*.parquet"))
    done = out / DONE_DIR
    done.mkdir(parents=True, exist_ok=True)
    counts = {"written": 0, "kept": 0, "samples": 0}
    for parquet in tqdm(sources, desc="webdataset", unit="tar", disable=not progress):
        tar = out / f"{parquet.stem}.tar"
        record = done / f"{parquet.stem}.json"
        digest = _digest(parquet)
        if tar.is_file() and record.is_file():
            known = json.loads(record.read_text(encoding="utf-8"))
            if known.get("parquet_sha256") == digest and known.get("bytes") == tar.stat().st_size:
                counts["kept"] += 1
                continue
        counts["samples"] += write_tar(parquet, tar)
        counts["written"] += 1
        entry = {"parquet_sha256": digest, "bytes": tar.stat().st_size, "sha256": _digest(tar)}
        partial = record.with_name(f".{record.name}.partial")
        partial.write_text(json.dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(record)
    if out.resolve() == (corpus / "wds").resolve() and (corpus / MANIFEST_NAME).is_file():
        _update_manifest(corpus, out, sources)
    echo(
        f"webdataset: {counts['written']} tars written ({counts['samples']} samples), "
        f"{counts['kept']} already complete, in {out}"
    )
    return counts
