"""Write a tiny TreeSatAI archive in the real layout, with synthetic pixels.

What is real (``shared/docs/source-formats.md`` §10; torchgeo ``datasets/treesatai.py`` and its
fixture ``tests/data/treesatai``, read in ``shared/peer-data``): the folders ``aerial/60m``,
``s1/60m``, ``s2/60m`` with one GeoTIFF per patch under the same name
``<Species>_<n>_<id>_<site>.tif``; aerial images of 4 uint8 bands IR, G, B, R in EPSG:25832 at
0.2 m; Sentinel-2 patches of 12 uint16 bands and Sentinel-1 patches of 3 float32 bands (nodata
−9999) in EPSG:32632 at 10 m; ``labels/TreeSatBA_v9_60m_multi_labels.json`` mapping each name to
``[[genus, fraction], …]``; ``train_filenames.lst`` and ``test_filenames.lst``.

What is synthetic: every pixel (tree crowns on a darker floor, bright in near infrared; fewer
crowns on cleared ground), the patch ids, and the label fractions. Positions are forest areas
of Lower Saxony (Solling, Harz, Lüneburg Heath), where the archive's patches lie. Aerial patches
are 304 × 304 px (60 m at 0.2 m), deflate-compressed.

Good units: :data:`GOOD` (6 patches: 5 train, 1 test). Deliberately bad units
(:data:`BAD_UNITS`):

====================================================  ==================  =====================
unit                                                  what is wrong       failure kind
====================================================  ==================  =====================
``Abies_alba_2_90002_WEFL_NLF.tif``                   no aerial file      ``missing_file``
``Betula_spec._1_90003_WEFL_NLF.tif``                 3-band aerial file  ``missing_band``
``Larix_decidua_4_90004_BI_NLF.tif``                  not in the JSON     ``malformed_label``
``Tilia_spec._2_90005_WEFL_NLF.tif``                  fractions sum 1.3   ``malformed_label``
``Populus_spec._3_90006_WEFL_NLF.tif``                truncated GeoTIFF   ``corrupt_raster``
====================================================  ==================  =====================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.transform import from_origin

from eoinstruct.sources.geo import from_lonlat
from eoinstruct.sources.treesatai.adapter import AERIAL_DIR, LABELS_FILE, SPLIT_LISTS
from eoinstruct.sources.treesatai.genera import CONIFERS

SIZE = 304
"""Aerial patch width and height in pixels (60 m at 0.2 m)."""

GSD = 0.2


@dataclass(frozen=True)
class PatchSpec:
    """One patch: file name, labels, split and position (lon, lat of the upper-left corner)."""

    name: str
    labels: tuple[tuple[str, float], ...]
    split: str
    lon: float
    lat: float


GOOD: tuple[PatchSpec, ...] = (
    PatchSpec(
        "Fagus_sylvatica_1_10021_WEFL_NLF.tif",
        (("Fagus", 0.8213), ("Quercus", 0.1787)),
        "train",
        9.5803,
        51.7321,
    ),
    PatchSpec("Picea_abies_2_10388_BI_NLF.tif", (("Picea", 1.0),), "train", 10.5612, 51.7914),
    PatchSpec(
        "Pinus_sylvestris_3_11207_WEFL_NLF.tif",
        (("Pinus", 0.6402), ("Betula", 0.2211), ("Cleared", 0.1387)),
        "train",
        10.0711,
        53.1702,
    ),
    PatchSpec(
        "Quercus_robur_1_12046_WEFL_NLF.tif",
        (("Quercus", 0.5517), ("Fagus", 0.3106), ("Acer", 0.1377)),
        "train",
        9.6118,
        51.7045,
    ),
    PatchSpec(
        "Pseudotsuga_menziesii_2_12770_BI_NLF.tif",
        (("Pseudotsuga", 0.4631), ("Larix", 0.3048), ("Picea", 0.2321)),
        "train",
        10.6035,
        51.8207,
    ),
    PatchSpec(
        "Alnus_spec._1_13502_WEFL_NLF.tif",
        (("Alnus", 0.7128), ("Fraxinus", 0.2872)),
        "test",
        10.1423,
        53.2211,
    ),
)
"""The good patches (positions: forests of Solling, Harz and Lüneburg Heath)."""

BAD: tuple[PatchSpec, ...] = (
    PatchSpec("Abies_alba_2_90002_WEFL_NLF.tif", (("Abies", 1.0),), "train", 9.59, 51.74),
    PatchSpec("Betula_spec._1_90003_WEFL_NLF.tif", (("Betula", 1.0),), "train", 10.08, 53.18),
    PatchSpec("Larix_decidua_4_90004_BI_NLF.tif", (("Larix", 1.0),), "train", 10.57, 51.80),
    PatchSpec(
        "Tilia_spec._2_90005_WEFL_NLF.tif", (("Tilia", 0.8), ("Acer", 0.5)), "test", 9.62, 51.71
    ),
    PatchSpec("Populus_spec._3_90006_WEFL_NLF.tif", (("Populus", 1.0),), "train", 10.15, 53.23),
)

BAD_UNITS: dict[str, str] = {
    "Abies_alba_2_90002_WEFL_NLF.tif": "missing_file",
    "Betula_spec._1_90003_WEFL_NLF.tif": "missing_band",
    "Larix_decidua_4_90004_BI_NLF.tif": "malformed_label",
    "Tilia_spec._2_90005_WEFL_NLF.tif": "malformed_label",
    "Populus_spec._3_90006_WEFL_NLF.tif": "corrupt_raster",
}
"""Bad unit → the failure kind the adapter must report."""

GOOD_UNITS: tuple[str, ...] = tuple(p.name for p in GOOD)


def _smooth(rng: np.random.Generator, size: int, cell: int) -> np.ndarray:
    coarse = rng.random((size // cell + 2, size // cell + 2))
    fine = np.kron(coarse, np.ones((cell, cell)))[:size, :size]
    kernel = np.ones(cell) / cell
    fine = np.stack([np.convolve(r, kernel, mode="same") for r in fine])
    return np.stack([np.convolve(c, kernel, mode="same") for c in fine.T]).T


def _aerial(spec: PatchSpec, rng: np.random.Generator, bands: int = 4) -> np.ndarray:
    """IR, G, B, R uint8: crowns (radius by genus group) on a darker floor; cleared share bare."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    crowns = np.zeros((SIZE, SIZE))
    shares = dict(spec.labels)
    cleared = shares.get("Cleared", 0.0)
    conifer = spec.name.split("_")[0] in CONIFERS
    n = int((420 if conifer else 260) * (1 - cleared))
    for _ in range(n):
        cx, cy = rng.uniform(0, SIZE, 2)
        if cleared and cx < SIZE * cleared:
            continue
        radius = rng.uniform(7, 11) if conifer else rng.uniform(10, 17)
        x0, x1 = max(int(cx - radius), 0), min(int(cx + radius) + 2, SIZE)
        y0, y1 = max(int(cy - radius), 0), min(int(cy + radius) + 2, SIZE)
        window = (slice(y0, y1), slice(x0, x1))
        crown = np.clip(1 - np.hypot(xx[window] - cx, yy[window] - cy) / radius, 0, 1)
        crowns[window] = np.maximum(crowns[window], crown)
    texture = _smooth(rng, SIZE, 16)
    vegetation = 0.35 + 0.65 * crowns
    ir = 70 + 150 * vegetation + 20 * texture
    g = 45 + 45 * vegetation + 15 * texture
    b = 35 + 20 * vegetation + 10 * texture
    r = 40 + 25 * vegetation + 15 * texture
    if cleared:
        bare = xx < SIZE * cleared
        ir, g, b, r = (np.where(bare, v, c) for v, c in ((110, ir), (95, g), (80, b), (105, r)))
    stack = np.stack([ir, g, b, r]) + rng.normal(0, 3, (4, SIZE, SIZE))
    return np.clip(np.round(stack), 0, 255).astype(np.uint8)[:bands]


