"""The rendered images of scored samples: each image decoded once, stored once per partition.

The score stage reads every image once; from that array it computes the scores and, in the same
pass, the bytes the corpus stores (:func:`rendered_image`): the RGB rendering as PNG (or the
original PNG/JPEG file), the lossless ``.npy`` array where
:func:`~eoinstruct.pipeline.corpus.rows.needs_array`, and the band histograms of the corpus
card. It writes them per partition as ``<work>/_rendered/<partition>.parquet``
(:data:`RENDER_SCHEMA`, :func:`rendered_path`); the shard stage copies those bytes
(:func:`load_rendered`, :func:`stored_sample`) instead of decoding the pixels a second time.
Row groups are read only where they hold a sample the shard needs, so memory stays per row
group and partition.

The file is a hand-off cache, not an output: it is no DVC out and no completion record lists
it. The shard stage deletes a partition's file once that partition's shards are published (a
kill in between leaves a file the next shard run deletes); where it is absent (deleted, a
shard-only rerun) shard decodes the sample itself into the same bytes, so the corpus is
byte-identical either way and the renderings never stay on disk beside it. The file is published
without a flush (a power loss may truncate or garble it): every page carries a CRC-32, checked on
reading, and a file or row group that cannot be read or verified counts as absent.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.corpus.rows import needs_array, npy_bytes, stored_array
from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.render import passes_through, png_bytes
from eoinstruct.pipeline.quality.scores import band_histograms
from eoinstruct.pipeline.records import ImageRef, Sample

log = logging.getLogger(__name__)

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

RENDER_CACHE = f"_{RENDERED_KIND}"
"""The folder of the work folder that holds the rendered files."""


def rendered_path(work: Path, partition: str) -> Path:
    """Return where the score stage leaves a partition's rendered images.

    Args:
        work: The build's work folder (``paths.work``).
        partition: The partition name.

    Returns:
        ``<work>/_rendered/<partition>.parquet`` (it may not exist).
    """
    return work / RENDER_CACHE / f"{partition}.parquet"


Rendered = tuple[
    dict[str, bytes], dict[str, tuple[bytes, dict[str, Any]]], dict[str, dict[str, list[int]]]
]
"""A sample's renderings, stored arrays (``.npy`` bytes, description) and band histograms,
by image role."""

ROW_GROUP_SIZE = 64
"""Images per row group of a rendered file (the unit the shard stage loads)."""


_BLOBS = ("png", "npy")
_SMALL = [name for name in RENDER_SCHEMA.names if name not in _BLOBS]


def write_rendered(path: Path, table: pa.Table) -> None:
    """Write a partition's rendered images (a table of :data:`RENDER_SCHEMA`).

    The ``png`` and ``npy`` blobs get no dictionary and no statistics (each is distinct, and a
    dictionary attempt copies and hashes every blob before giving up); PNG bytes are stored
    as they are (already Deflate-coded: zstd saved 0.1 % of them), ``.npy`` arrays with LZ4
    and the small columns with zstd. Measured on the 2,000-unit BigEarthNet build (CPU per
    100-image partition, best of 3): 56.4 ms and 15.205 MB before, 47.3 ms and 15.215 MB
    with ``npy`` zstd; ``npy`` uncompressed as well would take 18.6 ms but 23.6 MB. The file
    is a cache the shard stage reads once and deletes, so LZ4 (most of zstd's gain on arrays
    at a fraction of its time): on 4 Sentinel-1 and 6 Sentinel-2 partitions (CPU-s, write /
    read) S1 float32 zstd 63.0 MB 0.81 / 0.27, LZ4 85.9 MB 0.32 / 0.14, none 146 MB
    0.24 / 0.10; S2 uint16 zstd 80.5 MB 0.25 / 0.14, LZ4 90.5 MB 0.12 / 0.06.

    Args:
        path: Destination (a temporary path from the executor).
        table: The rows.
    """
    pq.write_table(
        table,
        path,
        compression={**dict.fromkeys(_SMALL, "zstd"), "png": "none", "npy": "lz4"},
        row_group_size=ROW_GROUP_SIZE,
        write_statistics=_SMALL,
        use_dictionary=_SMALL,
        write_page_checksum=True,
    )


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
        row["png"] = png_bytes(rgb)
    if needs_array(image):
        stored, info = stored_array(sample, image, array)
        row["npy"] = npy_bytes(stored)
        row["array_info"] = json.dumps(info, sort_keys=True, allow_nan=True)
    row["histograms"] = json.dumps(band_histograms(image, array), sort_keys=True)
    return row


def load_rendered(path: Path | None, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Return the rendered images of the wanted samples, by sample id.

    Args:
        path: A ``rendered`` file of the score stage (None or absent: nothing rendered).
        wanted: The sample ids needed; row groups holding none of them are not read.

    Returns:
        Sample id → its rows of :data:`RENDER_SCHEMA`.
    """
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if path is None or not path.is_file():
        return out
    try:
        handle = pq.ParquetFile(path, page_checksum_verification=True)
        groups = handle.num_row_groups
    except (OSError, ValueError, pa.ArrowException) as exc:  # truncated by a power loss
        log.warning("%s: unreadable rendering cache, decoding its samples (%s)", path, exc)
        return out
    for index in range(groups):
        try:
            ids = handle.read_row_group(index, columns=["sample_id"]).column(0).to_pylist()
            if not wanted.intersection(ids):
                continue  # a row group of dropped samples: its bytes are never loaded
            rows = handle.read_row_group(index).to_pylist()
        except (OSError, ValueError, pa.ArrowException) as exc:  # a garbled page
            log.warning("%s: row group %d unreadable, decoding its samples (%s)", path, index, exc)
            continue
        for row in rows:
            if row["sample_id"] in wanted:
                out[row["sample_id"]].append(row)
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
