"""Source adapter for Landsat, Sentinel-1 and Sentinel-2 scenes found through STAC.

A unit is one STAC item, ``<collection>/<item id>``, found either by walking a static STAC
catalog (option ``catalog``, what the sample corpus uses) or by searching a STAC API (option
``api_url``: Earth Search, Planetary Computer, any stac-fastapi). Reading a unit cuts a
small chip out of the item's cloud-optimised GeoTIFFs and writes it as local GeoTIFFs, one
per asset, under ``chips_dir/<collection>/<item id>/<asset>.tif``; the sample points at
those chips. Unlike the other adapters, ``read_unit`` therefore reads pixels, but only the
chip window of each asset.

The adapter class here orchestrates; its helpers live beside it, one module per concern:
:mod:`~eoinstruct.sources.stac.options` (the validated options),
:mod:`~eoinstruct.sources.stac.search` (static catalog walk, API search, item fetch),
:mod:`~eoinstruct.sources.stac.assets` (asset keys, scale/offset/nodata, declared CRS),
:mod:`~eoinstruct.sources.stac.signing` (href signing),
:mod:`~eoinstruct.sources.stac.items` (sensor, tags, times),
:mod:`~eoinstruct.sources.stac.grid` (asset headers, the chip grid and its alignment rule),
:mod:`~eoinstruct.sources.stac.chips` (windowed reads, reprojection, chip files),
:mod:`~eoinstruct.sources.stac.calibration` (Sentinel-1 σ0),
:mod:`~eoinstruct.sources.stac.thermal` (temperature figures of a thermal chip, stored as
label properties) and :mod:`~eoinstruct.sources.stac.series` (time series of one tile or
path/row as one sample, with their vegetation figures). Each states the facts it relies
on (``shared/docs/source-formats.md`` §8) and its decisions.

Decision:

- **Caching.** ``list_units`` keeps the items it found in memory and, in API mode, writes
  each as ``chips_dir/<collection>/<item id>/item.json`` (only when its content changed), so a
  second process can read units without searching; failing that, the item is fetched by id.
  Each chip folder has ``chip.json``, written last, recording what was read (item, assets,
  scaling, centre rule, size) and the grid; a unit whose ``chip.json`` matches is not re-read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import (
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
    json_loads,
)
from eoinstruct.sources.stac.assets import (
    AssetChoice,
    _local_path,
    _true_colour,
    collection_profile,
    select_assets,
)
from eoinstruct.sources.stac.chips import _write_json_atomic, read_chips
from eoinstruct.sources.stac.grid import ChipGrid, _footprint
from eoinstruct.sources.stac.items import acquisition_times, item_tags, sensor_name
from eoinstruct.sources.stac.options import _parse_options
from eoinstruct.sources.stac.search import fetch_item, item_matches, search_api, walk_catalog
from eoinstruct.sources.stac.series import (
    SERIES_PREFIX,
    ndvi_properties,
    parse_series_unit,
    series_units,
)
from eoinstruct.sources.stac.thermal import thermal_properties

ITEM_JSON = "item.json"
"""Where a unit's item is cached in API mode: ``chips_dir/<collection>/<item id>/item.json``."""


