"""The shard stage's sample table built by columns, its image bytes never Python objects.

The score stage's rendering cache (:mod:`eoinstruct.pipeline.io.rendered`) holds every image's
PNG and ``.npy`` bytes in binary Arrow columns of a memory-mapped IPC file. Reading it row by row
(``to_pylist``) copied each blob into a ``bytes`` object, and ``Table.from_pylist`` copied it
again into the output table, value by value. Here a blob stays a :class:`BlobRef` (a slice of the
mapped buffer: its length known, its bytes untouched) until the flush of a row group joins the
blobs of one column into one buffer (:func:`binary_column`): one copy, in C. The other columns of
a row group are converted column by column (:func:`sample_table`), into the same Arrow data as
``Table.from_pylist`` gives, so the Parquet files are byte-identical.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa

from eoinstruct.pipeline.corpus.rows import Blob, BlobRef
from eoinstruct.pipeline.io.rendered import load_rendered, stored_sample
from eoinstruct.pipeline.records import Sample

log = logging.getLogger(__name__)


BlobRendered = tuple[
    dict[str, Blob], dict[str, tuple[Blob, dict[str, Any]]], dict[str, dict[str, list[int]]]
]
"""As :data:`eoinstruct.pipeline.io.rendered.Rendered`, with :data:`Blob` values."""


def _blob_refs(array: pa.Array) -> list[BlobRef | None]:
    """The values of a binary array as :class:`BlobRef` (None for a null)."""
    count = len(array)
    validity, offsets_buffer, data = array.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, count + 1, array.offset * 4).tolist()
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
        valid = bits[array.offset : array.offset + count].tolist()
    else:
        valid = [1] * count
    return [BlobRef(data, offsets[i], offsets[i + 1]) if valid[i] else None for i in range(count)]


def load_rendered_blobs(path: Path | None, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Return the rendered images of the wanted samples, by sample id, blobs by reference.

    As :func:`eoinstruct.pipeline.io.rendered.load_rendered` (each batch's CRC-32 checked, an
    unreadable file or batch counts as absent), with ``png`` and ``npy`` as :class:`BlobRef`
    into the memory map, which stays mapped while a reference lives.

    Args:
        path: A rendered file of the score stage (None or absent: nothing rendered).
        wanted: The sample ids needed; batches holding none of them are skipped.

    Returns:
        Sample id → its rows of :data:`~eoinstruct.pipeline.io.rendered.RENDER_SCHEMA`.
    """
    return load_rendered(path, wanted, blobs=_blob_refs)


def stored_blobs(sample: Sample, rows: list[dict[str, Any]], with_rasters: bool) -> BlobRendered:
    """Return a sample's images as the corpus stores them, from rows of :func:`load_rendered_blobs`.

    Args:
        sample: The sample.
        rows: Its rows, one per image.
        with_rasters: Keep the lossless arrays (``shard.raster_members``).

    Returns:
        Renderings, stored arrays and histograms by role.

    Raises:
        RasterReadError: With the recorded kind, if an image has no rendering.
        KeyError: If an image of the sample has no row.
    """
    # the same walk as the bytes rows of io.rendered: here the blobs are references
    return cast(BlobRendered, stored_sample(sample, rows, with_rasters))


def _one_run(values: Sequence[Blob]) -> BlobRef | None:
    """The span of ``values`` where they are consecutive values of one buffer, else None."""
    first = values[0] if values else None
    if not isinstance(first, BlobRef):
        return None
    end = first.start
    for value in values:
        if not isinstance(value, BlobRef) or value.buffer is not first.buffer or value.start != end:
            return None
        end = value.end
    return BlobRef(first.buffer, first.start, end)


