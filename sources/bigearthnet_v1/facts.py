"""Facts of the source ``bigearthnet_v1`` (BigEarthNet v1.0), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.bigearthnet_v1.adapter import S1_BANDS, S2_BANDS
from eoinstruct.sources.sensors import SENTINEL1_BANDS, SENTINEL2_BANDS, bands_named

FACTS = SourceFacts(
    name="bigearthnet_v1",
    title="BigEarthNet v1.0 (BigEarthNet-MM: S2 and S1)",
    homepage="https://bigearth.net",
    modalities=("multispectral", "sar"),
    sensors=("Sentinel-2 MSI (L2A)", "Sentinel-1 C-SAR (IW GRD)"),
    bands=(
        *bands_named(SENTINEL2_BANDS, S2_BANDS),
        *bands_named(SENTINEL1_BANDS, S1_BANDS),
    ),
    gsd="10 / 20 / 60 m (S2), 10 m (S1); 1.2 km patches",
    temporal="single",
    tasks=("classification (43 and 19 CLC classes)",),
    # HF card earthnets/BigEarthNet; TensorFlow Datasets catalog "bigearthnet": "Community
    # Data License Agreement - Permissive, Version 1.0".
    licence="CDLA-Permissive-1.0",
    citation="Sumbul et al., BigEarthNet-MM, IEEE GRSM 2021",
    layout="BigEarthNet-v1.0/<S2 patch>/, BigEarthNet-S1-v1.0/<S1 patch>/, split CSVs",
    # Title, authors, volume, issue, pages and DOI: the TU Berlin accepted version
    # (doi:10.14279/depositonce-14945) and the NOVA IMS record of the article.
    bibtex="""@article{sumbul2021bigearthnetmm,
  author  = {Sumbul, Gencer and de Wall, Arne and Kreuziger, Tristan and Marcelino, Filipe and
             Costa, Hugo and Benevides, Pedro and Caetano, Mário and Demir, Begüm and
             Markl, Volker},
  title   = {{BigEarthNet-MM}: A Large-Scale, Multimodal, Multilabel Benchmark Archive for
             Remote Sensing Image Classification and Retrieval},
  journal = {IEEE Geoscience and Remote Sensing Magazine},
  volume  = {9},
  number  = {3},
  pages   = {174--180},
  year    = {2021},
  doi     = {10.1109/MGRS.2021.3089174}
}""",
)
