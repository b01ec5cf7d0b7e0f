"""Leak-free train/validation/test splits by geographic blocks, and a leakage measure.

The Earth is cut into blocks of about ``block_km`` × ``block_km`` (rows of equal latitude
height; in each row, columns of equal width at the row's central latitude, see
:func:`eoinstruct.pipeline.quality.dedup.grid_cell`). A block's split is drawn from a SHA-256 of a
salt and the
block's row and column, mapped to [0, 1) and cut at the cumulative fractions, so it is the
same in every build and does not depend on which samples exist. Every sample takes the split
of the block holding its footprint centroid, so no block contributes to two splits.

Every view of one place goes to one split: samples are first grouped into places, joined when
they share a location key (:func:`eoinstruct.pipeline.quality.places.place_keys`: the same
BigEarthNet patch in v1.0 and reBEN, the Sentinel-1 and Sentinel-2 patches of one position, the
images of one Satlas tile, the STAC chips of one footprint) or when their centroids are closer
than ``same_place_m``, transitively. A place takes one split by this rule:

1. where ``keep_official`` is set and members carry official splits, the most restrictive of
   them, test > validation > train (a place that any source evaluates on is never trained on;
   an official split that agrees with its place's is kept, one that does not is overridden,
   and :func:`overridden` counts them);
2. otherwise the split of the block holding the centroid of its first member (by sample id),
   so a place of one sample keeps exactly its block's split;
3. a place without any location takes a split drawn from the id of its first member.

Official splits are usually not geographic, so nearby (not identical) places of a source with
official splits still fall in different splits, which the leakage measure shows.

Leakage (:func:`leakage`) counts pairs of samples in different splits whose centroids are
closer than a distance (by a dual-tree walk, :mod:`eoinstruct.pipeline.quality.proximity`: never
every pair of a dense cell), per pair of splits and per pair of sources;
:func:`key_leakage` counts pairs sharing a location key in different splits.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from eoinstruct.pipeline.quality.dedup import IndexEntry, grid_cell, within
from eoinstruct.pipeline.quality.index import SPLITS as SPLITS
from eoinstruct.pipeline.quality.index import SampleIndex, pairs_in_runs
from eoinstruct.pipeline.quality.proximity import count_close_pairs, grid_candidates, sorted_unique

RESTRICTIVENESS: Mapping[str, int] = {name: rank for rank, name in enumerate(SPLITS)}
"""Split → rank; a place whose members carry several official splits takes the highest."""


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """How splits are assigned.

    Attributes:
        block_km: Side of a geographic block in kilometres.
        fractions: Split → share of blocks (summing to 1), in :data:`SPLITS` order.
        keep_official: Keep the official splits of a place's members (the most restrictive
            of them where they differ).
        salt: Text mixed into the block hash (change it to draw another assignment).
        same_place_m: Samples whose centroids are closer than this are one place (0: only
            location keys join samples).
    """

    block_km: float = 50.0
    fractions: Mapping[str, float] = None  # type: ignore[assignment]
    keep_official: bool = True
    salt: str = "eoinstruct"
    same_place_m: float = 100.0

    def __post_init__(self) -> None:
        """Fill the default fractions and check every value."""
        if self.fractions is None:
            object.__setattr__(self, "fractions", {"train": 0.8, "validation": 0.1, "test": 0.1})
        unknown = set(self.fractions) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown splits {sorted(unknown)}; use {list(SPLITS)}")
        if any(v < 0 for v in self.fractions.values()):
            raise ValueError("split fractions must not be negative")
        if abs(sum(self.fractions.values()) - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1, not {sum(self.fractions.values())}")
        if self.block_km <= 0:
            raise ValueError("block_km must be positive")
        if self.same_place_m < 0:
            raise ValueError("same_place_m must not be negative")


def unit_hash(text: str) -> float:
    """Map a text to [0, 1) by SHA-256 (deterministic, uniform)."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(value: float, fractions: Mapping[str, float]) -> str:
    """Return the split whose cumulative-fraction interval holds ``value`` in [0, 1)."""
    cumulative = 0.0
    last = SPLITS[0]
    for name in SPLITS:
        share = fractions.get(name, 0.0)
        if share <= 0:
            continue
        cumulative += share
        last = name
        if value < cumulative:
            return name
    return last


def block_of(lon: float, lat: float, block_km: float) -> tuple[int, int]:
    """Return the (row, column) block of a point."""
    return grid_cell(lon, lat, block_km * 1000.0)


