"""Where and how to download DOTA: ``eoinstruct download dota``.

DOTA's images and labels are shared through Google Drive and Baidu folders linked from
https://captain-whu.github.io/DOTA/dataset.html (v2.0 needs the v1.0 images plus extra
parts); there are no direct URLs or published checksums, so the download is manual.
"""

from __future__ import annotations

from eoinstruct.sources.dota.facts import FACTS
from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile

_MANUAL = """\
DOTA cannot be downloaded automatically: its parts are shared through Google Drive and Baidu
folders linked from https://captain-whu.github.io/DOTA/dataset.html.

  1. Download the train and val image parts and the labels of the version you want
     (v1.0, v1.5 or v2.0; v2.0 adds images to v1.0's) into {root}
{files}
  2. Unzip them so that {root} holds
       train/images/P<id>.png and train/labelTxt/P<id>.txt (or labelTxt-v<version>/…)
       val/images/P<id>.png   and val/labelTxt/P<id>.txt
  3. Set sources.dota.root (and sources.dota.version) in params.yaml. Academic use only."""

SPEC = DownloadSpec(
    facts=FACTS,
    layout=FACTS.layout,
    files=(
        RemoteFile(
            key="train",
            name="train.zip",
            url=None,
            extract=False,
            provides=("train/images",),
            note="Google Drive / Baidu (DOTA page), several parts; no checksum published",
        ),
        RemoteFile(
            key="val",
            name="val.zip",
            url=None,
            extract=False,
            provides=("val/images",),
            note="Google Drive / Baidu (DOTA page); no checksum published",
        ),
    ),
    manual=_MANUAL,
    aliases=("dota-v1", "dota-v2"),
)
"""The download spec of the source."""
