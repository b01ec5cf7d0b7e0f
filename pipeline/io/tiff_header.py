"""A TIFF file's header and first IFD, parsed with ``struct`` for the GeoTIFF fast path.

Classic TIFF and BigTIFF, either byte order (:mod:`eoinstruct.pipeline.io.geotiff`).

Only the tags that path needs are decoded (:data:`_NEEDED`; tifffile's generic parse of every
tag cost about 0.4 ms per file, more than the decode of a BigEarthNet band); tags that change
decoding beyond it are refused (:data:`_REFUSED`), as are a second IFD, an unknown field type,
a duplicate tag, or a count or offset past the end of the file (:class:`UnsupportedTiff`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

_GEOKEYS, _GEODOUBLES, _GEOASCII = 34735, 34736, 34737
_PIXEL_SCALE, _TIEPOINT, _TRANSFORMATION, _NODATA = 33550, 33922, 34264, 42113
_RASTER_TYPE_KEY, _PIXEL_IS_POINT = 1025, 2

_WIDTH, _LENGTH, _BITS, _COMPRESSION, _PHOTOMETRIC, _FILL_ORDER = 256, 257, 258, 259, 262, 266
_STRIP_OFFSETS, _SAMPLES, _ROWS_PER_STRIP, _STRIP_COUNTS = 273, 277, 278, 279
_PLANAR, _PREDICTOR, _TILE_WIDTH, _TILE_LENGTH = 284, 317, 322, 323
_TILE_OFFSETS, _TILE_COUNTS, _EXTRA_SAMPLES, _SAMPLE_FORMAT = 324, 325, 338, 339
_NEEDED = frozenset(
    (256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 338, 339)
) | frozenset((_PIXEL_SCALE, _TIEPOINT, _TRANSFORMATION, _GEOKEYS, _GEODOUBLES, _GEOASCII, _NODATA))
"""Tags whose values :func:`parse_first_ifd` reads (FillOrder and ExtraSamples are checked)."""
_REFUSED = frozenset((320, 330, 347, 400, 32997, 32998))
"""Tags that change decoding beyond this reader (colour map, SubIFDs, JPEG tables, GlobalParameters
IFD, image depth, tile depth): their presence sends the file to GDAL."""
_TYPES: dict[int, tuple[str, int]] = {
    1: ("B", 1),
    2: ("s", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: ("I", 4),  # RATIONAL: two LONGs per value (never a tag read here)
    6: ("b", 1),
    7: ("B", 1),
    8: ("h", 2),
    9: ("i", 4),
    10: ("i", 4),
    11: ("f", 4),
    12: ("d", 8),
    13: ("I", 4),
    16: ("Q", 8),
    17: ("q", 8),
    18: ("Q", 8),
}
"""TIFF field type → ``struct`` code and size of one item (RATIONALs count two items)."""
_MAX_ENTRIES = 4096
"""An IFD with more entries than this is not a plain band file."""
_HEAD = 65536
"""Bytes read at once from the start of the file: a BigEarthNet band file entirely."""


class UnsupportedTiff(Exception):
    """The file is not a kind this reader decodes exactly as GDAL does.

    Also raised for a malformed header: truncated, a count past the file, an offset past its
    end.
    """


@dataclass(frozen=True)
class TiffIfd:
    """The first IFD of a TIFF file, as far as the fast path reads it.

    Attributes:
        byteorder: ``<`` (``II``) or ``>`` (``MM``).
        bigtiff: Whether the file is a BigTIFF.
        tags: Tag code → its values (a tuple of numbers, or a str for ASCII), for the tags in
            :data:`_NEEDED` only.
        size: The file's size in bytes.
    """

    byteorder: str
    bigtiff: bool
    tags: dict[int, tuple[float, ...] | str]
    size: int
    tiepoint: tuple[int, int, str] | None = field(default=None, compare=False)
    """Where the ModelTiepoint values lie: their offset, length and ``struct`` format, where
    they are out of line and apart from every other byte the parse read (else None)."""


class _Bytes:
    """Byte ranges of an open file, served from its first :data:`_HEAD` bytes when possible."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        self.head = handle.read(_HEAD)
        self.extent = 0  # the end of the furthest range read so far

    @classmethod
    def whole(cls, data: bytes) -> _Bytes:
        """A file's bytes read entirely (no handle: every range is served from them)."""
        source = cls.__new__(cls)
        source.handle = None  # type: ignore[assignment]
        source.size = len(data)
        source.head = data
        source.extent = 0
        return source

    def get(self, offset: int, length: int) -> bytes:
        """The ``length`` bytes at ``offset`` (UnsupportedTiff if they are not all there)."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise UnsupportedTiff(f"{length} bytes at {offset} past the end ({self.size})")
        self.extent = max(self.extent, offset + length)
        if offset + length <= len(self.head):
            return self.head[offset : offset + length]
        self.handle.seek(offset)
        data = self.handle.read(length)
        if len(data) != length:
            raise UnsupportedTiff(f"short read at {offset}")
        return data


def _parse(source: _Bytes) -> TiffIfd:
    start = source.get(0, 8)
    order = {b"II": "<", b"MM": ">"}.get(start[:2])
    if order is None:
        raise UnsupportedTiff("not a TIFF byte order mark")
    (magic,) = struct.unpack(order + "H", start[2:4])
    if magic == 42:
        bigtiff, (first,) = False, struct.unpack(order + "I", start[4:8])
    elif magic == 43:
        bytesize, zero, first = struct.unpack(order + "HHQ", source.get(4, 12))
        if bytesize != 8 or zero != 0:
            raise UnsupportedTiff("BigTIFF header")
        bigtiff = True
    else:
        raise UnsupportedTiff(f"TIFF version {magic}")
    count_code, count_size, value_size = ("Q", 8, 8) if bigtiff else ("H", 2, 4)
    if first < (16 if bigtiff else 8):
        raise UnsupportedTiff(f"first IFD at {first}")
    (entries,) = struct.unpack(order + count_code, source.get(first, count_size))
    if not 0 < entries <= _MAX_ENTRIES:
        raise UnsupportedTiff(f"{entries} IFD entries")
    entry = struct.Struct(order + ("HHQ8s" if bigtiff else "HHI4s"))
    block = source.get(first + count_size, entries * entry.size + value_size)
    (following,) = struct.unpack(order + count_code.replace("H", "I"), block[-value_size:])
    if following:
        raise UnsupportedTiff("more than one IFD (overviews or mask)")
    pointer = order + ("Q" if bigtiff else "I")
    tags: dict[int, tuple[float, ...] | str] = {}
    ranges = [(0, 16 if bigtiff else 8), (first, first + count_size + len(block))]
    tiepoint: tuple[int, int, str] | None = None
    for code, kind, count, raw in entry.iter_unpack(block[:-value_size]):
        if code in _REFUSED:
            raise UnsupportedTiff(f"tag {code}")
        if code not in _NEEDED:
            continue
        if code in tags or kind not in _TYPES:
            raise UnsupportedTiff(f"tag {code}: duplicate or type {kind}")
        letter, itemsize = _TYPES[kind]
        items = count * 2 if kind in (5, 10) else count
        length = items * itemsize
        if length > source.size:
            raise UnsupportedTiff(f"tag {code}: count {count} past the file")
        if length <= value_size:
            data = raw[:length]
        else:
            (offset,) = struct.unpack(pointer, raw)
            data = source.get(offset, length)
            if code == _TIEPOINT and kind != 2:
                tiepoint = (offset, length, f"{order}{items}{letter}")
            else:
                ranges.append((offset, offset + length))
        if kind == 2:
            tags[code] = data.rstrip(b"\0").decode("latin-1")
        else:
            tags[code] = struct.unpack(f"{order}{items}{letter}", data)
    if tiepoint is not None:
        low, high = tiepoint[0], tiepoint[0] + tiepoint[1]
        if any(start < high and low < end for start, end in ranges):
            tiepoint = None  # shares bytes with the structure: not cached apart from it
    return TiffIfd(order, bigtiff, tags, source.size, tiepoint)


def parse_first_ifd(handle: BinaryIO) -> TiffIfd:
    """Read a TIFF's header and first IFD (classic or BigTIFF, either byte order).

    Only the tags the fast path uses are decoded; a tag that changes decoding beyond it
    (colour map, SubIFDs, JPEG tables, image depth), a second IFD, an unknown field type, a
    duplicate tag, a count or offset past the end of the file are refused.

    Args:
        handle: The file, open for binary reading (seekable).

    Returns:
        The IFD.

    Raises:
        UnsupportedTiff: The header is malformed or the file is not a plain single-image TIFF.
    """
    try:
        return _parse(_Bytes(handle))
    except (struct.error, UnicodeDecodeError, OverflowError) as exc:
        raise UnsupportedTiff(f"malformed header: {exc}") from exc


class Header:
    """A parsed header and what was derived from it for each caller's limits.

    ``derived``: the caller's limits → what the caller derived from the header (for the
    GeoTIFF reader: the plan, the bounds and where the pixels lie), all fixed by the header's
    bytes and the file's size, so a file whose header is cached is decoded without re-deriving
    them.
    """

    __slots__ = ("derived", "ifd")

    def __init__(self, ifd: TiffIfd) -> None:
        self.ifd = ifd
        self.derived: dict[tuple[object, ...], Any] = {}


_MAX_HEADERS = 256

_IFDS: dict[tuple[int, bytes], Header] = {}
"""Headers parsed, by file size and the bytes the parse read (all in the file's head): a
parse reads each range at offsets given by the bytes before it, so another file of that size
with those bytes parses the same (the band files of one grid share a header)."""

_EXTENTS: list[int] = []
"""The distinct lengths of those byte prefixes (few: one per kind of header)."""

_MOVED: dict[tuple[int, int, int, int, bytes], Header] = {}
"""Headers by file size, prefix length, the tiepoint's offset and length, and the prefix's
bytes without the tiepoint's: the band files of one dataset differ in their place only."""

_SHAPES: list[tuple[int, int, int]] = []
"""The distinct ``(prefix length, tiepoint offset, tiepoint length)`` of :data:`_MOVED`."""


def parse_cached(source: _Bytes, retied: Callable[[Header, TiffIfd], Header]) -> Header:
    """:func:`_parse`, looked up by the header's bytes first (the result is shared: read only).

    A header equal to a cached one in every byte the parse read but the ModelTiepoint values
    (which no other range depends on, and which overlap no other range: checked when parsed)
    is that header with the tiepoint decoded from this file's bytes: ``retied(cached, ifd)``
    re-derives what depends on the place (e.g. the bounds). Every other byte is compared.

    Args:
        source: The file's bytes (its head holding the whole header).
        retied: Builds the header of a file differing from a cached one in its tiepoint.

    Returns:
        The header.

    Raises:
        UnsupportedTiff: The header is malformed or not a plain single-image TIFF.
        struct.error: A malformed header.
    """
    size, head = source.size, source.head
    for extent in _EXTENTS:
        hit = _IFDS.get((size, head[:extent]))
        if hit is not None:
            return hit
    for extent, offset, length in _SHAPES:
        if extent > len(head):
            continue
        cached = _MOVED.get(
            (size, extent, offset, length, head[:offset] + head[offset + length : extent])
        )
        if cached is not None:
            old = cached.ifd
            fmt = old.tiepoint[2] if old.tiepoint is not None else ""
            tags = dict(old.tags)
            tags[_TIEPOINT] = struct.unpack(fmt, head[offset : offset + length])
            ifd = TiffIfd(old.byteorder, old.bigtiff, tags, old.size, old.tiepoint)
            header = retied(cached, ifd)
            _remember(size, head[:extent], extent, header)
            return header
    header = Header(_parse(source))
    extent = source.extent
    if extent <= len(head):
        _remember(size, head[:extent], extent, header)
        tie = header.ifd.tiepoint
        if tie is not None and tie[0] + tie[1] <= extent:
            if len(_MOVED) >= _MAX_HEADERS or len(_SHAPES) >= 8:
                _MOVED.clear()
                _SHAPES.clear()
            shape = (extent, tie[0], tie[1])
            if shape not in _SHAPES:
                _SHAPES.append(shape)
            prefix = head[: tie[0]] + head[tie[0] + tie[1] : extent]
            _MOVED[(size, extent, tie[0], tie[1], prefix)] = header
    return header


def _remember(size: int, prefix: bytes, extent: int, header: Header) -> None:
    if len(_IFDS) >= _MAX_HEADERS or (extent not in _EXTENTS and len(_EXTENTS) >= 8):
        _IFDS.clear()
        _EXTENTS.clear()
    if extent not in _EXTENTS:
        _EXTENTS.append(extent)
    _IFDS[(size, prefix)] = header
