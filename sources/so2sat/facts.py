"""Facts of the source ``so2sat`` (So2Sat LCZ42), stated once.

The adapter, the download spec, the README sources table and the corpus card read them.
"""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import SENTINEL2_BANDS, bands_named
from eoinstruct.sources.so2sat.adapter import BANDS, HOMEPAGE

FACTS = SourceFacts(
    name="so2sat",
    title="So2Sat LCZ42 (mediaTUM 1483140), v2/v3 HDF5",
    homepage=HOMEPAGE,
    modalities=("multispectral",),
    sensors=("Sentinel-2 MSI",),
    bands=bands_named(SENTINEL2_BANDS, BANDS),
    gsd="10 m (32 x 32 px patches)",
    temporal="single",
    tasks=("local climate zone classification (17 LCZ)", "urban form and height questions"),
    # CC-BY-4.0 as the So2Sat LCZ42 record and its Hugging Face copy (zhu-xlab/So2Sat-LCZ42)
    # state it: UNVERIFIED here (the record page could not be read).
    licence="CC-BY-4.0 (unverified: the mediaTUM record page could not be read)",
    sample_licence="CC-BY-4.0",
    citation=(
        "Zhu et al., So2Sat LCZ42: A Benchmark Data Set for the Classification of Global "
        "Local Climate Zones, IEEE GRSM 8(3), 76-89 (2020)"
    ),
    layout="training.h5, validation.h5, testing.h5: sen1 (N,32,32,8), sen2 (N,32,32,10), "
    "label (N,17) one-hot",
    bibtex="""@article{zhu2020so2sat,
  author  = {Zhu, Xiao Xiang and Hu, Jingliang and Qiu, Chunping and Shi, Yilei and Kang, Jian
             and Mou, Lichao and Bagheri, Hossein and H{\\"a}berle, Matthias and Hua, Yuansheng
             and Huang, Rong and Hughes, Lloyd and Li, Hao and Sun, Yao and Zhang, Guichen
             and Han, Shiyao and Schmitt, Michael and Wang, Yuanyuan},
  title   = {{So2Sat LCZ42}: A Benchmark Data Set for the Classification of Global Local
             Climate Zones},
  journal = {IEEE Geoscience and Remote Sensing Magazine},
  volume  = {8},
  number  = {3},
  pages   = {76--89},
  year    = {2020},
  doi     = {10.1109/MGRS.2020.2964708}
}""",
)
