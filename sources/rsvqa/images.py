"""RSVQA image files: where they are, their header, and their georeference.

Facts relied on (``shared/docs/source-formats.md`` section 12, syvlo/RSVQA ``train.py``,
and third-party download scripts that extract the archives):

- LR: ``Images_LR/<id>.tif`` (from ``Images_LR.zip``), 256 x 256 RGB from Sentinel-2 at
  10 m. HR: ``Data/<id>.tif`` (``tar -xf Images.tar`` gives ``Data/``), 512 x 512 RGB from
  USGS orthophotos at about 15 cm (``patch_size=512`` in the HR loader).
- UNVERIFIED: that the TIFFs are 8-bit and carry a CRS and geotransform (the images JSON
  has ``upperleft_map-x/-y`` and ``res-x/-y`` but names no CRS). A file without a CRS gives
  a sample without footprint (dropped later as ``no_geolocation``), never a guessed one.

Errors: a missing file → ``missing_file``; an unreadable file, or one that is not three
8-bit bands of the dataset's size → ``corrupt_raster``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.geo import footprint_from_box

LR_SENSOR = "Sentinel-2 MSI"
"""Sensor of RSVQA-LR (true-colour bands)."""

HR_SENSOR = "USGS orthophoto (aerial RGB)"
"""Sensor of RSVQA-HR."""

IMAGE_DIR: dict[str, str] = {"LR": "Images_LR", "HR": "Data"}
"""Folder of the image files, per dataset."""

SENSOR: dict[str, str] = {"LR": LR_SENSOR, "HR": HR_SENSOR}
"""Sensor per dataset."""

SIZE: dict[str, int] = {"LR": 256, "HR": 512}
"""Width and height in pixels of every image, per dataset."""

NOMINAL_GSD_M: dict[str, float] = {"LR": 10.0, "HR": 0.15}
"""Ground sample distance the authors state, per dataset (used when a file has no CRS)."""


@dataclass(frozen=True)
class ImageInfo:
    """What the header of one image says.

    Attributes:
        path: The file.
        width: Width in pixels.
        height: Height in pixels.
        crs: ``EPSG:<code>`` or WKT; empty when the file has none.
        footprint_wkt: Lon/lat footprint; empty when unknown.
        gsd_m: Pixel size in metres (from the transform, else the nominal one).
    """

    path: Path
    width: int
    height: int
    crs: str
    footprint_wkt: str
    gsd_m: float


def image_path(folder: Path, dataset: str, image_id: int) -> Path:
    """Return the image file of an image id (``Images_LR/<id>.tif`` or ``Data/<id>.tif``)."""
    return folder / IMAGE_DIR[dataset] / f"{image_id}.tif"


def read_image(path: Path, dataset: str, unit: str) -> ImageInfo:
    """Read one image's header and check it is three 8-bit bands of the dataset's size.

    Args:
        path: The image file.
        dataset: ``LR`` or ``HR``.
        unit: The unit, for errors.

    Returns:
        The header facts.

    Raises:
        SourceError: ``missing_file`` or ``corrupt_raster`` (see the module docstring).
    """
    if not path.is_file():
        raise SourceError("missing_file", f"image file {path} does not exist", unit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                width, height, count = ds.width, ds.height, ds.count
                dtypes = set(ds.dtypes)
                crs, transform, bounds = ds.crs, ds.transform, ds.bounds
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{path}: cannot read GeoTIFF: {exc}", unit) from exc
    size = SIZE[dataset]
    if count != 3 or dtypes != {"uint8"} or (width, height) != (size, size):
        raise SourceError(
            "corrupt_raster",
            f"{path}: {count} band(s) of {sorted(dtypes)}, {width}x{height} px; RSVQA-{dataset} "
            f"images are 3 uint8 bands of {size}x{size} px",
            unit,
        )
    if crs is None:
        return ImageInfo(path, width, height, "", "", NOMINAL_GSD_M[dataset])
    epsg = crs.to_epsg()
    crs_text = f"EPSG:{epsg}" if epsg else crs.to_wkt()
    footprint = footprint_from_box((bounds.left, bounds.top, bounds.right, bounds.bottom), crs)
    gsd = round((abs(transform.a) + abs(transform.e)) / 2, 4) if crs.is_projected else None
    return ImageInfo(path, width, height, crs_text, footprint, gsd or NOMINAL_GSD_M[dataset])
