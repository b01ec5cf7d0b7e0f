"""QuakeSet: Sentinel-1 image pairs around earthquake epicentres, read from one HDF5 file.

One unit is one patch of one earthquake event, ``"<event id>/<patch>"``; it gives a positive
sample (the ``pre``/``post`` pair, an earthquake happened between them) and, when the patch has a
``before`` image, a hard-negative sample (the ``before``/``pre`` pair, no earthquake between
them). Reading is metadata-only: attributes, dataset shapes and the small coordinate vectors are
read, never the image arrays (the score stage reads those through the ``<file>::/<dataset>``
references, :data:`pipeline.rasters.HDF5_SEPARATOR`).

Layout facts relied on (``shared/docs/source-formats.md`` §7; peer data README §1f):

- The Hugging Face dataset ``DarthReca/quakeset`` distributes one HDF5 file, ``earthquakes.h5``
  (9.67 GB), beside ``epicenters.parquet``, ``p_earthquakes.h5`` and a loading script. torchgeo
  pins revision ``bead1d25…`` of ``earthquakes.h5`` (``torchgeo/datasets/quakeset.py``).
- The file holds one group per event, keyed by the ISC event id, with attributes ``magnitude``
  (float32 in torchgeo's fixture) and ``split`` (``train``, ``validation`` or ``test``, a UTF-8
  string). Each event group holds patch groups (``patch_0``, ``patch_1``… in the fixture) with
  float32 datasets ``pre``, ``post`` and, for some patches, ``before``, each of shape
  ``(H, W, 2)``; the real images are 512x512 (torchgeo docstring; the Hub script declares
  ``pre_post_image`` as ``Array3D((4, 512, 512), float32)``). The event groups of the real file
  also hold children ``x`` and ``y``, which torchgeo skips when it lists patches.
- The two channels are VV then VH: torchgeo's ``QuakeSet.plot`` shows channel 0 as VV and 1 as
  VH, and the dataset paper and card describe VV/VH Sentinel-1 IW imagery.
- Positive and negative pairs are not flagged in the file; both loaders derive them the same
  way (torchgeo ``QuakeSet._load_data``; DarthReca/quakeset ``dataset.py``): every patch gives
  the positive pair (``pre``, ``post``, label 1, the event's magnitude), and every patch with a
  ``before`` dataset also gives the hard negative (``before``, ``pre``, label 0, magnitude 0.0).
  torchgeo names the classes ``unaffected_area`` and ``earthquake_affected_area``.
- Pixel values are linear backscatter (σ0), NaN where there is no data: the authors' follow-up
  code (isaaccorley/earthquake-monitoring-by-ranking ``src/datasets.py``) records per-channel
  minima of 0 after NaN filling and converts with ``10·log10(x + 1e-9)`` for its dB statistics,
  and the paper processes σ0 on the ellipsoid. So images are ``sar_linear``.

UNVERIFIED (no real file was available; the peer data is torchgeo's layout fixture, whose
values are random and whose events carry no ``x``/``y``):

- the shape and meaning of ``x`` and ``y`` and where the EPSG code is stored. The Hub card says
  each sample comes with "x,y coordinates" and "epsg of the coordinates". This adapter reads
  them as pixel-centre coordinate vectors of the patch grid (the xarray convention the names
  suggest), in one of two shapes: 1-D vectors of length W (``x``) and H (``y``) in the patch
  group or, failing that, in the event group (a grid shared by the event's patches); or 2-D
  arrays ``(n_patches, W)`` / ``(n_patches, H)`` in the event group whose row ``n`` belongs to
  ``patch_<n>``. The EPSG code is the first ``epsg`` attribute found on the patch group, the
  event group, the ``x`` dataset or the file root. Coordinates of any other shape give no
  footprint (the filter stage then drops the sample as having no geolocation); coordinates
  that are present but not finite, not monotonic or not evenly spaced, and an ``epsg`` that is
  not a valid EPSG code, are ``bad_metadata``.
- units (linear, see above) and ground sample distance: Sentinel-1 IW GRD has 10 m pixel
  spacing, torchgeo states 5 m; the sample's ``gsd_m`` is the spacing of ``x`` where the
  coordinates are read, else ``None``.
- acquisition dates: nothing in the layout documents them, so ``acquired`` stays empty.
- the role of ``p_earthquakes.h5`` and the columns of ``epicenters.parquet``: neither is read.
  (The option ``file`` selects another HDF5 file of the same layout.)

Decisions:

- Magnitudes are formatted with at most two decimals (float32 ``7.1`` reads as ``7.1``). A
  missing, non-numeric, NaN or infinite ``magnitude`` is ``bad_metadata`` for every patch of
  that event; an unknown ``split`` value too (a missing one leaves ``split`` empty).
- A patch without ``pre`` or ``post`` is ``missing_file`` (each dataset is one image, the
  equivalent of a file in the folder layouts of other sources; the message names the HDF5 file
  and the dataset path). An image with fewer than two channels is ``missing_band``; other bad
  shapes or dtypes, images of different sizes, and an unreadable file are ``corrupt_raster``.
- ``tags``: ``platform`` (Sentinel-1), ``instrument_mode`` (IW), ``polarisations`` (VV+VH),
  ``split`` and, on positives only, ``magnitude_class`` (:func:`magnitude_class`, the USGS
  classes). ``labels.properties``: ``earthquake`` (``yes``/``no``), ``magnitude`` (the pair's
  regression target: the event magnitude, or ``0`` for a hard negative as in both loaders),
  ``event_magnitude``, ``event_id``, ``patch`` and ``pair`` (the two roles compared).
- Image roles: a positive sample has ``pre``, ``post`` and, when present, ``before`` as a
  third image (context); a hard negative has ``before`` and ``pre``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import shapely
from rasterio.crs import CRS
from rasterio.errors import CRSError
from rasterio.warp import transform as warp_transform
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.io.rasters import HDF5_SEPARATOR
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.geo import M_PER_DEG_LON as EARTH_M_PER_DEG

HDF5_FILE = "earthquakes.h5"
"""The file the Hub distributes (``DarthReca/quakeset``)."""

HOMEPAGE = "https://huggingface.co/datasets/DarthReca/quakeset"

BANDS: tuple[str, ...] = ("VV", "VH")
"""Channels of every image, in the order they are stored (last axis)."""

SPLITS: dict[str, str] = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "test": "test",
}
"""Values of the event attribute ``split`` → the sample's split."""

