"""Where and how to download STARCOP: ``eoinstruct download starcop``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile, zenodo_url
from eoinstruct.sources.starcop.facts import FACTS

# The official full dataset is on Zenodo (spaceml-org/STARCOP README.md: "The full annotated
# dataset … is hosted on Zenodo", DOI 10.5281/zenodo.7863343); the HF repos
# previtus/STARCOP_allbands_* are gated all-band variants, and the Google Drive subsets are
# demo copies. File names: https://zenodo.org/records/7863343/files/<name> as a third-party
# download script lists them (STARCOP_test.zip, STARCOP_train_easy.zip,
# STARCOP_train_remaining_part1..5.zip): UNVERIFIED against the record page. Each zip is
# reported (third party, measured) to extract to a folder of the same name, with
# train.csv/test.csv beside them; whether those CSVs are separate files of the record is
# UNVERIFIED (must_exist=False). Checksums: none found (UNVERIFIED). Sizes: the README gives
# 5.25 GB (STARCOP_test.zip) and 8.38 GB (STARCOP_train_easy.zip) for its Drive copies
# (approx only).
_STARCOP_ZIPS = (
    ("test", "STARCOP_test.zip", 5_250_000_000),
    ("train-easy", "STARCOP_train_easy.zip", 8_380_000_000),
    *((f"train-part{i}", f"STARCOP_train_remaining_part{i}.zip", None) for i in range(1, 6)),
)

SPEC = DownloadSpec(
    facts=FACTS,
    layout="STARCOP_test/, STARCOP_train_easy/, STARCOP_train_remaining_part{1..5}/ "
    "(each <id>/<product>.tif + CSV), train.csv, test.csv",
    files=(
        *(
            RemoteFile(
                key=key,
                name=name,
                url=zenodo_url(7863343, name),
                approx_size=approx,
                extract=True,
                provides=(name.removesuffix(".zip"),),
                note="file name and folder UNVERIFIED (third-party list); no checksum",
            )
            for key, name, approx in _STARCOP_ZIPS
        ),
        *(
            RemoteFile(
                key=f"{split}-csv",
                name=f"{split}.csv",
                url=zenodo_url(7863343, f"{split}.csv"),
                must_exist=False,
                note="presence as a separate record file UNVERIFIED; no checksum",
            )
            for split in ("train", "test")
        ),
    ),
    # The adapter reads one folder of CSVs + event folders; each part is such a folder.
    params_root="STARCOP_test",
)
"""The download spec of the source."""
