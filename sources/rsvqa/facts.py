"""Facts of the source ``rsvqa`` (RSVQA-LR and RSVQA-HR), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.rsvqa.images import HR_SENSOR, LR_SENSOR
from eoinstruct.sources.sensors import RGB_BANDS

FACTS = SourceFacts(
    name="rsvqa",
    title="RSVQA (low resolution: Sentinel-2; high resolution: USGS orthophotos)",
    homepage="https://rsvqa.sylvainlobry.com/",
    modalities=("rgb",),
    sensors=(LR_SENSOR, HR_SENSOR),
    bands=RGB_BANDS,
    gsd="10 m (LR, 256 x 256 px); about 0.15 m (HR, 512 x 512 px)",
    temporal="single",
    tasks=("visual question answering (presence, comparison, count, area, rural/urban)",),
    # The questions and answers are generated from OpenStreetMap (Lobry et al. 2020, II-A),
    # hence ODbL. The Zenodo records' own licence could not be read on Zenodo: third parties
    # (the isp-uv-es TACO card, dmarsili/RSVQA-LR-2k) cite CC-BY-4.0; as for STARCOP, the
    # samples carry NOASSERTION until it is confirmed, so the card keeps RSVQA out of the
    # commercial-safe subset.
    licence=(
        "NOASSERTION (Zenodo 6344334 / 6344367; third parties cite CC-BY-4.0, unverified); "
        "ODbL-1.0 (questions and answers derived from OpenStreetMap)"
    ),
    citation=(
        "Lobry et al., RSVQA: Visual Question Answering for Remote Sensing Data, "
        "IEEE TGRS 58(12), 8555-8566 (2020)"
    ),
    layout=(
        "Images_LR/<id>.tif + LR_split_{train,val,test}_{questions,answers,images}.json; "
        "Data/<id>.tif + USGS_split_{train,val,test,test_phili}_{questions,answers,images}.json"
    ),
    sample_licence="NOASSERTION; ODbL-1.0",
    bibtex="""@article{lobry2020rsvqa,
  author  = {Lobry, Sylvain and Marcos, Diego and Murray, Jesse and Tuia, Devis},
  title   = {{RSVQA}: Visual Question Answering for Remote Sensing Data},
  journal = {IEEE Transactions on Geoscience and Remote Sensing},
  volume  = {58},
  number  = {12},
  pages   = {8555--8566},
  year    = {2020},
  doi     = {10.1109/TGRS.2020.2988782}
}""",
)
