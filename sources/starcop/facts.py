"""Facts of the source ``starcop`` (STARCOP), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.starcop.rasters import SENSOR, STARCOP_BANDS

FACTS = SourceFacts(
    name="starcop",
    title="STARCOP (AVIRIS-NG methane plumes, Permian Basin 2019)",
    homepage="https://doi.org/10.5281/zenodo.7863343",
    modalities=("hyperspectral",),
    sensors=(SENSOR,),
    bands=STARCOP_BANDS,
    gsd="about 3 m (airborne; read from each tile's transform); 512 x 512 px tiles",
    temporal="single",
    tasks=("methane plume detection", "plume segmentation", "emission-rate facts"),
    # No licence could be confirmed on the Zenodo record itself; third parties (download
    # scripts, the HF card isp-uv-es/starcop) cite CC-BY-NC-4.0 for it. Samples carry
    # NOASSERTION (the SPDX value for "no licence asserted here").
    licence="NOASSERTION (third parties cite CC-BY-NC-4.0 for Zenodo 7863343; unverified)",
    citation=(
        "Růžička et al., Semantic segmentation of methane plumes with hyperspectral "
        "machine learning models, Scientific Reports 13, 19999 (2023)"
    ),
    layout="{train,test,…}.csv + <id>/{TOA_AVIRIS_<n>nm,mag1c,labelbinary,label_rgba}.tif",
    sample_licence="NOASSERTION",
    # Nature's article page (doi:10.1038/s41598-023-44918-6), the Oxford ORA record and the
    # STARCOP authors' own BibTeX (volume 13, issue 1, article 19999).
    bibtex="""@article{ruzicka2023starcop,
  author  = {Růžička, Vít and Mateo-Garcia, Gonzalo and
             Gómez-Chova, Luis and Vaughan, Anna and Guanter, Luis and Markham, Andrew},
  title   = {Semantic segmentation of methane plumes with hyperspectral machine learning
             models},
  journal = {Scientific Reports},
  volume  = {13},
  number  = {1},
  pages   = {19999},
  year    = {2023},
  doi     = {10.1038/s41598-023-44918-6}
}""",
)
