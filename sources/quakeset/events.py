"""QuakeSet event and image attributes: magnitude, split, image shapes.

Holds the USGS magnitude classes (:func:`magnitude_class`), :func:`format_magnitude`, and the
checked reading of an event group's ``magnitude`` and ``split`` attributes and of an image
dataset's shape (two channels, VV then VH).

Decision:

- Magnitudes are formatted with at most two decimals (float32 ``7.1`` reads as ``7.1``). A
  missing, non-numeric, NaN or infinite ``magnitude`` is ``bad_metadata`` for every patch of
  that event; an unknown ``split`` value too (a missing one leaves ``split`` empty).
"""

from __future__ import annotations

import math

import h5py
import numpy as np

from eoinstruct.sources.base import SourceError

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
