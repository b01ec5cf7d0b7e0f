"""Distinct synthetic pixels, cheaply: every unit's own field, noise and a fast PNG writer.

Every unit of :mod:`benchmarks.synthetic` draws its own :func:`unit_field` (a parcel mosaic
blended with smooth waves), so no two units are exact or near duplicates for
:mod:`eoinstruct.pipeline.quality.dedup` (their perceptual hashes lie ≥ 12 bits apart over
2,000 patches; the near-duplicate threshold is 4).
"""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np


def unit_field(rng: np.random.Generator, size: int, parcels: int = 8) -> np.ndarray:
    """One unit's own field in [0, 1]: a mosaic of ``parcels`` x ``parcels`` random fields
    blended with smooth waves, so every unit's low frequencies (its perceptual hash) differ.

    Args:
        rng: The unit's generator.
        size: Side in pixels (a multiple of ``parcels``).
        parcels: Parcels per side.

    Returns:
        The ``size x size`` field.
    """
    mosaic = np.kron(rng.uniform(0, 1, (parcels, parcels)), np.ones((size // parcels,) * 2))
    return 0.7 * mosaic + 0.3 * smooth(rng, size)


@functools.cache
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size] / size
    return yy, xx


def smooth(rng: np.random.Generator, size: int, waves: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] (sum of a few plane waves)."""
    yy, xx = _grid(size)
    out = np.zeros((size, size))
    for _ in range(waves):
        kx, ky = rng.uniform(0.4, 2.5, 2) * rng.choice([-1.0, 1.0], 2)
        out += rng.uniform(0.5, 1.0) * np.cos(2 * np.pi * (kx * xx + ky * yy) + rng.uniform(0, 6.3))
    out -= out.min()
    return out / max(float(out.max()), 1e-9)


def noise(rng: np.random.Generator, sigma: float, size: int = 120) -> np.ndarray:
    """A per-patch noise field: a rolled, flipped copy of one shared draw (cheap, distinct)."""
    shared = _sharednoise(size)
    shift = tuple(int(s) for s in rng.integers(0, size, 2))
    out = np.roll(shared, shift, axis=(0, 1))
    return (out[::-1] if rng.integers(0, 2) else out) * sigma


@functools.cache
def _sharednoise(size: int) -> np.ndarray:
    return np.random.default_rng([size, 99]).normal(0, 1.0, (size, size))


def png_rgb(array: np.ndarray) -> bytes:
    """Encode an 8-bit RGB ``(height, width, 3)`` array as a PNG (filter 0, zlib level 1).

    Any PNG decoder reads it; it is written about 4x faster than Pillow's encoder does with
    adaptive filters (the decode cost is that of any 8-bit RGB PNG of this size).

    Args:
        array: The pixels.

    Returns:
        The PNG file's bytes.
    """
    height, width, _ = array.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), array.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + chunk(b"IEND", b"")
    )
