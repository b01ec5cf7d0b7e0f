"""Facts of the source ``stac`` (Sentinel and Landsat scenes through STAC), stated once.

The adapter, the README sources table and the corpus card read them (the source has no
download spec: it reads a static catalog or a STAC API). Each sample carries the licence of
its collection (``COPERNICUS_LICENCE`` or ``LANDSAT_LICENCE`` in ``assets.py``).
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import (
    LANDSAT89_BANDS,
    SENTINEL1_BANDS,
    SENTINEL2_BANDS,
    bands_named,
)
from eoinstruct.sources.stac.assets import S2_BAND_ORDER

FACTS = SourceFacts(
    name="stac",
    title="Sentinel-2 L2A, Landsat Collection 2 L2 and Sentinel-1 scenes via STAC",
    homepage="https://stacspec.org (Earth Search, Microsoft Planetary Computer)",
    modalities=("multispectral", "thermal", "sar"),
    sensors=(
        "Sentinel-2 MSI (L2A)",
        "Landsat 8/9 OLI/TIRS (C2 L2)",
        "Sentinel-1 C-SAR (IW GRD, RTC)",
    ),
    bands=(
        *bands_named(SENTINEL2_BANDS, S2_BAND_ORDER),
        *LANDSAT89_BANDS,
        *bands_named(SENTINEL1_BANDS, ("VV", "VH", "HH", "HV")),
    ),
    gsd="10 m (S2, resampled from 10/20/60 m), 30 m (Landsat), 10 m (S1)",
    temporal="multi",
    tasks=(
        "scene description",
        "change detection (same MGRS tile / WRS path-row, same chip window)",
        "urban heat island (Landsat surface temperature)",
    ),
    licence="Copernicus Sentinel data terms (S1, S2); public domain (Landsat, USGS)",
    citation=(
        "Copernicus Sentinel data (ESA); Landsat Collection 2 Level-2 courtesy of the "
        "U.S. Geological Survey, doi:10.5066/P9OGBGM6"
    ),
    layout="a static STAC catalog (catalog.json, collections, items, COG assets) or an API",
    # Landsat: the USGS data release behind doi:10.5066/P9OGBGM6 as data users cite it (EROS
    # Center, 2020). Copernicus has no paper; its legal notice asks for the attribution below.
    bibtex="""@misc{usgs2020landsatc2l2,
  author    = {{Earth Resources Observation and Science (EROS) Center}},
  title     = {Landsat 8-9 Operational Land Imager / Thermal Infrared Sensor Level-2,
               Collection 2},
  publisher = {U.S. Geological Survey},
  year      = {2020},
  doi       = {10.5066/P9OGBGM6}
}

@misc{copernicus_sentinel,
  author = {{European Space Agency}},
  title  = {Copernicus {Sentinel-1} and {Sentinel-2} data},
  note   = {Contains modified Copernicus Sentinel data, processed by eoinstruct}
}""",
)
