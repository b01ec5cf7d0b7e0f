"""Source adapter for BigEarthNet v1.0: Sentinel-2 and Sentinel-1 patches ("BigEarthNet-MM").

One unit is one patch folder, ``s2/<S2 patch>`` or ``s1/<S1 patch>``, and gives one
:class:`~pipeline.records.Sample`. Reading is metadata-only: the labels JSON is parsed and
the band files are located, but no pixel is read (a later stage does that). A band file's
header is opened only when the JSON lacks a usable projection or usable corner coordinates.

Layout facts relied on (see ``shared/docs/source-formats.md`` §1, and the files in
``shared/peer-data`` §1a, §8a, §8b that the tests read):

- The archives extract to ``BigEarthNet-v1.0/`` (S2; no "S2" in the name) and
  ``BigEarthNet-S1-v1.0/`` (S1), each holding one flat folder per patch (torchgeo
  ``tests/data/bigearthnet/v1``; kai-tub/bigearthnet_common example archives).
- An S2 folder holds 12 single-band GeoTIFFs ``<name>_<band>.tif`` (B01 to B12 and B8A, no B10)
  at 120/60/20 px for 10/20/60 m; an S1 folder holds ``<name>_VV.tif`` and ``<name>_VH.tif``
  (float32 dB). Files are found by their ``_<band>.tif`` suffix, because torchgeo's fixture
  has an S1 folder ``…_61_42`` whose files are named ``…_61_42_41_*``.
- The band order B01, B02, B03, B04, B05, B06, B07, B08, B8A, B09, B11, B12 is torchgeo's
  (``torchgeo/datasets/bigearthnet.py``).
- ``<name>_labels_metadata.json``: S2 keys ``labels, coordinates{ulx,uly,lrx,lry},
  projection, tile_source, acquisition_date`` ("YYYY-MM-DD hh:mm:ss"); S1 keys ``labels,
  coordinates{ulx,uly,lrx,lly}`` (the real ``lly`` typo), ``projection,
  corresponding_s2_patch, scene_source, acquisition_time`` ("YYYY-MM-DDThh:mm:ss")
  (kai-tub/bigearthnet_common ``constants.py`` ``BEN_S2_V1_0_JSON_KEYS`` /
  ``BEN_S1_V1_0_JSON_KEYS`` and ``archive_bugs.md``). ``projection`` is a WKT string, the
  corner coordinates are in that CRS, and labels are CLC-2018 level-3 names (43 classes).
- S1 is paired to S2 only through ``corresponding_s2_patch``.
- Patch names: ``S2[AB]_MSIL2A_<date>T<time>_<h>_<v>`` and
  ``S1[AB]_IW_GRDH_1SDV_<date>T<time>_<tile>_<h>_<v>`` (``BEN_S2_RE`` / ``BEN_S1_RE`` in
  kai-tub/bigearthnet_common); platform, mode, product type and polarisations are parsed
  from them.
- Splits: the BigEarthNet-MM CSVs as torchgeo names them, ``bigearthnet-{train,val,test}.csv``
  (no header, rows ``<s2>,<s1>``), or the original S2-only lists ``{train,val,test}.csv``
  (one S2 name per line). ``val`` becomes ``validation``.

What the adapter does with torchgeo's layout fixture, whose JSON has empty ``projection`` and
all-zero corner coordinates: the CRS comes from the first band file's header (EPSG:4326
there), the footprint stays empty (the filter stage drops such samples as having no
geolocation) and the image size comes from the band headers.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rasterio
from rasterio.crs import CRS
from rasterio.errors import CRSError, RasterioIOError

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.bigearthnet_classes import CLC43_NAMES
from eoinstruct.sources.geo import footprint_from_box
from eoinstruct.sources.options import parse_sensors
from eoinstruct.sources.sensors import SENTINEL2_L2A_ORDER

S2_DIR = "BigEarthNet-v1.0"
"""Folder that ``BigEarthNet-S2-v1.0.tar.gz`` extracts to."""

S1_DIR = "BigEarthNet-S1-v1.0"
"""Folder that ``BigEarthNet-S1-v1.0.tar.gz`` extracts to."""

S2_BANDS: tuple[str, ...] = SENTINEL2_L2A_ORDER
"""Sentinel-2 bands of a BigEarthNet v1 patch, in the order they are read."""

S1_BANDS: tuple[str, ...] = ("VV", "VH")
"""Sentinel-1 polarisations of a BigEarthNet v1 patch, in the order they are read."""

SENSORS: tuple[str, ...] = ("s2", "s1")
"""Values of the ``sensors`` option and prefixes of unit ids."""

GRID_M = 10.0
"""Pixel size in metres of the reference (finest) grid of both sensors."""

SPLIT_FILES: tuple[tuple[str, str], ...] = (
    ("train", "train"),
    ("val", "validation"),
    ("test", "test"),
)
"""(file stem, split name) of the split lists."""

_LABELS_JSON = "_labels_metadata.json"
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
_MGRS_IN_SAFE = re.compile(r"_T(\d{2}[C-X][A-Z]{2})_")
_S2_NAME = re.compile(r"^S2([AB])_MSI(L\d[A-Z]?)_")
_S1_NAME = re.compile(r"^S1([AB])_([A-Z]{2}|S\d)_([A-Z]{3})[HMF_]?_\d[A-Z]([SD])([HV])_")
_POLARISATIONS = {("D", "V"): "VV+VH", ("D", "H"): "HH+HV", ("S", "V"): "VV", ("S", "H"): "HH"}


@dataclass(frozen=True)
class _Sensor:
    """What differs between the S2 and the S1 half of the dataset."""

    folder: str
    bands: tuple[str, ...]
    modality: str
    sensor: str
    encoding: str
    lower_keys: tuple[str, ...]
    time_key: str


_SENSORS: dict[str, _Sensor] = {
    "s2": _Sensor(
        folder=S2_DIR,
        bands=S2_BANDS,
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        encoding="reflectance_1e4",
        lower_keys=("lry",),
        time_key="acquisition_date",
    ),
    "s1": _Sensor(
        folder=S1_DIR,
        bands=S1_BANDS,
        modality="sar",
        sensor="Sentinel-1 C-SAR",
        encoding="sar_db",
        lower_keys=("lly", "lry"),
        time_key="acquisition_time",
    ),
}


@dataclass(frozen=True)
class _Splits:
    """Official split of each S2 and S1 patch name found in the split lists."""

    s2: dict[str, str]
    s1: dict[str, str]


class BigEarthNetV1(SourceAdapter):
    """Reader of BigEarthNet v1.0 S2 and S1 patch folders, one sample per patch.

    Args:
        root: Folder holding ``BigEarthNet-v1.0/`` and/or ``BigEarthNet-S1-v1.0/`` and,
            optionally, the split CSVs.
        options: ``sensors``: list of ``"s2"`` and/or ``"s1"`` (default both).

    Raises:
        SourceNotFoundError: If the root is missing or holds neither patch folder of the
            selected sensors.
        ValueError: If ``sensors`` names an unknown sensor or is empty.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.sensors: tuple[str, ...] = parse_sensors(
            self.options.get("sensors", SENSORS), SENSORS, self.name
        )
        self._splits: _Splits | None = None
        self._sensor_dirs()

    def _sensor_dirs(self) -> dict[str, Path]:
        """Return the existing patch folders of the selected sensors.

        Raises:
            SourceNotFoundError: If none of them exists.
        """
        dirs = {s: self.root / _SENSORS[s].folder for s in self.sensors}
        present = {s: d for s, d in dirs.items() if d.is_dir()}
        if not present:
            wanted = " and/or ".join(f"{_SENSORS[s].folder}/" for s in self.sensors)
            raise SourceNotFoundError(
                f"{self.name}: {self.root} holds no {wanted} (sensors {list(self.sensors)}); "
                "extract BigEarthNet-S2-v1.0.tar.gz / BigEarthNet-S1-v1.0.tar.gz into it, or "
                f"point sources.{self.name}.root in params.yaml at the folder that holds them"
            )
        return present

    def list_units(self) -> list[str]:
        """List the patch folders of the selected sensors.

        Returns:
            Sorted unit ids ``s2/<patch>`` and ``s1/<patch>``.

        Raises:
            SourceNotFoundError: If neither patch folder of the selected sensors exists.
        """
        units = [
            f"{sensor}/{entry.name}"
            for sensor, folder in self._sensor_dirs().items()
            for entry in folder.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        ]
        return sorted(units)

    def unit_files(self, unit: str) -> list[Path]:
        """List the files of a patch folder (for change detection on re-runs).

        Args:
            unit: ``s2/<patch>`` or ``s1/<patch>``.

        Returns:
            The folder's files, sorted; empty if the unit id or folder is unknown.
        """
        sensor_key, _, patch = unit.partition("/")
        if sensor_key not in _SENSORS:
            return []
        folder = self.root / _SENSORS[sensor_key].folder / patch
        return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one patch folder into a sample (metadata only).

        Args:
            unit: ``s2/<patch>`` or ``s1/<patch>``.

        Returns:
            A list holding the patch's one sample.

        Raises:
            SourceError: ``missing_file`` if the folder or its labels JSON is missing,
                ``missing_band`` if a band file is missing, ``malformed_label`` if the JSON
                is unparseable, lacks ``labels``/``coordinates`` or names an unknown class,
                ``bad_metadata`` if the acquisition time is unparseable or the image size
                cannot be determined.
            ValueError: If ``unit`` is not of the form ``s2/<patch>`` or ``s1/<patch>``.
        """
        sensor_key, _, patch = unit.partition("/")
        if sensor_key not in _SENSORS or not patch or "/" in patch:
            raise ValueError(
                f"{self.name}: bad unit id {unit!r}; expected s2/<patch> or s1/<patch>"
            )
        spec = _SENSORS[sensor_key]
        folder = self.root / spec.folder / patch
        if not folder.is_dir():
            raise SourceError("missing_file", f"patch folder {folder} does not exist", unit)

        json_path = _find_labels_json(folder, patch, unit)
        meta = _load_json(json_path, unit)
        classes = _parse_labels(meta, json_path, unit)
        box = _parse_box(meta, spec.lower_keys, json_path, unit)
        files = find_band_files(folder, patch, spec.bands, unit)
        acquired = _parse_time(meta.get(spec.time_key), spec.time_key, json_path, unit)

        crs = _crs_from_wkt(meta.get("projection"))
        if crs is None:
            crs = _crs_from_headers(files)
        crs_text = crs_string(crs) if crs is not None else ""

        if box is not None:
            ulx, uly, lrx, lry = box
            width = round((lrx - ulx) / GRID_M)
            height = round((uly - lry) / GRID_M)
            footprint = footprint_from_box(box, crs) if crs is not None else ""
        else:
            width, height = _size_from_headers(files, json_path, unit)
            footprint = ""

        if sensor_key == "s2":
            tags = _s2_tags(patch, meta)
            split = self._split_table().s2.get(patch, "")
        else:
            tags = s1_name_tags(patch, meta)
            splits = self._split_table()
            split = splits.s1.get(patch) or splits.s2.get(tags.get("paired_s2_patch", ""), "")

        image = ImageRef(
            role="image",
            files=tuple(str(f) for f in files),
            bands=spec.bands,
            encoding=spec.encoding,
            width=width,
            height=height,
        )
        sample = Sample(
            sample_id=f"{self.name}:{patch}",
            source=self.name,
            native_id=patch,
            modality=spec.modality,
            sensor=spec.sensor,
            bands=spec.bands,
            gsd_m=GRID_M,
            crs=crs_text,
            footprint_wkt=footprint,
            acquired=acquired,
            images=(image,),
            tags=tags,
            labels=Labels(scheme="clc43", classes=classes),
            licence=self.licence,
            split=split,
        )
        return [sample]

    def _split_table(self) -> _Splits:
        """Load the split lists once (lazily) and return them."""
        if self._splits is None:
            self._splits = _load_splits(self.root)
        return self._splits


def _load_splits(root: Path) -> _Splits:
    """Read the split lists under ``root``.

    The BigEarthNet-MM CSVs (``bigearthnet-*.csv``) come first; the S2-only lists
    (``train.csv`` …) fill in S2 names the former do not list.

    Args:
        root: The dataset root.

    Returns:
        The split of every listed S2 and S1 patch name.
    """
    s2: dict[str, str] = {}
    s1: dict[str, str] = {}
    for prefix in ("bigearthnet-", ""):
        for stem, split in SPLIT_FILES:
            path = root / f"{prefix}{stem}.csv"
            if not path.is_file():
                continue
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.reader(handle):
                    cells = [c.strip() for c in row]
                    if cells and cells[0]:
                        s2.setdefault(cells[0], split)
                    if len(cells) > 1 and cells[1]:
                        s1.setdefault(cells[1], split)
    return _Splits(s2=s2, s1=s1)


def _find_labels_json(folder: Path, patch: str, unit: str) -> Path:
    """Locate a patch's labels JSON (the one named after the folder if several).

    Raises:
        SourceError: ``missing_file`` if there is none.
    """
    preferred = folder / f"{patch}{_LABELS_JSON}"
    if preferred.is_file():
        return preferred
    candidates = sorted(p for p in folder.glob(f"*{_LABELS_JSON}") if p.is_file())
    if not candidates:
        raise SourceError("missing_file", f"{folder} has no *{_LABELS_JSON}", unit)
    return candidates[0]


def _load_json(path: Path, unit: str) -> dict[str, Any]:
    """Parse the labels JSON into a dict.

    Raises:
        SourceError: ``missing_file`` if unreadable, ``malformed_label`` if not a JSON object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError("malformed_label", f"{path} is not UTF-8 text: {exc}", unit) from exc
    except OSError as exc:
        raise SourceError("missing_file", f"cannot read {path}: {exc}", unit) from exc
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError("malformed_label", f"{path} is not valid JSON: {exc}", unit) from exc
    if not isinstance(meta, dict):
        raise SourceError("malformed_label", f"{path} holds no JSON object", unit)
    return meta


