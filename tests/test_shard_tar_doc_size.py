"""Tars off, the shard stage bounds each tar document's size instead of building it (issue 19).

``shard.max_bytes`` counts every sample's tar JSON. With ``shard.webdataset: false`` the
document is not written, so :class:`~eoinstruct.pipeline.corpus.rows.TarDocSize` bounds its
size from string lengths and builds it only near the limit: the exact size must equal the
built member, the bound must never be below it, and the split points must not move.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from build_helpers import build, tree_digest
from test_corpus_views import _pair, _png, _sample

from eoinstruct.pipeline.corpus.rows import (
    TarDocSize,
    needs_array,
    npy_bytes,
    sample_records,
    stored_array,
)
from eoinstruct.pipeline.records import Turn

AWKWARD = ('say "hi"\\ \n\t\x01 \x1f', "Ünïcödé ≠ ascii 𝔘 🛰️", "", "plain")
"""Strings whose JSON escapes or UTF-8 bytes outgrow their length."""


def _records(text: str, params: dict[str, str]) -> tuple[TarDocSize, dict, dict, int]:
    import numpy as np

    sample = dataclasses.replace(_sample(), native_id=f"n{text}")
    stored = {}
    for image in sample.images:
        if needs_array(image):
            array, info = stored_array(sample, image, np.ones((len(image.bands), 3, 4)))
            stored[image.role] = (npy_bytes(array), info)
    rendered = {im.role: _png(i) for i, im in enumerate(sample.images)}
    pairs = [
        dataclasses.replace(
            _pair(f"p{i}{text}", ("pre",), "change"),
            turns=(Turn("human", f"<image>\n{text}?"), Turn("gpt", text * (i + 1))),
            generator_params=params,
        )
        for i in range(3)
    ]
    metadata = {"native_id": text}
    row, pair_rows, members = sample_records(
        sample, pairs, "train", rendered, stored, metadata, tar_json=True
    )
    lean = sample_records(sample, pairs, "train", rendered, stored, metadata, tar_json=False)
    infos = {role: info for role, (_, info) in stored.items()}
    doc = TarDocSize(sample, pairs, "train", lean[0], infos)
    assert "json" not in lean[2] and lean[2] == {k: v for k, v in members.items() if k != "json"}
    assert lean[1] == pair_rows
    return doc, row, members, len(members["json"])


@pytest.mark.parametrize("text", AWKWARD)
def test_the_bound_holds_and_the_exact_size_is_the_members(text: str) -> None:
    doc, _, members, size = _records(text, {"seed": text, "list": "x"})
    assert doc.exact() == size == len(members["json"])
    assert doc.upper >= size
    assert doc.upper < 20 * size  # a bound, not a blanket


def _payloads(corpus: Path) -> list[int]:
    """Payload bytes (JSON + images + arrays) of each sample of the largest tar, in order."""
    import tarfile

    tars = sorted((corpus / "wds").glob("*.tar"), key=lambda p: p.stat().st_size)
    sizes: dict[str, int] = {}
    with tarfile.open(tars[-1]) as tar:
        for member in tar.getmembers():  # <key>.json, <key>.<role>.png, <key>.<role>.npy
            parts = 1 if member.name.endswith(".json") else 2
            key = member.name.rsplit(".", parts)[0]
            sizes[key] = sizes.get(key, 0) + member.size
    return list(sizes.values())


def test_split_points_are_the_same_with_and_without_tars(tmp_path: Path) -> None:
    build(tmp_path, sources=("bigearthnet_v1",), shard__webdataset=True)
    first, second = _payloads(tmp_path / "corpus")[:2]
    # one byte short of two samples: they split only if the second's JSON is counted
    limit = {"sources": ("bigearthnet_v1",), "shard__max_bytes": first + second - 1}
    build(tmp_path, "shard", **limit, shard__webdataset=True)
    with_tars = tree_digest(tmp_path / "corpus")
    split_rows = _rows_per_file(tmp_path / "corpus")
    build(tmp_path, "shard", **limit, shard__webdataset=False)
    without = tree_digest(tmp_path / "corpus")
    data = {k: v for k, v in with_tars.items() if k.startswith(("data/", "pairs/"))}
    assert {k: v for k, v in without.items() if k.startswith(("data/", "pairs/"))} == data
    assert _rows_per_file(tmp_path / "corpus") == split_rows
    assert not any(k.startswith("wds/") for k in without)
    wide = {"sources": ("bigearthnet_v1",), "shard__max_bytes": first + second + 100_000}
    build(tmp_path, "shard", **wide, shard__webdataset=False)
    assert len(_rows_per_file(tmp_path / "corpus")) < len(split_rows)  # the limit decided


def _rows_per_file(corpus: Path) -> list[int]:
    import pyarrow.parquet as pq

    return [pq.read_metadata(p).num_rows for p in sorted((corpus / "data").glob("*.parquet"))]
