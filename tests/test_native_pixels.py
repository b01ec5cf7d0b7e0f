"""Integer band files without nodata stay integers until one float32 conversion of the stack.

:func:`read_image` keeps those integers (:func:`native_pixels`) for the score stage's sort,
its NaN scan and the stored ``uint16`` array; these tests pin that every use gives exactly what
the float32 path gives, and that any nodata (a tag, the implicit 0 of reflectance) drops them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from build_helpers import band_tif

from eoinstruct.pipeline.corpus.rows import _rounded, stored_array
from eoinstruct.pipeline.io.geotiff import read_plain_geotiff
from eoinstruct.pipeline.io.rasters import native_pixels, read_image
from eoinstruct.pipeline.quality import histograms, scores
from eoinstruct.pipeline.records import ImageRef, Labels, Sample

BANDS = ("B02", "B03", "B04", "B08", "B05")


_tif = band_tif


def _image(
    folder: Path, low: int = 1, dtype: str = "uint16", nodata: float | None = None
) -> ImageRef:
    rng = np.random.default_rng(low + 7)
    files = []
    for band in BANDS:
        side, res = (8, 20.0) if band == "B05" else (16, 10.0)
        pixels = rng.integers(low, 4000 if dtype == "uint16" else 250, (side, side)).astype(dtype)
        if low == 0:
            pixels[0, 0] = 0 if nodata is None else nodata
        files.append(_tif(folder / f"{band}.tif", pixels, res, nodata))
    encoding = "reflectance_1e4" if dtype == "uint16" else "uint8"
    return ImageRef("image", tuple(files), BANDS, encoding, 16, 16)


def _sample(image: ImageRef) -> Sample:
    return Sample(
        sample_id="s:0",
        source="s",
        native_id="0",
        modality="multispectral",
        sensor="sentinel-2",
        bands=BANDS,
        gsd_m=10.0,
        crs="EPSG:32633",
        footprint_wkt="",
        acquired=(),
        images=(image,),
        tags={},
        labels=Labels(),
        licence="x",
    )


def _float_path(image: ImageRef, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """The same image read as before: every band converted to float32 by the decoder."""
    import eoinstruct.pipeline.io.rasters as rasters

    def floats(path: Path, count: int | None, dtypes: tuple[str, ...], *rest: Any) -> object:
        return read_plain_geotiff(path, count, dtypes, rest[0], rest[1], raw=False)

    monkeypatch.setattr(rasters, "read_plain_geotiff", floats)
    array = read_image(image)
    monkeypatch.undo()
    return array


@pytest.mark.parametrize("dtype", ["uint16", "uint8"])
def test_integers_kept_and_every_use_equals_the_float_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    image = _image(tmp_path, dtype=dtype)
    expected = _float_path(image, monkeypatch)
    assert native_pixels(expected) is None  # the float path keeps nothing
    array = read_image(image)
    native = native_pixels(array)
    assert native is not None and native.dtype == np.dtype(dtype)
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, expected)
    np.testing.assert_array_equal(native.astype(np.float32), array)
    assert native_pixels(array.copy()) is None  # only the very array returned
    got = scores.image_scores(image, 0.05, 0.95, array=array)
    histograms._SORTED.last = None
    want = scores.image_scores(image, 0.05, 0.95, array=expected)
    assert got == want
    histograms._SORTED.last = None
    assert scores.band_histograms(image, array) == scores.band_histograms(image, expected)
    stored, info = stored_array(_sample(image), image, array)
    want_stored, want_info = stored_array(_sample(image), image, expected)
    assert stored.dtype == want_stored.dtype and info == want_info
    np.testing.assert_array_equal(stored, want_stored)
    if dtype == "uint16":
        np.testing.assert_array_equal(stored, _rounded(expected, 65535.0).astype("<u2"))


def test_nodata_drops_the_integers(tmp_path: Path) -> None:
    (tmp_path / "zero").mkdir()
    (tmp_path / "tag").mkdir()
    implicit = read_image(_image(tmp_path / "zero", low=0))  # reflectance 0 is nodata
    assert np.isnan(implicit).any() and native_pixels(implicit) is None
    tagged = read_image(_image(tmp_path / "tag", low=0, nodata=3.0))  # a pixel is 3
    assert np.isnan(tagged).any() and native_pixels(tagged) is None


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16"])
@pytest.mark.parametrize("limits", [(0.0, 255.0), (0.0, 10000.0), (-50.0, 10.0), (200.0, 350.0)])
def test_integer_histograms_equal_the_float_path(dtype: str, limits: tuple[float, float]) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(1)
    rows = rng.integers(max(info.min, -600), min(info.max, 12000), (3, 999), endpoint=True)
    rows[0, :5] = info.min  # values at both ends of the dtype
    rows[1, :5] = info.max
    ordered = np.sort(rows.astype(dtype), axis=1)
    floats = ordered.astype(np.float32)
    edges = np.histogram_bin_edges(floats[:0, 0], bins=scores.HIST_BINS, range=limits)
    clipped = np.clip(floats, limits[0], limits[1]).astype(edges.dtype)
    want = {
        str(i): [int(c) for c in np.histogram(row, bins=edges)[0]] for i, row in enumerate(clipped)
    }
    assert histograms._histograms_of_integers(("0", "1", "2"), ordered, limits) == want
