"""The quadratic-memory reference implementations that dedup and splits replaced (the oracle).

Copied verbatim from the implementation before the near-linear rewrite (commit 9cb3d1b): one
Python object per sample, dict-of-lists indexes and, in ``leakage``, every pair of points in
neighbouring cells compared. Tests check the new code gives the same results on random inputs.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from eoinstruct.pipeline.accounting import Reason
from eoinstruct.pipeline.quality.dedup import (
    METRES_PER_DEGREE,
    Duplicate,
    IndexEntry,
    grid_cell,
    hamming,
    haversine_m,
    neighbour_cells,
    normalize_sensor,
    visiting_order,
)
from eoinstruct.pipeline.quality.splits import (
    RESTRICTIVENESS,
    SPLITS,
    Leakage,
    SplitConfig,
    block_of,
    block_split,
    split_of,
    unit_hash,
)
from eoinstruct.pipeline.stages.dedup import DedupConfig


def _chunks(max_distance: int) -> list[tuple[int, int]]:
    """Bit ranges (start, stop) cutting a 64-bit hash into ``max_distance + 1`` chunks."""
    n = min(64, max_distance + 1)
    edges = np.linspace(0, 64, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _chunk_value(value: int, start: int, stop: int) -> int:
    return (value >> start) & ((1 << (stop - start)) - 1)


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


def _pairwise_m(lon: np.ndarray, lat: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat)[:, None], np.radians(lat2)[None, :]
    dphi = p2 - p1
    dlmb = np.radians(lon2)[None, :] - np.radians(lon)[:, None]
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * (METRES_PER_DEGREE * 180 / np.pi) * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def leakage(
    points: Sequence[tuple[str, float, float, str]],
    distance_m: float,
    chunk: int = 2048,
    sources: Sequence[str] | None = None,
) -> Leakage:
    """Count pairs of samples in different splits closer than a distance.

    Points are bucketed on a grid of ``distance_m`` cells; each cell is compared with itself
    and its neighbours, vectorised in blocks of ``chunk`` points, so the cost is the number of
    point pairs in neighbouring cells, never all pairs.

    Args:
        points: ``(sample_id, lon, lat, split)`` per sample.
        distance_m: Pairs strictly closer than this count.
        chunk: Points compared at once (memory bound: chunk² distances).
        sources: The source of each point, to count pairs per source pair too.

    Returns:
        The leakage.
    """
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (_, lon, lat, _) in enumerate(points):
        cells[grid_cell(lon, lat, distance_m)].append(i)
    lons = np.array([p[1] for p in points], dtype=np.float64)
    lats = np.array([p[2] for p in points], dtype=np.float64)
    names = sorted({p[3] for p in points})
    codes = np.array([names.index(p[3]) for p in points], dtype=np.int64)
    counts: Counter[str] = Counter()
    per_source: Counter[str] = Counter()
    involved = np.zeros(len(points), dtype=bool)
    for _, members in sorted(cells.items()):
        here = np.array(members)
        candidates = np.array(
            sorted(
                {
                    j
                    for i in members
                    for c in neighbour_cells(lons[i], lats[i], distance_m)
                    for j in cells.get(c, ())
                }
            )
        )
        for start in range(0, here.size, chunk):
            a = here[start : start + chunk]
            for cstart in range(0, candidates.size, chunk):
                b = candidates[cstart : cstart + chunk]
                near = _pairwise_m(lons[a], lats[a], lons[b], lats[b]) < distance_m
                near &= a[:, None] < b[None, :]  # each pair once
                near &= codes[a][:, None] != codes[b][None, :]
                ia, ib = np.nonzero(near)
                for x, y in zip(codes[a][ia], codes[b][ib], strict=True):
                    counts["|".join(sorted((names[x], names[y])))] += 1
                if sources is not None:
                    for x, y in zip(a[ia], b[ib], strict=True):
                        per_source["|".join(sorted((sources[x], sources[y])))] += 1
                involved[a[ia]] = True
                involved[b[ib]] = True
    return Leakage(
        distance_m=distance_m,
        pairs=int(sum(counts.values())),
        by_splits=dict(sorted(counts.items())),
        samples=int(involved.sum()),
        by_sources=dict(sorted(per_source.items())),
    )


def dedup_metrics(
    entries: list[IndexEntry],
    removed: Mapping[str, Duplicate],
    splits: Mapping[str, str],
    config: DedupConfig,
) -> dict[str, Any]:
    """Summarise duplicates, splits and leakage.

    Args:
        entries: All index entries.
        removed: The duplicates.
        splits: The split of every sample left.
        config: The configuration.

    Returns:
        The metrics (JSON-ready).
    """
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    across: Counter[str] = Counter()
    source_of = {e.sample_id: e.source for e in entries}
    for dup in removed.values():
        by_source[source_of[dup.sample_id]][dup.reason] += 1
        if source_of[dup.sample_id] != source_of[dup.duplicate_of]:
            across[dup.reason] += 1
    split_counts: dict[str, Counter[str]] = defaultdict(Counter)
    points = []
    sources = []
    for e in entries:
        if e.sample_id in removed:
            continue
        split_counts[e.source][splits[e.sample_id]] += 1
        if e.lon is not None and e.lat is not None:
            points.append((e.sample_id, e.lon, e.lat, splits[e.sample_id]))
            sources.append(e.source)
    block = leakage(points, config.splits.block_km * 1000.0, sources=sources)
    place = leakage(points, config.place_time_m) if config.place_time_m > 0 else None
    same_m = config.splits.same_place_m
    same = leakage(points, same_m, sources=sources) if same_m > 0 else None
    keyed = key_leakage(entries, splits)
    by_sources: dict[str, dict[str, int]] = defaultdict(dict)
    for name, figures in (
        ("closer_than_block", block.by_sources),
        ("closer_than_same_place_m", same.by_sources if same else {}),
        ("same_location_key", keyed),
    ):
        for pair, n in figures.items():
            by_sources[pair][name] = n
    return {
        "read": len(entries),
        "kept": len(entries) - len(removed),
        "duplicates": dict(sorted(Counter(d.reason for d in removed.values()).items())),
        "duplicates_across_sources": dict(sorted(across.items())),
        "duplicates_by_source": {k: dict(sorted(v.items())) for k, v in sorted(by_source.items())},
        "splits_by_source": {k: dict(sorted(v.items())) for k, v in sorted(split_counts.items())},
        "official_splits_overridden": overridden(entries, splits),
        "leakage": {
            "block_km": config.splits.block_km,
            "pairs_closer_than_block": block.pairs,
            "by_splits": dict(block.by_splits),
            "samples_involved": block.samples,
            "pairs_closer_than_place_time_m": place.pairs if place else None,
            "same_place_m": same_m,
            "pairs_closer_than_same_place_m": same.pairs if same else None,
            "pairs_sharing_a_location_key": sum(keyed.values()),
            "by_sources": {k: dict(sorted(v.items())) for k, v in sorted(by_sources.items())},
        },
    }
