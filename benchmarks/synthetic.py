"""Synthetic source data at real sizes, in the sources' real layouts, for the benchmarks.

The generator writes ``n`` of each kind of unit the benchmark needs, fast and deterministically
(one template is written with rasterio or Pillow, then copied and perturbed byte-wise):

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
  headers and JSON agree.
- **xBD** (read by :mod:`sources.xbd`): ``ceil(n * xbd_ratio)`` tiles
  ``{train,test}/images/<disaster>_<8-digit id>_{pre,post}_disaster.png`` (1024x1024 RGB, the
  real size), ``labels/<same>.json`` (``features.lng_lat``/``features.xy`` building polygons
  related by a per-tile affine transform, the full metadata block) and
  ``targets/<same>_target.png``. Layout facts: ``shared/docs/source-formats.md`` §5
  (xView2 baseline, torchgeo ``xview.py``). Pixels come from :data:`XBD_VARIANTS` template
  pairs, each with its own buildings; a tile's labels describe its template's buildings at the
  tile's own location, with damage drawn per tile.
- **Sentinel-2 COG chips**: ``cogs`` 10-band uint16 256x256 Cloud-Optimized GeoTIFFs
  (DEFLATE, 256 px tiles) under ``s2_cogs/``, for the I/O floor of windowed COG reads (no
  adapter reads them yet).

Pixel values are synthetic but plausible (reflectance 0.03-0.35 with a vegetation/soil mix;
SAR VV about -18...-2 dB, VH 7 dB lower; RGB ground, roads and roofs), so every generated sample
passes the filter.

The module also holds a minimal reader of uncompressed, stripped little-endian TIFFs
(:func:`read_strip_tiff`): tifffile is not installed, and this is what a plain reader of
BigEarthNet's tiny GeoTIFFs costs without GDAL's per-file open.
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

from eoinstruct.sources.bigearthnet_classes import CLC43
from eoinstruct.sources.bigearthnet_v1.sample import S2_RES, UTM33N_WKT, write_band_tif

S2_DIR = "BigEarthNet-v1.0"
S1_DIR = "BigEarthNet-S1-v1.0"
XBD_SIZE = 1024
"""Side of a real xBD tile in pixels."""

XBD_VARIANTS = 4
"""Distinct pre/post pixel templates the xBD tiles cycle through."""

COG_SIZE = 256
COG_BANDS = 10
COG_VARIANTS = 4

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

_LABEL_CODES = (112, 211, 231, 242, 311, 312, 313, 324, 411, 512)
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


# -- a minimal TIFF reader ----------------------------------------------------------------------


@dataclass(frozen=True)
class StripLayout:
    """Where the pixels of an uncompressed, stripped, single-sample TIFF are.

    Attributes:
        width: Columns.
        height: Rows.
        dtype: Pixel type (little-endian).
        offsets: Byte offset of each strip.
        counts: Byte count of each strip.
    """

    width: int
    height: int
    dtype: np.dtype
    offsets: tuple[int, ...]
    counts: tuple[int, ...]


_TYPE_FORMATS = {3: "H", 4: "I"}
_SAMPLE_KINDS = {1: "u", 2: "i", 3: "f"}


def strip_layout(data: bytes) -> StripLayout:
    """Parse the first IFD of a classic little-endian TIFF into its strip layout.

    Args:
        data: The file's bytes.

    Returns:
        The layout.

    Raises:
        ValueError: If the file is not a classic little-endian TIFF with one uncompressed,
            stripped sample per pixel (tiled, compressed, big-endian and BigTIFF files are not
            handled: read those with rasterio).
    """
    if len(data) < 8 or data[:4] != b"II*\x00":
        raise ValueError("not a classic little-endian TIFF")
    (ifd,) = struct.unpack_from("<I", data, 4)
    (entries,) = struct.unpack_from("<H", data, ifd)
    tags: dict[int, tuple[int, ...]] = {}
    for k in range(entries):
        tag, kind, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * k)
        fmt = _TYPE_FORMATS.get(kind)
        if fmt is None:
            continue
        size = struct.calcsize(fmt) * count
        where = ifd + 2 + 12 * k + 8 if size <= 4 else value
        tags[tag] = struct.unpack_from(f"<{count}{fmt}", data, where)
    if tags.get(259, (1,))[0] != 1 or 322 in tags or 273 not in tags:
        raise ValueError("compressed or tiled TIFF")
    if tags.get(277, (1,))[0] != 1:
        raise ValueError("more than one sample per pixel")
    bits = tags.get(258, (8,))[0]
    kind = _SAMPLE_KINDS.get(tags.get(339, (1,))[0])
    if kind is None or bits not in (8, 16, 32, 64):
        raise ValueError("unsupported sample format")
    return StripLayout(
        width=tags[256][0],
        height=tags[257][0],
        dtype=np.dtype(f"<{kind}{bits // 8}"),
        offsets=tags[273],
        counts=tags[279],
    )


def read_strip_tiff(path: Path) -> np.ndarray:
    """Read an uncompressed, stripped, single-band TIFF with plain file I/O and numpy.

    Args:
        path: The file.

    Returns:
        The band as a ``height x width`` array.

    Raises:
        ValueError: If the file is not of that kind (see :func:`strip_layout`).
    """
    data = Path(path).read_bytes()
    layout = strip_layout(data)
    start, stop = layout.offsets[0], layout.offsets[-1] + layout.counts[-1]
    contiguous = all(
        layout.offsets[i] + layout.counts[i] == layout.offsets[i + 1]
        for i in range(len(layout.offsets) - 1)
    )
    if contiguous:
        raw = data[start:stop]
    else:
        raw = b"".join(data[o : o + c] for o, c in zip(layout.offsets, layout.counts, strict=True))
    size = layout.width * layout.height * layout.dtype.itemsize
    return np.frombuffer(raw[:size], dtype=layout.dtype).reshape(layout.height, layout.width)


def _put_strips(buffer: bytearray, layout: StripLayout, array: np.ndarray) -> None:
    """Overwrite the pixels of a TIFF held in ``buffer`` with ``array`` (same shape/dtype)."""
    raw = np.ascontiguousarray(array, dtype=layout.dtype).tobytes()
    pos = 0
    for offset, count in zip(layout.offsets, layout.counts, strict=True):
        buffer[offset : offset + count] = raw[pos : pos + count]
        pos += count


# -- BigEarthNet v1 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _TiffTemplate:
    """A GeoTIFF written once, with where its tie point and pixels are."""

    data: bytes
    layout: StripLayout
    tiepoint_at: int
    array: np.ndarray


def _smooth(rng: np.random.Generator, size: int, waves: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] (sum of a few plane waves)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.zeros((size, size))
    for _ in range(waves):
        kx, ky = rng.uniform(0.4, 2.5, 2) * rng.choice([-1.0, 1.0], 2)
        out += rng.uniform(0.5, 1.0) * np.cos(2 * np.pi * (kx * xx + ky * yy) + rng.uniform(0, 6.3))
    out -= out.min()
    return out / max(float(out.max()), 1e-9)


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
    return _TiffTemplate(data=data, layout=strip_layout(data), tiepoint_at=at, array=array)


def _instance(template: _TiffTemplate, array: np.ndarray, ulx: float, uly: float) -> bytes:
    """Bytes of a copy of ``template`` with new pixels and a new upper-left corner."""
    buffer = bytearray(template.data)
    struct.pack_into("<2d", buffer, template.tiepoint_at, ulx, uly)
    _put_strips(buffer, template.layout, array)
    return bytes(buffer)


def _perturb(array: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A cheap per-patch variant: rolled, scaled and offset, clipped to [low, high]."""
    shift = tuple(int(s) for s in rng.integers(0, array.shape[0], 2))
    scaled = np.roll(array, shift, axis=(0, 1)).astype(np.float32) * rng.uniform(0.85, 1.15)
    return np.clip(scaled, low, high).astype(array.dtype)


