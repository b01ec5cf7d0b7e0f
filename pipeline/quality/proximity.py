"""Pairs of points closer than a distance, counted without visiting every pair.

Points (lon/lat, degrees) are placed on a sphere of the mean Earth radius in 3-D, where the
straight (chord) distance is an increasing function of the great-circle distance
(``chord = 2 R sin(d / 2R)``), and sorted into a balanced k-d tree (median splits along each
node's widest axis; every node holds a contiguous run of the sorted points and its bounding
box). The tree is walked pairwise (a dual-tree walk), one tree level at a time with every node
pair of the level in one numpy array:

- a node pair whose boxes are farther apart than the distance is dropped;
- a node pair whose boxes lie entirely within the distance is counted at once from the
  nodes' per-group counts (``counts_a`` ⊗ ``counts_b``) without looking at its points;
- a node pair that holds no two points of different classes is dropped (only pairs of
  different classes — splits — are of interest);
- the others are split into their children; pairs of leaves (at most ``leaf_size`` points
  each) are compared point by point.

The box tests keep a margin of ``1e-7`` relative (and 1 µm): only pairs clearly inside or
clearly outside are decided from boxes; a point pair near the distance is decided by the
haversine formula of :func:`eoinstruct.pipeline.quality.splits._pairwise_m`, so the result is
the one a comparison of every pair gives. The cost is the number of node pairs straddling the
distance, not the number of pairs closer than it: a dense cell of ``n`` points costs about
``n^1.5`` leaf comparisons at worst instead of ``n^2``, and mostly far fewer since pairs of one
class are dropped early.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the radius of :func:`eoinstruct.pipeline.quality.dedup.haversine_m`."""

_METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0

_HAVERSINE_RADIUS_M = _METRES_PER_DEGREE * 180 / np.pi
"""The radius as the leakage check has always computed it (bit for bit)."""

_MARGIN = 1e-7
"""Relative margin of the box tests (pairs this close to the distance are decided exactly)."""


