"""Per-band histograms of an image over its encoding's fixed range, from one sort of its pixels.

:func:`band_histograms` feeds the corpus card's band statistics (the shard stage merges them per
partition) and the score stage's records. The sorted rows behind them (:func:`_sorted_bands`,
kept for the array last sorted) also give the score stage its percentiles
(:mod:`eoinstruct.pipeline.quality.scores`), so the pixels are sorted once per image. This module
imports neither rasterio nor shapely: the shard stage loads it without them.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from eoinstruct.pipeline.io.brightness import RADIANCE_WHITE, to_db
from eoinstruct.pipeline.io.rasters import native_factors, native_pixels
from eoinstruct.pipeline.records import ImageRef


def _sorted_bands(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Each band's values sorted (NaN last) and its count of non-NaN values, or None.

    Where ``array`` was converted from integers without nodata (:func:`native_pixels`), the
    integers are sorted and returned as such: their float32 values are exactly the sorted
    float32 values, converted by the callers only where they read them.

    One sort serves the percentiles (:func:`_band_stats`) and the histograms
    (:func:`band_histograms`) of the array last scored (kept until the next one), so neither
    partitions nor bins the pixels again. None where a band holds ±inf (the per-band path).
    """
    last = getattr(_SORTED, "last", None)
    if last is not None and last[0] is array:
        return last[1], last[2]
    if array.ndim != 3 or not array.shape[0] or not array.shape[1] * array.shape[2]:
        return None
    native = native_pixels(array)
    if native is not None:  # integers, no nodata: sorted as such (fewer bytes), converted once
        ordered = _sorted_native(native, native_factors(array))
        counts = np.full(ordered.shape[0], ordered.shape[1], dtype=np.intp)
        _SORTED.last = (array, ordered, counts)
        return ordered, counts
    flat = array.reshape(array.shape[0], -1)
    if np.isinf(flat).any():
        return None
    ordered = np.sort(flat, axis=1)
    if np.isnan(ordered[:, -1]).any():  # NaN sorts last: counted only where a row has one
        counts = flat.shape[1] - np.isnan(flat).sum(axis=1)
    else:
        counts = np.full(flat.shape[0], flat.shape[1], dtype=np.intp)
    _SORTED.last = (array, ordered, counts)
    return ordered, counts


def _sorted_native(native: np.ndarray, factors: tuple[int, ...] | None) -> np.ndarray:
    """Each band of ``native`` sorted, a ``(bands, pixels)`` array of its dtype.

    A band upsampled by a factor ``k`` (:func:`native_factors`) holds each value of
    ``band[::k, ::k]`` exactly ``k²`` times: those (``1/k²`` of the pixels) are sorted and
    each written ``k²`` times, the very rows a sort of the whole band gives. Each band is
    sorted in its own row of the result (a band on the grid copied there and sorted in place,
    an upsampled one broadcast there from its sorted values): no gathered copy of the bands of
    a factor, no repeated temporary (≈ 0.1 ms less per 12-band Sentinel-2 image).
    """
    bands = native.shape[0]
    if factors is None or len(factors) != bands or all(k == 1 for k in factors):
        return np.sort(native.reshape(bands, -1), axis=1)
    ordered = np.empty((bands, native.shape[1] * native.shape[2]), dtype=native.dtype)
    for index, k in enumerate(factors):
        row = ordered[index]
        if k == 1:
            row[:] = native[index].reshape(-1)
            row.sort()
        else:
            coarse = native[index, ::k, ::k].flatten()  # always a copy: sorted in place
            coarse.sort()
            _spread(row, coarse, k * k)
    return ordered


_LANES = {1: 0x0101010101010101, 2: 0x0001000100010001, 4: 0x0000000100000001}
"""Per unsigned item size, the 64-bit word whose product with a value repeats it in every lane."""


