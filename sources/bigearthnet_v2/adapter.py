"""Source adapter for BigEarthNet v2.0 ("reBEN"): Sentinel-2 and Sentinel-1 patches.

One unit is one row of ``metadata.parquet`` seen through one sensor: ``s2/<patch_id>`` or
``s1/<s1_name>``; each gives one :class:`~eoinstruct.pipeline.records.Sample`. Reading is
metadata-only: the row supplies labels, split, country and flags, the band files are located,
and the header of one 10 m band file is opened for the CRS, the size and the corners (v2 has
no per-patch JSON). No image pixel is read; the patch's reference map (where
``Reference_Maps/`` is there) is read for its class shares
(:mod:`~eoinstruct.sources.bigearthnet_v2.shares`), which both sensors' samples record: an S1
patch is on the grid of the S2 patch its row pairs it with, whose labels it carries.

The adapter class here lists the rows and assembles each sample; its helpers live beside it:
:mod:`~eoinstruct.sources.bigearthnet_v2.metadata` (the Parquet tables and what a row says)
and :mod:`~eoinstruct.sources.bigearthnet_v2.patches` (patch files, MGRS tiles,
georeference). Each states the layout facts (``shared/docs/source-formats.md`` §2) it relies
on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.bigearthnet_v1.adapter import S1_BANDS, S2_BANDS
from eoinstruct.sources.bigearthnet_v1.metadata import s1_name_tags
from eoinstruct.sources.bigearthnet_v1.rasters import GRID_M, find_band_files
from eoinstruct.sources.bigearthnet_v2.metadata import (
    DOWNLOAD_URL,
    FLAG_COLUMNS,
    METADATA_FILE,
    SNOW_CLOUD_FILE,
    PatchRow,
    _classes,
    _flags,
    _Index,
    _row_tags,
    _split,
    check_metadata_schema,
    read_metadata,
)
from eoinstruct.sources.bigearthnet_v2.patches import (
    _S1_ID,
    _S2_ID,
    MAPS_DIR,
    S1_DIR,
    S2_DIR,
    _georeference,
    _iso,
    _position,
    mgrs_tile,
    reference_map_path,
    s1_patch_folder,
    s2_patch_folder,
)
from eoinstruct.sources.bigearthnet_v2.shares import (
    CLASS_SHARES,
    reference_map_shares,
    shares_json,
)
from eoinstruct.sources.options import parse_sensors

SENSORS: tuple[str, ...] = ("s2", "s1")
"""Values of the ``sensors`` option and prefixes of unit ids."""


class BigEarthNetV2(SourceAdapter):
    """Reader of BigEarthNet v2.0 (reBEN) S2 and S1 patches, one sample per patch and sensor.

    Units are ``s2/<patch_id>`` and ``s1/<s1_name>`` for the rows of ``metadata.parquet``
    (sorted). S2 samples carry the patch's reference map in ``labels.rasters``; S1 samples
    carry the labels of the S2 patch they are paired with. Both record the class shares of
    that reference map in ``labels.properties["class_shares"]`` when the map is there.

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
                "into it"
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
            The patch folder's files, the reference map (of the paired S2 patch for S1) and
            the metadata table(s); empty if the unit id is malformed.
        """
        sensor, _, name = unit.partition("/")
        if sensor == "s2" and name:
            folder = s2_patch_folder(self.root, name)
            extra = [reference_map_path(self.root, name)]
        elif sensor == "s1" and name:
            folder = s1_patch_folder(self.root, name)
            rows = self._metadata().by_s1.get(name, [])
            patch = self._metadata().row(rows[0]).patch_id if len(rows) == 1 else ""
            extra = [reference_map_path(self.root, patch)] if patch else []
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
            SourceError: ``missing_file`` if the patch folder (or, for S2 where
                ``Reference_Maps/`` exists, the reference map) is missing; ``missing_band`` if
                a band file is missing; ``malformed_label`` if the row's labels are null, empty
                or not 19-class names; ``bad_metadata`` if the unit has no (or more than one)
                row, the split or name is unparseable, or the band header's CRS or position
                contradicts the MGRS tile; ``corrupt_raster`` if the header or the reference
                map cannot be read.
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
        properties = _flags(row)
        if rasters:
            properties[CLASS_SHARES] = shares_json(reference_map_shares(ref, unit))
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
            labels=Labels(scheme="ben19", classes=classes, properties=properties, rasters=rasters),
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
        properties = _flags(row)
        ref = reference_map_path(self.root, row.patch_id)
        if ref.is_file():  # the paired S2 patch's map, on this patch's grid (checked above)
            properties[CLASS_SHARES] = shares_json(reference_map_shares(ref, unit))
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
            labels=Labels(scheme="ben19", classes=classes, properties=properties),
            licence=self.licence,
            split=split,
        )


def _parse_sensors(value: object) -> tuple[str, ...]:
    """Validate the ``sensors`` option (as BigEarthNet v1 does)."""
    return parse_sensors(value, SENSORS, "bigearthnet_v2")
