"""Facts of the source ``dior`` (DIOR and its oriented-box release DIOR-R), stated once."""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import RGB_BANDS

FACTS = SourceFacts(
    name="dior",
    title="DIOR / DIOR-R (object detection in optical remote sensing images)",
    homepage="https://gcheng-nwpu.github.io/#Datasets",
    modalities=("rgb",),
    sensors=("Google Earth imagery",),
    bands=RGB_BANDS,
    gsd="0.5–30 m (per image unknown)",
    temporal="single",
    tasks=("referring", "identification", "grounding", "counting", "region captions"),
    # No licence file ships with the release; the authors distribute it for research use
    # (UNVERIFIED: no written terms found), so it is never in the commercial-safe subset.
    licence="research-only (no licence file; distributed by the authors for research use)",
    sample_licence="research-only",
    citation="Li et al., Object detection in optical remote sensing images: A survey and a new "
    "benchmark, ISPRS J. 2020; Cheng et al., Anchor-free oriented proposal generator, TGRS 2022",
    layout="{Images/{trainval,test}/<id>.jpg, Annotations/{trainval,Horizontal Bounding Boxes,"
    "Oriented Bounding Boxes}/<id>.xml}",
    bibtex="""@article{li2020dior,
  author  = {Li, Ke and Wan, Gang and Cheng, Gong and Meng, Liqiu and Han, Junwei},
  title   = {Object detection in optical remote sensing images: A survey and a new benchmark},
  journal = {ISPRS Journal of Photogrammetry and Remote Sensing},
  volume  = {159},
  pages   = {296--307},
  year    = {2020}
}
@article{cheng2022diorr,
  author  = {Cheng, Gong and Wang, Jiabao and Li, Ke and Xie, Xingxing and Lang, Chunbo and
             Yao, Yanqing and Han, Junwei},
  title   = {Anchor-free oriented proposal generator for object detection},
  journal = {IEEE Transactions on Geoscience and Remote Sensing},
  volume  = {60},
  year    = {2022}
}""",
)
