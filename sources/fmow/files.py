"""fMoW files: split folders, sequence folders, view file names, JPEG headers.

Layout facts (``docs/source-formats.md`` section 9; fMoW/dataset README, fMoW/baseline):

- fMoW-rgb: ``<split>/<category>/<category>_<n>/<category>_<n>_<t>_{rgb|msrgb}.{jpg,json}``
  (``fmow-rgb/train/fountain/fountain_514/fountain_514_1_msrgb.jpg``); ``_rgb`` is the
  pan-sharpened RGB, ``_msrgb`` the multispectral image as RGB.
- ``<t>`` numbers the views of one ``<category>_<n>`` folder (one place, one object).
- Splits ``train`` and ``val`` have category folders; ``test`` and ``seq`` do not (their
  categories come with a separate ground-truth release), so they are not read here.

UNVERIFIED: fMoW-full's names (``_rgb.tif``, ``_ms.tif``; 4- or 8-band multispectral), which
this adapter does not read (see the adapter's docstring).
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from eoinstruct.sources.base import SourceError

SPLIT_MAP: dict[str, str] = {"train": "train", "val": "validation"}
"""Split folder → the sample's split (``test`` and ``seq`` have no category folders)."""

VARIANTS: tuple[str, ...] = ("rgb", "msrgb")
"""Image variants of fMoW-rgb: pan-sharpened RGB and multispectral-as-RGB."""

FOLDER_RE = re.compile(r"^(?P<category>[a-z_-]+)_(?P<n>\d+)$")
"""A sequence folder, ``<category>_<n>``."""

VIEW_RE = re.compile(r"^(?P<stem>.+)_(?P<t>\d+)_(?P<variant>rgb|msrgb|ms)\.(?P<ext>jpg|json|tif)$")
"""A view file, ``<category>_<n>_<t>_<variant>.<ext>``."""

UNIT_RE = re.compile(r"^(?P<split>[^/]+)/(?P<category>[^/]+)/(?P<folder>[^/]+)$")
"""A unit id, ``<split>/<category>/<category>_<n>``."""


def view_files(folder: Path, variant: str) -> dict[int, dict[str, Path]]:
    """Return a sequence folder's files of one variant: ``<t>`` → {``jpg``|``json``: path}.

    Args:
        folder: The ``<category>_<n>`` folder.
        variant: ``rgb`` or ``msrgb``.

    Returns:
        The files found, by view index (files of other variants and names are ignored).
    """
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = VIEW_RE.match(path.name)
        if match is None or match["stem"] != folder.name or match["variant"] != variant:
            continue
        if match["ext"] in ("jpg", "json"):
            found.setdefault(int(match["t"]), {})[match["ext"]] = path
    return found


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
