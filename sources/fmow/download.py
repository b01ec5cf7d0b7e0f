"""Where and how to download fMoW-rgb: ``eoinstruct download fmow``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``). fMoW is hosted in the public SpaceNet bucket on AWS
(``s3://spacenet-dataset/Hosted-Datasets/fmow/fmow-rgb/``, fMoW/dataset README): a tree of
about a million small files, not archives, so the tree is fetched with the AWS command line
(a manual step); the bucket's ``manifest.json.bz2`` listing is fetched over HTTPS. No
checksums are published; sizes are UNVERIFIED.
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.fmow.facts import FACTS

BUCKET_URL = "https://spacenet-dataset.s3.amazonaws.com/Hosted-Datasets/fmow/fmow-rgb"
"""The fMoW-rgb prefix of the public SpaceNet bucket, as an HTTPS URL."""

_FMOW_MANUAL = """\
fMoW-rgb is a tree of about a million JPEG and JSON files in the public SpaceNet bucket
(about 200 GB); fetch the train and val folders with the AWS command line (no account needed):

  aws s3 sync --no-sign-request \\
      s3://spacenet-dataset/Hosted-Datasets/fmow/fmow-rgb/train/ {root}/train/
  aws s3 sync --no-sign-request \\
      s3://spacenet-dataset/Hosted-Datasets/fmow/fmow-rgb/val/ {root}/val/

(add --exclude '*_msrgb*' to skip the multispectral-as-RGB variant). fMoW-full (TIFFs, about
3.5 TB) is under .../fmow/fmow-full/ in the same layout; read it with sources.fmow.variant: ms
(or rgb for its pan-sharpened TIFFs). Files listed here:
{files}
Then set sources.fmow.root to {root} in params.yaml."""

SPEC = DownloadSpec(
    facts=FACTS,
    layout="{train,val}/<category>/<category>_<n>/<category>_<n>_<t>_{rgb,msrgb}.{jpg,json}",
    files=(
        RemoteFile(
            key="manifest",
            name="manifest.json.bz2",
            url=f"{BUCKET_URL}/manifest.json.bz2",
            must_exist=False,
            note="the bucket's file listing (fMoW/dataset README); size UNVERIFIED",
        ),
    ),
    manual=_FMOW_MANUAL,
    aliases=("fmow-rgb", "functional-map-of-the-world"),
)
"""The download spec of the source."""
