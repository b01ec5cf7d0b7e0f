"""Source adapter for BigEarthNet v2.0 ("reBEN"): Sentinel-2 and Sentinel-1 patches.

One unit is one row of ``metadata.parquet`` seen through one sensor: ``s2/<patch_id>`` or
``s1/<s1_name>``; each gives one :class:`~pipeline.records.Sample`. Reading is
metadata-only: the row supplies labels, split, country and flags, the band files are located,
and the header of one 10 m band file is opened for the CRS, the size and the corners (v2 has
no per-patch JSON). No pixel is read.

Layout facts relied on (``shared/docs/source-formats.md`` §2; the files in
``shared/peer-data`` §1b, §6 and §7 that the tests read):

- The official release (https://zenodo.org/records/10891137) holds ``BigEarthNet-S2.tar.zst``,
  ``BigEarthNet-S1.tar.zst``, ``Reference_Maps.tar.zst``, ``metadata.parquet`` and
  ``metadata_for_patches_with_snow_cloud_or_shadow.parquet``; extracted into one folder they
  give ``BigEarthNet-S2/``, ``BigEarthNet-S1/`` and ``Reference_Maps/`` beside the two
  Parquet files (kai-tub/bigearthnet-pipeline ``ben-data-finalizer.nu``).
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
- ``metadata.parquet`` columns ``patch_id, labels (list<string>, 19-class names), split
  (train/validation/test), country, s1_name, s2v1_name, contains_seasonal_snow,
  contains_cloud_or_shadow``; the companion file has the same schema and lists the 69,450
  patches reBEN excluded for seasonal snow or cloud/shadow (measured on the real file).
  torchgeo's layout fixture has only ``patch_id, s1_name, split, labels``, so the other four
  columns are optional here.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES
from eoinstruct.sources.bigearthnet_v1.adapter import (
    GRID_M,
    S1_BANDS,
    S2_BANDS,
    crs_string,
    find_band_files,
    s1_name_tags,
)
from eoinstruct.sources.geo import footprint_from_box
from eoinstruct.sources.options import parse_sensors

S2_DIR = "BigEarthNet-S2"
"""Folder that ``BigEarthNet-S2.tar.zst`` extracts to."""

S1_DIR = "BigEarthNet-S1"
"""Folder that ``BigEarthNet-S1.tar.zst`` extracts to."""

MAPS_DIR = "Reference_Maps"
"""Folder that ``Reference_Maps.tar.zst`` extracts to."""

METADATA_FILE = "metadata.parquet"
"""The patch table of the release (one row per S2/S1 pair)."""

SNOW_CLOUD_FILE = "metadata_for_patches_with_snow_cloud_or_shadow.parquet"
"""The companion table of the patches reBEN left out for seasonal snow or cloud/shadow."""

DOWNLOAD_URL = "https://zenodo.org/records/10891137"
"""Where the release is distributed."""

METADATA_COLUMNS: tuple[str, ...] = (
    "patch_id",
    "labels",
    "split",
    "country",
    "s1_name",
    "s2v1_name",
    "contains_seasonal_snow",
    "contains_cloud_or_shadow",
)
"""The eight columns of the real ``metadata.parquet``, in file order."""

REQUIRED_COLUMNS: tuple[str, ...] = ("patch_id", "labels", "split", "s1_name")
"""Columns without which the table cannot be read (the four torchgeo's fixture has)."""

FLAG_COLUMNS: tuple[str, ...] = ("contains_seasonal_snow", "contains_cloud_or_shadow")
"""Boolean columns that mark snow- or cloud-affected patches."""

REFERENCE_MAP_UNAVAILABLE = 999
"""Reference-map value where CLC-2018 data is unavailable."""

SENSORS: tuple[str, ...] = ("s2", "s1")
"""Values of the ``sensors`` option and prefixes of unit ids."""

SPLITS: dict[str, str] = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "test": "test",
}
"""Accepted ``split`` values (lower-cased) → split name."""

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
_HINT = (
    "point sources.bigearthnet_v2.root in params.yaml at the folder where the reBEN release "
    f"({DOWNLOAD_URL}: metadata.parquet, BigEarthNet-S2.tar.zst, BigEarthNet-S1.tar.zst, "
    "Reference_Maps.tar.zst) is extracted"
)