def _parse_labels(meta: Mapping[str, Any], path: Path, unit: str) -> tuple[str, ...]:
    """Return the sorted, unique CLC-43 class names of the JSON's ``labels``.

    Raises:
        SourceError: ``malformed_label`` if ``labels`` is missing, not a list of strings, or
            names a class outside the 43 BigEarthNet v1 classes.
    """
    labels = meta.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise SourceError("malformed_label", f"{path}: 'labels' is missing or not a list", unit)
    unknown = sorted({x for x in labels if x not in CLC43_NAMES})
    if unknown:
        raise SourceError(
            "malformed_label", f"{path}: labels not among the 43 CLC classes: {unknown}", unit
        )
    return tuple(sorted(set(labels)))


def _parse_box(
    meta: Mapping[str, Any], lower_keys: Sequence[str], path: Path, unit: str
) -> tuple[float, float, float, float] | None:
    """Return the corner coordinates ``(ulx, uly, lrx, lry)``, or None if degenerate.

    Args:
        meta: The parsed JSON.
        lower_keys: Accepted names of the lower y coordinate (``lly`` is the S1 typo).
        path: The JSON's path, for messages.
        unit: The unit, for errors.

    Returns:
        The box, or ``None`` if it has no area (torchgeo's fixture has all zeros).

    Raises:
        SourceError: ``malformed_label`` if ``coordinates`` or one of its keys is missing or
            not a number.
    """
    coords = meta.get("coordinates")
    if not isinstance(coords, dict):
        raise SourceError("malformed_label", f"{path}: 'coordinates' is missing", unit)
    lower = next((k for k in lower_keys if k in coords), lower_keys[0])
    values: list[float] = []
    for key in ("ulx", "uly", "lrx", lower):
        value = coords.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SourceError(
                "malformed_label", f"{path}: coordinates.{key} is missing or not a number", unit
            )
        if not math.isfinite(value):
            raise SourceError("malformed_label", f"{path}: coordinates.{key} is not finite", unit)
        values.append(float(value))
    ulx, uly, lrx, lry = values
    if lrx <= ulx or uly <= lry:
        return None
    return ulx, uly, lrx, lry


