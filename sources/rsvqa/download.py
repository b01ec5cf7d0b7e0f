"""Where and how to download RSVQA-LR and RSVQA-HR: ``eoinstruct download rsvqa``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.rsvqa.facts import FACTS

# Zenodo records 6344334 (RSVQA-LR) and 6344367 (RSVQA-HR), cited by the authors' site and by
# third-party loaders (big_vision rsvqa_lr, download scripts). File names inside the records:
# Images_LR.zip (→ Images_LR/), LR_split_{train,val,test}_{questions,answers,images}.json;
# Images.tar (→ Data/), USGS_split_{train,val,test,test_phili}_{…}.json, as those scripts
# fetch them. Sizes and checksums: not read from Zenodo here (UNVERIFIED); Zenodo serves an MD5
# per file that a later edit should pin.
_LR = "https://zenodo.org/records/6344334/files/"
_HR = "https://zenodo.org/records/6344367/files/"
_KINDS = ("questions", "answers", "images")

SPEC = DownloadSpec(
    facts=FACTS,
    layout="Images_LR/, Data/, LR_split_*_{questions,answers,images}.json, USGS_split_*_…json",
    files=(
        RemoteFile(
            key="lr-images",
            name="Images_LR.zip",
            url=f"{_LR}Images_LR.zip?download=1",
            extract=True,
            provides=("Images_LR",),
            note="no checksum pinned (UNVERIFIED)",
        ),
        *(
            RemoteFile(
                key=f"lr-{split}-{kind}",
                name=f"LR_split_{split}_{kind}.json",
                url=f"{_LR}LR_split_{split}_{kind}.json?download=1",
                note="no checksum pinned (UNVERIFIED)",
            )
            for split in ("train", "val", "test")
            for kind in _KINDS
        ),
        RemoteFile(
            key="hr-images",
            name="Images.tar",
            url=f"{_HR}Images.tar?download=1",
            extract=True,
            provides=("Data",),
            default=False,
            note="HR images (large); no checksum pinned (UNVERIFIED)",
        ),
        *(
            RemoteFile(
                key=f"hr-{split}-{kind}",
                name=f"USGS_split_{split}_{kind}.json",
                url=f"{_HR}USGS_split_{split}_{kind}.json?download=1",
                default=False,
                note="file name from third-party scripts (UNVERIFIED on Zenodo)",
            )
            for split in ("train", "val", "test", "test_phili")
            for kind in _KINDS
        ),
    ),
)
"""The download spec of the source (HR files only on request: ``--only hr-images,hr-train-…``)."""
