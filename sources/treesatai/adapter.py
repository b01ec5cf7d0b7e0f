"""TreeSatAI Benchmark Archive: 0.2 m colour-infrared aerial patches with genus area fractions.

One unit is one patch file name, ``<Species>_<n>_<id>_<site>.tif``; it gives one sample, the
aerial RGBI image ``aerial/60m/<file>`` (4 bands IR, G, B, R, uint8, EPSG:25832, 0.2 m; torchgeo
``TreeSatAI.all_bands`` and its fixture's profiles) with the patch's genera and their area
fractions from ``labels/TreeSatBA_v9_60m_multi_labels.json`` (helpers in
:mod:`~eoinstruct.sources.treesatai.genera`).

Layout facts relied on (``shared/docs/source-formats.md`` §10; torchgeo ``datasets/treesatai.py``
and ``tests/data/treesatai``):

- ``aerial/60m``, ``s1/60m`` and ``s2/60m`` hold one GeoTIFF per patch under the same name;
  ``train_filenames.lst`` and ``test_filenames.lst`` list the names of each split, one a line.
- The multi-label JSON maps each name to ``[[genus, fraction], …]``, 15 genus classes.

Decisions:

- Only the aerial image is shipped. The Sentinel-2 (12 bands) and Sentinel-1 patches of the
  same place are 6 × 6 pixels at 10 m for a 60 m patch: nothing a question asks can be seen in
  them, EarthDial's ``[hr_rgbi_0.5]`` form takes the one aerial image, and a 6-pixel raster
  would fail the corpus's image checks. Their files are listed by :meth:`unit_files` only as
  far as they exist (they are not read).
- Modality ``infrared`` (colour-infrared: red, green, blue and near infrared), which the tag
  mapping sends to EarthDial's ``[hr_rgbi_0.5]``; encoding ``uint8``; display bands R, G, B.
- The split is the list a name is in (``train``/``test``), else empty. Units are the names of
  both lists plus any aerial file listed in neither.
- ``labels``: scheme ``treesatai_genus15``, classes the genera present; properties
  ``genus_shares`` (JSON genus → fraction, 4 decimals), ``dominant_genus`` (largest fraction;
  ties go to the first in class order) and ``leaf_type`` (coniferous/broadleaved/mixed/cleared).
- Failures: no aerial file → ``missing_file``; fewer than 4 bands → ``missing_band``; an
  unreadable file, another band count, dtype or no CRS → ``corrupt_raster``; a name absent
  from the JSON or a malformed entry → ``malformed_label``.

UNVERIFIED: the real patch size (304 × 304 px is assumed from 60 m / 0.2 m) and acquisition
dates (not in the layout; ``acquired`` stays empty).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import (
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
    short_repr,
)
from eoinstruct.sources.geo import footprint_from_box
from eoinstruct.sources.treesatai.genera import GENERA, leaf_type, load_labels, parse_entry

HOMEPAGE = "https://zenodo.org/records/6780578"

LABELS_FILE = "labels/TreeSatBA_v9_60m_multi_labels.json"
"""The multi-label JSON under the root."""

SPLIT_LISTS: dict[str, str] = {"train": "train_filenames.lst", "test": "test_filenames.lst"}
"""Split → list file under the root."""

AERIAL_DIR = "aerial/60m"
SENTINEL_DIRS = ("s1/60m", "s2/60m")

BANDS: tuple[str, ...] = ("IR", "G", "B", "R")
"""Bands of the aerial GeoTIFFs, in file order."""

SCHEME = "treesatai_genus15"

SENSOR = "Aerial colour-infrared orthophoto (Lower Saxony forest inventory)"


def _read_list(path: Path) -> list[str]:
    """The patch names of a split list; an unreadable list stops the listing in one line."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceNotFoundError(
            f"treesatai: {path} is not a readable split list ({short_repr(str(exc), 80)}); "
            "restore it from the archive"
        ) from exc
    names = [line.strip() for line in text.splitlines() if line.strip()]
    bad = next((n for n in names if "\x00" in n or not n.endswith(".tif")), None)
    if bad is not None:
        raise SourceNotFoundError(
            f"treesatai: {path} lists {short_repr(bad, 60)}, not a patch file name; restore "
            "it from the archive"
        )
    return names


