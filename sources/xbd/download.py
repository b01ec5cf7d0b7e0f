"""Where and how to download xBD (xView2): ``eoinstruct download xbd``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.xbd.facts import FACTS

# Registration at https://xview2.org is required (torchgeo XView2 has no download for this
# reason). Archive names and MD5s: torchgeo torchgeo/datasets/xview.py ``XView2.metadata``
# (commit 0150c32428213364c16a7e8948a94a5bf9727c02); approximate sizes from its docstring
# ("Challenge training set (~7.8 GB)", "Challenge test set (~2.6 GB)"). The tier3 and hold
# archive names are used by several third-party scripts; no checksum and the folders they
# extract to (tier3/, hold/) are UNVERIFIED.
_XBD_MANUAL = """\
xBD (xView2) cannot be downloaded automatically: its archives are only available to
registered users of https://xview2.org.

  1. Register and log in at https://xview2.org, open the data download page and accept the
     licence (CC BY-NC-SA 4.0: non-commercial use only).
  2. Download these archives into {root}
     (keep their names; do not extract them yourself):
{files}
  3. Run the same command again:
       eoinstruct download xbd --root {root}
     It checks the MD5s and extracts the archives into
       {root}/train/{{images,labels,targets}}/  and  {root}/test/{{images,labels,targets}}/
     (plus tier3/ and hold/ when you add those archives and ask for them with --only).
  4. Set sources.xbd.root to {root} in params.yaml."""

SPEC = DownloadSpec(
    facts=FACTS,
    layout="{train,test,tier3,hold}/{images,labels,targets}/<disaster>_<id>_{pre,post}_disaster.*",
    files=(
        RemoteFile(
            key="train",
            name="train_images_labels_targets.tar.gz",
            url=None,
            checksum=("md5", "a20ebbfb7eb3452785b63ad02ffd1e16"),
            approx_size=7_800_000_000,
            extract=True,
            provides=("train/images", "train/labels"),
            note='"Challenge training set"; md5: torchgeo XView2.metadata',
        ),
        RemoteFile(
            key="test",
            name="test_images_labels_targets.tar.gz",
            url=None,
            checksum=("md5", "1b39c47e05d1319c17cc8763cee6fe0c"),
            approx_size=2_600_000_000,
            extract=True,
            provides=("test/images", "test/labels"),
            note='"Challenge test set"; md5: torchgeo XView2.metadata',
        ),
        RemoteFile(
            key="tier3",
            name="tier3.tar.gz",
            url=None,
            extract=True,
            provides=("tier3",),
            default=False,
            note='"Tier3 training data"; no checksum, folder name UNVERIFIED',
        ),
        RemoteFile(
            key="hold",
            name="hold_images_labels_targets.tar.gz",
            url=None,
            extract=True,
            provides=("hold",),
            default=False,
            note='"Challenge holdout set"; no checksum, folder name UNVERIFIED',
        ),
    ),
    manual=_XBD_MANUAL,
    aliases=("xview2",),
)
"""The download spec of the source."""
