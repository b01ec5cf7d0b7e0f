"""Score's renderings are a hand-off cache: shard consumes and deletes them, and the corpus is
byte-identical whether shard copies them or decodes the samples itself (issue 19)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from build_helpers import build, tree_digest

import eoinstruct.pipeline.stages.shard as shard_stage
from eoinstruct.pipeline.corpus.hub import ParquetFile, parquet_files
from eoinstruct.pipeline.corpus.manifest import build_manifest, read_manifest
from eoinstruct.pipeline.io.rendered import RENDER_CACHE, RENDER_SUFFIX, load_rendered

SOURCES = ("bigearthnet_v1", "xbd", "dota")
"""Per-band GeoTIFFs (PNG renderings and ``.npy`` arrays), PNG pairs passed through, and
windows of large images."""


def _shard(root: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Re-run the shard stage from scratch; return how many samples it decoded itself."""
    decoded: list[str] = []
    original = shard_stage._read_sample

    def counting(sample: Any, with_rasters: bool) -> Any:
        decoded.append(sample.sample_id)
        return original(sample, with_rasters)

    monkeypatch.setattr(shard_stage, "_read_sample", counting)
    shutil.rmtree(root / "work" / "_state" / "shard")
    build(root, "shard", sources=SOURCES, shard__webdataset=True)
    return len(decoded)


def test_renderings_are_consumed_and_the_corpus_is_the_same_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(tmp_path, sources=SOURCES, shard__webdataset=True)  # tars too: every shard file
    cache = tmp_path / "work" / RENDER_CACHE
    # not an output of score (no DVC out, no completion record), and gone after shard
    assert not (tmp_path / "work" / "score" / "rendered").exists()
    assert cache.is_dir() and not list(cache.iterdir())
    corpus = tree_digest(tmp_path / "corpus")
    records = tree_digest(tmp_path / "work" / "shard")
    assert any(k.endswith(".parquet") for k in corpus) and any(k.endswith(".tar") for k in corpus)
    # the rows and sizes the writers kept (for the card and the manifest) are the files' own
    counted: dict[str, list[int]] = {}
    for path in (tmp_path / "work" / "shard" / shard_stage.COUNTS_KIND).glob("*.json"):
        counted.update(json.loads(path.read_text(encoding="utf-8")))
    footers = parquet_files(tmp_path / "corpus")
    assert {k: ParquetFile(*v) for k, v in counted.items() if k.endswith(".parquet")} == footers
    fresh = build_manifest(tmp_path / "corpus")  # every file read, nothing reused
    assert read_manifest(tmp_path / "corpus") == fresh
    assert {k for k in counted if k.endswith(".tar")} == {
        k for k in fresh["files"] if k.endswith(".tar")
    }

    # score redone: its renderings are back; its outputs and records are unchanged
    scored = tree_digest(tmp_path / "work" / "score")
    shutil.rmtree(tmp_path / "work" / "_state" / "score")
    build(tmp_path, "score", sources=SOURCES, shard__webdataset=True)
    assert tree_digest(tmp_path / "work" / "score") == scored
    saved = tmp_path / "saved"
    shutil.copytree(cache, saved)
    assert len(list(saved.glob(f"*{RENDER_SUFFIX}"))) >= 3

    # a kill between publishing the shards and deleting the renderings: the next shard run
    # finds every partition current, rewrites nothing and deletes the leftovers
    build(tmp_path, "shard", sources=SOURCES, shard__webdataset=True)
    assert not list(cache.iterdir())
    assert tree_digest(tmp_path / "corpus") == corpus

    # without renderings: shard decodes every sample itself, into the same bytes
    assert _shard(tmp_path, monkeypatch) > 0
    assert tree_digest(tmp_path / "corpus") == corpus
    assert tree_digest(tmp_path / "work" / "shard") == records

    # with them: shard decodes nothing, writes the same bytes and deletes them
    shutil.rmtree(cache)
    shutil.copytree(saved, cache)
    assert _shard(tmp_path, monkeypatch) == 0
    assert tree_digest(tmp_path / "corpus") == corpus
    assert tree_digest(tmp_path / "work" / "shard") == records
    assert not list(cache.iterdir())

    # published unflushed, so a power loss may truncate or garble them: what cannot be read or
    # verified (batch CRCs) is absent, and shard decodes those samples into the same bytes
    shutil.copytree(saved, cache, dirs_exist_ok=True)
    files = sorted(cache.glob(f"*{RENDER_SUFFIX}"))
    ids = {f.name: _ids(f) for f in files}
    whole = {f.name: load_rendered(f, ids[f.name]) for f in files}
    files[0].write_bytes(files[0].read_bytes()[: files[0].stat().st_size // 2])
    for damaged in files[1:]:
        data = bytearray(damaged.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
        damaged.write_bytes(bytes(data))
    partial = {f.name: load_rendered(f, ids[f.name]) for f in files}
    assert not partial[files[0].name]
    for name, rows in partial.items():  # what is still read is exactly what was written
        assert all(rows[sid] == whole[name][sid] for sid in rows)
    assert sum(len(rows) for rows in partial.values()) < sum(len(r) for r in whole.values())
    assert _shard(tmp_path, monkeypatch) > 0
    assert tree_digest(tmp_path / "corpus") == corpus
    assert tree_digest(tmp_path / "work" / "shard") == records


def _ids(path: Path) -> set[str]:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return set(pa.ipc.open_file(source).read_all().column("sample_id").to_pylist())


def test_files_hashed_while_written_are_published_without_a_reread(tmp_path: Path) -> None:
    import hashlib
    import io

    from eoinstruct.pipeline.io.atomic import HashingWriter, publish_many, temporary_path

    final = tmp_path / "a.bin"
    tmp = temporary_path(final)
    data = bytes(range(256)) * 5000
    with io.BufferedWriter(HashingWriter(tmp), 4096) as buffered:
        for start in range(0, len(data), 10_240):  # tar-sized records through the buffer
            buffered.write(data[start : start + 10_240])
        sink = buffered.raw
    assert isinstance(sink, HashingWriter) and sink.closed
    assert sink.size == len(data) and sink.hexdigest() == hashlib.sha256(data).hexdigest()
    # the given digest is used as it is (a wrong one would show: not re-read), the size checked
    [done] = publish_many([(tmp, final)], known={tmp: ("f" * 64, len(data))})
    assert done.sha256 == "f" * 64 and final.read_bytes() == data
    tmp.write_bytes(b"short")
    with pytest.raises(OSError, match="hashed"):
        publish_many([(tmp, tmp_path / "b.bin")], known={tmp: ("f" * 64, len(data))})
