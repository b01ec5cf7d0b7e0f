"""Source adapter for BigEarthNet v1.0: Sentinel-2 and Sentinel-1 patches ("BigEarthNet-MM").

One unit is one patch folder, ``s2/<S2 patch>`` or ``s1/<S1 patch>``, and gives one
:class:`~eoinstruct.pipeline.records.Sample`. Reading is metadata-only: the labels JSON is parsed
and
the band files are located, but no pixel is read (a later stage does that). A band file's
header is opened only when the JSON lacks a usable projection or usable corner coordinates.

The adapter class here locates the patches and assembles each sample; its helpers live beside
it: :mod:`~eoinstruct.sources.bigearthnet_v1.metadata` (labels JSON, patch names),
:mod:`~eoinstruct.sources.bigearthnet_v1.rasters` (band files, CRS) and
:mod:`~eoinstruct.sources.bigearthnet_v1.splits` (split lists); the footprint and the
``sensors`` option use the shared :mod:`~eoinstruct.sources.geo` and
:mod:`~eoinstruct.sources.options`.

Layout facts relied on (see ``shared/docs/source-formats.md`` §1, and the files in
``shared/peer-data`` §1a, §8a, §8b that the tests read):

- The archives extract to ``BigEarthNet-v1.0/`` (S2; no "S2" in the name) and
  ``BigEarthNet-S1-v1.0/`` (S1), each holding one flat folder per patch (torchgeo
  ``tests/data/bigearthnet/v1``; kai-tub/bigearthnet_common example archives).
- The band order B01, B02, B03, B04, B05, B06, B07, B08, B8A, B09, B11, B12 is torchgeo's
  (``torchgeo/datasets/bigearthnet.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.bigearthnet_v1.metadata import (
    _LABELS_JSON,
    _find_labels_json,
    _load_json,
    _parse_box,
    _parse_labels,
    _parse_time,
    _s2_tags,
    s1_name_tags,
)
from eoinstruct.sources.bigearthnet_v1.rasters import (
    GRID_M,
    _crs_from_headers,
    _size_from_headers,
    crs_and_string_from_wkt,
    crs_string,
    pick_band_names,
    scandir_file_stats,
)
from eoinstruct.sources.bigearthnet_v1.splits import SENSORS, _load_splits, _Splits
from eoinstruct.sources.geo import footprint_from_box, footprints_from_boxes
from eoinstruct.sources.options import parse_sensors
from eoinstruct.sources.sensors import SENTINEL2_L2A_ORDER

if TYPE_CHECKING:  # rasterio is imported on first use
    from rasterio.crs import CRS

S2_DIR = "BigEarthNet-v1.0"
"""Folder that ``BigEarthNet-S2-v1.0.tar.gz`` extracts to."""

S1_DIR = "BigEarthNet-S1-v1.0"
"""Folder that ``BigEarthNet-S1-v1.0.tar.gz`` extracts to."""

S2_BANDS: tuple[str, ...] = SENTINEL2_L2A_ORDER
"""Sentinel-2 bands of a BigEarthNet v1 patch, in the order they are read."""

S1_BANDS: tuple[str, ...] = ("VV", "VH")
"""Sentinel-1 polarisations of a BigEarthNet v1 patch, in the order they are read."""


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
        self._sensor_roots: dict[str, str] = {}
        self._listings: dict[str, tuple[str, ...]] = {}
        self._listing_room = 0
        self._sensor_dirs()

    def __getstate__(self) -> dict[str, Any]:
        """The adapter without its kept listings (a worker lists its folders itself)."""
        state = dict(self.__dict__)
        state["_listings"] = {}
        state["_listing_room"] = 0
        return state

    def keep_listings(self, limit: int) -> None:
        """Keep what :meth:`unit_file_stats` lists, for reading, of up to ``limit`` folders.

        Ingest's plan stats every unit's files; with this a unit read afterwards takes its
        folder's file names from there instead of listing the folder again (each kept listing
        is used once, then dropped). ``limit`` bounds the memory held between the two.
        """
        self._listing_room = max(0, limit)

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
                "extract BigEarthNet-S2-v1.0.tar.gz / BigEarthNet-S1-v1.0.tar.gz into it"
            )
        return present

    def list_units(self) -> list[str]:
        """List the patch folders of the selected sensors.

        Returns:
            Sorted unit ids ``s2/<patch>`` and ``s1/<patch>``.

        Raises:
            SourceNotFoundError: If neither patch folder of the selected sensors exists.
        """
        units = []
        for sensor, folder in self._sensor_dirs().items():
            with os.scandir(folder) as entries:  # is_dir from the listing: no stat per patch
                units += [
                    f"{sensor}/{entry.name}"
                    for entry in entries
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

    def unit_file_stats(self, unit: str) -> list[tuple[str, int, int]]:
        """Stat a patch folder's files with one ``os.scandir``.

        The same files and order as :meth:`unit_files`: plain files or links to them, by name.

        Args:
            unit: ``s2/<patch>`` or ``s1/<patch>``.

        Returns:
            ``(path, size, mtime_ns)`` per file; empty if the unit id or folder is unknown.
        """
        sensor_key, _, patch = unit.partition("/")
        if sensor_key not in _SENSORS:
            return []
        root = self._sensor_root(sensor_key)
        folder = f"{root}/{patch}" if patch else root
        if self._listing_room <= 0 or not patch or "/" in patch:
            return scandir_file_stats(folder)
        kept = len(self._listings)
        stats = scandir_file_stats(folder, self._listings)
        self._listing_room -= len(self._listings) - kept
        return stats

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
        pending = self._pending(unit, (self.name, self.licence))
        footprint = ""
        if pending.box is not None and pending.crs is not None:
            footprint = footprint_from_box(pending.box, pending.crs)
        return [_finish(pending, footprint)]

    def read_units(self, units: Sequence[str]) -> list[list[Sample] | Exception]:
        """:meth:`read_unit` of many units, their footprints transformed together.

        Each unit's result is what :meth:`read_unit` returns or raises (the exception is
        returned in its place); the footprints are the same strings, computed by one
        :func:`~eoinstruct.sources.geo.footprints_from_boxes` call per CRS.

        Args:
            units: Unit ids.

        Returns:
            Per unit, in order: its samples, or the exception reading it raised.
        """
        results: list[list[Sample] | Exception] = []
        identity = (self.name, self.licence)  # each read of these imports the facts module
        pending: list[tuple[int, _Pending]] = []
        for unit in units:
            try:
                item = self._pending(unit, identity)
            except Exception:  # read_unit gives the error as it raises it
                try:
                    results.append(self.read_unit(unit))
                except Exception as exc:  # handed back in the unit's place
                    results.append(exc)
                continue
            pending.append((len(results), item))
            results.append([])
        groups: dict[int, list[tuple[int, _Pending]]] = {}
        for slot, item in pending:
            if item.box is not None and item.crs is not None:
                groups.setdefault(id(item.crs), []).append((slot, item))
            else:
                results[slot] = [_finish(item, "")]
        for group in groups.values():
            crs = group[0][1].crs
            boxes = [item.box for _, item in group if item.box is not None]
            footprints = footprints_from_boxes(boxes, crs) if crs is not None else []
            for (slot, item), footprint in zip(group, footprints, strict=True):
                results[slot] = [_finish(item, footprint)]
        return results

    def _pending(self, unit: str, identity: tuple[str, str]) -> _Pending:
        """Everything :meth:`read_unit` reads and checks, all but the footprint.

        ``identity`` is the adapter's ``(name, licence)``.
        """
        sensor_key, _, patch = unit.partition("/")
        if sensor_key not in _SENSORS or not patch or "/" in patch:
            raise ValueError(
                f"{self.name}: bad unit id {unit!r}; expected s2/<patch> or s1/<patch>"
            )
        spec = _SENSORS[sensor_key]
        # the folder as a string (str(root / folder / patch)), listed once: whether it is
        # a folder, its labels JSON and its band files all come from the one os.scandir
        # (or the names kept from the plan's listing: keep_listings)
        folder_text = f"{self._sensor_root(sensor_key)}/{patch}"
        names = self._listings.pop(folder_text, None)
        if names is None:
            try:
                with os.scandir(folder_text) as found:
                    names = tuple(e.name for e in found if e.is_file())
            except (FileNotFoundError, NotADirectoryError):
                raise SourceError(
                    "missing_file", f"patch folder {folder_text} does not exist", unit
                ) from None
        preferred = f"{patch}{_LABELS_JSON}"
        json_path: Path | str
        if preferred in names and not patch.startswith("."):
            json_path = f"{folder_text}/{preferred}"  # str(Path(folder_text) / preferred)
        elif preferred in names:
            json_path = Path(folder_text) / preferred
        else:
            json_path = _find_labels_json(Path(folder_text), patch, unit)
        meta = _load_json(json_path, unit)
        classes = _parse_labels(meta, json_path, unit)
        box = _parse_box(meta, spec.lower_keys, json_path, unit)
        files = [
            f"{folder_text}/{name}"
            for name in pick_band_names(names, folder_text, patch, spec.bands, unit)
        ]
        acquired = _parse_time(meta.get(spec.time_key), spec.time_key, json_path, unit)

        crs, crs_text = crs_and_string_from_wkt(meta.get("projection"))
        if crs is None:
            crs = _crs_from_headers(files)
            crs_text = crs_string(crs) if crs is not None else ""

        if box is not None:
            ulx, uly, lrx, lry = box
            width = round((lrx - ulx) / GRID_M)
            height = round((uly - lry) / GRID_M)
        else:
            width, height = _size_from_headers(files, json_path, unit)

        splits = self._split_table()
        if sensor_key == "s2":
            tags = {**_s2_tags(patch, meta), **splits.flag_tags(patch)}
            split = splits.s2.get(patch, "")
        else:
            tags = s1_name_tags(patch, meta)
            paired = tags.get("paired_s2_patch", "")
            tags.update(splits.flag_tags(paired))
            split = splits.s1.get(patch) or splits.s2.get(paired, "")
        if splits.flag_problem:
            raise SourceError("bad_metadata", f"{unit}: {splits.flag_problem}", unit)
        if not split and splits.split_problem:
            raise SourceError(
                "bad_metadata",
                f"{unit}: listed in no readable split list, and {splits.split_problem}: it may "
                "be an official test patch; restore the list (or remove every split list for "
                "geographic splits)",
                unit,
            )

        image = ImageRef(
            role="image",
            files=tuple(files),
            bands=spec.bands,
            encoding=spec.encoding,
            width=width,
            height=height,
        )
        return _Pending(
            name=identity[0],
            licence=identity[1],
            patch=patch,
            spec=spec,
            crs=crs,
            crs_text=crs_text,
            box=box,
            acquired=acquired,
            image=image,
            tags=tags,
            classes=classes,
            split=split,
        )

    def _sensor_root(self, sensor_key: str) -> str:
        """``str(root / <the sensor's folder>)``, formed once per sensor."""
        found = self._sensor_roots.get(sensor_key)
        if found is None:
            found = self._sensor_roots[sensor_key] = str(self.root / _SENSORS[sensor_key].folder)
        return found

    def _split_table(self) -> _Splits:
        """Load the split lists once (lazily) and return them."""
        if self._splits is None:
            self._splits = _load_splits(self.root)
        return self._splits


@dataclass(frozen=True)
class _Pending:
    """A patch read and checked, waiting for its footprint (:meth:`BigEarthNetV1.read_units`)."""

    name: str
    licence: str
    patch: str
    spec: _Sensor
    crs: CRS | None
    crs_text: str
    box: tuple[float, float, float, float] | None
    acquired: tuple[str, ...]
    image: ImageRef
    tags: dict[str, str]
    classes: tuple[str, ...]
    split: str


def _finish(pending: _Pending, footprint: str) -> Sample:
    """The sample of a read patch, with its footprint (empty without a box or a CRS)."""
    spec = pending.spec
    return Sample(
        sample_id=f"{pending.name}:{pending.patch}",
        source=pending.name,
        native_id=pending.patch,
        modality=spec.modality,
        sensor=spec.sensor,
        bands=spec.bands,
        gsd_m=GRID_M,
        crs=pending.crs_text,
        footprint_wkt=footprint,
        acquired=pending.acquired,
        images=(pending.image,),
        tags=pending.tags,
        labels=Labels(scheme="clc43", classes=pending.classes),
        licence=pending.licence,
        split=pending.split,
    )
