"""So2Sat LCZ42: 32 × 32 Sentinel-2 patches of 42 cities, each labelled with a local climate zone.

One unit is one patch, ``<file>:<index>`` (``training.h5:12``, ``culture_10/testing.h5:3``): entry
``index`` of the file's ``sen2`` (N × 32 × 32 × 10) and ``label`` (N × 17, one-hot) datasets. The
pixels stay in the HDF5 file: the image is addressed as ``<file>::/sen2[<index>]``
(:data:`eoinstruct.pipeline.io.rasters.HDF5_SEPARATOR`), which the raster reader reads.

Layout facts relied on (``shared/docs/source-formats.md`` §11; torchgeo ``datasets/so2sat.py``
and its fixture ``tests/data/so2sat``; the So2Sat LCZ42 README on mediaTUM/Hugging Face):

- v2: ``training.h5``, ``validation.h5``, ``testing.h5``; v3: ``{random,block,culture_10}/
  {training,testing}.h5``; each with ``sen1`` (N, 32, 32, 8), ``sen2`` (N, 32, 32, 10) float64
  and ``label`` (N, 17) one-hot.
- ``sen2`` channels B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12 (torchgeo
  ``all_s2_band_names``), 10 m, reflectance as floats (values of about 0–1: reflectance ÷
  10 000; encoding ``reflectance``). The product level (L1C) is from the So2Sat paper.

Decisions:

- Only the Sentinel-2 patch is shipped. ``sen1`` holds complex-valued and Lee-filtered
  polarimetric channels whose order is UNVERIFIED; no question needs them.
- No geolocation: the v2/v3 files hold no coordinates (v4 adds ``*_geo.h5``, not read here),
  so ``crs`` and ``footprint_wkt`` stay empty and ``filter.exempt`` lists
  ``so2sat`` (the filter would otherwise drop every sample). Nothing answers "where".
- Split: ``train``/``validation``/``test`` from the file name.
- ``labels``: scheme ``lcz17``, the zone's name as class; properties ``lcz_code`` and the
  zone's derived facts ``built_type`` (built/natural), ``urban_form``, ``building_height``
  and ``land_cover_type`` where the class defines them (:mod:`.zones`).
- Failures: a file that cannot be opened, a missing or mis-shaped ``sen2`` (not
  (N, 32, 32, 10)), or non-finite pixels → ``corrupt_raster`` (fewer than 10 channels:
  ``missing_band``); a missing or mis-shaped ``label`` or a row that is not one-hot (two 1s,
  all zeros) → ``malformed_label``; an index past N → ``missing_file``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from eoinstruct.pipeline.io.rasters import HDF5_SEPARATOR
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.so2sat.zones import SCHEME, ZONES

HOMEPAGE = "https://mediatum.ub.tum.de/1483140"

V2_FILES = ("training.h5", "validation.h5", "testing.h5")
V3_FILES = tuple(
    f"{subset}/{name}"
    for subset in ("random", "block", "culture_10")
    for name in ("training.h5", "testing.h5")
)

BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
"""``sen2`` channels, in order."""

SIZE = 32
SENSOR = "Sentinel-2 MSI"
_SPLITS = {"training": "train", "validation": "validation", "testing": "test"}
_UNIT = re.compile(r"^(?P<file>[^:]+\.h5):(?P<index>\d+)$")


class So2Sat(SourceAdapter):
    """Reader of So2Sat LCZ42 HDF5 files: one Sentinel-2 sample per patch.

    Options (``sources.so2sat`` in ``params.yaml``):
        files: HDF5 files under the root to read (default: the v2 files present, else the v3
            files present).
        max_per_file: Read at most this many patches of each file (default: all).

    Args:
        root: The folder holding the files.
        options: The adapter's options.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        files = self.options.get("files")
        if files is None:
            present = [f for f in V2_FILES if (self.root / f).is_file()]
            self.files = tuple(present or [f for f in V3_FILES if (self.root / f).is_file()])
        else:
            self.files = tuple(str(f) for f in files)
            bad = [f for f in self.files if ".." in Path(f).parts or not f.endswith(".h5")]
            if bad:
                raise ValueError(f"so2sat: files {bad} must be .h5 paths under the root")
        limit = self.options.get("max_per_file")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError("so2sat: max_per_file must be a positive integer")
        self.max_per_file: int | None = limit

    def list_units(self) -> list[str]:
        """List ``<file>:<index>`` for every patch of every file (by the ``label`` length).

        Raises:
            SourceNotFoundError: If no file is found or one is not a readable HDF5 file.
        """
        if not self.files:
            raise SourceNotFoundError(
                f"{self.name}: {self.root} holds none of {', '.join(V2_FILES + V3_FILES)}"
            )
        units: list[str] = []
        for name in self.files:
            path = self.root / name
            try:
                with h5py.File(path, "r") as handle:
                    node = handle.get("label", handle.get("sen2"))
                    count = int(node.shape[0]) if isinstance(node, h5py.Dataset) else 0
            except (OSError, ValueError) as exc:
                raise SourceNotFoundError(
                    f"{self.name}: {path} is not a readable HDF5 file ({exc})"
                ) from exc
            if self.max_per_file is not None:
                count = min(count, self.max_per_file)
            units += [f"{name}:{i}" for i in range(count)]
        return units

    def unit_files(self, unit: str) -> list[Path]:
        """List the HDF5 file a unit is read from, if it exists."""
        match = _UNIT.match(unit)
        path = self.root / match["file"] if match else None
        return [path] if path is not None and path.is_file() else []

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one patch: check its pixels and one-hot label, return its sample.

        Args:
            unit: ``<file>:<index>`` from :meth:`list_units`.

        Returns:
            One sample.

        Raises:
            SourceError: See the module docstring for the kinds.
            ValueError: If ``unit`` is not of that form.
        """
        match = _UNIT.match(unit)
        if not match:
            raise ValueError(f"so2sat: bad unit id {unit!r}; expected '<file>.h5:<index>'")
        name, index = match["file"], int(match["index"])
        path = self.root / name
        where = f"so2sat {unit}: {path}"
        if not path.is_file():
            raise SourceError("missing_file", f"{where}: file does not exist", unit)
        try:
            with h5py.File(path, "r") as handle:
                pixels = self._pixels(handle, index, where, unit)
                row = self._label_row(handle, index, where, unit)
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise SourceError("corrupt_raster", f"{where}: cannot read: {exc}", unit) from exc
        if not np.isfinite(pixels).all():
            raise SourceError("corrupt_raster", f"{where}: sen2[{index}] has NaN/inf pixels", unit)
        zone = ZONES[row]
        split = _SPLITS.get(Path(name).stem, "")
        subset = str(Path(name).parent) if str(Path(name).parent) != "." else ""
        properties = {"lcz_code": zone.code, "built_type": "built" if zone.built else "natural"}
        for key, value in (
            ("urban_form", zone.form),
            ("building_height", zone.height),
            ("land_cover_type", zone.cover),
        ):
            if value:
                properties[key] = value
        tags = {"platform": "Sentinel-2", "lcz_code": zone.code}
        if subset:
            tags["subset"] = subset
        if split:
            tags["split"] = split
        native_id = unit
        image = ImageRef(
            role="image",
            files=(f"{path}{HDF5_SEPARATOR}/sen2[{index}]",),
            bands=BANDS,
            encoding="reflectance",
            width=SIZE,
            height=SIZE,
            display_bands=("B04", "B03", "B02"),
        )
        return [
            Sample(
                sample_id=f"{self.name}:{native_id}",
                source=self.name,
                native_id=native_id,
                modality="multispectral",
                sensor=SENSOR,
                bands=BANDS,
                gsd_m=10.0,
                crs="",
                footprint_wkt="",
                acquired=(),
                images=(image,),
                tags=tags,
                labels=Labels(scheme=SCHEME, classes=(zone.name,), properties=properties),
                licence=self.licence,
                split=split,
            )
        ]

    @staticmethod
    def _pixels(handle: h5py.File, index: int, where: str, unit: str) -> np.ndarray:
        node = handle.get("sen2")
        if not isinstance(node, h5py.Dataset):
            raise SourceError("corrupt_raster", f"{where}: no sen2 dataset", unit)
        shape = tuple(node.shape)
        if len(shape) != 4 or shape[1:3] != (SIZE, SIZE) or shape[3] > len(BANDS):
            raise SourceError(
                "corrupt_raster", f"{where}: sen2 has shape {shape}, expected (N, 32, 32, 10)", unit
            )
        if shape[3] < len(BANDS):
            raise SourceError(
                "missing_band", f"{where}: sen2 has {shape[3]} channels, expected 10", unit
            )
        if not np.issubdtype(node.dtype, np.number):
            raise SourceError("corrupt_raster", f"{where}: sen2 dtype {node.dtype}", unit)
        if index >= shape[0]:
            raise SourceError("missing_file", f"{where}: sen2 has no entry {index}", unit)
        return np.asarray(node[index], dtype=np.float64)

    @staticmethod
    def _label_row(handle: h5py.File, index: int, where: str, unit: str) -> int:
        node = handle.get("label")
        if not isinstance(node, h5py.Dataset) or node.ndim != 2 or node.shape[1] != len(ZONES):
            shape = getattr(node, "shape", None)
            raise SourceError(
                "malformed_label", f"{where}: label has shape {shape}, expected (N, 17)", unit
            )
        if index >= node.shape[0]:
            raise SourceError("malformed_label", f"{where}: label has no row {index}", unit)
        row = np.asarray(node[index], dtype=np.float64)
        ones = np.flatnonzero(row == 1)
        if len(ones) != 1 or np.count_nonzero(row) != 1:
            raise SourceError(
                "malformed_label",
                f"{where}: label[{index}] is not one-hot ({int(np.count_nonzero(row))} "
                "non-zero entries)",
                unit,
            )
        return int(ones[0])
