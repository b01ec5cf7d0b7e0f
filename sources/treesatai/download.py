"""Where and how to download TreeSatAI: ``eoinstruct download treesatai``.

The dataset's title, homepage and licence are read from the source's facts (``facts.py``).
Files and MD5 sums: torchgeo ``TreeSatAI.md5s`` (``torchgeo/datasets/treesatai.py``), for Zenodo
record 6780578 (v1.0.2). The 20 ``aerial_60m_<species>.zip`` archives hold bare GeoTIFFs that
torchgeo extracts into ``aerial/60m``; the extractor here unpacks into the root, so they are
fetched without extraction and the spec says to unzip them into ``aerial/60m`` (their inner
layout is UNVERIFIED). Sizes are not published with the sums and are not enforced.
``s1.zip`` and ``s2.zip`` are fetched only on request (``--only s1,s2``):
the adapter does not read them.
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile, zenodo_url
from eoinstruct.sources.treesatai.facts import FACTS

RECORD = 6780578
"""Zenodo record of the TreeSatAI Benchmark Archive (v1.0.2)."""

_AERIAL_MD5: dict[str, str] = {
    "abies_alba": "4298b1c9fbf6d0d85f7aa208ff5fe0c9",
    "acer_pseudoplatanus": "7c31d7ddea841f6509deece8f984a79e",
    "alnus_spec": "34ea107f43c6172c6d2652dbf26306af",
    "betula_spec": "69de9373739a027692a823846434fa0c",
    "cleared": "8dffbb2f6aad17ef83721cffa5b52d96",
    "fagus_sylvatica": "77b277e69e90bfbd3c5fd15a73d228fe",
    "fraxinus_excelsior": "9a88a8e6821f8a54ded950de9238831f",
    "larix_decidua": "aa0bc5b091b099018a078536ef429031",
    "larix_kaempferi": "429df073f69f8bbf60aef765e1c925ba",
    "picea_abies": "edb9b1bc9a5a7b405f4cbb0d71cedf54",
    "pinus_nigra": "96bf1798ef82f712ea46c2963ddb7083",
    "pinus_strobus": "0ff818c6d31f59b8488880e49b300c7a",
    "pinus_sylvestris": "298cbaac4d9f07a204e1e74e8446798d",
    "populus_spec": "46fcff76b119cc24f3caf938a0bb433a",
    "prunus_spec": "fb1c570d3ea925a049630224ccb354bc",
    "pseudotsuga_menziesii": "2d05511ceabf4037b869eca928f3c04e",
    "quercus_petraea": "31f573fb0419b2b453ed7da1c4d2a298",
    "quercus_robur": "bcd90506509de26692c043f4c8d73af0",
    "quercus_rubra": "71d8495725ed1b4f27d9e382409fcc5e",
    "tilia_spec": "f81558c9c7189ac8a257d041ee43c1c9",
}

_NOTE = "md5: torchgeo TreeSatAI.md5s"


def _file(
    key: str,
    name: str,
    md5: str,
    extract: bool,
    provides: tuple[str, ...] = (),
    default: bool = True,
) -> RemoteFile:
    aerial = name.startswith("aerial")
    return RemoteFile(
        key=key,
        name=name,
        url=zenodo_url(RECORD, name),
        checksum=("md5", md5),
        extract=extract,
        provides=provides,
        default=default,
        note=f"{_NOTE}; unzip into aerial/60m" if aerial else _NOTE,
    )


SPEC = DownloadSpec(
    facts=FACTS,
    layout="aerial/60m/*.tif, s1/60m, s2/60m, labels/TreeSatBA_v9_60m_multi_labels.json, "
    "train_filenames.lst, test_filenames.lst",
    files=(
        _file("train-list", "train_filenames.lst", "a1a0148e8120b0268f76d2e98a68436f", False),
        _file("test-list", "test_filenames.lst", "2166903d947f0025f61e342da466f917", False),
        _file(
            "labels",
            "labels.zip",
            "656f1b68ec9ab70afd02bb127b75bb24",
            True,
            ("labels/TreeSatBA_v9_60m_multi_labels.json",),
        ),
        *(
            _file(f"aerial-{species.replace('_', '-')}", f"aerial_60m_{species}.zip", md5, False)
            for species, md5 in _AERIAL_MD5.items()
        ),
        _file("s1", "s1.zip", "bed4fc8cb65da46a24ec1bc6cea2763c", True, default=False),
        _file("s2", "s2.zip", "453ba69056aa33a3c6b97afb7b6afadb", True, default=False),
    ),
)
"""The download spec of the source."""
