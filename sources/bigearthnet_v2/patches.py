"""BigEarthNet v2.0 (reBEN) patch files and their georeference.

Holds the folders the archives extract to and the path of a patch's S2 folder, S1 folder and
reference map, the patch-name patterns and positions, the MGRS tile record
(:class:`MgrsTile`, :func:`mgrs_tile`) and the reading of a band header with its check
against the tile named in the patch id.

Layout facts relied on (``shared/docs/source-formats.md`` §2; the files in
``shared/peer-data`` §1b, §6 and §7 that the tests read):

- ``BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_<band>.tif`` with ``tile`` = ``patch_id``
  minus its last two ``_`` parts, e.g. ``S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP`` /
  ``…_T33UUP_26_57``: 12 single-band uint16 files (no B10) at 120/60/20 px for 10/20/60 m,
  nodata 0 (measured on the real patch ``…_T33UUP_75_43``).
- ``BigEarthNet-S1/<scene>/<s1_name>/<s1_name>_{VV,VH}.tif`` with ``scene`` = ``s1_name``
  minus its last three ``_`` parts, e.g. ``S1A_IW_GRDH_1SDV_20170613T165043`` /
  ``…_33UUP_70_48``: float32 dB, 120x120, the v1.0 S1 patches unchanged, on the grid of the
  paired S2 patch.
- ``Reference_Maps/<tile>/<patch_id>/<patch_id>_reference_map.tif``: uint16 CLC-2018 level-3
  codes on the S2 10 m grid, 999 where CLC data is unavailable.
- Patch positions: x and y count 1200 m steps from the tile's upper-left corner; the S2 id pads
  them to two digits, the S1 name does not (``…_T29UPU_00_85`` / ``…_29UPU_0_85``).

Georeference check: the band header's CRS must be the UTM zone of the MGRS tile named in the
patch id (``T33UUP`` → EPSG:32633) and the footprint must lie in the tile's latitude band
(± 1.5°); otherwise the unit fails with ``bad_metadata``. This rejects torchgeo's layout
fixture, whose bands all sit at UTM 32N (0, 0), even for the T33UUP patch.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.bigearthnet_v1.rasters import crs_string
from eoinstruct.sources.geo import footprint_from_box

S2_DIR = "BigEarthNet-S2"
"""Folder that ``BigEarthNet-S2.tar.zst`` extracts to."""

S1_DIR = "BigEarthNet-S1"
"""Folder that ``BigEarthNet-S1.tar.zst`` extracts to."""

MAPS_DIR = "Reference_Maps"
"""Folder that ``Reference_Maps.tar.zst`` extracts to."""

REFERENCE_MAP_UNAVAILABLE = 999
"""Reference-map value where CLC-2018 data is unavailable."""

LATITUDE_MARGIN_DEG = 1.5
"""How far (degrees) a footprint may lie outside its MGRS latitude band (tiles overlap it)."""

_TILE = r"(\d{2}[C-HJ-NP-X][A-Z]{2})"

_S2_ID = re.compile(
    rf"^S2([AB])_MSI(L\d[A-Z]?)_(\d{{8}}T\d{{6}})_N\d{{4}}_R(\d{{3}})_T{_TILE}_(\d+)_(\d+)$"
)

_S1_ID = re.compile(
    rf"^S1[AB]_[A-Z0-9]{{2}}_[A-Z]{{4}}_\d[A-Z]{{3}}_(\d{{8}}T\d{{6}})_{_TILE}_\d+_\d+$"
)

_LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"


def s2_patch_folder(root: Path, patch_id: str) -> Path:
    """Return the folder of an S2 patch: ``BigEarthNet-S2/<tile>/<patch_id>``.

    Args:
        root: The dataset root.
        patch_id: The S2 patch id.

    Returns:
        The folder path (whether or not it exists).
    """
    return Path(root) / S2_DIR / patch_id.rsplit("_", 2)[0] / patch_id


def s1_patch_folder(root: Path, s1_name: str) -> Path:
    """Return the folder of an S1 patch: ``BigEarthNet-S1/<scene>/<s1_name>``.

    Args:
        root: The dataset root.
        s1_name: The S1 patch name.

    Returns:
        The folder path (whether or not it exists).
    """
    return Path(root) / S1_DIR / s1_name.rsplit("_", 3)[0] / s1_name


def reference_map_path(root: Path, patch_id: str) -> Path:
    """Return the reference map of an S2 patch.

    Args:
        root: The dataset root.
        patch_id: The S2 patch id.

    Returns:
        ``Reference_Maps/<tile>/<patch_id>/<patch_id>_reference_map.tif`` (whether or not it
        exists).
    """
    tile = patch_id.rsplit("_", 2)[0]
    return Path(root) / MAPS_DIR / tile / patch_id / f"{patch_id}_reference_map.tif"


@dataclass(frozen=True)
class MgrsTile:
    """What an MGRS tile id says about where its patches are.

    Attributes:
        tile: The tile id without the ``T`` prefix, e.g. ``33UUP``.
        zone: UTM zone number.
        north: Whether the latitude band is in the northern hemisphere.
        lat_south: Southern edge of the latitude band (degrees).
        lat_north: Northern edge of the latitude band (degrees).
    """

    tile: str
    zone: int
    north: bool
    lat_south: float
    lat_north: float

    @property
    def epsg(self) -> int:
        """EPSG code of the WGS 84 / UTM zone of the tile (326zz or 327zz)."""
        return (32600 if self.north else 32700) + self.zone


def mgrs_tile(tile: str) -> MgrsTile:
    """Parse an MGRS tile id such as ``T33UUP`` or ``33UUP``.

    Args:
        tile: The tile id, with or without the ``T`` prefix of Sentinel-2 names.

    Returns:
        Its UTM zone and latitude band.

    Raises:
        ValueError: If the id is not a valid MGRS grid square.
    """
    text = tile[1:] if tile.startswith("T") else tile
    match = re.fullmatch(r"(\d{2})([C-HJ-NP-X])[A-Z]{2}", text)
    if not match or not 1 <= int(match.group(1)) <= 60:
        raise ValueError(f"not an MGRS tile id: {tile!r}")
    index = _LAT_BANDS.index(match.group(2))
    south = -80.0 + 8.0 * index
    north = 84.0 if match.group(2) == "X" else south + 8.0
    return MgrsTile(text, int(match.group(1)), south >= 0, south, north)


@dataclass(frozen=True)
class _Geo:
    """What the header of a band file says about the patch."""

    crs: str
    footprint: str
    width: int
    height: int


def _position(name: str) -> tuple[str, int, int] | None:
    """Return (MGRS tile, x, y) of an S2 patch id or S1 name, or None if unparseable."""
    parts = name.split("_")
    if len(parts) < 3 or not (parts[-1].isdigit() and parts[-2].isdigit()):
        return None
    return parts[-3].removeprefix("T"), int(parts[-2]), int(parts[-1])


def _iso(stamp: str) -> str:
    """Convert a ``YYYYMMDDThhmmss`` name stamp to ISO 8601 UTC."""
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")


def _georeference(path: Path, tile: MgrsTile, name: str, unit: str) -> _Geo:
    """Read CRS, size and corners from a band header and check them against the MGRS tile.

    Args:
        path: A 10 m band file of the patch.
        tile: The MGRS tile named in the patch name.
        name: The patch name (for messages).
        unit: The unit (for errors).

    Returns:
        The CRS as text, the lon/lat footprint and the grid size.

    Raises:
        SourceError: ``corrupt_raster`` if the header cannot be read; ``bad_metadata`` if it
            has no CRS, no extent, a CRS other than the tile's UTM zone, or a footprint
            outside the tile's latitude band.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                crs: CRS | None = dataset.crs
                left, bottom, right, top = dataset.bounds
                width, height = dataset.width, dataset.height
    except RasterioError as exc:
        raise SourceError(
            "corrupt_raster", f"{path}: cannot read the GeoTIFF header: {exc}", unit
        ) from exc
    if crs is None:
        raise SourceError("bad_metadata", f"{path}: the GeoTIFF header has no CRS", unit)
    footprint = (
        footprint_from_box((left, top, right, bottom), crs) if right > left and top > bottom else ""
    )
    if not footprint:
        raise SourceError(
            "bad_metadata",
            f"{path}: bounds {(left, bottom, right, top)} in {crs_string(crs)} give no "
            "lon/lat footprint",
            unit,
        )
    epsg = crs.to_epsg()
    latitude = shapely.from_wkt(footprint).centroid.y
    band = (tile.lat_south - LATITUDE_MARGIN_DEG, tile.lat_north + LATITUDE_MARGIN_DEG)
    if (epsg is not None and epsg != tile.epsg) or not band[0] <= latitude <= band[1]:
        raise SourceError(
            "bad_metadata",
            f"{path}: header georeference (EPSG:{epsg}, centre latitude {latitude:.3f}) does "
            f"not match MGRS tile {tile.tile} of {name} (EPSG:{tile.epsg}, latitude "
            f"{tile.lat_south:g} to {tile.lat_north:g})",
            unit,
        )
    return _Geo(crs_string(crs), footprint, width, height)
