"""The score stage's cheaper arithmetic gives the same numbers and pixels as before.

- :func:`_sorted_percentiles` (numpy's ``linear`` percentile read straight off sorted rows)
  equals ``np.percentile`` bit for bit, converted values included.
- ``_stretch`` (in place, no ``nan_to_num``) equals the former formula, NaN and ±inf included.
- :func:`png_bytes` (rows filtered in numpy, one ISA-L deflate call) decodes to the very
  pixels given, for odd sizes, and is no larger than Pillow's PNG of them at its former level 3
  (2 % leeway) where the rendering is noisy or has a nodata area.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from eoinstruct.pipeline.io import render
from eoinstruct.pipeline.io.rasters import unit_brightness
from eoinstruct.pipeline.quality.scores import _MONOTONE, _sorted_percentiles


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sorted_percentiles_equal_numpy(dtype: type) -> None:
    rng = np.random.default_rng(11)
    for n in [*range(1, 40), 57, 400, 14_400]:
        for scale in (1.0, 1e-3, 1e4):
            rows = np.sort((rng.random((3, n)) * scale).astype(dtype), axis=1)
            rows[1] = np.round(rows[1] * 10) / 10  # ties
            expected = np.percentile(rows, [2, 50, 98], axis=1)
            got = _sorted_percentiles(rows)
            assert got.dtype == expected.dtype
            assert got.tobytes() == expected.tobytes(), (n, scale)


@pytest.mark.parametrize("encoding", sorted(_MONOTONE))
def test_converted_percentiles_equal_numpy_on_the_converted_rows(encoding: str) -> None:
    rng = np.random.default_rng(5)
    raw = rng.normal(0, 1, (4, 997)).astype(np.float32) * {"uint8": 200, "kelvin": 60}.get(
        encoding, 4000 if encoding == "reflectance_1e4" else 30
    )
    rows = np.sort(raw, axis=1)
    unit = unit_brightness(rows, encoding)
    assert np.all(unit[:, 1:] >= unit[:, :-1])  # monotone: the converted rows stay sorted
    expected = np.percentile(unit, [2, 50, 98], axis=1)
    assert _sorted_percentiles(rows, encoding).tobytes() == expected.tobytes()


def _former_stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stretch_equals_the_former_formula(dtype: type) -> None:
    rng = np.random.default_rng(3)
    values = (rng.standard_normal((3, 50, 50)) * 3000).astype(dtype)
    flat = values.reshape(-1)
    flat[::7], flat[::11], flat[::13] = np.nan, np.inf, -np.inf
    flat[::17], flat[::19] = np.finfo(dtype).max, -np.finfo(dtype).max
    flat[::23] = -0.0
    for low, high in ((0.0, 3000.0), (-25.0, 0.0), (0.0, 0.3), (250.0, 330.0), (5.0, 5.0)):
        np.testing.assert_array_equal(
            render._stretch(values, low, high), _former_stretch(values, low, high)
        )


def _pillow_png(pixels: np.ndarray, level: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def test_png_bytes_decode_to_the_same_pixels() -> None:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:120, 0:120]
    smooth = np.stack([x * 2, y * 2, (x + y) % 256]).astype(np.uint8)  # a gradient scene
    noisy = np.clip(smooth.astype(int) + rng.integers(-9, 10, smooth.shape), 0, 255)
    half_nodata = noisy.astype(np.uint8)
    half_nodata[:, :, :70] = 0
    cases = [noisy.astype(np.uint8), half_nodata, smooth, np.zeros((3, 9, 4), np.uint8)]
    cases += [rng.integers(0, 256, (3, h, w), dtype=np.uint8) for h, w in ((1, 1), (1, 7), (6, 1))]
    for rgb in cases:
        encoded = render.png_bytes(rgb)
        with Image.open(io.BytesIO(encoded)) as image:
            image.load()
            assert image.mode == "RGB" and image.format == "PNG"
            np.testing.assert_array_equal(np.asarray(image), np.moveaxis(rgb, 0, -1))
    for rgb in cases[:2]:
        pixels = np.ascontiguousarray(np.moveaxis(rgb, 0, -1))
        assert len(render.png_bytes(rgb)) <= len(_pillow_png(pixels, 3)) * 1.02
    assert len(render.png_bytes(smooth)) < smooth.size // 4  # runs of residuals still coded


def _reference_rows(pixels: np.ndarray) -> np.ndarray:
    """PNG filtering as the specification writes it (per byte, in Python ints), with one
    filter per image: Sub or Up, whichever has the least sum of |residual| (as a signed byte)
    over every 5th row from row 2 (the last row of a shorter image), Sub on a tie."""
    height, width, channels = pixels.shape
    data = pixels.reshape(height, width * channels).astype(int)
    options: dict[int, list[list[int]]] = {1: [], 2: []}
    for r in range(height):
        line, prev = data[r], data[r - 1] if r else np.zeros_like(data[r])
        left = np.concatenate([np.zeros(channels, int), line[:-channels]])
        options[1].append([int(v) % 256 for v in line - left])
        options[2].append([int(v) % 256 for v in line - prev])
    seen = slice(min(2, height - 1), None, 5)
    costs = {
        kind: sum(min(v, 256 - v) for row in rows[seen] for v in row)
        for kind, rows in options.items()
    }
    kind = 1 if costs[1] <= costs[2] else 2
    return np.array([[kind, *row] for row in options[kind]], dtype=np.uint8)


def test_row_filters_equal_the_specification() -> None:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:9, 0:11]
    cases = [
        rng.integers(0, 256, (9, 11, 3), dtype=np.uint8),
        np.stack([x * 29, y * 31, (x * y) % 256], axis=-1).astype(np.uint8),
        np.where(rng.random((8, 5, 3)) < 0.5, 0, 128).astype(np.uint8),  # residuals of ±128
        rng.integers(0, 256, (1, 1, 3), dtype=np.uint8),
        rng.integers(0, 256, (6, 4, 1), dtype=np.uint8),
        np.repeat(rng.integers(0, 256, (1, 12, 3), dtype=np.uint8), 17, axis=0),  # stripes: Up
    ]
    kinds = {int(render._filtered_rows(pixels)[0, 0]) for pixels in cases}
    assert kinds == {1, 2}  # both filters chosen somewhere
    for pixels in cases:
        np.testing.assert_array_equal(render._filtered_rows(pixels), _reference_rows(pixels))


def test_stored_rounding_equals_the_former_formula() -> None:
    from eoinstruct.pipeline.corpus.rows import _rounded

    rng = np.random.default_rng(3)
    values = (rng.random(50_000) * 80_000 - 10_000).astype(np.float32)
    for step, special in ((7, np.nan), (11, np.inf), (13, -np.inf), (17, -0.0), (19, 2.5)):
        values[::step] = special
    for top, dtype in ((65535.0, "<u2"), (255.0, "u1")):
        former = np.nan_to_num(values, nan=0.0).clip(0, top).round().astype(dtype)
        np.testing.assert_array_equal(_rounded(values, top).astype(dtype), former)


def test_npy_bytes_equal_numpys_writer() -> None:
    from eoinstruct.pipeline.corpus.rows import npy_bytes

    rng = np.random.default_rng(5)
    cases = [
        rng.random((2, 12, 9)).astype("<f4"),
        rng.integers(0, 65535, (12, 7, 5)).astype("<u2"),
        rng.integers(0, 255, (3, 4, 4)).astype("u1"),
        np.zeros((0, 3, 3), "<f4"),
        rng.random((3, 6, 6)).astype("<f4")[:, ::2, 1:],  # not contiguous
    ]
    for array in cases:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
        assert npy_bytes(array) == buffer.getvalue()
        np.testing.assert_array_equal(np.load(io.BytesIO(npy_bytes(array))), array)


def test_upsampling_repeats_each_coarse_pixel_onto_its_block() -> None:
    from pathlib import Path

    from eoinstruct.pipeline.io.rasters import _Band, _upsample

    rng = np.random.default_rng(9)
    for height, factor in ((6, 2), (4, 3), (5, 1)):
        data = rng.integers(0, 10_000, (1, height, height + 1), dtype=np.uint16)
        band = _Band(Path("b.tif"), data, None, (0.0, 0.0, 1.0, 1.0), False)
        out = np.full((height * factor, (height + 1) * factor), np.nan, np.float32)
        _upsample(band, out.shape, out)
        expected = np.kron(data[0], np.ones((factor, factor), np.uint16)).astype(np.float32)
        np.testing.assert_array_equal(out, expected)


def test_pixel_sha256_depends_on_values_not_dtype() -> None:
    """Equal values hash alike whatever the dtype; other values, shapes or NaN hash apart."""
    from eoinstruct.pipeline.quality.scores import pixel_sha256

    rng = np.random.default_rng(5)
    small = rng.integers(0, 256, (3, 9, 7)).astype(np.uint8)
    digests = {pixel_sha256(small.astype(d)) for d in (np.uint8, np.uint16, np.int32, np.float32)}
    digests.add(pixel_sha256(small.astype(np.float64)))
    assert len(digests) == 1
    big = rng.integers(0, 65536, (2, 5, 5)).astype(np.uint16)
    assert pixel_sha256(big) == pixel_sha256(big.astype(np.float32))
    assert pixel_sha256(big) != pixel_sha256(big.reshape(2, 25, 1))
    fractional = small.astype(np.float32)
    fractional[0, 0, 0] += 0.5
    negative = small.astype(np.float32)
    negative[0, 0, 0] = -1
    nodata = small.astype(np.float32)
    nodata[0, 0, 0] = np.nan
    others = {pixel_sha256(a) for a in (fractional, negative, nodata, small.astype(np.float32))}
    assert len(others) == 4
    # a float image not holding such integers: the float32 values (a view, no conversion)
    assert pixel_sha256(fractional) == pixel_sha256(fractional.astype(np.float64))


def test_sorted_native_of_upsampled_bands_equals_a_full_sort() -> None:
    """Sorting each coarse band once and repeating its values gives np.sort's rows."""
    from eoinstruct.pipeline.quality.scores import _sorted_native

    rng = np.random.default_rng(3)
    factors = (6, 1, 2, 1, 3, 2, 6)
    native = np.empty((len(factors), 36, 36), dtype=np.uint16)
    for index, k in enumerate(factors):
        coarse = rng.integers(0, 4000, (36 // k, 36 // k)).astype(np.uint16)
        native[index] = np.repeat(np.repeat(coarse, k, axis=0), k, axis=1)
    expected = np.sort(native.reshape(len(factors), -1), axis=1)
    for given in (factors, None, (1,) * len(factors)):
        got = _sorted_native(native, given)
        assert got.dtype == native.dtype
        assert np.array_equal(got, expected)


@pytest.mark.parametrize(
    ("dtype", "low", "high"), [(np.uint16, 0.0, 3000.0), (np.uint8, 0.0, 255.0)]
)
def test_stretch_table_equals_stretch_of_the_float32_values(
    dtype: type, low: float, high: float
) -> None:
    """Looking each integer up gives what stretching its float32 value gives."""
    info = np.iinfo(dtype)
    values = np.arange(info.max + 1, dtype=np.int64).astype(dtype).reshape(1, -1)
    table = render._stretch_table(np.dtype(dtype).itemsize, low, high)
    assert np.array_equal(table[values], render._stretch(values.astype(np.float32), low, high))


def test_unclipped_brightness_equals_clipped_where_the_extremes_map_within_unit() -> None:
    from eoinstruct.pipeline.io.brightness import maps_within_unit, unit_brightness
    from eoinstruct.pipeline.quality.scores import _MONOTONE

    rng = np.random.default_rng(5)
    spans = {"uint8": (0, 300), "reflectance_1e4": (0, 12_000), "reflectance": (-0.2, 1.3)}
    spans |= {"sar_db": (-40, 10), "radiance": (0, 30), "normalized_radiance": (0, 80)}
    spans |= {"kelvin": (240, 340)}
    assert set(spans) == set(_MONOTONE)
    inside = outside = 0
    for encoding, (lo, hi) in spans.items():
        for _ in range(40):
            a, b = sorted(rng.uniform(lo, hi, 2))
            values = rng.uniform(a, b, 500).astype(np.float32)
            if encoding in ("uint8", "reflectance_1e4"):
                values = np.round(values)
            low, high = float(values.min()), float(values.max())
            clipped = unit_brightness(values, encoding)
            if maps_within_unit(low, high, encoding):
                inside += 1
                raw = unit_brightness(values, encoding, clip=False)
                assert raw.dtype == clipped.dtype and raw.tobytes() == clipped.tobytes()
            else:
                outside += 1
                assert not np.array_equal(clipped, unit_brightness(values, encoding, clip=False))
    assert inside > 20 and outside > 20
    assert not maps_within_unit(1.0, 2.0, "sar_linear")


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "int16", "float32"])
@pytest.mark.parametrize("repeats", [1, 2, 4, 9, 16, 36])
def test_spread_repeats_each_value_in_order(dtype: str, repeats: int) -> None:
    from eoinstruct.pipeline.quality.histograms import _spread

    rng = np.random.default_rng(repeats)
    info = np.iinfo(dtype) if dtype != "float32" else np.finfo(dtype)
    coarse = np.sort(rng.uniform(info.min, info.max, 50)).astype(dtype)
    coarse[[0, -1]] = info.min, info.max  # the extremes of the dtype: no carry across lanes
    row = np.empty(coarse.size * repeats, dtype=dtype)
    _spread(row, coarse, repeats)
    np.testing.assert_array_equal(row, np.repeat(coarse, repeats))
