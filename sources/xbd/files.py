"""xBD tile files: split folders, file and unit names, PNG headers.

Holds the split folders and the splits they map to (:data:`SPLIT_MAP`), the phases, the
patterns of the image/label file names and of unit ids, and the reading of a PNG's header
(size and mode; no pixels).

Layout facts this adapter relies on (see ``docs/source-formats.md`` section 5, which cites
torchgeo ``torchgeo/datasets/xview.py`` and DIUx-xView/xView2_baseline):

- The challenge tarballs extract to split folders ``train/`` and ``test/``, each holding
  ``images/<disaster>_<8-digit id>_{pre,post}_disaster.png``, ``labels/<same stem>.json`` and
  ``targets/<same stem>_target.png`` (torchgeo ``XView2._load_files``).
- A pre and a post file pair up by the same ``<disaster>_<id>``; the disaster is the text
  before the id (xView2_baseline ``utils/split_into_disasters.py``).

Checked against real files in ``shared/peer-data`` (README sections 4a, 4b): real images
(``hurricane-matthew_00000351``) are 1024x1024 RGB PNGs; they carry a ``tRNS`` chunk marking
``(0, 0, 0)`` transparent, so rasterio reports nodata ``(0, 0, 0)`` for them.

UNVERIFIED: the folder names ``tier3/`` and ``hold/`` (mapped to the train and validation
splits), that tile ids are unique across split folders.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from eoinstruct.sources.base import SourceError

SPLIT_MAP: dict[str, str] = {
    "train": "train",
    "tier3": "train",
    "test": "test",
    "hold": "validation",
}
"""Split folder under the root → the sample's split (``tier3``/``hold`` are UNVERIFIED)."""

PHASES: tuple[str, str] = ("pre", "post")

_FILE_RE = re.compile(r"^(?P<stem>(?P<disaster>.+)_(?P<tile>\d+))_(?P<phase>pre|post)_disaster$")

_UNIT_RE = re.compile(r"^(?P<folder>[^/]+)/(?P<stem>(?P<disaster>.+)_(?P<tile>\d+))$")


def _png_size(path: Path, unit: str) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"xbd {unit}: {path}: unreadable ({exc})", unit
        ) from exc
    if mode not in ("RGB", "RGBA"):
        raise SourceError(
            "corrupt_raster",
            f"xbd {unit}: {path}: expected an 8-bit RGB PNG, got mode {mode}",
            unit,
        )
    return int(size[0]), int(size[1])
