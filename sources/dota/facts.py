"""Facts of the source ``dota`` (DOTA v1.0 / v1.5 / v2.0), stated once."""

from __future__ import annotations

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import RGB_BANDS

FACTS = SourceFacts(
    name="dota",
    title="DOTA v1.0 / v1.5 / v2.0 (object detection in aerial images)",
    homepage="https://captain-whu.github.io/DOTA/",
    modalities=("rgb",),
    sensors=("Google Earth, Gaofen-2, Jilin-1, aerial",),
    bands=RGB_BANDS,
    gsd="about 0.1–4.5 m (per image in the label header, or null)",
    temporal="single",
    tasks=("referring", "identification", "grounding", "counting", "region captions"),
    # DOTA's page: the images and annotations are for academic purposes only and commercial
    # use is prohibited (Google Earth imagery under Google's terms).
    licence="research-only (academic purposes only; commercial use prohibited)",
    sample_licence="research-only",
    citation="Xia et al., DOTA: A Large-scale Dataset for Object Detection in Aerial Images, "
    "CVPR 2018; Ding et al., Object Detection in Aerial Images: A Large-Scale Benchmark and "
    "Challenges, TPAMI 2021",
    layout="{train,val}/images/P<id>.png + {train,val}/labelTxt/P<id>.txt "
    "(or labelTxt-v<ver>/…, annotations/version<ver>/)",
    bibtex="""@inproceedings{xia2018dota,
  author    = {Xia, Gui-Song and Bai, Xiang and Ding, Jian and Zhu, Zhen and Belongie, Serge
               and Luo, Jiebo and Datcu, Mihai and Pelillo, Marcello and Zhang, Liangpei},
  title     = {{DOTA}: A Large-scale Dataset for Object Detection in Aerial Images},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition
               (CVPR)},
  year      = {2018}
}
@article{ding2021dota2,
  author  = {Ding, Jian and Xue, Nan and Xia, Gui-Song and Bai, Xiang and Yang, Wen and
             Yang, Michael Ying and Belongie, Serge and Luo, Jiebo and Datcu, Mihai and
             Pelillo, Marcello and Zhang, Liangpei},
  title   = {Object Detection in Aerial Images: A Large-Scale Benchmark and Challenges},
  journal = {IEEE Transactions on Pattern Analysis and Machine Intelligence},
  year    = {2021}
}""",
)
