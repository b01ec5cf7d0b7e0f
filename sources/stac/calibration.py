"""Sentinel-1 GRD radiometric calibration: DN amplitude to σ0.

Holds the ``sigmaNought`` look-up table of a product's calibration annotation
(:class:`CalibrationLut`, :func:`parse_calibration`), the reading of that annotation from a
local path or over HTTP, and :func:`load_calibration`, which gives the table a GRD asset is
calibrated with (or None with ``s1_calibration: none``). The chip reader applies it in
radar geometry before warping with the GCPs.

Decision:

- **Sentinel-1 GRD.** GRD GeoTIFFs are in radar geometry with GCPs and hold amplitude DN, which
  is not calibrated. With ``s1_calibration: sigma0`` (default) the adapter reads the
  product's calibration annotation (asset ``schema-calibration-<pol>``, the SAFE
  ``annotation/calibration/calibration-*.xml``), computes σ0 = DN² / A² with A the
  ``sigmaNought`` look-up table interpolated bilinearly over line and pixel (ESA, "Sentinel-1
  Level-1 Radiometric Calibration"), and warps the chip with the GCPs onto a UTM grid at the
  product's pixel spacing (no terrain correction, no thermal-noise removal): encoding
  ``sar_linear``. With ``s1_calibration: none`` the chip holds the DN amplitude as float,
  encoding ``float`` (no brightness scale, so the brightness filter does not apply). PC
  ``sentinel-1-rtc`` assets are terrain-corrected γ0 in linear power: ``sar_linear``.

UNVERIFIED: PC ``sentinel-1-grd`` GeoTIFFs having GCPs like ES ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse
from xml.etree import ElementTree

import numpy as np

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.stac.assets import AssetChoice, _local_path
from eoinstruct.sources.stac.network import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    api_retry,
    network_kind,
    public_href,
    requests_timeout,
)
from eoinstruct.sources.stac.options import _Options
from eoinstruct.sources.stac.signing import sign_href


@dataclass(frozen=True)
class CalibrationLut:
    """A Sentinel-1 ``sigmaNought`` calibration look-up table.

    Attributes:
        lines: Image line of each calibration vector (ascending).
        pixels: Image pixels of the vectors' samples (the same for every vector).
        values: ``sigmaNought`` values, shape ``(len(lines), len(pixels))``.
    """

    lines: np.ndarray
    pixels: np.ndarray
    values: np.ndarray

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Interpolate the table bilinearly at image rows × columns.

        Args:
            rows: Row indices (1-D).
            cols: Column indices (1-D).

        Returns:
            Array of shape ``(len(rows), len(cols))``.
        """
        across = np.stack([np.interp(cols, self.pixels, v) for v in self.values])
        return np.stack([np.interp(rows, self.lines, across[:, j]) for j in range(len(cols))], 1)


def parse_calibration(text: str, source: str = "", unit: str = "") -> CalibrationLut:
    """Parse a Sentinel-1 calibration annotation into its ``sigmaNought`` table.

    The SAFE file ``annotation/calibration/calibration-*.xml`` holds
    ``calibration/calibrationVectorList/calibrationVector`` elements, each with ``line``,
    ``pixel`` (space-separated) and ``sigmaNought`` (same count) (ESA Sentinel-1 Product
    Specification).

    Args:
        text: The XML.
        source: Where it came from, for messages.
        unit: Unit id for errors.

    Returns:
        The table.

    Raises:
        SourceError: ``bad_metadata`` if the XML is malformed or the vectors disagree.
    """
    try:
        root = ElementTree.fromstring(text)
        lines: list[float] = []
        rows: list[np.ndarray] = []
        pixels: np.ndarray | None = None
        for vector in root.iter("calibrationVector"):
            line = float(vector.findtext("line", ""))
            pix = np.array(vector.findtext("pixel", "").split(), dtype=np.float64)
            sigma = np.array(vector.findtext("sigmaNought", "").split(), dtype=np.float64)
            if pix.size == 0 or pix.size != sigma.size:
                raise ValueError(f"vector at line {line:g}: {pix.size} pixels, {sigma.size} values")
            if pixels is None:
                pixels = pix
            elif not np.array_equal(pixels, pix):
                sigma = np.interp(pixels, pix, sigma)
            lines.append(line)
            rows.append(sigma)
    except (ElementTree.ParseError, ValueError) as exc:
        raise SourceError("bad_metadata", f"{source}: bad calibration XML: {exc}", unit) from exc
    if pixels is None or not lines:
        raise SourceError("bad_metadata", f"{source}: no calibrationVector", unit)
    order = np.argsort(lines)
    values = np.stack(rows)[order]
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise SourceError("bad_metadata", f"{source}: sigmaNought values must be > 0", unit)
    return CalibrationLut(np.asarray(lines)[order], pixels, values)


def _read_text(href: str, unit: str, opts: _Options | None = None) -> str:
    path = _local_path(href)
    if path is not None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise SourceError("missing_file", f"{path}: file not found", unit) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError("bad_metadata", f"{path}: cannot read: {exc}", unit) from exc
    shown = public_href(href)
    if urlparse(href).scheme in ("http", "https"):
        import requests
        from requests.adapters import HTTPAdapter

        connect_s = opts.connect_timeout_s if opts else DEFAULT_CONNECT_TIMEOUT_S
        read_s = opts.timeout_s if opts else DEFAULT_TIMEOUT_S
        retry = api_retry(opts.retries if opts else DEFAULT_RETRIES)
        try:
            with requests.Session() as session:
                session.mount("http://", HTTPAdapter(max_retries=retry))
                session.mount("https://", HTTPAdapter(max_retries=retry))
                response = session.get(href, timeout=requests_timeout(connect_s, read_s))
        except requests.RequestException as exc:
            raise SourceError(
                "network", f"{shown}: network failure ({type(exc).__name__})", unit
            ) from None
        if response.status_code != 200:
            kind = network_kind(f"HTTP {response.status_code}") or "network"
            raise SourceError(kind, f"{shown}: HTTP {response.status_code}", unit)
        return response.text
    raise SourceError("missing_file", f"{shown}: cannot fetch this kind of href", unit)


def load_calibration(choice: AssetChoice, opts: _Options, unit: str) -> CalibrationLut | None:
    """Return the ``sigmaNought`` table a Sentinel-1 GRD asset is calibrated with.

    Args:
        choice: The polarisation asset (its ``calibration_href`` names the annotation).
        opts: The adapter's options (``s1_calibration``, ``sign``).
        unit: Unit id for errors.

    Returns:
        The table, or None with ``s1_calibration: none``.

    Raises:
        SourceError: ``missing_file`` if the item has no calibration asset or its file cannot
            be found, ``network`` if fetching it failed, ``bad_metadata`` if the XML is
            malformed.
    """
    if opts.s1_calibration == "none":
        return None
    if not choice.calibration_href:
        raise SourceError(
            "missing_file",
            f"{unit}: no asset schema-calibration-{choice.key} to calibrate {choice.key} "
            "(set s1_calibration: none to keep uncalibrated DN)",
            unit,
        )
    signed = sign_href(
        opts.sign,
        choice.calibration_href,
        unit,
        (opts.connect_timeout_s, opts.timeout_s),
        opts.retries,
    )
    text = _read_text(signed, unit, opts)
    return parse_calibration(text, choice.calibration_href, unit)