class STACScenes(SourceAdapter):
    """Chips of Sentinel-2, Landsat and Sentinel-1 STAC items, one sample per item.

    Options (``params.yaml``, ``sources.stac``):

    - ``catalog``: path of a static STAC catalog's root JSON, relative to ``root`` (default
      ``catalog.json``); or
    - ``api_url``: URL of a STAC API (``root`` must then be an existing folder; it is not read).
    - ``chips_dir`` (required): where chips and cached items are written, e.g.
      ``data/work/stac_chips`` (the ingest stage must declare it as an output).
    - ``collections``, ``bbox`` [w, s, e, n] (w > e crosses the antimeridian) or
      ``intersects`` (GeoJSON), ``datetime`` (RFC 3339 instant or ``a/b`` interval),
      ``max_items``: search filters (also applied to a
      static catalog); ``query`` (dict, the STAC query extension), ``filter`` (CQL2-JSON),
      ``sortby``, ``limit`` (page size): API only.
    - ``assets``: collection id → asset keys to read (default: see :func:`select_assets`).
    - ``chip_size``: chip width/height in reference pixels, an int or collection id → int
      (key ``default`` for the rest); default 256.
    - ``chip_center`` [lon, lat] or ``aoi`` [w, s, e, n]: the point chips are centred on (see
      the module docstring for the rule); ``aoi`` is also the search bbox when none is given.
    - ``sign``: None or a name in :data:`SIGNERS` (``planetary_computer``: needs the
      ``planetary-computer`` package, the ``planetary-computer`` extra).
    - ``s1_calibration``: ``sigma0`` (default) or ``none`` for Sentinel-1 GRD.
    - ``timeout_s`` (default 30), ``connect_timeout_s`` (10), ``retries`` (2): every API
      request and remote asset read (:mod:`~eoinstruct.sources.stac.network`).
    - ``time_series`` (default false): also list one series unit per optical tile or
      path/row with items on two or more dates (:mod:`~eoinstruct.sources.stac.series`);
      ``series_max_cloud`` (default 20): cloudiest member item, in percent.

    Args:
        root: Folder holding the static catalog (or any existing folder in API mode).
        options: The options above.

    Raises:
        SourceNotFoundError: If the root or the catalog file is missing.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.opts = _parse_options(self.options)
        self.chips_dir = self.opts.chips_dir
        self._items: dict[str, dict[str, Any]] = {}
        self._item_paths: dict[str, Path] = {}
        self._collection_assets: dict[str, dict[str, Any]] = {}
        self._walked = False
        if self.opts.catalog is not None and not self.catalog_path.is_file():
            raise SourceNotFoundError(
                f"{self.name}: no STAC catalog at {self.catalog_path}; write one (the sample "
                "corpus does), name a static STAC catalog in sources.stac.catalog or a STAC "
                "API in sources.stac.api_url"
            )

    @property
    def catalog_path(self) -> Path:
        """Path of the static catalog's root JSON (catalog mode)."""
        return self.root / str(self.opts.catalog)

    # --- listing

    def list_units(self) -> list[str]:
        """Find the items: walk the static catalog or search the API.

        Returns:
            Sorted unit ids ``<collection>/<item id>``.

        Raises:
            SourceNotFoundError: If the catalog cannot be read or the search fails.
        """
        if self.opts.catalog is not None:
            self._walk_catalog()
            units = [u for u in sorted(self._item_paths) if item_matches(self._items[u], self.opts)]
            if self.opts.max_items is not None:
                units = units[: self.opts.max_items]
            return units + self._series(units)
        items = search_api(self.opts, self.name)
        units: list[str] = []
        for item in items:
            unit = f"{item.get('collection')}/{item.get('id')}"
            if unit in self._items:
                continue
            self._items[unit] = item
            _write_json_atomic(self._unit_dir(unit) / ITEM_JSON, item, only_if_changed=True)
            units.append(unit)
        return sorted(units) + self._series(units)

    def _series(self, units: list[str]) -> list[str]:
        """The series units of the listed items (none unless ``time_series`` is on)."""
        if not self.opts.time_series:
            return []
        return series_units(self._items, units, self.opts.series_max_cloud)

    def _walk_catalog(self) -> None:
        """Index every item under the static catalog (once): unit → item dict and path."""
        if self._walked:
            return
        walk_catalog(
            self.catalog_path, self.name, self._items, self._item_paths, self._collection_assets
        )
        self._walked = True

    # --- per unit

    def _unit_dir(self, unit: str) -> Path:
        collection, _, item_id = unit.partition("/")
        return self.chips_dir / collection / item_id

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a unit is read from: its item JSON and its local asset files.

        Args:
            unit: ``<collection>/<item id>``.

        Returns:
            Existing paths, sorted.
        """
        if unit.startswith(SERIES_PREFIX):
            collection, _, ids = parse_series_unit(unit)
            return sorted({p for i in ids for p in self.unit_files(f"{collection}/{i}")})
        paths: set[Path] = set()
        if self.opts.catalog is not None:
            self._walk_catalog()
            if unit in self._item_paths:
                paths.add(self._item_paths[unit])
        else:
            paths.add(self._unit_dir(unit) / ITEM_JSON)
        item = self._items.get(unit)
        if item is not None and "_broken" not in item:
            for asset in item.get("assets", {}).values():
                href = asset.get("href") if isinstance(asset, Mapping) else None
                local = _local_path(href) if isinstance(href, str) else None
                if local is not None and local.suffix.lower() in (".tif", ".tiff", ".xml"):
                    paths.add(local)
        return sorted(p for p in paths if p.is_file())

    def _item(self, unit: str) -> dict[str, Any]:
        """Return a unit's item: from memory, the catalog, ``item.json``, or the API."""
        if unit in self._items:
            return self._items[unit]
        if self.opts.catalog is not None:
            self._walk_catalog()
            if unit in self._items:
                return self._items[unit]
            raise SourceError("missing_file", f"no item {unit} in {self.catalog_path}", unit)
        cached = self._unit_dir(unit) / ITEM_JSON
        if cached.is_file():
            try:
                item = json_loads(cached.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SourceError(
                    "bad_metadata", f"{cached}: unreadable item: {exc}", unit
                ) from exc
        else:
            item = fetch_item(str(self.opts.api_url), unit, self.opts)
            _write_json_atomic(cached, item, only_if_changed=True)
        if not isinstance(item, dict):
            raise SourceError("bad_metadata", f"{cached}: not an item", unit)
        self._items[unit] = item
        return item

    def read_unit(self, unit: str) -> list[Sample]:
        """Cut the item's chip, write it under ``chips_dir`` and describe it as a sample.

        Args:
            unit: ``<collection>/<item id>``.

        Returns:
            One sample.

        Raises:
            SourceError: ``missing_band`` (a required asset is absent), ``missing_file`` (an
                asset file or the item cannot be found), ``network`` (an asset or the item
                could not be fetched: timeout, refused or reset connection, HTTP 429/5xx),
                ``corrupt_raster`` (an asset arrived but cannot be decoded), ``bad_metadata``
                (malformed item, unsupported collection, the CRS the item declares differs
                from the file's, no time) or ``malformed_label`` (the item JSON itself is
                broken).
            ValueError: If ``unit`` is not ``<collection>/<item id>``.
        """
        if unit.startswith(SERIES_PREFIX):
            return [self._read_series(unit)]
        collection, sep, item_id = unit.partition("/")
        if not sep or not collection or not item_id:
            raise ValueError(f"{self.name}: bad unit id {unit!r}; expected <collection>/<item>")
        item = self._item(unit)
        if "_broken" in item:
            raise SourceError("malformed_label", f"{item['_broken']}: not a STAC item JSON", unit)
        if not isinstance(item.get("properties"), Mapping) or not isinstance(
            item.get("assets"), Mapping
        ):
            raise SourceError("bad_metadata", f"{unit}: item has no properties or assets", unit)
        wanted = self.opts.assets.get(collection)
        choices = select_assets(item, wanted, self._collection_assets.get(collection), unit)
        acquired = acquisition_times(item, unit)
        grid, paths = read_chips(unit, item, choices, self._unit_dir(unit), self.opts)
        return [self._sample(unit, item, choices, grid, paths, acquired)]

    def _read_series(self, unit: str) -> Sample:
        """Read a series unit: each member's chip as role ``t<i>``, with NDVI figures."""
        collection, place, ids = parse_series_unit(unit)
        read: list[tuple[Sample, dict[str, Path]]] = []
        failures: list[SourceError] = []
        for item_id in ids:
            member = f"{collection}/{item_id}"
            try:
                (sample,) = self.read_unit(member)
                choices = select_assets(
                    self._item(member),
                    self.opts.assets.get(collection),
                    self._collection_assets.get(collection),
                    member,
                )
            except SourceError as exc:
                failures.append(exc)
                continue
            folder = self._unit_dir(member)
            read.append((sample, {c.key: folder / f"{c.key}.tif" for c in choices}))
        if read:
            grid = read[-1][0].labels.properties["chip_grid"]
            read = [m for m in read if m[0].labels.properties["chip_grid"] == grid]
        if len(read) < 2:
            if failures:
                first = failures[0]
                raise SourceError(first.kind, f"series {unit}: {first}", unit)
            raise SourceError(
                "bad_metadata", f"series {unit}: fewer than two members share a chip grid", unit
            )
        profile = collection_profile(collection)
        assert profile is not None
        images: list[ImageRef] = []
        acquired: list[str] = []
        properties: dict[str, str] = {
            "stac_collection": collection,
            "chip_grid": read[-1][0].labels.properties["chip_grid"],
            "series_roles": "/".join(f"t{i}" for i in range(len(read))),
            "series_items": "/".join(s.native_id.partition("/")[2] for s, _ in read),
        }
        for index, (sample, files) in enumerate(read):
            role = f"t{index}"
            image = sample.image("image")
            images.append(
                ImageRef(
                    role=role,
                    files=image.files,
                    bands=image.bands,
                    encoding=image.encoding,
                    width=image.width,
                    height=image.height,
                    display_bands=image.display_bands,
                )
            )
            acquired.append(sample.acquired[0] if sample.acquired else "")
            figures = ndvi_properties(profile.family, files, unit)
            properties |= {f"{k}:{role}": v for k, v in figures.items()}
            cloud = sample.labels.properties.get("eo:cloud_cover")
            if cloud is not None:
                properties[f"eo:cloud_cover:{role}"] = cloud
        newest = read[-1][0]
        tags = {  # what every date shares (not a cloud class or orbit of one of them)
            k: v for k, v in newest.tags.items() if all(s.tags.get(k) == v for s, _ in read)
        }
        platforms = sorted({s.tags["platform"] for s, _ in read if "platform" in s.tags})
        if platforms:
            tags["platform"] = "+".join(platforms)
        sensors = sorted({s.sensor for s, _ in read})
        return Sample(
            sample_id=f"{self.name}:{SERIES_PREFIX}{collection}/{place}",
            source=self.name,
            native_id=unit,
            modality=newest.modality,
            sensor=sensors[0] if len(sensors) == 1 else " / ".join(sensors),
            bands=images[0].bands,
            gsd_m=newest.gsd_m,
            crs=newest.crs,
            footprint_wkt=newest.footprint_wkt,
            acquired=tuple(acquired),
            images=tuple(images),
            tags=tags,
            labels=Labels(properties=properties),
            licence=newest.licence,
            split="",
        )

    def _sample(
        self,
        unit: str,
        item: Mapping[str, Any],
        choices: Sequence[AssetChoice],
        grid: ChipGrid,
        paths: Mapping[str, Path],
        acquired: tuple[str, ...],
    ) -> Sample:
        collection = str(item.get("collection"))
        profile = collection_profile(collection)
        assert profile is not None
        family = profile.family
        images: list[ImageRef] = []
        for role in ("image", "thermal"):
            picked = [c for c in choices if c.role == role]
            if not picked:
                continue
            bands = tuple(c.band for c in picked)
            if role == "thermal":
                encoding, display = "kelvin", (bands[0],)
            elif family in ("s2", "landsat"):
                encoding = "reflectance"
                display = _true_colour(picked, family)
            elif family == "s1grd" and self.opts.s1_calibration == "none":
                encoding, display = "float", (bands[0],)
            else:
                encoding, display = "sar_linear", ()
            images.append(
                ImageRef(
                    role=role,
                    files=tuple(str(paths[c.key]) for c in picked),
                    bands=bands,
                    encoding=encoding,
                    width=grid.width,
                    height=grid.height,
                    display_bands=display,
                )
            )
        if family in ("s1grd", "s1rtc"):
            modality = "sar"
        elif images[0].role == "thermal":
            modality = "thermal"
        else:
            modality = "multispectral"
        tags = item_tags(item)
        if family == "s1grd":
            tags["calibration"] = "sigma0" if self.opts.s1_calibration == "sigma0" else "none"
        elif family == "s1rtc":
            tags["calibration"] = "gamma0_rtc"
        props = item.get("properties", {})
        properties: dict[str, str] = {
            "stac_collection": collection,
            "stac_item": str(item.get("id")),
            "chip_grid": grid.key(),
        }
        if self.opts.chip_center is not None:
            properties["chip_center"] = (
                f"{self.opts.chip_center[0]:.6f},{self.opts.chip_center[1]:.6f}"
            )
        for key in ("eo:cloud_cover", "view:sun_elevation", "view:sun_azimuth"):
            value = props.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                properties[key] = f"{float(value):g}"
        thermal = [im for im in images if im.role == "thermal"]
        if thermal:  # temperature figures for the heat-island template (sources/stac/thermal.py)
            properties |= thermal_properties(Path(thermal[0].files[0]), unit)
        return Sample(
            sample_id=f"{self.name}:{unit}",
            source=self.name,
            native_id=unit,
            modality=modality,
            sensor=sensor_name(item),
            bands=tuple(b for image in images for b in image.bands),
            gsd_m=round(grid.resolution, 6),
            crs=grid.crs,
            footprint_wkt=_footprint(grid),
            acquired=acquired,
            images=tuple(images),
            tags=tags,
            labels=Labels(properties=properties),
            licence=profile.licence,
            split="",
        )
