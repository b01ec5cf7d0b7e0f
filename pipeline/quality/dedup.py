"""De-duplication: exact copies, near-duplicates and the same place and time seen twice.

Three kinds of duplicate, tested in this order (the first that applies is recorded):

- ``duplicate_exact``: the same decoded pixels in every image (a SHA-256 of each image's
  pixels, computed by the score stage, :func:`eoinstruct.pipeline.quality.scores.pixel_sha256`).
- ``duplicate_near``: every image's 64-bit perceptual hash (:func:`perceptual_hash` of the
  RGB rendering) within ``near_max_distance`` bits (Hamming distance) of the other sample's
  image at the same position; only between samples of the same modality and number of images
  (a SAR false-colour rendering and an optical one are not the same picture).
- ``duplicate_place_time``: the same sensor (case and parenthesised processing level
  ignored, so BigEarthNet v1's and reBEN's ``Sentinel-2 MSI`` patches match), the same UTC
  acquisition dates, and footprint centroids within ``place_time_m`` metres: the same scene
  distributed twice (e.g. a BigEarthNet v1.0 patch and its reBEN re-processing).

Decisions are global and deterministic: samples are visited in the order (position of the
source in ``source_priority``, sample id), and a sample is removed when it duplicates one
visited earlier and kept; it records the id of that kept sample. Only a small index entry
per sample (:class:`IndexEntry`) is held in memory, never pixels or labels. Near-duplicate
candidates are found by multi-index hashing: with ``d`` allowed differing bits the hash is cut
into ``d + 1`` chunks, and two hashes within distance ``d`` share at least one chunk exactly
(pigeonhole), so only samples sharing a chunk are compared. Place-and-time candidates are
found on a grid of ``place_time_m`` cells.

The perceptual hash is own code (kept: ``imagehash.phash`` gives other values for 48 of the
sample build's 106 images, up to 28 bits apart, and other near-duplicate pairs; measured by
``python -m benchmarks.libraries``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from eoinstruct.pipeline.accounting import Reason

HASH_SIDE = 32
"""The rendering is reduced to a HASH_SIDE × HASH_SIDE grey image before the DCT."""

LOW_FREQUENCIES = 8
"""The LOW_FREQUENCIES × LOW_FREQUENCIES lowest DCT frequencies make the 64-bit hash."""

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), for haversine distances."""

METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0

REASONS: tuple[str, ...] = (
    Reason.DUPLICATE_EXACT,
    Reason.DUPLICATE_NEAR,
    Reason.DUPLICATE_PLACE_TIME,
)


