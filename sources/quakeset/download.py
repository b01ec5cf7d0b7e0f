"""Where and how to download QuakeSet: ``eoinstruct download quakeset``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``). The files are fetched by :mod:`eoinstruct.sources.download`
from pinned ``resolve`` URLs (kept rather than ``huggingface_hub.hf_hub_download``, which could
not resume the 9.7 GB ``earthquakes.h5`` after a dropped connection; see
:mod:`eoinstruct.sources.download.http`).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile, hf_dataset_url
from eoinstruct.sources.quakeset.facts import FACTS

# Hugging Face dataset DarthReca/quakeset, pinned to revision
# be03b4aab456a8fad10cd15a9a2e3492ebc97b2c ("Upload p_earthquakes.h5", the last commit that
# added a data file). Sizes and SHA-256 are the Git-LFS pointers shown on the Hub's commit
# pages: earthquakes.h5 added in bead1d25fb9979dbf703f9ede3e8b349f73b29f7 (unchanged since;
# torchgeo QuakeSet pins that revision, md5 76fc7c76b7ca56f4844d852e175e1560),
# epicenters.parquet in 73c7a43c1b216653efa079cdaeb86a9dbbf1b527, p_earthquakes.h5 in
# be03b4a… (its role is UNVERIFIED, so it is fetched only on request).
_QUAKESET_REPO = "DarthReca/quakeset"
QUAKESET_REVISION = "be03b4aab456a8fad10cd15a9a2e3492ebc97b2c"
"""The pinned revision of the QuakeSet Hub repository."""

SPEC = DownloadSpec(
    facts=FACTS,
    layout="earthquakes.h5 (+ epicenters.parquet)",
    files=(
        RemoteFile(
            key="earthquakes",
            name="earthquakes.h5",
            url=hf_dataset_url(_QUAKESET_REPO, QUAKESET_REVISION, "earthquakes.h5"),
            size=9_666_460_547,
            checksum=("sha256", "11527e6a21c425b787d0952443e434f53d90a22ee16b75d20e17d54c2b091a78"),
            note="size and sha256: HF LFS pointer (commit bead1d2)",
        ),
        RemoteFile(
            key="epicenters",
            name="epicenters.parquet",
            url=hf_dataset_url(_QUAKESET_REPO, QUAKESET_REVISION, "epicenters.parquet"),
            size=15_972_926,
            checksum=("sha256", "0632e0fb00f98c957531f9c5defee2cf41e960ae420f03f19a980d20254b613e"),
            note="size and sha256: HF LFS pointer (commit 73c7a43)",
        ),
        RemoteFile(
            key="p-earthquakes",
            name="p_earthquakes.h5",
            url=hf_dataset_url(_QUAKESET_REPO, QUAKESET_REVISION, "p_earthquakes.h5"),
            size=1_119_966_020,
            checksum=("sha256", "5e9e16ec3b7a3dfd4aaac96769466adf7014167fdd7b590d68d5c4c167f4aea2"),
            default=False,
            note="size and sha256: HF LFS pointer (commit be03b4a); purpose UNVERIFIED",
        ),
    ),
)
"""The download spec of the source."""
