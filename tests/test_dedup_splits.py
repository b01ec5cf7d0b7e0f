"""De-duplication (exact, near, same place and time) and leak-free geographic splits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from eoinstruct.pipeline.corpus.card_splits import splits_section
from eoinstruct.pipeline.quality.dedup import (
    IndexEntry,
    find_duplicates,
    hamming,
    haversine_m,
    normalize_sensor,
    perceptual_hash,
)
from eoinstruct.pipeline.quality.places import place_keys
from eoinstruct.pipeline.quality.splits import (
    SplitConfig,
    assign_splits,
    block_of,
    key_leakage,
    leakage,
    overridden,
    places,
)
from eoinstruct.pipeline.stages.dedup import DedupConfig, dedup_metrics


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
    per_source = leakage(points, 1_000_000.0, sources=["x", "y", "x", "x"])
    assert per_source.by_sources == {"x|x": 2, "x|y": 2}  # a-d, c-d; a-b, b-c
    assert result.by_sources == {}


BEN_V1_S2 = "S2A_MSIL2A_20170613T101031_63_45"
BEN_V1_S1 = "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_63_45"
REBEN_S2 = "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_63_45"


def test_location_keys_name_one_place_across_sources_and_sensors():
    key = ("mgrs:33UUP:63_45",)
    assert place_keys(BEN_V1_S2, {"mgrs_tile": "T33UUP"}, {}) == key  # v1 S2: tile in a tag
    assert place_keys(BEN_V1_S1, {}, {}) == key  # v1 S1: tile in the name
    assert place_keys(REBEN_S2, {"mgrs_tile": "T33UUP"}, {}) == key
    assert place_keys(REBEN_S2.replace("63_45", "63_46"), {}, {}) == ("mgrs:33UUP:63_46",)
    assert place_keys(BEN_V1_S2, {}, {}) == ()  # no tile known: no key
    satlas = place_keys("sentinel1/1311_2861", {"tile": "1311_2861", "zoom": "13"}, {})
    assert satlas == place_keys("sentinel2/1311_2861", {"tile": "1311_2861", "zoom": "13"}, {})
    assert satlas == ("tile:z13:1311_2861",)
    chip = {"chip_center": "-105.101900,40.167200"}
    assert place_keys("landsat-c2-l2/LC08_x", {}, chip) == ("chip:-105.101900,40.167200",)
    quake = {"event_id": "616731457", "patch": "patch_0"}
    assert place_keys("616731457/patch_0/before-pre", {}, quake) == ("event:616731457/patch_0",)
    assert place_keys("hurricane-michael_00000064", {"sensor": "WORLDVIEW02"}, {}) == ()


def test_one_patch_in_bigearthnet_v1_and_reben_gets_one_split():
    """The sample build's case: v1 S1 patch in train, reBEN S2 of the same patch in test."""
    key = ("mgrs:33UUP:63_45",)
    v1 = entry(f"bigearthnet_v1:{BEN_V1_S1}", split="train", places=key, lon=13.3, lat=48.2)
    reben = entry(f"bigearthnet_v2:{REBEN_S2}", split="test", places=key, lon=13.3, lat=48.2)
    v1_s2 = entry(f"bigearthnet_v1:{BEN_V1_S2}", split="validation", places=key)  # no location
    other = entry("bigearthnet_v1:other", split="train", lon=13.5, lat=48.2)  # 15 km away
    config = SplitConfig()
    official = {e.sample_id: e.split for e in (v1, reben, v1_s2, other)}
    assert key_leakage([v1, reben, v1_s2], official) == {
        "bigearthnet_v1|bigearthnet_v1": 1,
        "bigearthnet_v1|bigearthnet_v2": 2,
    }
    splits = assign_splits([other, reben, v1_s2, v1], config)
    assert splits == {v1.sample_id: "test", reben.sample_id: "test", v1_s2.sample_id: "test",
                      other.sample_id: "train"}  # fmt: skip
    assert key_leakage([v1, reben, v1_s2, other], splits) == {}
    assert overridden([v1, reben, v1_s2, other], splits) == {"bigearthnet_v1": 2}
    # validation outranks train
    pair = [dataclasses.replace(reben, split="validation"), v1]
    assert set(assign_splits(pair, config).values()) == {"validation"}
    # without official splits the place takes the block of its first member
    free = [dataclasses.replace(e, split="") for e in (v1, reben)]
    block = assign_splits([dataclasses.replace(free[1], places=())], config)[reben.sample_id]
    assert set(assign_splits(free, config).values()) == {block}


