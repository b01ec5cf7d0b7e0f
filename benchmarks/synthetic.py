"""Synthetic source data at real sizes, in the sources' real layouts, for the benchmarks.

The generator writes ``n`` of each kind of unit the benchmark needs, fast and deterministically
(GeoTIFF band templates are written once with rasterio and their pixels rewritten per unit):

- **BigEarthNet v1.0** (read by :mod:`sources.bigearthnet_v1`): ``n`` Sentinel-2 patch folders
  ``BigEarthNet-v1.0/S2A_MSIL2A_<stamp>_<h>_<v>/`` with 12 single-band, uncompressed, stripped
  uint16 GeoTIFFs at 120/60/20 px (10/20/60 m, EPSG:32633) and ``<patch>_labels_metadata.json``,
  and their ``n`` Sentinel-1 partners
  ``BigEarthNet-S1-v1.0/S1A_IW_GRDH_1SDV_<stamp>_33UUP_<h>_<v>/`` with VV/VH float32 dB
  GeoTIFFs at 120 px and the S1 JSON (with the real ``lly`` key), plus
  the split CSVs ``bigearthnet-{train,val,test}.csv``. Layout facts: ``shared/docs/
  source-formats.md`` §1 (kai-tub/bigearthnet_common, torchgeo ``bigearthnet.py``), as used
  by :mod:`sources.bigearthnet_v1.sample`, whose band resolutions and projection WKT
  are reused. Every patch's GeoTIFF tie point is rewritten to the patch's own corner, so
  headers and JSON agree. Every patch has its own pixels (:func:`unit_field`: a parcel mosaic
  and smooth waves, own noise), so de-duplication keeps every unit.
- **xBD** (read by :mod:`sources.xbd`): ``ceil(n * xbd_ratio)`` tiles
  ``{train,test}/images/<disaster>_<8-digit id>_{pre,post}_disaster.png`` (1024x1024 RGB, the
  real size), ``labels/<same>.json`` (``features.lng_lat``/``features.xy`` building polygons
  related by a per-tile affine transform, the full metadata block) and
  ``targets/<same>_target.png``. Layout facts: ``shared/docs/source-formats.md`` §5
  (xView2 baseline, torchgeo ``xview.py``). Every tile draws its own ground, roads and
  buildings; its labels describe those buildings at the tile's own location, with damage
  drawn per tile.
- **Sentinel-2 COG chips**: ``cogs`` distinct 10-band uint16 256x256 Cloud-Optimized GeoTIFFs
  (DEFLATE, 256 px tiles) under ``s2_cogs/``, for the I/O floor of windowed COG reads (no
  adapter reads them yet).

Pixel values are synthetic but plausible (reflectance 0.03-0.35 with a vegetation/soil mix;
SAR VV about -18...-2 dB, VH 7 dB lower; RGB ground, roads and roofs), so every generated sample
passes the filter.

The pixels are distinct per unit everywhere (no two units are exact or near duplicates for
:mod:`eoinstruct.pipeline.quality.dedup`); band templates are written once with rasterio and
their strips rewritten per patch (:mod:`benchmarks.tiff`), so thousands of units take seconds.
"""

from __future__ import annotations

import io
import json
import math
import struct
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image, ImageDraw
from rasterio.crs import CRS
from rasterio.transform import Affine

from benchmarks.pixels import noise, png_rgb, smooth, unit_field
from benchmarks.tiff import StripLayout, put_strips, strip_layout
from eoinstruct.sources.bigearthnet_classes import CLC43
from eoinstruct.sources.bigearthnet_v1.sample import S2_RES, UTM33N_WKT, write_band_tif

S2_DIR = "BigEarthNet-v1.0"
S1_DIR = "BigEarthNet-S1-v1.0"
XBD_SIZE = 1024
"""Side of a real xBD tile in pixels."""

COG_SIZE = 256
COG_BANDS = 10

PATCH_M = 1200
TILE_ORIGIN = (300000, 5400000)
"""Upper-left corner of MGRS tile 33UUP in EPSG:32633, origin of the BigEarthNet h/v grid."""

GRID = 90
"""Patches per row and column of the synthetic h/v grid (a 109.8 km tile holds 91)."""

