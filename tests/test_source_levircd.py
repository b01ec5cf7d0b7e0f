"""LEVIR-CD / LEVIR-CD+ adapter: the sample corpus, its broken units, the torchgeo fixture, and
the mask's components recomputed here from the mask itself (an independent flood fill)."""

from __future__ import annotations

import shutil
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.corpus.licences import commercial_use
from eoinstruct.pipeline.instructions.pairs import sensor_tag
from eoinstruct.pipeline.quality.thresholds import Thresholds, decide
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.levircd import sample as corpus
from eoinstruct.sources.levircd.adapter import CATEGORY, LEVIRCD, MASK_RASTER
from eoinstruct.sources.levircd.download import SPEC
from eoinstruct.sources.levircd.facts import FACTS

FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared/peer-data/microsoft__torchgeo/tests/data/levircd"
)
BAD_KINDS = {
    "train/train_3": "corrupt_raster",
    "train/train_4": "missing_file",
    "val/val_2": "malformed_label",
    "test/test_3": "corrupt_raster",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("levircd")
    corpus.write(folder, seed=3)
    return folder


def flood_components(mask: np.ndarray) -> list[tuple[tuple[int, int, int, int], int]]:
    """8-connected components by breadth-first search: (box with exclusive ends, pixels)."""
    seen = np.zeros_like(mask, dtype=bool)
    height, width = mask.shape
    found = []
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if seen[y0, x0]:
            continue
        queue, pixels = deque([(int(y0), int(x0))]), 0
        seen[y0, x0] = True
        ys, xs = [], []
        while queue:
            y, x = queue.popleft()
            pixels += 1
            ys.append(y)
            xs.append(x)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        found.append(((min(xs), min(ys), max(xs) + 1, max(ys) + 1), pixels))
    return sorted(found, key=lambda c: (c[0][1], c[0][0], c[0][3], c[0][2]))


def test_units_and_broken_units(root: Path) -> None:
    adapter = LEVIRCD(root)
    units = adapter.list_units()
    good = {f"{p.group}/{p.stem}" for p in corpus.GOOD_UNITS}
    assert set(units) == good | set(BAD_KINDS)
    for unit, kind in BAD_KINDS.items():
        with pytest.raises(SourceError) as error:
            adapter.read_unit(unit)
        assert error.value.kind == kind, unit
    assert {p.stem for p in corpus.BAD_UNITS} == {u.split("/")[-1] for u in BAD_KINDS}
    doc = corpus.__doc__ or ""
    assert all(f"``{unit}``" in doc for unit in BAD_KINDS)


def test_samples_match_the_mask(root: Path) -> None:
    adapter = LEVIRCD(root)
    changed = unchanged = 0
    for pair in corpus.GOOD_UNITS:
        (sample,) = adapter.read_unit(f"{pair.group}/{pair.stem}")
        mask = np.asarray(Image.open(sample.labels.rasters[MASK_RASTER])) > 0
        truth = flood_components(mask)
        objects = [o for o in sample.labels.objects if o.category == CATEGORY]
        assert [tuple(int(v) for v in o.bbox) for o in objects] == [box for box, _ in truth]
        props = sample.labels.properties
        assert props["component_pixels"] == ",".join(str(n) for _, n in truth)
        assert int(props["changed_pixels"]) == int(mask.sum())
        assert float(props["changed_area_m2"]) == pytest.approx(mask.sum() * 0.25)
        h3, w3 = mask.shape[0] // 3, mask.shape[1] // 3
        rows, cols = (0, h3, 2 * h3, mask.shape[0]), (0, w3, 2 * w3, mask.shape[1])
        cells = [
            int(mask[rows[r] : rows[r + 1], cols[c] : cols[c + 1]].sum())
            for r in range(3)
            for c in range(3)
        ]
        assert props["changed_pixels_by_third"] == ",".join(map(str, cells))
        # what the writer drew: one component per new or demolished building
        assert len(truth) == len(pair.new) + len(pair.removed)
        assert props["building_change"] == ("true" if truth else "false")
        changed += bool(truth)
        unchanged += not truth
        assert [im.role for im in sample.images] == ["pre", "post"]
        assert sample.image("pre").files[0].endswith(f"A/{pair.stem}.png")
        assert sample.gsd_m == 0.5 and sample.crs == "" and sample.acquired == ()
        assert sensor_tag(sample, 2) == "[hr_rgb_temp_0.5]"
        assert sample.split in ("train", "validation", "test")
        assert sample.tags["subset"] == ("LEVIR-CD+" if "LEVIR-CD+" in pair.group else "LEVIR-CD")
    assert changed >= 3 and unchanged >= 2


def test_writer_is_deterministic(tmp_path: Path) -> None:
    corpus.write(tmp_path / "a", seed=9)
    corpus.write(tmp_path / "b", seed=9)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


@pytest.mark.skipif(not FIXTURE.is_dir(), reason="shared/peer-data not present")
def test_torchgeo_fixture_layouts(tmp_path: Path) -> None:
    flat = LEVIRCD(FIXTURE / "levircd")
    assert flat.list_units() == [f"./{s}_{i}" for s in ("test", "train", "val") for i in (0, 1)]
    plus = LEVIRCD(FIXTURE / "levircdplus")
    assert plus.list_units() == [f"LEVIR-CD+/{s}/0{i}" for s in ("test", "train") for i in (0, 1)]
    # the fixture's masks are random grey levels (synthetic pixels): not a binary mask
    with pytest.raises(SourceError) as error:
        flat.read_unit("./train_0")
    assert error.value.kind == "malformed_label"
    # the same files with the mask made binary read, with the split from the file name
    copy = tmp_path / "flat"
    shutil.copytree(FIXTURE / "levircd", copy)
    for path in (copy / "label").glob("*.png"):
        grey = np.asarray(Image.open(path).convert("L"))
        Image.fromarray(np.where(grey > 127, 255, 0).astype(np.uint8)).save(path)
    (sample,) = LEVIRCD(copy).read_unit("./val_1")
    assert sample.native_id == "val_1" and sample.split == "validation"
    assert sample.images[0].width == 32


def test_missing_root_and_layout(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"sources\.levircd"):
        LEVIRCD(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match="eoinstruct download levircd"):
        LEVIRCD(tmp_path).list_units()
    with pytest.raises(ValueError, match="bad unit id"):
        LEVIRCD(tmp_path).read_unit("elsewhere/x")


def test_facts_and_download() -> None:
    assert not commercial_use(FACTS)
    assert {f.key for f in SPEC.files} == {"train", "val", "test", "plus"}
    assert all(f.checksum and f.url and "/resolve/" in f.url for f in SPEC.files)


def test_filter_exemption_keeps_samples_without_geolocation() -> None:
    section = {
        "min_tags": 3,
        "min_valid_fraction": 0.9,
        "require_geolocation": True,
        "exempt": {"levircd": ["no_geolocation", "too_few_tags"]},
        "brightness": {"uint8": {"min": 0.04, "max": 0.95}},
    }
    thresholds = Thresholds.from_params(section)
    row = {
        "n_tags": 1,
        "geo_problem": "no_footprint",
        "image_encodings": ["uint8", "uint8"],
        "brightness": [0.4, 0.5],
        "valid_fraction": [1.0, 1.0],
    }
    assert decide({**row, "source": "levircd"}, thresholds) == []
    assert decide({**row, "source": "xbd"}, thresholds) == ["no_geolocation", "too_few_tags"]
    assert decide({**row, "source": "levircd", "brightness": [0.0, 0.5]}, thresholds) == [
        "too_dark"
    ]
    with pytest.raises(ConfigError, match=r"filter\.exempt\.levircd"):
        Thresholds.from_params({**section, "exempt": {"levircd": ["anything"]}})
