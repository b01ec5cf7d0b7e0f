"""One row per sample, and the per-pair views one line away (no build needed).

A small sample is made in memory (a two-image SAR pair with a 12-band optical image beside
it), turned into its corpus row and tar members by ``corpus.rows``, and read back through
``corpus.views``: the ``datasets`` pair view, the WebDataset pair view and ``to_physical``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eoinstruct.pipeline.corpus.layout import corpus_features, pair_features
from eoinstruct.pipeline.corpus.rows import (
    acquired_per_image,
    needs_array,
    npy_bytes,
    sample_key,
    sample_records,
    stored_array,
)
from eoinstruct.pipeline.corpus.views import pair_rows, pairs, to_physical, wds_pairs
from eoinstruct.pipeline.records import (
    ImageRef,
    InstructionPair,
    Labels,
    Sample,
    Turn,
)

S2 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")


def _image(role: str, bands: tuple[str, ...], encoding: str) -> ImageRef:
    return ImageRef(role, (f"/x/{role}.tif",), bands, encoding, 4, 3)


def _sample(acquired: tuple[str, ...] = ("2021-01-01T00:00:00Z", "2021-02-01T00:00:00Z")) -> Sample:
    images = (
        _image("pre", ("VV", "VH"), "sar_linear"),
        _image("post", ("VV", "VH"), "sar_linear"),
        _image("optical", S2, "reflectance_1e4"),
        _image("rgb", ("R", "G", "B"), "uint8"),
    )
    return Sample(
        sample_id="demo:tile.1/a",
        source="bigearthnet_v2",
        native_id="tile.1/a",
        modality="sar",
        sensor="Sentinel-1 C-SAR",
        bands=("VV", "VH", *S2),
        gsd_m=10.0,
        crs="EPSG:32633",
        footprint_wkt="",
        acquired=acquired,
        images=images,
        tags={},
        labels=Labels(scheme="none"),
        licence="CDLA-Permissive-1.0",
        split="train",
    )


def _pair(pair_id: str, roles: tuple[str, ...], task: str) -> InstructionPair:
    tokens = " ".join(["<image>"] * len(roles))
    return InstructionPair(
        pair_id=pair_id,
        sample_id="demo:tile.1/a",
        source="bigearthnet_v2",
        task=task,
        template_id=f"t_{task}",
        paraphrase_id=0,
        turns=(Turn("human", f"[s1_vh_10] {tokens}\nWhat changed?"), Turn("gpt", "Nothing.")),
        image_roles=roles,
        generator="template/2",
        generator_params={"seed": "1"},
        answer_style="terse",
        split="train",
    )


def _png(shade: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (shade, shade, shade)).save(buffer, format="PNG")
    return buffer.getvalue()


def _records() -> tuple[dict, list[dict], dict[str, bytes], dict[str, np.ndarray]]:
    sample = _sample()
    rng = np.random.default_rng(0)
    pixels = {
        "pre": rng.random((2, 3, 4)).astype(np.float32),
        "post": rng.random((2, 3, 4)).astype(np.float32),
        "optical": np.round(rng.random((12, 3, 4)) * 3000 + 1).astype(np.float32),  # x 1e4
        "rgb": rng.integers(0, 255, (3, 3, 4)).astype(np.float32),
    }
    pixels["post"][0, 0, 0] = np.nan
    pixels["optical"][:, 1, 1] = np.nan
    stored = {}
    for image in sample.images:
        if needs_array(image):
            array, info = stored_array(sample, image, pixels[image.role])
            stored[image.role] = (npy_bytes(array), info)
    rendered = {im.role: _png(i) for i, im in enumerate(sample.images)}
    pair_list = [
        _pair("p1", ("pre", "post"), "change"),
        _pair("p2", ("optical",), "classification"),
        _pair("p3", ("rgb",), "captioning"),
    ]
    row, table, members = sample_records(
        sample, pair_list, "train", rendered, stored, {"native_id": sample.native_id}
    )
    return row, table, members, pixels


def test_a_sample_row_stores_every_image_once_with_its_dialogues() -> None:
    row, table, members, _ = _records()
    assert row["image_roles"] == ["pre", "post", "optical", "rgb"]
    assert [i["bytes"] for i in row["images"]] == [_png(i) for i in range(4)]
    assert [a["role"] for a in row["arrays"]] == ["pre", "post", "optical"]  # not 8-bit RGB
    assert [d["pair_id"] for d in row["dialogues"]] == ["p1", "p2", "p3"]
    assert [r["pair_id"] for r in table] == ["p1", "p2", "p3"]
    assert all("images" not in r for r in table)
    # tar: one key, each image once
    assert sorted(members) == sorted(
        [
            "json",
            "pre.png",
            "post.png",
            "optical.png",
            "rgb.png",
            "pre.npy",
            "post.npy",
            "optical.npy",
        ]
    )
    doc = json.loads(members["json"])
    assert doc["arrays"]["post"]["nodata"] == "NaN" and doc["arrays"]["optical"]["nodata"] == 0
    assert "." not in sample_key(row["sample_id"]) and "/" not in sample_key(row["sample_id"])
    # the rows fit the published schemas
    pa.Table.from_pylist([row], schema=corpus_features().arrow_schema)
    pa.Table.from_pylist(table, schema=pair_features().arrow_schema)


def test_arrays_describe_bands_wavelengths_scale_and_units() -> None:
    row, _, _, pixels = _records()
    arrays = {a["role"]: a for a in row["arrays"]}
    optical = arrays["optical"]
    assert optical["dtype"] == "uint16" and optical["shape"] == [12, 3, 4]
    assert optical["scale"] == pytest.approx(1e-4) and optical["nodata"] == 0
    assert optical["bands"] == list(S2) and optical["wavelengths_nm"][3] == pytest.approx(665)
    x = to_physical(optical)
    assert np.isnan(x[:, 1, 1]).all()
    valid = np.isfinite(pixels["optical"])
    assert np.allclose(x[valid], pixels["optical"][valid] * 1e-4, atol=1e-6)
    sar = arrays["post"]
    assert sar["dtype"] == "float32" and math.isnan(sar["nodata"]) and "linear" in sar["unit"]
    assert sar["wavelengths_nm"] == [None, None]
    got = to_physical(sar)
    assert np.isnan(got[0, 0, 0]) and np.array_equal(got, pixels["post"], equal_nan=True)


@pytest.mark.parametrize(
    ("roles", "acquired", "expected"),
    [
        (("image", "mag1c"), ("d1",), ["d1", "d1"]),
        (("t0", "t0_bands", "t1", "t1_bands"), ("d1", "d2"), ["d1", "d1", "d2", "d2"]),
        (("pre", "post"), ("d1", "d2"), ["d1", "d2"]),
        (("before", "pre", "post"), (), ["", "", ""]),
    ],
)
def test_acquisition_times_are_one_per_image(
    roles: tuple[str, ...], acquired: tuple[str, ...], expected: list[str]
) -> None:
    sample = _sample(acquired)
    images = tuple(_image(r, ("VV", "VH"), "sar_linear") for r in roles)
    sample = dataclasses.replace(sample, images=images)
    assert acquired_per_image(sample) == expected


def test_pair_rows_narrow_images_and_arrays_to_each_pair() -> None:
    row, table, _, _ = _records()
    exploded = pair_rows(row)
    assert [p["pair_id"] for p in exploded] == [r["pair_id"] for r in table]
    change, optical, rgb = exploded
    assert [i["bytes"] for i in change["images"]] == [_png(0), _png(1)]
    assert [a["role"] for a in change["arrays"]] == ["pre", "post"]
    assert [a["role"] for a in optical["arrays"]] == ["optical"] and rgb["arrays"] == []
    assert change["conversations"][0]["value"].count("<image>") == len(change["images"])


def test_datasets_pair_view_is_one_line_away(tmp_path: Path) -> None:
    import datasets

    row, _, _, _ = _records()
    table = pa.Table.from_pylist([row], schema=corpus_features().arrow_schema)
    path = tmp_path / "train-x-0-0.parquet"
    pq.write_table(table, path)
    ds = datasets.Dataset.from_parquet(str(path), cache_dir=str(tmp_path / "cache"))
    view = pairs(datasets.DatasetDict({"train": ds}))["train"]
    assert view["pair_id"] == ["p1", "p2", "p3"] and view["task"][0] == "change"
    assert view.features["images"] == datasets.List(datasets.Image())
    first = view.with_format(None).cast_column(
        "images", datasets.List(datasets.Image(decode=False))
    )[0]
    assert [i["bytes"] for i in first["images"]] == [_png(0), _png(1)]  # not re-encoded
    assert [a["role"] for a in view[1]["arrays"]] == ["optical"]
    assert to_physical(view[1]["arrays"][0]).shape == (12, 3, 4)


def test_webdataset_pair_view_yields_one_sample_per_pair() -> None:
    _, _, members, _ = _records()
    decoded = {
        "__key__": "k",
        "json": json.loads(members["json"]),
        **{k: v for k, v in members.items() if k != "json"},
    }
    out = list(wds_pairs([decoded]))
    assert [p["__key__"] for p in out] == ["p1", "p2", "p3"]
    change = out[0]
    assert sorted(k for k in change if "." in k) == ["post.npy", "post.png", "pre.npy", "pre.png"]
    assert set(change["json"]["rasters"]) == {"pre", "post"}
    array = np.load(io.BytesIO(change["pre.npy"]))
    assert array.shape == tuple(change["json"]["rasters"]["pre"]["shape"])
    assert out[2]["json"]["rasters"] == {} and "rgb.png" in out[2]
