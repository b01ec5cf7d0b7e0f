"""JPEG frames as object-detection sets ship them (HRSID chips, HIT-UAV frames).

Own code: a full Pillow decode at ingest, so a truncated JPEG fails as ``corrupt_raster`` on
its unit instead of later in the score stage.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from eoinstruct.sources.base import SourceError

MODES: dict[str, int] = {"L": 1, "RGB": 3}
"""Pillow modes accepted (grey, or grey written as three equal channels) → channel count."""


def jpeg_info(path: Path, unit: str, source: str) -> tuple[int, int, int]:
    """Decode a JPEG fully and return its width, height and channel count.

    Args:
        path: The JPEG file.
        unit: The unit id, for the error.
        source: The source name, for the message.

    Returns:
        ``(width, height, channels)``.

    Raises:
        SourceError: ``missing_file`` if the file does not exist; ``corrupt_raster`` if it
            cannot be decoded completely or is neither grey nor RGB.
    """
    if not path.is_file():
        raise SourceError("missing_file", f"{source} {unit}: missing image {path}", unit)
    try:
        with Image.open(path) as image:
            image.load()
            mode, size = image.mode, image.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        msg = f"{source} {unit}: cannot decode {path}: {exc}"
        raise SourceError("corrupt_raster", msg, unit) from exc
    if mode not in MODES:
        raise SourceError("corrupt_raster", f"{source} {unit}: {path} has mode {mode}", unit)
    return size[0], size[1], MODES[mode]


def check_box(
    box: tuple[float, float, float, float], size: tuple[int, int], unit: str, source: str
) -> None:
    """Check that a pixel box ``(x1, y1, x2, y2)`` has area and lies inside its image.

    Raises:
        SourceError: ``malformed_label`` naming the box otherwise.
    """
    x1, y1, x2, y2 = box
    width, height = size
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise SourceError(
            "malformed_label",
            f"{source} {unit}: box {list(box)} is empty or outside the {width}x{height} image",
            unit,
        )
