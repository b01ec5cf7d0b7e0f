"""Leak-free train/validation/test splits by geographic blocks, and a leakage measure.

The Earth is cut into blocks of about ``block_km`` × ``block_km`` (rows of equal latitude
height; in each row, columns of equal width at the row's central latitude, see
:func:`eoinstruct.pipeline.quality.dedup.grid_cell`). A block's split is drawn from a SHA-256 of a
salt and the
block's row and column, mapped to [0, 1) and cut at the cumulative fractions, so it is the
same in every build and does not depend on which samples exist. Every sample takes the split
of the block holding its footprint centroid, so no block contributes to two splits. Samples
whose source has an official split keep it when ``keep_official`` is set (those splits are
usually not geographic, which the leakage measure shows); samples without a location get a
split drawn from their id.

Leakage (:func:`leakage`) counts pairs of samples in different splits whose centroids are
closer than a distance, found on a grid of that cell size (only the 3 × 3 neighbouring cells
of each point are compared).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from eoinstruct.pipeline.quality.dedup import (
    METRES_PER_DEGREE,
    IndexEntry,
    grid_cell,
    neighbour_cells,
)

SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitConfig:
    """How splits are assigned.

    Attributes:
        block_km: Side of a geographic block in kilometres.
        fractions: Split → share of blocks (summing to 1), in :data:`SPLITS` order.
        keep_official: Keep a source's official split where the sample has one.
        salt: Text mixed into the block hash (change it to draw another assignment).
    """

    block_km: float = 50.0
    fractions: Mapping[str, float] = None  # type: ignore[assignment]
    keep_official: bool = True
    salt: str = "eoinstruct"

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


def assign_splits(entries: Iterable[IndexEntry], config: SplitConfig) -> dict[str, str]:
    """Assign a split to every sample.

    Args:
        entries: Index entries of the kept samples.
        config: The split configuration.

    Returns:
        Sample id → split.
    """
    out: dict[str, str] = {}
    for entry in entries:
        if config.keep_official and entry.split in SPLITS:
            out[entry.sample_id] = entry.split
        elif entry.lon is not None and entry.lat is not None:
            out[entry.sample_id] = block_split(
                block_of(entry.lon, entry.lat, config.block_km), config
            )
        else:
            out[entry.sample_id] = split_of(
                unit_hash(f"{config.salt}:id:{entry.sample_id}"), config.fractions
            )
    return out


@dataclass(frozen=True)
class Leakage:
    """Pairs of nearby samples in different splits.

    Attributes:
        distance_m: The distance under which a pair counts.
        pairs: Number of pairs closer than the distance with different splits.
        by_splits: ``"<split>|<split>"`` (sorted) → pairs.
        samples: Samples in at least one such pair.
    """

    distance_m: float
    pairs: int
    by_splits: Mapping[str, int]
    samples: int


def _pairwise_m(lon: np.ndarray, lat: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat)[:, None], np.radians(lat2)[None, :]
    dphi = p2 - p1
    dlmb = np.radians(lon2)[None, :] - np.radians(lon)[:, None]
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * (METRES_PER_DEGREE * 180 / np.pi) * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def leakage(
    points: Sequence[tuple[str, float, float, str]], distance_m: float, chunk: int = 2048
) -> Leakage:
    """Count pairs of samples in different splits closer than a distance.

    Points are bucketed on a grid of ``distance_m`` cells; each cell is compared with itself
    and its neighbours, vectorised in blocks of ``chunk`` points, so the cost is the number of
    point pairs in neighbouring cells, never all pairs.

    Args:
        points: ``(sample_id, lon, lat, split)`` per sample.
        distance_m: Pairs strictly closer than this count.
        chunk: Points compared at once (memory bound: chunk² distances).

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
                involved[a[ia]] = True
                involved[b[ib]] = True
    return Leakage(
        distance_m=distance_m,
        pairs=int(sum(counts.values())),
        by_splits=dict(sorted(counts.items())),
        samples=int(involved.sum()),
    )
