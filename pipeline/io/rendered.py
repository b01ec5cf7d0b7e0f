"""The rendered images of scored samples: each image decoded once, stored once per partition.

The score stage reads every image once; from that array it computes the scores and, in the same
pass, the bytes the corpus stores (:func:`rendered_image`): the RGB rendering as PNG (or the
original PNG/JPEG file), the lossless ``.npy`` array where
:func:`~eoinstruct.pipeline.corpus.rows.needs_array`, and the band histograms of the corpus
card. It writes them per partition as ``<work>/_rendered/<partition>.arrow``
(:data:`RENDER_SCHEMA`, :func:`rendered_path`); the shard stage takes those bytes by reference
(:mod:`eoinstruct.pipeline.corpus.columns`; as Python bytes: :func:`load_rendered`,
:func:`stored_sample`) instead of decoding the pixels a second time.
The file is an uncompressed Arrow IPC file, memory-mapped on reading: record batches are
copied out only where they hold a sample the shard needs, so memory stays per batch and
partition.

The file is a hand-off cache, not an output: it is no DVC out and no completion record lists
it. The shard stage deletes the files once every partition's shards are published (a kill
in between leaves files the next shard run deletes); where it is absent (deleted, a
shard-only rerun) shard decodes the sample itself into the same bytes, so the corpus is
byte-identical either way and the renderings never stay on disk beside it. The file is published
without a flush (a power loss may truncate or garble it): every record batch carries the CRC-32
of its buffers, checked on reading, and a file or batch that cannot be read or verified counts
as absent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from isal import isal_zlib

from eoinstruct.pipeline.corpus.arrays import needs_array, npy_parts, stored_array
from eoinstruct.pipeline.io.atomic import HANDOFF_CACHE
from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.render import passes_through, png_parts
from eoinstruct.pipeline.quality.histograms import band_histograms
from eoinstruct.pipeline.records import ImageRef, Sample

log = logging.getLogger(__name__)

_BLOBS = ("png", "npy")

RENDER_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("role", pa.string()),
        ("png", pa.binary()),
        ("npy", pa.binary()),
        ("array_info", pa.string()),
        ("histograms", pa.string()),
        ("error_kind", pa.string()),
        ("error", pa.string()),
    ]
)
"""One image of a scored sample as the corpus stores it: ``png`` its rendering (null with
``error_kind``/``error`` where it has none), ``npy`` and ``array_info`` (JSON) its lossless
array where :func:`~eoinstruct.pipeline.corpus.rows.needs_array`, ``histograms`` (JSON) band →
value histogram for the corpus card."""

RENDERED_KIND = "rendered"
"""Output kind of the rendered images (a transient output: folder ``<work>/_rendered``)."""

RENDER_CACHE = HANDOFF_CACHE
"""The folder of the work folder that holds the rendered files."""


def rendered_path(work: Path, partition: str) -> Path:
    """Return where the score stage leaves a partition's rendered images.

    Args:
        work: The build's work folder (``paths.work``).
        partition: The partition name.

    Returns:
        ``<work>/_rendered/<partition>.arrow`` (it may not exist).
    """
    return work / RENDER_CACHE / f"{partition}{RENDER_SUFFIX}"


Rendered = tuple[
    dict[str, bytes], dict[str, tuple[bytes, dict[str, Any]]], dict[str, dict[str, list[int]]]
]
"""A sample's renderings, stored arrays (``.npy`` bytes, description) and band histograms,
by image role."""

ROW_GROUP_SIZE = 64
"""Images per record batch of a rendered file (the unit the shard stage loads)."""


RENDER_SUFFIX = ".arrow"
"""File name suffix of a rendered file (an Arrow IPC file)."""

_CRC_KEY = b"crc32"


def _crc32(batch: pa.RecordBatch) -> int:
    """CRC-32 over every buffer of a record batch (validity, offsets, values), in order.

    A column without nulls counts no validity buffer (an IPC reader gives it none). ISA-L's
    CRC-32 (the same value as :func:`zlib.crc32`) takes ~1 % of zlib's time on the megabytes of
    a batch.
    """
    crc = 0
    for column in batch.columns:
        buffers = column.buffers()
        for buffer in buffers[1:] if column.null_count == 0 else buffers:
            if buffer is not None:
                crc = isal_zlib.crc32(buffer, crc)
    return crc


def _batches(table: pa.Table, size: int) -> list[pa.RecordBatch]:
    """The table's batches of at most ``size`` rows, each owning exactly its buffers.

    A batch split off a larger one (or any sliced column) is copied into buffers of its own,
    so its CRC covers the bytes an IPC file holds for it.
    """
    out = []
    for chunk in table.to_batches():
        if chunk.num_rows <= size and all(column.offset == 0 for column in chunk.columns):
            out.append(chunk)
            continue
        for start in range(0, chunk.num_rows, size):
            part = chunk.slice(start, size)
            columns = [pa.concat_arrays([column]) for column in part.columns]
            out.append(pa.RecordBatch.from_arrays(columns, schema=chunk.schema))
    return out


class _Arena:
    """Memory one thread reuses for the binary columns of its successive rendered tables.

    A partition's images (15–36 MB in the 2,000-unit BigEarthNet build) joined by a fresh
    ``b"".join`` land in newly mapped pages, faulted in each partition (≈ 11 CPU-ms per 36 MB);
    copied into the pages kept from the previous partition, ≈ 2 ms. Only for a table that is
    written and dropped before the next one is built (:func:`write_rendered_rows`).
    """

    def __init__(self) -> None:
        self.memory = np.empty(0, np.uint8)
        self.used = 0

    def reserve(self, size: int) -> None:
        """Make room for ``size`` bytes of regions (forgetting every region taken so far)."""
        if self.memory.size < size:
            self.memory = np.empty(size, np.uint8)
        self.used = 0

    def take(self, size: int) -> np.ndarray:
        """Return the next ``size`` bytes, starting on a 64-byte boundary of the arena."""
        start = self.used
        self.used = start + _padded(size)
        if self.used > self.memory.size:
            raise ValueError("arena: more bytes taken than reserved")
        return self.memory[start : start + size]


def _padded(size: int) -> int:
    return (size + 63) // 64 * 64


_ARENAS = threading.local()


def _thread_arena() -> _Arena:
    arena: _Arena | None = getattr(_ARENAS, "arena", None)
    if arena is None:
        arena = _ARENAS.arena = _Arena()
    return arena


def _joined(parts: list[Any], size: int, arena: _Arena | None) -> pa.Buffer:
    """The concatenation of ``parts`` (``size`` bytes) as a buffer: new, or in ``arena``."""
    if arena is None:
        return pa.py_buffer(b"".join(parts))
    out = arena.take(size)
    position = 0
    for part in parts:
        end = position + len(part)
        out[position:end] = np.frombuffer(part, np.uint8)
        position = end
    return pa.py_buffer(out)


def _binary_array(values: list[Any], arena: _Arena | None = None) -> pa.Array:
    """A binary array of ``values`` (None a null) from one joined buffer and its offsets.

    ``pa.array`` on a list of ~28 kB ``bytes`` takes ~14 ms per 64 values (it grows its buffer
    value by value); joining them first takes ~0.4 ms, the same array. A value may also be a
    tuple of bytes-like parts (:func:`png_parts`, :func:`npy_parts`), its concatenation: every
    part is copied once, straight into the joined buffer.
    """
    parts: list[Any] = []
    lengths = np.zeros(len(values), dtype=np.int64)
    valid = np.ones(len(values), dtype=np.bool_)
    for index, value in enumerate(values):
        if value is None:
            valid[index] = False
        elif isinstance(value, tuple):
            parts.extend(value)
            lengths[index] = sum(len(part) for part in value)
        else:
            parts.append(value)
            lengths[index] = len(value)
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    nulls = len(values) - int(valid.sum())
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    data = _joined(parts, int(offsets[-1]), arena)
    return pa.Array.from_buffers(
        pa.binary(), len(values), [validity, pa.py_buffer(offsets), data], null_count=nulls
    )


def rendered_table(rows: list[dict[str, Any]], arena: _Arena | None = None) -> pa.Table:
    """Return rows of :data:`RENDER_SCHEMA` as a table of :data:`ROW_GROUP_SIZE`-row batches.

    Built a column at a time (a missing key a null; binary columns by :func:`_binary_array`)
    rather than by ``RecordBatch.from_pylist``, which converts row dicts.

    Args:
        rows: The rows.
        arena: Memory the binary columns are copied into (reserved by the caller), instead
            of new buffers.

    Returns:
        The table (what :func:`write_rendered` writes without copying a batch).
    """
    batches = []
    for start in range(0, len(rows), ROW_GROUP_SIZE):
        chunk = rows[start : start + ROW_GROUP_SIZE]
        columns = [
            _binary_array([row.get(field.name) for row in chunk], arena)
            if field.type == pa.binary()
            else pa.array([row.get(field.name) for row in chunk], type=field.type)
            for field in RENDER_SCHEMA
        ]
        batches.append(pa.RecordBatch.from_arrays(columns, schema=RENDER_SCHEMA))
    return pa.Table.from_batches(batches, schema=RENDER_SCHEMA)


def write_rendered(path: Path, table: pa.Table, batch_size: int = ROW_GROUP_SIZE) -> None:
    """Write a partition's rendered images (a table of :data:`RENDER_SCHEMA`).

    An uncompressed Arrow IPC file of :data:`ROW_GROUP_SIZE`-image record batches, each with
    the CRC-32 of its buffers in its custom metadata (checked on reading): the file is a cache
    the shard stage reads once and deletes, so it is written as the bytes are in memory, with
    no encoding. Measured per 100-image partition of the 2,000-unit BigEarthNet build (CPU ms,
    medians of 3; Parquet with page CRCs, PNG stored, ``npy`` LZ4, small columns zstd, as
    before): Sentinel-2 19.6 → 12.8 (15.0 MB either way), Sentinel-1 87.5 → 31.4 (21 →
    36 MB: LZ4 IPC buffers would take 70.6 ms for 21 MB).

    Args:
        path: Destination (a temporary path from the executor).
        table: The rows.
        batch_size: Images per record batch (the unit the shard stage loads).
    """
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in _batches(table, batch_size):
            writer.write_batch(batch, custom_metadata={_CRC_KEY: str(_crc32(batch)).encode()})


def _value_size(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, tuple):
        return sum(len(part) for part in value)
    return len(value)


def write_rendered_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows of :data:`RENDER_SCHEMA` (:func:`write_rendered` of :func:`rendered_table`).

    The same bytes, but the binary columns are copied into this thread's :class:`_Arena`
    (kept from its previous call) rather than into new memory: the table lives only while
    it is written.

    Args:
        path: Destination (a temporary path from the executor).
        rows: The rows.
    """
    binary = [field.name for field in RENDER_SCHEMA if field.type == pa.binary()]
    size = 0
    for start in range(0, len(rows), ROW_GROUP_SIZE):
        chunk = rows[start : start + ROW_GROUP_SIZE]
        for name in binary:
            size += _padded(sum(_value_size(row.get(name)) for row in chunk))
    arena = _thread_arena()
    arena.reserve(size)
    write_rendered(path, rendered_table(rows, arena))