def _write_tif(
    path: Path, array: np.ndarray, crs: str, transform: Affine, nodata: float | None = None
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=array.shape[2],
        height=array.shape[1],
        count=array.shape[0],
        dtype=array.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress="deflate",
    ) as ds:
        ds.write(array)


def _write_patch(root: Path, spec: PatchSpec, rng: np.random.Generator, bands: int = 4) -> None:
    x, y = from_lonlat(spec.lon, spec.lat, "EPSG:25832")
    x, y = round(x, 1), round(y, 1)
    _write_tif(
        root / AERIAL_DIR / spec.name,
        _aerial(spec, rng, bands),
        "EPSG:25832",
        from_origin(x, y, GSD, GSD),
    )
    s2 = rng.integers(100, 3000, (12, 6, 6)).astype(np.uint16)
    _write_tif(root / "s2/60m" / spec.name, s2, "EPSG:32632", from_origin(x, y, 10, 10))
    s1 = rng.uniform(-20, 0, (3, 6, 6)).astype(np.float32)
    _write_tif(root / "s1/60m" / spec.name, s1, "EPSG:32632", from_origin(x, y, 10, 10), -9999.0)


def write(root: Path, seed: int) -> None:
    """Write the sample archive under ``root`` (replacing what is there).

    Args:
        root: Target folder (``data/sample/treesatai``).
        seed: Seed of the synthetic pixels.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for spec in GOOD:
        _write_patch(root, spec, rng)
    kinds = BAD_UNITS
    for spec in BAD:
        kind = kinds[spec.name]
        if kind == "missing_file":
            continue
        _write_patch(root, spec, rng, bands=3 if kind == "missing_band" else 4)
        if kind == "corrupt_raster":
            path = root / AERIAL_DIR / spec.name
            path.write_bytes(path.read_bytes()[:300])
    labels = {
        s.name: [[genus, fraction] for genus, fraction in s.labels]
        for s in (*GOOD, *BAD)
        if BAD_UNITS.get(s.name) != "malformed_label" or s.name.startswith("Tilia")
    }
    (root / LABELS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / LABELS_FILE).write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")
    for split, file in SPLIT_LISTS.items():
        names = [s.name for s in (*GOOD, *BAD) if s.split == split]
        (root / file).write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
