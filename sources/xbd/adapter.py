"""xBD / xView2 building-damage pairs: one pre/post tile pair becomes one :class:`Sample`.

The adapter class here lists the tiles and assembles each sample; its helpers live beside
it: :mod:`~eoinstruct.sources.xbd.files` (split folders, file names, PNG headers),
:mod:`~eoinstruct.sources.xbd.labels` (label JSON, metadata values) and
:mod:`~eoinstruct.sources.xbd.georeference` (the pixel → lon/lat fit). Each states the layout
facts (``docs/source-formats.md`` section 5) it relies on.

UNVERIFIED: the licence (CC BY-NC-SA 4.0).

Decisions:

- Units are ``"<split folder>/<disaster>_<id>"`` for every pre or post image **or** label file
  found, so a tile missing some of its four files is still listed and fails in
  :meth:`XBD.read_unit` with ``missing_file`` naming the file (the ingest stage then counts
  it, instead of the tile silently vanishing). torchgeo's fixture, which has images and
  targets but no label JSON, therefore lists every tile and fails each one.
- Targets are not read: damage comes from the post label's polygons, which carry more than
  the rasterised masks.
- ``sample_id`` is ``xbd:<disaster>_<id>``. If the same ``<disaster>_<id>`` occurs in more than
  one split folder under the root (present on disk, whatever ``splits`` selects, so ids do not
  change with the options), the folder is kept: ``xbd:<split folder>/<disaster>_<id>``.
- Objects come from the post label only (``image_role="post"``); the pre label is read for its
  capture date and as a fallback for georeferencing, and is validated like the post label.
- ``tags`` hold the raw, non-empty metadata values ``disaster``, ``disaster_type``, ``sensor``
  (no file-name fallback, so a blank label gives no tags); ``labels.properties["disaster"]``
  falls back to the file-name prefix and ``disaster_type`` is left out when empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.xbd.files import _FILE_RE, _UNIT_RE, PHASES, SPLIT_MAP, _png_size
from eoinstruct.sources.xbd.georeference import MAX_FIT_RMS_PX, _fit_label, _plausible_lonlat
from eoinstruct.sources.xbd.labels import (
    DEFAULT_SENSOR,
    SENSOR_NAMES,
    _gsd,
    _iso_date,
    _read_label,
    _text,
)


class XBD(SourceAdapter):
    """Reader of xBD (xView2) tiles: each pre/post pair with its post-disaster building damage.

    Options (``sources.xbd`` in ``params.yaml``):
        splits: Split folders to read (any of :data:`SPLIT_MAP`); default all present.

    Args:
        root: The folder holding ``train/``, ``test/`` (and ``tier3/``, ``hold/``).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If ``splits`` names a folder that is not an xBD split.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        splits = self.options.get("splits")
        if splits is None:
            self.splits: tuple[str, ...] = tuple(SPLIT_MAP)
        else:
            names = (splits,) if isinstance(splits, str) else tuple(str(s) for s in splits)
            unknown = [s for s in names if s not in SPLIT_MAP]
            if unknown:
                raise ValueError(
                    f"xbd: unknown split folder(s) {unknown} in sources.xbd.splits "
                    f"(params.yaml); expected some of {list(SPLIT_MAP)}"
                )
            self.splits = names
        self._stem_folders: dict[str, list[str]] | None = None

    # -- listing ------------------------------------------------------------------------------

    def _stems(self, folder: str) -> set[str]:
        """Return the tile stems with any pre/post image or label file in a split folder."""
        stems: set[str] = set()
        for sub, suffix in (("images", ".png"), ("labels", ".json")):
            directory = self.root / folder / sub
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.suffix != suffix or path.name.startswith("."):
                    continue  # dot files: e.g. macOS ``._*`` companions inside tarballs
                match = _FILE_RE.match(path.stem)
                if match:
                    stems.add(match["stem"])
        return stems

    def _present_folders(self, folders: Iterable[str]) -> list[str]:
        return [
            f
            for f in folders
            if (self.root / f / "images").is_dir() or (self.root / f / "labels").is_dir()
        ]

    def list_units(self) -> list[str]:
        """List ``"<split folder>/<disaster>_<id>"`` for every tile with any image or label.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If none of the selected split folders has ``images/`` or
                ``labels/``.
        """
        folders = self._present_folders(self.splits)
        if not folders:
            raise SourceNotFoundError(
                f"xbd: no split folder among {list(self.splits)} with images/ or labels/ under "
                f"{self.root}; extract the xView2 tarballs there or fix sources.xbd.splits in "
                "params.yaml"
            )
        return sorted(f"{folder}/{stem}" for folder in folders for stem in self._stems(folder))

    def _native_id(self, folder: str, stem: str) -> str:
        if self._stem_folders is None:
            index: dict[str, list[str]] = {}
            for other in self._present_folders(SPLIT_MAP):
                for s in self._stems(other):
                    index.setdefault(s, []).append(other)
            self._stem_folders = index
        if len(self._stem_folders.get(stem, [folder])) > 1:
            return f"{folder}/{stem}"
        return stem

    # -- reading ------------------------------------------------------------------------------

    def unit_files(self, unit: str) -> list[Path]:
        """List a tile's image and label files that exist (for change detection on re-runs).

        Args:
            unit: ``<split folder>/<disaster>_<id>``.

        Returns:
            Existing pre/post image and label paths, sorted.
        """
        match = _UNIT_RE.match(unit)
        if not match:
            return []
        base = self.root / match["folder"]
        stem = match["stem"]
        paths = [base / "images" / f"{stem}_{p}_disaster.png" for p in PHASES]
        paths += [base / "labels" / f"{stem}_{p}_disaster.json" for p in PHASES]
        return sorted(p for p in paths if p.is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one tile pair into one sample.

        Args:
            unit: ``"<split folder>/<disaster>_<id>"`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``missing_file`` if an image or label file of either phase is
                missing; ``malformed_label`` for unreadable JSON, missing ``features`` or a bad
                WKT; ``bad_metadata`` for an unparseable ``gsd`` or ``capture_date``;
                ``corrupt_raster`` if a PNG header cannot be read or is not 8-bit RGB, or the pre
                and post images differ in size.
            ValueError: If ``unit`` is not of the form above.
        """
        match = _UNIT_RE.match(unit)
        if not match or match["folder"] not in SPLIT_MAP:
            raise ValueError(f"xbd: bad unit id {unit!r}; expected '<split>/<disaster>_<id>'")
        folder, stem = match["folder"], match["stem"]
        base = self.root / folder
        images = {p: base / "images" / f"{stem}_{p}_disaster.png" for p in PHASES}
        label_paths = {p: base / "labels" / f"{stem}_{p}_disaster.json" for p in PHASES}
        missing = [str(p) for p in (*images.values(), *label_paths.values()) if not p.is_file()]
        if missing:
            raise SourceError("missing_file", f"xbd {unit}: missing {', '.join(missing)}", unit)

        labels = {p: _read_label(label_paths[p], unit) for p in PHASES}
        sizes = {p: _png_size(images[p], unit) for p in PHASES}
        if sizes["pre"] != sizes["post"]:
            raise SourceError(
                "corrupt_raster",
                f"xbd {unit}: pre image is {sizes['pre'][0]}x{sizes['pre'][1]} but post image "
                f"is {sizes['post'][0]}x{sizes['post'][1]}; the pair is not co-registered",
                unit,
            )
        post_meta = labels["post"].metadata

        raw_sensor = _text(post_meta.get("sensor"))
        raw_disaster = _text(post_meta.get("disaster"))
        raw_type = _text(post_meta.get("disaster_type"))
        sensor = SENSOR_NAMES.get(raw_sensor, raw_sensor) or DEFAULT_SENSOR
        gsd = _gsd(post_meta.get("gsd"), labels["post"].path, unit)

        acquired: list[str] = []
        for phase in PHASES:
            date = _iso_date(labels[phase].metadata.get("capture_date"), labels[phase].path, unit)
            if date and date not in acquired:
                acquired.append(date)

        crs, footprint = "", ""
        width, height = sizes["post"]
        for phase in ("post", "pre"):
            fit = _fit_label(labels[phase])
            if (
                fit is not None
                and fit.rms_px <= MAX_FIT_RMS_PX
                and _plausible_lonlat(fit, width, height)
            ):
                crs, footprint = "EPSG:4326", fit.footprint_wkt(width, height)
                # The metadata ``gsd`` is the multispectral GSD (2.35 m on the real Joplin
                # tile, whose pixels measure 0.45 m); the fitted pixel size is what the
                # image shows, so it is the sample's GSD when the fit exists.
                gsd = round(sum(fit.pixel_size_m()) / 2, 2)
                break

        objects = tuple(
            ObjectLabel(
                category=f.feature_type,
                attribute=f.subtype,
                image_role="post",
                bbox=tuple(float(v) for v in f.geometry.bounds),  # type: ignore[arg-type]
                polygon_wkt=f.wkt,
                uid=f.uid,
            )
            for f in labels["post"].xy
        )
        properties = {"disaster": raw_disaster or match["disaster"]}
        metadata_gsd = _gsd(post_meta.get("gsd"), labels["post"].path, unit)
        if metadata_gsd is not None:
            properties["metadata_gsd_m"] = f"{metadata_gsd:g}"
        if raw_type:
            properties["disaster_type"] = raw_type
        raw_tags = {"disaster": raw_disaster, "disaster_type": raw_type, "sensor": raw_sensor}
        tags = {k: v for k, v in raw_tags.items() if v}
        native_id = self._native_id(folder, stem)
        sample = Sample(
            sample_id=f"{self.name}:{native_id}",
            source=self.name,
            native_id=native_id,
            modality="rgb",
            sensor=sensor,
            bands=("R", "G", "B"),
            gsd_m=gsd,
            crs=crs,
            footprint_wkt=footprint,
            acquired=tuple(acquired),
            images=tuple(
                ImageRef(
                    role=p,
                    files=(str(images[p]),),
                    bands=("R", "G", "B"),
                    encoding="uint8",
                    width=sizes[p][0],
                    height=sizes[p][1],
                )
                for p in PHASES
            ),
            tags=tags,
            labels=Labels(scheme="", classes=(), objects=objects, properties=properties),
            licence=self.licence,
            split=SPLIT_MAP[folder],
        )
        return [sample]
