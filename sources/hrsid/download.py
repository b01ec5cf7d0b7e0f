"""Where and how to download HRSID: ``eoinstruct download hrsid``.

The dataset's title, homepage and licence are read from the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.hrsid.facts import FACTS

# HRSID is distributed through links in its GitHub README (Google Drive / Baidu Pan), which
# cannot be fetched without a browser. The archive name and its inner folders are UNVERIFIED.
_MANUAL = """\
HRSID cannot be downloaded automatically: its README links to Google Drive and Baidu Pan.

  1. Open https://github.com/chaozhong2010/HRSID, download the JPEG release into {root}:
{files}
  2. Extract it so that {root}/annotations/train2017.json, test2017.json and
     {root}/JPEGImages/<chip>.jpg exist (the adapter also reads {root}/images/).
  3. Set sources.hrsid.root to {root} in params.yaml.
The authors state no licence for the data: use it for research only."""

SPEC = DownloadSpec(
    facts=FACTS,
    layout="annotations/{train2017,test2017}.json + JPEGImages/<chip>.jpg",
    files=(
        RemoteFile(
            key="jpg",
            name="HRSID_JPG.zip",
            url=None,
            extract=True,
            provides=("annotations", "JPEGImages"),
            note="by hand from the README's links; archive name and folders UNVERIFIED",
        ),
    ),
    manual=_MANUAL,
)
"""The download spec of the source."""