def haversine_pairs_m(
    lon: np.ndarray, lat: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Haversine distances in metres of element-wise pairs (the formula of the leakage check)."""
    p1, p2 = np.radians(lat), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    out: np.ndarray = 2 * _HAVERSINE_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def to_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return ``(n, 3)`` Earth-centred coordinates in metres of lon/lat points on the sphere."""
    lam, phi = np.radians(lon), np.radians(lat)
    cos_phi = np.cos(phi)
    return EARTH_RADIUS_M * np.stack(
        [cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=1
    )


def chord_bounds(distance_m: float) -> tuple[float, float]:
    """Squared chord lengths below which a pair is surely closer, above which surely not."""
    if distance_m >= math.pi * EARTH_RADIUS_M:
        chord = 2 * EARTH_RADIUS_M * (1 + _MARGIN)
        return chord**2 * 4, chord**2 * 4  # every pair qualifies; only the class test remains
    chord = 2 * EARTH_RADIUS_M * math.sin(distance_m / (2 * EARTH_RADIUS_M))
    low = max(0.0, chord * (1 - _MARGIN) - 1e-6)
    high = chord * (1 + _MARGIN) + 1e-6
    return low * low, high * high


@dataclasses.dataclass(frozen=True)
class CloseCounts:
    """Pairs closer than a distance whose classes differ.

    Attributes:
        pairs: ``(groups, groups)`` matrix: ``pairs[g, h]`` (``g < h``; zero elsewhere) is the
            number of pairs of a point of group ``g`` and one of group ``h``.
        involved: Per point, whether it is in at least one such pair.
    """

    pairs: np.ndarray
    involved: np.ndarray


@dataclasses.dataclass
class _Tree:
    order: np.ndarray  # position → point index
    starts: list[np.ndarray]  # per level: node run starts (nodes + 1 entries)
    lo: list[np.ndarray]
    hi: list[np.ndarray]
    counts: list[np.ndarray]  # per level: (nodes, groups) point counts
    present: list[np.ndarray]  # per level: (nodes, classes) bool


def _runs(n: int, level: int) -> np.ndarray:
    return (np.arange((1 << level) + 1, dtype=np.int64) * n) >> level


def _build(xyz: np.ndarray, group: np.ndarray, klass: np.ndarray, groups: int, classes: int,
           leaf_size: int) -> _Tree:  # fmt: skip
    n = len(xyz)
    depth = max(0, math.ceil(math.log2(n / leaf_size))) if n > leaf_size else 0
    order = np.arange(n)
    for level in range(depth):
        starts = _runs(n, level)
        node = np.repeat(np.arange(1 << level), np.diff(starts))
        pts = xyz[order]
        lo = np.minimum.reduceat(pts, starts[:-1], axis=0)
        hi = np.maximum.reduceat(pts, starts[:-1], axis=0)
        axis = np.argmax(hi - lo, axis=1)
        key = pts[np.arange(n), axis[node]]
        order = order[np.lexsort((key, node))]
    pts = xyz[order]
    tree = _Tree(order, [], [], [], [], [])
    leaf_starts = _runs(n, depth)
    leaf = np.repeat(np.arange(1 << depth), np.diff(leaf_starts))
    counts = np.bincount(leaf * groups + group[order], minlength=(1 << depth) * groups)
    counts = counts.reshape(1 << depth, groups)
    seen = np.bincount(leaf * classes + klass[order], minlength=(1 << depth) * classes)
    present: np.ndarray = seen.reshape(1 << depth, classes) > 0
    for level in range(depth, -1, -1):
        starts = _runs(n, level)
        tree.starts.insert(0, starts)
        tree.lo.insert(0, np.minimum.reduceat(pts, starts[:-1], axis=0))
        tree.hi.insert(0, np.maximum.reduceat(pts, starts[:-1], axis=0))
        tree.counts.insert(0, counts)
        tree.present.insert(0, present)
        if level:
            counts = counts.reshape(-1, 2, groups).sum(axis=1)
            present = np.asarray(present.reshape(-1, 2, classes).any(axis=1))
    return tree


def count_close_pairs(
    lon: np.ndarray,
    lat: np.ndarray,
    group: np.ndarray,
    group_class: np.ndarray,
    distance_m: float,
    leaf_size: int = 16,
    batch: int = 1 << 16,
    frontier: int = 1 << 13,
) -> CloseCounts:
    """Count pairs of points strictly closer than a distance whose classes differ.

    Args:
        lon: Longitudes in degrees.
        lat: Latitudes in degrees.
        group: Group code per point (``0 .. groups - 1``).
        group_class: Class code per group; only pairs of different classes count.
        distance_m: Great-circle distance in metres (haversine, mean Earth radius).
        leaf_size: Largest number of points in a leaf of the tree.
        batch: Point pairs compared at once at the leaves (memory bound).
        frontier: Node pairs tested at once (memory bound).

    Returns:
        The counts per pair of groups and the points involved.
    """
    n = len(lon)
    groups = len(group_class)
    pairs = np.zeros((groups, groups), dtype=np.float64)
    involved = np.zeros(n, dtype=bool)
    if n < 2 or groups == 0:
        return CloseCounts(pairs.astype(np.int64), involved)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    group_class = np.asarray(group_class, dtype=np.int64)
    classes = int(group_class.max()) + 1
    klass = group_class[group]
    xyz = to_xyz(lon, lat)
    tree = _build(xyz, group, klass, groups, classes, leaf_size)
    low2, high2 = chord_bounds(distance_m)
    depth = len(tree.starts) - 1
    near = [np.zeros_like(p) for p in tree.present]  # classes a node is wholly near to
    hit = np.zeros(n, dtype=bool)  # by position: in a pair found at the leaves
    leaves = _Leaves(tree, lon, lat, xyz, group, klass, groups, distance_m, batch)
    stack = [(0, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))]
    while stack:  # depth first, at most `frontier` node pairs at once: bounded memory
        level, a, b = stack.pop()
        if a.size > frontier:
            stack += [(level, a[frontier:], b[frontier:]), (level, a[:frontier], b[:frontier])]
            continue
        lo, hi, present = tree.lo[level], tree.hi[level], tree.present[level]
        gap = np.maximum(0.0, np.maximum(lo[b] - hi[a], lo[a] - hi[b]))
        span = np.maximum(hi[b] - lo[a], hi[a] - lo[b])
        mixed = (present[a] | present[b]).sum(axis=1) >= 2
        keep = mixed & ((gap * gap).sum(axis=1) <= high2)
        inside = keep & ((span * span).sum(axis=1) < low2)
        ia, ib = a[inside], b[inside]
        if ia.size:
            counts = tree.counts[level].astype(np.float64)
            weight = np.where(ia == ib, 0.5, 1.0)[:, None]
            pairs += (counts[ia] * weight).T @ counts[ib]
            np.logical_or.at(near[level], ia, present[ib])
            np.logical_or.at(near[level], ib, present[ia])
        rest = keep & ~inside
        a, b = a[rest], b[rest]
        if level == depth:
            pairs += leaves.compare(a, b, hit)
            continue
        same = a == b
        sa, da, db = a[same], a[~same], b[~same]
        children_a = [2 * sa, 2 * sa, 2 * sa + 1, 2 * da, 2 * da, 2 * da + 1, 2 * da + 1]
        children_b = [2 * sa, 2 * sa + 1, 2 * sa + 1, 2 * db, 2 * db + 1, 2 * db, 2 * db + 1]
        if a.size:
            stack.append((level + 1, np.concatenate(children_a), np.concatenate(children_b)))
    involved[tree.order[hit]] = True
    for level in range(depth):
        near[level + 1] |= np.repeat(near[level], 2, axis=0)
    leaf_of = np.repeat(np.arange(len(near[depth])), np.diff(tree.starts[depth]))
    own = klass[tree.order]
    wholly = near[depth][leaf_of].copy()
    wholly[np.arange(n), own] = False
    involved[tree.order[wholly.any(axis=1)]] = True
    pairs = np.triu(np.rint(pairs + pairs.T), 1)  # unordered (halves of self pairs add up)
    pairs[group_class[:, None] == group_class[None, :]] = 0.0  # pairs of one class
    return CloseCounts(pairs.astype(np.int64), involved)


@dataclasses.dataclass
class _Leaves:
    """Point-by-point comparison of pairs of leaves."""

    tree: _Tree
    lon: np.ndarray
    lat: np.ndarray
    xyz: np.ndarray
    group: np.ndarray
    klass: np.ndarray
    groups: int
    distance_m: float
    batch: int

    def compare(self, a: np.ndarray, b: np.ndarray, hit: np.ndarray) -> np.ndarray:
        """Count close pairs of different classes between leaves ``a`` and ``b``.

        Marks the positions in such pairs in ``hit``; returns the ``(groups, groups)`` counts.
        """
        tree, groups = self.tree, self.groups
        pairs = np.zeros(groups * groups, dtype=np.int64)
        starts = tree.starts[-1]
        width = int(np.diff(starts).max()) if len(starts) > 1 else 0
        if a.size == 0 or width == 0:
            return pairs.reshape(groups, groups).astype(np.float64)
        offsets = np.arange(width)
        order = tree.order
        low2, high2 = chord_bounds(self.distance_m)
        step = max(1, self.batch // (width * width))
        for s in range(0, a.size, step):
            la, lb = a[s : s + step], b[s : s + step]
            pa = starts[la][:, None] + offsets[None, :]  # positions, (pairs, width)
            pb = starts[lb][:, None] + offsets[None, :]
            va, vb = pa < starts[la + 1][:, None], pb < starts[lb + 1][:, None]
            pa, pb = np.where(va, pa, 0), np.where(vb, pb, 0)
            xa, xb = self.xyz[order[pa]], self.xyz[order[pb]]
            d = xa[:, :, None, :] - xb[:, None, :, :]
            d2 = np.einsum("pijk,pijk->pij", d, d)
            ca, cb = self.klass[order[pa]], self.klass[order[pb]]
            mask = va[:, :, None] & vb[:, None, :] & (ca[:, :, None] != cb[:, None, :])
            mask &= (la != lb)[:, None, None] | (offsets[:, None] < offsets[None, :])[None]
            mask &= d2 <= high2
            unsure = mask & (d2 >= low2)
            if unsure.any():
                k, i, j = np.nonzero(unsure)
                x, y = order[pa[k, i]], order[pb[k, j]]
                far = haversine_pairs_m(self.lon[x], self.lat[x], self.lon[y], self.lat[y])
                far = far >= self.distance_m
                mask[k[far], i[far], j[far]] = False
            k, i, j = np.nonzero(mask)
            pos_a, pos_b = pa[k, i], pb[k, j]
            ga, gb = self.group[order[pos_a]], self.group[order[pos_b]]
            pairs += np.bincount(ga * groups + gb, minlength=groups * groups)
            hit[pos_a] = True
            hit[pos_b] = True
        return pairs.reshape(groups, groups).astype(np.float64)


def grid_rows(lat: np.ndarray, cell_m: float) -> np.ndarray:
    """Rows of the equal-distance grid (:func:`eoinstruct.pipeline.quality.dedup.grid_row`)."""
    return np.floor(lat * _METRES_PER_DEGREE / cell_m).astype(np.int64)


def grid_cols(lon: np.ndarray, row: np.ndarray, cell_m: float) -> np.ndarray:
    """Columns in grid rows (:func:`eoinstruct.pipeline.quality.dedup.grid_col`)."""
    centre = np.radians(np.clip((row + 0.5) * cell_m / _METRES_PER_DEGREE, -89.9, 89.9))
    return np.floor(lon * _METRES_PER_DEGREE * np.cos(centre) / cell_m).astype(np.int64)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of a 1-D integer array, without importing ``numpy.ma``.

    ``np.unique`` asks ``np.ma.is_masked`` first, which imports ``numpy.ma`` (≈ 10 ms of the
    dedup stage's start-up) for arrays that are never masked here.
    """
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def grid_candidates(
    lon: np.ndarray, lat: np.ndarray, key: np.ndarray, cell_m: float, batch: int = 1 << 14
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x, y)``: every point ``y`` of ``x``'s key in the grid cells near ``x``.

    The cells near a point are those of :func:`eoinstruct.pipeline.quality.dedup.
    neighbour_cells` (the row above and below and two columns either side), so every pair
    closer than ``cell_m`` is among them (``y == x`` too; the caller filters).

    Args:
        lon: Longitudes in degrees (no NaN).
        lat: Latitudes in degrees.
        key: Integer key per point; only points of one key are paired.
        cell_m: Cell size in metres.
        batch: About how many candidates a batch holds (memory bound).

    Yields:
        ``(x, y)`` arrays of point numbers.
    """
    n = len(lon)
    if n == 0:
        return
    row = grid_rows(lat, cell_m)
    col = grid_cols(lon, row, cell_m)
    row0, row_span = int(row.min()) - 1, int(row.max() - row.min()) + 3
    group = key.astype(np.int64) * row_span + (row - row0)
    groups = sorted_unique(group)
    col0, col_span = int(col.min()) - 5, int(col.max() - col.min()) + 11
    if float(len(groups)) * col_span >= 2.0**62:
        raise ValueError(f"grid of {cell_m} m cells too fine for {n} points")
    code = np.searchsorted(groups, group) * col_span + (col - col0)
    del group
    order = np.argsort(code, kind="stable")
    sorted_code = code[order]
    del code
    for p0 in range(0, n, 4096):  # points at a time: bounded memory
        p1 = min(n, p0 + 4096)
        spans = []
        for dr in (-1, 0, 1):
            r = row[p0:p1] + dr
            target = key[p0:p1].astype(np.int64) * row_span + (r - row0)
            rank = np.searchsorted(groups, target)
            exists = (rank < len(groups)) & (groups[np.minimum(rank, len(groups) - 1)] == target)
            c = grid_cols(lon[p0:p1], r, cell_m) - col0
            lo = np.searchsorted(sorted_code, rank * col_span + np.clip(c - 2, 0, col_span - 1))
            hi = np.searchsorted(
                sorted_code, rank * col_span + np.clip(c + 2, 0, col_span - 1), side="right"
            )
            spans.append((np.where(exists, hi - lo, 0), lo))
        counts = spans[0][0] + spans[1][0] + spans[2][0]
        total = np.cumsum(counts)
        begin = 0
        while begin < p1 - p0:
            done = total[begin] - counts[begin]
            end = max(begin + 1, int(np.searchsorted(total, done + batch, side="right")))
            xs, ys = [], []
            for size, lo in spans:
                sizes = size[begin:end]
                x = np.repeat(np.arange(begin, end), sizes)
                first = np.repeat(np.cumsum(sizes) - sizes, sizes)
                xs.append(x + p0)
                ys.append(order[lo[x] + (np.arange(x.size) - first)])
            yield np.concatenate(xs), np.concatenate(ys)
            begin = end
