"""Where and how to download BigEarthNet v2.0 (reBEN): ``eoinstruct download bigearthnet_v2``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.bigearthnet_v2.facts import FACTS
from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile, zenodo_url

# Zenodo record 10891137 (DOI 10.5281/zenodo.10891137). MD5s of the three .tar.zst archives:
# torchgeo BigEarthNetV2.metadata_locs (commit 029863d); a third-party project that pins the
# record's published inventory lists the same MD5s with byte counts 63,251,710,377 (S2),
# 54,439,153,171 (S1) and 282,391,301 (Reference_Maps) -> kept as approx_size (single
# source, UNVERIFIED). metadata.parquet: MD5 55687065e77b6d0b0f1ff604a6e7b49c in both
# torchgeo (for its HF mirror torchgeo/bigearthnet, revision 3cf3a59) and that inventory
# ("3.6 MB"); torchgeo's older Zenodo-era value b2d7b4b2e6c7c7d8f3f5b8f3c5a8f3b1 looks like a
# placeholder and is not used. metadata_for_patches_with_snow_cloud_or_shadow.parquet: named as
# a distributed file in kai-tub/bigearthnet-pipeline readme.md; MD5
# fe31856f4986d446c9468b59d6387c91 ("710.2 kB") from the third-party inventory only
# (UNVERIFIED elsewhere).
SPEC = DownloadSpec(
    facts=FACTS,
    layout="BigEarthNet-S2/<tile>/<patch>/, BigEarthNet-S1/<scene>/<patch>/, "
    "Reference_Maps/<tile>/<patch>/, metadata.parquet",
    files=(
        RemoteFile(
            key="s2",
            name="BigEarthNet-S2.tar.zst",
            url=zenodo_url(10891137, "BigEarthNet-S2.tar.zst"),
            checksum=("md5", "2245ed2d1a93f6ce637d839bc856396e"),
            approx_size=63_251_710_377,
            extract=True,
            provides=("BigEarthNet-S2",),
            note="md5: torchgeo BigEarthNetV2 and a third-party inventory; size UNVERIFIED",
        ),
        RemoteFile(
            key="s1",
            name="BigEarthNet-S1.tar.zst",
            url=zenodo_url(10891137, "BigEarthNet-S1.tar.zst"),
            checksum=("md5", "a55eaa2cdf6a917e296bd6601ec1e348"),
            approx_size=54_439_153_171,
            extract=True,
            provides=("BigEarthNet-S1",),
            note="md5: torchgeo BigEarthNetV2 and a third-party inventory; size UNVERIFIED",
        ),
        RemoteFile(
            key="maps",
            name="Reference_Maps.tar.zst",
            url=zenodo_url(10891137, "Reference_Maps.tar.zst"),
            checksum=("md5", "95d85a222fa983faddcac51a19f28917"),
            approx_size=282_391_301,
            extract=True,
            provides=("Reference_Maps",),
            note="md5: torchgeo BigEarthNetV2 and a third-party inventory; size UNVERIFIED",
        ),
        RemoteFile(
            key="metadata",
            name="metadata.parquet",
            url=zenodo_url(10891137, "metadata.parquet"),
            checksum=("md5", "55687065e77b6d0b0f1ff604a6e7b49c"),
            approx_size=3_600_000,
            note="md5: torchgeo (HF mirror) and a third-party inventory of the record agree",
        ),
        RemoteFile(
            key="metadata-snow-cloud",
            name="metadata_for_patches_with_snow_cloud_or_shadow.parquet",
            url=zenodo_url(10891137, "metadata_for_patches_with_snow_cloud_or_shadow.parquet"),
            checksum=("md5", "fe31856f4986d446c9468b59d6387c91"),
            approx_size=710_200,
            note="md5 from a third-party inventory of the record only (UNVERIFIED)",
        ),
    ),
    aliases=("reben",),
)
"""The download spec of the source."""
