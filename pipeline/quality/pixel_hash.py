"""The pixel hash that exact de-duplication compares (:func:`pixel_sha256`).

Split off :mod:`eoinstruct.pipeline.quality.scores`, which re-exports it.
"""

from __future__ import annotations

import hashlib

import numpy as np

from eoinstruct.pipeline.io.rasters import native_pixels


def pixel_sha256(array: np.ndarray) -> str:
    """Return a SHA-256 of a decoded pixel array: its shape and its values in a canonical form.

    Hashing decoded pixel values rather than file bytes makes the same pixels in two
    containers (a GeoTIFF and a PNG, or one dataset of a shared HDF5 file) hash alike, and two
    samples referencing different datasets of one HDF5 file hash apart. The canonical form
    depends on the values only, never on the array's dtype: where every value is an integer in
    0–65535 (a PNG's uint8, a GeoTIFF's uint16, a float array holding such integers) the
    values are hashed as little-endian ``uint16`` (half the bytes of float32: the integer
    images of the triple filter, e.g. Sentinel-2, cost half), otherwise as float32; the shape
    and a tag of the form (``u2``/``f4``) come first. Equal values hash alike; different
    values apart (float32 and uint16 are exact for these integers).

    Args:
        array: A ``(bands, height, width)`` array.

    Returns:
        The hex digest.
    """
    canonical = _uint16_values(array)
    tag = "u2" if canonical is not None else "f4"
    digest = hashlib.sha256(f"{tuple(array.shape)!r}:{tag}".encode())
    if canonical is None:
        canonical = np.ascontiguousarray(array, dtype="<f4")  # a view where already float32
    digest.update(canonical.data)
    return digest.hexdigest()


def _uint16_values(array: np.ndarray) -> np.ndarray | None:
    """``array``'s values as contiguous little-endian uint16, or None where one is not such.

    Free for the integers an image was read as (:func:`native_pixels`, unsigned of at most
    16 bits); other arrays are checked: every value an integer within 0–65535 (NaN is not).
    """
    native = native_pixels(array)
    source = array if native is None else native
    if source.size == 0:
        return None
    if source.dtype.kind == "u" and source.dtype.itemsize <= 2:
        return np.ascontiguousarray(source, dtype="<u2")
    if source.dtype.kind not in "uif":
        return None
    low, high = source.min(), source.max()
    if not (low >= 0 and high <= 65535):  # NaN compares False
        return None
    if source.dtype.kind == "f" and not np.array_equal(np.floor(source), source):
        return None
    return np.ascontiguousarray(source, dtype="<u2")