@dataclass(frozen=True)
class PatchRow:
    """One row of ``metadata.parquet`` (or of the snow/cloud companion), values as stored.

    Attributes:
        patch_id: The S2 patch id, e.g. ``S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57``.
        labels: The 19-class label names, or None where the cell is null.
        split: ``train``, ``validation`` or ``test`` (None where null).
        s1_name: The paired S1 patch name (None where null).
        country: Country name (None where null or the column is absent).
        s2v1_name: The BigEarthNet v1.0 S2 name of the patch (None where null or absent).
        contains_seasonal_snow: Snow flag (None where null or absent).
        contains_cloud_or_shadow: Cloud/shadow flag (None where null or absent).
        source_file: Path of the Parquet file the row comes from.
    """

    patch_id: str
    labels: tuple[object, ...] | None
    split: str | None
    s1_name: str | None
    country: str | None = None
    s2v1_name: str | None = None
    contains_seasonal_snow: bool | None = None
    contains_cloud_or_shadow: bool | None = None
    source_file: str = ""


def read_metadata(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a reBEN metadata table, checking its schema.

    Args:
        path: ``metadata.parquet`` or the snow/cloud companion file.
        columns: Columns to read (default: every known column the file has).

    Returns:
        The table with the known columns the file has (unknown columns are left out).

    Raises:
        SourceNotFoundError: If the file is missing or unreadable, lacks a required column or
            has a column of the wrong type (e.g. ``labels`` as one joined string).
    """
    schema = check_metadata_schema(path)
    wanted = [c for c in (columns or METADATA_COLUMNS) if c in schema.names]
    try:
        return pq.read_table(path, columns=wanted)
    except (pa.ArrowException, OSError) as exc:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path} cannot be read as Parquet ({exc}); {_HINT}"
        ) from exc


def check_metadata_schema(path: Path) -> pa.Schema:
    """Check that a file is a reBEN metadata table, reading only its schema.

    Args:
        path: ``metadata.parquet`` or the snow/cloud companion file.

    Returns:
        The file's Arrow schema.

    Raises:
        SourceNotFoundError: If the file is missing or unreadable, lacks a required column or
            has a column of the wrong type.
    """
    if not path.is_file():
        raise SourceNotFoundError(f"bigearthnet_v2: {path} does not exist; {_HINT}")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path} cannot be read as Parquet ({exc}); {_HINT}"
        ) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path} lacks the column(s) {missing} (has {schema.names}); "
            f"it is not a reBEN metadata table; {_HINT}"
        )
    for name in METADATA_COLUMNS:
        if name in schema.names:
            _check_column_type(path, name, schema.field(name).type)
    return schema


def _check_column_type(path: Path, name: str, dtype: pa.DataType) -> None:
    """Raise SourceNotFoundError if a known column has the wrong Arrow type."""
    if name == "labels":
        ok = (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)) and (
            pa.types.is_string(dtype.value_type) or pa.types.is_large_string(dtype.value_type)
        )
        expected = "list<string>"
    elif name in FLAG_COLUMNS:
        ok, expected = pa.types.is_boolean(dtype), "bool"
    else:
        ok = pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
        expected = "string"
    if not ok:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path}: column {name!r} is {dtype}, expected {expected}"
        )


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


@dataclass
class _Index:
    """The metadata tables and where each listed patch and S1 name is in them."""

    tables: list[tuple[Path, pa.Table]]
    by_patch: dict[str, list[tuple[int, int]]]
    by_s1: dict[str, list[tuple[int, int]]]

    def row(self, where: tuple[int, int]) -> PatchRow:
        """Materialise one row."""
        table_no, row_no = where
        path, table = self.tables[table_no]
        cells = table.slice(row_no, 1).to_pylist()[0]
        labels = cells.get("labels")
        return PatchRow(
            patch_id=str(cells["patch_id"]),
            labels=None if labels is None else tuple(labels),
            split=cells.get("split"),
            s1_name=cells.get("s1_name"),
            country=cells.get("country"),
            s2v1_name=cells.get("s2v1_name"),
            contains_seasonal_snow=cells.get("contains_seasonal_snow"),
            contains_cloud_or_shadow=cells.get("contains_cloud_or_shadow"),
            source_file=str(path),
        )


class BigEarthNetV2(SourceAdapter):
    """Reader of BigEarthNet v2.0 (reBEN) S2 and S1 patches, one sample per patch and sensor.

    Units are ``s2/<patch_id>`` and ``s1/<s1_name>`` for the rows of ``metadata.parquet``
    (sorted). S2 samples carry the patch's reference map in ``labels.rasters``; S1 samples
    carry the labels of the S2 patch they are paired with.

    Args:
        root: Folder holding ``metadata.parquet`` and ``BigEarthNet-S2/`` and/or
            ``BigEarthNet-S1/`` (``Reference_Maps/`` and the snow/cloud file optional).
        options: ``sensors``: list of ``"s2"`` and/or ``"s1"`` (default both; a sensor whose
            folder is absent is not listed). ``include_snow_cloud``: false (default) lists
            neither the companion file's patches nor rows of ``metadata.parquet`` flagged for
            snow or cloud; true lists them too (the companion file must then exist), and
            their flags show in tags and properties.

    Raises:
        SourceNotFoundError: If the root, ``metadata.parquet`` (or a required column of it),
            or every patch folder of the selected sensors is missing.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.sensors = _parse_sensors(self.options.get("sensors", SENSORS))
        include = self.options.get("include_snow_cloud", False)
        if not isinstance(include, bool):
            raise ValueError(
                f"{self.name}: option include_snow_cloud={include!r} must be true or false"
            )
        self.include_snow_cloud = include
        self._index: _Index | None = None
        check_metadata_schema(self.root / METADATA_FILE)
        if include:
            check_metadata_schema(self.root / SNOW_CLOUD_FILE)
        self._sensor_dirs()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the metadata index (a worker reloads it lazily)."""
        state = dict(self.__dict__)
        state["_index"] = None
        return state

    def _sensor_dirs(self) -> dict[str, Path]:
        """Return the existing patch folders of the selected sensors.

        Raises:
            SourceNotFoundError: If none of them exists.
        """
        folders = {"s2": S2_DIR, "s1": S1_DIR}
        present = {s: self.root / folders[s] for s in self.sensors}
        present = {s: d for s, d in present.items() if d.is_dir()}
        if not present:
            wanted = " and/or ".join(f"{folders[s]}/" for s in self.sensors)
            raise SourceNotFoundError(
                f"{self.name}: {self.root} holds no {wanted} (sensors {list(self.sensors)}); "
                f"extract BigEarthNet-S2.tar.zst / BigEarthNet-S1.tar.zst ({DOWNLOAD_URL}) "
                f"into it, or point sources.{self.name}.root in params.yaml at the folder "
                "that holds them"
            )
        return present

    def _metadata(self) -> _Index:
        """Load the metadata tables once and index the listed rows."""
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def _build_index(self) -> _Index:
        tables: list[tuple[Path, pa.Table]] = []
        by_patch: dict[str, list[tuple[int, int]]] = {}
        by_s1: dict[str, list[tuple[int, int]]] = {}
        main = self.root / METADATA_FILE
        companion = self.root / SNOW_CLOUD_FILE
        excluded: set[str] = set()
        if not self.include_snow_cloud and companion.is_file():
            ids = read_metadata(companion, columns=("patch_id",)).column("patch_id")
            excluded = {p for p in ids.to_pylist() if p is not None}
        sources = [main, companion] if self.include_snow_cloud else [main]
        for table_no, path in enumerate(sources):
            table = read_metadata(path)
            tables.append((path, table))
            patch_ids = table.column("patch_id").to_pylist()
            s1_names = table.column("s1_name").to_pylist()
            flagged = [False] * table.num_rows
            if not self.include_snow_cloud:
                for flag in FLAG_COLUMNS:
                    if flag in table.column_names:
                        values = table.column(flag).to_pylist()
                        flagged = [f or v is True for f, v in zip(flagged, values, strict=True)]
            for row_no, (patch_id, s1_name) in enumerate(zip(patch_ids, s1_names, strict=True)):
                if not patch_id or patch_id in excluded or flagged[row_no]:
                    continue
                by_patch.setdefault(patch_id, []).append((table_no, row_no))
                if s1_name:
                    by_s1.setdefault(s1_name, []).append((table_no, row_no))
        return _Index(tables, by_patch, by_s1)

    def list_units(self) -> list[str]:
        """List the patches of the metadata table for the selected sensors.

        Returns:
            Sorted unit ids ``s1/<s1_name>`` and ``s2/<patch_id>``.

        Raises:
            SourceNotFoundError: If the metadata table or every selected patch folder is
                missing.
        """
        index = self._metadata()
        dirs = self._sensor_dirs()
        units: list[str] = []
        if "s2" in dirs:
            units.extend(f"s2/{p}" for p in index.by_patch)
        if "s1" in dirs:
            units.extend(f"s1/{s}" for s in index.by_s1)
        return sorted(units)

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a unit is read from (for change detection on re-runs).

        Args:
            unit: ``s2/<patch_id>`` or ``s1/<s1_name>``.

        Returns:
            The patch folder's files, the reference map (S2) and the metadata table(s);
            empty if the unit id is malformed.
        """
        sensor, _, name = unit.partition("/")
        if sensor == "s2" and name:
            folder = s2_patch_folder(self.root, name)
            extra = [reference_map_path(self.root, name)]
        elif sensor == "s1" and name:
            folder = s1_patch_folder(self.root, name)
            extra = []
        else:
            return []
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        tables = [self.root / METADATA_FILE]
        if self.include_snow_cloud:
            tables.append(self.root / SNOW_CLOUD_FILE)
        return files + [p for p in (*extra, *tables) if p.is_file()]

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one patch into a sample (metadata and one band header only).

        Args:
            unit: ``s2/<patch_id>`` or ``s1/<s1_name>``.

        Returns:
            A list holding the patch's one sample.

        Raises:
            SourceError: ``missing_file`` if the patch folder (or, where ``Reference_Maps/``
                exists, the reference map) is missing; ``missing_band`` if a band file is
                missing; ``malformed_label`` if the row's labels are null, empty or not
                19-class names; ``bad_metadata`` if the unit has no (or more than one) row,
                the split or name is unparseable, or the band header's CRS or position
                contradicts the MGRS tile; ``corrupt_raster`` if the header cannot be read.
            ValueError: If ``unit`` is not of the form ``s2/<name>`` or ``s1/<name>``.
        """
        sensor, _, name = unit.partition("/")
        if sensor not in SENSORS or not name or "/" in name:
            raise ValueError(f"{self.name}: bad unit id {unit!r}; expected s2/<id> or s1/<name>")
        index = self._metadata()
        rows = (index.by_patch if sensor == "s2" else index.by_s1).get(name, [])
        column = "patch_id" if sensor == "s2" else "s1_name"
        tables = ", ".join(str(path) for path, _ in index.tables)
        if len(rows) != 1:
            problem = "has no row" if not rows else f"has {len(rows)} rows"
            raise SourceError(
                "bad_metadata", f"{tables}: {column} {name} {problem} among the listed ones", unit
            )
        row = index.row(rows[0])
        classes = _classes(row, unit)
        split = _split(row, unit)
        if sensor == "s2":
            return [self._s2_sample(row, classes, split, unit)]
        return [self._s1_sample(row, name, classes, split, unit)]

    def _s2_sample(self, row: PatchRow, classes: tuple[str, ...], split: str, unit: str) -> Sample:
        """Build the sample of an S2 patch."""
        patch_id = row.patch_id
        match = _S2_ID.match(patch_id)
        if not match:
            raise SourceError(
                "bad_metadata",
                f"{row.source_file}: patch_id {patch_id!r} is not a reBEN S2 patch id "
                "(S2?_MSIL2A_<time>_N<baseline>_R<orbit>_T<tile>_<x>_<y>)",
                unit,
            )
        platform, level, stamp, orbit, tile, _, _ = match.groups()
        folder = s2_patch_folder(self.root, patch_id)
        if not folder.is_dir():
            raise SourceError("missing_file", f"patch folder {folder} does not exist", unit)
        files = find_band_files(folder, patch_id, S2_BANDS, unit)
        geo = _georeference(files[S2_BANDS.index("B02")], mgrs_tile(tile), patch_id, unit)
        rasters: dict[str, str] = {}
        if (self.root / MAPS_DIR).is_dir():
            ref = reference_map_path(self.root, patch_id)
            if not ref.is_file():
                raise SourceError("missing_file", f"reference map {ref} does not exist", unit)
            rasters["reference_map"] = str(ref)
        tags = {
            "platform": f"Sentinel-2{platform}",
            "processing_level": level,
            "mgrs_tile": f"T{tile}",
            "relative_orbit": str(int(orbit)),
        }
        if row.s1_name:
            tags["paired_s1_patch"] = row.s1_name
        if row.s2v1_name:
            tags["s2v1_name"] = row.s2v1_name
        tags.update(_row_tags(row))
        image = ImageRef(
            role="image",
            files=tuple(str(f) for f in files),
            bands=S2_BANDS,
            encoding="reflectance_1e4",
            width=geo.width,
            height=geo.height,
            display_bands=("B04", "B03", "B02"),
        )
        return Sample(
            sample_id=f"{self.name}:{patch_id}",
            source=self.name,
            native_id=patch_id,
            modality="multispectral",
            sensor="Sentinel-2 MSI",
            bands=S2_BANDS,
            gsd_m=GRID_M,
            crs=geo.crs,
            footprint_wkt=geo.footprint,
            acquired=(_iso(stamp),),
            images=(image,),
            tags=tags,
            labels=Labels(scheme="ben19", classes=classes, properties=_flags(row), rasters=rasters),
            licence=self.licence,
            split=split,
        )

    def _s1_sample(
        self, row: PatchRow, s1_name: str, classes: tuple[str, ...], split: str, unit: str
    ) -> Sample:
        """Build the sample of an S1 patch."""
        match = _S1_ID.match(s1_name)
        if not match:
            raise SourceError(
                "bad_metadata",
                f"{row.source_file}: s1_name {s1_name!r} is not a BigEarthNet S1 patch name "
                "(S1?_IW_GRDH_1SDV_<time>_<tile>_<x>_<y>)",
                unit,
            )
        stamp, tile = match.groups()
        if _position(s1_name) != _position(row.patch_id):
            raise SourceError(
                "bad_metadata",
                f"{row.source_file}: row {row.patch_id} pairs it with S1 patch {s1_name}, "
                "which has another tile or position; its labels would not apply",
                unit,
            )
        folder = s1_patch_folder(self.root, s1_name)
        if not folder.is_dir():
            raise SourceError("missing_file", f"patch folder {folder} does not exist", unit)
        files = find_band_files(folder, s1_name, S1_BANDS, unit)
        geo = _georeference(files[0], mgrs_tile(tile), s1_name, unit)
        tags = s1_name_tags(s1_name, {"corresponding_s2_patch": row.patch_id})
        tags["mgrs_tile"] = f"T{tile}"
        tags.update(_row_tags(row))
        image = ImageRef(
            role="image",
            files=tuple(str(f) for f in files),
            bands=S1_BANDS,
            encoding="sar_db",
            width=geo.width,
            height=geo.height,
            display_bands=("VV", "VH"),
        )
        return Sample(
            sample_id=f"{self.name}:{s1_name}",
            source=self.name,
            native_id=s1_name,
            modality="sar",
            sensor="Sentinel-1 C-SAR",
            bands=S1_BANDS,
            gsd_m=GRID_M,
            crs=geo.crs,
            footprint_wkt=geo.footprint,
            acquired=(_iso(stamp),),
            images=(image,),
            tags=tags,
            labels=Labels(scheme="ben19", classes=classes, properties=_flags(row)),
            licence=self.licence,
            split=split,
        )


def _parse_sensors(value: object) -> tuple[str, ...]:
    """Validate the ``sensors`` option (as BigEarthNet v1 does)."""
    return parse_sensors(value, SENSORS, "bigearthnet_v2")


def _classes(row: PatchRow, unit: str) -> tuple[str, ...]:
    """Return the row's sorted, unique 19-class names.

    Raises:
        SourceError: ``malformed_label`` if the labels are null, empty, not strings or not
            among the 19 BigEarthNet classes.
    """
    where = f"{row.source_file}: row {row.patch_id}"
    if not row.labels:
        raise SourceError("malformed_label", f"{where}: labels are null or empty", unit)
    if not all(isinstance(x, str) for x in row.labels):
        raise SourceError("malformed_label", f"{where}: labels hold a null", unit)
    unknown = sorted({str(x) for x in row.labels if x not in BEN19_NAMES})
    if unknown:
        raise SourceError(
            "malformed_label", f"{where}: labels not among the 19 classes: {unknown}", unit
        )
    return tuple(sorted({str(x) for x in row.labels}))


def _split(row: PatchRow, unit: str) -> str:
    """Return the split name of a row (empty if null).

    Raises:
        SourceError: ``bad_metadata`` if the value is not a known split.
    """
    if row.split is None or not row.split.strip():
        return ""
    split = SPLITS.get(row.split.strip().lower())
    if split is None:
        raise SourceError(
            "bad_metadata",
            f"{row.source_file}: row {row.patch_id}: unknown split {row.split!r}",
            unit,
        )
    return split


def _row_tags(row: PatchRow) -> dict[str, str]:
    """Tags every sample of a row carries: country, and the snow/cloud flags that are set."""
    tags: dict[str, str] = {}
    if row.country and row.country.strip():
        tags["country"] = row.country.strip()
    for flag in FLAG_COLUMNS:
        if getattr(row, flag) is True:
            tags[flag] = "true"
    return tags


def _flags(row: PatchRow) -> dict[str, str]:
    """Label properties: the snow/cloud flags as ``true``/``false`` where the row has them."""
    values = {flag: getattr(row, flag) for flag in FLAG_COLUMNS}
    return {flag: str(v).lower() for flag, v in values.items() if v is not None}


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
