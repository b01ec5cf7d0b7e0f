"""Facts of the source ``hrsid`` (HRSID, High-Resolution SAR Images Dataset), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import Band, SourceFacts

FACTS = SourceFacts(
    name="hrsid",
    title="HRSID (High-Resolution SAR Images Dataset for ship detection)",
    homepage="https://github.com/chaozhong2010/HRSID",
    modalities=("sar",),
    sensors=("Sentinel-1B, TerraSAR-X, TanDEM-X",),
    bands=(Band("amplitude", "SAR amplitude as 8-bit grey (polarisation per chip not given)"),),
    gsd="0.5–3 m (800x800 chips of 136 panoramas)",
    temporal="single",
    tasks=("ship detection", "grounding", "counting"),
    # The repository states no licence for the data (UNVERIFIED: no LICENSE file seen);
    # treated as not permitting commercial use.
    licence="unstated (research use; no licence stated by the authors, UNVERIFIED)",
    sample_licence="unstated",
    citation="Wei et al., HRSID: A High-Resolution SAR Images Dataset for Ship Detection and "
    "Instance Segmentation, IEEE Access 2020",
    layout="annotations/{train2017,test2017}.json (COCO) + JPEGImages/<chip>.jpg (800x800)",
    # Volume and pages as commonly cited (UNVERIFIED against IEEE Xplore).
    bibtex="""@article{wei2020hrsid,
  author  = {Wei, Shunjun and Zeng, Xiangfeng and Qu, Qizhe and Wang, Mou and Su, Hao and
             Shi, Jun},
  title   = {{HRSID}: A High-Resolution {SAR} Images Dataset for Ship Detection and
             Instance Segmentation},
  journal = {IEEE Access},
  volume  = {8},
  pages   = {120234--120254},
  year    = {2020}
}""",
)