def _spread(row: np.ndarray, coarse: np.ndarray, repeats: int) -> None:
    """Write each value of ``coarse`` ``repeats`` times, in order, into ``row``.

    Unsigned integers filling whole 64-bit words are written a word at a time (the value
    times a word of ones in each lane: exact, no carry between lanes), 5x faster than the
    broadcast copy used otherwise.
    """
    size = row.dtype.itemsize
    lanes = 8 // size
    if row.dtype.kind == "u" and size in _LANES and repeats % lanes == 0:
        words = row.view(np.uint64).reshape(coarse.size, repeats // lanes)
        np.multiply(coarse[:, None], np.uint64(_LANES[size]), out=words, dtype=np.uint64)
    else:
        row.reshape(coarse.size, repeats)[:] = coarse[:, None]


def _sorted_in_db(linear: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_sorted_bands` of ``db`` (``to_db(linear)``) from the sort of ``linear``.

    The score stage has just sorted the linear pixels (kept by :func:`_sorted_bands`); the
    decibels of those sorted rows are the sorted decibels wherever they come out sorted
    (checked: the logarithm is non-decreasing, but a non-positive value turns NaN at the
    front, and a vectorised logarithm is not promised monotone to the last bit), the same
    values as the pixels' decibels, one for one. Otherwise the decibels are sorted.
    """
    sorted_linear = _sorted_bands(linear)
    if sorted_linear is not None and sorted_linear[0].dtype == np.float32:
        ordered, counts = to_db(sorted_linear[0]), sorted_linear[1]
        if all(
            bool(np.all(seg[1:] >= seg[:-1])) and not np.isnan(seg[:1]).any()
            for seg in (row[:n] for row, n in zip(ordered, counts, strict=True))
        ):
            return ordered, counts
    return _sorted_bands(db)


_SORTED = threading.local()
"""Per thread, ``last``: the last array sorted by :func:`_sorted_bands`, its sorted rows and
their counts."""


HIST_BINS = 32
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "uint8": (0.0, 255.0),
    "reflectance_1e4": (0.0, 10000.0),
    "reflectance": (0.0, 1.0),
    "sar_db": (-50.0, 10.0),
    "sar_linear": (-50.0, 10.0),
    "radiance": (0.0, 2 * RADIANCE_WHITE),
    "normalized_radiance": (0.0, 120.0),
    "kelvin": (200.0, 350.0),
}
"""Histogram range of band values per encoding (``sar_linear`` is histogrammed in dB; values
outside fall into the edge bins; ``float`` images have no fixed scale and are left out)."""


def band_histograms(image: ImageRef, array: np.ndarray) -> dict[str, list[int]]:
    """Histogram each band of an image over the fixed range of its encoding.

    Args:
        image: The image.
        array: Its pixels (bands, height, width), NaN for nodata.

    Returns:
        Band name → :data:`HIST_BINS` counts (NaN excluded); empty for ``float`` images.
    """
    limits = VALUE_RANGES.get(image.encoding)
    if limits is None:
        return {}
    if image.encoding == "sar_linear":
        values = to_db(array)
        sorted_bands = _sorted_in_db(array, values)
    else:
        values = array
        sorted_bands = _sorted_bands(array)
    if sorted_bands is None or sorted_bands[0].shape[0] != len(image.bands):
        return _histograms_per_band(image.bands, values, limits)
    ordered, counts = sorted_bands
    if ordered.dtype.kind in "ui":
        return _histograms_of_integers(image.bands, ordered, limits)
    edges = _bin_edges(ordered.dtype.str, limits)
    if edges.dtype == ordered.dtype and edges[0] == limits[0] and edges[-1] == limits[1]:
        # clipping to the outer edges only moves values into the edge bins, which counting
        # from 0 (first bin) and up to n (the last, closed) does without clipping or casting
        rows, first = ordered, 0
    else:
        rows, first = np.clip(ordered, limits[0], limits[1]).astype(edges.dtype, copy=False), None
    out: dict[str, list[int]] = {}
    for band, row, n in zip(image.bands, rows, counts, strict=True):
        # np.histogram's bins for uniform edges: edges[i] <= v < edges[i + 1], the last closed
        left = np.searchsorted(row[:n], edges, side="left")
        if first is not None:
            left[0] = first
        bins = np.diff(left)
        bins[-1] = n - left[-2]
        out[band] = [int(c) for c in bins]
    return out


@functools.lru_cache(maxsize=64)
def _bin_edges(dtype: str, limits: tuple[float, float]) -> np.ndarray:
    """``np.histogram_bin_edges`` of values of ``dtype`` over ``limits`` (computed once)."""
    edges = np.histogram_bin_edges(np.empty(0, np.dtype(dtype)), bins=HIST_BINS, range=limits)
    edges.setflags(write=False)
    return edges


@functools.lru_cache(maxsize=64)
def _integer_needles(
    dtype: str, limits: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_histograms_of_integers`' masks and needles for ``dtype`` (computed once)."""
    edges = _bin_edges(np.dtype(np.float32).str, limits)
    info = np.iinfo(np.dtype(dtype))
    needles = np.ceil(edges.astype(np.float64))
    under, over = needles <= info.min, needles > info.max  # none under / all under
    under[0] = True  # the first bin counts from the first value
    clipped = np.clip(needles, info.min, info.max).astype(np.dtype(dtype))
    for array in (under, over, clipped):
        array.setflags(write=False)
    return under, over, clipped


def _histograms_of_integers(
    bands: tuple[str, ...], ordered: np.ndarray, limits: tuple[float, float]
) -> dict[str, list[int]]:
    """:func:`band_histograms` of sorted integer rows (no NaN), as of their float32 values.

    The float32 edges of the float32 path; an integer ``v`` (exact in float32) is under an
    edge ``e`` exactly when it is under ``ceil(e)``, so each edge's count is a search for an
    integer needle in the row's own dtype (no conversion of the row). As there, values under
    the range fall into the first bin and values over it into the last.
    """
    under, over, clipped = _integer_needles(ordered.dtype.str, limits)
    n = ordered.shape[1]
    # each row's searches into one array, differenced at once
    left = np.empty((len(ordered), len(clipped)), dtype=np.intp)
    for index, row in enumerate(ordered):
        left[index] = np.searchsorted(row, clipped, side="left")
    left[:, under] = 0
    left[:, over] = n
    bins = left[:, 1:] - left[:, :-1]
    bins[:, -1] = n - left[:, -2]
    return dict(zip(bands, bins.tolist(), strict=True))


def _histograms_per_band(
    bands: tuple[str, ...], values: np.ndarray, limits: tuple[float, float]
) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for band, layer in zip(bands, values, strict=True):
        finite = layer[np.isfinite(layer)]
        clipped = np.clip(finite, limits[0], limits[1])
        counts, _ = np.histogram(clipped, bins=HIST_BINS, range=limits)
        out[band] = [int(c) for c in counts]
    return out
