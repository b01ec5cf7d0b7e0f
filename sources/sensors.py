"""Band facts of the sensors several sources share, as data.

Centre wavelengths are the nominal values of the sensors' documentation (Sentinel-2 MSI:
ESA Sentinel-2 User Handbook; Landsat 8/9 OLI/TIRS: USGS Landsat 8–9 Data Users Handbook),
rounded to the nanometre.
"""

from __future__ import annotations

from eoinstruct.sources.base import Band

SENTINEL2_BANDS: tuple[Band, ...] = (
    Band("B01", "coastal aerosol", 443, 60),
    Band("B02", "blue", 490, 10),
    Band("B03", "green", 560, 10),
    Band("B04", "red", 665, 10),
    Band("B05", "red edge 1", 705, 20),
    Band("B06", "red edge 2", 740, 20),
    Band("B07", "red edge 3", 783, 20),
    Band("B08", "near infrared", 842, 10),
    Band("B8A", "narrow near infrared", 865, 20),
    Band("B09", "water vapour", 945, 60),
    Band("B10", "cirrus (SWIR)", 1375, 60),
    Band("B11", "shortwave infrared 1", 1610, 20),
    Band("B12", "shortwave infrared 2", 2190, 20),
)
"""Sentinel-2 MSI bands (B10 is in L1C only, not in L2A products)."""

SENTINEL2_L2A_ORDER: tuple[str, ...] = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B11",
    "B12",
)
"""The 12 Sentinel-2 L2A bands in the order BigEarthNet (and torchgeo) reads them."""

SENTINEL1_BANDS: tuple[Band, ...] = (
    Band("VV", "C-band backscatter, vertical transmit and receive", None, 10),
    Band("VH", "C-band backscatter, vertical transmit, horizontal receive", None, 10),
    Band("HH", "C-band backscatter, horizontal transmit and receive", None, 10),
    Band("HV", "C-band backscatter, horizontal transmit, vertical receive", None, 10),
)
"""Sentinel-1 C-SAR polarisations (IW GRD, 10 m pixel spacing)."""

LANDSAT89_BANDS: tuple[Band, ...] = (
    Band("SR_B1", "coastal aerosol", 443, 30),
    Band("SR_B2", "blue", 482, 30),
    Band("SR_B3", "green", 562, 30),
    Band("SR_B4", "red", 655, 30),
    Band("SR_B5", "near infrared", 865, 30),
    Band("SR_B6", "shortwave infrared 1", 1609, 30),
    Band("SR_B7", "shortwave infrared 2", 2201, 30),
    Band("ST_B10", "thermal infrared (surface temperature)", 10895, 100),
)
"""Landsat 8/9 Collection 2 Level-2 bands (ST_B10 is resampled to 30 m in the product)."""

RGB_BANDS: tuple[Band, ...] = (
    Band("R", "red"),
    Band("G", "green"),
    Band("B", "blue"),
)
"""Bands of an 8-bit RGB image."""


def bands_named(bands: tuple[Band, ...], names: tuple[str, ...]) -> tuple[Band, ...]:
    """Return the bands with the given names, in that order.

    Args:
        bands: A sensor's band table.
        names: Names to pick.

    Returns:
        The bands.

    Raises:
        KeyError: If a name is not in the table.
    """
    table = {b.name: b for b in bands}
    return tuple(table[n] for n in names)
