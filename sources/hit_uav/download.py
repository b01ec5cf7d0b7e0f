"""Where and how to download HIT-UAV: ``eoinstruct download hit_uav``.

The dataset's title, homepage and licence are read from the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.hit_uav.facts import FACTS

SPEC = DownloadSpec(
    facts=FACTS,
    layout="normal_xml/{Annotations,JPEGImages,ImageSets/Main}",
    files=(
        RemoteFile(
            key="release",
            name="HIT-UAV.zip",
            # The v1.2.1 release asset as dataset-ninja/hit-uav DOWNLOAD.md links it; that it
            # still exists, its size and its inner top folder are UNVERIFIED.
            url="https://github.com/suojiashun/HIT-UAV-Infrared-Thermal-Dataset/releases/"
            "download/v1.2.1/HIT-UAV.zip",
            extract=True,
            provides=("normal_xml",),
            must_exist=False,
            note="GitHub release v1.2.1 (also Zenodo 10.5281/zenodo.7633134); no checksum",
        ),
    ),
    aliases=("hituav", "hit-uav"),
)
"""The download spec of the source."""
