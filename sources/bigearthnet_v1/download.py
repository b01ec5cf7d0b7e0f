"""Where and how to download BigEarthNet v1.0: ``eoinstruct download bigearthnet_v1``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.bigearthnet_v1.facts import FACTS
from eoinstruct.sources.download.spec import GB, DownloadSpec, RemoteFile, zenodo_url

# Archives: Zenodo record 12687186 (the record README.md and shared/docs/source-formats.md §1
# point to). File names, URLs and MD5s: microsoft/torchgeo torchgeo/datasets/bigearthnet.py,
# ``BigEarthNet.metadata`` (read at commit 029863d158b596aabbdc5e61a824f988333698cc).
# Archive sizes: UNVERIFIED ("about 66 GB and 55 GB", source-formats.md §1) -> not enforced.
# Split CSVs: the BigEarthNet-MM splits at git.tu-berlin.de/rsim/BigEarthNet-MM_19-classes_models
# pinned to commit 9a5be07346ab0884b2d9517475c27ef9db9b5104, saved under torchgeo's names
# ``bigearthnet-{train,val,test}.csv`` with torchgeo's MD5s (``BigEarthNet.splits_metadata``).
_BEN_V1_SPLITS = (
    "https://git.tu-berlin.de/rsim/BigEarthNet-MM_19-classes_models/-/raw/"
    "9a5be07346ab0884b2d9517475c27ef9db9b5104/splits/{split}.csv?inline=false"
)
_BEN_V1_SPLIT_MD5 = {
    "train": "623e501b38ab7b12fe44f0083c00986d",
    "val": "22efe8ed9cbd71fa10742ff7df2b7978",
    "test": "697fb90677e30571b9ac7699b7e5b432",
}

SPEC = DownloadSpec(
    facts=FACTS,
    layout="BigEarthNet-v1.0/<S2 patch>/, BigEarthNet-S1-v1.0/<S1 patch>/, "
    "bigearthnet-{train,val,test}.csv",
    files=(
        RemoteFile(
            key="s2",
            name="BigEarthNet-S2-v1.0.tar.gz",
            url=zenodo_url(12687186, "BigEarthNet-S2-v1.0.tar.gz"),
            checksum=("md5", "5a64e9ce38deb036a435a7b59494924c"),
            approx_size=66 * GB,
            extract=True,
            provides=("BigEarthNet-v1.0",),
            note="md5: torchgeo BigEarthNet.metadata['s2']; size UNVERIFIED (~66 GB)",
        ),
        RemoteFile(
            key="s1",
            name="BigEarthNet-S1-v1.0.tar.gz",
            url=zenodo_url(12687186, "BigEarthNet-S1-v1.0.tar.gz"),
            checksum=("md5", "94ced73440dea8c7b9645ee738c5a172"),
            approx_size=55 * GB,
            extract=True,
            provides=("BigEarthNet-S1-v1.0",),
            note="md5: torchgeo BigEarthNet.metadata['s1']; size UNVERIFIED (~55 GB)",
        ),
        *(
            RemoteFile(
                key=f"split-{split}",
                name=f"bigearthnet-{split}.csv",
                url=_BEN_V1_SPLITS.format(split=split),
                checksum=("md5", md5),
                note="BigEarthNet-MM split (rows '<s2>,<s1>'); md5: torchgeo splits_metadata",
            )
            for split, md5 in _BEN_V1_SPLIT_MD5.items()
        ),
    ),
)
"""The download spec of the source."""
