"""Write a tiny QuakeSet ``earthquakes.h5`` in the real layout, with synthetic SAR pixels.

What is real (``shared/docs/source-formats.md`` §7, torchgeo ``datasets/quakeset.py`` and its
fixture ``tests/data/quakeset/earthquakes.h5``, read in ``shared/peer-data``):

- one HDF5 file named ``earthquakes.h5``; one group per earthquake keyed by a 9-digit
  ISC-style event id, with attributes ``magnitude`` (float32) and ``split`` (``train``,
  ``validation`` or ``test``, variable-length UTF-8 string, as in the fixture);
- patch groups ``patch_<n>`` holding float32 datasets ``pre``, ``post`` and, for some patches,
  ``before``, each ``(H, W, 2)`` with VV then VH on the last axis, uncompressed and unchunked
  as in the fixture; NaN marks pixels without data, as in the real images;
- pixel values are linear σ0 backscatter (see :mod:`eoinstruct.sources.quakeset` for the evidence);
- the events are real earthquakes of QuakeSet's period (2018–2021), at their epicentres as
  published in the USGS ComCat event pages, with their moment magnitudes: Ridgecrest (USA)
  2019-07-06 M7.1, Elazığ (Türkiye) 2020-01-24 M6.7, Zagreb (Croatia) 2020-03-22 M5.3 and
  Petrinja (Croatia) 2020-12-29 M6.4.

What is synthetic: the event ids (ISC-style numbers, not the ISC's ids of these events), the
split of each event, every pixel (smooth terrain, bright built-up blocks, dark water, a
speckle of 5 looks, a temporal change only between ``pre`` and ``post`` along a band through
the patch), and the georeferencing **convention**, which is UNVERIFIED for the real file: each
event group holds ``x`` ``(n_patches, W)`` and ``y`` ``(n_patches, H)`` float64 datasets (row
``n`` holds the pixel-centre coordinates of ``patch_<n>``, in metres, ``y`` decreasing) and an
``epsg`` attribute with the UTM zone of the epicentre, which :mod:`eoinstruct.sources.quakeset`
reads.
Patches are **100x100** pixels of 10 m (the real ones are 512x512), a few hundred metres from
the epicentre, to keep the file near 1.5 MB (the images are uncompressed float32, as in
torchgeo's fixture; whether the real file uses HDF5 compression is UNVERIFIED, and the pixel
reader does not care). ``epicenters.parquet`` and ``p_earthquakes.h5``, also on the Hub, are
not written: their content is not documented. Two images carry NaN: a corner of about 3 % of
the ``post`` image of ``616731457/patch_1`` and of ``618090219/patch_1`` (a swath edge; the
samples still pass the 90 % coverage threshold).

Good units: :data:`GOOD_UNITS` (6 patches of 3 events; 3 of them have ``before``, so they also
give a hard negative: 9 samples). Deliberately bad units (:data:`BAD_UNITS`):

- ``618090219/patch_2`` (Zagreb): the patch has only ``pre``, no ``post`` dataset →
  ingest failure ``missing_file``.
- ``619224085/patch_0`` (Petrinja): the event's ``magnitude`` attribute is NaN → ingest
  failure ``bad_metadata``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from eoinstruct.sources.geo import from_lonlat

FILE_NAME = "earthquakes.h5"

SIZE = 100
"""Width and height of every image in pixels (the real images are 512x512; 100 px is the
smallest size the corpus tests accept for an embedded image, and keeps the file small)."""

GRID_M = 10.0
"""Pixel spacing of the ``x``/``y`` coordinates in metres (Sentinel-1 IW GRD)."""

LOOKS = 5.0
"""Equivalent number of looks of the multiplicative speckle."""


@dataclass(frozen=True)
class PatchSpec:
    """One patch of an event.

    Attributes:
        name: Group name, ``patch_<n>``.
        east_m: Easting of the patch centre from the epicentre, metres.
        north_m: Northing of the patch centre from the epicentre, metres.
        before: Whether the patch has a ``before`` image (and so a hard negative).
        edge_nodata: Whether ``post`` has a small NaN corner (about 3 %, a swath edge).
        defect: ``""`` or ``"missing_post"`` (the patch has only ``pre``).
    """

    name: str
    east_m: float
    north_m: float
    before: bool = True
    edge_nodata: bool = False
    defect: str = ""


@dataclass(frozen=True)
class EventSpec:
    """One earthquake and its patches.

    Attributes:
        event_id: The group name (synthetic ISC-style id).
        place: Where the earthquake struck (documentation only).
        date: Date of the earthquake, UTC (documentation only).
        lat: Epicentre latitude (USGS ComCat).
        lon: Epicentre longitude (USGS ComCat).
        magnitude: The real magnitude; written as float32.
        stored_magnitude: What is written (NaN for the broken event), if not ``magnitude``.
        split: The ``split`` attribute.
        epsg: UTM zone of the epicentre (``epsg`` attribute; coordinates of ``x``/``y``).
        patches: The patch groups.
    """

    event_id: str
    place: str
    date: str
    lat: float
    lon: float
    magnitude: float
    split: str
    epsg: int
    patches: tuple[PatchSpec, ...]
    stored_magnitude: float | None = None

    @property
    def written_magnitude(self) -> float:
        """The value of the ``magnitude`` attribute."""
        return self.magnitude if self.stored_magnitude is None else self.stored_magnitude


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "616731457", "Ridgecrest, California, USA", "2019-07-06", 35.7695, -117.5993, 7.1,
        "train", 32611,
        (
            PatchSpec("patch_0", -420.0, 310.0),
            PatchSpec("patch_1", 560.0, -650.0, before=False, edge_nodata=True),
        ),
    ),
    EventSpec(
        "617852733", "Elazığ, Türkiye", "2020-01-24", 38.3593, 39.0630, 6.7, "validation", 32637,
        (PatchSpec("patch_0", 350.0, 480.0), PatchSpec("patch_1", -610.0, -240.0, before=False)),
    ),
    EventSpec(
        "618090219", "Zagreb, Croatia", "2020-03-22", 45.8970, 15.9660, 5.3, "test", 32633,
        (
            PatchSpec("patch_0", 280.0, -390.0, before=False),
            PatchSpec("patch_1", -520.0, 610.0, edge_nodata=True),
            PatchSpec("patch_2", 820.0, 150.0, before=False, defect="missing_post"),
        ),
    ),
    EventSpec(
        "619224085", "Petrinja, Croatia", "2020-12-29", 45.4220, 16.2550, 6.4, "train", 32633,
        (PatchSpec("patch_0", 300.0, 300.0, before=False),),
        stored_magnitude=float("nan"),
    ),
)  # fmt: skip
"""Every event written, in file order."""

BAD_UNITS: dict[str, str] = {
    "618090219/patch_2": "missing_file: the patch has no post dataset",
    "619224085/patch_0": "bad_metadata: the event's magnitude is NaN",
}
"""The deliberately bad units and what each should produce."""

GOOD_UNITS: tuple[str, ...] = tuple(
    f"{e.event_id}/{p.name}"
    for e in EVENTS
    for p in e.patches
    if f"{e.event_id}/{p.name}" not in BAD_UNITS
)
"""The units that read and pass the filter."""


def epicentre_utm(event: EventSpec) -> tuple[float, float]:
    """Return the epicentre in the event's UTM zone (easting, northing in metres)."""
    return from_lonlat(event.lon, event.lat, f"EPSG:{event.epsg}")