def block_split(block: tuple[int, int], config: SplitConfig) -> str:
    """Return the split of a block."""
    return split_of(unit_hash(f"{config.salt}:{block[0]}:{block[1]}"), config.fractions)


def components(index: SampleIndex, rows: np.ndarray, same_place_m: float) -> np.ndarray:
    """Group rows into places: a common location key or centroids closer than a distance.

    Args:
        index: The samples.
        rows: Whether each row takes part.
        same_place_m: Centroid distance under which two samples are one place (0: none).

    Returns:
        Per row, the smallest row of its place (-1 for rows not taking part).
    """
    n = len(index)
    edges_a: list[np.ndarray] = []
    edges_b: list[np.ndarray] = []
    owner = np.repeat(np.arange(n), np.diff(index.place_offsets))
    take = rows[owner]
    owner, keys = owner[take], index.place_keys[take]
    if owner.size:
        sort = np.lexsort((owner, keys))
        owner, keys = owner[sort], keys[sort]
        start = np.concatenate([[True], keys[1:] != keys[:-1]])
        first = np.maximum.accumulate(np.where(start, np.arange(owner.size), 0))
        edges_a.append(owner)
        edges_b.append(owner[first])
    if same_place_m > 0:
        located = np.nonzero(rows & index.located)[0]
        lon, lat = index.lon[located], index.lat[located]
        for x, y in grid_candidates(lon, lat, np.zeros(located.size), same_place_m):
            later = y > x
            x, y = located[x[later]], located[y[later]]
            close = within(index.lon, index.lat, x, y, same_place_m, strict=True)
            edges_a.append(x[close])
            edges_b.append(y[close])
    label = np.arange(n)
    if edges_a:
        label = _connect(label, np.concatenate(edges_a), np.concatenate(edges_b))
    return np.where(rows, label, -1)


