"""Facts of the source ``quakeset`` (QuakeSet), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.quakeset.adapter import HOMEPAGE
from eoinstruct.sources.quakeset.events import BANDS
from eoinstruct.sources.sensors import SENTINEL1_BANDS, bands_named

FACTS = SourceFacts(
    name="quakeset",
    title="QuakeSet (Hugging Face DarthReca/quakeset, earthquakes.h5)",
    homepage=HOMEPAGE,
    modalities=("sar",),
    sensors=("Sentinel-1 C-SAR (IW)",),
    bands=bands_named(SENTINEL1_BANDS, BANDS),
    gsd="10 m nominal (IW GRD; torchgeo says 5 m); from the x/y spacing when present",
    temporal="multi (before / pre / post earthquake)",
    tasks=("earthquake change detection (affected / unaffected)", "magnitude estimation"),
    # The dataset card's front matter.
    licence="OpenRAIL",
    citation=(
        "Rege Cambrin and Garza, QuakeSet: A Dataset and Low-Resource Models to Monitor "
        "Earthquakes through Sentinel-1, ISCRAM 2024 (arXiv:2403.18116)"
    ),
    layout="earthquakes.h5: /<ISC event id>{x,y}/patch_<n>/{before,pre,post} (H,W,2) f32",
    # Title and authors: arXiv:2403.18116 (an ISCRAM 2024 CoRe paper). The proceedings'
    # volume and pages could not be confirmed and are left out.
    bibtex="""@inproceedings{regecambrin2024quakeset,
  author        = {Rege Cambrin, Daniele and Garza, Paolo},
  title         = {{QuakeSet}: A Dataset and Low-Resource Models to Monitor Earthquakes
                   through {Sentinel-1}},
  booktitle     = {Proceedings of the International ISCRAM Conference},
  year          = {2024},
  eprint        = {2403.18116},
  archivePrefix = {arXiv}
}""",
)
