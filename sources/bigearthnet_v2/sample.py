"""Writer of a tiny BigEarthNet v2.0 (reBEN) dataset in the real, as-extracted layout.

What is real (``shared/docs/source-formats.md`` §2, checked against the real reBEN files in
``shared/peer-data`` §6 and §7):

- the tree ``BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_<band>.tif``,
  ``BigEarthNet-S1/<scene>/<s1_name>/<s1_name>_{VV,VH}.tif`` and
  ``Reference_Maps/<tile>/<patch_id>/<patch_id>_reference_map.tif`` beside
  ``metadata.parquet`` and ``metadata_for_patches_with_snow_cloud_or_shadow.parquet``;
- the names: tile ``S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP`` and S1 scene
  ``S1A_IW_GRDH_1SDV_20170613T165043`` (the pair of the real patches in peer data §6 and of
  135 real T33UUP rows of the companion file), patch ids with two-digit x/y, S1 names and
  v1 names without padding;
- S2: 12 bands, uint16, nodata 0, uncompressed strips, 120x120 (B02 B03 B04 B08), 60x60
  (B05 B06 B07 B8A B11 B12) and 20x20 (B01 B09); S1: VV and VH, float32 dB, no nodata,
  uncompressed, 120x120; reference map: uint16 CLC-2018 codes, nodata 0, DEFLATE with
  predictor 2, 120x120; all in EPSG:32633 on the real tile grid (x/y count 1200 m steps from
  the tile corner 300000 E, 5400000 N: the real ``…_75_43`` starts at 390000 E, 5348400 N);
- the metadata schema: the eight columns in their real order and Arrow types (``labels`` a
  list of strings, sorted by name as in every real row), ZSTD-compressed, rows sorted by
  ``patch_id``, no pandas or Arrow schema metadata (the real files are written by DuckDB);
- the companion row ``…_T33UUP_73_64`` (validation, cloud/shadow, its labels, S1 and v1
  names) is copied from the real companion file.

What is synthetic: every pixel and every other label. Each reference map is a warped Voronoi
partition of 4-5 CLC codes plausible for Upper Austria (a few with a road of code 122, which
has no 19-class equivalent, one with a block of 999, "CLC unavailable", and some with a small
round spot of another class); the 19-class labels are derived from the codes present, so
labels and map agree. The class areas cover the urban/rural rules: ``…_63_44`` is mostly
forest with one small urban spot (about 4 % urban fabric: rural), ``…_63_45`` is almost all
urban (continuous and discontinuous urban fabric, industry, green urban areas, a road and a
small pasture), ``…_62_44`` lies in between (about a quarter urban). S2 reflectances mix
vegetation, conifer, soil, urban and water spectra per class (300-3500 x 1e-4, B08 bright
over vegetation); S1 backscatter is per-class VV/VH in dB with speckle. The patch positions of
the four rows of ``metadata.parquet`` are made up.

Content (:data:`PATCHES`, :data:`SNOW_CLOUD_PATCH`): four rows in ``metadata.parquet`` (2
train, 1 validation, 1 test) and one flagged row in the companion file, each with its S2
patch, S1 patch and reference map; with the default ``include_snow_cloud: false`` the adapter
lists 8 units. Deliberately broken units (:data:`BAD_UNITS`), on which other stages rely by
name:

- ``s2/…_T33UUP_62_45``: no B8A file → ingest fails ``missing_band`` (its S1 patch is fine).
- ``s1/…_33UUP_63_45``: VV cut to its first half (header intact, pixels missing) → ingests
  (metadata only), fails ``corrupt_raster`` when pixels are read (its S2 patch is fine).

The output is deterministic: the same seed gives byte-identical files (one
``numpy.random.default_rng`` stream per patch, no timestamps). About 1.4 MB, because the
rasters have their real sizes and are uncompressed like the originals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.sources.bigearthnet_classes import CLC43, CLC43_TO_BEN19
from eoinstruct.sources.bigearthnet_v1.sample import S2_RES, patch_corners, write_band_tif

S2_DIR = "BigEarthNet-S2"
S1_DIR = "BigEarthNet-S1"
MAPS_DIR = "Reference_Maps"
METADATA_FILE = "metadata.parquet"
SNOW_CLOUD_FILE = "metadata_for_patches_with_snow_cloud_or_shadow.parquet"

S2_TILE = "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP"
"""The S2 tile folder (= patch id minus ``_<x>_<y>``)."""

S1_SCENE = "S1A_IW_GRDH_1SDV_20170613T165043"
"""The S1 scene folder (= S1 name minus ``_<tile>_<x>_<y>``)."""

S2V1_PREFIX = "S2A_MSIL2A_20170613T101031"
COUNTRY = "Austria"
SIZE = 120
"""Pixels per side of the 10 m grid."""

UNAVAILABLE = 999
"""Reference-map code where CLC data is unavailable."""

METADATA_SCHEMA = pa.schema(
    [
        ("patch_id", pa.string()),
        ("labels", pa.list_(pa.field("element", pa.string()))),
        ("split", pa.string()),
        ("country", pa.string()),
        ("s1_name", pa.string()),
        ("s2v1_name", pa.string()),
        ("contains_seasonal_snow", pa.bool_()),
        ("contains_cloud_or_shadow", pa.bool_()),
    ]
)
"""The schema of the real ``metadata.parquet`` and its companion (peer data §7)."""


@dataclass(frozen=True)
class PatchSpec:
    """One synthetic patch: its grid position, split and the CLC codes of its map.

    Attributes:
        x: Column of the patch in tile 33UUP (1200 m steps).
        y: Row of the patch in tile 33UUP.
        split: ``train``, ``validation`` or ``test``.
        codes: CLC-2018 level-3 codes the reference map is made of.
        road: Draw a road (code 122) across the map.
        unavailable: Mark a corner block 999 (CLC unavailable).
        cloud: Add a cloud and its shadow to the S2 pixels.
        snow: The row's ``contains_seasonal_snow`` flag.
        spots: ``(code, radius)`` discs of another class drawn over the map (radius in px).
    """

    x: int
    y: int
    split: str
    codes: tuple[int, ...]
    road: bool = False
    unavailable: bool = False
    cloud: bool = False
    snow: bool = False
    spots: tuple[tuple[int, float], ...] = ()

    @property
    def patch_id(self) -> str:
        """The S2 patch id (two-digit x/y)."""
        return f"{S2_TILE}_{self.x:02d}_{self.y:02d}"

    @property
    def s1_name(self) -> str:
        """The paired S1 patch name (x/y not padded)."""
        return f"{S1_SCENE}_33UUP_{self.x}_{self.y}"

    @property
    def s2v1_name(self) -> str:
        """The BigEarthNet v1.0 name of the S2 patch."""
        return f"{S2V1_PREFIX}_{self.x}_{self.y}"


PATCHES: tuple[PatchSpec, ...] = (
    PatchSpec(62, 44, "train", (112, 211, 231, 311), road=True, unavailable=True),
    PatchSpec(63, 44, "train", (312, 313, 311, 231), spots=((112, 13.0),)),
    PatchSpec(62, 45, "validation", (211, 231, 243, 512)),
    PatchSpec(63, 45, "test", (111, 112, 121, 141), road=True, spots=((231, 10.0),)),
)
"""The rows of ``metadata.parquet``."""

SNOW_CLOUD_PATCH = PatchSpec(73, 64, "validation", (112, 211, 231, 243, 312), cloud=True)
"""The row of the companion file (position, split, flags and labels of a real row)."""

BAD_MISSING_B8A = PATCHES[2].patch_id
BAD_TRUNCATED_S1 = PATCHES[3].s1_name

BAD_UNITS: dict[str, str] = {
    f"s2/{BAD_MISSING_B8A}": "ingest failure missing_band: no B8A file",
    f"s1/{BAD_TRUNCATED_S1}": "score failure corrupt_raster: VV cut to its first half",
}
"""Unit id → the outcome its defect causes."""

_ENDMEMBERS: dict[str, tuple[int, ...]] = {
    # B01  B02  B03  B04  B05  B06  B07  B08  B8A  B09  B11  B12  (reflectance x 1e4)
    "veg": (250, 300, 600, 350, 1000, 2600, 3100, 3400, 3500, 1000, 1700, 800),
    "conifer": (200, 250, 450, 250, 700, 1800, 2200, 2500, 2600, 800, 1100, 500),
    "soil": (1000, 1100, 1400, 1700, 1900, 2100, 2200, 2300, 2400, 800, 3000, 2500),
    "urban": (1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1850, 700, 2000, 1800),
    "water": (400, 500, 600, 400, 350, 300, 280, 250, 230, 100, 100, 80),
}
"""Synthetic endmember spectra, in the band order of :data:`_BANDS`."""

_BANDS: tuple[str, ...] = tuple(S2_RES)
"""B01 … B12 in file order (B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12)."""

_MIXES: dict[int, dict[str, float]] = {
    111: {"urban": 0.9, "soil": 0.1},
    112: {"urban": 0.6, "veg": 0.3, "soil": 0.1},
    121: {"urban": 0.85, "soil": 0.15},
    122: {"urban": 0.7, "soil": 0.3},
    141: {"veg": 0.7, "urban": 0.3},
    211: {"soil": 0.5, "veg": 0.5},
    231: {"veg": 0.85, "soil": 0.15},
    242: {"veg": 0.6, "soil": 0.4},
    243: {"veg": 0.7, "soil": 0.3},
    311: {"veg": 1.0},
    312: {"conifer": 1.0},
    313: {"veg": 0.5, "conifer": 0.5},
    512: {"water": 1.0},
    UNAVAILABLE: {"veg": 0.7, "soil": 0.3},
}
"""Endmember fractions of each CLC code's pixels."""

