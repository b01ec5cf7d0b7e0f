"""SatlasPretrain's image folders: the sensors, their band folders and the PNG headers.

Holds :class:`SensorSpec` and :data:`SENSOR_SPECS` (zoom, band folders, display bands,
modality, licence per sensor), the Landsat band list, and the reading of one time step's
image references from its PNG headers (mode and size checked; no pixels).

Facts relied on (``shared/docs/source-formats.md`` section 4, which cites allenai/satlas
``SatlasPretrain.md``, ``satlas/util/__init__.py``, ``satlas/cmd/to_dataset/common.py``,
``satlas/tasks.py`` and torchgeo ``satlas.py`` with its fixture ``tests/data/satlas``):

- Images: ``<sensor>/<image name>/<band folder>/<col>_<row>.png`` with the band folders
  ``tci,b05,b06,b07,b08,b11,b12`` (sentinel2; ``tci`` is 3-channel R, G, B, the others are
  single-channel), ``vh,vv`` (sentinel1), ``b1`` … ``b11`` (landsat), ``tci,ir`` (naip).

Fact checked in torchgeo's fixture (``shared/peer-data`` §1e, read by the tests): Landsat bands
of different sizes (b8 32 px, b1–b7 and b9–b10 16 px, b11 8 px, tci-less).

UNVERIFIED: the real sizes of the smaller band PNGs; the scaling of the 8-bit non-TCI bands
(probably raw value / 32, clipped) and of the Sentinel-1 PNGs; whether Landsat is Level-1 (its
band set b1–b11 suggests so).

Decision:

- **Images**: time step ``i`` gives role ``t<i>``: the ``tci`` PNG (bands
  ``tci_r, tci_g, tci_b``) for Sentinel-2 and NAIP, plus role ``t<i>_bands`` for the
  single-band PNGs (``b05 … b12``, displayed as b12/b08/b05 false colour; NAIP ``ir``).
  Sentinel-1 and Landsat have one image per time step, role ``t<i>``, one file per band
  (Sentinel-1 displayed as grey ``vv`` — the 8-bit dB scaling is unknown, so the SAR false
  colour cannot be made; Landsat as b4/b3/b2). Encoding ``uint8``; the reference grid of an
  image is its largest band. PNG headers are opened (mode and size are checked); no pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import UnidentifiedImageError

from eoinstruct.pipeline.io.rasters import BOMB_ERRORS, open_image
from eoinstruct.pipeline.records import ImageRef
from eoinstruct.sources.base import (
    Band,
    SourceError,
)

TCI_BANDS: tuple[str, str, str] = ("tci_r", "tci_g", "tci_b")
"""Band names of a 3-channel ``tci`` PNG."""

LANDSAT_BANDS: tuple[Band, ...] = (
    Band("b1", "coastal aerosol", 443, 30),
    Band("b2", "blue", 482, 30),
    Band("b3", "green", 562, 30),
    Band("b4", "red", 655, 30),
    Band("b5", "near infrared", 865, 30),
    Band("b6", "shortwave infrared 1", 1609, 30),
    Band("b7", "shortwave infrared 2", 2201, 30),
    Band("b8", "panchromatic", 590, 15),
    Band("b9", "cirrus", 1373, 30),
    Band("b10", "thermal infrared 1", 10895, 100),
    Band("b11", "thermal infrared 2", 12005, 100),
)
"""Landsat 8/9 OLI/TIRS bands b1–b11 (USGS Landsat 8–9 Data Users Handbook centres)."""


@dataclass(frozen=True)
class SensorSpec:
    """How one sensor's images are stored in SatlasPretrain.

    Attributes:
        zoom: Web-Mercator zoom of its tiles.
        rgb_folder: Folder of the 3-channel true-colour PNG (``tci``), or empty.
        band_folders: Folders of the single-band PNGs, in reading order.
        band_display: Display bands of the single-band image.
        modality: Sample modality.
        sensor: Sample sensor name.
        licence: Licence of samples from this sensor (labels and imagery).
    """

    zoom: int
    rgb_folder: str
    band_folders: tuple[str, ...]
    band_display: tuple[str, ...]
    modality: str
    sensor: str
    licence: str

    @property
    def first_folder(self) -> str:
        """The band folder whose file must exist for an image to count for a tile."""
        return self.rgb_folder or self.band_folders[0]

    @property
    def folders(self) -> tuple[str, ...]:
        """Every band folder of an image."""
        return ((self.rgb_folder,) if self.rgb_folder else ()) + self.band_folders


_LABEL_LICENCE = "ODC-BY-1.0 AND ODbL-1.0 AND CC-BY-4.0"

_SENTINEL_LICENCE = f"{_LABEL_LICENCE} AND LicenseRef-Copernicus-Sentinel-Data"

SENSOR_SPECS: dict[str, SensorSpec] = {
    "sentinel2": SensorSpec(
        zoom=13,
        rgb_folder="tci",
        band_folders=("b05", "b06", "b07", "b08", "b11", "b12"),
        band_display=("b12", "b08", "b05"),
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        licence=_SENTINEL_LICENCE,
    ),
    "sentinel1": SensorSpec(
        zoom=13,
        rgb_folder="",
        band_folders=("vh", "vv"),
        band_display=("vv",),
        modality="sar",
        sensor="Sentinel-1 C-SAR",
        licence=_SENTINEL_LICENCE,
    ),
    "landsat": SensorSpec(
        zoom=13,
        rgb_folder="",
        band_folders=tuple(b.name for b in LANDSAT_BANDS),
        band_display=("b4", "b3", "b2"),
        modality="multispectral",
        sensor="Landsat 8/9 OLI/TIRS",
        licence=_LABEL_LICENCE,
    ),
    "naip": SensorSpec(
        zoom=17,
        rgb_folder="tci",
        band_folders=("ir",),
        band_display=("ir",),
        modality="rgb",
        sensor="NAIP",
        licence=_LABEL_LICENCE,
    ),
}
"""The sensors (values of the ``sensors`` option and image folders under the root).

