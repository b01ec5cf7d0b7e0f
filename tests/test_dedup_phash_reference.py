"""The perceptual hash equals its plain reference computation, bit for bit."""

from __future__ import annotations

import numpy as np
from PIL import Image

from eoinstruct.pipeline.quality import dedup


def _reference(rgb: np.ndarray) -> int:
    """The hash as first written: float64 grey expression, Pillow BOX resize of mode F."""
    grey = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).astype(np.float32)
    small = Image.fromarray(grey, mode="F").resize((32, 32), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.float64)
    low = (dedup._DCT @ pixels @ dedup._DCT.T)[:8, :8].ravel()
    return int.from_bytes(np.packbits(low > np.median(low)).tobytes(), "big")


def test_perceptual_hash_matches_reference_on_random_images() -> None:
    rng = np.random.default_rng(19)
    for index in range(400):
        side = 120 if index % 2 else int(rng.integers(1, 200))
        width = side if index % 3 else int(rng.integers(1, 200))
        rgb = rng.integers(0, 256, (3, side, width), dtype=np.uint8)
        if index % 5 == 0:  # low contrast: many ties near the median
            rgb = (rgb // 32 + int(rng.integers(0, 200))).astype(np.uint8)
        if index % 7 == 0:  # a non-contiguous view
            rgb = rgb[:, ::-1, ::-1]
        assert dedup.perceptual_hash(rgb) == _reference(rgb)
