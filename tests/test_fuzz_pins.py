"""Issue 16's source-specific silently wrong records, each pinned on a crafted sample copy.

Each test writes one source's sample corpus, breaks one file the way the issue found it
broken, and checks that the concerned unit fails with the right kind (or the listing stops
with one line) while the other units read exactly as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import pytest
from fuzz_mutations import Reading, read_source
from PIL import Image

from eoinstruct.sources.base import SourceNotFoundError
from eoinstruct.sources.registry import make_adapter, writer


def _corpus(name: str, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / name
    writer(name)(root, 0)
    return root, {"root": str(root)}


def _changed(base: Reading, got: Reading) -> dict[str, str]:
    """Units whose outcome changed: unit → new outcome (``gone`` if no longer listed)."""
    return {
        u: got.units.get(u, "gone") for u in base.units if got.units.get(u, "gone") != base.units[u]
    }


def _good(reading: Reading) -> list[str]:
    return sorted(u for u, t in reading.units.items() if not t.startswith("error:"))


# --- BigEarthNet v1: split lists ------------------------------------------------------------


def test_bigearthnet_v1_missing_split_list_fails_its_patches(tmp_path: Path) -> None:
    root, options = _corpus("bigearthnet_v1", tmp_path)
    base = read_source("bigearthnet_v1", options)
    test_list = root / "bigearthnet-test.csv"
    listed = {c for line in test_list.read_text().splitlines() for c in line.split(",")}
    test_units = [u for u in _good(base) if u.split("/", 1)[1] in listed]
    assert test_units and all('"split":"test"' in base.units[u] for u in test_units)
    test_list.unlink()
    changed = _changed(base, read_source("bigearthnet_v1", options))
    assert changed == dict.fromkeys(test_units, "error:bad_metadata")  # never a geographic split
    for name in ("bigearthnet-train.csv", "bigearthnet-val.csv"):  # no list at all: no split
        (root / name).unlink()
    got = read_source("bigearthnet_v1", options)
    assert all(not got.units[u].startswith("error:") for u in test_units)
    assert all('"split":""' in got.units[u] for u in test_units)


@pytest.mark.parametrize("insert", ["\x00", '"'])
def test_bigearthnet_v1_malformed_split_row_fails_its_patches(insert: str, tmp_path: Path) -> None:
    root, options = _corpus("bigearthnet_v1", tmp_path)
    base = read_source("bigearthnet_v1", options)
    val = root / "bigearthnet-val.csv"
    val.write_text(insert + val.read_text())
    changed = _changed(base, read_source("bigearthnet_v1", options))
    assert changed and set(changed.values()) == {"error:bad_metadata"}
    assert all('"split":"validation"' in base.units[u] for u in changed)


# --- Satlas: static vector.json ------------------------------------------------------------


def test_satlas_missing_static_vector_fails_its_units(tmp_path: Path) -> None:
    root, options = _corpus("satlas", tmp_path)
    options["sensors"] = ["sentinel2", "sentinel1"]
    base = read_source("satlas", options)
    unit = next(u for u in _good(base) if '"objects":[{' in base.units[u])
    tile = unit.split("/")[1]
    vector = root / "static" / tile / "vector.json"
    assert vector.is_file()
    vector.unlink()
    changed = _changed(base, read_source("satlas", options))
    assert changed and unit in changed and set(changed.values()) == {"error:missing_file"}
    for other in root.glob("static/*/vector.json"):  # a layout with none (torchgeo's): no error
        other.unlink()
    assert read_source("satlas", options).units[unit] != "error:missing_file"


# --- xBD: pre/post sizes -------------------------------------------------------------------


def test_xbd_post_of_another_size_fails(tmp_path: Path) -> None:
    root, options = _corpus("xbd", tmp_path)
    base = read_source("xbd", options)
    unit = _good(base)[0]
    split, stem = unit.split("/")
    post = root / split / "images" / f"{stem}_post_disaster.png"
    with Image.open(post) as im:
        im.crop((0, 0, im.width - 16, im.height)).save(post)
    assert _changed(base, read_source("xbd", options)) == {unit: "error:corrupt_raster"}


# --- SkyScript and STARCOP: NUL bytes and quotes in CSV rows --------------------------------


def _break_row(path: Path, column: int, insert: str) -> str:
    """Insert text in one cell of the first data row; return that row's first cell."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[column] = cells[column][:1] + insert + cells[column][1:]
    lines[1] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    return cells[0]


@pytest.mark.parametrize("insert", ["\x00", '"', 'x"y'])
def test_skyscript_bad_csv_row_fails_only_its_unit(insert: str, tmp_path: Path) -> None:
    root, options = _corpus("skyscript", tmp_path)
    base = read_source("skyscript", options)
    csv = root / "dataframe" / "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv"
    unit = _break_row(csv, 1, insert)  # the title: text that would reach the captions
    changed = _changed(base, read_source("skyscript", options))
    assert changed == {unit: "error:malformed_label"}  # the rows after it are still read


@pytest.mark.parametrize("insert", ["\x00", '"', 'x"y'])
def test_starcop_bad_csv_row_fails_only_its_unit(insert: str, tmp_path: Path) -> None:
    root, options = _corpus("starcop", tmp_path)
    base = read_source("starcop", options)
    unit = _break_row(root / "train.csv", 3, insert)  # ``name``: text
    changed = _changed(base, read_source("starcop", options))
    assert changed == {unit: "error:bad_metadata"}


# --- QuakeSet: HDF5 datasets removed --------------------------------------------------------


@pytest.mark.parametrize("role", ["pre", "post"])
def test_quakeset_removed_dataset_fails_its_unit(role: str, tmp_path: Path) -> None:
    root, options = _corpus("quakeset", tmp_path)
    base = read_source("quakeset", options)
    unit = _good(base)[0]
    with h5py.File(root / "earthquakes.h5", "r+") as h5:
        del h5[f"{unit}/{role}"]
    assert _changed(base, read_source("quakeset", options)) == {unit: "error:missing_file"}


# --- index files: one-line stops ------------------------------------------------------------


def test_treesatai_unreadable_split_list_stops_in_one_line(tmp_path: Path) -> None:
    root, options = _corpus("treesatai", tmp_path)
    (root / "test_filenames.lst").write_bytes(b"\xc5\x00garbage\n")
    with pytest.raises(SourceNotFoundError) as err:
        make_adapter("treesatai", options).list_units()
    assert "test_filenames.lst" in str(err.value) and "\n" not in str(err.value)


def test_rsvqa_deeply_nested_json_stops_in_one_line(tmp_path: Path) -> None:
    root, options = _corpus("rsvqa", tmp_path)
    index = next(root.glob("*_questions.json"))
    index.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    got = read_source("rsvqa", options)  # a RecursionError would propagate
    assert "nested too deeply" in got.stop and "\n" not in got.stop


def test_strict_row_refuses_what_csv_would_take_literally() -> None:
    import csv

    from eoinstruct.sources.csvrows import strict_row

    assert strict_row('a,"b, ""c""",d\n') == ["a", 'b, "c"', "d"]  # escaped quotes are fine
    assert strict_row('a,"two\nlines",d\n') == ["a", "two\nlines", "d"]
    for bad in ('a,b"c,d\n', 'a,"b,c\nd,e\n', "a,b\x00,c\n", 'a,"b"x,c\n'):
        with pytest.raises(csv.Error):
            strict_row(bad)
