"""Facts of the source ``skyscript`` (SkyScript), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import RGB_BANDS
from eoinstruct.sources.skyscript.images import IMAGERY_SOURCES

FACTS = SourceFacts(
    name="skyscript",
    title="SkyScript",
    homepage="https://github.com/wangzhecheng/SkyScript",
    modalities=("rgb",),
    sensors=tuple(dict.fromkeys(s.sensor for s in IMAGERY_SOURCES.values())),
    bands=RGB_BANDS,
    gsd="0.1–30 m (per imagery source; measured from each image's box)",
    temporal="single",
    tasks=("captioning", "OSM tag description", "image-text retrieval"),
    # Not stated by the publisher; the code is MIT and the imagery keeps its sources'
    # licences (UNVERIFIED).
    licence="unstated (per imagery source)",
    citation=(
        "Wang et al., SkyScript: A Large and Semantically Diverse Vision-Language Dataset "
        "for Remote Sensing, AAAI 2024"
    ),
    layout=(
        "images{2..7}/<a|w|n><osm id>_<SRC>_<yy>.jpg, meta{2..7}/<stem>.pickle, "
        "[dataframe/]SkyScript_*.csv"
    ),
    sample_licence="unstated (per imagery source; see the imagery_source tag)",
    # Title and authors: arXiv:2312.12856 (the authors' README cites the preprint); AAAI 2024
    # as the venue. Volume, pages and DOI of the AAAI proceedings could not be confirmed.
    bibtex="""@inproceedings{wang2024skyscript,
  author        = {Wang, Zhecheng and Prabha, Rajanie and Huang, Tianyuan and Wu, Jiajun and
                   Rajagopal, Ram},
  title         = {{SkyScript}: A Large and Semantically Diverse Vision-Language Dataset for
                   Remote Sensing},
  booktitle     = {Proceedings of the AAAI Conference on Artificial Intelligence},
  year          = {2024},
  eprint        = {2312.12856},
  archivePrefix = {arXiv}
}""",
)
