"""The BigEarthNet v1 adapter's fast listing equals the plain ``pathlib`` one it replaced.

``unit_file_stats`` (one ``os.scandir`` per patch folder) must give the files, paths and order
of the default :meth:`~eoinstruct.sources.base.SourceAdapter.unit_file_stats` over
``unit_files``, and ``band_file_names`` must pick the file the earlier scan over sorted paths
picked, so that partition signatures, fingerprints and samples stay byte-identical.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from eoinstruct.sources.base import SourceAdapter, SourceError
from eoinstruct.sources.bigearthnet_v1 import sample as corpus
from eoinstruct.sources.bigearthnet_v1.adapter import BigEarthNetV1
from eoinstruct.sources.bigearthnet_v1.rasters import band_file_names, find_band_files


def _plain_pick(folder: Path, patch: str, bands: tuple[str, ...]) -> list[str]:
    """The band lookup before its speed-up: a scan over the sorted ``.tif`` paths per band."""
    tifs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".tif" and p.is_file())
    picked, missing = [], []
    for band in bands:
        matches = [p for p in tifs if p.stem.endswith(f"_{band}")]
        exact = [p for p in matches if p.stem == f"{patch}_{band}"]
        if exact or matches:
            picked.append((exact or matches)[0].name)
        else:
            missing.append(band)
    return ["missing", *missing] if missing else picked


def test_unit_file_stats_equal_the_default(tmp_path: Path) -> None:
    root = tmp_path / "data"
    corpus.write(root, 5)
    adapter = BigEarthNetV1(root)
    units = adapter.list_units()
    # a link to a file counts, a broken link, a subfolder and a link to a folder do not
    s2 = next(u for u in units if u.startswith("s2/"))
    folder = root / "BigEarthNet-v1.0" / s2.split("/")[1]
    (folder / "sub").mkdir()
    os.symlink(next(folder.glob("*_B02.tif")), folder / "zz_link.tif")
    os.symlink(folder / "gone", folder / "broken.tif")
    os.symlink(folder / "sub", folder / "dirlink")
    for unit in units:
        fast = adapter.unit_file_stats(unit)
        assert fast == SourceAdapter.unit_file_stats(adapter, unit)
        assert [p for p, _, _ in fast] == [p.as_posix() for p in adapter.unit_files(unit)]
    assert any(p.endswith("zz_link.tif") for p, _, _ in adapter.unit_file_stats(s2))
    assert adapter.unit_file_stats("s2/no_such_patch") == []
    assert adapter.unit_file_stats("xx/what") == []


def test_band_pick_equals_the_plain_scan(tmp_path: Path) -> None:
    names = [
        "P_B01.tif", "Q_B01.tif",  # exact name wins over an earlier prefix
        "A_B02.tif", "Z_B02.TIF",  # no exact name: the first by name
        "P_B03.TIF", "P_B03.tif",  # two spellings of one stem: the first by name
        "B04.tif", ".tif", "P_B8A.tiff", "P_B8A.tif.bak",  # no "_B04", no suffix, not .tif
        "x_y_B05.tif", "P_VV.tif",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "P_B06.tif").mkdir()  # a folder is no band file
    bands = ("B01", "B02", "B03", "B05", "VV")
    assert band_file_names(tmp_path, "P", bands, "u") == _plain_pick(tmp_path, "P", bands)
    assert find_band_files(tmp_path, "P", ("B01",), "u") == [tmp_path / "P_B01.tif"]
    for missing in (("B04",), ("B06",), ("B01", "B8A", "B09")):
        assert _plain_pick(tmp_path, "P", missing)[0] == "missing"
        with pytest.raises(SourceError) as err:
            band_file_names(tmp_path, "P", missing, "u")
        assert err.value.kind == "missing_band"


def _outcome(got: object) -> object:
    """A read's samples, or its error's kind and message."""
    if isinstance(got, SourceError):
        return (got.kind, str(got))
    if isinstance(got, Exception):
        return (type(got).__name__, str(got))
    return got


def test_kept_listings_read_the_same_samples(tmp_path: Path) -> None:
    """Reading from the plan's kept listings gives what listing each folder again gives,
    broken units (their errors) included; each kept listing is used once, and a pickled
    adapter (a worker's) carries none."""
    root = tmp_path / "data"
    corpus.write(root, 6)
    plain = BigEarthNetV1(root)
    units = plain.list_units()
    expected = [_outcome(g) for g in plain.read_units(units)]
    assert any(isinstance(o, tuple) for o in expected)  # the sample's broken units too
    kept = BigEarthNetV1(root)
    kept.keep_listings(len(units) - 1)  # the last unit past the limit: listed when read
    for unit in units:
        kept.unit_file_stats(unit)
    assert len(kept._listings) == len(units) - 1
    assert pickle.loads(pickle.dumps(kept))._listings == {}
    assert [_outcome(g) for g in kept.read_units(units)] == expected
    assert kept._listings == {}
    assert [_outcome(g) for g in kept.read_units(units)] == expected