_EPSG = 32633
_S2_STAMP0 = (2017, 6, 13, 10, 10, 31)
_S1_STAMP0 = (2017, 6, 13, 16, 50, 43)

_SPECTRA: dict[str, tuple[int, int]] = {
    "B01": (320, 1050),
    "B02": (380, 1150),
    "B03": (700, 1380),
    "B04": (420, 1650),
    "B05": (1000, 1850),
    "B06": (2500, 2050),
    "B07": (2950, 2150),
    "B08": (3300, 2250),
    "B8A": (3450, 2350),
    "B09": (1050, 820),
    "B11": (1750, 2900),
    "B12": (820, 2450),
}
"""Synthetic (vegetation, bare soil) reflectance x 1e4 per band."""

_LABEL_CODES = (211, 231, 242, 311, 312, 313, 324, 411, 512)
"""CLC-43 codes of rural patches (no artificial surface)."""

_URBAN_CODES = (111, 112, 121, 141, 142)
"""CLC-43 codes of urban patches (only urban classes: the urban/rural question answers
"urban"; about 45 % of the patches, so that balanced template's answers stay balanced).
Every patch has at least 3 classes, so every sample passes ``filter.min_tags``."""
_CLC_NAME = dict(CLC43)

_DISASTERS: tuple[tuple[str, str, float, float, str, str], ...] = (
    ("hurricane-harvey", "flooding", -95.46, 29.69, "2017-01-22T17", "2017-08-31T17"),
    ("santa-rosa-wildfire", "fire", -122.75, 38.48, "2017-07-07T19", "2017-10-11T19"),
    ("mexico-earthquake", "earthquake", -99.16, 19.40, "2017-03-12T17", "2017-09-26T17"),
    ("palu-tsunami", "tsunami", 119.86, -0.89, "2018-08-11T02", "2018-10-01T02"),
    ("joplin-tornado", "wind", -94.50, 37.07, "2010-06-05T17", "2011-05-29T17"),
)
"""(disaster, disaster_type, lon, lat, pre hour, post hour) of the xBD tiles (real events)."""

_SUBTYPES = ("no-damage", "minor-damage", "major-damage", "destroyed")