_BACKSCATTER: dict[int, tuple[float, float]] = {
    111: (-3.5, -11.5),
    112: (-5.0, -13.0),
    121: (-4.0, -12.0),
    122: (-9.0, -17.0),
    141: (-9.0, -15.5),
    211: (-12.0, -19.0),
    231: (-11.0, -18.0),
    242: (-11.0, -17.5),
    243: (-10.5, -17.0),
    311: (-8.0, -14.0),
    312: (-7.5, -13.5),
    313: (-7.8, -13.8),
    512: (-21.0, -28.0),
    UNAVAILABLE: (-10.0, -17.0),
}
"""Mean (VV, VH) backscatter in dB of each CLC code."""

_CLC_NAME = dict(CLC43)


def _smooth_field(rng: np.random.Generator, waves: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] on the 120x120 grid (sum of plane waves)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    field = np.zeros((SIZE, SIZE))
    for _ in range(waves):
        kx, ky = rng.uniform(0.4, 2.5, 2) * rng.choice([-1.0, 1.0], 2)
        phase, amp = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.0)
        field += amp * np.cos(2 * np.pi * (kx * xx + ky * yy) + phase)
    field -= field.min()
    return field / max(float(field.max()), 1e-9)


def _seeds(
    rng: np.random.Generator, count: int, spacing: float = 30.0
) -> list[tuple[float, float]]:
    """Draw ``count`` points on the grid at least ``spacing`` pixels apart."""
    points: list[tuple[float, float]] = []
    while len(points) < count:
        x, y = rng.uniform(8, SIZE - 8, 2)
        if all((x - px) ** 2 + (y - py) ** 2 >= spacing**2 for px, py in points):
            points.append((float(x), float(y)))
    return points


