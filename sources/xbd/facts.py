"""Facts of the source ``xbd`` (xBD, the xView2 challenge data), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import RGB_BANDS

FACTS = SourceFacts(
    name="xbd",
    title="xBD (xView2 challenge)",
    homepage="https://xview2.org",
    modalities=("rgb",),
    sensors=("Maxar WorldView-2/3, GeoEye-1, QuickBird-2",),
    bands=RGB_BANDS,
    gsd="about 0.3–0.8 m (pan-sharpened RGB)",
    temporal="multi (pre/post disaster)",
    tasks=("disaster assessment", "building damage", "grounding", "change detection"),
    # Accepted on xview2.org's download page (non-commercial use only); UNVERIFIED here
    # (shared/docs/source-formats.md §5).
    licence="CC-BY-NC-SA-4.0",
    citation="Gupta et al., xBD: A Dataset for Assessing Building Damage, CVPR-W 2019",
    layout="{train,test,tier3,hold}/{images,labels,targets}/<disaster>_<id>_{pre,post}_*",
    # The CVPR 2019 workshop paper as the CVF open-access PDF names it ("Creating xBD…",
    # pp. 10-17, ten authors); the longer arXiv version (1911.09296) drops "Creating".
    bibtex="""@inproceedings{gupta2019xbd,
  author    = {Gupta, Ritwik and Goodman, Bryce and Patel, Nirav and Hosfelt, Richard and
               Sajeev, Sandra and Heim, Eric and Doshi, Jigar and Lucas, Keane and
               Choset, Howie and Gaston, Matthew},
  title     = {Creating {xBD}: A Dataset for Assessing Building Damage from Satellite Imagery},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern
               Recognition (CVPR) Workshops},
  pages     = {10--17},
  year      = {2019}
}""",
)
