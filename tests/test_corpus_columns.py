"""The shard stage's sample table by columns (pipeline/corpus/columns.py).

Blobs referenced in the memory-mapped rendering cache must give exactly the table (and the
Parquet bytes) that ``Table.from_pylist`` gives from ``bytes``; the loader must agree with
:func:`~eoinstruct.pipeline.io.rendered.load_rendered`, nulls and garbled batches included.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.corpus.columns import (
    binary_column,
    load_rendered_blobs,
    sample_table,
)
from eoinstruct.pipeline.corpus.layout import corpus_schema, pair_schema
from eoinstruct.pipeline.corpus.rows import BlobRef
from eoinstruct.pipeline.io.rendered import RENDER_SCHEMA, load_rendered, write_rendered


def _render_rows(count: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(count):
        png = None if i % 5 == 3 else rng.bytes(int(rng.integers(20, 300)))
        npy = rng.bytes(int(rng.integers(1, 500))) if i % 2 else None
        rows.append(
            {
                "sample_id": f"s:{i // 2}",
                "role": f"r{i % 2}",
                "png": png,
                "npy": npy,
                "array_info": '{"dtype": "uint16"}' if npy is not None else None,
                "histograms": "{}",
                "error_kind": None if png is not None else "missing_band",
                "error": None if png is not None else "none",
            }
        )
    return rows


def test_loader_references_the_same_bytes_as_load_rendered(tmp_path: Path) -> None:
    rows = _render_rows(23)
    path = tmp_path / "p.arrow"
    write_rendered(path, pa.Table.from_pylist(rows, schema=RENDER_SCHEMA), batch_size=4)
    wanted = {"s:1", "s:4", "s:9", "s:11"}
    plain = load_rendered(path, wanted)
    blobs = load_rendered_blobs(path, wanted)
    assert sorted(blobs) == sorted(plain) == sorted(wanted)
    for sample_id, expected in plain.items():
        got = blobs[sample_id]
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            for key, value in b.items():
                if key in ("png", "npy"):
                    assert (a[key] is None) == (value is None)
                    if value is not None:
                        assert isinstance(a[key], BlobRef) and bytes(a[key]) == value
                        assert len(a[key]) == len(value)
                else:
                    assert a[key] == value
    # a garbled byte fails its batch's CRC: both loaders drop the same samples
    data = bytearray(path.read_bytes())
    at = data.find(rows[9]["png"])
    assert at > 0
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    assert sorted(load_rendered_blobs(path, wanted)) == sorted(load_rendered(path, wanted))
    assert "s:4" not in load_rendered_blobs(path, wanted)
    assert load_rendered_blobs(tmp_path / "absent.arrow", wanted) == {}


def _sample_row(i: int, blobs: list[Any]) -> dict[str, Any]:
    images = [
        {"bytes": blobs[(i + k) % len(blobs)], "path": f"k{i}.r{k}.png"} for k in range(i % 3)
    ]
    arrays = [
        {
            "role": f"r{k}",
            "npy": blobs[(i * 3 + k) % len(blobs)],
            "shape": [2, 3, 4],
            "dtype": "uint16",
            "bands": ["B02", "B03"],
            "wavelengths_nm": [490.0, None],
            "gsd_m": 10.0,
            "scale": 1e-4,
            "offset": 0.0,
            "unit": "surface reflectance",
            "encoding": "reflectance_1e4",
            "nodata": math.nan if k else None,
        }
        for k in range(i % 2 + (i % 4 == 0))
    ]
    dialogue = {
        "pair_id": f"p{i}",
        "task": "t",
        "template_id": "x",
        "paraphrase_id": i,
        "answer_style": "short",
        "generator": "g",
        "generator_params": "{}",
        "modality": "optical",
        "image_roles": ["r0"],
        "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}],
    }
    return {
        "sample_id": f"s{i}",
        "source": "src",
        "modality": "optical",
        "sensor": "s2",
        "split": "train",
        "acquired": ["2020-01-01"] * (i % 3),
        "image_roles": [f"r{k}" for k in range(i % 3)],
        "images": images,
        "arrays": arrays,
        "dialogues": [dialogue] * (1 + i % 2),
        "metadata": "{}",
    }


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def test_sample_table_equals_from_pylist_with_referenced_blobs() -> None:
    schema = corpus_schema()
    raw = [bytes([n]) * (n * 7 % 50) for n in range(1, 12)]
    buffer = pa.py_buffer(b"".join(raw))
    ends = np.cumsum([len(b) for b in raw]).tolist()
    refs = [BlobRef(buffer, end - len(b), end) for b, end in zip(raw, ends, strict=True)]
    assert [bytes(r) for r in refs] == raw
    mixed = [r if n % 2 else raw[n] for n, r in enumerate(refs)]  # refs and bytes together
    as_bytes = [_sample_row(i, raw) for i in range(9)]
    as_refs = [_sample_row(i, mixed) for i in range(9)]
    expected = pa.Table.from_pylist(as_bytes, schema=schema)
    got = sample_table(as_refs, schema)
    assert got.schema == expected.schema and got.schema.metadata == expected.schema.metadata
    assert got.equals(expected)
    assert _parquet(got) == _parquet(expected)
    # rows without any image or array
    empty = [_sample_row(i, raw) for i in (3, 9)]
    assert sample_table(empty, schema).equals(pa.Table.from_pylist(empty, schema=schema))


def test_sample_table_takes_dialogues_from_the_pair_table() -> None:
    """The shard stage's flush: ``dialogues`` from the pair table's columns, same bytes."""
    schema = corpus_schema()
    raw = [bytes([n]) * (n * 7 % 50) for n in range(1, 12)]
    rows = [_sample_row(i, raw) for i in range(9)]
    for i, row in enumerate(rows):  # distinct pairs, so that a misaligned column shows
        row["dialogues"] = [
            {**d, "pair_id": f"p{i}.{n}", "paraphrase_id": n, "image_roles": [f"r{n}"] * n}
            for n, d in enumerate(row["dialogues"])
        ]
    pair_rows = [
        {**d, "sample_id": row["sample_id"], "source": "src", "split": "train", "sensor": "s2"}
        for row in rows
        for d in row["dialogues"]
    ]
    pairs = pa.Table.from_pylist(pair_rows, schema=pair_schema())
    expected = pa.Table.from_pylist(rows, schema=schema)
    got = sample_table(rows, schema, pairs)
    assert got.equals(expected)
    assert _parquet(got) == _parquet(expected)
    # a pair table of other rows is not used
    assert sample_table(rows, schema, pairs.slice(1)).equals(expected)


def test_binary_column_joins_bytes_and_references() -> None:
    buffer = pa.py_buffer(b"abcdef")
    column = binary_column([BlobRef(buffer, 1, 3), b"", b"xyz", BlobRef(buffer, 6, 6)])
    assert column.to_pylist() == [b"bc", b"", b"xyz", b""]
    assert column.null_count == 0


def test_binary_column_of_one_run_slices_the_buffer() -> None:
    buffer = pa.py_buffer(b"0123456789")
    refs = [BlobRef(buffer, 2, 4), BlobRef(buffer, 4, 4), BlobRef(buffer, 4, 9)]
    column = binary_column(refs)
    assert column.to_pylist() == [b"23", b"", b"45678"]
    assert column.buffers()[2].address == buffer.address + 2  # no copy
    gap = binary_column([BlobRef(buffer, 0, 1), BlobRef(buffer, 2, 3)])  # not consecutive
    assert gap.to_pylist() == [b"0", b"2"]
    assert gap.buffers()[2].address != buffer.address
    other = pa.py_buffer(b"0123456789")  # the same bytes in another buffer: joined
    assert binary_column([BlobRef(buffer, 0, 1), BlobRef(other, 1, 2)]).to_pylist() == [
        b"0",
        b"1",
    ]


def test_doc_json_splices_encoded_values_as_to_json_writes_the_whole() -> None:
    from eoinstruct.pipeline.corpus.rows import _doc_json, _Encoded
    from eoinstruct.pipeline.records import to_json

    rng = np.random.default_rng(3)
    names = ["acquired", "arrays", "metadata", "sample_id", "é", "Z", "dialogues"]
    values: list[Any] = [1, 'quote " é', [1, {"q": None}], {"b": 1, "a": [2.5]}, [], {}]
    for _ in range(300):
        chosen = rng.permutation(names)[: int(rng.integers(0, len(names) + 1))]
        plain = {str(k): values[int(rng.integers(0, len(values)))] for k in chosen}
        doc = {k: _Encoded(to_json(v)) if rng.random() < 0.4 else v for k, v in plain.items()}
        assert _doc_json(doc) == to_json(plain)
