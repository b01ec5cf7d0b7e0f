"""Facts of the source ``fmow`` (Functional Map of the World, fMoW-rgb and -full), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.fmow.adapter import SENSOR
from eoinstruct.sources.fmow.bands import MS_BANDS
from eoinstruct.sources.sensors import RGB_BANDS

FACTS = SourceFacts(
    name="fmow",
    title="fMoW (Functional Map of the World), fMoW-rgb and fMoW-full",
    homepage="https://github.com/fMoW/dataset",
    modalities=("rgb", "multispectral"),
    sensors=(SENSOR,),
    bands=RGB_BANDS + MS_BANDS,
    gsd="about 0.3–2 m pan-sharpened RGB, about 4× coarser multispectral (per image in its JSON)",
    temporal="multi (1 to 5 views of one place, oldest first)",
    tasks=("temporal classification", "classification", "temporal questions"),
    # fMoW/dataset README; its terms are not restated there, so the corpus card treats the
    # data as not commercial-safe (pipeline/corpus/licences.py).
    licence="Functional Map of the World Challenge Public License",
    citation="Christie et al., Functional Map of the World, CVPR 2018",
    layout="{train,val}/<category>/<category>_<n>/<category>_<n>_<t>_{rgb,msrgb}.{jpg,json} "
    "(fMoW-full: _{rgb,ms}.{tif,json}, UNVERIFIED)",
    bibtex="""@inproceedings{christie2018fmow,
  author    = {Christie, Gordon and Fendley, Neil and Wilson, James and Mukherjee, Ryan},
  title     = {Functional Map of the World},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern
               Recognition (CVPR)},
  year      = {2018}
}""",
)
