"""Source adapter for SkyScript: one RGB JPEG with its OpenStreetMap tags and captions.

One unit is one image, identified by the ``filepath`` column of the caption CSVs (e.g.
``images2/w779523169_CH_18.jpg``), and gives one :class:`~eoinstruct.pipeline.records.Sample`. An
image
listed in several CSVs (the top-30 % list is a subset of the top-50 % one) is still one sample.
Reading is metadata-only: the CSV row, the JPEG header and the meta pickle.

The adapter class here finds the CSVs and assembles each sample; its helpers live beside it,
one module per concern: :mod:`~eoinstruct.sources.skyscript.csvs` (caption CSVs, row index,
splits), :mod:`~eoinstruct.sources.skyscript.meta` (meta pickles, loaded safely) and
:mod:`~eoinstruct.sources.skyscript.images` (imagery sources, file names, JPEG headers); the
pixel size comes from the shared :func:`~eoinstruct.sources.geo.box_pixel_size_m`. Each states
the layout facts (``shared/docs/source-formats.md`` §3) it relies on.

Decisions:

- ``tags``: ``osm_element_type`` (``area``/``way``/``node``), ``osm_id``, ``imagery_source``
  (the Google Earth Engine collection, e.g. ``ORTHO/Switzerland/SWISSIMAGE/10cm``) and
  ``year`` from the file name; from the pickle, ``center:<key>`` = value for every OSM tag
  of the focus object (``osm:`` is left to the enrich stage),
  ``surrounding_objects`` = the number of surrounding objects and, per surrounding key,
  ``surrounding:<key>`` = ``"value (count); …"`` (most frequent first, at most
  :data:`MAX_SURROUNDING_VALUES` values).
- ``labels.properties``: every non-empty CSV column but ``filepath`` (``title``,
  ``title_multi_objects``, ``similarity_CLIP_openai``…), first value wins in CSV order (the
  ``csvs`` option's order, else sorted by name); columns of ``*language_polished*`` CSVs are
  stored with the suffix ``_polished`` (their column names are UNVERIFIED). Also
  ``listed_in`` (the CSV names, ``;``-separated), ``imagery_source_code``,
  ``nominal_gsd_m`` and ``surrounding_tags`` (the list as canonical JSON).
- Footprint: the pickle ``box`` as a lon/lat polygon, ``crs`` ``EPSG:4326``; without a meta
  folder (its meta zip not downloaded) or a ``box`` in the pickle both stay empty (the filter
  then drops the sample as ``no_geolocation``); a pickle missing from an existing ``metaN/``
  folder fails the unit (``missing_file``).
  ``acquired``: the pickle ``time`` as ``YYYY-MM-DDThh:mm:00Z`` (that it is UTC is
  UNVERIFIED; Earth Engine times are UTC).

UNVERIFIED: the ``metaN/`` folder names (meta for ``imagesN/x.jpg`` is looked up at
``metaN/x.pickle``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import shapely
from shapely.geometry import box as shapely_box
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.geo import box_pixel_size_m
from eoinstruct.sources.skyscript.csvs import (
    _CSV_BITS,
    _INDEX_CACHE,
    CSV_GLOB,
    MAX_CSVS,
    SPLITS,
    _build_index,
    _Csv,
    _Index,
    _read_row,
)
from eoinstruct.sources.skyscript.images import (
    _IMAGES_DIR_RE,
    _NAME_RE,
    ELEMENT_TYPES,
    IMAGERY_SOURCES,
    _jpeg_size,
    _safe_relative,
)
from eoinstruct.sources.skyscript.meta import (
    Meta,
    load_pickle_restricted,
    parse_meta,
    surrounding_summary,
)


class SkyScript(SourceAdapter):
    """Reader of SkyScript images with their OSM tags (meta pickles) and captions (CSVs).

    Options (``sources.skyscript`` in ``params.yaml``):
        csvs: Caption CSV file names to read, looked up in the root and then in
            ``dataframe/``; default every ``SkyScript_*.csv`` found there (a name in the root
            hides the same name in ``dataframe/``). The order sets which CSV's captions win
            for an image listed in several.

    Args:
        root: The folder holding ``images2/`` … ``images7/``, ``meta2/`` … ``meta7/`` and the
            caption CSVs (or ``dataframe/`` with them).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If ``csvs`` is not a list of file names.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        names = self.options.get("csvs")
        if names is None:
            self.csv_names: tuple[str, ...] | None = None
        else:
            items = (names,) if isinstance(names, str) else tuple(names)
            if not items or not all(isinstance(n, str) and n.strip() for n in items):
                raise ValueError(
                    f"skyscript: sources.skyscript.csvs in params.yaml must be a list of CSV "
                    f"file names, got {names!r}"
                )
            self.csv_names = tuple(n.strip() for n in items)
        self._index: _Index | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Drop the row index when pickled (a worker rebuilds or reuses its own)."""
        state = dict(self.__dict__)
        state["_index"] = None
        return state

    # -- CSVs --------------------------------------------------------------------------------

    def csv_paths(self) -> list[Path]:
        """Return the caption CSVs to read, in precedence order.

        Returns:
            Paths of the CSVs.

        Raises:
            SourceNotFoundError: If a named CSV is missing, or none is found.
        """
        folders = (self.root, self.root / "dataframe")
        if self.csv_names is not None:
            paths = []
            for name in self.csv_names:
                found = next((f / name for f in folders if (f / name).is_file()), None)
                if found is None:
                    raise SourceNotFoundError(
                        f"skyscript: caption CSV {name!r} not found in {self.root} or "
                        f"{self.root / 'dataframe'}; download it from "
                        "https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript/dataframe/ "
                        "or fix sources.skyscript.csvs in params.yaml"
                    )
                paths.append(found)
        else:
            by_name: dict[str, Path] = {}
            for folder in folders:
                if folder.is_dir():
                    for path in sorted(folder.glob(CSV_GLOB)):
                        if path.is_file():
                            by_name.setdefault(path.name, path)
            paths = [by_name[n] for n in sorted(by_name)]
            if not paths:
                raise SourceNotFoundError(
                    f"skyscript: no {CSV_GLOB} caption CSV in {self.root} or "
                    f"{self.root / 'dataframe'}; download the images{{2..7}}.zip and "
                    "meta{2..7}.zip archives and the caption CSVs as described at "
                    "https://github.com/wangzhecheng/SkyScript and extract them there"
                )
        if len(paths) > MAX_CSVS:
            raise ValueError(f"skyscript: {len(paths)} CSVs; at most {MAX_CSVS} are supported")
        return paths

    def _get_index(self) -> _Index:
        if self._index is not None:
            return self._index
        paths = self.csv_paths()
        key: tuple[object, ...] = tuple(
            (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths
        )
        index = _INDEX_CACHE.get(key)
        if index is None:
            index = _build_index(paths)
            _INDEX_CACHE.clear()
            _INDEX_CACHE[key] = index
        self._index = index
        return index

    def list_units(self) -> list[str]:
        """List the distinct ``filepath`` values of the caption CSVs.

        Returns:
            Sorted unit ids such as ``images2/w779523169_CH_18.jpg``.

        Raises:
            SourceNotFoundError: If no caption CSV is found, or a CSV has no ``filepath``
                column.
        """
        return sorted(self._get_index().refs)

    def _refs(self, unit: str) -> list[tuple[_Csv, int]]:
        index = self._get_index()
        entry = index.refs.get(unit)
        if entry is None:
            raise ValueError(f"skyscript: {unit!r} is not listed in any caption CSV")
        packed = (entry,) if isinstance(entry, int) else entry
        mask = (1 << _CSV_BITS) - 1
        return [(index.csvs[ref & mask], ref >> _CSV_BITS) for ref in packed]

    # -- one unit ----------------------------------------------------------------------------

    def _meta_path(self, unit: str) -> Path | None:
        path = PurePosixPath(unit)
        match = _IMAGES_DIR_RE.match(path.parent.name)
        if not match:
            return None
        return self.root / path.parent.parent / f"meta{match['n']}" / f"{path.stem}.pickle"

    def unit_files(self, unit: str) -> list[Path]:
        """List the image, its meta pickle and the CSVs listing it, where they exist.

        Args:
            unit: A ``filepath`` from :meth:`list_units`.

        Returns:
            Existing paths, sorted.
        """
        paths: set[Path] = set()
        if _safe_relative(unit):
            paths.add(self.root / unit)
            meta = self._meta_path(unit)
            if meta is not None:
                paths.add(meta)
        try:
            paths.update(entry.path for entry, _ in self._refs(unit))
        except ValueError:
            pass
        return sorted(p for p in paths if p.is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one image into one sample.

        Args:
            unit: A ``filepath`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``bad_metadata`` if the ``filepath`` is not a safe relative path
                named ``<t><osm_id>_<SRC>_<yy>.jpg``, a CSV row no longer matches, or the
                meta ``box``/``time`` are invalid; ``malformed_label`` for an unreadable CSV
                row or a meta pickle that is not a plain dict of tags (or names any global);
                ``missing_file`` if the image is missing; ``corrupt_raster`` if its header
                cannot be read or it is not RGB.
            ValueError: If ``unit`` is not listed in any CSV.
        """
        refs = self._refs(unit)
        if not _safe_relative(unit):
            raise SourceError(
                "bad_metadata", f"skyscript {unit}: filepath is not a relative path", unit
            )
        name = PurePosixPath(unit).name
        match = _NAME_RE.match(name)
        if not match:
            raise SourceError(
                "bad_metadata",
                f"skyscript {unit}: file name {name!r} is not <a|w|n><osm id>_<SRC>_<yy>.jpg",
                unit,
            )
        properties, listed_in, splits = self._csv_facts(unit, refs)

        image_path = self.root / unit
        if not image_path.is_file():
            raise SourceError("missing_file", f"skyscript {unit}: missing {image_path}", unit)
        width, height = _jpeg_size(image_path, unit)

        meta_path = self._meta_path(unit)
        meta = Meta(box=None, time="")
        if meta_path is not None and meta_path.parent.is_dir() and not meta_path.is_file():
            raise SourceError(  # its meta zip was extracted: the image's pickle is lost
                "missing_file", f"skyscript {unit}: missing {meta_path} in its meta folder", unit
            )
        if meta_path is not None and meta_path.is_file():
            meta = parse_meta(load_pickle_restricted(meta_path, unit), meta_path, unit)

        code = match["code"]
        source = IMAGERY_SOURCES.get(code)
        tags: dict[str, str] = {
            "osm_element_type": ELEMENT_TYPES[match["type"]],
            "osm_id": match["osm_id"],
            "imagery_source": source.collection if source else code,
            "year": f"20{match['yy']}",
        }
        for key, value in meta.center_tags.items():
            tags[f"center:{key}"] = value
        if meta_path is not None and meta_path.is_file():
            tags["surrounding_objects"] = str(len(meta.surrounding_tags))
            tags.update(surrounding_summary(meta.surrounding_tags))
            properties["surrounding_tags"] = json.dumps(
                [dict(sorted(t.items())) for t in meta.surrounding_tags],
                ensure_ascii=False,
                separators=(",", ":"),
            )
        properties["listed_in"] = ";".join(listed_in)
        properties["imagery_source_code"] = code
        if source is not None:
            properties["nominal_gsd_m"] = f"{source.nominal_gsd_m:g}"

        crs, footprint, gsd = "", "", source.nominal_gsd_m if source else None
        if meta.box is not None:
            west, south, east, north = meta.box
            crs = "EPSG:4326"
            polygon = orient(shapely_box(west, south, east, north), 1.0)
            footprint = shapely.to_wkt(polygon, rounding_precision=10)
            gsd = box_pixel_size_m(meta.box, width, height)

        split = next((s for _, s in SPLITS if s in splits), "")
        sample = Sample(
            sample_id=f"{self.name}:{unit}",
            source=self.name,
            native_id=unit,
            modality="rgb",
            sensor=source.sensor if source else f"unknown ({code})",
            bands=("R", "G", "B"),
            gsd_m=gsd,
            crs=crs,
            footprint_wkt=footprint,
            acquired=(meta.time,) if meta.time else (),
            images=(
                ImageRef(
                    role="image",
                    files=(str(image_path),),
                    bands=("R", "G", "B"),
                    encoding="uint8",
                    width=width,
                    height=height,
                    display_bands=("R", "G", "B"),
                ),
            ),
            tags=tags,
            labels=Labels(properties=properties),
            licence=self.licence,
            split=split,
        )
        return [sample]

    def _csv_facts(
        self, unit: str, refs: list[tuple[_Csv, int]]
    ) -> tuple[dict[str, str], list[str], set[str]]:
        """Read a unit's CSV rows: properties (first value wins), CSV names and splits."""
        properties: dict[str, str] = {}
        listed_in: list[str] = []
        splits: set[str] = set()
        for entry, offset in refs:
            try:
                row = _read_row(entry, offset)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise SourceError(
                    "malformed_label",
                    f"skyscript {unit}: {entry.path}: unreadable row at byte {offset} ({exc})",
                    unit,
                ) from exc
            except OSError as exc:
                raise SourceError(
                    "missing_file", f"skyscript {unit}: {entry.path}: {exc}", unit
                ) from exc
            column = entry.filepath_column
            if len(row) != len(entry.header):
                raise SourceError(
                    "malformed_label",
                    f"skyscript {unit}: {entry.path}: row at byte {offset} has {len(row)} "
                    f"cells for {len(entry.header)} columns",
                    unit,
                )
            if row[column].strip() != unit:
                raise SourceError(
                    "bad_metadata",
                    f"skyscript {unit}: {entry.path} changed since it was listed "
                    f"(row at byte {offset} is not this image)",
                    unit,
                )
            if entry.path.name not in listed_in:
                listed_in.append(entry.path.name)
            if entry.split:
                splits.add(entry.split)
            for i, name in enumerate(entry.header):
                if i == column or i >= len(row) or not name:
                    continue
                key = f"{name}_polished" if entry.polished else name
                value = row[i].strip()
                if value and key not in properties:
                    properties[key] = value
        return properties, listed_in, splits