def find_band_files(folder: Path, patch: str, bands: Sequence[str], unit: str) -> list[Path]:
    """Find one ``*_<band>.tif`` per band (the file prefix need not equal the folder name).

    Raises:
        SourceError: ``missing_band`` naming every band without a file.
    """
    tifs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".tif" and p.is_file())
    found: list[Path] = []
    missing: list[str] = []
    for band in bands:
        matches = [p for p in tifs if p.stem.endswith(f"_{band}")]
        exact = [p for p in matches if p.stem == f"{patch}_{band}"]
        if exact or matches:
            found.append((exact or matches)[0])
        else:
            missing.append(band)
    if missing:
        raise SourceError("missing_band", f"{folder}: no *_<band>.tif file for {missing}", unit)
    return found


def _parse_time(value: object, key: str, path: Path, unit: str) -> tuple[str, ...]:
    """Convert the JSON acquisition time to ``("YYYY-MM-DDThh:mm:ssZ",)`` (UTC).

    Returns:
        One ISO 8601 time, or an empty tuple if the key is missing or empty.

    Raises:
        SourceError: ``bad_metadata`` if the value is present but unparseable.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        for fmt in _TIME_FORMATS:
            try:
                return (datetime.strptime(value.strip(), fmt).strftime("%Y-%m-%dT%H:%M:%SZ"),)
            except ValueError:
                continue
    raise SourceError("bad_metadata", f"{path}: cannot parse {key}={value!r}", unit)


def _crs_from_wkt(wkt: object) -> CRS | None:
    """Parse the JSON ``projection`` WKT, or return None if missing or unparseable."""
    if not isinstance(wkt, str) or not wkt.strip():
        return None
    try:
        return CRS.from_wkt(wkt)
    except CRSError:
        return None


def _crs_from_headers(files: Sequence[Path]) -> CRS | None:
    """Return the CRS of the first band file whose header can be read and has one."""
    for path in files:
        try:
            with rasterio.open(path) as dataset:
                if dataset.crs is not None:
                    return dataset.crs
        except RasterioIOError:
            continue
    return None


def crs_string(crs: CRS) -> str:
    """Format a CRS as ``EPSG:<code>``, or as WKT if it has no EPSG code."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _size_from_headers(files: Sequence[Path], path: Path, unit: str) -> tuple[int, int]:
    """Return the largest width and height among the band headers (the 10 m grid).

    Raises:
        SourceError: ``bad_metadata`` if no header can be read.
    """
    sizes: list[tuple[int, int]] = []
    for band_file in files:
        try:
            with rasterio.open(band_file) as dataset:
                sizes.append((dataset.width, dataset.height))
        except RasterioIOError:
            continue
    if not sizes:
        raise SourceError(
            "bad_metadata",
            f"{path}: corner coordinates have no extent and no band header is readable",
            unit,
        )
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def _s2_tags(patch: str, meta: Mapping[str, Any]) -> dict[str, str]:
    """Tags of an S2 patch: platform and processing level (name), MGRS tile (tile_source)."""
    tags: dict[str, str] = {}
    match = _S2_NAME.match(patch)
    if match:
        tags["platform"] = f"Sentinel-2{match.group(1)}"
        tags["processing_level"] = match.group(2)
    tile_source = meta.get("tile_source")
    if isinstance(tile_source, str):
        tile = _MGRS_IN_SAFE.search(tile_source)
        if tile:
            tags["mgrs_tile"] = f"T{tile.group(1)}"
    return tags


def s1_name_tags(patch: str, meta: Mapping[str, Any]) -> dict[str, str]:
    """Tags of an S1 patch: platform, mode, product, polarisations (name) and S2 partner."""
    tags: dict[str, str] = {}
    match = _S1_NAME.match(patch)
    if match:
        platform, mode, product, count, pol = match.groups()
        tags["platform"] = f"Sentinel-1{platform}"
        tags["instrument_mode"] = mode
        tags["product_type"] = product
        tags["polarisations"] = _POLARISATIONS[(count, pol)]
    partner = meta.get("corresponding_s2_patch")
    if isinstance(partner, str) and partner.strip():
        tags["paired_s2_patch"] = partner.strip()
    return tags