MAGNITUDE_CLASSES: tuple[tuple[float, str], ...] = (
    (8.0, "great"),
    (7.0, "major"),
    (6.0, "strong"),
    (5.0, "moderate"),
    (4.0, "light"),
    (3.0, "minor"),
)
"""Lower bounds of the USGS earthquake magnitude classes ("Earthquake Magnitude Classes",
USGS Earthquake Hazards Program: great ≥ 8, major 7–7.9, strong 6–6.9, moderate 5–5.9, light
4–4.9, minor 3–3.9); anything smaller is ``micro``."""

SCHEME = "quakeset_affected"
"""Name of the two-class scheme (torchgeo's class names)."""

CLASS_AFFECTED = "earthquake_affected_area"
CLASS_UNAFFECTED = "unaffected_area"

SENSOR = "Sentinel-1 C-SAR"

_UNIT_RE = re.compile(r"^(?P<event>[^/]+)/(?P<patch>[^/]+)$")
_PATCH_INDEX_RE = re.compile(r"^patch_(\d+)$")
_EPSG_RE = re.compile(r"^(?:EPSG:)?(\d+)$", re.IGNORECASE)
_SPACING_TOLERANCE = 0.01


def magnitude_class(magnitude: float) -> str:
    """Return the USGS class name of a magnitude (see :data:`MAGNITUDE_CLASSES`).

    Args:
        magnitude: Earthquake magnitude.

    Returns:
        ``great``, ``major``, ``strong``, ``moderate``, ``light``, ``minor`` or ``micro``.
    """
    for lower, name in MAGNITUDE_CLASSES:
        if magnitude >= lower:
            return name
    return "micro"


