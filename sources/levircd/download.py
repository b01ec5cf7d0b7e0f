"""Where and how to download LEVIR-CD and LEVIR-CD+: ``eoinstruct download levircd``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile, hf_dataset_url
from eoinstruct.sources.levircd.facts import FACTS

# The authors distribute LEVIR-CD through Google Drive / Baidu links on
# https://justchenhao.github.io/LEVIR/ (no direct URL). The files below are the Hugging Face
# mirror satellite-image-deep-learning/LEVIR-CD that torchgeo downloads, at the revisions and
# with the MD5s of torchgeo ``torchgeo/datasets/levircd.py`` (``LEVIRCD.splits``,
# ``LEVIRCDPlus.url``/``md5``). torchgeo reads the split zips as ``root/{A,B,label}/<split>*.png``
# (they extract into one flat tree) and LEVIR-CD+.zip as ``root/LEVIR-CD+/{train,test}/…``.
# Sizes: none published (UNVERIFIED; not enforced).
_REPO = "satellite-image-deep-learning/LEVIR-CD"
_CD_REVISION = "6a6bb0a5b389403d81c05e33bf08bc0b9e5f13a6"
_PLUS_REVISION = "d4f83dcbb571ee7573079129a5c327d18592a849"
_CD_ZIPS = (
    ("train", "a638e71f480628652dea78d8544307e4"),
    ("val", "f7b857978524f9aa8c3bf7f94e3047a4"),
    ("test", "07d5dd89e46f5c1359e2eca746989ed9"),
)

SPEC = DownloadSpec(
    facts=FACTS,
    layout="{A,B,label}/{train,val,test}_<n>.png (LEVIR-CD), LEVIR-CD+/{train,test}/{A,B,label}/",
    files=(
        *(
            RemoteFile(
                key=split,
                name=f"{split}.zip",
                url=hf_dataset_url(_REPO, _CD_REVISION, f"{split}.zip"),
                checksum=("md5", md5),
                extract=True,
                provides=("A", "B", "label"),
                note="LEVIR-CD split; HF mirror and md5 as in torchgeo LEVIRCD.splits",
            )
            for split, md5 in _CD_ZIPS
        ),
        RemoteFile(
            key="plus",
            name="LEVIR-CD+.zip",
            url=hf_dataset_url(_REPO, _PLUS_REVISION, "LEVIR-CD+.zip"),
            checksum=("md5", "1adf156f628aa32fb2e8fe6cada16c04"),
            extract=True,
            provides=("LEVIR-CD+/train", "LEVIR-CD+/test"),
            default=False,
            note="LEVIR-CD+ (985 pairs); HF mirror and md5 as in torchgeo LEVIRCDPlus",
        ),
    ),
    aliases=("levir-cd", "levircdplus"),
)
"""The download spec of the source."""