def patch_grid(event: EventSpec, patch: PatchSpec) -> tuple[np.ndarray, np.ndarray]:
    """Return the pixel-centre coordinates ``(x, y)`` of a patch, snapped to the 10 m grid.

    Args:
        event: The event.
        patch: One of its patches.

    Returns:
        ``x`` (west to east) and ``y`` (north to south), each of length :data:`SIZE`.
    """
    east, north = epicentre_utm(event)
    half = SIZE * GRID_M / 2
    left = round((east + patch.east_m - half) / GRID_M) * GRID_M
    top = round((north + patch.north_m + half) / GRID_M) * GRID_M
    steps = np.arange(SIZE, dtype=np.float64) + 0.5
    return left + steps * GRID_M, top - steps * GRID_M


def write(root: Path, seed: int) -> None:
    """Write ``earthquakes.h5`` under ``root`` (created if needed).

    The same seed gives a byte-identical file (h5py records no times by default). Each patch
    draws from its own generator, ``numpy.random.default_rng([seed, event, patch])``.

    Args:
        root: Folder to hold the file.
        seed: Random seed.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with h5py.File(root / FILE_NAME, "w") as handle:
        for e_index, event in enumerate(EVENTS):
            group = handle.create_group(event.event_id)
            group.attrs["magnitude"] = np.float32(event.written_magnitude)
            group.attrs["split"] = event.split
            group.attrs["epsg"] = np.int64(event.epsg)
            grids = [patch_grid(event, p) for p in event.patches]
            group.create_dataset("x", data=np.stack([g[0] for g in grids]))
            group.create_dataset("y", data=np.stack([g[1] for g in grids]))
            for p_index, patch in enumerate(event.patches):
                rng = np.random.default_rng([seed, e_index, p_index])
                for role, image in _patch_images(rng, patch).items():
                    group.create_dataset(f"{patch.name}/{role}", data=image)


# -- pixels -------------------------------------------------------------------------------------


def _smooth(rng: np.random.Generator, waves: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] on the patch grid (sum of plane waves)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    field = np.zeros((SIZE, SIZE))
    for _ in range(waves):
        kx, ky = rng.uniform(0.3, 2.2, 2) * rng.choice([-1.0, 1.0], 2)
        phase, amp = rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 1.0)
        field += amp * np.cos(2 * math.pi * (kx * xx + ky * yy) + phase)
    field -= field.min()
    return field / max(float(field.max()), 1e-9)


def _scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return the stable VV and VH backscatter of a patch in dB: terrain, built-up, water."""
    terrain, moisture = _smooth(rng), _smooth(rng, waves=3)
    vv = -12.5 + 6.0 * terrain + 1.5 * moisture
    vh = vv - 6.0 - 2.0 * (1.0 - moisture)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for _ in range(int(rng.integers(2, 5))):  # built-up blocks: strong double bounce
        x0, y0 = rng.integers(0, SIZE - 10, 2)
        w, h = rng.integers(4, 11, 2)
        block = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
        vv[block] = rng.uniform(-4.0, -1.0)
        vh[block] = vv[block] - rng.uniform(7.0, 9.0)
    if rng.random() < 0.5:  # a pond or river bend: specular, dark
        cx, cy = rng.uniform(0.15, 0.85, 2) * SIZE
        rx, ry = rng.uniform(4.0, 9.0, 2)
        water = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
        vv[water], vh[water] = -21.0, -28.0
    return vv, vh


