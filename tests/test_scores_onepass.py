"""Score statistics computed for every band at once equal the per-band numpy calls bit for bit.

``_band_stats`` (one vectorised ``np.percentile``/mean over the bands) and ``band_histograms``
(one bincount for every band) replaced a loop of ``np.percentile`` and ``np.histogram`` calls:
the corpus and the score tables must not change, so each is compared with the per-band
reference on arrays built to hit bin edges, range limits, NaN and constant bands.
"""

from __future__ import annotations

import numpy as np
import pytest

from eoinstruct.pipeline.io.rasters import to_db, unit_brightness
from eoinstruct.pipeline.quality.scores import (
    HIST_BINS,
    VALUE_RANGES,
    _band_stats,
    band_histograms,
)
from eoinstruct.pipeline.records import ImageRef


def _reference_stats(array: np.ndarray, encoding: str) -> tuple[list[float], ...]:
    out: tuple[list[float], ...] = ([], [], [], [])
    for band in array:
        finite = band[np.isfinite(band)]
        unit = unit_brightness(finite, encoding) if finite.size else finite
        if unit.size == 0 or not np.isfinite(unit).any():
            for column in out:
                column.append(float("nan"))
            continue
        low, mid, high = np.percentile(unit, [2, 50, 98])
        for column, value in zip(out, (unit.mean(), low, mid, high), strict=True):
            column.append(float(value))
    return out


def _reference_histograms(image: ImageRef, array: np.ndarray) -> dict[str, list[int]]:
    limits = VALUE_RANGES[image.encoding]
    values = to_db(array) if image.encoding == "sar_linear" else array
    out = {}
    for band, layer in zip(image.bands, values, strict=True):
        clipped = np.clip(layer[np.isfinite(layer)], *limits)
        out[band] = [int(c) for c in np.histogram(clipped, bins=HIST_BINS, range=limits)[0]]
    return out


def _arrays(encoding: str, rng: np.random.Generator) -> list[np.ndarray]:
    low, high = VALUE_RANGES[encoding]
    span = high - low
    edges = np.linspace(low, high, HIST_BINS + 1).astype(np.float32)
    noisy = rng.uniform(low - 0.1 * span, high + 0.1 * span, (4, 33, 35)).astype(np.float32)
    if encoding == "sar_linear":
        noisy = (10 ** (noisy / 10)).astype(np.float32)
    on_edges = np.resize(np.concatenate([edges, np.nextafter(edges, np.inf)]), (3, 20, 20))
    constant = np.full((2, 9, 9), np.float32(low + span / 3))
    holes = noisy.copy()
    holes[1, :5] = np.nan
    holes[2] = np.nan
    return [noisy, on_edges.astype(np.float32), constant, holes]


@pytest.mark.parametrize("encoding", sorted(VALUE_RANGES))
def test_one_pass_statistics_equal_the_per_band_calls(encoding: str) -> None:
    rng = np.random.default_rng(len(encoding))
    for array in _arrays(encoding, rng):
        bands = tuple(f"B{i}" for i in range(array.shape[0]))
        image = ImageRef("image", ("x.tif",), bands, encoding, array.shape[1], array.shape[2])
        assert band_histograms(image, array) == _reference_histograms(image, array)
        means, p2, p50, p98, _ = _band_stats(array, encoding)
        expected = _reference_stats(array, encoding)
        for got, want in zip((means, p2, p50, p98), expected, strict=True):
            np.testing.assert_array_equal(np.array(got), np.array(want))
            assert [np.float64(v).tobytes() for v in got] == [np.float64(v).tobytes() for v in want]


def test_sar_histograms_from_the_linear_sort_match_with_non_positive_values() -> None:
    from eoinstruct.pipeline.quality import histograms

    rng = np.random.default_rng(3)
    array = (10 ** (rng.uniform(-6, 2, (2, 30, 30)) / 10)).astype(np.float32)
    array[0, :3] = 0.0  # no power: NaN in dB, at the front of the linear sort
    array[1, 4, :7] = -1.0
    image = ImageRef("image", ("x.tif",), ("VV", "VH"), "sar_linear", 30, 30)
    for _ in range(2):  # fresh, then from the kept linear sort
        assert band_histograms(image, array) == _reference_histograms(image, array)
        assert histograms._SORTED.last is not None
    _band_stats(array, "sar_linear")  # the linear sort kept, as the score stage leaves it
    assert band_histograms(image, array) == _reference_histograms(image, array)
