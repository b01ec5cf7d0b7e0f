"""fMoW (Functional Map of the World): one ``<category>_<n>`` folder becomes one :class:`Sample`.

A sequence folder holds every view of one place around one object (a fountain, a dam…);
the sample is the sequence of its views, oldest first, with roles ``t0``, ``t1``… and the
object's box on each view (one :class:`ObjectLabel` per view). The images are shipped as
they are (the distributed JPEGs are already chips around the box with some context).

Helpers beside it: :mod:`~eoinstruct.sources.fmow.files` (folders, file names, JPEG headers),
:mod:`~eoinstruct.sources.fmow.metadata` (the per-image JSON),
:mod:`~eoinstruct.sources.fmow.categories` (the 62 categories).

Decisions:

- Units are ``<split>/<category>/<category>_<n>`` for every sequence folder under ``train/``
  and ``val/``; a folder whose views are incomplete (a JPEG without its JSON or the reverse)
  fails with ``missing_file`` rather than losing the view silently.
- Views are ordered by ``timestamp`` (then ``<t>``); the original ``<t>`` stays in
  ``labels.properties["view:t<i>"]``. At most ``max_views`` views (1–5, default 5) are kept:
  evenly spaced over the sequence, the first and the last always kept. Five is the most a
  pair names by position and the date roles the generator knows (``t0`` … ``t4``).
- ``gsd_m`` is the finest GSD of the views kept (each view's in ``gsd_m:t<i>``);
  the footprint is the first view's ``raw_location`` (lon/lat WKT).
- ``native_id`` is ``<split>/<category>_<n>`` (the numbering restarts per split folder).
- ``sensor`` is the constellation (DigitalGlobe WorldView-2/-3, GeoEye-1, QuickBird-2); a
  JSON's ``sensor_platform_name`` is kept as the ``platform`` tag.

fMoW-full (``variant: ms``, or ``rgb`` on a tree of ``_rgb.tif``): the TIFFs are read like the
JPEGs, their bands named from the JSON's ``approximate_wavelengths``
(:mod:`~eoinstruct.sources.fmow.bands`); 8-bit TIFFs are ``uint8``, deeper ones keep their
digital numbers as stored (encoding ``float``: no brightness scale assumed). A sequence that
mixes 4- and 8-band views keeps the views of its most common band set. The names, bit depth
and band order of fMoW-full are UNVERIFIED (tested on a synthetic tree only).

Not read: ``test/`` and ``seq/`` (no category folders; their ground truth is a separate
mapping). Real fMoW images reach several thousand
pixels for large categories (airport, port…); a crop to the box with context would keep
them small, but the default ships each JPEG whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.fmow.bands import RGB_NAMES, band_names
from eoinstruct.sources.fmow.categories import CATEGORIES, SCHEME
from eoinstruct.sources.fmow.files import (
    FOLDER_RE,
    SPLIT_MAP,
    UNIT_RE,
    VARIANTS,
    image_header,
    view_files,
)
from eoinstruct.sources.fmow.metadata import ViewMeta, read_view

SENSOR = "DigitalGlobe WorldView-2/-3, GeoEye-1, QuickBird-2"
"""The constellation of fMoW's images (the JSONs name the platform of each)."""

MAX_VIEWS = 5
"""The most views a sample may keep (``max_views``)."""


@dataclass(frozen=True)
class _View:
    """One view as read: its JSON facts, image file, band names and encoding."""

    meta: ViewMeta
    path: Path
    bands: tuple[str, ...]
    encoding: str


def spaced(count: int, keep: int) -> list[int]:
    """Return ``keep`` indices of ``range(count)`` evenly spaced, first and last included.

    Args:
        count: How many there are.
        keep: How many to keep (at least 1).

    Returns:
        Sorted, distinct indices; all of them when ``keep >= count``.
    """
    if keep >= count:
        return list(range(count))
    if keep == 1:
        return [count - 1]
    return sorted({round(i * (count - 1) / (keep - 1)) for i in range(keep)})