def test_same_footprint_in_two_sources_without_keys_is_one_place():
    a = entry("stac:a", split="", lon=-105.1019, lat=40.1672)
    b = entry("satlas:b", split="test", lon=-105.1020, lat=40.1672)  # about 8 m away
    c = entry("satlas:c", split="validation", lon=-105.1030, lat=40.1672)  # 85 m from b
    d = entry("stac:d", split="", lon=-105.1050, lat=40.1672)  # 170 m from c: another place
    assert [[e.sample_id for e in g] for g in places([d, c, b, a], 100.0)] == [
        ["satlas:b", "satlas:c", "stac:a"],  # joined through b (chained)
        ["stac:d"],
    ]
    splits = assign_splits([a, b, c, d], SplitConfig())
    assert splits["stac:a"] == splits["satlas:b"] == splits["satlas:c"] == "test"
    assert len(places([a, b], 0.0)) == 2  # same_place_m 0: only keys join
    with pytest.raises(ValueError, match="same_place_m"):
        SplitConfig(same_place_m=-1.0)


def test_metrics_and_card_report_cross_split_figures_per_source_pair():
    key = ("mgrs:33UUP:63_45",)
    entries = [
        entry("bigearthnet_v1:a", split="train", places=key, lon=13.3, lat=48.2),
        entry("bigearthnet_v2:a", split="test", places=key, lon=13.3, lat=48.2),
        entry("bigearthnet_v2:b", split="validation", lon=13.4, lat=48.2),  # 7 km away
    ]
    config = DedupConfig(4, 100.0, ("bigearthnet_v2",), SplitConfig())
    official = {e.sample_id: e.split for e in entries}
    before = dedup_metrics(entries, {}, official, config)["leakage"]
    assert before["pairs_sharing_a_location_key"] == 1
    assert before["pairs_closer_than_same_place_m"] == 1
    assert before["by_sources"]["bigearthnet_v1|bigearthnet_v2"] == {
        "closer_than_block": 2,
        "closer_than_same_place_m": 1,
        "same_location_key": 1,
    }
    metrics = dedup_metrics(entries, {}, assign_splits(entries, config.splits), config)
    after = metrics["leakage"]
    assert after["pairs_sharing_a_location_key"] == after["pairs_closer_than_same_place_m"] == 0
    assert after["by_sources"] == {
        "bigearthnet_v1|bigearthnet_v2": {"closer_than_block": 1},
        "bigearthnet_v2|bigearthnet_v2": {"closer_than_block": 1},
    }
    assert metrics["official_splits_overridden"] == {"bigearthnet_v1": 1}
    card = "\n".join(splits_section(metrics))
    assert "| bigearthnet_v1 | 0 | 0 | 1 | 1 |" in card
    assert "| bigearthnet_v1 – bigearthnet_v2 | 1 | 0 | 0 |" in card
    assert "2 closer than the block (50 km), 0 closer than 100 m, 0 sharing" in card
    assert splits_section(None) == []


def test_footprint_centre_is_right_across_the_antimeridian() -> None:
    from eoinstruct.pipeline.quality.places import footprint_centre

    # a chip at Fiji cut in two at ±180° (the STAC adapter writes such MULTIPOLYGONs)
    split = (
        "MULTIPOLYGON (((179.9 -17.1, 180 -17.1, 180 -17.0, 179.9 -17.0, 179.9 -17.1)),"
        " ((-180 -17.1, -179.9 -17.1, -179.9 -17.0, -180 -17.0, -180 -17.1)))"
    )
    lon, lat = footprint_centre(split)
    assert abs(abs(lon) - 180.0) < 1e-9 and abs(lat + 17.05) < 1e-9
    lon, lat = footprint_centre("POLYGON ((10 40, 12 40, 12 42, 10 42, 10 40))")
    assert (lon, lat) == (11.0, 41.0)
    assert footprint_centre("") is None and footprint_centre("POLYGON ((1 2") is None
