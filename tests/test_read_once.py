"""Each image is decoded once per build: score reads every file once and stores what shard ships.

Also pins the cheap writes: a partition's files hashed in the same pass that flushes them, and
the digests equal to a fresh hash of the published files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from build_helpers import band_tif

import eoinstruct.pipeline.io.rasters as rasters
from eoinstruct.pipeline.corpus.rows import needs_array, npy_bytes, stored_array
from eoinstruct.pipeline.io.atomic import publish_many, temporary_path
from eoinstruct.pipeline.io.render import render_png
from eoinstruct.pipeline.io.rendered import (
    load_rendered,
    rendered_table,
    stored_sample,
    write_rendered,
)
from eoinstruct.pipeline.quality.scores import band_histograms
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.pipeline.stages.score import score_sample

BANDS = ("B02", "B03", "B04", "B05")


_tif = band_tif


def _sample(folder: Path, index: int = 0) -> Sample:
    rng = np.random.default_rng(index)
    files = []
    for band in BANDS:
        side, res = (6, 20.0) if band == "B05" else (12, 10.0)
        pixels = rng.integers(1, 4000, (side, side)).astype(np.uint16)
        files.append(_tif(folder / f"{index}_{band}.tif", pixels, res))
    image = ImageRef("image", tuple(files), BANDS, "reflectance_1e4", 12, 12)
    return Sample(
        sample_id=f"s:{index}",
        source="s",
        native_id=str(index),
        modality="multispectral",
        sensor="sentinel-2",
        bands=BANDS,
        gsd_m=10.0,
        crs="EPSG:32633",
        footprint_wkt="POLYGON ((10 40, 11 40, 11 41, 10 41, 10 40))",
        acquired=(),
        images=(image,),
        tags={},
        labels=Labels(classes=("Pastures",)),
        licence="x",
    )


def test_score_opens_each_file_once_and_stores_what_shard_ships(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = _sample(tmp_path)
    opened: list[str] = []
    real_open = rasterio.open

    def counting_open(path: object, *args: object, **kwargs: object) -> object:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    real_plain = rasters.read_plain_geotiff

    def counting_plain(path: Path, *args: object, **kwargs: object) -> object:
        decoded = real_plain(path, *args, **kwargs)  # type: ignore[arg-type]
        if decoded is not None:  # decoded without GDAL (pipeline.io.geotiff): one open
            opened.append(str(path))
        return decoded

    monkeypatch.setattr(rasterio, "open", counting_open)
    monkeypatch.setattr(rasters, "read_plain_geotiff", counting_plain)
    row, rendered = score_sample(sample, 0.02, 0.9)
    image = sample.images[0]
    assert sorted(opened) == sorted(image.files)  # 4 files, 4 opens: no re-read to render
    monkeypatch.setattr(rasterio, "open", real_open)
    assert row["sample_id"] == sample.sample_id and len(rendered) == 1
    # the stored bytes are what rendering and storing from a fresh read give
    array = rasters.read_image(image)
    assert b"".join(rendered[0]["png"]) == render_png(image)  # parts, joined once when written
    assert needs_array(image)
    stored, info = stored_array(sample, image, array)
    assert b"".join(rendered[0]["npy"]) == npy_bytes(stored)
    assert json.loads(rendered[0]["array_info"])["dtype"] == info["dtype"] == "uint16"
    assert json.loads(rendered[0]["histograms"]) == band_histograms(image, array)


def test_shard_loads_only_row_groups_it_needs_and_fails_unrendered_images(
    tmp_path: Path,
) -> None:
    samples = [_sample(tmp_path, i) for i in range(3)]
    rows = [r for s in samples for r in score_sample(s, 0.02, 0.9)[1]]
    rows[2] = {**rows[2], "png": None, "error_kind": "missing_band", "error": "no rendering"}
    path = tmp_path / "rendered.arrow"
    write_rendered(path, rendered_table(rows), batch_size=1)  # PNG/npy parts joined there
    loaded = load_rendered(path, {"s:0", "s:2"})
    assert sorted(loaded) == ["s:0", "s:2"]
    rendered, stored, hists = stored_sample(samples[0], loaded["s:0"], with_rasters=True)
    assert rendered == {"image": b"".join(rows[0]["png"])}
    assert stored["image"][0] == b"".join(rows[0]["npy"])
    assert hists["image"] == json.loads(rows[0]["histograms"])
    assert stored_sample(samples[0], loaded["s:0"], with_rasters=False)[1] == {}
    with pytest.raises(rasters.RasterReadError) as info:
        stored_sample(samples[2], loaded["s:2"], with_rasters=True)
    assert info.value.kind == "missing_band"


def test_publish_many_hashes_while_flushing(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        final = tmp_path / "out" / f"{i}.bin"
        final.parent.mkdir(exist_ok=True)
        tmp = temporary_path(final)
        tmp.write_bytes(bytes(range(256)) * (i * 5000 + 1))
        files.append((tmp, final))
    seen: list[Path] = []
    done = publish_many(files, lambda p: seen.append(p.final))
    assert seen == [final for _, final in files]
    for (tmp, final), published in zip(files, done, strict=True):
        assert not tmp.exists() and final.is_file()
        assert published.sha256 == hashlib.sha256(final.read_bytes()).hexdigest()
        assert published.bytes == final.stat().st_size
