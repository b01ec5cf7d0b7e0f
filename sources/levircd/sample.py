"""Write a tiny LEVIR-CD / LEVIR-CD+ dataset in the real layout, synthetic pixels.

What is real (:mod:`~eoinstruct.sources.levircd.files`): the authors' LEVIR-CD tree
``{train,val,test}/{A,B,label}/<split>_<n>.png`` and LEVIR-CD+'s
``LEVIR-CD+/{train,test}/{A,B,label}/<name>.png``; A is the earlier image, B the later one,
both 8-bit RGB PNGs; the label a single-channel PNG, 0 unchanged and 255 changed, marking
buildings that appeared *or* disappeared between the dates.

What is synthetic: every pixel (grass and soil texture, a road, rectangular roofs), the
LEVIR-CD+ file names (UNVERIFIED: ``0001``…), and the size: **256 x 256** pixels instead of
the real 1024 x 1024 (0.5 m either way).

Pairs (:data:`GOOD_UNITS`): changed ones, with new buildings, a demolished one and an
L-shaped one, and unchanged ones (the mask all 0: LEVIR holds such pairs), so that both
answers of "has anything changed" occur. The deliberately broken units, on which the tests rely
by name:

BAD_UNITS:

=====================  ======================================================  ==================
unit                   what is wrong                                           ingest fails
=====================  ======================================================  ==================
``train/train_3``      B is 240 x 256, A is 256 x 256 (not co-registered)      ``corrupt_raster``
``train/train_4``      ``label/train_4.png`` is missing                        ``missing_file``
``val/val_2``          mask has anti-aliased edges (0, 128, 255): not binary   ``malformed_label``
``test/test_3``        ``B/test_3.png`` is cut off half-way (truncated PNG)    ``corrupt_raster``
=====================  ======================================================  ==================

Same seed, byte-identical files (one ``numpy.random.default_rng([seed, i])`` per unit; PIL
writes no timestamps).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 256
"""Width and height of every sample image (the real ones are 1024 x 1024)."""

Box = tuple[int, int, int, int]
"""A rectangle ``(x1, y1, x2, y2)`` in pixels (x2, y2 exclusive)."""


@dataclass(frozen=True)
class Pair:
    """One pair to write: buildings in both dates, new ones, demolished ones.

    Attributes:
        group: Group folder (``train``, ``LEVIR-CD+/test``…).
        stem: File stem.
        kept: Buildings in both images (each a list of rectangles, one building).
        new: Buildings only in B.
        removed: Buildings only in A.
    """

    group: str
    stem: str
    kept: tuple[tuple[Box, ...], ...] = ()
    new: tuple[tuple[Box, ...], ...] = ()
    removed: tuple[tuple[Box, ...], ...] = ()
    faults: tuple[str, ...] = field(default=())


GOOD_UNITS: tuple[Pair, ...] = (
    Pair(
        "train",
        "train_1",
        kept=(((20, 20, 60, 50),), ((200, 30, 236, 70),)),
        new=(((90, 100, 120, 130),), ((140, 104, 170, 134),), ((30, 190, 70, 230),)),
        removed=(((180, 180, 220, 215),),),
    ),
    Pair("train", "train_2", kept=(((40, 40, 90, 80),), ((150, 150, 200, 210),))),
    Pair(
        "val",
        "val_1",
        kept=(((20, 200, 60, 240),),),
        new=(((100, 20, 180, 50), (150, 50, 180, 110)), ((200, 180, 240, 230),)),
    ),
    Pair(
        "test",
        "test_1",
        kept=(((10, 10, 50, 40),),),
        new=(((96, 96, 170, 160),), ((10, 200, 34, 224),), ((220, 20, 244, 44),)),
    ),
    Pair("test", "test_2", kept=(((30, 120, 80, 170),), ((180, 40, 230, 100),))),
    Pair(
        "LEVIR-CD+/train",
        "0001",
        kept=(((120, 20, 160, 60),),),
        new=(((20, 100, 60, 140),),),
        removed=(((180, 190, 230, 240),),),
    ),
    Pair("LEVIR-CD+/test", "0002", new=(((40, 40, 100, 90),), ((150, 160, 210, 220),))),
)
"""The readable pairs."""

BAD_UNITS: tuple[Pair, ...] = (
    Pair("train", "train_3", new=(((50, 50, 90, 90),),), faults=("size_mismatch",)),
    Pair("train", "train_4", new=(((60, 60, 100, 100),),), faults=("no_label",)),
    Pair("val", "val_2", new=(((70, 30, 120, 80),),), faults=("non_binary",)),
    Pair("test", "test_3", new=(((30, 150, 80, 200),),), faults=("truncated",)),
)
"""The deliberately broken pairs (see the module docstring)."""


def _ground(rng: np.random.Generator) -> np.ndarray:
    """Grass and bare-soil texture with a road, as float RGB (height, width, 3)."""
    grass = np.array([88.0, 120.0, 62.0])
    soil = np.array([150.0, 128.0, 100.0])
    coarse = rng.random((SIZE // 16, SIZE // 16))
    share = np.kron(coarse, np.ones((16, 16)))[:, :, None]
    image = grass * (1 - share) + soil * share + rng.normal(0.0, 6.0, (SIZE, SIZE, 3))
    road = int(rng.integers(70, 180))
    image[road : road + 10, :, :] = [118.0, 118.0, 112.0]
    return image


def _draw(image: np.ndarray, building: tuple[Box, ...], roof: np.ndarray) -> None:
    for x1, y1, x2, y2 in building:
        image[y1:y2, x1:x2, :] = roof


def _mask(buildings: tuple[tuple[Box, ...], ...]) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
    for building in buildings:
        for x1, y1, x2, y2 in building:
            mask[y1:y2, x1:x2] = 255
    return mask


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_pair(root: Path, pair: Pair, rng: np.random.Generator) -> None:
    ground = _ground(rng)
    roofs = rng.uniform(150.0, 230.0, (len(pair.kept) + len(pair.new) + len(pair.removed), 3))
    before, after = ground.copy(), ground.copy()
    # the later date: other light and season (what LEVIR wants models to ignore)
    after = after * rng.uniform(0.85, 1.0) + rng.normal(0.0, 3.0, after.shape)
    roof = iter(roofs)
    for building in pair.kept:
        colour = next(roof)
        _draw(before, building, colour)
        _draw(after, building, colour * 0.95)
    for building in pair.new:
        _draw(after, building, next(roof))
    for building in pair.removed:
        _draw(before, building, next(roof))
        # demolished: bare soil where the building stood
        _draw(after, building, np.array([160.0, 140.0, 112.0]))
    mask = _mask(pair.new + pair.removed)
    images = {
        "A": np.clip(np.round(before), 0, 255).astype(np.uint8),
        "B": np.clip(np.round(after), 0, 255).astype(np.uint8),
    }
    if "size_mismatch" in pair.faults:
        images["B"] = images["B"][:, :240, :].copy()
    if "non_binary" in pair.faults:
        m = mask > 0
        inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
        edges = m & ~np.pad(inner, 1)
        mask = np.where(edges, 128, mask).astype(np.uint8)
    files = {folder: _png(array) for folder, array in images.items()}
    if "truncated" in pair.faults:
        files["B"] = files["B"][: len(files["B"]) // 2]
    if "no_label" not in pair.faults:
        files["label"] = _png(mask)
    for folder, data in files.items():
        path = root / pair.group / folder / f"{pair.stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def write(root: Path, seed: int) -> None:
    """Write the sample dataset under ``root``.

    Args:
        root: Target folder (created).
        seed: Seed of the synthetic pixels.
    """
    root.mkdir(parents=True, exist_ok=True)
    for i, pair in enumerate((*GOOD_UNITS, *BAD_UNITS)):
        _write_pair(root, pair, np.random.default_rng([seed, i]))