def format_magnitude(magnitude: float) -> str:
    """Format a magnitude with at most two decimals (float32 ``7.1`` gives ``"7.1"``).

    Args:
        magnitude: A finite magnitude.

    Returns:
        The text, e.g. ``"5.14"``, ``"7.1"`` or ``"0"``.
    """
    value = round(float(magnitude), 2)
    return f"{value + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class _Georeference:
    """What the coordinates of a patch give."""

    crs: str = ""
    footprint_wkt: str = ""
    gsd_m: float | None = None


class QuakeSet(SourceAdapter):
    """Reader of QuakeSet's ``earthquakes.h5``: positive and hard-negative Sentinel-1 pairs.

    Options (``sources.quakeset`` in ``params.yaml``):
        file: HDF5 file name under ``root`` (default ``earthquakes.h5``).
        splits: Event splits to list (any of ``train``, ``validation``, ``test``); default
            all events, whatever their split.
        negatives: Also emit the hard-negative ``before``/``pre`` samples (default true).

    Args:
        root: Folder holding ``earthquakes.h5`` as downloaded from the Hub.
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If an option is invalid.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        file_name = str(self.options.get("file", HDF5_FILE))
        if not file_name or "/" in file_name or "\\" in file_name:
            raise ValueError(
                f"quakeset: option file={file_name!r} must be a file name under the root "
                "(sources.quakeset.file in params.yaml)"
            )
        self.path = self.root / file_name
        splits = self.options.get("splits")
        if splits is None:
            self.splits: tuple[str, ...] | None = None
        else:
            names = (splits,) if isinstance(splits, str) else tuple(str(s) for s in splits)
            unknown = [s for s in names if s not in SPLITS]
            if unknown or not names:
                raise ValueError(
                    f"quakeset: unknown split(s) {unknown or names} in sources.quakeset.splits "
                    f"(params.yaml); expected some of {sorted(set(SPLITS.values()))}"
                )
            self.splits = tuple(dict.fromkeys(SPLITS[s] for s in names))
        negatives = self.options.get("negatives", True)
        if not isinstance(negatives, bool):
            raise ValueError(
                f"quakeset: option negatives={negatives!r} must be true or false "
                "(sources.quakeset.negatives in params.yaml)"
            )
        self.negatives = negatives

    # -- listing ------------------------------------------------------------------------------

    def list_units(self) -> list[str]:
        """List ``"<event id>/<patch>"`` for every patch group of every event group.

        Children of an event that are datasets (``x``, ``y``) are not patches. With the
        ``splits`` option, only events whose ``split`` attribute is selected are listed.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If the HDF5 file is missing, is not a readable HDF5 file
                (truncated, corrupt) or holds no event group.
        """
        if not self.path.is_file():
            raise SourceNotFoundError(
                f"{self.name}: {self.path} does not exist; download {self.path.name} from "
                f"{HOMEPAGE} (9.67 GB) into {self.root}, or point sources.{self.name}.root "
                "in params.yaml at the folder that holds it"
            )
        units: list[str] = []
        try:
            with h5py.File(self.path, "r") as handle:
                events = [k for k in handle if isinstance(handle[k], h5py.Group)]
                for event in events:
                    group = handle[event]
                    if self.splits is not None:
                        split = SPLITS.get(_text_attr(group.attrs.get("split")), "")
                        if split not in self.splits:
                            continue
                    units += [f"{event}/{p}" for p in group if isinstance(group[p], h5py.Group)]
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise SourceNotFoundError(
                f"{self.name}: {self.path} is not a readable HDF5 file ({exc}); it may be "
                f"truncated or corrupt: download it again from {HOMEPAGE} or fix "
                f"sources.{self.name}.root in params.yaml"
            ) from exc
        if not events:
            raise SourceNotFoundError(
                f"{self.name}: {self.path} holds no event group; it is not QuakeSet's "
                f"{HDF5_FILE} (see {HOMEPAGE}); fix sources.{self.name}.root in params.yaml"
            )
        return sorted(units)

    def unit_files(self, unit: str) -> list[Path]:
        """List the file a unit is read from: the HDF5 file, if it exists.

        Args:
            unit: ``"<event id>/<patch>"``.

        Returns:
            ``[root/earthquakes.h5]`` or an empty list.
        """
        return [self.path] if self.path.is_file() else []

    # -- reading ------------------------------------------------------------------------------

    @contextmanager
    def _open(self, unit: str) -> Iterator[h5py.File]:
        """Open the HDF5 file for reading, turning every failure into a :class:`SourceError`."""
        if not self.path.is_file():
            raise SourceError("missing_file", f"quakeset {unit}: {self.path} does not exist", unit)
        try:
            handle = h5py.File(self.path, "r")
        except (OSError, RuntimeError, ValueError) as exc:
            raise SourceError(
                "corrupt_raster",
                f"quakeset {unit}: {self.path} is not a readable HDF5 file "
                f"(truncated or corrupt?): {exc}",
                unit,
            ) from exc
        try:
            yield handle
        except (OSError, KeyError, RuntimeError) as exc:  # h5py's errors for damaged objects
            raise SourceError(
                "corrupt_raster", f"quakeset {unit}: {self.path}: cannot read: {exc}", unit
            ) from exc
        finally:
            handle.close()

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one patch into its positive sample and, if it has ``before``, its hard negative.

        Args:
            unit: ``"<event id>/<patch>"`` from :meth:`list_units`.

        Returns:
            One or two samples (the negative only with the ``negatives`` option).

        Raises:
            SourceError: ``missing_file`` if the file, the event, the patch or its ``pre`` or
                ``post`` dataset is missing; ``bad_metadata`` for a missing or non-finite
                ``magnitude``, an unknown ``split``, a bad ``epsg`` or bad coordinates;
                ``missing_band`` for an image with fewer than 2 channels; ``corrupt_raster``
                for other bad image shapes or dtypes, images of different sizes, or an
                unreadable file.
            ValueError: If ``unit`` is not of the form above.
        """
        match = _UNIT_RE.match(unit)
        if not match:
            raise ValueError(f"quakeset: bad unit id {unit!r}; expected '<event id>/<patch>'")
        event_id, patch = match["event"], match["patch"]
        where = f"quakeset {unit}: {self.path}"
        with self._open(unit) as handle:
            event = handle.get(event_id)
            if not isinstance(event, h5py.Group):
                raise SourceError("missing_file", f"{where}: no event group /{event_id}", unit)
            group = event.get(patch)
            if not isinstance(group, h5py.Group):
                raise SourceError(
                    "missing_file", f"{where}: no patch group /{event_id}/{patch}", unit
                )
            magnitude = _magnitude(event.attrs.get("magnitude"), where, event_id, unit)
            split = _split(event.attrs.get("split"), where, event_id, unit)
            missing = [f"/{event_id}/{patch}/{r}" for r in ("pre", "post") if r not in group]
            if missing:
                raise SourceError(
                    "missing_file", f"{where}: missing dataset(s) {', '.join(missing)}", unit
                )
            roles = [r for r in ("pre", "post", "before") if r in group]
            prefix = f"quakeset {unit}: {self.path}{HDF5_SEPARATOR}/{event_id}/{patch}"
            sizes = {r: _image_size(group[r], f"{prefix}/{r}", unit) for r in roles}
            if len(set(sizes.values())) != 1:
                described = ", ".join(f"{r} {w}x{h}" for r, (w, h) in sizes.items())
                raise SourceError(
                    "corrupt_raster", f"{where}: images of different sizes ({described})", unit
                )
            width, height = sizes["pre"]
            geo = _georeference(handle, event, group, width, height, where, unit)

        def image(role: str) -> ImageRef:
            return ImageRef(
                role=role,
                files=(f"{self.path}{HDF5_SEPARATOR}/{event_id}/{patch}/{role}",),
                bands=BANDS,
                encoding="sar_linear",
                width=width,
                height=height,
                display_bands=BANDS,
            )

        base_tags = {
            "platform": "Sentinel-1",
            "instrument_mode": "IW",
            "polarisations": "VV+VH",
        }
        if split:
            base_tags["split"] = split
        event_magnitude = format_magnitude(magnitude)
        common = {"event_id": event_id, "patch": patch, "event_magnitude": event_magnitude}
        native_id = f"{event_id}/{patch}"
        positive_roles = ("pre", "post", "before") if "before" in roles else ("pre", "post")
        samples = [
            self._sample(
                native_id=native_id,
                images=tuple(image(r) for r in positive_roles),
                tags={**base_tags, "magnitude_class": magnitude_class(magnitude)},
                labels=Labels(
                    scheme=SCHEME,
                    classes=(CLASS_AFFECTED,),
                    properties={
                        **common,
                        "earthquake": "yes",
                        "magnitude": event_magnitude,
                        "pair": "pre/post",
                    },
                ),
                geo=geo,
                split=split,
            )
        ]
        if "before" in roles and self.negatives:
            samples.append(
                self._sample(
                    native_id=f"{native_id}/before-pre",
                    images=(image("before"), image("pre")),
                    tags=dict(base_tags),
                    labels=Labels(
                        scheme=SCHEME,
                        classes=(CLASS_UNAFFECTED,),
                        properties={
                            **common,
                            "earthquake": "no",
                            "magnitude": "0",
                            "pair": "before/pre",
                        },
                    ),
                    geo=geo,
                    split=split,
                )
            )
        return samples

    def _sample(
        self,
        native_id: str,
        images: tuple[ImageRef, ...],
        tags: dict[str, str],
        labels: Labels,
        geo: _Georeference,
        split: str,
    ) -> Sample:
        return Sample(
            sample_id=f"{self.name}:{native_id}",
            source=self.name,
            native_id=native_id,
            modality="sar",
            sensor=SENSOR,
            bands=BANDS,
            gsd_m=geo.gsd_m,
            crs=geo.crs,
            footprint_wkt=geo.footprint_wkt,
            acquired=(),
            images=images,
            tags=tags,
            labels=labels,
            licence=self.licence,
            split=split,
        )


