"""Write a tiny STARCOP dataset (AVIRIS-NG methane events) in the real layout, synthetic pixels.

What is real (``shared/docs/source-formats.md`` section 6; spaceml-org/STARCOP
``notebooks/dataset_exploration.ipynb``, ``starcop/data/sampling_dataset.py``,
``starcop/data/aviris.py``, ``starcop/data/feature_extration.py``,
``starcop/process_aviris.py``):

- the tree: split CSVs ``train.csv`` and ``test.csv`` at the root beside one folder per event
  id, each holding the 20 files of the release: ``TOA_AVIRIS_{460,550,640,2004,2109,2310,
  2350,2360}nm.tif``, ``TOA_WV3_SWIR1..8.tif``, ``mag1c.tif``, ``weight_mag1c.tif``,
  ``labelbinary.tif`` and ``label_rgba.tif``;
- the raster profile of georeader's ``save_cog``: single-band (``label_rgba``: 4 bands, band
  descriptions ``r g b a``) cloud-optimised GeoTIFFs, 128-pixel blocks, LZW (the COG
  driver's default), band description = product name; float32 products with nodata 0, uint8
  ``labelbinary`` without nodata; UTM zone 13N (EPSG:32613), the Permian Basin's zone;
- the CSV columns and their order (``id`` first, as pandas writes an ``id`` index), the value
  formats (``date`` ``18/10/2019``, ``datetime`` ``2019-10-18 14:44:05+00:00``, ``has_plume``
  ``True``/``False``, ``window_labels`` ``Window(col_off=…)``), ids
  ``<flight line>_r<row>_c<col>_w<w>_h<h>``, ``folder`` the authors' stale
  ``/AVIRISNG/Permian2019/<id>`` path; plume-free rows have ``qplume`` 0.0 and empty
  ``candidate_id``/``label_path``; ``difficulty`` is ``easy`` for plumes of ≥ 1000 kg/h,
  ``hard`` below, and ``hard``/``random`` for plume-free tiles; flights of 2019-10-18/21/25
  are ``test``, the others ``train``. The first event's id, candidate, qplume and times are
  those of the first row of the real ``test_mini10.csv``, and so are the bad event
  ``ang20191025t165545_r6573_c24_w151_h151``'s;
- the physics of the values: TOA bands are normalised radiance π·L·d²/cos θs in
  µW cm⁻² nm⁻¹ (reflectance × 100 × solar irradiance: 20–40 in the visible, 1–4 in the SWIR);
  ``mag1c`` is a non-negative enhancement in ppm·m, integer-valued here; ``weight_mag1c`` is
  clip(mag1c / 400, 0.1, 1); ``labelbinary`` is 1 where the plume's mag1c is ≥ 200 ppm·m
  within the annotation, and ``label_rgba``'s alpha marks that annotation; WV3 bands are TOA
  reflectance.

What is synthetic: every pixel (bare-soil/shrub mixtures with caliche well pads and a road,
solar spectra and transmittances rounded from textbook values, a Gaussian plume from a source
pixel along a wind direction with mag1c background noise and column striping, methane
absorption of a few per cent in the 2310–2360 nm bands), the ids and CSV values other than the
two real rows named above, ``label_path`` and ``window_labels`` of plume-free rows (left
empty), the 3 m pixel size (UNVERIFIED), and the places. Tiles are **64 x 64** pixels instead
of the real 512 x 512, and the CSV's ``window_width``/``window_height`` say 64 to match; values
are rounded (TOA to 1/256, reflectance to 1/1024, mag1c to 1 ppm·m) so that LZW keeps the
corpus at about 1 MB.

Events: :data:`GOOD_EVENTS` (two plumes, one strong in ``test.csv`` and one weak in
``train.csv``; two plume-free tiles, a ``hard`` one with a mag1c confounder over a well pad and
a ``random`` one) and the deliberately bad :data:`BAD_EVENTS`, on which other stages rely by
name:

- ``ang20191025t165545_r6573_c24_w151_h151``: ``mag1c.tif`` is missing → ingest fails
  ``missing_file``.
- ``ang20190930t171842_r4410_c305_w151_h151``: its ``train.csv`` row has ``qplume`` ``~1200``
  → ingest fails ``bad_metadata``.
- ``ang20191021t160052_r8192_c0_w512_h512``: the tile lies on the flight line's edge; a wedge
  of 30 % of its pixels is nodata (0) in every product → dropped later as ``low_coverage``.

Same seed, byte-identical files (one ``numpy.random.default_rng([seed, i])`` per event, no
timestamps in the GeoTIFFs or CSVs).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import Affine

from eoinstruct.sources.starcop.adapter import RELEASE_BANDS_NM

SIZE = 64
"""Width and height of every raster (the real tiles are 512 x 512)."""

GSD_M = 3.0
"""Pixel size in metres (UNVERIFIED for the real flights; about 3 m)."""

EPSG = 32613
"""UTM zone 13N, the zone of the Delaware (western Permian) Basin."""

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "candidate_id",
    "qplume",
    "name",
    "folder",
    "date",
    "datetime",
    "window_col_off",
    "window_row_off",
    "window_width",
    "window_height",
    "subset",
    "difficulty",
    "label_path",
    "has_plume",
    "window_labels",
)
"""Columns of the release CSVs, in their order."""

PLUME_WINDOW_LABELS = "Window(col_off=-180, row_off=-180, width=512, height=512)"
"""``window_labels`` of every plume row of the real test CSV."""

WV3_BANDS_NM: tuple[int, ...] = (1210, 1570, 1660, 1730, 2165, 2205, 2260, 2330)
"""Centre wavelengths of WorldView-3 SWIR1..8 (``starcop/data/aviris.py`` comment)."""

_SOLAR_100: dict[int, float] = {
    460: 202.0,
    550: 186.0,
    640: 163.0,
    2004: 11.8,
    2109: 9.7,
    2310: 7.2,
    2350: 6.7,
    2360: 6.6,
}
"""Solar irradiance × 100 (µW cm⁻² nm⁻¹), rounded."""

_TRANSMITTANCE: dict[int, tuple[float, float]] = {
    460: (0.70, 0.035),
    550: (0.78, 0.020),
    640: (0.83, 0.012),
    2004: (0.55, 0.0),
    2109: (0.85, 0.0),
    2310: (0.84, 0.0),
    2350: (0.80, 0.0),
    2360: (0.78, 0.0),
}
"""(Two-way transmittance, path reflectance) per band: TOA = E·(t·ρ + path)."""

_CH4_PER_PPM_M: dict[int, float] = {2109: 2e-6, 2310: 1.2e-5, 2350: 2.4e-5, 2360: 2.0e-5}
"""Fractional radiance loss per ppm·m of methane enhancement (synthetic)."""

# Surface reflectance of (bare soil, shrub, caliche pad) per AVIRIS band / WV3 band.
_SOIL = {460: 0.14, 550: 0.20, 640: 0.26, 2004: 0.33, 2109: 0.33, 2310: 0.29, 2350: 0.28}
_SOIL |= {2360: 0.28}
_SHRUB = {460: 0.06, 550: 0.09, 640: 0.10, 2004: 0.20, 2109: 0.19, 2310: 0.14, 2350: 0.13}
_SHRUB |= {2360: 0.13}
_PAD = {460: 0.30, 550: 0.36, 640: 0.40, 2004: 0.44, 2109: 0.43, 2310: 0.39, 2350: 0.38}
_PAD |= {2360: 0.38}
_WV3 = {
    1210: (0.36, 0.25, 0.45),
    1570: (0.40, 0.28, 0.47),
    1660: (0.41, 0.28, 0.47),
    1730: (0.40, 0.27, 0.46),
    2165: (0.33, 0.16, 0.42),
    2205: (0.31, 0.15, 0.41),
    2260: (0.30, 0.14, 0.40),
    2330: (0.28, 0.13, 0.38),
}


@dataclass(frozen=True)
class EventSpec:
    """An event (one CSV row and its folder) of the sample corpus.

    Attributes:
        event_id: The id, ``<flight line>_r<row>_c<col>_w<w>_h<h>``.
        csv: The CSV listing it (``train.csv`` or ``test.csv``).
        qplume: ``qplume`` as written in the CSV (kg/h).
        difficulty: ``easy``, ``hard`` or ``random``.
        candidate: Plume candidate number (``<flight line>-<n>``); 0 for plume-free tiles.
        x0: UTM 13N easting of the tile's top-left corner.
        y0: UTM 13N northing of the tile's top-left corner.
        source: Plume source pixel (column, row) and wind direction (degrees, image
            coordinates, 0 = towards +x); ``None`` for plume-free tiles.
        peak: Peak methane enhancement of the plume in ppm·m.
        confounder: Plume-free tile with a mag1c false positive over a well pad.
        swath_edge: A wedge of the tile lies outside the flight line (nodata).
    """

    event_id: str
    csv: str
    qplume: str
    difficulty: str
    candidate: int
    x0: float
    y0: float
    source: tuple[float, float, float] | None = None
    peak: float = 0.0
    confounder: bool = False
    swath_edge: bool = False

    @property
    def name(self) -> str:
        """The flight line, ``angYYYYMMDDtHHMMSS``."""
        return self.event_id.split("_")[0]

    @property
    def has_plume(self) -> bool:
        """Whether the tile holds an annotated plume."""
        return self.source is not None

    @property
    def subset(self) -> str:
        """``train`` or ``test``, from the CSV name."""
        return self.csv.removesuffix(".csv")


GOOD_EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "ang20191018t144405_r2674_c436_w151_h151", "test.csv", "6957.15116", "easy", 3,
        588_900.0, 3_551_700.0, source=(20.0, 38.0, -25.0), peak=4200.0,
    ),
    EventSpec(
        "ang20190927t153023_r3391_c212_w151_h151", "train.csv", "612.40393", "hard", 2,
        611_400.0, 3_538_200.0, source=(30.0, 22.0, 70.0), peak=1500.0,
    ),
    EventSpec(
        "ang20190922t162506_r2048_c0_w512_h512", "train.csv", "0.0", "hard", 0,
        574_200.0, 3_566_400.0, confounder=True,
    ),
    EventSpec(
        "ang20191021t173221_r6144_c256_w512_h512", "test.csv", "0.0", "random", 0,
        629_700.0, 3_521_100.0,
    ),
)  # fmt: skip
"""Events every stage reads successfully and the filter keeps."""

BAD_MISSING_MAG1C = "ang20191025t165545_r6573_c24_w151_h151"
BAD_QPLUME = "ang20190930t171842_r4410_c305_w151_h151"
BAD_SWATH_EDGE = "ang20191021t160052_r8192_c0_w512_h512"

BAD_EVENTS: dict[str, str] = {
    BAD_MISSING_MAG1C: "ingest failure missing_file (mag1c.tif is missing)",
    BAD_QPLUME: "ingest failure bad_metadata (qplume '~1200' in train.csv)",
    BAD_SWATH_EDGE: "dropped low_coverage (30 % of the tile is nodata)",
}
"""Deliberately bad events → what they should cause."""

_BAD_SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        BAD_MISSING_MAG1C, "test.csv", "5637.00737", "easy", 4, 602_100.0, 3_547_500.0,
        source=(24.0, 30.0, 160.0), peak=3900.0,
    ),
    EventSpec(
        BAD_QPLUME, "train.csv", "~1200", "easy", 5, 583_500.0, 3_529_800.0,
        source=(18.0, 40.0, 10.0), peak=2500.0,
    ),
    EventSpec(
        BAD_SWATH_EDGE, "test.csv", "0.0", "random", 0, 640_800.0, 3_559_200.0,
        swath_edge=True,
    ),
)  # fmt: skip

ALL_EVENTS: tuple[EventSpec, ...] = GOOD_EVENTS + _BAD_SPECS
"""Every event, in the order the writer draws their random streams."""


def transform_of(spec: EventSpec) -> Affine:
    """Return the north-up affine transform of an event's rasters.

    Args:
        spec: The event.

    Returns:
        ``GSD_M``-metre pixels from the top-left corner ``(x0, y0)`` in EPSG:32613.
    """
    return Affine(GSD_M, 0.0, spec.x0, 0.0, -GSD_M, spec.y0)


def acquisition(spec: EventSpec) -> str:
    """Return the flight line's start time as the CSV's ``datetime`` writes it.

    Args:
        spec: The event.

    Returns:
        ``YYYY-MM-DD hh:mm:ss+00:00``.
    """
    n = spec.name
    return f"{n[3:7]}-{n[7:9]}-{n[9:11]} {n[12:14]}:{n[14:16]}:{n[16:18]}+00:00"


def write(root: Path, seed: int) -> None:
    """Write the sample corpus.

    Args:
        root: Folder to create (the dataset root: CSVs and event folders).
        seed: Seed of every random draw.
    """
    root.mkdir(parents=True, exist_ok=True)
    for index, spec in enumerate(ALL_EVENTS):
        _write_event(root / spec.event_id, spec, np.random.default_rng([seed, index]))
    for name in ("test.csv", "train.csv"):
        rows = sorted((s for s in ALL_EVENTS if s.csv == name), key=lambda s: s.event_id)
        (root / name).write_bytes(_csv_text(rows).encode("utf-8"))


# -- CSV ----------------------------------------------------------------------------------------


def _csv_row(spec: EventSpec) -> list[str]:
    n = spec.name
    return [
        spec.event_id,
        f"{n}-{spec.candidate}" if spec.has_plume else "",
        spec.qplume,
        n,
        f"/AVIRISNG/Permian2019/{spec.event_id}",
        f"{n[9:11]}/{n[7:9]}/{n[3:7]}",
        acquisition(spec),
        "0",
        "0",
        str(SIZE),
        str(SIZE),
        spec.subset,
        spec.difficulty,
        f"gs://starcop/Permian/permian_2019_official/{n}-{spec.candidate}.tif"
        if spec.has_plume
        else "",
        "True" if spec.has_plume else "False",
        PLUME_WINDOW_LABELS if spec.has_plume else "",
    ]


def _csv_text(specs: list[EventSpec]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for spec in specs:
        writer.writerow(_csv_row(spec))
    return buffer.getvalue()


# -- pixels -------------------------------------------------------------------------------------


def _smooth(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth noise of shape (SIZE, SIZE), roughly zero-mean and unit amplitude."""
    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((SIZE, SIZE), Image.BICUBIC))