Licences (SatlasPretrain.md): new labels ODC-BY, OpenStreetMap-derived labels ODbL, WorldCover
CC-BY-4.0; Sentinel imagery under the Copernicus legal notice; NAIP and Landsat public domain.
"""

SENSORS: tuple[str, ...] = tuple(SENSOR_SPECS)
"""Known sensor names."""


def _header(path: Path, modes: tuple[str, ...], unit: str, kind_missing: str) -> tuple[int, int]:
    """Open a PNG's header and check its mode.

    Returns:
        ``(width, height)``.

    Raises:
        SourceError: ``kind_missing`` if the file is missing; ``corrupt_raster`` if the header
            cannot be read or the mode is not one of ``modes``.
    """
    try:
        with open_image(path) as image:
            mode, size = image.mode, image.size
    except FileNotFoundError as exc:
        raise SourceError(kind_missing, f"satlas {unit}: {path} is missing", unit) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, *BOMB_ERRORS) as exc:
        raise SourceError(
            "corrupt_raster", f"satlas {unit}: {path}: unreadable PNG ({exc})", unit
        ) from exc
    if mode not in modes or size[0] < 1 or size[1] < 1:
        raise SourceError(
            "corrupt_raster",
            f"satlas {unit}: {path}: mode {mode} size {size}, expected an 8-bit "
            f"{'/'.join(modes)} PNG",
            unit,
        )
    return int(size[0]), int(size[1])


def _image_refs(
    root: Path, sensor: str, name: str, col: int, row: int, role: str, unit: str
) -> list[ImageRef]:
    """The image references of one time step (the tci image first, where there is one)."""
    spec = SENSOR_SPECS[sensor]
    folder = root / sensor / name
    tile = f"{col}_{row}.png"
    refs: list[ImageRef] = []
    if spec.rgb_folder:
        path = folder / spec.rgb_folder / tile
        width, height = _header(path, ("RGB", "RGBA"), unit, "missing_band")
        refs.append(
            ImageRef(
                role=role,
                files=(str(path),),
                bands=TCI_BANDS,
                encoding="uint8",
                width=width,
                height=height,
                display_bands=TCI_BANDS,
            )
        )
    paths = [folder / band / tile for band in spec.band_folders]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SourceError(
            "missing_band", f"satlas {unit}: band file(s) missing: {', '.join(missing)}", unit
        )
    sizes = [_header(p, ("L",), unit, "missing_band") for p in paths]
    refs.append(
        ImageRef(
            role=f"{role}_bands" if spec.rgb_folder else role,
            files=tuple(str(p) for p in paths),
            bands=spec.band_folders,
            encoding="uint8",
            width=max(w for w, _ in sizes),
            height=max(h for _, h in sizes),
            display_bands=spec.band_display,
        )
    )
    return refs
