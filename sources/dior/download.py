"""Where and how to download DIOR / DIOR-R: ``eoinstruct download dior``.

DIOR is distributed through Google Drive and Baidu folders linked from the authors' page; no
file there has a stable direct URL or a published checksum, so the download is manual.
"""

from __future__ import annotations

from eoinstruct.sources.dior.facts import FACTS
from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile

_MANUAL = """\
DIOR cannot be downloaded automatically: the authors share it through Google Drive and
Baidu folders (links on https://gcheng-nwpu.github.io/#Datasets), without direct URLs.

  1. Download JPEGImages-trainval.zip, JPEGImages-test.zip and Annotations.zip (DIOR-R's
     Annotations.zip also holds "Oriented Bounding Boxes/") into {root}
{files}
  2. Unzip them so that {root} holds
       Images/trainval/<id>.jpg, Images/test/<id>.jpg  (rename JPEGImages-* to these)
       Annotations/Horizontal Bounding Boxes/<id>.xml, Annotations/Oriented Bounding Boxes/<id>.xml
  3. Set sources.dior.root to {root} in params.yaml. Research use only."""

SPEC = DownloadSpec(
    facts=FACTS,
    layout=FACTS.layout,
    files=(
        RemoteFile(
            key="trainval",
            name="JPEGImages-trainval.zip",
            url=None,
            extract=False,
            provides=("Images/trainval",),
            note="Google Drive / Baidu (authors' page); no checksum published",
        ),
        RemoteFile(
            key="test",
            name="JPEGImages-test.zip",
            url=None,
            extract=False,
            provides=("Images/test",),
            note="Google Drive / Baidu (authors' page); no checksum published",
        ),
        RemoteFile(
            key="annotations",
            name="Annotations.zip",
            url=None,
            extract=False,
            provides=("Annotations",),
            note="horizontal (DIOR) and oriented (DIOR-R) VOC XML; no checksum published",
        ),
    ),
    manual=_MANUAL,
    aliases=("dior-r",),
)
"""The download spec of the source."""
