"""STARCOP methane-plume events (AVIRIS-NG over the Permian Basin): one CSV row → one sample.

Layout facts this adapter relies on (``shared/docs/source-formats.md`` section 6, which cites
spaceml-org/STARCOP; the facts below were re-read from that repository, commit c478926):

- The release (Zenodo, https://doi.org/10.5281/zenodo.7863343; Google Drive subsets
  ``STARCOP_test``, ``STARCOP_train_easy``, ``STARCOP_mini``) is a folder holding split CSVs
  (``train.csv``, ``test.csv``, ``train_easy.csv``, ``test_mini10.csv``, ``train_mini10.csv``)
  and one folder per event, ``<root>/<id>/`` (``starcop/data/datamodule.py``
  ``load_dataframe``: ``folder = join(root_folder, id)``; ``notebooks/dataset_exploration.ipynb``).
- An event folder holds single-band GeoTIFFs (COG, 128-pixel blocks, written by georeader's
  ``save_cog`` from ``starcop/data/sampling_dataset.py`` ``WindowDataset.cache_item``):
  ``TOA_AVIRIS_{460,550,640,2004,2109,2310,2350,2360}nm.tif``, ``TOA_WV3_SWIR1..8.tif``,
  ``mag1c.tif``, ``weight_mag1c.tif``, ``labelbinary.tif`` and the 4-band ``label_rgba.tif``.
  ``save_cog`` refuses to write without a CRS and a transform, so the rasters are
  georeferenced in the flight line's map grid (UTM for AVIRIS-NG).
- ``TOA_AVIRIS_<n>nm`` is **not** at-sensor radiance: it is the AVIRIS-NG L1B radiance
  (µW cm⁻² sr⁻¹ nm⁻¹) of the band nearest to ``n`` nm multiplied by ``π d² / cos θs``
  (``starcop/data/aviris.py`` ``observation_date_correction_factor``; the code's own comment
  calls it "normalized radiance because we don't divide by the solar irradiance"), i.e.
  µW cm⁻² nm⁻¹, equal to reflectance × 100 × solar irradiance (W m⁻² nm⁻¹). Typical visible
  values are 20–60 (STARCOP displays RGB as value / 50 or / 60): the pipeline's
  ``normalized_radiance`` encoding (:data:`TOA_ENCODING`), shown with white at 60.
- ``mag1c.tif`` is the mag1c matched-filter methane enhancement in ppm·m (band description
  "CH4 Absorption (ppm x m)" in ``starcop/process_aviris.py``; ``starcop/models/mag1c.py``
  ``rmf``: "units ppm x m"), non-negative (ReLU), clipped to 0–10 000.
- Every product of a tile is saved with nodata 0 (``WindowDataset.__getitem__`` sets
  ``fill_value_default = 0`` and ``save_cog`` writes it as ``nodata``), except
  ``labelbinary`` (no nodata). For ``mag1c`` this makes every zero enhancement "nodata" to
  GDAL readers — see the report.
- ``labelbinary`` is the 0/1 training target: mag1c ≥ 200 ppm·m connected to the hand
  annotation, whose non-transparent ``label_rgba`` pixels mark the annotated plume
  (``starcop/data/mask_creation.py`` ``proposed_mask``).
- CSV columns (the dataset notebook prints ``test_mini10.csv``): ``id, candidate_id, qplume,
  name, folder, date, datetime, window_col_off, window_row_off, window_width, window_height,
  subset, difficulty, label_path, has_plume, window_labels``. CSVs are written with
  ``to_csv(index=True)`` on a frame indexed by ``id``, so ``id`` comes first; files edited
  by hand may carry a leading unnamed pandas index column (``""`` or ``Unnamed: 0``), which
  is ignored. ``folder`` is the authors' stale absolute path (ignored for reading).
- ``qplume`` is the plume's emission rate in kg/h from the Permian 2019 plume list; for
  plume rows ``difficulty`` is ``easy`` exactly when ``qplume`` ≥ 1000 kg/h, for plume-free
  tiles it is ``hard`` (the tiles with most mag1c confounders) or ``random``
  (``sampling_dataset.sampling_no_plumes``). Plume-free rows have ``qplume`` 0 and empty
  ``candidate_id``/``label_path``.
- Ids: ``<flight line>_r<row>_c<col>_w<width>_h<height>``, the window in the flight line
  (``ang%Y%m%dt%H%M%S``, UTC); ``datetime`` is the flight line's start time.

UNVERIFIED: dtypes (float32 products, uint8 labels are assumed, not checked), the GSD (about
3 m; taken from each raster's transform), whether the flight-line grids are rotated (the
footprint maps all four corners, so a rotated transform is handled), the exact nodata of the
released files, the units of ``qplume`` (kg/h, consistent with the values and the 1000 kg/h
easy/hard split), the dataset licence (:attr:`STARCOP.licence` makes no assertion), and
``window_labels`` of plume-free rows.

Decisions:

- Units are event ids, the union of the ids of every selected CSV. An id listed in several
  CSVs (``test.csv`` and its ``test_mini10.csv`` subset, or the README's ``cp test_mini10.csv
  test.csv``) is one unit; its rows must agree on every shared column, else ``bad_metadata``.
  By default every ``*.csv`` under the root is read except the training caches the STARCOP
  code writes beside the release (``*_tiled_*.csv``, whose ids name sub-windows without
  folders, and ``*_sampled_data.csv``, whose windows are flight-line offsets).
- ``image`` holds every ``TOA_AVIRIS_<n>nm.tif`` of the folder, sorted by wavelength (so the
  "allbands" re-packagings with more bands are read whole); the bands of ``required_bands``
  must be present. ``mag1c`` is a second image. The simulated WorldView-3 bands and
  ``weight_mag1c`` (= clip(mag1c / 400, 0.1, 1)) are not read.
- ``labels.rasters``: ``plume_mask`` (``labelbinary.tif``, required) and ``label_rgba``
  (optional). ``labels.classes`` is ``methane plume`` or ``no methane plume`` (scheme
  ``starcop_plume``). No plume boxes: they would need the mask's pixels, which ingest does
  not read.
- Errors: a bad CSV value → ``bad_metadata`` naming the CSV; a missing event folder, ``mag1c``
  or ``labelbinary`` → ``missing_file``; a missing required band → ``missing_band``; an
  unreadable raster or an image file of another size or band count → ``corrupt_raster``; TOA
  or mag1c files on different CRSs or transforms → ``bad_metadata``; a label raster of another
  size, grid or band count → ``malformed_label``. Rasters without CRS give a sample without
  ``crs`` and footprint (dropped later as ``no_geolocation``).
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.errors import CRSError, NotGeoreferencedWarning, RasterioError
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import (
    Band,
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
)

RELEASE_BANDS_NM: tuple[int, ...] = (460, 550, 640, 2004, 2109, 2310, 2350, 2360)
"""Wavelengths (nm) of the ``TOA_AVIRIS_<n>nm.tif`` files of the STARCOP release."""

RGB_NM: tuple[int, int, int] = (640, 550, 460)
"""Wavelengths shown as red, green, blue (STARCOP's own ``rgb_aviris``)."""

TOA_ENCODING = "normalized_radiance"
"""Encoding of the TOA_AVIRIS image: normalised radiance π·L·d²/cos θs (µW cm⁻² nm⁻¹)."""

STRONG_PLUME_KG_H = 1000.0
"""Emission rate from which a plume is ``strong`` (STARCOP's easy/hard split of plumes)."""

SENSOR = "AVIRIS-NG"

MAG1C_UNITS = "ppm·m"
TOA_UNITS = "µW cm⁻² nm⁻¹ (π·L·d²/cos θs, L in µW cm⁻² sr⁻¹ nm⁻¹)"

EXCLUDED_CSV = (re.compile(r"_tiled_"), re.compile(r"_sampled_data\.csv$"))
"""Patterns of CSV names that are training caches, not release indexes."""

SPLITS: dict[str, str] = {
    "train": "train",
    "test": "test",
    "val": "validation",
    "validation": "validation",
}
"""``subset`` values (or CSV name prefixes) → sample split."""

_BAND_FILE = re.compile(r"^TOA_AVIRIS_(\d+)nm\.tif$")
_ID_WINDOW = re.compile(r"^(?P<line>.+)_r(?P<r>-?\d+)_c(?P<c>-?\d+)_w(?P<w>\d+)_h(?P<h>\d+)$")
_FLIGHT_LINE = re.compile(r"^ang(\d{8})t(\d{6})")
_INDEX_HEADERS = ("", "Unnamed: 0")
_TRUE = ("true", "1", "1.0", "yes")
_FALSE = ("false", "0", "0.0", "no")
_WINDOW_COLUMNS = ("window_col_off", "window_row_off", "window_width", "window_height")


def _band_name(nm: int) -> str:
    return f"TOA_AVIRIS_{nm}nm"


_BAND_DESCRIPTIONS: dict[int, str] = {
    460: "blue",
    550: "green",
    640: "red",
    2004: "shortwave infrared",
    2109: "shortwave infrared",
    2310: "shortwave infrared, methane absorption region",
    2350: "shortwave infrared, methane absorption region",
    2360: "shortwave infrared, methane absorption region",
}

STARCOP_BANDS: tuple[Band, ...] = (
    *(
        Band(_band_name(nm), f"{desc}, normalised TOA radiance", float(nm), None)
        for nm, desc in _BAND_DESCRIPTIONS.items()
    ),
    Band("mag1c", "methane enhancement from the mag1c matched filter (ppm·m)"),
)
"""Bands the adapter reads (GSD varies with flight altitude, about 3 m)."""


@dataclass(frozen=True)
class _Row:
    """One CSV row: where it is and its raw values by column."""

    csv: str
    line: int
    values: Mapping[str, str]
    problem: str = ""


@dataclass(frozen=True)
class _Grid:
    """What a raster header says about its pixel grid."""

    path: Path
    width: int
    height: int
    count: int
    crs: CRS | None
    transform: Affine


class STARCOP(SourceAdapter):
    """Reader of STARCOP AVIRIS-NG events: TOA bands and mag1c, with the plume mask and CSV facts.

    Options (``sources.starcop`` in ``params.yaml``):
        csv_files: Names of the CSVs under the root to read (default: every ``*.csv`` there
            except the ``*_tiled_*`` and ``*_sampled_data.csv`` training caches).
        required_bands: Wavelengths (nm) whose ``TOA_AVIRIS_<n>nm.tif`` must exist (default
            :data:`RELEASE_BANDS_NM`); other ``TOA_AVIRIS_*nm.tif`` files are read too.

    Args:
        root: The folder holding the CSVs and the event folders (e.g. ``STARCOP_test/``).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If an option has a wrong type or value.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        csv_files = self.options.get("csv_files")
        if csv_files is None:
            self.csv_files: tuple[str, ...] | None = None
        else:
            names = (csv_files,) if isinstance(csv_files, str) else tuple(csv_files)
            if not names or not all(isinstance(n, str) and n.endswith(".csv") for n in names):
                raise ValueError(
                    f"starcop: sources.starcop.csv_files (params.yaml) must list CSV file "
                    f"names, got {csv_files!r}"
                )
            self.csv_files = names
        required = self.options.get("required_bands", RELEASE_BANDS_NM)
        try:
            nms = tuple(int(v) for v in required)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"starcop: sources.starcop.required_bands (params.yaml) must list wavelengths "
                f"in nm, got {required!r}"
            ) from exc
        if any(nm <= 0 for nm in nms):
            raise ValueError(f"starcop: required_bands must be positive, got {required!r}")
        self.required_bands: tuple[int, ...] = nms
        self._index: dict[str, list[_Row]] | None = None

    # -- the CSV index -----------------------------------------------------------------------

    def _csv_paths(self) -> list[Path]:
        if self.csv_files is not None:
            paths = [self.root / name for name in self.csv_files]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise SourceNotFoundError(
                    f"starcop: {', '.join(missing)} not found; fix sources.starcop.csv_files "
                    "or sources.starcop.root in params.yaml"
                )
            return sorted(paths)
        return sorted(
            p
            for p in self.root.glob("*.csv")
            if p.is_file()
            and not p.name.startswith(".")
            and not any(pattern.search(p.name) for pattern in EXCLUDED_CSV)
        )

    def _rows(self) -> dict[str, list[_Row]]:
        """Read every selected CSV into id → rows (in CSV-name, then line order)."""
        if self._index is not None:
            return self._index
        paths = self._csv_paths()
        if not paths:
            raise SourceNotFoundError(
                f"starcop: no split CSV (train.csv, test.csv…) under {self.root}; download and "
                "extract STARCOP (https://doi.org/10.5281/zenodo.7863343, or the Google Drive "
                "subsets STARCOP_test / STARCOP_train_easy) there, or point "
                "sources.starcop.root in params.yaml at the folder that holds the CSVs"
            )
        index: dict[str, list[_Row]] = {}
        for path in paths:
            for row in _read_csv(path):
                index.setdefault(row.values["id"], []).append(row)
        self._index = index
        return index

    def list_units(self) -> list[str]:
        """List the event ids of every selected CSV.

        Returns:
            Sorted, distinct event ids.

        Raises:
            SourceNotFoundError: If the root holds no selected CSV, a selected CSV cannot be
                read as CSV text, or it has no ``id`` column.
        """
        return sorted(self._rows())

    def unit_files(self, unit: str) -> list[Path]:
        """List the event folder's files and the CSVs that list the event.

        Args:
            unit: An event id.

        Returns:
            Paths, sorted (CSVs included, so editing a CSV re-reads its events).
        """
        files: list[Path] = []
        folder = self.root / unit
        if _is_plain_name(unit) and folder.is_dir():
            files += [p for p in folder.iterdir() if p.is_file()]
        try:
            rows = self._rows().get(unit, [])
        except SourceNotFoundError:
            rows = []
        files += [self.root / name for name in sorted({r.csv for r in rows})]
        return sorted(files)

    # -- reading -----------------------------------------------------------------------------

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one event into a sample (CSV facts and raster headers; no pixels).

        Args:
            unit: An event id from :meth:`list_units`.

        Returns:
            A list holding the event's one sample.

        Raises:
            SourceError: See the module docstring for which kind each defect gives.
        """
        rows = self._rows().get(unit)
        if not rows:
            raise SourceError("bad_metadata", f"event {unit!r} is not listed in any CSV", unit)
        values = _merge_rows(unit, rows)
        csv_names = ";".join(sorted({r.csv for r in rows}))
        where = f"{csv_names} (id {unit})"
        if not _is_plain_name(unit):
            raise SourceError("bad_metadata", f"{where}: id is not a folder name", unit)
        has_plume = _parse_bool(values, "has_plume", where, unit)
        qplume = _parse_qplume(values, where, unit)
        windows = _parse_windows(values, where, unit)
        acquired = _parse_time(values, unit, where)

        folder = self.root / unit
        if not folder.is_dir():
            raise SourceError("missing_file", f"event folder {folder} does not exist", unit)
        band_files = self._band_files(folder, unit)
        mag1c_path = _required_file(folder / "mag1c.tif", unit)
        mask_path = _required_file(folder / "labelbinary.tif", unit)
        rgba_path = folder / "label_rgba.tif"

        grids = [_read_grid(p, unit) for p in band_files.values()]
        ref = grids[0]
        for grid in [*grids[1:], _read_grid(mag1c_path, unit)]:
            _check_image_grid(grid, ref, unit)
        rasters = {"plume_mask": str(mask_path)}
        _check_label_grid(_read_grid(mask_path, unit), ref, 1, unit)
        if rgba_path.is_file():
            _check_label_grid(_read_grid(rgba_path, unit), ref, 4, unit)
            rasters["label_rgba"] = str(rgba_path)

        crs_text, footprint, gsd = _georeference(ref, unit)
        bands = tuple(_band_name(nm) for nm in band_files)
        rgb = tuple(_band_name(nm) for nm in RGB_NM)
        image = ImageRef(
            role="image",
            files=tuple(str(p) for p in band_files.values()),
            bands=bands,
            encoding=TOA_ENCODING,
            width=ref.width,
            height=ref.height,
            display_bands=rgb if all(b in bands for b in rgb) else (),
        )
        mag1c = ImageRef(
            role="mag1c",
            files=(str(mag1c_path),),
            bands=("mag1c",),
            encoding="float",
            width=ref.width,
            height=ref.height,
            display_bands=("mag1c",),
        )
        properties = _properties(values, has_plume, qplume, windows, csv_names, unit)
        return [
            Sample(
                sample_id=f"{self.name}:{unit}",
                source=self.name,
                native_id=unit,
                modality="hyperspectral",
                sensor=SENSOR,
                bands=(*bands, "mag1c"),
                gsd_m=gsd,
                crs=crs_text,
                footprint_wkt=footprint,
                acquired=acquired,
                images=(image, mag1c),
                tags=_tags(values, has_plume, qplume),
                labels=Labels(
                    scheme="starcop_plume",
                    classes=("methane plume",) if has_plume else ("no methane plume",),
                    properties=properties,
                    rasters=rasters,
                ),
                licence=self.licence,
                split=_split(values, rows),
            )
        ]

    def _band_files(self, folder: Path, unit: str) -> dict[int, Path]:
        """Find the TOA_AVIRIS band files of an event folder, by wavelength (sorted)."""
        found: dict[int, Path] = {}
        for path in folder.iterdir():
            match = _BAND_FILE.match(path.name)
            if match and path.is_file():
                found[int(match[1])] = path
        missing = [folder / f"{_band_name(nm)}.tif" for nm in self.required_bands]
        missing = [p for p in missing if not p.is_file()]
        if missing:
            names = ", ".join(str(p) for p in missing)
            raise SourceError("missing_band", f"missing band file(s) {names}", unit)
        if not found:
            raise SourceError("missing_band", f"{folder} has no TOA_AVIRIS_<n>nm.tif", unit)
        return dict(sorted(found.items()))


# -- CSV ----------------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[_Row]:
    """Read a STARCOP CSV into rows keyed by column (a leading pandas index is dropped).

    Raises:
        SourceNotFoundError: If the file is not readable CSV text or has no ``id`` column.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceNotFoundError(f"starcop: cannot read {path} as CSV: {exc}") from exc
    if not lines:
        raise SourceNotFoundError(f"starcop: {path} is empty; expected a header with 'id'")
    header = [h.strip() for h in lines[0]]
    skip = 1 if header and header[0] in _INDEX_HEADERS else 0
    columns = header[skip:]
    if "id" not in columns:
        raise SourceNotFoundError(
            f"starcop: {path} has no 'id' column (header {lines[0]}); is it a STARCOP split "
            "CSV? List the right ones in sources.starcop.csv_files (params.yaml)"
        )
    rows: list[_Row] = []
    for number, fields in enumerate(lines[1:], start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        cells = fields[skip:]
        problem = ""
        if len(fields) != len(header):
            problem = f"line {number} has {len(fields)} fields, the header {len(header)}"
        values = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns)}
        if not values["id"]:
            continue  # no id, no event folder to read: nothing to list
        rows.append(_Row(path.name, number, values, problem))
    return rows


def _merge_rows(unit: str, rows: Sequence[_Row]) -> dict[str, str]:
    """Combine the rows listing one event, which must agree on every shared column."""
    merged: dict[str, str] = {}
    origin: dict[str, _Row] = {}
    for row in rows:
        if row.problem:
            raise SourceError("bad_metadata", f"{row.csv} (id {unit}): {row.problem}", unit)
        for column, value in row.values.items():
            if column in merged and merged[column] != value:
                first = origin[column]
                raise SourceError(
                    "bad_metadata",
                    f"id {unit} has {column}={merged[column]!r} in {first.csv} line "
                    f"{first.line} but {value!r} in {row.csv} line {row.line}",
                    unit,
                )
            if column not in merged:
                merged[column] = value
                origin[column] = row
    return merged


def _parse_bool(values: Mapping[str, str], column: str, where: str, unit: str) -> bool:
    raw = values.get(column)
    if raw is None:
        raise SourceError("bad_metadata", f"{where}: no {column} column", unit)
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SourceError("bad_metadata", f"{where}: {column}={raw!r} is not a boolean", unit)


def _parse_qplume(values: Mapping[str, str], where: str, unit: str) -> float | None:
    raw = values.get("qplume", "")
    if not raw or raw.lower() == "nan":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(
            "bad_metadata", f"{where}: qplume={raw!r} is not a number", unit
        ) from None
    if not math.isfinite(value) or value < 0:
        raise SourceError("bad_metadata", f"{where}: qplume={raw!r} is not a rate ≥ 0", unit)
    return value


def _parse_windows(values: Mapping[str, str], where: str, unit: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for column in _WINDOW_COLUMNS:
        raw = values.get(column, "")
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not number.is_integer() or (column in _WINDOW_COLUMNS[2:] and number <= 0):
            raise SourceError("bad_metadata", f"{where}: {column}={raw!r} is not valid", unit)
        out[column] = int(number)
    return out


def _parse_time(values: Mapping[str, str], unit: str, where: str) -> tuple[str, ...]:
    """Acquisition time from ``datetime``, else from the flight-line name (UTC)."""
    raw = values.get("datetime", "")
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise SourceError(
                "bad_metadata", f"{where}: datetime={raw!r} is not an ISO 8601 time", unit
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
    for text in (values.get("name", ""), unit):
        match = _FLIGHT_LINE.match(text)
        if match:
            try:
                moment = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
            except ValueError:
                continue
            return (moment.strftime("%Y-%m-%dT%H:%M:%SZ"),)
    return ()


def _split(values: Mapping[str, str], rows: Sequence[_Row]) -> str:
    subset = values.get("subset", "").lower()
    if subset:
        return SPLITS.get(subset, "")
    for row in rows:
        prefix = re.split(r"[_.]", row.csv.lower(), maxsplit=1)[0]
        if prefix in SPLITS:
            return SPLITS[prefix]
    return ""


def _emission_class(has_plume: bool, qplume: float | None) -> str:
    if not has_plume or qplume is None or qplume <= 0:
        return ""
    return "strong" if qplume >= STRONG_PLUME_KG_H else "weak"


def _tags(values: Mapping[str, str], has_plume: bool, qplume: float | None) -> dict[str, str]:
    tags = {"sensor": SENSOR, "methane_plume": "present" if has_plume else "absent"}
    emission = _emission_class(has_plume, qplume)
    if emission:
        tags["emission_class"] = emission
    if values.get("difficulty"):
        tags["difficulty"] = values["difficulty"]
    places = f"{values.get('folder', '')} {values.get('label_path', '')}".lower()
    if "permian" in places:
        tags["region"] = "Permian Basin"
    return tags


def _properties(
    values: Mapping[str, str],
    has_plume: bool,
    qplume: float | None,
    windows: Mapping[str, int],
    csv_names: str,
    unit: str,
) -> dict[str, str]:
    """Every non-empty CSV value, with ``has_plume``/``qplume``/windows normalised."""
    props = {k: v for k, v in values.items() if k not in ("id", "qplume") and v}
    props["has_plume"] = "true" if has_plume else "false"
    if qplume is not None:
        props["qplume_kg_h"] = values["qplume"]
    props.update({k: str(v) for k, v in windows.items()})
    props["csv"] = csv_names
    props["mag1c_units"] = MAG1C_UNITS
    props["toa_units"] = TOA_UNITS
    match = _ID_WINDOW.match(unit)
    if match:
        props["flight_line_window"] = (
            f"row_off={match['r']} col_off={match['c']} width={match['w']} height={match['h']}"
        )
    return props


# -- rasters ------------------------------------------------------------------------------------


def _is_plain_name(unit: str) -> bool:
    return bool(unit) and unit not in (".", "..") and "/" not in unit and "\\" not in unit


def _required_file(path: Path, unit: str) -> Path:
    if not path.is_file():
        raise SourceError("missing_file", f"{path} does not exist", unit)
    return path


def _read_grid(path: Path, unit: str) -> _Grid:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return _Grid(path, ds.width, ds.height, ds.count, ds.crs, ds.transform)
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{path}: cannot read GeoTIFF: {exc}", unit) from exc


def _same_georeference(a: _Grid, b: _Grid) -> bool:
    return a.crs == b.crs and a.transform.almost_equals(b.transform, precision=1e-6)


def _check_image_grid(grid: _Grid, ref: _Grid, unit: str) -> None:
    if grid.count != 1 or ref.count != 1:
        bad = grid if grid.count != 1 else ref
        raise SourceError("corrupt_raster", f"{bad.path}: {bad.count} bands, expected 1", unit)
    if (grid.width, grid.height) != (ref.width, ref.height):
        raise SourceError(
            "corrupt_raster",
            f"{grid.path}: {grid.width}x{grid.height} px but {ref.path.name} is "
            f"{ref.width}x{ref.height}",
            unit,
        )
    if not _same_georeference(grid, ref):
        raise SourceError(
            "bad_metadata", f"{grid.path}: CRS or transform differs from {ref.path.name}", unit
        )


def _check_label_grid(grid: _Grid, ref: _Grid, count: int, unit: str) -> None:
    if grid.count != count:
        raise SourceError(
            "malformed_label", f"{grid.path}: {grid.count} bands, expected {count}", unit
        )
    if (grid.width, grid.height) != (ref.width, ref.height) or not _same_georeference(grid, ref):
        raise SourceError(
            "malformed_label", f"{grid.path}: its grid differs from {ref.path.name}", unit
        )


def _georeference(grid: _Grid, unit: str) -> tuple[str, str, float | None]:
    """CRS text, lon/lat footprint WKT and pixel size (m) of a grid; empty if not georeferenced.

    The footprint maps the four corners through the full affine transform, so rotated
    flight-line grids give their true (rotated) outline.
    """
    if grid.crs is None or grid.transform == Affine.identity():
        return "", "", None
    crs = grid.crs
    try:
        epsg = crs.to_epsg()
        crs_text = f"EPSG:{epsg}" if epsg else crs.to_wkt()
        corners = [(0, 0), (grid.width, 0), (grid.width, grid.height), (0, grid.height)]
        xs, ys = zip(*(grid.transform @ c for c in corners), strict=True)
        lons, lats = warp_transform(crs, "EPSG:4326", list(xs), list(ys))
        gsd: float | None = None
        if crs.is_projected:
            factor = crs.linear_units_factor[1]
            gsd = round(math.hypot(grid.transform.a, grid.transform.d) * factor, 6)
    except (CRSError, RasterioError, ValueError) as exc:
        raise SourceError(
            "bad_metadata", f"{grid.path}: cannot map its CRS to lon/lat: {exc}", unit
        ) from exc
    points = list(zip(lons, lats, strict=True))
    if not all(math.isfinite(v) for p in points for v in p):
        raise SourceError("bad_metadata", f"{grid.path}: corners do not map to lon/lat", unit)
    polygon = orient(Polygon(points), 1.0)
    if not polygon.is_valid or polygon.area <= 0:
        raise SourceError("bad_metadata", f"{grid.path}: degenerate footprint {polygon}", unit)
    return crs_text, shapely.to_wkt(polygon, rounding_precision=7), gsd
