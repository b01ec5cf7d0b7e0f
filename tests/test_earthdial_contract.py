"""The EarthDial export replayed through a model of EarthDial's training loader.

The model is written here from the facts in ``shared/docs/design-examples.md`` ("How
EarthDial's trainer reads a mixture"), not from EarthDial's code: ``build_datasets`` reads
``repeat_time`` and ``data_augment`` of every entry (a missing key fails at start-up), and
``ShardDataLoader`` opens ``annotation`` with ``load_from_disk`` and picks its branch by the
dataset name's prefix (``Naip``, ``Change_SAR``, ``Change``, ``STARCOP``, else one image).
Every entry of the sample build's export must load through the branch its name selects,
with arrays whose band count is the entry's ``bands`` and one ``<image>`` per image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from eoinstruct.pipeline.corpus.earthdial_routes import (
    SAR_DB_FLOOR,
    THERMAL_TAG,
    ExportError,
    convert_raster,
    route_of,
)

REQUIRED = {
    "annotation",
    "data_augment",
    "repeat_time",
    "image_key",
    "conversation",
    "bands",
    "normalization",
}
OPTIONAL = {"dynamic_image", "max_dynamic_patch"}
NORMALIZATIONS = {"imagenet", "s2_l2a", "s2_norm", "s1", "l8_norm", "rgbm_norm", "tree_norm"}
STARCOP_PATCH = 512


def branch_of(name: str) -> str:
    """The loader's branch for a dataset name (prefix order as in the loader)."""
    for prefix, branch in (
        ("Naip", "naip"),
        ("Change_SAR", "change_sar"),
        ("Change", "change"),
        ("STARCOP", "starcop"),
    ):
        if name.strip().startswith(prefix):
            return branch
    return "single"


def loader_images(branch: str, entry: dict[str, Any], row: dict[str, Any]) -> list[Any]:
    """The images the branch builds from one row, as PIL images or (C, H, W) arrays."""
    keys = entry["image_key"].split(",")
    if branch == "change_sar":
        return [np.transpose(np.array(row[k]), (2, 0, 1)) for k in keys]
    if branch == "change":
        images = [row[k] for k in keys]
        return images if entry["bands"] == 3 else [np.array(i) for i in images]
    if branch == "starcop":
        rgb, mag1c = (np.array(row[k]) for k in keys)
        assert entry["bands"] == 4 and rgb.shape == (STARCOP_PATCH, STARCOP_PATCH, 3)
        assert mag1c.shape[-2:] == (STARCOP_PATCH, STARCOP_PATCH)
        return [np.concatenate([rgb.transpose(2, 0, 1), mag1c.reshape(1, *mag1c.shape[-2:])])]
    assert branch == "single", f"no branch {branch} in the export"
    assert len(keys) == 1, f"multi-image key {keys} in the single-image branch"
    image = row[keys[0]]
    return [image if entry["bands"] == 3 else np.array(image)]


def check_images(entry: dict[str, Any], images: list[Any], where: str) -> None:
    """Band counts and units as the entry's ``bands`` and ``normalization`` assume."""
    bands, norm = entry["bands"], entry["normalization"]
    assert norm in NORMALIZATIONS, where
    for image in images:
        if bands == 3:
            assert isinstance(image, Image.Image), where
            assert norm == "imagenet" and image.convert("RGB").size == image.size, where
            continue
        assert isinstance(image, np.ndarray) and image.ndim == 3, (where, type(image))
        assert image.shape[0] == bands, (where, image.shape, bands)
        assert np.isfinite(image).all(), where
        if norm == "s1":  # dB: VV and VH means near EarthDial's S1 statistics (−9, −16 dB)
            assert bands == 2 and SAR_DB_FLOOR <= image.min() and image.max() < 40, where
            assert -30 < float(image.mean()) < 5, (where, float(image.mean()))
        if norm == "s2_l2a":  # reflectance × 10 000
            assert bands == 12 and image.max() > 50, where
    if bands != 3:  # the loader stacks a row's images into one array
        assert len({i.shape for i in images}) == 1, where


