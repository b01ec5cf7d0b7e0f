"""Source adapter for SatlasPretrain: one sensor's image time series of one Web-Mercator tile.

The adapter class here lists the tiles and assembles each sample; its helpers live beside
it, one module per concern: :mod:`~eoinstruct.sources.satlas.tiles` (Web-Mercator tiles and
georeference), :mod:`~eoinstruct.sources.satlas.metadata` (image lists, times, splits,
options, tags), :mod:`~eoinstruct.sources.satlas.images` (sensors, band folders, PNG headers)
and :mod:`~eoinstruct.sources.satlas.vectors` (vector labels). Each states the layout facts
(``shared/docs/source-formats.md`` section 4) and decisions it implements.

Decisions:

- **Unit** ``<sensor>/<col>_<row>``: one sensor's tile (zoom 13, or zoom 17 for NAIP) with up
  to ``max_images`` of its images. An image belongs to a tile when it is listed for the tile
  in ``good_images_*`` (or, for a sensor absent from those lists, found on disk), has a time
  in ``image_times.json`` (or one readable from its name) and its first band file exists (for
  tci-bearing sensors that is the ``tci`` file, as satlas's own ``to_dataset`` requires). The
  newest image is always kept (static labels refer to it), then images that dynamic labels
  name, then the newest others; the kept images are ordered oldest first.
- ``labels.rasters``: static ``<task>.png`` by task name and dynamic ones as
  ``<task>:<role>``, for zoom-13 sensors only (a zoom-13 raster does not align with a NAIP
  tile's grid, so NAIP samples get none).
- ``labels.properties["land_cover_shares"]``: the class shares of the static
  ``land_cover.png`` (:mod:`~eoinstruct.sources.satlas.land_cover`), read at ingest where the
  sample has that raster.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import (
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
)
from eoinstruct.sources.satlas.images import SENSOR_SPECS, SENSORS, _image_refs
from eoinstruct.sources.satlas.land_cover import LAND_COVER_SHARES, land_cover_shares, shares_json
from eoinstruct.sources.satlas.metadata import (
    DEFAULT_MAX_IMAGES,
    DEFAULT_SPLITS,
    IMAGE_LISTS,
    _Candidate,
    _choose,
    _image_time,
    _Index,
    _load_image_list,
    _load_split,
    _parse_max_images,
    _parse_sensors,
    _parse_splits,
    _read_json,
    _split_applies,
    _split_name,
    _subfolders,
    _tags,
    _tiles_in,
)
from eoinstruct.sources.satlas.tiles import (
    _TILE_RE,
    LABEL_ZOOM,
    _label_tile,
    _window,
    footprint_wkt,
    tile_gsd_m,
)
from eoinstruct.sources.satlas.vectors import _features, _load_dynamic, _load_vector


class SatlasPretrain(SourceAdapter):
    """Reader of SatlasPretrain tiles: one sensor's images of one tile with its labels.

    Options (``sources.satlas`` in ``params.yaml``):
        sensors: Image folders to read, any of :data:`SENSORS` (default ``["sentinel2"]``).
        splits: Split files under ``metadata/`` (stems such as ``train_lowres``; default
            :data:`DEFAULT_SPLITS`, those present).
        max_images: Most images per sample (default 4); the newest image is always one.

    Args:
        root: The folder where the SatlasPretrain tars were extracted (``metadata/``,
            ``sentinel2/``, ``static/``…).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.sensors: tuple[str, ...] = _parse_sensors(self.options.get("sensors", ["sentinel2"]))
        self.max_images: int = _parse_max_images(self.options.get("max_images", DEFAULT_MAX_IMAGES))
        splits = self.options.get("splits")
        self.explicit_splits = splits is not None
        self.splits: tuple[str, ...] = (
            _parse_splits(splits) if splits is not None else DEFAULT_SPLITS
        )
        self._index_cache: _Index | None = None
        self._times_cache: dict[str, Any] | None = None
        self._static_vectors: bool | None = None

    # -- listing ------------------------------------------------------------------------------

    def _metadata(self) -> Path:
        return self.root / "metadata"

    def _index(self) -> _Index:
        """Build (once) the image index and split tables from the metadata and folders.

        Raises:
            SourceNotFoundError: If the metadata or every selected sensor folder is missing,
                an explicitly selected split file is missing, or a metadata list is malformed.
        """
        if self._index_cache is not None:
            return self._index_cache
        where = (
            "download the tars listed in allenai/satlas satlaspretrain_urls.txt "
            "(https://github.com/allenai/satlas/blob/main/SatlasPretrain.md) and extract them "
            "into one folder"
        )
        times = self._metadata() / "image_times.json"
        if not times.is_file():
            raise SourceNotFoundError(f"{self.name}: {times} not found; {where}")
        present = [s for s in self.sensors if (self.root / s).is_dir()]
        if not present:
            folders = ", ".join(f"{s}/" for s in self.sensors)
            raise SourceNotFoundError(
                f"{self.name}: {self.root} holds none of the image folders {folders} "
                f"(sources.{self.name}.sensors); {where}"
            )
        listed: list[tuple[int, int, str]] = []
        for list_name in IMAGE_LISTS:
            path = self._metadata() / list_name
            if path.is_file():
                listed += _load_image_list(path, where)
        images: dict[str, dict[tuple[int, int], tuple[str, ...]]] = {}
        for sensor in self.sensors:
            folder = self.root / sensor
            names = _subfolders(folder) if folder.is_dir() else set()
            by_tile: dict[tuple[int, int], set[str]] = {}
            for col, row, image in listed:
                if image in names:
                    by_tile.setdefault((col, row), set()).add(image)
            if not by_tile:  # a sensor the image lists do not cover: scan its folders
                first = SENSOR_SPECS[sensor].first_folder
                for image in names:
                    for tile in _tiles_in(folder / image / first):
                        by_tile.setdefault(tile, set()).add(image)
            images[sensor] = {t: tuple(sorted(v)) for t, v in by_tile.items()}
        split_tables: dict[str, dict[tuple[int, int], str] | None] = {}
        loaded: list[tuple[str, list[tuple[int, int]]]] = []
        for stem in self.splits:
            path = self._metadata() / f"{stem}.json"
            if not path.is_file():
                if self.explicit_splits:
                    raise SourceNotFoundError(
                        f"{self.name}: split file {path} not found (sources.{self.name}.splits "
                        "in params.yaml)"
                    )
                continue
            loaded.append((stem, _load_split(path, where)))
        for sensor in self.sensors:
            applicable = [(s, t) for s, t in loaded if _split_applies(s, sensor)]
            if not applicable:
                split_tables[sensor] = None
                continue
            table: dict[tuple[int, int], str] = {}
            for stem, tiles in applicable:
                split = _split_name(stem)
                for tile in tiles:
                    table.setdefault(tile, split)
            split_tables[sensor] = table
        self._index_cache = _Index(images=images, splits=split_tables)
        return self._index_cache

    def list_units(self) -> list[str]:
        """List ``<sensor>/<col>_<row>`` for every tile of the selected sensors and splits.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If the metadata or the image folders are missing (see
                :meth:`_index`).
        """
        index = self._index()
        units: list[str] = []
        for sensor in self.sensors:
            table = index.splits[sensor]
            zoom = SENSOR_SPECS[sensor].zoom
            for col, row in index.images[sensor]:
                if table is None or _label_tile(col, row, zoom) in table:
                    units.append(f"{sensor}/{col}_{row}")
        return sorted(units)

    def _parse_unit(self, unit: str) -> tuple[str, int, int]:
        sensor, _, tile = unit.partition("/")
        match = _TILE_RE.match(tile)
        if sensor not in SENSOR_SPECS or not match:
            raise ValueError(
                f"{self.name}: bad unit id {unit!r}; expected <sensor>/<col>_<row> with sensor "
                f"one of {list(SENSORS)}"
            )
        return sensor, int(match[1]), int(match[2])

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a tile is read from (for change detection on re-runs).

        Args:
            unit: ``<sensor>/<col>_<row>``.

        Returns:
            The metadata files, the tile's static and dynamic label files and the band files
            of its listed images that exist, sorted.
        """
        try:
            sensor, col, row = self._parse_unit(unit)
        except ValueError:
            return []
        spec = SENSOR_SPECS[sensor]
        paths = [self._metadata() / name for name in (*IMAGE_LISTS, "image_times.json")]
        paths += [self._metadata() / f"{stem}.json" for stem in self.splits]
        label_col, label_row = _label_tile(col, row, spec.zoom)
        static = self.root / "static" / f"{label_col}_{label_row}"
        if static.is_dir():
            paths += [p for p in static.iterdir()]
        dynamic = self.root / "dynamic" / f"{label_col}_{label_row}"
        if dynamic.is_dir():
            paths += [p for d in dynamic.iterdir() if d.is_dir() for p in d.iterdir()]
        names = self._index().images.get(sensor, {}).get((col, row), ())
        for name in names:
            for folder in spec.folders:
                paths.append(self.root / sensor / name / folder / f"{col}_{row}.png")
        return sorted({p for p in paths if p.is_file()})

    # -- reading ------------------------------------------------------------------------------

    def _has_static_vectors(self) -> bool:
        """Whether any static label folder holds a ``vector.json`` (found once, lazily)."""
        if self._static_vectors is None:
            self._static_vectors = next(self.root.glob("static/*/vector.json"), None) is not None
        return self._static_vectors

    def _image_times(self, unit: str) -> dict[str, Any]:
        if self._times_cache is None:
            path = self._metadata() / "image_times.json"
            data = _read_json(path, unit, "bad_metadata")
            if not isinstance(data, dict):
                raise SourceError("bad_metadata", f"{path}: not a JSON object", unit)
            self._times_cache = data
        return self._times_cache

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one sensor tile with its images and labels into one sample (metadata only).

        Args:
            unit: ``<sensor>/<col>_<row>`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``missing_file`` if no listed image of the tile is on disk, a
                dynamic label folder has no ``vector.json``, or a static one has none while
                others have (a layout without any, as torchgeo's fixture, has no objects);
                ``missing_band`` if a kept image lacks a band file; ``corrupt_raster`` if a PNG
                header is unreadable or of the wrong mode, or the static ``land_cover.png``
                cannot be decoded;
                ``malformed_label`` for unreadable or ill-formed ``vector.json``;
                ``bad_metadata`` for an unreadable ``image_times.json`` or time.
            ValueError: If ``unit`` is not of the form above.
        """
        sensor, col, row = self._parse_unit(unit)
        spec = SENSOR_SPECS[sensor]
        names = self._index().images.get(sensor, {}).get((col, row), ())
        if not names:
            raise SourceError(
                "missing_file",
                f"{self.name} {unit}: no {sensor} image is listed for tile {col}_{row}",
                unit,
            )
        times = self._image_times(unit)
        candidates: list[_Candidate] = []
        for name in names:
            when = _image_time(name, times, self._metadata() / "image_times.json", unit)
            if when is None:
                continue
            if (self.root / sensor / name / spec.first_folder / f"{col}_{row}.png").is_file():
                candidates.append(_Candidate(name, when))
        if not candidates:
            expected = self.root / sensor / names[-1] / spec.first_folder / f"{col}_{row}.png"
            raise SourceError(
                "missing_file",
                f"{self.name} {unit}: none of the {len(names)} listed images has a dated "
                f"{spec.first_folder} file for this tile (e.g. {expected})",
                unit,
            )

        label_col, label_row = _label_tile(col, row, spec.zoom)
        label_name = f"{label_col}_{label_row}"
        static_dir = self.root / "static" / label_name
        static_vector = static_dir / "vector.json"
        if static_dir.is_dir() and not static_vector.is_file() and self._has_static_vectors():
            raise SourceError(  # lost: other static folders hold theirs (their objects)
                "missing_file", f"satlas {unit}: static label folder lacks {static_vector}", unit
            )
        static_data = (
            _load_vector(static_vector, unit, dynamic=False) if static_vector.is_file() else None
        )
        dynamic = _load_dynamic(self.root / "dynamic" / label_name, unit)

        chosen = _choose(candidates, {image for _, image, _ in dynamic}, self.max_images)
        roles = {c.name: f"t{i}" for i, c in enumerate(chosen)}
        images: list[ImageRef] = []
        primary: dict[str, ImageRef] = {}
        for cand in chosen:
            refs = _image_refs(self.root, sensor, cand.name, col, row, roles[cand.name], unit)
            images += refs
            primary[roles[cand.name]] = refs[0]
        newest_role = roles[chosen[-1].name]
        window = _window(col, row, spec.zoom)

        objects: list[ObjectLabel] = []
        properties: dict[str, str] = {}
        rasters: dict[str, str] = {}
        if static_data is not None:
            found = _features(
                static_data, static_vector, unit, window, primary[newest_role], "static"
            )
            objects += found.objects
            properties.update(found.properties)
        if spec.zoom == LABEL_ZOOM and static_dir.is_dir():
            for path in sorted(static_dir.glob("*.png")):
                rasters[path.stem] = str(path)
        if static_data is not None or rasters:
            properties["static_image_role"] = newest_role
        if "land_cover" in rasters:
            shares = land_cover_shares(Path(rasters["land_cover"]), unit)
            properties[LAND_COVER_SHARES] = shares_json(shares)
        for folder, image, data in dynamic:
            role = roles.get(image)
            if role is None:
                continue
            found = _features(
                data, folder / "vector.json", unit, window, primary[role], folder.name
            )
            objects += found.objects
            properties.update({f"{k}:{role}": v for k, v in found.properties.items()})
            if spec.zoom == LABEL_ZOOM:
                for path in sorted(folder.glob("*.png")):
                    rasters[f"{path.stem}:{role}"] = str(path)

        acquired: list[str] = []
        for cand in chosen:
            text = cand.time.strftime("%Y-%m-%dT%H:%M:%SZ")
            if text not in acquired:
                acquired.append(text)
        width = max(im.width for im in images)
        bands: list[str] = []
        for im in images:
            bands += [b for b in im.bands if b not in bands]
        tags = _tags(sensor, col, row, spec.zoom, [c.name for c in chosen])
        if spec.zoom != LABEL_ZOOM:
            tags["label_tile"] = label_name
        categories = sorted({o.category for o in objects})
        if categories:
            tags["label_categories"] = ",".join(categories)
        if rasters:
            tags["raster_labels"] = ",".join(sorted(rasters))
        table = self._index().splits[sensor]
        split = table.get((label_col, label_row), "") if table is not None else ""
        native_id = f"{sensor}/{col}_{row}"
        sample = Sample(
            sample_id=f"{self.name}:{native_id}",
            source=self.name,
            native_id=native_id,
            modality=spec.modality,
            sensor=spec.sensor,
            bands=tuple(bands),
            gsd_m=round(tile_gsd_m(row, spec.zoom, width), 4),
            crs="EPSG:3857",
            footprint_wkt=footprint_wkt(col, row, spec.zoom),
            acquired=tuple(acquired),
            images=tuple(images),
            tags=tags,
            labels=Labels(
                scheme="",
                classes=(),
                objects=tuple(objects),
                properties=properties,
                rasters=rasters,
            ),
            licence=spec.licence,
            split=split,
        )
        return [sample]
