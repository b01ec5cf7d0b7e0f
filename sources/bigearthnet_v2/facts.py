"""Facts of the source ``bigearthnet_v2`` (BigEarthNet v2.0, reBEN), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.bigearthnet_v2.adapter import S1_BANDS, S2_BANDS
from eoinstruct.sources.sensors import SENTINEL1_BANDS, SENTINEL2_BANDS, bands_named

FACTS = SourceFacts(
    name="bigearthnet_v2",
    title="BigEarthNet v2.0 (reBEN: S2 and S1, with CLC reference maps)",
    homepage="https://bigearth.net",
    modalities=("multispectral", "sar"),
    sensors=("Sentinel-2 MSI (L2A, sen2cor 2.11)", "Sentinel-1 C-SAR (IW GRD)"),
    bands=(
        *bands_named(SENTINEL2_BANDS, S2_BANDS),
        *bands_named(SENTINEL1_BANDS, S1_BANDS),
    ),
    gsd="10 / 20 / 60 m (S2), 10 m (S1); 1.2 km patches",
    temporal="single",
    tasks=(
        "classification (19 BigEarthNet classes)",
        "segmentation (CLC-2018 reference maps)",
    ),
    # The HF cards earthnets/BigEarthNetV2 and isp-uv-es/bigearthnet-v2-reference-maps-taco
    # and a third-party inventory of Zenodo record 10891137 (UNVERIFIED against bigearth.net).
    licence="CDLA-Permissive-1.0",
    citation="Clasen et al., reBEN: Refined BigEarthNet Dataset for Remote Sensing Image "
    "Analysis, IGARSS 2025 (arXiv:2407.03653)",
    layout="metadata.parquet, BigEarthNet-S2/<tile>/<patch>/, "
    "BigEarthNet-S1/<scene>/<patch>/, Reference_Maps/<tile>/<patch>/",
    # Title and authors: arXiv:2407.03653. The IGARSS 2025 proceedings entry (pages, DOI)
    # could not be confirmed, so the entry cites the preprint.
    bibtex="""@misc{clasen2024reben,
  author        = {Clasen, Kai Norman and Hackel, Leonard and Burgert, Tom and Sumbul, Gencer
                   and Demir, Begüm and Markl, Volker},
  title         = {{reBEN}: Refined {BigEarthNet} Dataset for Remote Sensing Image Analysis},
  year          = {2024},
  eprint        = {2407.03653},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CV}
}""",
)