def _change(rng: np.random.Generator) -> np.ndarray:
    """Return the dB change of VV/VH between ``pre`` and ``post``: a band across the patch."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    angle = rng.uniform(0, math.pi)
    ox, oy = rng.uniform(0.3, 0.7, 2)  # the band passes through (ox, oy)
    distance = np.abs(np.cos(angle) * (xx - ox) + np.sin(angle) * (yy - oy))
    band = distance < rng.uniform(0.08, 0.16)
    texture = _smooth(rng, waves=5)
    # debris and collapsed structures brighten, landslide scars and flattened ground darken
    return np.where(band, np.where(texture > 0.5, 3.0, -2.5), 0.0)


def _acquire(
    rng: np.random.Generator, vv_db: np.ndarray, vh_db: np.ndarray, change_db: np.ndarray | None
) -> np.ndarray:
    """Make one ``(H, W, 2)`` float32 image of linear σ0 with speckle and temporal noise."""
    layers = []
    for base in (vv_db, vh_db):
        db = base + 0.8 * (_smooth(rng, waves=2) - 0.5)
        if change_db is not None:
            db = db + change_db
        speckle = rng.gamma(LOOKS, 1.0 / LOOKS, (SIZE, SIZE))
        layers.append(10.0 ** (db / 10.0) * speckle)
    return np.stack(layers, axis=-1).astype(np.float32)


def _patch_images(rng: np.random.Generator, patch: PatchSpec) -> dict[str, np.ndarray]:
    """Make the patch's images, by role, with its defects applied."""
    vv, vh = _scene(rng)
    change = _change(rng)
    images = {"before": _acquire(rng, vv, vh, None), "pre": _acquire(rng, vv, vh, None)}
    images["post"] = _acquire(rng, vv, vh, change)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    if patch.edge_nodata:
        images["post"][xx + yy < SIZE // 4] = np.nan
    if patch.defect == "missing_post":
        del images["post"]
    if not patch.before:
        del images["before"]
    return {role: images[role] for role in ("before", "pre", "post") if role in images}
