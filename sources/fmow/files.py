"""fMoW files: split folders, sequence folders, view file names, JPEG headers.

Layout facts (``docs/source-formats.md`` section 9; fMoW/dataset README, fMoW/baseline):

- fMoW-rgb: ``<split>/<category>/<category>_<n>/<category>_<n>_<t>_{rgb|msrgb}.{jpg,json}``
  (``fmow-rgb/train/fountain/fountain_514/fountain_514_1_msrgb.jpg``); ``_rgb`` is the
  pan-sharpened RGB, ``_msrgb`` the multispectral image as RGB.
- ``<t>`` numbers the views of one ``<category>_<n>`` folder (one place, one object).
- Splits ``train`` and ``val`` have category folders; ``test`` and ``seq`` do not (their
  categories come with a separate ground-truth release), so they are not read here.

- fMoW-full: the same tree with ``_rgb.tif`` (pan-sharpened RGB) and ``_ms.tif`` (4- or 8-band
  multispectral) images, each with its JSON. UNVERIFIED: these names (a third-party loader
  strips ``_ms.tif`` from ``img_filename``), the bit depth and the band order.
"""

from __future__ import annotations

import re
from pathlib import Path

import rasterio
import rasterio.errors
from PIL import Image, UnidentifiedImageError

from eoinstruct.sources.base import SourceError

SPLIT_MAP: dict[str, str] = {"train": "train", "val": "validation"}
"""Split folder → the sample's split (``test`` and ``seq`` have no category folders)."""

VARIANTS: tuple[str, ...] = ("rgb", "msrgb", "ms")
"""Image variants: pan-sharpened RGB (JPEG in fMoW-rgb, TIFF in fMoW-full), multispectral as
RGB (fMoW-rgb) and multispectral (fMoW-full)."""

FOLDER_RE = re.compile(r"^(?P<category>[a-z_-]+)_(?P<n>\d+)$")
"""A sequence folder, ``<category>_<n>``."""

VIEW_RE = re.compile(r"^(?P<stem>.+)_(?P<t>\d+)_(?P<variant>rgb|msrgb|ms)\.(?P<ext>jpg|json|tif)$")
"""A view file, ``<category>_<n>_<t>_<variant>.<ext>``."""

UNIT_RE = re.compile(r"^(?P<split>[^/]+)/(?P<category>[^/]+)/(?P<folder>[^/]+)$")
"""A unit id, ``<split>/<category>/<category>_<n>``."""


def view_files(folder: Path, variant: str) -> dict[int, dict[str, Path]]:
    """Return a sequence folder's files of one variant: ``<t>`` → {``image``|``json``: path}.

    Args:
        folder: The ``<category>_<n>`` folder.
        variant: One of :data:`VARIANTS`.

    Returns:
        The files found, by view index (files of other variants and names are ignored); the
        image is the ``.jpg`` (fMoW-rgb) or, when there is none, the ``.tif`` (fMoW-full).
    """
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = VIEW_RE.match(path.name)
        if match is None or match["stem"] != folder.name or match["variant"] != variant:
            continue
        files = found.setdefault(int(match["t"]), {})
        if match["ext"] == "json":
            files["json"] = path
        elif match["ext"] == "jpg" or "image" not in files:
            files["image"] = path
    return found


def image_header(path: Path, unit: str) -> tuple[int, int, int, bool]:
    """Return an image's width, height, band count and whether it is 8-bit (header only).

    Args:
        path: A ``.jpg`` (fMoW-rgb) or ``.tif`` (fMoW-full) image.
        unit: The unit id, for messages.

    Returns:
        ``(width, height, bands, is_uint8)``.

    Raises:
        SourceError: ``corrupt_raster`` if the file cannot be read as such an image.
    """
    if path.suffix == ".jpg":
        width, height = jpeg_size(path, unit)
        return width, height, 3, True
    try:
        with rasterio.open(path) as ds:
            return int(ds.width), int(ds.height), int(ds.count), set(ds.dtypes) == {"uint8"}
    except rasterio.errors.RasterioError as exc:
        raise SourceError(
            "corrupt_raster", f"fmow {unit}: {path.name}: unreadable ({exc})", unit
        ) from exc


def jpeg_size(path: Path, unit: str) -> tuple[int, int]:
    """Return a JPEG's (width, height) from its header, after checking it is 8-bit RGB.

    Args:
        path: The image.
        unit: The unit id, for messages.

    Returns:
        Width and height in pixels.

    Raises:
        SourceError: ``corrupt_raster`` if the file is not a readable RGB JPEG.
    """
    try:
        with Image.open(path) as image:
            kind, mode, size = image.format, image.mode, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"fmow {unit}: {path.name}: unreadable ({exc})", unit
        ) from exc
    if kind != "JPEG" or mode != "RGB":
        raise SourceError(
            "corrupt_raster",
            f"fmow {unit}: {path.name}: expected an RGB JPEG, got {kind} {mode}",
            unit,
        )
    return int(size[0]), int(size[1])