def check_conversation(
    entry: dict[str, Any], row: dict[str, Any], n_images: int, where: str
) -> None:
    turns = json.loads(row[entry["conversation"]])
    assert isinstance(turns, list) and turns, where
    assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2), where
    first = turns[0]["value"]
    assert first.count("<image>") == n_images, (where, first)
    assert sum(t["value"].count("<image>") for t in turns) == n_images, where
    if "[l8_ms_30]" in first:
        assert entry["bands"] == 8, (where, entry["bands"])
    if THERMAL_TAG in first:  # a thermal raster (1 band), or 8-bit frames (HIT-UAV) as RGB
        assert entry["bands"] == (3 if entry["normalization"] == "imagenet" else 1), where


@pytest.fixture(scope="module")
def export(sample_build: Path) -> Path:
    """The export of the shared sample build (``conftest.sample_build``), as the build wrote it."""
    return sample_build / "earthdial"


def test_every_mixture_entry_loads_through_its_branch(export: Path) -> None:
    import datasets

    mixtures = {p.stem: json.loads(p.read_text()) for p in sorted(export.glob("mixture_*.json"))}
    assert set(mixtures) == {"mixture_train", "mixture_validation", "mixture_test"}
    branches: dict[str, int] = {}
    listed = set()
    for mixture in mixtures.values():
        for name, entry in mixture.items():
            assert REQUIRED <= set(entry) <= REQUIRED | OPTIONAL, (name, set(entry))
            assert isinstance(entry["data_augment"], bool) and entry["repeat_time"] >= 1
            branch = branch_of(name)
            branches[branch] = branches.get(branch, 0) + 1
            ds = datasets.load_from_disk(str(export / entry["annotation"]))
            listed.add(entry["annotation"])
            assert len(ds) > 0, name
            assert set(entry["image_key"].split(",")) <= set(ds.column_names), name
            for i, row in enumerate(ds):
                where = f"{name}[{i}]"
                images = loader_images(branch, entry, row)
                check_images(entry, images, where)
                check_conversation(entry, row, len(images), where)
    on_disk = {p.name for p in export.iterdir() if p.is_dir()}
    assert listed == on_disk  # every written dataset is in a mixture, and only those
    # the sample routes through the single, Change (xBD) and Change_SAR (QuakeSet) branches
    assert {"single", "change", "change_sar"} <= set(branches), branches
    assert "naip" not in branches


def test_routes_and_units() -> None:
    sar = {"bands": ["VV", "VH"], "encoding": "sar_linear"}
    assert route_of(("pre", "post"), {"pre": sar, "post": sar}, "q") == "change_sar"
    assert route_of(("pre", "post"), {}, "x") == "change_rgb"
    thermal = {"bands": ["ST_B10"], "encoding": "kelvin"}
    sr = {"bands": [f"SR_B{i}" for i in range(1, 8)], "encoding": "reflectance"}
    assert route_of(("image", "thermal"), {"image": sr, "thermal": thermal}, "l") == "stacked"
    assert route_of(("thermal",), {"thermal": thermal}, "u") == "raster"
    with pytest.raises(ExportError, match="mix RGB"):
        route_of(("image", "thermal"), {"thermal": thermal}, "m")
    linear = np.array([[[1.0, 0.1, np.nan, 0.0]]], dtype=np.float32)
    db = convert_raster(linear, sar, "Sentinel-1 C-SAR")
    assert db.dtype == np.float32
    np.testing.assert_allclose(db, [[[0.0, -10.0, 0.0, SAR_DB_FLOOR]]], atol=1e-5)
    s2 = {"bands": ["B"] * 12, "encoding": "reflectance"}
    scaled = convert_raster(np.full((12, 1, 1), 0.1234, np.float32), s2, "Sentinel-2 MSI")
    assert scaled.dtype == np.uint16 and int(scaled[0, 0, 0]) == 1234
