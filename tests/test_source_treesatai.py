"""Tests of the TreeSatAI adapter (sources/treesatai/adapter.py) and its sample-corpus writer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoinstruct.pipeline.instructions.tags import bucket_sensor_tag
from eoinstruct.pipeline.io.rasters import read_image
from eoinstruct.pipeline.quality.scores import geolocation_problem, image_scores
from eoinstruct.pipeline.quality.tag_fields import label_fields
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.registry import download_spec
from eoinstruct.sources.treesatai import sample as corpus
from eoinstruct.sources.treesatai.adapter import LABELS_FILE, TreeSatAI
from eoinstruct.sources.treesatai.genera import GENERA, leaf_type, parse_entry

TORCHGEO = "microsoft__torchgeo/tests/data/treesatai"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("treesatai") / "treesatai"
    corpus.write(root, seed=7)
    return root


def test_writer_is_deterministic_and_in_layout(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", seed=7)
    files = sorted(p.relative_to(sample_root) for p in sample_root.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file()
    )
    for rel in files:
        assert (tmp_path / "again" / rel).read_bytes() == (sample_root / rel).read_bytes(), rel
    with rasterio.open(sample_root / "aerial/60m" / corpus.GOOD_UNITS[0]) as ds:
        assert (ds.count, ds.dtypes[0], ds.width, ds.crs.to_epsg()) == (4, "uint8", 304, 25832)
        assert ds.res == pytest.approx((0.2, 0.2))
    with rasterio.open(sample_root / "s2/60m" / corpus.GOOD_UNITS[0]) as ds:
        assert (ds.count, ds.dtypes[0]) == (12, "uint16")
    labels = json.loads((sample_root / LABELS_FILE).read_text())
    assert set(corpus.GOOD_UNITS) <= set(labels)
    assert "Larix_decidua_4_90004_BI_NLF.tif" not in labels


def test_reads_good_units(sample_root: Path) -> None:
    adapter = TreeSatAI(sample_root)
    units = adapter.list_units()
    assert set(units) == set(corpus.GOOD_UNITS) | set(corpus.BAD_UNITS)
    for spec in corpus.GOOD:
        [sample] = adapter.read_unit(spec.name)
        shares = dict(spec.labels)
        assert sample.labels.classes == tuple(sorted(shares))
        assert json.loads(sample.labels.properties["genus_shares"]) == pytest.approx(shares)
        assert sample.labels.properties["dominant_genus"] == max(shares, key=shares.get)
        assert sample.split == spec.split and sample.modality == "infrared"
        assert bucket_sensor_tag(sample.modality, sample.sensor, sample.gsd_m, 1) == "[hr_rgbi_0.5]"
        assert geolocation_problem(sample) == ""
        assert len(label_fields(sample)) >= 3
        image = sample.images[0]
        assert image.bands == ("IR", "G", "B", "R") and image.display_bands == ("R", "G", "B")
        pixels = read_image(image)
        assert pixels.shape == (4, 304, 304)
        assert pixels[0].mean() > pixels[3].mean()  # vegetation: bright in the near infrared
        scores = image_scores(image, 0.02, 0.98)
        assert scores.valid_fraction == 1.0 and 0.1 < scores.brightness < 0.6
        # the footprint lies where the writer put it (upper-left corner)
        assert (
            f"{spec.lon:.3f}" in sample.footprint_wkt[:40]
            or abs(float(sample.footprint_wkt.split("((")[1].split()[0]) - spec.lon) < 1e-3
        )


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_bad_units(sample_root: Path, unit: str) -> None:
    with pytest.raises(SourceError) as err:
        TreeSatAI(sample_root).read_unit(unit)
    assert err.value.kind == corpus.BAD_UNITS[unit]
    assert unit in str(err.value)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ([["Ulmus", 1.0]], "unknown genus"),
        ([["Picea", 0.5], ["Picea", 0.5]], "twice"),
        ([["Picea", 1.2]], "not in (0, 1]"),
        ([["Picea", "0.5"], ["Abies", 0.5]], "fraction"),
        ([["Picea", 0.5]], "sum to"),
        ([], "non-empty"),
        ({"Picea": 1.0}, "non-empty"),
    ],
)
def test_malformed_entries(entry: object, fragment: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_entry(entry, "x", "u")
    assert err.value.kind == "malformed_label" and fragment in str(err.value)


def test_leaf_types() -> None:
    assert leaf_type({"Picea": 0.6, "Larix": 0.4}) == "coniferous"
    assert leaf_type({"Fagus": 1.0}) == "broadleaved"
    assert leaf_type({"Pinus": 0.5, "Betula": 0.3, "Cleared": 0.2}) == "mixed"
    assert leaf_type({"Cleared": 1.0}) == "cleared"
    assert len(GENERA) == 15


def test_split_option(sample_root: Path) -> None:
    test_units = TreeSatAI(sample_root, {"splits": ["test"]}).list_units()
    assert test_units == sorted(s.name for s in (*corpus.GOOD, *corpus.BAD) if s.split == "test")
    with pytest.raises(ValueError, match="unknown split"):
        TreeSatAI(sample_root, {"splits": ["validation"]})


def test_missing_root_and_layout(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"sources\.treesatai"):
        TreeSatAI(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match="6780578"):
        TreeSatAI(tmp_path).list_units()


def test_missing_labels_file(tmp_path: Path, sample_root: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(sample_root, root)
    (root / LABELS_FILE).unlink()
    with pytest.raises(SourceError) as err:
        TreeSatAI(root).read_unit(corpus.GOOD_UNITS[0])
    assert err.value.kind == "missing_file"


def test_torchgeo_fixture(peer_data: Path) -> None:
    root = peer_data / TORCHGEO
    adapter = TreeSatAI(root)
    units = adapter.list_units()
    lists = {
        split: (root / f"{split}_filenames.lst").read_text().split() for split in ("train", "test")
    }
    assert set(units) == set(lists["train"]) | set(lists["test"])
    labels = json.loads((root / "labels/TreeSatBA_v9_60m_multi_labels.json").read_text())
    for unit in units:
        [sample] = adapter.read_unit(unit)
        assert sample.labels.classes == tuple(sorted(g for g, _ in labels[unit]))
        assert sample.split == ("test" if unit in lists["test"] else "train")
        assert sample.crs == "EPSG:25832" and sample.gsd_m == 0.2
        assert read_image(sample.images[0]).shape[0] == 4


def test_download_spec_lists_the_archive() -> None:
    spec = download_spec("treesatai")
    assert spec is not None
    names = {f.name for f in spec.files}
    assert {"labels.zip", "train_filenames.lst", "test_filenames.lst", "s1.zip", "s2.zip"} <= names
    assert sum(n.startswith("aerial_60m_") for n in names) == 20
    assert all(f.checksum and f.checksum[0] == "md5" for f in spec.files)
    assert all(f.url and "zenodo.org/records/6780578" in f.url for f in spec.files)
    assert np.all([not f.default for f in spec.files if f.name in ("s1.zip", "s2.zip")])
