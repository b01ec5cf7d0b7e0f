"""A minimal reader of uncompressed, stripped, little-endian TIFFs (BigEarthNet's band files).

:func:`read_strip_tiff` is what a plain reader of BigEarthNet's tiny GeoTIFFs costs without
GDAL's per-file open (the file's bytes and its strip offsets, what tifffile does for these
files); :func:`strip_layout` also lets :mod:`benchmarks.synthetic` rewrite a template's pixels in
place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class StripLayout:
    """Where the pixels of an uncompressed, stripped, single-sample TIFF are.

    Attributes:
        width: Columns.
        height: Rows.
        dtype: Pixel type (little-endian).
        offsets: Byte offset of each strip.
        counts: Byte count of each strip.
    """

    width: int
    height: int
    dtype: np.dtype
    offsets: tuple[int, ...]
    counts: tuple[int, ...]


_TYPE_FORMATS = {3: "H", 4: "I"}
_SAMPLE_KINDS = {1: "u", 2: "i", 3: "f"}


def strip_layout(data: bytes) -> StripLayout:
    """Parse the first IFD of a classic little-endian TIFF into its strip layout.

    Args:
        data: The file's bytes.

    Returns:
        The layout.

    Raises:
        ValueError: If the file is not a classic little-endian TIFF with one uncompressed,
            stripped sample per pixel (tiled, compressed, big-endian and BigTIFF files are not
            handled: read those with rasterio).
    """
    if len(data) < 8 or data[:4] != b"II*\x00":
        raise ValueError("not a classic little-endian TIFF")
    (ifd,) = struct.unpack_from("<I", data, 4)
    (entries,) = struct.unpack_from("<H", data, ifd)
    tags: dict[int, tuple[int, ...]] = {}
    for k in range(entries):
        tag, kind, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * k)
        fmt = _TYPE_FORMATS.get(kind)
        if fmt is None:
            continue
        size = struct.calcsize(fmt) * count
        where = ifd + 2 + 12 * k + 8 if size <= 4 else value
        tags[tag] = struct.unpack_from(f"<{count}{fmt}", data, where)
    if tags.get(259, (1,))[0] != 1 or 322 in tags or 273 not in tags:
        raise ValueError("compressed or tiled TIFF")
    if tags.get(277, (1,))[0] != 1:
        raise ValueError("more than one sample per pixel")
    bits = tags.get(258, (8,))[0]
    kind = _SAMPLE_KINDS.get(tags.get(339, (1,))[0])
    if kind is None or bits not in (8, 16, 32, 64):
        raise ValueError("unsupported sample format")
    return StripLayout(
        width=tags[256][0],
        height=tags[257][0],
        dtype=np.dtype(f"<{kind}{bits // 8}"),
        offsets=tags[273],
        counts=tags[279],
    )


def read_strip_tiff(path: Path) -> np.ndarray:
    """Read an uncompressed, stripped, single-band TIFF with plain file I/O and numpy.

    Args:
        path: The file.

    Returns:
        The band as a ``height x width`` array.

    Raises:
        ValueError: If the file is not of that kind (see :func:`strip_layout`).
    """
    data = Path(path).read_bytes()
    layout = strip_layout(data)
    start, stop = layout.offsets[0], layout.offsets[-1] + layout.counts[-1]
    contiguous = all(
        layout.offsets[i] + layout.counts[i] == layout.offsets[i + 1]
        for i in range(len(layout.offsets) - 1)
    )
    if contiguous:
        raw = data[start:stop]
    else:
        raw = b"".join(data[o : o + c] for o, c in zip(layout.offsets, layout.counts, strict=True))
    size = layout.width * layout.height * layout.dtype.itemsize
    return np.frombuffer(raw[:size], dtype=layout.dtype).reshape(layout.height, layout.width)


def put_strips(buffer: bytearray, layout: StripLayout, array: np.ndarray) -> None:
    """Overwrite the pixels of a TIFF held in ``buffer`` with ``array`` (same shape/dtype)."""
    raw = np.ascontiguousarray(array, dtype=layout.dtype).tobytes()
    pos = 0
    for offset, count in zip(layout.offsets, layout.counts, strict=True):
        buffer[offset : offset + count] = raw[pos : pos + count]
        pos += count
