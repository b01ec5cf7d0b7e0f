"""Where and how to download SkyScript: ``eoinstruct download skyscript``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.skyscript.facts import FACTS

# wangzhecheng/SkyScript README.md (commit 15d59866): images2.zip … images7.zip and meta2.zip …
# meta7.zip at https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript/, each unzipping
# to a folder (images<N>/; meta<N>/ is UNVERIFIED, source-formats.md §3). Image MD5s and the
# three caption CSVs' MD5s: torchgeo torchgeo/datasets/skyscript.py (image_md5s,
# caption_md5s). torchgeo downloads the CSVs from ``SkyScript/<csv>``, the README documents
# ``SkyScript/dataframe/<csv>``: the URL whose MD5 is known is used; whether both copies are
# identical is UNVERIFIED. Meta zips and the optional CSVs have no published checksum
# (UNVERIFIED).
_SKYSCRIPT = "https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript/"
_SKYSCRIPT_IMAGE_MD5 = (
    "fbfb5f7aa1731f4106fc3ffbd608100a",
    "ad4fd9fdb9622d1ea360210cb222f2bd",
    "aeeb41e830304c74b14b5ffc1fc8e8c3",
    "02ee7e0e59f9ac1c87b678a155e1f1df",
    "350475f1e7fb996152fa16db891b4142",
    "5e2fbf3e9262b36e30b458ec9a1df625",
)
_SKYSCRIPT_CSV_MD5 = {
    "captions-train": (
        "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv",
        "05b362e43a852667b5374c9a5ae53f8e",
    ),
    "captions-val": (
        "SkyScript_val_5K_filtered_by_CLIP_openai.csv",
        "c8d278fd29b754361989d5e7a6608f69",
    ),
    "captions-test": (
        "SkyScript_test_30K_filtered_by_CLIP_openai.csv",
        "0135d9b49ce6751360912a4353e809dc",
    ),
}
_SKYSCRIPT_OPTIONAL_CSV = {
    "captions-train-top50": "SkyScript_train_top50pct_filtered_by_CLIP_openai.csv",
    "captions-train-5m": "SkyScript_train_unfiltered_5M.csv",
    "captions-train-polished": (
        "SkyScript_train_top30pct_filtered_by_CLIP_laion_RS_language_polished.csv"
    ),
}

SPEC = DownloadSpec(
    facts=FACTS,
    layout="images{2..7}/<t><osm id>_<SRC>_<yy>.jpg, meta{2..7}/<stem>.pickle, caption CSVs",
    files=(
        *(
            RemoteFile(
                key=f"images{i}",
                name=f"images{i}.zip",
                url=f"{_SKYSCRIPT}images{i}.zip",
                checksum=("md5", md5),
                extract=True,
                provides=(f"images{i}",),
                note="md5: torchgeo SkyScript.image_md5s; size UNVERIFIED",
            )
            for i, md5 in zip(range(2, 8), _SKYSCRIPT_IMAGE_MD5, strict=True)
        ),
        *(
            RemoteFile(
                key=f"meta{i}",
                name=f"meta{i}.zip",
                url=f"{_SKYSCRIPT}meta{i}.zip",
                extract=True,
                provides=(f"meta{i}",),
                note="no published checksum (UNVERIFIED); folder name meta<N>/ UNVERIFIED",
            )
            for i in range(2, 8)
        ),
        *(
            RemoteFile(
                key=key,
                name=name,
                url=f"{_SKYSCRIPT}{name}",
                checksum=("md5", md5),
                note="md5: torchgeo SkyScript.caption_md5s (URL as torchgeo uses it)",
            )
            for key, (name, md5) in _SKYSCRIPT_CSV_MD5.items()
        ),
        *(
            RemoteFile(
                key=key,
                name=name,
                url=f"{_SKYSCRIPT}dataframe/{name}",
                default=False,
                note="README URL; no published checksum (UNVERIFIED)",
            )
            for key, name in _SKYSCRIPT_OPTIONAL_CSV.items()
        ),
    ),
)
"""The download spec of the source."""