@dataclass
class SyntheticData:
    """What :func:`generate` wrote.

    Attributes:
        root: The output folder.
        bigearthnet_root: Root of the BigEarthNet v1 dataset (``sources.bigearthnet_v1.root``).
        xbd_root: Root of the xBD dataset (``sources.xbd.root``).
        cog_root: Folder of the COG chips.
        s2_patches: Number of Sentinel-2 patches.
        s1_patches: Number of Sentinel-1 patches.
        xbd_tiles: Number of xBD pre/post tiles.
        cogs: Number of COG chips.
        files: Files by kind: ``ben_tif``, ``ben_json``, ``xbd_png``, ``xbd_json``,
            ``xbd_target``, ``cog``.
        seconds: Time taken to write everything.
    """

    root: Path
    bigearthnet_root: Path
    xbd_root: Path
    cog_root: Path
    s2_patches: int = 0
    s1_patches: int = 0
    xbd_tiles: int = 0
    cogs: int = 0
    files: dict[str, list[Path]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def units(self) -> int:
        """Source units the pipeline reads (S2 + S1 patches + xBD tiles)."""
        return self.s2_patches + self.s1_patches + self.xbd_tiles

    def bytes_of(self, kinds: Sequence[str]) -> int:
        """Return the total size in bytes of the files of the given kinds."""
        return sum(p.stat().st_size for kind in kinds for p in self.files.get(kind, []))


# -- BigEarthNet v1 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _TiffTemplate:
    """A GeoTIFF written once, with where its tie point and pixels are."""

    data: bytes
    layout: StripLayout
    tiepoint_at: int


def _template(folder: Path, name: str, array: np.ndarray, res: float) -> _TiffTemplate:
    """Write a template GeoTIFF at the tile origin and locate its tie point and strips."""
    path = folder / name
    write_band_tif(path, array, TILE_ORIGIN[0], TILE_ORIGIN[1], res)
    data = path.read_bytes()
    path.unlink()
    needle = struct.pack("<3d", float(TILE_ORIGIN[0]), float(TILE_ORIGIN[1]), 0.0)
    at = data.find(needle)
    if at < 0:
        raise RuntimeError(f"tie point not found in the template {name}")
    return _TiffTemplate(data=data, layout=strip_layout(data), tiepoint_at=at)


def _instance(template: _TiffTemplate, array: np.ndarray, ulx: float, uly: float) -> bytes:
    """Bytes of a copy of ``template`` with new pixels and a new upper-left corner."""
    buffer = bytearray(template.data)
    struct.pack_into("<2d", buffer, template.tiepoint_at, ulx, uly)
    put_strips(buffer, template.layout, array)
    return bytes(buffer)


def s2_bands(veg: np.ndarray, noise_10m: np.ndarray) -> dict[str, np.ndarray]:
    """The 12 S2 bands of one patch: a vegetation/soil mix of ``veg`` (120 x 120, [0, 1]).

    Args:
        veg: The patch's vegetation fraction at 10 m.
        noise_10m: Sensor noise at 10 m (reflectance x 1e4).

    Returns:
        ``{band: uint16 array at the band's resolution}``.
    """
    out: dict[str, np.ndarray] = {}
    for band, res in S2_RES.items():
        v_ref, s_ref = _SPECTRA[band]
        fine = veg * v_ref + (1 - veg) * s_ref + noise_10m
        factor = res // 10
        side = 120 // factor
        coarse = fine.reshape(side, factor, side, factor).mean(axis=(1, 3))
        out[band] = np.rint(np.clip(coarse, 1, 10000)).astype(np.uint16)
    return out


def s1_bands(base: np.ndarray, noise_10m: np.ndarray) -> dict[str, np.ndarray]:
    """VV and VH (float32 dB, 120 x 120) of one S1 patch from its backscatter field ``base``."""
    vv = np.clip(-16 + 12 * base + noise_10m, -25, -1).astype(np.float32)
    vh = np.clip(vv - 7 + np.roll(noise_10m, 37, axis=0), -30, -6).astype(np.float32)
    return {"VV": vv, "VH": vh}


def _stamp(base: tuple[int, int, int, int, int, int], days: int) -> tuple[str, str]:
    """``(YYYYMMDDThhmmss, datetime string parts)`` of ``base`` shifted by ``days``."""
    from datetime import datetime, timedelta

    moment = datetime(*base) + timedelta(days=days)
    return moment.strftime("%Y%m%dT%H%M%S"), moment.strftime("%Y-%m-%d %H:%M:%S")


def _labels(rng: np.random.Generator) -> list[str]:
    urban = rng.random() < 0.45
    # at least 3 classes: filter.min_tags drops samples with fewer label fields
    count = 3 if urban else int(rng.integers(3, 6))
    pool = _URBAN_CODES if urban else _LABEL_CODES
    codes = sorted(int(c) for c in rng.choice(pool, size=count, replace=False))
    return [_CLC_NAME[c] for c in codes]


def write_bigearthnet(root: Path, n: int, seed: int = 0) -> dict[str, list[Path]]:
    """Write ``n`` S2 patches and their ``n`` S1 partners in the BigEarthNet v1.0 layout.

    Args:
        root: Dataset root (will hold ``BigEarthNet-v1.0/``, ``BigEarthNet-S1-v1.0/`` and the
            split CSVs).
        n: Number of S2 (and of S1) patches.
        seed: Seed of every random draw.

    Returns:
        ``{"ben_tif": [...], "ben_json": [...]}``: the files written.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 1])
    veg, base = smooth(rng, 120), smooth(rng, 120)
    s2_templates = {
        band: _template(root, f"template_{band}.tif", array, float(S2_RES[band]))
        for band, array in s2_bands(veg, noise(rng, 30.0)).items()
    }
    s1_templates = {
        band: _template(root, f"template_{band}.tif", array, 10.0)
        for band, array in s1_bands(base, noise(rng, 1.0)).items()
    }

    tifs: list[Path] = []
    jsons: list[Path] = []
    rows: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for i in range(n):
        prng = np.random.default_rng([seed, 2, i])
        h, v, block = i % GRID, (i // GRID) % GRID, i // (GRID * GRID)
        s2_stamp, s2_time = _stamp(_S2_STAMP0, 5 * block)
        s1_stamp, s1_time = _stamp(_S1_STAMP0, 5 * block)
        s2_name = f"S2A_MSIL2A_{s2_stamp}_{h}_{v}"
        s1_name = f"S1A_IW_GRDH_1SDV_{s1_stamp}_33UUP_{h}_{v}"
        ulx = TILE_ORIGIN[0] + PATCH_M * h
        uly = TILE_ORIGIN[1] - PATCH_M * v
        labels = _labels(prng)

        s2_folder = root / S2_DIR / s2_name
        s2_folder.mkdir(parents=True, exist_ok=True)
        s2_pixels = s2_bands(unit_field(prng, 120), noise(prng, 30.0))
        for band, tpl in s2_templates.items():
            path = s2_folder / f"{s2_name}_{band}.tif"
            path.write_bytes(_instance(tpl, s2_pixels[band], ulx, uly))
            tifs.append(path)
        s2_meta = {
            "labels": labels,
            "coordinates": {"ulx": ulx, "uly": uly, "lrx": ulx + PATCH_M, "lry": uly - PATCH_M},
            "projection": UTM33N_WKT,
            "tile_source": f"S2A_MSIL1C_{s2_stamp}_N0205_R022_T33UUP_{s2_stamp}.SAFE",
            "acquisition_date": s2_time,
        }
        path = s2_folder / f"{s2_name}_labels_metadata.json"
        path.write_text(json.dumps(s2_meta), encoding="utf-8")
        jsons.append(path)

        s1_folder = root / S1_DIR / s1_name
        s1_folder.mkdir(parents=True, exist_ok=True)
        s1_pixels = s1_bands(unit_field(prng, 120), noise(prng, 1.0))
        for band, tpl in s1_templates.items():
            path = s1_folder / f"{s1_name}_{band}.tif"
            path.write_bytes(_instance(tpl, s1_pixels[band], ulx, uly))
            tifs.append(path)
        s1_meta = {
            "labels": labels,
            "coordinates": {"ulx": ulx, "uly": uly, "lrx": ulx + PATCH_M, "lly": uly - PATCH_M},
            "projection": UTM33N_WKT,
            "corresponding_s2_patch": s2_name,
            "scene_source": f"S1A_IW_GRDH_1SDV_{s1_stamp}_{s1_stamp}_017018_01C579_7EEC",
            "acquisition_time": s1_time.replace(" ", "T"),
        }
        path = s1_folder / f"{s1_name}_labels_metadata.json"
        path.write_text(json.dumps(s1_meta), encoding="utf-8")
        jsons.append(path)
        split = "test" if i % 10 == 9 else "val" if i % 10 == 8 else "train"
        rows[split].append(f"{s2_name},{s1_name}\n")
    for stem, lines in rows.items():
        (root / f"bigearthnet-{stem}.csv").write_text("".join(lines), encoding="utf-8")
    return {"ben_tif": tifs, "ben_json": jsons}


# -- xBD --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _XbdTemplate:
    """One pre/post pixel template and its buildings (pixel polygons)."""

    pre_png: bytes
    post_png: bytes
    pre_target: bytes
    post_target: bytes
    buildings: tuple[tuple[tuple[float, float], ...], ...]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _xbd_template(rng: np.random.Generator, size: int = XBD_SIZE) -> _XbdTemplate:
    """Draw ground, roads and 3-8 buildings at 1024x1024; the post image darkens some roofs."""
    low = unit_field(rng, 64)
    ground = np.kron(low, np.ones((size // 64, size // 64)))
    rgb = np.stack([90 + 60 * ground, 100 + 50 * ground, 70 + 40 * ground], axis=-1)
    for channel in range(3):
        rgb[..., channel] += noise(rng, 9.0, size)
    pre = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), mode="RGB")
    draw = ImageDraw.Draw(pre)
    for _ in range(2):
        y = int(rng.integers(100, size - 100))
        draw.rectangle((0, y, size, y + 18), fill=(128, 126, 120))
    buildings: list[tuple[tuple[float, float], ...]] = []
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = (float(v) for v in rng.integers(40, size - 140, 2))
        w, h = (float(v) for v in rng.integers(30, 100, 2))
        corners = ((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h))
        buildings.append(corners)
        draw.polygon(corners, fill=tuple(int(c) for c in rng.integers(150, 230, 3)))
    post = pre.copy()
    post_draw = ImageDraw.Draw(post)
    for corners in buildings[::2]:
        post_draw.polygon(corners, fill=(70, 60, 55))
    pre_target = Image.new("L", (size, size), 0)
    post_target = Image.new("L", (size, size), 0)
    for corners in buildings:
        ImageDraw.Draw(pre_target).polygon(corners, fill=1)
        ImageDraw.Draw(post_target).polygon(corners, fill=1)
    return _XbdTemplate(
        pre_png=png_rgb(np.asarray(pre)),
        post_png=png_rgb(np.asarray(post)),
        pre_target=_png(pre_target),
        post_target=_png(post_target),
        buildings=tuple(buildings),
    )


def _wkt(points: Sequence[tuple[float, float]]) -> str:
    ring = [*points, points[0]]
    return "POLYGON ((" + ", ".join(f"{x:.12g} {y:.12g}" for x, y in ring) + "))"


def _xbd_label(
    template: _XbdTemplate,
    phase: str,
    origin: tuple[float, float],
    subtypes: Sequence[str],
    uids: Sequence[str],
    metadata: dict[str, object],
) -> dict[str, object]:
    """A label JSON: building polygons in pixels and in lon/lat (0.5 m pixels, north up)."""
    lon0, lat0 = origin
    dlat = 0.5 / 111_320.0
    dlon = dlat / math.cos(math.radians(lat0))
    lng_lat: list[dict[str, object]] = []
    xy: list[dict[str, object]] = []
    for corners, subtype, uid in zip(template.buildings, subtypes, uids, strict=True):
        props: dict[str, str] = {"feature_type": "building"}
        if phase == "post":
            props["subtype"] = subtype
        props["uid"] = uid
        world = [(lon0 + x * dlon, lat0 - y * dlat) for x, y in corners]
        lng_lat.append({"properties": dict(props), "wkt": _wkt(world)})
        xy.append({"properties": dict(props), "wkt": _wkt(corners)})
    return {"features": {"lng_lat": lng_lat, "xy": xy}, "metadata": metadata}


def write_xbd(root: Path, tiles: int, seed: int = 0, size: int = XBD_SIZE) -> dict[str, list[Path]]:
    """Write ``tiles`` xBD pre/post tiles (``size`` x ``size`` PNGs, labels, targets).

    Args:
        root: Dataset root (will hold ``train/`` and ``test/``).
        tiles: Number of tiles; every tenth goes to ``test/``.
        seed: Seed of every random draw.
        size: Side of the images (the real 1024 by default).

    Returns:
        ``{"xbd_png": [...], "xbd_json": [...], "xbd_target": [...]}``.
    """
    out: dict[str, list[Path]] = {"xbd_png": [], "xbd_json": [], "xbd_target": []}
    for i in range(tiles):
        trng = np.random.default_rng([seed, 4, i])
        template = _xbd_template(trng, size)  # every tile its own pixels and buildings
        disaster, kind, lon, lat, pre_hour, post_hour = _DISASTERS[i % len(_DISASTERS)]
        folder = root / ("test" if i % 10 == 9 else "train")
        for sub in ("images", "labels", "targets"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        stem = f"{disaster}_{i:08d}"
        origin = (lon + 0.006 * (i % 50), lat - 0.006 * (i // 50 % 50))
        subtypes = [_SUBTYPES[int(k)] for k in trng.integers(0, 4, len(template.buildings))]
        uids = [str(uuid.UUID(bytes=trng.bytes(16), version=4)) for _ in template.buildings]
        for phase, hour, png, target in (
            ("pre", pre_hour, template.pre_png, template.pre_target),
            ("post", post_hour, template.post_png, template.post_target),
        ):
            name = f"{stem}_{phase}_disaster"
            metadata: dict[str, object] = {
                "sensor": "WORLDVIEW02",
                "provider_asset_type": "WORLDVIEW02",
                "gsd": 1.8,
                "capture_date": f"{hour}:{int(trng.integers(0, 60)):02d}:25.433Z",
                "off_nadir_angle": round(float(trng.uniform(5, 30)), 6),
                "pan_resolution": 0.45,
                "sun_azimuth": round(float(trng.uniform(110, 170)), 6),
                "sun_elevation": round(float(trng.uniform(40, 75)), 6),
                "target_azimuth": round(float(trng.uniform(0, 360)), 6),
                "disaster": disaster,
                "disaster_type": kind,
                "catalog_id": f"1030010{i:09X}",
                "original_width": size,
                "original_height": size,
                "width": size,
                "height": size,
                "id": f"synthetic-{i:08d}-{phase}",
                "img_name": f"{name}.png",
            }
            image = folder / "images" / f"{name}.png"
            image.write_bytes(png)
            label = folder / "labels" / f"{name}.json"
            label.write_text(
                json.dumps(_xbd_label(template, phase, origin, subtypes, uids, metadata)),
                encoding="utf-8",
            )
            target_path = folder / "targets" / f"{name}_target.png"
            target_path.write_bytes(target)
            out["xbd_png"].append(image)
            out["xbd_json"].append(label)
            out["xbd_target"].append(target_path)
    return out


# -- Sentinel-2 COG chips ---------------------------------------------------------------------


def write_cogs(root: Path, count: int, seed: int = 0) -> list[Path]:
    """Write ``count`` 10-band uint16 256x256 COG chips (DEFLATE, 256 px blocks).

    Args:
        root: Output folder.
        count: Number of chips.
        seed: Seed of the pixel draws.

    Returns:
        The chip files.
    """
    root.mkdir(parents=True, exist_ok=True)
    chips: list[Path] = []
    for i in range(count):
        rng = np.random.default_rng([seed, 5, i])
        veg = unit_field(rng, COG_SIZE)
        bands = [
            np.rint(np.clip(veg * v + (1 - veg) * s + noise(rng, 30.0, COG_SIZE), 1, 10000))
            for v, s in list(_SPECTRA.values())[1:11]
        ]
        path = root / f"S2A_33UUP_chip_{i:06d}.tif"
        with rasterio.open(
            path,
            "w",
            driver="COG",
            width=COG_SIZE,
            height=COG_SIZE,
            count=COG_BANDS,
            dtype="uint16",
            crs=CRS.from_epsg(_EPSG),
            transform=Affine(10.0, 0, TILE_ORIGIN[0], 0, -10.0, TILE_ORIGIN[1]),
            compress="DEFLATE",
            blocksize=COG_SIZE,
        ) as dst:
            dst.write(np.stack(bands).astype(np.uint16))
        chips.append(path)
    return chips


def generate(
    root: Path,
    n: int,
    xbd_ratio: float = 0.1,
    cogs: int | None = None,
    seed: int = 0,
    xbd_size: int = XBD_SIZE,
) -> SyntheticData:
    """Write every synthetic dataset under ``root``.

    Args:
        root: Output folder: ``bigearthnet_v1/``, ``xbd/`` and ``s2_cogs/`` are made in it.
        n: Number of BigEarthNet S2 patches (and of their S1 partners).
        xbd_ratio: xBD tiles per S2 patch (rounded up; 0 for none).
        cogs: Number of COG chips (default ``min(n, 100)``: they only time the COG reader).
        seed: Seed of every random draw; the same arguments give byte-identical files.
        xbd_size: Side of the xBD images (1024, the real size; ``--quick`` uses 256).

    Returns:
        What was written.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    started = time.perf_counter()
    root = Path(root)
    data = SyntheticData(
        root=root,
        bigearthnet_root=root / "bigearthnet_v1",
        xbd_root=root / "xbd",
        cog_root=root / "s2_cogs",
    )
    data.files.update(write_bigearthnet(data.bigearthnet_root, n, seed))
    data.s2_patches = data.s1_patches = n
    data.xbd_tiles = math.ceil(n * xbd_ratio) if xbd_ratio > 0 else 0
    data.xbd_root.mkdir(parents=True, exist_ok=True)
    data.files.update(write_xbd(data.xbd_root, data.xbd_tiles, seed, xbd_size))
    data.cogs = min(n, 100) if cogs is None else cogs
    data.files["cog"] = write_cogs(data.cog_root, data.cogs, seed)
    data.seconds = time.perf_counter() - started
    return data
