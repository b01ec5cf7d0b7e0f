"""QuakeSet: Sentinel-1 image pairs around earthquake epicentres, read from one HDF5 file.

One unit is one patch of one earthquake event, ``"<event id>/<patch>"``; it gives a positive
sample (the ``pre``/``post`` pair, an earthquake happened between them) and, when the patch has a
``before`` image, a hard-negative sample (the ``before``/``pre`` pair, no earthquake between
them). Reading is metadata-only: attributes, dataset shapes and the small coordinate vectors are
read, never the image arrays (the score stage reads those through the ``<file>::/<dataset>``
references, :data:`eoinstruct.pipeline.io.rasters.HDF5_SEPARATOR`).

The adapter class here lists the patches and assembles the pairs; its helpers live beside
it: :mod:`~eoinstruct.sources.quakeset.events` (event attributes, magnitude classes, image
shapes) and :mod:`~eoinstruct.sources.quakeset.georeference` (coordinates, EPSG, footprint).

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
values are random) besides the coordinates, EPSG code and ground sample distance (see
:mod:`~eoinstruct.sources.quakeset.georeference`):

- acquisition dates: nothing in the layout documents them, so ``acquired`` stays empty.
- the role of ``p_earthquakes.h5`` and the columns of ``epicenters.parquet``: neither is read.
  (The option ``file`` selects another HDF5 file of the same layout.)

Decisions:

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

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py

from eoinstruct.pipeline.io.rasters import HDF5_SEPARATOR
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.quakeset.events import (
    BANDS,
    SPLITS,
    _image_size,
    _magnitude,
    _split,
    _text_attr,
    format_magnitude,
    magnitude_class,
)
from eoinstruct.sources.quakeset.georeference import _Georeference, _georeference

HDF5_FILE = "earthquakes.h5"
"""The file the Hub distributes (``DarthReca/quakeset``)."""

HOMEPAGE = "https://huggingface.co/datasets/DarthReca/quakeset"

SCHEME = "quakeset_affected"
"""Name of the two-class scheme (torchgeo's class names)."""

CLASS_AFFECTED = "earthquake_affected_area"

CLASS_UNAFFECTED = "unaffected_area"

SENSOR = "Sentinel-1 C-SAR"

_UNIT_RE = re.compile(r"^(?P<event>[^/]+)/(?P<patch>[^/]+)$")


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
                f"{HOMEPAGE} (9.67 GB) into {self.root}"
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
                f"truncated or corrupt: download it again from {HOMEPAGE}"
            ) from exc
        if not events:
            raise SourceNotFoundError(
                f"{self.name}: {self.path} holds no event group; it is not QuakeSet's "
                f"{HDF5_FILE} (see {HOMEPAGE})"
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