class FMoW(SourceAdapter):
    """Reader of fMoW-rgb sequence folders: every view of one place and its object's box.

    Options (``sources.fmow`` in ``params.yaml``):
        splits: Split folders to read (``train``, ``val``); default both.
        variant: ``rgb`` (pan-sharpened, default), ``msrgb`` (multispectral as RGB, fMoW-rgb)
            or ``ms`` (the 4- or 8-band multispectral TIFFs of fMoW-full).
        max_views: Views kept per sequence, 1–5 (default 5).

    Args:
        root: The folder holding ``train/`` and ``val/`` (``fmow-rgb/`` or ``fmow-full/``).
        options: The adapter's options.

    Raises:
        ValueError: If an option is out of range.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        splits = self.options.get("splits", tuple(SPLIT_MAP))
        names = (splits,) if isinstance(splits, str) else tuple(str(s) for s in splits)
        if not names or any(s not in SPLIT_MAP for s in names):
            raise ValueError(f"fmow: splits {names} must be some of {list(SPLIT_MAP)}")
        self.splits = names
        self.variant = str(self.options.get("variant", "rgb"))
        if self.variant not in VARIANTS:
            raise ValueError(f"fmow: variant {self.variant!r} must be one of {VARIANTS}")
        max_views = self.options.get("max_views", MAX_VIEWS)
        if isinstance(max_views, bool) or not isinstance(max_views, int):
            raise ValueError(f"fmow: max_views {max_views!r} must be an integer")
        if not 1 <= max_views <= MAX_VIEWS:
            raise ValueError(f"fmow: max_views {max_views} must be 1 to {MAX_VIEWS}")
        self.max_views = max_views

    def list_units(self) -> list[str]:
        """List ``<split>/<category>/<category>_<n>`` for every sequence folder.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If none of the selected split folders exists.
        """
        present = [s for s in self.splits if (self.root / s).is_dir()]
        if not present:
            raise SourceNotFoundError(
                f"fmow: no split folder among {list(self.splits)} under {self.root}"
            )
        units = []
        for split in present:
            for category in sorted(p for p in (self.root / split).iterdir() if p.is_dir()):
                for folder in sorted(p for p in category.iterdir() if p.is_dir()):
                    if FOLDER_RE.match(folder.name):
                        units.append(f"{split}/{category.name}/{folder.name}")
        return units

    def unit_files(self, unit: str) -> list[Path]:
        """List a sequence folder's files of the variant read (for change detection).

        Args:
            unit: ``<split>/<category>/<category>_<n>``.

        Returns:
            The image and JSON paths, sorted.
        """
        folder = self.root / unit
        if not UNIT_RE.match(unit) or not folder.is_dir():
            return []
        files = view_files(folder, self.variant)
        return sorted(p for pair in files.values() for p in pair.values())

    def _view(self, unit: str, t: int, files: dict[str, Path], category: str) -> _View:
        meta = read_view(files["json"], t, category, unit)
        path = files["image"]
        width, height, count, is_uint8 = image_header(path, unit)
        if (width, height) != (meta.width, meta.height):
            raise SourceError(
                "bad_metadata",
                f"fmow {unit}: {files['json'].name} says {meta.width}x{meta.height}, the image "
                f"is {width}x{height}",
                unit,
            )
        bands = band_names(count, meta.wavelengths)
        if bands is None or (self.variant == "ms") == (bands == RGB_NAMES):
            raise SourceError(
                "corrupt_raster",
                f"fmow {unit}: {path.name}: {count} bands with wavelengths "
                f"{list(meta.wavelengths)} are not a {self.variant} image",
                unit,
            )
        # 8-bit images are display values; fMoW-full's deeper TIFFs hold digital numbers of
        # an UNVERIFIED scale, kept as stored ("float": no brightness scale assumed).
        return _View(meta, path, bands, "uint8" if is_uint8 else "float")

    def _views(self, unit: str, category: str) -> list[_View]:
        folder = self.root / unit
        files = view_files(folder, self.variant)
        if not files:
            raise SourceError("missing_file", f"fmow {unit}: no *_{self.variant} views", unit)
        incomplete = [
            f"{folder.name}_{t}_{self.variant} {what}"
            for t, found in sorted(files.items())
            for what in ("image", "json")
            if what not in found
        ]
        if incomplete:
            raise SourceError("missing_file", f"fmow {unit}: missing {incomplete}", unit)
        views = [self._view(unit, t, found, category) for t, found in sorted(files.items())]
        # A sequence may mix 4- and 8-band sensors: the views of the most common band set
        # (the larger one on a tie) are kept, so that every image of a sample has one band set.
        sets = Counter(v.bands for v in views)
        common = max(sets, key=lambda b: (sets[b], len(b)))
        views = sorted(
            (v for v in views if v.bands == common), key=lambda v: (v.meta.timestamp, v.meta.index)
        )
        return [views[i] for i in spaced(len(views), self.max_views)]

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one sequence folder into one sample.

        Args:
            unit: ``<split>/<category>/<category>_<n>`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``missing_file`` (no views, or a view without its JPEG or JSON),
                ``malformed_label`` (unknown category, unreadable JSON, no box of the
                category, a box outside the image), ``bad_metadata`` (timestamp, GSD, size,
                footprint), ``corrupt_raster`` (not an RGB JPEG).
            ValueError: If ``unit`` is not of the form above.
        """
        match = UNIT_RE.match(unit)
        if not match or match["split"] not in SPLIT_MAP:
            raise ValueError(f"fmow: bad unit id {unit!r}; expected '<split>/<category>/<dir>'")
        category = match["category"]
        folder = FOLDER_RE.match(match["folder"])
        if category not in CATEGORIES or folder is None or folder["category"] != category:
            raise SourceError(
                "malformed_label", f"fmow {unit}: {category!r} is not an fMoW category", unit
            )
        views = self._views(unit, category)
        metas = [v.meta for v in views]
        roles = tuple(f"t{i}" for i in range(len(views)))
        properties = {"series_roles": "/".join(roles)}
        for role, meta in zip(roles, metas, strict=True):
            properties[f"timestamp:{role}"] = meta.timestamp
            properties[f"view:{role}"] = str(meta.index)
            properties[f"gsd_m:{role}"] = f"{meta.gsd_m:g}"
            if meta.cloud_cover:
                properties[f"cloud_cover:{role}"] = meta.cloud_cover
        footprint = next((m.footprint_wkt for m in metas if m.footprint_wkt), "")
        platforms = sorted({m.platform for m in metas if m.platform})
        raw_tags = {
            "country": metas[0].country_code,
            "utm_zone": metas[0].utm,
            "platform": ", ".join(platforms),
        }
        bands = views[0].bands
        display = () if bands == RGB_NAMES else ("red", "green", "blue")
        native_id = f"{match['split']}/{match['folder']}"
        sample = Sample(
            sample_id=f"{self.name}:{native_id}",
            source=self.name,
            native_id=native_id,
            modality="rgb" if bands == RGB_NAMES else "multispectral",
            sensor=SENSOR,
            bands=bands,
            gsd_m=round(min(m.gsd_m for m in metas), 2),
            crs="EPSG:4326" if footprint else "",
            footprint_wkt=footprint,
            acquired=tuple(dict.fromkeys(m.timestamp for m in metas)),
            images=tuple(
                ImageRef(
                    role=role,
                    files=(str(view.path),),
                    bands=bands,
                    encoding=view.encoding,
                    width=view.meta.width,
                    height=view.meta.height,
                    display_bands=display,
                )
                for role, view in zip(roles, views, strict=True)
            ),
            tags={k: v for k, v in raw_tags.items() if v},
            labels=Labels(
                scheme=SCHEME,
                classes=(category,),
                objects=tuple(
                    ObjectLabel(
                        category=category,
                        attribute="",
                        image_role=role,
                        bbox=meta.box,
                        uid=meta.box_id,
                    )
                    for role, meta in zip(roles, metas, strict=True)
                ),
                properties=properties,
            ),
            licence=self.licence,
            split=SPLIT_MAP[match["split"]],
        )
        return [sample]