def binary_column(values: Sequence[Blob]) -> pa.Array:
    """A binary array (no nulls) of ``values``.

    Where the values are consecutive values of one rendering cache buffer (a row group of
    whole record batches), the array is a slice of that buffer: no copy. Otherwise they are
    joined into one buffer, in one copy.
    """
    lengths = np.fromiter((len(v) for v in values), np.int64, len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    run = _one_run(values)
    if run is not None:
        data = run.buffer.slice(run.start, len(run))
    else:
        data = pa.py_buffer(b"".join(v.view() if isinstance(v, BlobRef) else v for v in values))
    return pa.Array.from_buffers(pa.binary(), len(values), [None, pa.py_buffer(offsets), data])


def _list_of(items_per_row: Sequence[int], values: pa.Array, kind: pa.DataType) -> pa.Array:
    """A list array of ``kind`` whose row ``i`` holds the next ``items_per_row[i]`` values."""
    offsets = np.zeros(len(items_per_row) + 1, dtype=np.int32)
    np.cumsum(np.asarray(items_per_row, dtype=np.int64), out=offsets[1:])
    # from the buffer, not ``pa.array(offsets)``: that asks ``numpy.ma`` (≈ 10 ms to import)
    offsets_array = pa.Array.from_buffers(pa.int32(), len(offsets), [None, pa.py_buffer(offsets)])
    return pa.ListArray.from_arrays(offsets_array, values, type=kind)


def _struct_with(
    kind: pa.StructType, items: list[dict[str, Any]], name: str, blobs: list[Blob]
) -> pa.Array:
    """A struct array of ``kind`` from ``items`` (dicts without ``name``) and the ``name`` blobs."""
    fields = [kind.field(i) for i in range(kind.num_fields)]
    rest = pa.struct([f for f in fields if f.name != name])
    converted = pa.array(items, type=rest) if items else pa.array([], type=rest)
    arrays = [binary_column(blobs) if f.name == name else converted.field(f.name) for f in fields]
    return pa.StructArray.from_arrays(arrays, fields=fields)


def _dialogues_of(items_per_row: Sequence[int], pairs: pa.Table, kind: pa.ListType) -> pa.Array:
    """The ``dialogues`` column from the pair table of the same rows (one pair row per item).

    Every field of a dialogue item is a column of the pair table (:func:`~eoinstruct.pipeline.
    corpus.rows.sample_records` fills both from one dict), so the column is those columns
    under list offsets: no second conversion of the pairs' Python values.
    """
    struct = kind.value_type
    fields = [struct.field(i) for i in range(struct.num_fields)]
    children = [pairs.column(f.name).combine_chunks() for f in fields]
    items = pa.StructArray.from_arrays(children, fields=fields)
    return _list_of(items_per_row, items, kind)


def sample_table(
    rows: Sequence[dict[str, Any]], schema: pa.Schema, pairs: pa.Table | None = None
) -> pa.Table:
    """Return the sample rows of :func:`~eoinstruct.pipeline.corpus.rows.sample_records` as a table.

    The same table as ``pa.Table.from_pylist(rows, schema=schema)`` (the corpus schema), built
    by columns: ``images.bytes`` and ``arrays.npy`` by :func:`binary_column`, whose values may be
    :class:`BlobRef`.

    Args:
        rows: The rows.
        schema: The corpus schema.
        pairs: The pair table of these rows (their ``dialogues`` in order): the
            ``dialogues`` column is taken from its columns.

    Returns:
        The table.
    """
    columns = []
    for field in schema:
        values = [row[field.name] for row in rows]
        if field.name == "images":
            kind = field.type.value_type
            items = [{"path": image["path"]} for images in values for image in images]
            blobs = [image["bytes"] for images in values for image in images]
            structs = _struct_with(kind, items, "bytes", blobs)
            columns.append(_list_of([len(v) for v in values], structs, field.type))
        elif field.name == "arrays":
            kind = field.type.value_type
            items = [
                {k: v for k, v in a.items() if k != "npy"} for arrays in values for a in arrays
            ]
            blobs = [a["npy"] for arrays in values for a in arrays]
            structs = _struct_with(kind, items, "npy", blobs)
            columns.append(_list_of([len(v) for v in values], structs, field.type))
        elif (
            field.name == "dialogues"
            and pairs is not None
            and pairs.num_rows == sum(len(v) for v in values)
        ):
            columns.append(_dialogues_of([len(v) for v in values], pairs, field.type))
        else:
            columns.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)