# -- helpers ----------------------------------------------------------------------------------


def _text_attr(value: object) -> str:
    """Decode a string attribute (str, bytes or a one-element array of either)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    if isinstance(value, str):
        return value.strip()
    return ""


def _magnitude(value: object, where: str, event_id: str, unit: str) -> float:
    """Parse an event's ``magnitude`` attribute.

    Raises:
        SourceError: ``bad_metadata`` if it is missing, not a number, NaN or infinite.
    """
    if value is None:
        raise SourceError("bad_metadata", f"{where}: event /{event_id} has no magnitude", unit)
    array = np.asarray(value)
    number: float | None = None
    if array.size == 1 and array.dtype.kind in "fiu":
        number = float(array.reshape(()))
    elif array.size == 1 and array.dtype.kind in "SUO":
        try:
            number = float(_text_attr(array) or "nan")
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise SourceError(
            "bad_metadata",
            f"{where}: event /{event_id} magnitude {value!r} is not a finite number",
            unit,
        )
    return number


def _split(value: object, where: str, event_id: str, unit: str) -> str:
    """Map an event's ``split`` attribute to a split name ('' if absent).

    Raises:
        SourceError: ``bad_metadata`` for a value that is not a known split.
    """
    if value is None:
        return ""
    text = _text_attr(value)
    if text not in SPLITS:
        raise SourceError(
            "bad_metadata",
            f"{where}: event /{event_id} split {value!r} is not one of {sorted(SPLITS)}",
            unit,
        )
    return SPLITS[text]


def _image_size(node: object, where: str, unit: str) -> tuple[int, int]:
    """Return ``(width, height)`` of an image dataset from its shape (no pixel is read).

    Channels are on the last axis, as in the real file; a channels-first ``(2, H, W)`` array
    is accepted too (the pixel reader handles both).

    Raises:
        SourceError: ``missing_band`` with fewer than 2 channels, ``corrupt_raster`` for a
            group in place of a dataset, a non-numeric dtype or another shape.
    """
    if not isinstance(node, h5py.Dataset):
        raise SourceError("corrupt_raster", f"{where} is not a dataset", unit)
    shape, kind = tuple(int(n) for n in node.shape), node.dtype.kind
    if kind not in "fiu":
        raise SourceError("corrupt_raster", f"{where}: dtype {node.dtype} is not numeric", unit)
    n = len(BANDS)
    if len(shape) == 2 or (len(shape) == 3 and shape[-1] < n and shape[0] != n):
        channels = 1 if len(shape) == 2 else shape[-1]
        raise SourceError(
            "missing_band",
            f"{where}: shape {shape} has {channels} channel(s), expected {n} ({'/'.join(BANDS)})",
            unit,
        )
    if len(shape) == 3 and shape[-1] == n and min(shape[:2]) > 0:
        return shape[1], shape[0]
    if len(shape) == 3 and shape[0] == n and min(shape[1:]) > 0:
        return shape[2], shape[1]
    raise SourceError(
        "corrupt_raster", f"{where}: shape {shape} is not (H, W, {n}) or ({n}, H, W)", unit
    )


def _coordinate_vector(
    event: h5py.Group, group: h5py.Group, name: str, length: int
) -> tuple[np.ndarray | None, h5py.Dataset | None]:
    """Find the coordinate vector ``name`` (``x`` or ``y``) of a patch grid.

    Returns:
        The vector (None if absent or of a shape this adapter does not interpret) and the
        dataset it came from.
    """
    node = group.get(name)
    if isinstance(node, h5py.Dataset) and node.ndim == 1 and node.shape[0] == length:
        return np.asarray(node[...], dtype=np.float64), node
    node = event.get(name)
    if not isinstance(node, h5py.Dataset) or node.dtype.kind not in "fiu":
        return None, None
    if node.ndim == 1 and node.shape[0] == length:
        return np.asarray(node[...], dtype=np.float64), node
    index = _PATCH_INDEX_RE.match(group.name.rsplit("/", 1)[-1])
    if node.ndim == 2 and node.shape[1] == length and index and int(index[1]) < node.shape[0]:
        return np.asarray(node[int(index[1]), :], dtype=np.float64), node
    return None, node


def _check_vector(values: np.ndarray, where: str, unit: str) -> float:
    """Check that a coordinate vector is finite, monotonic and evenly spaced.

    Returns:
        The signed spacing.

    Raises:
        SourceError: ``bad_metadata`` otherwise.
    """
    if values.size < 2 or not np.isfinite(values).all():
        raise SourceError("bad_metadata", f"{where}: coordinates are not finite", unit)
    steps = np.diff(values)
    step = float(np.median(steps))
    if step == 0 or not (np.sign(steps) == np.sign(step)).all():
        raise SourceError("bad_metadata", f"{where}: coordinates are not monotonic", unit)
    if float(np.max(np.abs(steps - step))) > _SPACING_TOLERANCE * abs(step):
        raise SourceError("bad_metadata", f"{where}: coordinates are not evenly spaced", unit)
    return step


def _epsg(nodes: tuple[object, ...], where: str, unit: str) -> CRS | None:
    """Return the CRS of the first ``epsg`` attribute found on ``nodes`` (None if none).

    Raises:
        SourceError: ``bad_metadata`` if the attribute is not a valid EPSG code.
    """
    for node in nodes:
        attrs = getattr(node, "attrs", None)
        if attrs is None or "epsg" not in attrs:
            continue
        raw = attrs["epsg"]
        array = np.asarray(raw)
        code: int | None = None
        if array.size == 1 and array.dtype.kind in "iu":
            code = int(array.reshape(()))
        elif array.size == 1 and array.dtype.kind == "f":
            number = float(array.reshape(()))
            code = int(number) if number.is_integer() else None
        elif array.size == 1 and array.dtype.kind in "SUO":
            found = _EPSG_RE.match(_text_attr(raw))
            code = int(found[1]) if found else None
        try:
            if code is None:
                raise CRSError("not an integer code")
            return CRS.from_epsg(code)
        except CRSError as exc:
            raise SourceError(
                "bad_metadata", f"{where}: epsg {raw!r} is not a valid EPSG code ({exc})", unit
            ) from exc
    return None


def _georeference(
    handle: h5py.File,
    event: h5py.Group,
    group: h5py.Group,
    width: int,
    height: int,
    where: str,
    unit: str,
) -> _Georeference:
    """Work out a patch's CRS, lon/lat footprint and pixel size from ``x``, ``y`` and ``epsg``.

    Raises:
        SourceError: ``bad_metadata`` for a bad ``epsg``, coordinates that are not finite,
            monotonic and evenly spaced, or a footprint that falls off the globe.
    """
    xs, x_node = _coordinate_vector(event, group, "x", width)
    ys, _ = _coordinate_vector(event, group, "y", height)
    crs = _epsg((group, event, x_node, handle), where, unit)
    crs_text = f"EPSG:{crs.to_epsg()}" if crs is not None else ""
    if xs is None or ys is None or crs is None:
        return _Georeference(crs=crs_text)
    dx = _check_vector(xs, f"{where}: x of {group.name}", unit)
    dy = _check_vector(ys, f"{where}: y of {group.name}", unit)
    left, right = float(xs[0] - dx / 2), float(xs[-1] + dx / 2)
    top, bottom = float(ys[0] - dy / 2), float(ys[-1] + dy / 2)
    try:
        lons, lats = warp_transform(
            crs, "EPSG:4326", [left, right, right, left], [top, top, bottom, bottom]
        )
    except Exception as exc:  # GDAL/PROJ raise several private error types
        raise SourceError(
            "bad_metadata", f"{where}: cannot transform {crs_text} coordinates: {exc}", unit
        ) from exc
    corners = list(zip(lons, lats, strict=True))
    if not all(
        math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        for lon, lat in corners
    ):
        raise SourceError(
            "bad_metadata",
            f"{where}: x/y of {group.name} in {crs_text} fall outside the globe",
            unit,
        )
    polygon = Polygon(corners)
    if not polygon.is_valid or polygon.area == 0:
        raise SourceError(
            "bad_metadata", f"{where}: x/y of {group.name} give a degenerate footprint", unit
        )
    if crs.is_geographic:
        mid_lat = math.radians((lats[0] + lats[2]) / 2)
        gsd = abs(dx) * EARTH_M_PER_DEG * math.cos(mid_lat)
    else:
        try:
            gsd = abs(dx) * float(crs.linear_units_factor[1])
        except CRSError:  # a projected CRS without linear units: the pixel size is unknown
            gsd = math.nan
    return _Georeference(
        crs=crs_text,
        footprint_wkt=shapely.to_wkt(orient(polygon, 1.0), rounding_precision=7),
        gsd_m=round(gsd, 2) if math.isfinite(gsd) else None,
    )
