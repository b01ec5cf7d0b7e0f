"""Facts of the source ``satlas`` (SatlasPretrain), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from dataclasses import replace

from eoinstruct.sources.base import Band, SourceFacts
from eoinstruct.sources.satlas.images import LANDSAT_BANDS
from eoinstruct.sources.sensors import SENTINEL1_BANDS, SENTINEL2_BANDS, bands_named

FACTS = SourceFacts(
    name="satlas",
    title="SatlasPretrain (v1)",
    homepage="https://github.com/allenai/satlas/blob/main/SatlasPretrain.md",
    modalities=("multispectral", "sar", "rgb"),
    sensors=(
        "Sentinel-2 MSI (L1C, 8-bit)",
        "Sentinel-1 C-SAR (8-bit)",
        "Landsat 8/9 OLI/TIRS (8-bit)",
        "NAIP aerial (RGB + NIR)",
    ),
    bands=(
        Band("tci", "Sentinel-2 / NAIP true colour (R, G, B), 8-bit"),
        *(
            replace(b, name=b.name.lower())
            for b in bands_named(SENTINEL2_BANDS, ("B05", "B06", "B07", "B08", "B11", "B12"))
        ),
        *(replace(b, name=b.name.lower()) for b in bands_named(SENTINEL1_BANDS, ("VH", "VV"))),
        *LANDSAT_BANDS,
        Band("ir", "NAIP near infrared", None, None),
    ),
    gsd="9.55 m × cos(latitude) (zoom-13 512 px tiles); NAIP 0.6 m × cos(latitude) (zoom 17)",
    temporal="multi (image time series per tile)",
    tasks=(
        "object detection and grounding (points, polygons, polylines)",
        "land cover and other segmentation rasters",
        "classification (smoke, snow) and object properties",
        "change detection",
    ),
    # New labels ODC-BY (allenai/satlas DataLicense); imagery and other labels keep their
    # licences (Sentinel legal notice, NAIP public domain, OSM ODbL, WorldCover CC-BY-4.0).
    # Each sample carries the licence of its sensor's images and labels (SENSOR_SPECS).
    licence="ODC-BY-1.0 (new labels); ODbL-1.0 (OSM labels); CC-BY-4.0 (WorldCover)",
    citation=(
        "Bastani et al., SatlasPretrain: A Large-Scale Dataset for Remote Sensing Image "
        "Understanding, ICCV 2023"
    ),
    layout=(
        "metadata/*.json, {sentinel2,sentinel1,landsat,naip}/<image>/<band>/<col>_<row>.png, "
        "static/<col>_<row>/, dynamic/<col>_<row>/<task>_<n>/"
    ),
    # The CVF open-access page of the paper (ICCV 2023, pp. 16772-16782).
    bibtex="""@inproceedings{bastani2023satlaspretrain,
  author    = {Bastani, Favyen and Wolters, Piper and Gupta, Ritwik and Ferdinando, Joe and
               Kembhavi, Aniruddha},
  title     = {{SatlasPretrain}: A Large-Scale Dataset for Remote Sensing Image Understanding},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  pages     = {16772--16782},
  year      = {2023}
}""",
)