def _connect(label: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components by hooking to the smaller root and pointer jumping."""
    while a.size:
        la, lb = label[a], label[b]
        low = np.minimum(la, lb)
        np.minimum.at(label, la, low)
        np.minimum.at(label, lb, low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        differ = label[a] != label[b]
        a, b = a[differ], b[differ]
    return label


def places(entries: Sequence[IndexEntry], same_place_m: float) -> list[list[IndexEntry]]:
    """Group samples into places: a common location key or centroids closer than a distance.

    Args:
        entries: Index entries.
        same_place_m: Centroid distance under which two samples are one place (0: none).

    Returns:
        The places, each sorted by sample id, in the order of their first sample id.
    """
    index = SampleIndex.from_entries(entries)
    label = components(index, np.ones(len(index), dtype=bool), same_place_m)
    groups: dict[int, list[IndexEntry]] = defaultdict(list)
    for i, entry in enumerate(entries):
        groups[int(label[i])].append(entry)
    out = [sorted(g, key=lambda e: e.sample_id) for g in groups.values()]
    return sorted(out, key=lambda g: g[0].sample_id)


def place_split(members: Sequence[IndexEntry], config: SplitConfig) -> str:
    """Return the split of one place (the rule in the module docstring).

    Args:
        members: The place's samples, sorted by sample id.
        config: The split configuration.

    Returns:
        The split.
    """
    official = [m.split for m in members if m.split in SPLITS] if config.keep_official else []
    if official:
        return max(official, key=RESTRICTIVENESS.__getitem__)
    for m in members:
        if m.lon is not None and m.lat is not None:
            return block_split(block_of(m.lon, m.lat, config.block_km), config)
    return split_of(unit_hash(f"{config.salt}:id:{members[0].sample_id}"), config.fractions)


def split_codes(index: SampleIndex, rows: np.ndarray, config: SplitConfig) -> np.ndarray:
    """Assign a split to every taking-part row: one per place (the rule of :func:`place_split`).

    Args:
        index: The samples.
        rows: Whether each row takes part (the kept samples).
        config: The split configuration.

    Returns:
        Per row, the index of its split in :data:`SPLITS` (-1 for rows not taking part).
    """
    n = len(index)
    label = components(index, rows, config.same_place_m)
    members = np.nonzero(rows)[0]
    members = members[np.lexsort((index.ids[members], label[members]))]  # by place, then id
    official = np.full(n, -1, dtype=np.int64)
    if config.keep_official:
        np.maximum.at(official, label[members], index.split[members])
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, label[members], np.arange(members.size))
    located = index.located[members]
    first_located = np.full(n, n, dtype=np.int64)
    np.minimum.at(first_located, label[members[located]], np.nonzero(located)[0])
    code = {name: i for i, name in enumerate(SPLITS)}
    cache: dict[tuple[int, int], int] = {}
    out = np.full(n, -1, dtype=np.int8)
    for place in sorted_unique(label[members]):
        if official[place] >= 0:
            out[place] = official[place]
        elif first_located[place] < n:
            m = members[first_located[place]]
            block = block_of(float(index.lon[m]), float(index.lat[m]), config.block_km)
            if block not in cache:
                cache[block] = code[block_split(block, config)]
            out[place] = cache[block]
        else:
            name = index.sample_id(int(members[first[place]]))
            out[place] = code[split_of(unit_hash(f"{config.salt}:id:{name}"), config.fractions)]
    return np.where(rows, out[np.maximum(label, 0)], -1).astype(np.int8)


def assign_splits(entries: Iterable[IndexEntry], config: SplitConfig) -> dict[str, str]:
    """Assign a split to every sample: one per place (:func:`places`, :func:`place_split`).

    Args:
        entries: Index entries of the kept samples.
        config: The split configuration.

    Returns:
        Sample id → split.
    """
    index = SampleIndex.from_entries(entries)
    codes = split_codes(index, np.ones(len(index), dtype=bool), config)
    return {index.sample_id(i): SPLITS[c] for i, c in enumerate(codes.tolist())}


def _codes_of(index: SampleIndex, splits: Mapping[str, str]) -> tuple[np.ndarray, list[str]]:
    """Split codes of an index's rows from a mapping (-1: not in it) and the split names."""
    names = sorted(set(splits.values()))
    code = {name: i for i, name in enumerate(names)}
    ids = [index.sample_id(i) for i in range(len(index))]
    return np.array([code.get(splits.get(i, ""), -1) for i in ids], dtype=np.int64), names


def overridden_counts(index: SampleIndex, codes: np.ndarray) -> dict[str, int]:
    """Count, per source, rows whose official split the assignment changed.

    Args:
        index: The samples.
        codes: Assigned split per row as an index of :data:`SPLITS` (-1: no assignment,
            skipped; -2: a split outside :data:`SPLITS`).

    Returns:
        Source → rows (sources with none left out).
    """
    changed = (index.split >= 0) & (codes != -1) & (codes != index.split)
    counts = np.bincount(index.source[changed], minlength=len(index.sources))
    return dict(sorted((index.sources[i], int(c)) for i, c in enumerate(counts) if c))


def overridden(entries: Iterable[IndexEntry], splits: Mapping[str, str]) -> dict[str, int]:
    """Count, per source, samples whose official split the place rule changed.

    Args:
        entries: Index entries.
        splits: Sample id → assigned split (samples not in it are skipped).

    Returns:
        Source → samples (sources with none left out).
    """
    index = SampleIndex.from_entries(entries)
    ids = [index.sample_id(i) for i in range(len(index))]
    codes = np.array(
        [SPLITS.index(splits[i]) if splits.get(i) in SPLITS else -2 for i in ids], dtype=np.int64
    )
    codes[np.array([i not in splits for i in ids], dtype=bool)] = -1
    return overridden_counts(index, codes)


def key_leakage_counts(index: SampleIndex, codes: np.ndarray) -> dict[str, int]:
    """Count pairs sharing a location key in different splits (-1: skipped), per source pair."""
    owner = np.repeat(np.arange(len(index)), np.diff(index.place_offsets))
    take = codes[owner] >= 0
    owner, keys = owner[take], index.place_keys[take]
    pairs: list[np.ndarray] = []
    for later, earlier in pairs_in_runs([keys]):
        a, b = owner[later], owner[earlier]
        differ = codes[a] != codes[b]
        a, b = a[differ], b[differ]
        pairs.append(np.minimum(a, b) * len(index) + np.maximum(a, b))
    if not pairs:
        return {}
    unique = sorted_unique(np.concatenate(pairs))
    a, b = index.source[unique // len(index)], index.source[unique % len(index)]
    counts: Counter[str] = Counter()
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        counts["|".join(sorted((index.sources[x], index.sources[y])))] += 1
    return dict(sorted(counts.items()))


def key_leakage(entries: Iterable[IndexEntry], splits: Mapping[str, str]) -> dict[str, int]:
    """Count pairs of samples sharing a location key but in different splits, per source pair.

    Args:
        entries: Index entries (their ``places`` keys).
        splits: Sample id → split (samples not in it are skipped).

    Returns:
        ``"<source>|<source>"`` (sorted) → pairs; empty when no place spans two splits.
    """
    index = SampleIndex.from_entries(entries)
    return key_leakage_counts(index, _codes_of(index, splits)[0])


@dataclasses.dataclass(frozen=True)
class Leakage:
    """Pairs of nearby samples in different splits.

    Attributes:
        distance_m: The distance under which a pair counts.
        pairs: Number of pairs closer than the distance with different splits.
        by_splits: ``"<split>|<split>"`` (sorted) → pairs.
        samples: Samples in at least one such pair.
        by_sources: ``"<source>|<source>"`` (sorted) → pairs (empty when no sources given).
    """

    distance_m: float
    pairs: int
    by_splits: Mapping[str, int]
    samples: int
    by_sources: Mapping[str, int] = dataclasses.field(default_factory=dict)


def leakage(
    points: Sequence[tuple[str, float, float, str]],
    distance_m: float,
    chunk: int = 1 << 16,
    sources: Sequence[str] | None = None,
) -> Leakage:
    """Count pairs of samples in different splits closer than a distance.

    Args:
        points: ``(sample_id, lon, lat, split)`` per sample.
        distance_m: Pairs strictly closer than this count.
        chunk: Point pairs compared at once at the tree's leaves (memory bound).
        sources: The source of each point, to count pairs per source pair too.

    Returns:
        The leakage (:func:`leakage_arrays`).
    """
    names = sorted({p[3] for p in points})
    code = {name: i for i, name in enumerate(names)}
    count = len(points)
    lons = np.fromiter((p[1] for p in points), dtype=np.float64, count=count)
    lats = np.fromiter((p[2] for p in points), dtype=np.float64, count=count)
    splits = np.fromiter((code[p[3]] for p in points), dtype=np.int64, count=count)
    by = None
    if sources is not None:
        source_names = sorted(set(sources))
        source_code = {name: i for i, name in enumerate(source_names)}
        src = np.fromiter((source_code[s] for s in sources), dtype=np.int64, count=count)
        by = (src, source_names)
    return leakage_arrays(lons, lats, splits, names, distance_m, by, chunk)


def leakage_arrays(
    lon: np.ndarray,
    lat: np.ndarray,
    split: np.ndarray,
    names: Sequence[str],
    distance_m: float,
    sources: tuple[np.ndarray, Sequence[str]] | None = None,
    chunk: int = 1 << 16,
) -> Leakage:
    """Count pairs of points in different splits closer than a distance.

    The pairs are counted by a dual-tree walk (:func:`eoinstruct.pipeline.quality.proximity.
    count_close_pairs`): groups of points wholly within the distance of each other are counted
    from their per-split counts, groups of one split are skipped, and only points near the
    distance are compared one by one, so a dense cell costs far less than all its pairs.

    Args:
        lon: Longitude per point.
        lat: Latitude per point.
        split: Split per point, as an index of ``names``.
        names: The split names.
        distance_m: Pairs strictly closer than this count.
        sources: Source code per point and the source names, to count per source pair too.
        chunk: Point pairs compared at once at the tree's leaves (memory bound).

    Returns:
        The leakage.
    """
    source_names: Sequence[str] = sources[1] if sources is not None else ("",)
    src = sources[0] if sources is not None else np.zeros(len(lon), dtype=np.int64)
    k = max(1, len(names))
    group = src.astype(np.int64) * k + split
    group_class = np.tile(np.arange(k), len(source_names))
    found = count_close_pairs(lon, lat, group, group_class, distance_m, batch=chunk)
    counts: Counter[str] = Counter()
    per_source: Counter[str] = Counter()
    for g, h in zip(*np.nonzero(found.pairs), strict=True):
        n = int(found.pairs[g, h])
        counts["|".join(sorted((names[group_class[g]], names[group_class[h]])))] += n
        if sources is not None:
            pair = sorted((source_names[g // k], source_names[h // k]))
            per_source["|".join(pair)] += n
    return Leakage(
        distance_m=distance_m,
        pairs=int(sum(counts.values())),
        by_splits=dict(sorted(counts.items())),
        samples=int(found.involved.sum()),
        by_sources=dict(sorted(per_source.items())),
    )
