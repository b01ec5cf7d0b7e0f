"""De-duplication: exact copies, near-duplicates and the same place and time seen twice.

Three kinds of duplicate, tested in this order (the first that applies is recorded):

- ``duplicate_exact``: the same decoded pixel values in every image (a SHA-256 of each
  image's shape and values in a canonical form, uint16 where every value is an integer in
  0–65535 and float32 otherwise, whatever the file's dtype; computed by the score stage,
  :func:`eoinstruct.pipeline.quality.pixel_hash.pixel_sha256`).
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
visited earlier and kept; it records the id of that kept sample. The samples are held in a
column-wise index (:class:`~eoinstruct.pipeline.quality.index.SampleIndex`: numpy arrays, no
Python object per sample), never pixels or labels. Near-duplicate candidates are found by
multi-index hashing: with ``d`` allowed differing bits the hash is cut into ``d + 1`` chunks,
and two hashes within distance ``d`` share at least one chunk exactly (pigeonhole), so only
samples sharing a chunk are compared (found by sorting, in bulk). Place-and-time candidates
are found on a grid of ``place_time_m`` cells (:func:`~eoinstruct.pipeline.quality.proximity.
grid_candidates`).

The perceptual hash is own code (kept: ``imagehash.phash`` gives other values for 48 of the
sample build's 106 images, up to 28 bits apart, and other near-duplicate pairs; measured by
``python -m benchmarks.libraries``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eoinstruct.pipeline.accounting import Reason
from eoinstruct.pipeline.quality.index import SampleIndex, pairs_in_runs
from eoinstruct.pipeline.quality.proximity import grid_candidates, haversine_pairs_m

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

_LUMA = np.array([0.299, 0.587, 0.114])[:, np.newaxis, np.newaxis]
"""ITU-R BT.601 luma weights of R, G and B, shaped to multiply a ``(3, height, width)`` array."""


def _pillow_image() -> Any:
    """Return ``PIL.Image``, imported on the first hash.

    The dedup stage only compares the hashes that score wrote: it never loads Pillow (≈ 10 ms
    of its start-up).
    """
    global _IMAGE
    if _IMAGE is None:
        from PIL import Image

        _IMAGE = Image
    return _IMAGE


_IMAGE: Any = None


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
    Image = _pillow_image()
    # grey = 0.299 R + 0.587 G + 0.114 B in float64, summed in that order, rounded to float32:
    # the products in one ufunc call, the sums in place and into the float32 result
    products = np.multiply(rgb, _LUMA)
    np.add(products[0], products[1], out=products[0])
    grey = np.empty(rgb.shape[1:], np.float32)
    np.add(products[0], products[2], out=grey)
    height, width = grey.shape
    small = Image.frombuffer("F", (width, height), grey, "raw", "F", 0, 1).resize(
        (HASH_SIDE, HASH_SIDE), Image.Resampling.BOX
    )
    pixels = np.frombuffer(small.tobytes(), np.float32).reshape(HASH_SIDE, HASH_SIDE)
    pixels = pixels.astype(np.float64)
    coefficients = _DCT @ pixels @ _DCT.T
    low = coefficients[:LOW_FREQUENCIES, :LOW_FREQUENCIES].ravel()
    ordered = np.sort(low)
    middle = ordered.size // 2  # np.median of an even count: the mean of the two middle values
    median = (ordered[middle - 1] + ordered[middle]) / 2.0
    # the bits, first coefficient most significant
    return int.from_bytes(np.packbits(low > median).tobytes(), "big")


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


@dataclass(frozen=True)
class Decisions:
    """The duplicates of a :class:`~eoinstruct.pipeline.quality.index.SampleIndex`, per row.

    Attributes:
        duplicate_of: Row of the kept sample a row duplicates (-1: the row is kept).
        reason: Index in :data:`REASONS` of the reason (-1: kept).
        distance: Hamming distance (near), metres (place and time) or 0.
    """

    duplicate_of: np.ndarray
    reason: np.ndarray
    distance: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        """Whether each row is kept."""
        return self.duplicate_of < 0

    def removed(self, index: SampleIndex) -> dict[str, Duplicate]:
        """Sample id → :class:`Duplicate` of every removed row."""
        return {
            index.sample_id(int(i)): Duplicate(
                index.sample_id(int(i)),
                REASONS[int(self.reason[i])],
                index.sample_id(int(self.duplicate_of[i])),
                float(self.distance[i]),
            )
            for i in np.nonzero(self.duplicate_of >= 0)[0]
        }


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
    index = SampleIndex.from_entries(entries)
    return decide(index, near_max_distance, place_time_m, priority).removed(index)


def decide(
    index: SampleIndex,
    near_max_distance: int,
    place_time_m: float,
    priority: Sequence[str] = (),
) -> Decisions:
    """Decide which rows of an index are duplicates of others (see :func:`find_duplicates`).

    Candidates are found in bulk (rows of one content hash; rows sharing a chunk of the first
    perceptual hash, then checked on every image; rows of one sensor and date set in
    neighbouring ``place_time_m`` grid cells, then checked by distance), then the rows that
    have any are visited in order and matched against the kept rows visited before them.

    Args:
        index: The samples.
        near_max_distance: Largest Hamming distance of a near-duplicate (negative: none).
        place_time_m: Largest centroid distance of a place-and-time duplicate (0: none).
        priority: Sources in order of preference: the copy in the first source is kept.

    Returns:
        The decisions.
    """
    n = len(index)
    order = index.visiting_order(priority)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    content, shared = _content_groups(index.content)
    near = _near_candidates(index, order, rank, near_max_distance)
    place = _place_candidates(index, rank, place_time_m)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int8)
    distance = np.zeros(n, dtype=np.float64)
    kept = np.ones(n, dtype=bool)
    first_kept = np.full(n, -1, dtype=np.int64)
    todo = shared.copy()
    todo[near[0]] = True
    todo[place[0]] = True
    near_at, place_at = _starts(near[0], n), _starts(place[0], n)
    for x in order[todo[order]]:
        g = content[x]
        if g >= 0 and first_kept[g] >= 0:
            duplicate_of[x], reason[x] = first_kept[g], 0
        else:
            for k in range(near_at[x], near_at[x + 1]):
                if kept[near[1][k]]:
                    duplicate_of[x], reason[x], distance[x] = near[1][k], 1, near[2][k]
                    break
            else:
                for k in range(place_at[x], place_at[x + 1]):
                    y = place[1][k]
                    if kept[y]:
                        d = haversine_m(index.lon[x], index.lat[x], index.lon[y], index.lat[y])
                        duplicate_of[x], reason[x], distance[x] = y, 2, round(d, 3)
                        break
        if duplicate_of[x] >= 0:
            kept[x] = False
        elif g >= 0:
            first_kept[g] = x
    return Decisions(duplicate_of, reason, distance)


def _content_groups(content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, a code of its content hash (-1: unknown) and whether another row shares it."""
    n = len(content)
    code = np.full(n, -1, dtype=np.int64)
    shared = np.zeros(n, dtype=bool)
    rows = np.nonzero(content != b"")[0]
    if rows.size:
        rows = rows[np.argsort(content[rows], kind="stable")]
        values = content[rows]
        new = np.concatenate([[True], values[1:] != values[:-1]])
        del values
        code[rows] = np.cumsum(new) - 1
        size = np.bincount(code[rows])
        shared[rows] = size[code[rows]] > 1
    return code, shared