def reference_map(spec: PatchSpec, rng: np.random.Generator) -> np.ndarray:
    """Draw a patch's reference map: a warped Voronoi partition of its codes.

    Every code keeps the neighbourhood of its seed point (seeds are 30 px apart, the warp is
    at most 12 px), so every code of ``spec.codes`` is present unless a spot (a disc of
    ``spec.spots``) covers that neighbourhood; labels are read from the finished map, so they
    agree with it either way.

    Args:
        spec: The patch.
        rng: Its random stream.

    Returns:
        A 120x120 uint16 array of CLC codes (and 999 where ``spec.unavailable``).
    """
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    distances = [
        np.hypot(xx - sx, yy - sy) + 12.0 * _smooth_field(rng)
        for sx, sy in _seeds(rng, len(spec.codes))
    ]
    codes = np.asarray(spec.codes, dtype=np.uint16)[np.argmin(np.stack(distances), axis=0)]
    for code, radius in spec.spots:
        cx, cy = rng.uniform(radius + 4, SIZE - radius - 4, 2)
        codes[np.hypot(xx - cx, yy - cy) <= radius] = code
    if spec.road:
        slope, offset = rng.uniform(-0.6, 0.6), rng.uniform(30, 90)
        codes[np.abs(yy - (offset + slope * (xx - SIZE / 2))) < 1.2] = 122
    if spec.unavailable:
        codes[:6, SIZE - 20 :] = UNAVAILABLE
    return np.asarray(codes, dtype=np.uint16)


