"""Facts of the source ``levircd`` (LEVIR-CD and LEVIR-CD+), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import RGB_BANDS

SENSOR = "Google Earth imagery"
"""What the images are: Google Earth RGB patches (Chen & Shi 2020); no satellite is named."""

GSD_M = 0.5
"""Pixel size in metres of every LEVIR-CD / LEVIR-CD+ image (both papers and cards: 0.5 m)."""

FACTS = SourceFacts(
    name="levircd",
    title="LEVIR-CD and LEVIR-CD+ (building change detection, Texas, 2002–2020)",
    homepage="https://justchenhao.github.io/LEVIR/",
    modalities=("rgb",),
    sensors=(SENSOR,),
    bands=RGB_BANDS,
    gsd="0.5 m; 1024 x 1024 px image pairs",
    temporal="multi (two dates, 5–14 years apart)",
    tasks=("change detection", "change grounding", "change description"),
    # The LEVIR-CD page offers the data for research; the images are Google Earth imagery,
    # whose terms do not allow commercial redistribution. No licence file ships with the
    # archives, and the Hugging Face mirrors state "license: unknown" (UNVERIFIED beyond that).
    licence="research-only (Google Earth imagery; no licence file in the release)",
    citation=(
        "Chen & Shi, A Spatial-Temporal Attention-Based Method and a New Dataset for Remote "
        "Sensing Image Change Detection, Remote Sensing 12(10), 1662 (2020)"
    ),
    layout="{train,val,test}/{A,B,label}/<split>_<n>.png, {A,B,label}/<split>_<n>.png or "
    "LEVIR-CD+/{train,test}/{A,B,label}/<name>.png",
    bibtex="""@article{chen2020levircd,
  author  = {Chen, Hao and Shi, Zhenwei},
  title   = {A Spatial-Temporal Attention-Based Method and a New Dataset for Remote Sensing
             Image Change Detection},
  journal = {Remote Sensing},
  volume  = {12},
  number  = {10},
  pages   = {1662},
  year    = {2020},
  doi     = {10.3390/rs12101662}
}""",
)