class TreeSatAI(SourceAdapter):
    """Reader of the TreeSatAI Benchmark Archive (60 m patches): one RGBI sample per patch.

    Options (``sources.treesatai`` in ``params.yaml``):
        splits: Splits to list (``train``, ``test``); default both, plus unlisted files.

    Args:
        root: The folder the archive was extracted into.
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        splits = self.options.get("splits")
        names = tuple(SPLIT_LISTS) if splits is None else tuple(str(s) for s in splits)
        unknown = [s for s in names if s not in SPLIT_LISTS]
        if unknown or not names:
            raise ValueError(
                f"treesatai: unknown split(s) {unknown or names} in sources.treesatai.splits "
                f"(params.yaml); expected some of {sorted(SPLIT_LISTS)}"
            )
        self.splits = names
        self._labels: dict[str, Any] | None = None

    def _split_of(self) -> dict[str, str]:
        split: dict[str, str] = {}
        for name, file in SPLIT_LISTS.items():
            for entry in _read_list(self.root / file):
                split.setdefault(entry, name)
        return split

    def list_units(self) -> list[str]:
        """List the patch file names of the selected splits (and unlisted aerial files).

        Returns:
            Sorted file names.

        Raises:
            SourceNotFoundError: If neither a split list nor ``aerial/60m`` exists.
        """
        split = self._split_of()
        aerial = self.root / AERIAL_DIR
        if not split and not aerial.is_dir():
            raise SourceNotFoundError(
                f"{self.name}: {self.root} holds neither train_filenames.lst/test_filenames.lst "
                f"nor {AERIAL_DIR}; download the archive from {HOMEPAGE}"
            )
        units = {name for name, s in split.items() if s in self.splits}
        if len(self.splits) == len(SPLIT_LISTS) and aerial.is_dir():
            units |= {p.name for p in aerial.glob("*.tif") if p.name not in split}
        return sorted(units)

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a unit is read from: its aerial GeoTIFF and the labels JSON."""
        paths = [self.root / AERIAL_DIR / unit, self.root / LABELS_FILE]
        return [p for p in paths if p.is_file()]

    def _label_table(self, unit: str) -> dict[str, Any]:
        if self._labels is None:
            path = self.root / LABELS_FILE
            if not path.is_file():
                raise SourceError("missing_file", f"treesatai {unit}: {path} does not exist", unit)
            try:
                self._labels = load_labels(path)
            except (OSError, ValueError) as exc:
                raise SourceError(
                    "malformed_label", f"treesatai {unit}: {path}: {exc}", unit
                ) from exc
        return self._labels

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one patch into its sample.

        Args:
            unit: A patch file name from :meth:`list_units`.

        Returns:
            One sample.

        Raises:
            SourceError: See the module docstring for the kinds.
        """
        if "/" in unit or "\\" in unit or not unit.endswith(".tif"):
            raise ValueError(f"treesatai: bad unit id {unit!r}; expected a .tif file name")
        path = self.root / AERIAL_DIR / unit
        where = f"treesatai {unit}: {path}"
        if not path.is_file():
            raise SourceError("missing_file", f"{where}: aerial image does not exist", unit)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as ds:
                    count, dtype, crs = ds.count, ds.dtypes[0], ds.crs
                    width, height, bounds, res = ds.width, ds.height, ds.bounds, ds.res
        except RasterioError as exc:
            raise SourceError(
                "corrupt_raster", f"{where}: cannot read GeoTIFF: {exc}", unit
            ) from exc
        if count < len(BANDS):
            raise SourceError(
                "missing_band", f"{where}: {count} bands, expected {len(BANDS)} (IR, G, B, R)", unit
            )
        if count != len(BANDS) or dtype != "uint8":
            raise SourceError(
                "corrupt_raster", f"{where}: {count} bands of {dtype}, expected 4 of uint8", unit
            )
        if crs is None:
            raise SourceError("corrupt_raster", f"{where}: the GeoTIFF has no CRS", unit)
        entry = self._label_table(unit).get(unit)
        if entry is None:
            raise SourceError("malformed_label", f"treesatai {unit}: not in {LABELS_FILE}", unit)
        shares = parse_entry(entry, f"treesatai {unit}: {LABELS_FILE}", unit)
        dominant = max(shares, key=lambda g: (shares[g], -GENERA.index(g)))
        leaves = leaf_type(shares)
        split = self._split_of().get(unit, "")
        crs_text = crs.to_string()
        footprint = footprint_from_box((bounds.left, bounds.top, bounds.right, bounds.bottom), crs)
        image = ImageRef(
            role="image",
            files=(str(path),),
            bands=BANDS,
            encoding="uint8",
            width=width,
            height=height,
            display_bands=("R", "G", "B"),
        )
        tags = {"platform": "aerial", "dominant_genus": dominant, "leaf_type": leaves}
        if split:
            tags["split"] = split
        native_id = unit.removesuffix(".tif")
        return [
            Sample(
                sample_id=f"{self.name}:{native_id}",
                source=self.name,
                native_id=native_id,
                modality="infrared",
                sensor=SENSOR,
                bands=BANDS,
                gsd_m=round(float(abs(res[0])), 3),
                crs=crs_text,
                footprint_wkt=footprint,
                acquired=(),
                images=(image,),
                tags=tags,
                labels=Labels(
                    scheme=SCHEME,
                    classes=tuple(sorted(shares)),
                    properties={
                        "genus_shares": json.dumps(
                            {g: round(shares[g], 4) for g in sorted(shares)}, sort_keys=True
                        ),
                        "dominant_genus": dominant,
                        "leaf_type": leaves,
                    },
                ),
                licence=self.licence,
                split=split,
            )
        ]
