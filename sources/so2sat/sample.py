"""Write tiny So2Sat LCZ42 files (v2 layout) with synthetic pixels.

What is real (``shared/docs/source-formats.md`` §11; torchgeo ``datasets/so2sat.py`` and its
fixture ``tests/data/so2sat``, read in ``shared/peer-data``): the files ``training.h5``,
``validation.h5`` and ``testing.h5``, each with datasets ``sen1`` (N, 32, 32, 8), ``sen2``
(N, 32, 32, 10) float64 and ``label`` (N, 17) one-hot (the fixture stores uint8 everywhere; the
real ``label`` is float64 one-hot, written so here); the 17 classes in LCZ order.

What is synthetic: every pixel. ``sen2`` holds reflectance (0–1) built from a typical spectrum
per zone (built surfaces flat and bright, vegetation with a red edge, water dark in the
infrared, bare ground rising to the SWIR) with blocky texture; ``sen1`` is noise.

Good units: :data:`GOOD_UNITS` (10 patches in ``training.h5``, 3 in ``testing.h5``; 7 built
zones, 6 natural). Deliberately bad units (:data:`BAD_UNITS`):

=====================  ============================================  ==================
unit                   what is wrong                                 failure kind
=====================  ============================================  ==================
``testing.h5:3``       label row with two 1s                         ``malformed_label``
``testing.h5:4``       label row of zeros                            ``malformed_label``
``testing.h5:5``       NaN pixels in ``sen2``                        ``corrupt_raster``
``validation.h5:0``    ``sen2`` of shape (2, 32, 32, 9)              ``missing_band``
``validation.h5:1``    (same file)                                   ``missing_band``
=====================  ============================================  ==================
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from eoinstruct.sources.so2sat.zones import ZONES

SIZE = 32

TRAINING = ("1", "2", "4", "6", "8", "10", "A", "D", "G", "E")
TESTING = ("3", "5", "B")
"""LCZ codes of the good patches of each file, in index order."""

BAD_UNITS: dict[str, str] = {
    "testing.h5:3": "malformed_label",
    "testing.h5:4": "malformed_label",
    "testing.h5:5": "corrupt_raster",
    "validation.h5:0": "missing_band",
    "validation.h5:1": "missing_band",
}
"""Bad unit → the failure kind the adapter must report."""

GOOD_UNITS: tuple[str, ...] = (
    *(f"training.h5:{i}" for i in range(len(TRAINING))),
    *(f"testing.h5:{i}" for i in range(len(TESTING))),
)

# B02 B03 B04 B05 B06 B07 B08 B8A B11 B12
_BUILT = np.array([0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.17, 0.2, 0.18])
_VEG = np.array([0.03, 0.06, 0.04, 0.1, 0.24, 0.3, 0.32, 0.34, 0.18, 0.09])
_WATER = np.array([0.06, 0.05, 0.035, 0.025, 0.015, 0.012, 0.01, 0.009, 0.005, 0.004])
_BARE = np.array([0.12, 0.15, 0.19, 0.21, 0.23, 0.24, 0.25, 0.26, 0.32, 0.28])


def _mix(code: str) -> list[tuple[np.ndarray, float]]:
    """Spectra and cover shares of a zone (built zones mix built surface and greenery)."""
    zone = next(z for z in ZONES if z.code == code)
    if zone.built:
        green = {"compact": 0.1, "open": 0.35, "sparse": 0.6, "lightweight": 0.1}.get(
            zone.form, 0.1
        )
        return [(_BUILT, 1 - green), (_VEG, green)]
    return {
        "trees": [
            (_VEG * 0.9, 0.9 if code == "A" else 0.55),
            (_BARE, 0.1 if code == "A" else 0.45),
        ],
        "bush": [(_VEG * 0.8, 0.6), (_BARE, 0.4)],
        "low plants": [(_VEG, 0.9), (_BARE, 0.1)],
        "bare": [(_BARE if code == "F" else _BUILT * 1.1, 0.95), (_VEG, 0.05)],
        "water": [(_WATER, 1.0)],
    }[zone.cover]


def _patch(code: str, rng: np.random.Generator) -> np.ndarray:
    parts = _mix(code)
    shares = np.array([s for _, s in parts])
    blocks = rng.choice(len(parts), size=(SIZE // 4, SIZE // 4), p=shares / shares.sum())
    pick = np.kron(blocks, np.ones((4, 4), dtype=int))
    spectra = np.stack([spec for spec, _ in parts])  # (k, 10)
    image: np.ndarray = spectra[pick] * rng.normal(1.0, 0.05, (SIZE, SIZE, 1))  # (32, 32, 10)
    clipped: np.ndarray = np.clip(image, 0.001, 1.0)
    return clipped.astype(np.float64)


def _one_hot(code: str) -> np.ndarray:
    row = np.zeros(len(ZONES))
    row[[z.code for z in ZONES].index(code)] = 1.0
    return row


def _write(path: Path, sen2: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("sen1", data=rng.normal(0, 0.1, (len(sen2), SIZE, SIZE, 8)))
        handle.create_dataset("sen2", data=sen2)
        handle.create_dataset("label", data=labels)


def write(root: Path, seed: int) -> None:
    """Write ``training.h5``, ``validation.h5`` and ``testing.h5`` under ``root``.

    Args:
        root: Target folder (``data/sample/so2sat``).
        seed: Seed of the synthetic pixels.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train = np.stack([_patch(c, rng) for c in TRAINING])
    _write(root / "training.h5", train, np.stack([_one_hot(c) for c in TRAINING]), rng)
    codes = (*TESTING, "9", "C", "F")
    test = np.stack([_patch(c, rng) for c in codes])
    test[5, 4:12, 4:12, :] = np.nan
    labels = np.stack([_one_hot(c) for c in codes])
    labels[3, 0] = 1.0  # a second 1 beside LCZ 9
    labels[4, :] = 0.0
    _write(root / "testing.h5", test, labels, rng)
    validation = np.stack([_patch(c, rng)[..., :9] for c in ("7", "A")])
    _write(root / "validation.h5", validation, np.stack([_one_hot("7"), _one_hot("A")]), rng)