def labels_of(codes: np.ndarray) -> list[str]:
    """Return the 19-class labels of the codes in a reference map, sorted by name.

    Args:
        codes: A reference map.

    Returns:
        The names of the 19-class equivalents of the codes present (codes without one, and
        999, give none).
    """
    names = {_CLC_NAME.get(int(c), "") for c in np.unique(codes)}
    return sorted({CLC43_TO_BEN19[n] for n in names if n in CLC43_TO_BEN19})


def _block_mean(array: np.ndarray, factor: int) -> np.ndarray:
    """Downsample a square array by averaging ``factor``x``factor`` blocks."""
    n = array.shape[0] // factor
    return np.asarray(array.reshape(n, factor, n, factor).mean(axis=(1, 3)), dtype=float)


def _s2_bands(
    codes: np.ndarray, spec: PatchSpec, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Make the 12 uint16 bands of an S2 patch from its reference map."""
    texture = 0.85 + 0.3 * _smooth_field(rng, waves=6)
    spectra = np.zeros((len(_BANDS), SIZE, SIZE))
    for code in np.unique(codes):
        mask = codes == code
        spectrum = sum(
            frac * np.asarray(_ENDMEMBERS[name], dtype=float)
            for name, frac in _MIXES[int(code)].items()
        )
        spectra[:, mask] = np.asarray(spectrum)[:, None]
    spectra *= texture
    spectra += rng.normal(0, 20, spectra.shape)
    if spec.cloud:
        yy, xx = np.mgrid[0:SIZE, 0:SIZE]
        cx, cy = rng.uniform(30, 70, 2)
        cloud = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 14.0**2))
        shadow = np.exp(-((xx - cx - 16) ** 2 + (yy - cy - 12) ** 2) / (2 * 14.0**2))
        spectra = spectra * (1 - 0.6 * shadow)
        spectra = (1 - 0.85 * cloud) * spectra + 0.85 * cloud * 5500
    bands: dict[str, np.ndarray] = {}
    for i, band in enumerate(_BANDS):
        data = _block_mean(spectra[i], S2_RES[band] // 10)
        bands[band] = np.rint(np.clip(data, 1, 10000)).astype(np.uint16)
    return bands


def _s1_bands(codes: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Make the float32 VV and VH bands (dB) of an S1 patch from its reference map."""
    vv = np.zeros((SIZE, SIZE))
    vh = np.zeros((SIZE, SIZE))
    for code in np.unique(codes):
        mask = codes == code
        vv[mask], vh[mask] = _BACKSCATTER[int(code)]
    relief = 2.0 * (_smooth_field(rng) - 0.5)
    vv = vv + relief + rng.normal(0, 1.2, (SIZE, SIZE))
    vh = vh + relief + rng.normal(0, 1.2, (SIZE, SIZE))
    return {"VV": vv.astype(np.float32), "VH": vh.astype(np.float32)}


def _write_tif(
    path: Path,
    array: np.ndarray,
    spec: PatchSpec,
    res: int,
    nodata: float | None = None,
    deflate: bool = False,
) -> None:
    """Write one single-band GeoTIFF on the patch's grid in EPSG:32633."""
    ulx, uly, _, _ = patch_corners(spec.x, spec.y)
    write_band_tif(path, array, ulx, uly, res, nodata=nodata, deflate=deflate)


def _write_patch(root: Path, spec: PatchSpec, rng: np.random.Generator) -> list[str]:
    """Write the S2 bands, S1 bands and reference map of one patch; return its labels."""
    codes = reference_map(spec, rng)
    patch_id = spec.patch_id
    s2_folder = root / S2_DIR / S2_TILE / patch_id
    for band, data in _s2_bands(codes, spec, rng).items():
        if patch_id == BAD_MISSING_B8A and band == "B8A":
            continue
        _write_tif(s2_folder / f"{patch_id}_{band}.tif", data, spec, S2_RES[band], nodata=0)
    s1_folder = root / S1_DIR / S1_SCENE / spec.s1_name
    for band, data in _s1_bands(codes, rng).items():
        _write_tif(s1_folder / f"{spec.s1_name}_{band}.tif", data, spec, 10)
    map_path = root / MAPS_DIR / S2_TILE / patch_id / f"{patch_id}_reference_map.tif"
    _write_tif(map_path, codes, spec, 10, nodata=0, deflate=True)
    if spec.s1_name == BAD_TRUNCATED_S1:
        vv = s1_folder / f"{spec.s1_name}_VV.tif"
        content = vv.read_bytes()
        vv.write_bytes(content[: len(content) // 2])
    return labels_of(codes)


def _write_metadata(path: Path, rows: list[tuple[PatchSpec, list[str]]]) -> None:
    """Write a metadata table in the real schema, rows sorted by patch id."""
    rows = sorted(rows, key=lambda r: r[0].patch_id)
    table = pa.Table.from_pylist(
        [
            {
                "patch_id": spec.patch_id,
                "labels": labels,
                "split": spec.split,
                "country": COUNTRY,
                "s1_name": spec.s1_name,
                "s2v1_name": spec.s2v1_name,
                "contains_seasonal_snow": spec.snow,
                "contains_cloud_or_shadow": spec.cloud,
            }
            for spec, labels in rows
        ],
        schema=METADATA_SCHEMA,
    )
    pq.write_table(table, path, compression="zstd", store_schema=False)


def write(root: Path, seed: int) -> None:
    """Write the tiny reBEN dataset under ``root`` (created if needed).

    Args:
        root: Output folder; it will hold ``BigEarthNet-S2/``, ``BigEarthNet-S1/``,
            ``Reference_Maps/``, ``metadata.parquet`` and the snow/cloud companion file.
        seed: Seed of the pixel and map draws; the same seed gives byte-identical files.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rows = [
        (spec, _write_patch(root, spec, np.random.default_rng([seed, index])))
        for index, spec in enumerate(PATCHES)
    ]
    _write_metadata(root / METADATA_FILE, rows)
    flagged = _write_patch(root, SNOW_CLOUD_PATCH, np.random.default_rng([seed, len(PATCHES)]))
    _write_metadata(root / SNOW_CLOUD_FILE, [(SNOW_CLOUD_PATCH, flagged)])
