"""The near-linear dedup, places, splits and leakage give the reference's results exactly.

The reference (``tests/dedup_reference.py``) is the implementation before the rewrite: one
Python object per sample and every pair of neighbouring points compared. Inputs are random,
with dense cells: clusters of samples closer than every distance used, shared content
hashes, perceptual hashes a few bits apart, shared location keys and official splits.
"""

from __future__ import annotations

import dataclasses

import dedup_reference as ref
import numpy as np
import pytest

from eoinstruct.pipeline.quality.dedup import IndexEntry, find_duplicates
from eoinstruct.pipeline.quality.index import SampleIndex, pairs_in_runs
from eoinstruct.pipeline.quality.proximity import count_close_pairs
from eoinstruct.pipeline.quality.splits import (
    SplitConfig,
    assign_splits,
    key_leakage,
    leakage,
    overridden,
    places,
)
from eoinstruct.pipeline.stages.dedup import DedupConfig, dedup_metrics

SOURCES = ("bigearthnet_v2", "bigearthnet_v1", "satlas", "stac", "xbd")


def random_entries(seed: int, n: int) -> list[IndexEntry]:
    """Random index entries in a few dense clusters, with every kind of duplicate."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform([-30.0, -50.0], [40.0, 65.0], size=(int(rng.integers(1, 4)), 2))
    spread = 10 ** rng.uniform(-4.5, -0.5)  # from metres to tens of kilometres
    base_hashes = [int(h) for h in rng.integers(0, 2**63, size=max(2, n // 8), dtype=np.int64)]
    contents = [f"c{i}" for i in range(max(2, n // 4))]
    entries = []
    for i in range(n):
        lon, lat = centres[rng.integers(len(centres))] + rng.normal(0, spread, 2)
        if rng.random() < 0.15 and entries:  # same footprint as an earlier sample
            twin = entries[int(rng.integers(len(entries)))]
            lon, lat = (twin.lon, twin.lat) if twin.lon is not None else (lon, lat)
        images = int(rng.choice([1, 1, 1, 2, 3]))
        phashes: list[int | None] = []
        for _ in range(images):
            h = base_hashes[int(rng.integers(len(base_hashes)))]
            for bit in rng.integers(0, 64, size=int(rng.integers(0, 7))):
                h ^= 1 << int(bit)
            phashes.append(None if rng.random() < 0.03 else h)
        entries.append(
            IndexEntry(
                sample_id=f"{SOURCES[int(rng.integers(len(SOURCES)))]}:{rng.integers(10**6)}_{i}",
                source="",
                modality=str(rng.choice(["multispectral", "sar", "rgb"])),
                sensor=str(rng.choice(["Sentinel-2 MSI", "sentinel-2 msi (L2A)", "Sentinel-1"])),
                content=str(rng.choice(contents)) if rng.random() < 0.2 else f"u{i}"[: i % 9],
                phashes=tuple(phashes),
                lon=None if rng.random() < 0.05 else float(lon),
                lat=float(lat),
                dates=tuple(rng.choice(["2020-01-01", "2020-01-02"], int(rng.integers(0, 3)))),
                split=str(rng.choice(["", "", "train", "validation", "test", "other"])),
                places=tuple(
                    sorted({f"k{int(k)}" for k in rng.integers(0, n // 3 + 1, rng.integers(0, 3))})
                ),
            )
        )
    return [dataclasses.replace(e, source=e.sample_id.split(":")[0]) for e in entries]


@pytest.mark.parametrize("seed", range(12))
def test_duplicates_splits_and_leakage_match_the_reference(seed: int) -> None:
    entries = random_entries(seed, 150 + 40 * seed)
    rng = np.random.default_rng(seed)
    near, place_m = int(rng.choice([-1, 0, 2, 4, 9])), float(rng.choice([0.0, 50.0, 500.0]))
    priority = SOURCES[: int(rng.integers(0, 5))]
    removed = find_duplicates(entries, near, place_m, priority)
    assert removed == ref.find_duplicates(entries, near, place_m, priority)
    assert {d.reason for d in removed.values()} >= {"duplicate_exact"} | (
        {"duplicate_near"} if near >= 2 else set()
    )
    kept = [e for e in entries if e.sample_id not in removed]
    same_m = float(rng.choice([0.0, 30.0, 300.0, 5000.0]))
    config = SplitConfig(same_place_m=same_m, block_km=float(rng.choice([1.0, 50.0])))
    ours, theirs = places(kept, same_m), ref.places(kept, same_m)
    assert [[e.sample_id for e in g] for g in ours] == [[e.sample_id for e in g] for g in theirs]
    splits = assign_splits(kept, config)
    assert splits == ref.assign_splits(kept, config)
    official = {e.sample_id: e.split for e in entries if e.split}
    for assignment in (splits, official):
        assert overridden(entries, assignment) == ref.overridden(entries, assignment)
        assert key_leakage(entries, assignment) == ref.key_leakage(entries, assignment)
    points = [(e.sample_id, e.lon, e.lat, splits[e.sample_id]) for e in kept if e.lon is not None]
    sources = [p[0].split(":")[0] for p in points]
    for distance in (10.0, same_m or 1.0, 2_000.0, 50_000.0, 3e7):
        assert leakage(points, distance, sources=sources) == ref.leakage(
            points, distance, sources=sources
        )
    dedup = DedupConfig(near, place_m, priority, config)
    metrics = dedup_metrics(entries, removed, splits, dedup)
    assert metrics == ref.dedup_metrics(entries, removed, splits, dedup)
    assert metrics["kept"] == len(kept)


def test_dense_cell_leakage_matches_every_pair_compared() -> None:
    """Thousands of points in one block, splits drawn per point: many pairs near the limit."""
    rng = np.random.default_rng(7)
    n = 1200
    lon, lat = rng.uniform(10.0, 10.7, n), rng.uniform(45.0, 45.45, n)
    lon[:150], lat[:150] = 10.3, 45.2  # one spot seen 150 times
    split = rng.choice(["train", "validation", "test"], n, p=[0.8, 0.1, 0.1])
    points = [(f"s{i}", float(lon[i]), float(lat[i]), str(split[i])) for i in range(n)]
    sources = [str(s) for s in rng.choice(["a", "b"], n)]
    for distance in (100.0, 20_000.0, 50_000.0):
        assert leakage(points, distance, sources=sources) == ref.leakage(
            points, distance, sources=sources
        )


def test_close_pair_counts_on_tiny_and_degenerate_inputs() -> None:
    none = count_close_pairs(np.zeros(0), np.zeros(0), np.zeros(0, int), np.arange(2), 10.0)
    assert none.pairs.sum() == 0 and none.involved.size == 0
    same = count_close_pairs(np.zeros(40), np.zeros(40), np.arange(40) % 2, np.arange(2), 1.0)
    assert same.pairs[0, 1] == 400 and same.involved.all()  # every train-test pair at 0 m


def test_index_is_compact_and_pairs_come_in_bounded_batches() -> None:
    entries = random_entries(3, 2000)
    index = SampleIndex.from_entries(entries)
    assert [index.sample_id(i) for i in range(len(index))] == [e.sample_id for e in entries]
    per_row = sum(getattr(index, f.name).nbytes for f in dataclasses.fields(index)
                  if isinstance(getattr(index, f.name), np.ndarray)) / len(index)  # fmt: skip
    assert per_row < 200  # bytes per sample, ids and hashes included
    keys = np.repeat(np.arange(5), 100)
    batches = list(pairs_in_runs([keys], batch=1000))
    assert len(batches) > 2 and all(b[0].size <= 1000 + 100 for b in batches)
    pairs = {(int(a), int(b)) for x, y in batches for a, b in zip(x, y, strict=True)}
    assert len(pairs) == 5 * 100 * 99 // 2 and all(keys[a] == keys[b] and b < a for a, b in pairs)
