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

from eoinstruct.pipeline.quality.dedup import (
    IndexEntry,
    grid_cell,
    haversine_m,
    neighbour_cells,
)
from eoinstruct.pipeline.quality.proximity import count_close_pairs

SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""The splits, from the least to the most restrictive."""

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


def places(entries: Sequence[IndexEntry], same_place_m: float) -> list[list[IndexEntry]]:
    """Group samples into places: a common location key or centroids closer than a distance.

    Args:
        entries: Index entries.
        same_place_m: Centroid distance under which two samples are one place (0: none).

    Returns:
        The places, each sorted by sample id, in the order of their first sample id.
    """
    parent = list(range(len(entries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first_of: dict[str, int] = {}
    for i, entry in enumerate(entries):
        for key in entry.places:
            join(first_of.setdefault(key, i), i)
    if same_place_m > 0:
        points = [
            (i, e.lon, e.lat)
            for i, e in enumerate(entries)
            if e.lon is not None and e.lat is not None
        ]
        cells: dict[tuple[int, int], list[tuple[int, float, float]]] = defaultdict(list)
        for point in points:
            cells[grid_cell(point[1], point[2], same_place_m)].append(point)
        for i, lon, lat in points:
            for cell in neighbour_cells(lon, lat, same_place_m):
                for j, lon2, lat2 in cells.get(cell, ()):
                    if j > i and haversine_m(lon, lat, lon2, lat2) < same_place_m:
                        join(i, j)
    groups: dict[int, list[IndexEntry]] = defaultdict(list)
    for i, entry in enumerate(entries):
        groups[root(i)].append(entry)
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


def assign_splits(entries: Iterable[IndexEntry], config: SplitConfig) -> dict[str, str]:
    """Assign a split to every sample: one per place (:func:`places`, :func:`place_split`).

    Args:
        entries: Index entries of the kept samples.
        config: The split configuration.

    Returns:
        Sample id → split.
    """
    out: dict[str, str] = {}
    for members in places(list(entries), config.same_place_m):
        split = place_split(members, config)
        out.update((m.sample_id, split) for m in members)
    return out


def overridden(entries: Iterable[IndexEntry], splits: Mapping[str, str]) -> dict[str, int]:
    """Count, per source, samples whose official split the place rule changed.

    Args:
        entries: Index entries.
        splits: Sample id → assigned split (samples not in it are skipped).

    Returns:
        Source → samples (sources with none left out).
    """
    counts: Counter[str] = Counter()
    for e in entries:
        if e.split in SPLITS and e.sample_id in splits and splits[e.sample_id] != e.split:
            counts[e.source] += 1
    return dict(sorted(counts.items()))


def key_leakage(entries: Iterable[IndexEntry], splits: Mapping[str, str]) -> dict[str, int]:
    """Count pairs of samples sharing a location key but in different splits, per source pair.

    Args:
        entries: Index entries (their ``places`` keys).
        splits: Sample id → split (samples not in it are skipped).

    Returns:
        ``"<source>|<source>"`` (sorted) → pairs; empty when no place spans two splits.
    """
    by_key: dict[str, list[IndexEntry]] = defaultdict(list)
    for e in entries:
        if e.sample_id in splits:
            for key in e.places:
                by_key[key].append(e)
    pairs: set[tuple[str, str]] = set()
    for members in by_key.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if splits[a.sample_id] != splits[b.sample_id]:
                    pairs.add(tuple(sorted((a.sample_id, b.sample_id))))  # type: ignore[arg-type]
    source_of = {e.sample_id: e.source for ms in by_key.values() for e in ms}
    counts = Counter("|".join(sorted((source_of[a], source_of[b]))) for a, b in pairs)
    return dict(sorted(counts.items()))


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
    chunk: int = 1 << 20,
    sources: Sequence[str] | None = None,
) -> Leakage:
    """Count pairs of samples in different splits closer than a distance.

    The pairs are counted by a dual-tree walk (:func:`eoinstruct.pipeline.quality.proximity.
    count_close_pairs`): groups of points wholly within the distance of each other are counted
    from their per-split counts, groups of one split are skipped, and only points near the
    distance are compared one by one, so a dense cell costs far less than all its pairs.

    Args:
        points: ``(sample_id, lon, lat, split)`` per sample.
        distance_m: Pairs strictly closer than this count.
        chunk: Point pairs compared at once at the tree's leaves (memory bound).
        sources: The source of each point, to count pairs per source pair too.

    Returns:
        The leakage.
    """
    names = sorted({p[3] for p in points})
    source_names = sorted(set(sources)) if sources is not None else [""]
    split_code = {name: i for i, name in enumerate(names)}
    source_code = {name: i for i, name in enumerate(source_names)}
    lons = np.fromiter((p[1] for p in points), dtype=np.float64, count=len(points))
    lats = np.fromiter((p[2] for p in points), dtype=np.float64, count=len(points))
    splits = np.fromiter((split_code[p[3]] for p in points), dtype=np.int64, count=len(points))
    if sources is not None:
        src = np.fromiter((source_code[s] for s in sources), dtype=np.int64, count=len(points))
    else:
        src = np.zeros(len(points), dtype=np.int64)
    group = src * len(names) + splits
    group_class = np.tile(np.arange(len(names)), len(source_names))
    found = count_close_pairs(lons, lats, group, group_class, distance_m, batch=chunk)
    counts: Counter[str] = Counter()
    per_source: Counter[str] = Counter()
    for g, h in zip(*np.nonzero(found.pairs), strict=True):
        n = int(found.pairs[g, h])
        x, y = names[group_class[g]], names[group_class[h]]
        counts["|".join(sorted((x, y)))] += n
        if sources is not None:
            sx, sy = source_names[g // len(names)], source_names[h // len(names)]
            per_source["|".join(sorted((sx, sy)))] += n
    return Leakage(
        distance_m=distance_m,
        pairs=int(sum(counts.values())),
        by_splits=dict(sorted(counts.items())),
        samples=int(found.involved.sum()),
        by_sources=dict(sorted(per_source.items())),
    )