def _stamp(base: tuple[int, int, int, int, int, int], days: int) -> tuple[str, str]:
    """``(YYYYMMDDThhmmss, datetime string parts)`` of ``base`` shifted by ``days``."""
    from datetime import datetime, timedelta

    moment = datetime(*base) + timedelta(days=days)
    return moment.strftime("%Y%m%dT%H%M%S"), moment.strftime("%Y-%m-%d %H:%M:%S")


def _labels(rng: np.random.Generator) -> list[str]:
    count = int(rng.integers(1, 5))
    codes = sorted(int(c) for c in rng.choice(_LABEL_CODES, size=count, replace=False))
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
    veg = _smooth(rng, 120)
    s2_templates: dict[str, _TiffTemplate] = {}
    for band, res in S2_RES.items():
        v_ref, s_ref = _SPECTRA[band]
        fine = veg * v_ref + (1 - veg) * s_ref + rng.normal(0, 30, (120, 120))
        factor = res // 10
        side = 120 // factor
        coarse = fine.reshape(side, factor, side, factor).mean(axis=(1, 3))
        array = np.rint(np.clip(coarse, 1, 10000)).astype(np.uint16)
        s2_templates[band] = _template(root, f"template_{band}.tif", array, float(res))
    base = _smooth(rng, 120)
    vv = np.clip(-16 + 12 * base + rng.normal(0, 1.0, (120, 120)), -25, -1).astype(np.float32)
    vh = np.clip(vv - 7 + rng.normal(0, 1.0, (120, 120)), -30, -6).astype(np.float32)
    s1_templates = {
        "VV": _template(root, "template_VV.tif", vv, 10.0),
        "VH": _template(root, "template_VH.tif", vh, 10.0),
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
        for band, tpl in s2_templates.items():
            path = s2_folder / f"{s2_name}_{band}.tif"
            path.write_bytes(_instance(tpl, _perturb(tpl.array, prng, 1, 10000), ulx, uly))
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
        for band, tpl in s1_templates.items():
            path = s1_folder / f"{s1_name}_{band}.tif"
            path.write_bytes(_instance(tpl, _perturb(tpl.array, prng, -30, -1), ulx, uly))
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


def _xbd_template(rng: np.random.Generator) -> _XbdTemplate:
    """Draw ground, roads and 3-8 buildings at 1024x1024; the post image darkens some roofs."""
    size = XBD_SIZE
    low = _smooth(rng, 64)
    ground = np.kron(low, np.ones((size // 64, size // 64)))
    rgb = np.stack([90 + 60 * ground, 100 + 50 * ground, 70 + 40 * ground], axis=-1)
    rgb += rng.normal(0, 9, rgb.shape)
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
        pre_png=_png(pre),
        post_png=_png(post),
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


def write_xbd(root: Path, tiles: int, seed: int = 0) -> dict[str, list[Path]]:
    """Write ``tiles`` xBD pre/post tiles (1024x1024 PNGs, labels, targets).

    Args:
        root: Dataset root (will hold ``train/`` and ``test/``).
        tiles: Number of tiles; every tenth goes to ``test/``.
        seed: Seed of every random draw.

    Returns:
        ``{"xbd_png": [...], "xbd_json": [...], "xbd_target": [...]}``.
    """
    rng = np.random.default_rng([seed, 3])
    templates = [_xbd_template(rng) for _ in range(min(XBD_VARIANTS, max(tiles, 1)))]
    out: dict[str, list[Path]] = {"xbd_png": [], "xbd_json": [], "xbd_target": []}
    for i in range(tiles):
        trng = np.random.default_rng([seed, 4, i])
        template = templates[i % len(templates)]
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
                "original_width": XBD_SIZE,
                "original_height": XBD_SIZE,
                "width": XBD_SIZE,
                "height": XBD_SIZE,
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
    rng = np.random.default_rng([seed, 5])
    variants: list[bytes] = []
    for k in range(min(COG_VARIANTS, max(count, 1))):
        veg = _smooth(rng, COG_SIZE)
        bands = [
            np.rint(
                np.clip(veg * v + (1 - veg) * s + rng.normal(0, 30, veg.shape), 1, 10000)
            ).astype(np.uint16)
            for v, s in list(_SPECTRA.values())[1:11]
        ]
        path = root / f"template_{k}.tif"
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
            dst.write(np.stack(bands))
        variants.append(path.read_bytes())
        path.unlink()
    chips: list[Path] = []
    for i in range(count):
        path = root / f"S2A_33UUP_chip_{i:06d}.tif"
        path.write_bytes(variants[i % len(variants)])
        chips.append(path)
    return chips


def generate(
    root: Path, n: int, xbd_ratio: float = 0.1, cogs: int | None = None, seed: int = 0
) -> SyntheticData:
    """Write every synthetic dataset under ``root``.

    Args:
        root: Output folder: ``bigearthnet_v1/``, ``xbd/`` and ``s2_cogs/`` are made in it.
        n: Number of BigEarthNet S2 patches (and of their S1 partners).
        xbd_ratio: xBD tiles per S2 patch (rounded up; 0 for none).
        cogs: Number of COG chips (default ``n``).
        seed: Seed of every random draw; the same arguments give byte-identical files.

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
    data.files.update(write_xbd(data.xbd_root, data.xbd_tiles, seed))
    data.cogs = n if cogs is None else cogs
    data.files["cog"] = write_cogs(data.cog_root, data.cogs, seed)
    data.seconds = time.perf_counter() - started
    return data