def _dct_matrix(size: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: ``M @ x`` is the DCT of the column vector ``x``."""
    k = np.arange(size)[:, np.newaxis]
    n = np.arange(size)[np.newaxis, :]
    matrix = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * math.sqrt(2.0 / size)
    matrix[0] /= math.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(HASH_SIDE)


def perceptual_hash(rgb: np.ndarray) -> int:
    """Return a 64-bit DCT perceptual hash of an RGB rendering.

    The rendering is converted to grey (ITU-R BT.601 luma), reduced to 32 × 32 pixels by
    box averaging, transformed by a 2-D DCT-II; each of the 8 × 8 lowest frequencies gives one
    bit, set when the coefficient exceeds the median of those 64 coefficients. Slight noise,
    recompression or a small brightness change leave most bits
    unchanged; a different scene changes about half of them.

    Args:
        rgb: A ``(3, height, width)`` uint8 array
            (:func:`eoinstruct.pipeline.io.render.render_rgb`).

    Returns:
        The hash as an unsigned integer below 2**64.
    """
    grey = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).astype(np.float32)
    small = Image.fromarray(grey, mode="F").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.float64)
    coefficients = _DCT @ pixels @ _DCT.T
    low = coefficients[:LOW_FREQUENCIES, :LOW_FREQUENCIES].ravel()
    bits = low > np.median(low)
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    """Return the number of differing bits of two hashes."""
    return (a ^ b).bit_count()


def normalize_sensor(sensor: str) -> str:
    """Return a sensor name without case and parenthesised qualifiers (``Sentinel-2 MSI``)."""
    return re.sub(r"\s+", " ", re.sub(r"\([^)]*\)", "", sensor)).strip().lower()


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two lon/lat points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def grid_row(lat: float, cell_m: float) -> int:
    """Row of the equal-distance grid of ``cell_m`` cells that contains a latitude."""
    return math.floor(lat * METRES_PER_DEGREE / cell_m)


def grid_col(lon: float, row: int, cell_m: float) -> int:
    """Column in a grid row: cells are ``cell_m`` wide at the row's central latitude."""
    centre = math.radians(min(89.9, max(-89.9, (row + 0.5) * cell_m / METRES_PER_DEGREE)))
    return math.floor(lon * METRES_PER_DEGREE * math.cos(centre) / cell_m)


def grid_cell(lon: float, lat: float, cell_m: float) -> tuple[int, int]:
    """Return the (row, column) grid cell of a point."""
    row = grid_row(lat, cell_m)
    return row, grid_col(lon, row, cell_m)


def neighbour_cells(lon: float, lat: float, cell_m: float) -> list[tuple[int, int]]:
    """Return the cells that may hold points within ``cell_m`` of a point.

    The rows above and below and, in each, two columns either side (a cell is ``cell_m``
    wide only at its row's central latitude, slightly narrower poleward of it).
    """
    row = grid_row(lat, cell_m)
    cells = []
    for r in (row - 1, row, row + 1):
        col = grid_col(lon, r, cell_m)
        cells += [(r, c) for c in range(col - 2, col + 3)]
    return cells


@dataclass(frozen=True)
class IndexEntry:
    """What de-duplication and splitting need to know of one sample.

    Attributes:
        sample_id: The sample id.
        source: Its source.
        modality: Its modality.
        sensor: Its sensor.
        content: SHA-256 over the pixel hashes of all its images (empty: unknown).
        phashes: Perceptual hash per image (None where the image has none).
        lon: Footprint centroid longitude (None: no usable footprint).
        lat: Footprint centroid latitude.
        dates: UTC acquisition dates (``YYYY-MM-DD``), in the sample's order.
        split: The official split, or empty.
        places: Location keys (:func:`eoinstruct.pipeline.quality.places.place_keys`): samples
            sharing one show the same place and get one split.
    """

    sample_id: str
    source: str
    modality: str
    sensor: str
    content: str
    phashes: tuple[int | None, ...]
    lon: float | None
    lat: float | None
    dates: tuple[str, ...]
    split: str = ""
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class Duplicate:
    """A removed sample.

    Attributes:
        sample_id: The removed sample.
        reason: One of :data:`REASONS`.
        duplicate_of: The kept sample it duplicates.
        distance: Hamming distance (near), metres (place and time) or 0 (exact).
    """

    sample_id: str
    reason: str
    duplicate_of: str
    distance: float


def _chunks(max_distance: int) -> list[tuple[int, int]]:
    """Bit ranges (start, stop) cutting a 64-bit hash into ``max_distance + 1`` chunks."""
    n = min(64, max_distance + 1)
    edges = np.linspace(0, 64, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _chunk_value(value: int, start: int, stop: int) -> int:
    return (value >> start) & ((1 << (stop - start)) - 1)


def visiting_order(entries: Iterable[IndexEntry], priority: Sequence[str]) -> list[IndexEntry]:
    """Sort entries by (position of the source in ``priority``, sample id).

    Sources missing from ``priority`` come after the listed ones.
    """
    rank = {name: i for i, name in enumerate(priority)}
    return sorted(entries, key=lambda e: (rank.get(e.source, len(rank)), e.sample_id))


def find_duplicates(
    entries: Iterable[IndexEntry],
    near_max_distance: int,
    place_time_m: float,
    priority: Sequence[str] = (),
) -> dict[str, Duplicate]:
    """Decide which samples are duplicates of others, over the whole corpus.

    Args:
        entries: One index entry per sample (all partitions).
        near_max_distance: Largest Hamming distance of a near-duplicate (negative: no
            near-duplicate search).
        place_time_m: Largest centroid distance of a place-and-time duplicate (0: no search).
        priority: Sources in order of preference: the copy in the first source is kept.

    Returns:
        Sample id → :class:`Duplicate` for every removed sample.
    """
    chunks = _chunks(near_max_distance) if near_max_distance >= 0 else []
    by_content: dict[str, str] = {}
    by_chunk: dict[tuple[object, ...], list[IndexEntry]] = defaultdict(list)
    by_cell: dict[tuple[object, ...], list[IndexEntry]] = defaultdict(list)
    order: dict[str, int] = {}
    removed: dict[str, Duplicate] = {}
    for entry in visiting_order(entries, priority):
        found = _match(entry, by_content, by_chunk, chunks, near_max_distance, order)
        if found is None:
            found = _place_time(entry, by_cell, place_time_m, order)
        if found is not None:
            removed[entry.sample_id] = found
            continue
        order[entry.sample_id] = len(order)
        if entry.content:
            by_content.setdefault(entry.content, entry.sample_id)
        first = entry.phashes[0] if entry.phashes else None
        if chunks and first is not None and all(h is not None for h in entry.phashes):
            group = (entry.modality, len(entry.phashes))
            for i, (start, stop) in enumerate(chunks):
                by_chunk[(*group, i, _chunk_value(first, start, stop))].append(entry)
        if place_time_m > 0 and entry.lon is not None and entry.lat is not None and entry.dates:
            key = (normalize_sensor(entry.sensor), entry.dates)
            by_cell[(*key, *grid_cell(entry.lon, entry.lat, place_time_m))].append(entry)
    return removed


def _match(
    entry: IndexEntry,
    by_content: Mapping[str, str],
    by_chunk: Mapping[tuple[object, ...], list[IndexEntry]],
    chunks: Sequence[tuple[int, int]],
    max_distance: int,
    order: Mapping[str, int],
) -> Duplicate | None:
    if entry.content and entry.content in by_content:
        return Duplicate(entry.sample_id, Reason.DUPLICATE_EXACT, by_content[entry.content], 0.0)
    if not chunks or not entry.phashes or any(h is None for h in entry.phashes):
        return None
    first = entry.phashes[0]
    assert first is not None
    group = (entry.modality, len(entry.phashes))
    best: tuple[int, IndexEntry, int] | None = None
    seen: set[str] = set()
    for i, (start, stop) in enumerate(chunks):
        for other in by_chunk.get((*group, i, _chunk_value(first, start, stop)), ()):
            if other.sample_id in seen:
                continue
            seen.add(other.sample_id)
            distances = [
                hamming(a, b)  # type: ignore[arg-type]
                for a, b in zip(entry.phashes, other.phashes, strict=True)
            ]
            if max(distances) <= max_distance:
                rank = order[other.sample_id]
                if best is None or rank < best[0]:
                    best = (rank, other, max(distances))
    if best is None:
        return None
    return Duplicate(entry.sample_id, Reason.DUPLICATE_NEAR, best[1].sample_id, float(best[2]))


def _place_time(
    entry: IndexEntry,
    by_cell: Mapping[tuple[object, ...], list[IndexEntry]],
    place_time_m: float,
    order: Mapping[str, int],
) -> Duplicate | None:
    if place_time_m <= 0 or entry.lon is None or entry.lat is None or not entry.dates:
        return None
    key = (normalize_sensor(entry.sensor), entry.dates)
    best: tuple[int, IndexEntry, float] | None = None
    for cell in neighbour_cells(entry.lon, entry.lat, place_time_m):
        for other in by_cell.get((*key, *cell), ()):
            assert other.lon is not None and other.lat is not None
            distance = haversine_m(entry.lon, entry.lat, other.lon, other.lat)
            if distance <= place_time_m:
                rank = order[other.sample_id]
                if best is None or rank < best[0]:
                    best = (rank, other, distance)
    if best is None:
        return None
    return Duplicate(
        entry.sample_id, Reason.DUPLICATE_PLACE_TIME, best[1].sample_id, round(best[2], 3)
    )