def _dilate(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1)
    out = np.zeros_like(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out |= padded[dy : dy + SIZE, dx : dx + SIZE]
    return out


def _surface(
    spec: EventSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bare-soil fraction (shrub is the rest), caliche (pads, road) fraction and pad mask.

    A plume's source is a well pad: one pad is centred on it.
    """
    soil = np.clip(0.55 + 0.25 * _smooth(rng, 5) + 0.06 * _smooth(rng, 16), 0.05, 0.95)
    pads = np.zeros((SIZE, SIZE), dtype=bool)
    if spec.source is not None:
        sx, sy = int(spec.source[0]), int(spec.source[1])
        pads[max(sy - 3, 0) : sy + 3, max(sx - 3, 0) : sx + 3] = True
    for _ in range(int(rng.integers(2, 4))):
        x, y = (int(v) for v in rng.integers(6, SIZE - 12, size=2))
        w, h = (int(v) for v in rng.integers(4, 8, size=2))
        pads[y : y + h, x : x + w] = True
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    slope, offset = float(rng.uniform(-0.6, 0.6)), float(rng.uniform(10, SIZE - 10))
    road = np.abs(yy - (slope * (xx - SIZE / 2) + offset)) < 1.0
    caliche = (pads | road).astype(np.float32)
    return soil.astype(np.float32), caliche, pads


def _plume(spec: EventSpec, rng: np.random.Generator) -> np.ndarray:
    """Methane enhancement (ppm·m) of a Gaussian plume, zero for plume-free tiles."""
    if spec.source is None:
        return np.zeros((SIZE, SIZE), dtype=np.float32)
    sx, sy, direction = spec.source
    theta = math.radians(direction)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    along = (xx - sx) * math.cos(theta) + (yy - sy) * math.sin(theta)
    across = -(xx - sx) * math.sin(theta) + (yy - sy) * math.cos(theta)
    sigma = 1.2 + 0.22 * np.maximum(along, 0.0)
    core = np.exp(-(across**2) / (2 * sigma**2)) * (1.2 / sigma) * np.exp(-along / 45.0)
    core = np.where(along > -1.0, core, 0.0)
    puffs = np.clip(1.0 + 0.35 * _smooth(rng, 9), 0.4, 1.6)
    field = core * puffs
    return (spec.peak * field / field.max()).astype(np.float32)


def _mag1c(
    spec: EventSpec, rng: np.random.Generator, plume: np.ndarray, pads: np.ndarray
) -> np.ndarray:
    """mag1c output: background noise with column striping, the plume, a confounder."""
    stripes = rng.normal(0.0, 25.0, size=SIZE).astype(np.float32)[np.newaxis, :]
    noise = rng.normal(150.0, 65.0, size=(SIZE, SIZE)).astype(np.float32)
    values = noise + stripes + plume
    if spec.confounder:
        values += np.where(_dilate(pads), 650.0, 0.0).astype(np.float32)
    return np.clip(np.round(values), 0.0, 10_000.0).astype(np.float32)


def _edge_mask(rng: np.random.Generator) -> np.ndarray:
    """True on the 30 % of the tile outside the flight line (a diagonal wedge)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    skew = float(rng.uniform(0.3, 0.5))
    cut = np.quantile(xx + skew * yy, 0.7)
    return (xx + skew * yy) > cut


def _write_tif(path: Path, bands: np.ndarray, spec: EventSpec, nodata: float | None) -> None:
    """Write one COG like georeader's ``save_cog`` (128-pixel blocks, LZW, descriptions)."""
    data = bands if bands.ndim == 3 else bands[np.newaxis]
    descriptions = ("r", "g", "b", "a") if len(data) == 4 else (path.stem,)
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=SIZE,
        height=SIZE,
        count=len(data),
        dtype=data.dtype.name,
        crs=f"EPSG:{EPSG}",
        transform=transform_of(spec),
        nodata=nodata,
        BLOCKSIZE=128,
    ) as ds:
        ds.write(data)
        for i, description in enumerate(descriptions, start=1):
            ds.set_band_description(i, description)


def _write_event(folder: Path, spec: EventSpec, rng: np.random.Generator) -> None:
    folder.mkdir(parents=True)
    soil, caliche, pads = _surface(spec, rng)
    plume = _plume(spec, rng)
    outside = _edge_mask(rng) if spec.swath_edge else np.zeros((SIZE, SIZE), dtype=bool)
    shrub = 1.0 - soil

    def reflectance(table_soil: float, table_shrub: float, table_pad: float) -> np.ndarray:
        mixed = soil * table_soil + shrub * table_shrub
        return (1.0 - caliche) * mixed + caliche * table_pad

    grain = rng.normal(1.0, 0.012, size=(SIZE, SIZE)).astype(np.float32)
    for nm in RELEASE_BANDS_NM:
        t, path = _TRANSMITTANCE[nm]
        rho = reflectance(_SOIL[nm], _SHRUB[nm], _PAD[nm]) * grain
        toa = _SOLAR_100[nm] * (t * rho + path)
        toa *= np.exp(-_CH4_PER_PPM_M.get(nm, 0.0) * plume)
        toa = np.round(toa * 256.0) / 256.0
        toa[outside] = 0.0
        _write_tif(folder / f"TOA_AVIRIS_{nm}nm.tif", toa.astype(np.float32), spec, 0.0)
    for k, nm in enumerate(WV3_BANDS_NM, start=1):
        soil_r, shrub_r, pad_r = _WV3[nm]
        toa_r = 0.86 * reflectance(soil_r, shrub_r, pad_r) * grain
        if nm >= 2260:
            toa_r *= np.exp(-1.5e-5 * plume)
        toa_r = np.round(toa_r * 1024.0) / 1024.0
        toa_r[outside] = 0.0
        _write_tif(folder / f"TOA_WV3_SWIR{k}.tif", toa_r.astype(np.float32), spec, 0.0)

    mag1c = _mag1c(spec, rng, plume, pads)
    mag1c[outside] = 0.0
    label = (plume >= 350.0) & (mag1c >= 200.0) & ~outside
    annotated = _dilate(_dilate(plume >= 350.0)) & ~outside
    if spec.event_id != BAD_MISSING_MAG1C:
        _write_tif(folder / "mag1c.tif", mag1c, spec, 0.0)
    weight = np.clip(mag1c / 400.0, 0.1, 1.0).astype(np.float32)
    _write_tif(folder / "weight_mag1c.tif", weight, spec, None)
    _write_tif(folder / "labelbinary.tif", label.astype(np.uint8), spec, None)
    level = np.clip(plume / max(spec.peak, 1.0), 0.0, 1.0)
    rgba = np.zeros((4, SIZE, SIZE), dtype=np.uint8)
    rgba[0][annotated] = 255
    rgba[1][annotated] = np.round(255 * (1.0 - level[annotated])).astype(np.uint8)
    rgba[3][annotated] = 255
    _write_tif(folder / "label_rgba.tif", rgba, spec, 0.0)
