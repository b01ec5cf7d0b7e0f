"""Tests of the So2Sat LCZ42 adapter (sources/so2sat/adapter.py), its sample-corpus writer, the
indexed HDF5 reference of the raster reader, and the filter's geolocation exemption."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from eoinstruct.pipeline.instructions.tags import bucket_sensor_tag
from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.quality.scores import geolocation_problem, image_scores
from eoinstruct.pipeline.quality.tag_fields import label_fields
from eoinstruct.pipeline.quality.thresholds import Thresholds, decide
from eoinstruct.pipeline.records import ImageRef
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.registry import download_spec
from eoinstruct.sources.so2sat import sample as corpus
from eoinstruct.sources.so2sat.adapter import BANDS, So2Sat
from eoinstruct.sources.so2sat.zones import ZONES

TORCHGEO = "microsoft__torchgeo/tests/data/so2sat"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("so2sat") / "so2sat"
    corpus.write(root, seed=7)
    return root


def _write(path: Path, sen2: np.ndarray, label: np.ndarray) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("sen1", data=np.zeros((len(sen2), 32, 32, 8)))
        handle.create_dataset("sen2", data=sen2)
        handle.create_dataset("label", data=label)
    return path


def test_writer_is_deterministic_and_in_layout(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", seed=7)
    names = sorted(p.name for p in sample_root.iterdir())
    assert names == ["testing.h5", "training.h5", "validation.h5"]
    for name in names:
        with h5py.File(sample_root / name) as a, h5py.File(tmp_path / "again" / name) as b:
            for key in ("sen1", "sen2", "label"):
                assert np.array_equal(a[key][...], b[key][...], equal_nan=True)
    with h5py.File(sample_root / "training.h5") as handle:
        assert handle["sen2"].shape == (len(corpus.TRAINING), 32, 32, 10)
        assert handle["sen2"].dtype == np.float64 and handle["sen1"].shape[-1] == 8
        assert handle["label"].shape == (len(corpus.TRAINING), 17)


def test_reads_good_units(sample_root: Path) -> None:
    adapter = So2Sat(sample_root)
    units = adapter.list_units()
    assert set(units) == set(corpus.GOOD_UNITS) | set(corpus.BAD_UNITS)
    codes = {**{f"training.h5:{i}": c for i, c in enumerate(corpus.TRAINING)}}
    codes |= {f"testing.h5:{i}": c for i, c in enumerate(corpus.TESTING)}
    for unit in corpus.GOOD_UNITS:
        [sample] = adapter.read_unit(unit)
        zone = next(z for z in ZONES if z.code == codes[unit])
        assert sample.labels.classes == (zone.name,)
        assert sample.labels.properties["lcz_code"] == zone.code
        assert sample.labels.properties["built_type"] == ("built" if zone.built else "natural")
        assert sample.split == ("train" if unit.startswith("training") else "test")
        assert bucket_sensor_tag(sample.modality, sample.sensor, sample.gsd_m, 1) == "[s2_ms_10]"
        assert geolocation_problem(sample) == "no_footprint"
        assert len(label_fields(sample)) >= 3
        pixels = read_image(sample.images[0])
        assert pixels.shape == (10, 32, 32) and np.isfinite(pixels).all()
        assert 0 < float(pixels.mean()) < 0.5  # reflectance, 0-1
        scores = image_scores(sample.images[0], 0.02, 0.98)
        assert scores.valid_fraction == 1.0 and 0.005 < scores.brightness < 0.5
        if zone.cover == "water":
            assert pixels[BANDS.index("B08")].mean() < pixels[BANDS.index("B02")].mean()
        if zone.cover == "low plants":
            assert pixels[BANDS.index("B08")].mean() > 3 * pixels[BANDS.index("B04")].mean()


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_bad_units(sample_root: Path, unit: str) -> None:
    with pytest.raises(SourceError) as err:
        So2Sat(sample_root).read_unit(unit)
    assert err.value.kind == corpus.BAD_UNITS[unit]
    assert unit in str(err.value)


def test_other_defects(tmp_path: Path) -> None:
    one_hot = np.eye(17)[[3]]
    good = np.full((1, 32, 32, 10), 0.1)
    _write(tmp_path / "training.h5", np.full((1, 16, 16, 10), 0.1), one_hot)
    with pytest.raises(SourceError) as err:
        So2Sat(tmp_path).read_unit("training.h5:0")
    assert err.value.kind == "corrupt_raster" and "(N, 32, 32, 10)" in str(err.value)
    _write(tmp_path / "training.h5", good, np.eye(16)[[3]])
    with pytest.raises(SourceError) as err:
        So2Sat(tmp_path).read_unit("training.h5:0")
    assert err.value.kind == "malformed_label"
    _write(tmp_path / "training.h5", good, one_hot * 0.5)
    with pytest.raises(SourceError) as err:
        So2Sat(tmp_path).read_unit("training.h5:0")
    assert err.value.kind == "malformed_label"
    _write(tmp_path / "training.h5", good, one_hot)
    with pytest.raises(SourceError) as err:
        So2Sat(tmp_path).read_unit("training.h5:5")
    assert err.value.kind == "missing_file"
    (tmp_path / "validation.h5").write_bytes(b"not hdf5")
    with pytest.raises(SourceError) as err:
        So2Sat(tmp_path).read_unit("validation.h5:0")
    assert err.value.kind == "corrupt_raster"
    with pytest.raises(ValueError, match="bad unit"):
        So2Sat(tmp_path).read_unit("training.h5")


def test_options_and_missing_root(tmp_path: Path, sample_root: Path) -> None:
    adapter = So2Sat(sample_root, {"files": ["training.h5"], "max_per_file": 2})
    assert adapter.list_units() == ["training.h5:0", "training.h5:1"]
    with pytest.raises(ValueError):
        So2Sat(sample_root, {"files": ["../x.h5"]})
    with pytest.raises(ValueError):
        So2Sat(sample_root, {"max_per_file": 0})
    with pytest.raises(SourceNotFoundError, match=r"sources\.so2sat"):
        So2Sat(tmp_path).list_units()


def test_indexed_hdf5_reference(sample_root: Path) -> None:
    path = sample_root / "training.h5"
    image = ImageRef("image", (f"{path}::/sen2[2]",), BANDS, "reflectance", 32, 32)
    with h5py.File(path) as handle:
        expected = np.moveaxis(handle["sen2"][2], -1, 0).astype(np.float32)
    assert np.array_equal(read_image(image), expected)
    assert read_image(image, ["B04"]).shape == (1, 32, 32)
    past = ImageRef("image", (f"{path}::/sen2[99]",), BANDS, "reflectance", 32, 32)
    with pytest.raises(RasterReadError) as err:
        read_image(past)
    assert err.value.kind == "missing_band"


def test_filter_exempts_listed_sources_from_geolocation() -> None:
    row = {
        "source": "so2sat",
        "n_tags": 3,
        "geo_problem": "no_footprint",
        "image_encodings": ["reflectance"],
        "brightness": [0.2],
        "valid_fraction": [1.0],
        "dark_fraction": [0.0],
    }
    strict = Thresholds(3, 0.9, True, {"reflectance": (0.005, 0.5)})
    exempt = Thresholds(
        3,
        0.9,
        True,
        {"reflectance": (0.005, 0.5)},
        exempt={"so2sat": frozenset({"no_geolocation"})},
    )
    assert [r.value for r in decide(row, strict)] == ["no_geolocation"]
    assert decide(row, exempt) == []
    assert [r.value for r in decide({**row, "source": "xbd"}, exempt)] == ["no_geolocation"]


@pytest.mark.parametrize("subset", ["", "random", "block", "culture_10"])
def test_torchgeo_fixture(peer_data: Path, subset: str) -> None:
    root = peer_data / TORCHGEO / subset
    adapter = So2Sat(root)
    units = adapter.list_units()
    expected = (
        ["training.h5", "validation.h5", "testing.h5"]
        if not subset
        else ["training.h5", "testing.h5"]
    )
    assert units == [f"{name}:{i}" for name in expected for i in range(2)]
    for unit in units:
        [sample] = adapter.read_unit(unit)
        name, index = unit.split(":")
        with h5py.File(root / name) as handle:
            assert sample.labels.classes == (
                ZONES[int(np.argmax(handle["label"][int(index)]))].name,
            )
        assert read_image(sample.images[0]).shape == (10, 32, 32)


def test_v3_files_when_no_v2(tmp_path: Path, sample_root: Path) -> None:
    (tmp_path / "culture_10").mkdir()
    (tmp_path / "culture_10" / "training.h5").write_bytes(
        (sample_root / "training.h5").read_bytes()
    )
    [sample] = So2Sat(tmp_path).read_unit("culture_10/training.h5:0")
    assert sample.tags["subset"] == "culture_10" and sample.split == "train"
    assert So2Sat(tmp_path).list_units()[0] == "culture_10/training.h5:0"


def test_download_spec_is_manual() -> None:
    spec = download_spec("so2sat")
    assert spec is not None and spec.manual and "1483140" in spec.manual
    assert [f.name for f in spec.files if f.default] == [
        "training.h5",
        "validation.h5",
        "testing.h5",
    ]