def _starts(rows: np.ndarray, n: int) -> np.ndarray:
    """Offsets of each row's run in ``rows`` (sorted by row)."""
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])


def _by_row_then_rank(
    x: list[np.ndarray], y: list[np.ndarray], d: list[np.ndarray], rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (x, y) candidates sorted by x, then by the visiting rank of y."""
    if not x:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float64)
    xs, ys, ds = np.concatenate(x), np.concatenate(y), np.concatenate(d)
    pair = xs * len(rank) + ys
    _, first = np.unique(pair, return_index=True)
    xs, ys, ds = xs[first], ys[first], ds[first]
    sort = np.lexsort((rank[ys], xs))
    return xs[sort], ys[sort], ds[sort]


def _near_candidates(
    index: SampleIndex, order: np.ndarray, rank: np.ndarray, max_distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (x, y earlier) whose every perceptual hash is within ``max_distance`` bits."""
    found: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    count = index.phash_count
    if max_distance >= 0 and len(index):
        offsets = index.phash_offsets
        nulls = np.concatenate([[0], np.cumsum(index.phash_null)])
        valid = (count > 0) & (nulls[offsets[1:]] == nulls[offsets[:-1]])
        rows = order[valid[order]]  # in visiting order
        first = index.phash[offsets[rows]]
        group = index.modality[rows].astype(np.int64) * (int(count.max()) + 1) + count[rows]
        for start, stop in _chunks(max_distance):
            mask = np.uint64((1 << (stop - start)) - 1)
            value = (first >> np.uint64(start)) & mask
            for later, earlier in pairs_in_runs([group, value]):
                x, y = rows[later], rows[earlier]
                worst = np.zeros(x.size, dtype=np.int64)
                for j in range(int(count[x].max()) if x.size else 0):
                    has = count[x] > j
                    bits = index.phash[offsets[x[has]] + j] ^ index.phash[offsets[y[has]] + j]
                    worst[has] = np.maximum(worst[has], np.bitwise_count(bits))
                close = worst <= max_distance
                found[0].append(x[close])
                found[1].append(y[close])
                found[2].append(worst[close].astype(np.float64))
    return _by_row_then_rank(*found, rank)


def _place_candidates(
    index: SampleIndex, rank: np.ndarray, place_time_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (x, y earlier) of one sensor and date set within ``place_time_m``."""
    found: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    if place_time_m > 0 and len(index):
        dated = np.array([bool(d) for d in index.date_sets], dtype=bool)[index.dates]
        rows = np.nonzero(index.located & dated)[0]
        sensors = [normalize_sensor(s) for s in index.sensors]
        names = sorted(set(sensors))
        sensor = np.array([names.index(s) for s in sensors], dtype=np.int64)[index.sensor[rows]]
        key = sensor * len(index.date_sets) + index.dates[rows]
        lon, lat = index.lon[rows], index.lat[rows]
        for a, b in grid_candidates(lon, lat, key, place_time_m):
            x, y = rows[a], rows[b]
            earlier = rank[y] < rank[x]
            x, y = x[earlier], y[earlier]
            close = within(index.lon, index.lat, x, y, place_time_m, strict=False)
            found[0].append(x[close])
            found[1].append(y[close])
            found[2].append(np.zeros(int(close.sum())))
    return _by_row_then_rank(*found, rank)


def within(
    lon: np.ndarray, lat: np.ndarray, x: np.ndarray, y: np.ndarray, limit_m: float, strict: bool
) -> np.ndarray:
    """Whether pairs of points are within a distance, decided as :func:`haversine_m` decides.

    Distances are computed in bulk; the few within ``1e-9`` (relative) of the limit are
    recomputed by :func:`haversine_m`, so the decision is the scalar function's.
    """
    d = haversine_pairs_m(lon[x], lat[x], lon[y], lat[y])
    close = d < limit_m if strict else d <= limit_m
    unsure = np.nonzero(np.abs(d - limit_m) <= 1e-9 * limit_m + 1e-9)[0]
    for k in unsure:
        exact = haversine_m(lon[x[k]], lat[x[k]], lon[y[k]], lat[y[k]])
        close[k] = exact < limit_m if strict else exact <= limit_m
    return close
