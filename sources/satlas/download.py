"""Where and how to download SatlasPretrain: ``eoinstruct download satlas``.

The dataset's title, homepage and licence are not repeated here: the spec reads them from
the source's facts (``facts.py``).
"""

from __future__ import annotations

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from eoinstruct.sources.satlas.facts import FACTS

# URLs: allenai/satlas satlaspretrain_urls.txt and SatlasPretrain.md ("cd satlas_root/; wget …;
# tar xvf"; the tars unpack to sentinel2/, naip/, static/, dynamic/, metadata/ … directly under
# the root, as torchgeo's SatlasPretrain reads them). MD5s: torchgeo
# torchgeo/datasets/satlas.py ``SatlasPretrain.md5s``, computed on the objects at
# s3://ai2-public-datasets/satlas/<tar>, i.e. https://ai2-public-datasets.s3.amazonaws.com/
# satlas/<tar>. For Landsat and Sentinel-1, SatlasPretrain.md also names copies on
# pub-956f3eb0f5974f37b9228e0a62f449bf.r2.dev/satlaspretrain/ (and an older
# satlas-dataset-v1-sentinel1.tar); the S3 objects torchgeo checksummed are used here, and
# whether the R2 copies are identical is UNVERIFIED. The HF mirror allenai/satlas-pretrain
# (a model repo, dataset/satlaspretrain_dataset_<kind>_<NNNN>.tar shards) publishes no file
# list here, so it is not used. NAIP (high-resolution mode, the bulk of the ~30 TB) is not
# fetched by default. Sizes: UNVERIFIED.
_SATLAS = "https://ai2-public-datasets.s3.amazonaws.com/satlas/"
_SATLAS_MD5 = {
    "metadata": ("satlas-dataset-v1-metadata.tar", "6b9ac5a4f9a1ee88a271d28f12854607"),
    "labels-static": ("satlas-dataset-v1-labels-static.tar", "4e38c2573bc78cf1f0d7267e432cb42c"),
    "labels-dynamic": (
        "satlas-dataset-v1-labels-dynamic.tar",
        "4503ae687948e7d2cb7ade0083f77a8a",
    ),
    "sentinel2-a": ("satlas-dataset-v1-sentinel2-a.tar", "7e1c6a1e322807fb11df8c0c062545ca"),
    "sentinel2-b": ("satlas-dataset-v1-sentinel2-b.tar", "6636b8ecf2fff1d6723ecfef55a4876d"),
    "sentinel1": ("satlas-dataset-v1-sentinel1-new.tar", "3d88a0a10df6ab0aa50db2ba4c475048"),
    "landsat": ("satlas-dataset-v1-landsat.tar", "89ea5e8974826c071908392827780a06"),
}
_SATLAS_PROVIDES = {
    "metadata": ("metadata",),
    "labels-static": ("static",),
    "labels-dynamic": ("dynamic",),
    "sentinel2-a": ("sentinel2",),
    "sentinel2-b": ("sentinel2",),
    "sentinel1": ("sentinel1",),
    "landsat": ("landsat",),
}
_SATLAS_NAIP_MD5 = (
    "523736842994861054f04b97c4d90bfb",
    "636b9a3b08be0e40d098cb7b5e655b57",
    "69e2b1052b1d2d465322a24cf7207a16",
    "38999aea424d403ad60e1398443636aa",
    "97f4855072a8a406a4bfbe94c5f7311c",
    "9ba3c626b23e6d26749a323eaedc7c0a",
    "e4aba3d198dedfe1524a9338e85794aa",
    "74191a36d841b0b9b5d5cbae9a92ad71",
    "55b110cc6f734bf88793306d49f1c415",
    "97fc8414334987c59593d574f112a77e",
)

SPEC = DownloadSpec(
    facts=FACTS,
    layout="sentinel2/<image>/<band>/<col>_<row>.png, sentinel1/, landsat/, static/<col>_<row>/, "
    "dynamic/<col>_<row>/, metadata/*.json (naip/ with --only naip-<year>)",
    files=(
        *(
            RemoteFile(
                key=key,
                name=name,
                url=f"{_SATLAS}{name}",
                checksum=("md5", md5),
                extract=True,
                provides=_SATLAS_PROVIDES[key],
                note="md5: torchgeo SatlasPretrain.md5s; size UNVERIFIED"
                + (
                    "; R2 copy in SatlasPretrain.md not used"
                    if key in ("landsat", "sentinel1")
                    else ""
                ),
            )
            for key, (name, md5) in _SATLAS_MD5.items()
        ),
        *(
            RemoteFile(
                key=f"naip-{year}",
                name=f"satlas-dataset-v1-naip-{year}.tar",
                url=f"{_SATLAS}satlas-dataset-v1-naip-{year}.tar",
                checksum=("md5", md5),
                extract=True,
                default=False,
                note="high-resolution mode; md5: torchgeo SatlasPretrain.md5s",
            )
            for year, md5 in zip(range(2011, 2021), _SATLAS_NAIP_MD5, strict=True)
        ),
    ),
    aliases=("satlaspretrain",),
)
"""The download spec of the source."""
