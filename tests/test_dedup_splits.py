"""De-duplication (exact, near, same place and time) and leak-free geographic splits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from eoinstruct.pipeline.quality.dedup import (
    IndexEntry,
    find_duplicates,
    hamming,
    haversine_m,
    normalize_sensor,
    perceptual_hash,
)
from eoinstruct.pipeline.quality.splits import SplitConfig, assign_splits, block_of, leakage


def scene(seed: int, size: int = 96) -> np.ndarray:
    """A smooth random RGB scene (bicubic upsampling of 8 x 8 random values)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(3, 8, 8)).astype(np.float32)
    layers = [
        np.asarray(Image.fromarray(c, mode="F").resize((size, size), Image.Resampling.BICUBIC))
        for c in coarse
    ]
    return np.clip(np.stack(layers), 0, 255).astype(np.uint8)


def entry(sample_id: str, **overrides) -> IndexEntry:
    fields = dict(
        sample_id=sample_id,
        source=sample_id.split(":")[0],
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        content=sample_id,
        phashes=(None,),
        lon=None,
        lat=None,
        dates=(),
        split="",
    )
    fields.update(overrides)
    return IndexEntry(**fields)


def test_perceptual_hash_survives_noise_but_not_another_scene():
    a = scene(1)
    noisy = np.clip(a + np.random.default_rng(9).normal(0, 6, a.shape), 0, 255).astype(np.uint8)
    assert hamming(perceptual_hash(a), perceptual_hash(noisy)) <= 4
    assert hamming(perceptual_hash(a), perceptual_hash(scene(2))) > 16
    assert 0 <= perceptual_hash(a) < 2**64


def test_exact_copy_is_removed_in_favour_of_the_priority_source():
    first = entry("bigearthnet_v2:a", content="h1")
    copy = entry("bigearthnet_v1:a", content="h1")
    other = entry("bigearthnet_v1:b", content="h2")
    removed = find_duplicates([copy, other, first], 4, 100, ["bigearthnet_v2"])
    assert set(removed) == {"bigearthnet_v1:a"}
    assert removed["bigearthnet_v1:a"].reason == "duplicate_exact"
    assert removed["bigearthnet_v1:a"].duplicate_of == "bigearthnet_v2:a"
    # without the priority, the sample id order decides
    assert set(find_duplicates([copy, first], 4, 100)) == {"bigearthnet_v2:a"}


def test_near_duplicate_after_slight_noise():
    a = scene(3)
    noisy = np.clip(a + np.random.default_rng(4).normal(0, 5, a.shape), 0, 255).astype(np.uint8)
    original = entry("s:1", phashes=(perceptual_hash(a),))
    near = entry("s:2", phashes=(perceptual_hash(noisy),))
    different = entry("s:3", phashes=(perceptual_hash(scene(5)),))
    removed = find_duplicates([original, near, different], 6, 0)
    assert set(removed) == {"s:2"}
    assert removed["s:2"].reason == "duplicate_near"
    assert removed["s:2"].duplicate_of == "s:1"
    # a different modality (e.g. a SAR false colour) is never a near duplicate
    sar = entry("s:4", modality="sar", phashes=(perceptual_hash(a),))
    assert "s:4" not in find_duplicates([original, sar], 6, 0)
    assert find_duplicates([original, near], -1, 0) == {}


def test_same_place_and_time_across_bigearthnet_v1_and_v2():
    # the sample corpus holds patch 62_44 of tile 33UUP in both datasets (same date)
    where = dict(lon=13.3158, lat=48.2603, dates=("2017-06-13",))
    v1 = entry("bigearthnet_v1:S2A_MSIL2A_20170613T101031_62_44", sensor="Sentinel-2 MSI", **where)
    v2 = entry(
        "bigearthnet_v2:S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_62_44",
        sensor="Sentinel-2 MSI (L2A)",
        **where,
    )
    neighbour = entry("bigearthnet_v1:x_63_44", lon=13.3319, lat=48.2605, dates=("2017-06-13",))
    later = entry("bigearthnet_v1:y", lon=13.3158, lat=48.2603, dates=("2017-08-18",))
    s1 = entry("bigearthnet_v1:s1", sensor="Sentinel-1 C-SAR", modality="sar", **where)
    removed = find_duplicates(
        [v1, v2, neighbour, later, s1], 4, 100, ["bigearthnet_v2", "bigearthnet_v1"]
    )
    assert set(removed) == {v1.sample_id}
    assert removed[v1.sample_id].reason == "duplicate_place_time"
    assert removed[v1.sample_id].duplicate_of == v2.sample_id
    assert normalize_sensor("Sentinel-2 MSI (L2A)") == normalize_sensor("sentinel-2  MSI")


def test_haversine_is_right():
    # one degree of latitude is about 111.2 km
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)


def test_no_block_in_two_splits_and_official_splits_kept():
    rng = np.random.default_rng(0)
    entries = [
        entry(f"s:{i}", lon=float(rng.uniform(-10, 30)), lat=float(rng.uniform(35, 60)))
        for i in range(2000)
    ]
    config = SplitConfig(block_km=50, fractions={"train": 0.6, "validation": 0.2, "test": 0.2})
    splits = assign_splits(entries, config)
    blocks: dict[tuple[int, int], set[str]] = {}
    for e in entries:
        blocks.setdefault(block_of(e.lon, e.lat, 50), set()).add(splits[e.sample_id])
    assert all(len(s) == 1 for s in blocks.values())
    assert set(splits.values()) == {"train", "validation", "test"}
    assert assign_splits(entries, config) == splits  # deterministic
    official = [entry("o:1", lon=5.0, lat=45.0, split="test")] * 1
    assert assign_splits(official, config)["o:1"] == "test"
    dropped = SplitConfig(block_km=50, fractions=config.fractions, keep_official=False)
    assert (
        assign_splits(official, dropped)["o:1"]
        == assign_splits([entry("o:1", lon=5.0, lat=45.0)], config)["o:1"]
    )
    with pytest.raises(ValueError, match="sum to 1"):
        SplitConfig(fractions={"train": 0.5, "test": 0.2})


def test_leakage_counts_a_crafted_leak():
    points = [
        ("a", 10.0, 45.0, "train"),
        ("b", 10.001, 45.0, "test"),  # about 79 m from a: a leak
        ("c", 10.002, 45.0, "train"),  # 79 m from b (leak), 158 m from a (same split)
        ("d", 12.0, 45.0, "test"),  # far away
    ]
    result = leakage(points, 100.0)
    assert result.pairs == 2
    assert result.by_splits == {"test|train": 2}
    assert result.samples == 3
    assert leakage(points, 1_000_000.0).pairs == 4  # a-b, a-d, b-c, c-d
    assert leakage([p for p in points if p[3] == "train"], 1e6).pairs == 0
