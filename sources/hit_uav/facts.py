"""Facts of the source ``hit_uav`` (HIT-UAV, high-altitude infrared thermal UAV frames).

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import Band, SourceFacts

FACTS = SourceFacts(
    name="hit_uav",
    title="HIT-UAV (high-altitude infrared thermal UAV dataset)",
    homepage="https://github.com/suojiashun/HIT-UAV-Infrared-Thermal-Dataset",
    modalities=("infrared",),
    # The paper's platform (DJI Matrice M210 V2 with a Zenmuse XT2 thermal camera) is
    # UNVERIFIED here; the frames are uncalibrated 8-bit thermal renderings.
    sensors=("DJI Zenmuse XT2 thermal camera (UAV)",),
    bands=(Band("LWIR", "long-wave (thermal) infrared, 8-bit grey", 10_500.0),),
    gsd="decimetres (60–130 m flight altitude, 30–90° camera angle; varies across a frame)",
    temporal="single",
    tasks=("object detection", "grounding", "counting"),
    # The repository states no licence for the data; the Zenodo record
    # 10.5281/zenodo.7633134 (the authors' download, GitHub issue #5) may state CC BY 4.0, as
    # a third-party issue says: UNVERIFIED, so treated as research-only until checked.
    licence="unstated (research use; possibly CC-BY-4.0 on Zenodo 10.5281/zenodo.7633134, "
    "UNVERIFIED)",
    sample_licence="unstated",
    citation="Suo et al., HIT-UAV: A high-altitude infrared thermal dataset for Unmanned Aerial "
    "Vehicle-based object detection, Scientific Data 2023",
    layout="normal_xml/{Annotations/<frame>.xml, JPEGImages/<frame>.jpg, ImageSets/Main/*.txt}",
    bibtex="""@article{suo2023hituav,
  author  = {Suo, Jiashun and Wang, Tianyi and Zhang, Xingzhou and Chen, Haiyang and
             Zhou, Wei and Shi, Weisong},
  title   = {{HIT-UAV}: A high-altitude infrared thermal dataset for Unmanned Aerial
             Vehicle-based object detection},
  journal = {Scientific Data},
  year    = {2023},
  doi     = {10.1038/s41597-023-02066-6}
}""",
)
