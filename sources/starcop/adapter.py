"""STARCOP methane-plume events (AVIRIS-NG over the Permian Basin): one CSV row → one sample.

The adapter class here lists the events and assembles each sample; its helpers live beside
it: :mod:`~eoinstruct.sources.starcop.csvs` (split CSVs and what a row says) and
:mod:`~eoinstruct.sources.starcop.rasters` (AVIRIS-NG bands, raster grids, georeference).
Each states the layout facts it relies on.

Facts relied on (``shared/docs/source-formats.md`` section 6, which cites spaceml-org/STARCOP;
re-read from that repository, commit c478926):

- The release (Zenodo, https://doi.org/10.5281/zenodo.7863343; Google Drive subsets
  ``STARCOP_test``, ``STARCOP_train_easy``, ``STARCOP_mini``) is a folder holding split CSVs
  (``train.csv``, ``test.csv``, ``train_easy.csv``, ``test_mini10.csv``, ``train_mini10.csv``)
  and one folder per event, ``<root>/<id>/`` (``starcop/data/datamodule.py``
  ``load_dataframe``: ``folder = join(root_folder, id)``; ``notebooks/dataset_exploration.ipynb``).

UNVERIFIED: the dataset licence (:attr:`STARCOP.licence` makes no assertion).

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
  ``starcop_plume``). The mask is the one raster ingest reads in full: its plume size goes
  into ``labels.properties`` (``plume_pixels``, ``image_pixels``, ``pixel_size_m``,
  ``plume_area_m2``; :func:`~eoinstruct.sources.starcop.rasters.plume_figures`), so that
  instruction builders and the audit work from labels, not rasters. No plume boxes.
- Errors: a bad CSV value → ``bad_metadata`` naming the CSV; a missing event folder, ``mag1c``
  or ``labelbinary`` → ``missing_file``; a missing required band → ``missing_band``; an
  unreadable raster or an image file of another size or band count → ``corrupt_raster``; TOA
  or mag1c files on different CRSs or transforms → ``bad_metadata``; a label raster of another
  size, grid or band count → ``malformed_label``. Rasters without CRS give a sample without
  ``crs`` and footprint (dropped later as ``no_geolocation``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import (
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
)
from eoinstruct.sources.starcop.csvs import (
    EXCLUDED_CSV,
    _merge_rows,
    _parse_bool,
    _parse_qplume,
    _parse_time,
    _parse_windows,
    _properties,
    _read_csv,
    _Row,
    _split,
    _tags,
)
from eoinstruct.sources.starcop.rasters import (
    _BAND_FILE,
    RGB_NM,
    SENSOR,
    TOA_ENCODING,
    _band_name,
    _check_image_grid,
    _check_label_grid,
    _georeference,
    _is_plain_name,
    _read_grid,
    _required_file,
    plume_figures,
)

RELEASE_BANDS_NM: tuple[int, ...] = (460, 550, 640, 2004, 2109, 2310, 2350, 2360)
"""Wavelengths (nm) of the ``TOA_AVIRIS_<n>nm.tif`` files of the STARCOP release."""


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
                    "in params.yaml"
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
                "subsets STARCOP_test / STARCOP_train_easy) there"
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
        """Read one event into a sample (CSV facts, raster headers and the plume mask's size).

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
        properties.update(plume_figures(mask_path, gsd, unit))
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