def rendered_image(
    sample: Sample, image: ImageRef, array: np.ndarray, rgb: np.ndarray | None
) -> dict[str, Any]:
    """Return one image's row of :data:`RENDER_SCHEMA` from its pixels and rendering.

    Args:
        sample: The image's sample.
        image: The image.
        array: Its pixels (every band).
        rgb: Its rendering, None where it has none.

    Returns:
        The row.
    """
    row: dict[str, Any] = {"sample_id": sample.sample_id, "role": image.role}
    if passes_through(image):
        try:
            row["png"] = Path(image.files[0]).read_bytes()
        except OSError as exc:
            row["error_kind"], row["error"] = "missing_file", f"{image.files[0]}: {exc}"
    elif rgb is None:
        row["error_kind"] = "missing_band"
        row["error"] = f"image {image.role!r}: no RGB rendering of {list(image.bands)}"
    else:
        row["png"] = png_parts(rgb)
    if needs_array(image):
        stored, info = stored_array(sample, image, array)
        row["npy"] = npy_parts(stored)
        row["array_info"] = json.dumps(info, sort_keys=True, allow_nan=True)
    row["histograms"] = json.dumps(band_histograms(image, array), sort_keys=True)
    return row


def load_rendered(
    path: Path | None,
    wanted: set[str],
    blobs: Callable[[pa.Array], list[Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Return the rendered images of the wanted samples, by sample id.

    Each batch's CRC-32 is checked; an unreadable file or batch counts as absent (its samples
    are decoded again by the caller).

    Args:
        path: A ``rendered`` file of the score stage (None or absent: nothing rendered).
        wanted: The sample ids needed; batches holding none of them are not copied.
        blobs: Converts the ``png`` and ``npy`` columns instead of copying them into bytes
            (e.g. references into the memory map, which then stays mapped while they live).

    Returns:
        Sample id → its rows of :data:`RENDER_SCHEMA`.
    """
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if path is None or not path.is_file():
        return out
    try:
        source = pa.memory_map(str(path))
    except (OSError, pa.ArrowException) as exc:
        log.warning("%s: unreadable rendering cache, decoding its samples (%s)", path, exc)
        return out
    with contextlib.nullcontext() if blobs else source:
        try:
            reader = pa.ipc.open_file(source)
            batches = reader.num_record_batches
        except (OSError, ValueError, pa.ArrowException) as exc:  # truncated by a power loss
            log.warning("%s: unreadable rendering cache, decoding its samples (%s)", path, exc)
            return out
        for index in range(batches):
            try:
                batch, meta = reader.get_batch_with_custom_metadata(index)
                crc = (meta or {}).get(_CRC_KEY)
                if crc is None or int(crc) != _crc32(batch):
                    raise ValueError("CRC-32 mismatch")
                ids = batch.column(0).to_pylist()
                if not wanted.intersection(ids):
                    continue  # a batch of dropped samples: its bytes are never copied
                names = batch.schema.names
                columns = [
                    blobs(column) if blobs and name in _BLOBS else column.to_pylist()
                    for name, column in zip(names, batch.columns, strict=True)
                ]
            except (OSError, ValueError, pa.ArrowException) as exc:  # garbled bytes
                log.warning("%s: batch %d unreadable, decoding its samples (%s)", path, index, exc)
                continue
            for i, sample_id in enumerate(ids):
                if sample_id in wanted:
                    out[sample_id].append(
                        {name: values[i] for name, values in zip(names, columns, strict=True)}
                    )
    return out


def stored_sample(sample: Sample, rows: list[dict[str, Any]], with_rasters: bool) -> Rendered:
    """Return a sample's images as the corpus stores them, from its rendered rows.

    Args:
        sample: The sample.
        rows: Its rows of :data:`RENDER_SCHEMA`, one per image.
        with_rasters: Keep the lossless arrays (``shard.raster_members``).

    Returns:
        Renderings, stored arrays and histograms by role (:data:`Rendered`).

    Raises:
        RasterReadError: With the recorded kind, if an image has no rendering.
        KeyError: If an image of the sample has no row.
    """
    by_role = {row["role"]: row for row in rows}
    rendered: dict[str, bytes] = {}
    stored: dict[str, tuple[bytes, dict[str, Any]]] = {}
    hists: dict[str, dict[str, list[int]]] = {}
    for image in sample.images:
        row = by_role[image.role]
        if row["png"] is None:
            raise RasterReadError(row["error_kind"] or "corrupt_raster", row["error"] or "")
        rendered[image.role] = row["png"]
        hists[image.role] = json.loads(row["histograms"])
        if with_rasters and row["npy"] is not None:
            stored[image.role] = (row["npy"], json.loads(row["array_info"]))
    return rendered, stored, hists
