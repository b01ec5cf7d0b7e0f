"""Download, verify and extract each source dataset from its official location.

``eoinstruct download SOURCE --root DIR`` fetches a source's files into ``DIR``, checks them
against the sizes and checksums their publishers (or well-tested loaders) state, and extracts
the archives so that ``DIR`` is the ``root`` the source's adapter reads (``sources.<name>.root``
in ``params.yaml``).

The facts about each source (URLs, file names, sizes, checksums, licences) are data, in
:data:`SPECS`, each with a comment saying where it comes from. A fact that could not be
confirmed is marked **UNVERIFIED** there, and the code tolerates it: a file without a known
checksum is checked by size only (or not at all) and the report says so; a file whose very
existence is unconfirmed (``must_exist=False``) is skipped with a warning when the server
answers 404; an approximate size (``approx_size``) is only shown, never enforced.

The machinery is generic:

- :func:`download_file` streams one URL into ``<dest>.part``, resumes with an HTTP ``Range``
  request after a dropped connection (and starts over when the server ignores ``Range`` or the
  partial file is larger than expected), retries with back-off, verifies size and checksum,
  then renames the file atomically to ``dest``. A verified file is recorded in a small stamp
  file so that a re-run skips it without hashing it again.
- :func:`extract_archive` extracts ``.tar``, ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``,
  ``.tar.zst`` and ``.zip`` archives *safely*: every member is checked before it is written,
  and members that are absolute paths, that resolve outside the target folder (``..``), that
  are symlinks or hard links pointing outside it, or that are device files or FIFOs are
  refused (the whole archive is refused). Extraction goes to a staging folder inside the
  target, and only a complete, clean extraction is moved into place and recorded with a
  marker file, so a truncated archive leaves nothing behind and a re-run does not extract
  twice. ``.tar.zst`` needs the ``zstandard`` module or the ``zstd`` command-line tool.
- :func:`download_source` runs both over a source's :class:`DownloadSpec`.

Sources that cannot be downloaded without registering (xBD) raise
:class:`ManualStepRequired` with instructions (:func:`manual_step`); once the user has put
the archives in the root, the same command verifies and extracts them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from tqdm import tqdm

log = logging.getLogger(__name__)

HashAlgorithm = Literal["md5", "sha256"]
"""Checksum algorithms the specs use."""

Checksum = tuple[HashAlgorithm, str]
"""A published checksum: ``(algorithm, lower-case hex digest)``."""

_HEX_LENGTH: dict[str, int] = {"md5": 32, "sha256": 64}

EXIT_OK = 0
"""Exit status: everything selected is downloaded, verified and extracted."""
EXIT_USAGE = 2
"""Exit status: unknown source or file name, bad arguments."""
EXIT_MANUAL_STEP = 3
"""Exit status: the source needs a manual step first (e.g. registration); nothing was fetched."""
EXIT_VERIFICATION = 4
"""Exit status: a file failed its size or checksum check (the bad file was deleted)."""
EXIT_DOWNLOAD = 5
"""Exit status: a download failed (network, HTTP status) after its retries."""
EXIT_ARCHIVE = 6
"""Exit status: an archive is corrupt, truncated, unsafe or of an unsupported format."""

_USER_AGENT = "eoinstruct-download/0.1 (+https://github.com; dataset download)"
_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class DownloadError(Exception):
    """A file could not be downloaded (network failure, HTTP error, retries exhausted)."""


class RemoteFileNotFound(DownloadError):
    """The server answered 404 or 410 for a file."""


class VerificationError(DownloadError):
    """A downloaded or existing file does not have the expected size or checksum."""


class ChecksumError(VerificationError):
    """A file's digest differs from the published one.

    Attributes:
        path: The file that was checked (already deleted when raised by a download).
        algorithm: ``md5`` or ``sha256``.
        expected: The published digest.
        actual: The digest of the file.
    """

    def __init__(self, path: Path, algorithm: str, expected: str, actual: str, note: str) -> None:
        super().__init__(
            f"{path.name}: {algorithm} checksum mismatch: expected {expected}, got {actual}; {note}"
        )
        self.path = path
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class ArchiveError(Exception):
    """An archive cannot be extracted: corrupt, truncated, unsupported or missing a decoder."""


class UnsafeArchiveError(ArchiveError):
    """An archive member would be written outside the target folder, or is a device file."""


class ManualStepRequired(Exception):
    """A source needs a manual step (registration, licence acceptance) before it can be fetched.

    Attributes:
        source: The source name.
        instructions: What to do, with the expected files and layout.
    """

    def __init__(self, source: str, instructions: str) -> None:
        super().__init__(instructions)
        self.source = source
        self.instructions = instructions


# --------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source, as its publisher distributes it.

    Attributes:
        key: Short id used with ``--only`` (``s2``, ``split-train``…).
        name: File name under the root (the download's target).
        url: Official download URL, or None when the file can only be fetched by hand.
        size: Exact size in bytes, from a verified source; enforced.
        checksum: Published checksum, from a verified source; enforced.
        approx_size: Approximate or unverified size in bytes; shown, never enforced.
        extract: Whether the file is an archive to extract into the root.
        provides: Paths (relative to the root) the file provides once extracted; a missing
            one gives a warning, and when all exist the file counts as already extracted.
        default: Whether the file is fetched when ``only`` is not given (large optional
            parts are not).
        must_exist: False for files whose existence at ``url`` is UNVERIFIED: a 404 then
            gives a warning instead of an error.
        note: Provenance of the facts and caveats, shown by ``--list``.
    """

    key: str
    name: str
    url: str | None
    size: int | None = None
    checksum: Checksum | None = None
    approx_size: int | None = None
    extract: bool = False
    provides: tuple[str, ...] = ()
    default: bool = True
    must_exist: bool = True
    note: str = ""


@dataclass(frozen=True)
class DownloadSpec:
    """Where and how to fetch one source.

    Attributes:
        name: Source name (the adapter's ``sources.<name>`` in ``params.yaml``).
        title: Dataset name and version.
        homepage: Where the dataset is described.
        licence: Licence of the data (SPDX id where there is one; UNVERIFIED marked).
        layout: What the root holds after download and extraction.
        files: The files, in download order.
        manual: Instructions when the files cannot be fetched automatically (``{root}`` is
            replaced by the target folder), else None.
        params_root: Sub-folder of the target to give the adapter as ``root`` when the
            archives extract into one folder per part (STARCOP), "" for the target itself.
    """

    name: str
    title: str
    homepage: str
    licence: str
    layout: str
    files: tuple[RemoteFile, ...]
    manual: str | None = None
    params_root: str = ""

    def select(self, only: Sequence[str] | None = None) -> tuple[RemoteFile, ...]:
        """Return the files to fetch.

        Args:
            only: Keys or file names; None selects the default files.

        Returns:
            The selected files, in spec order.

        Raises:
            ValueError: If ``only`` names a file the spec does not have.
        """
        if only is None:
            return tuple(f for f in self.files if f.default)
        wanted = {item.strip() for entry in only for item in entry.split(",") if item.strip()}
        known = {f.key for f in self.files} | {f.name for f in self.files}
        unknown = sorted(wanted - known)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown file(s) {', '.join(unknown)}; known: "
                + ", ".join(f"{f.key} ({f.name})" for f in self.files)
            )
        if not wanted:
            raise ValueError(f"{self.name}: --only selects no file")
        return tuple(f for f in self.files if f.key in wanted or f.name in wanted)


def _zenodo(record: int, name: str) -> str:
    return f"https://zenodo.org/records/{record}/files/{name}?download=1"


def _hf_dataset(repo: str, revision: str, path: str) -> str:
    return f"https://huggingface.co/datasets/{repo}/resolve/{revision}/{path}"


_GB = 1_000_000_000

# ---- BigEarthNet v1.0 -------------------------------------------------------------------
# Archives: Zenodo record 12687186 (the record README.md and shared/docs/source-formats.md §1
# point to). File names, URLs and MD5s: microsoft/torchgeo torchgeo/datasets/bigearthnet.py,
# ``BigEarthNet.metadata`` (read at commit 029863d158b596aabbdc5e61a824f988333698cc).
# Archive sizes: UNVERIFIED ("about 66 GB and 55 GB", source-formats.md §1) -> not enforced.
# Split CSVs: the BigEarthNet-MM splits at git.tu-berlin.de/rsim/BigEarthNet-MM_19-classes_models
# pinned to commit 9a5be07346ab0884b2d9517475c27ef9db9b5104, saved under torchgeo's names
# ``bigearthnet-{train,val,test}.csv`` with torchgeo's MD5s (``BigEarthNet.splits_metadata``).
# Licence: CDLA-Permissive-1.0 (HF card earthnets/BigEarthNet; TensorFlow Datasets catalog
# "bigearthnet": "Community Data License Agreement - Permissive, Version 1.0").
_BEN_V1_SPLITS = (
    "https://git.tu-berlin.de/rsim/BigEarthNet-MM_19-classes_models/-/raw/"
    "9a5be07346ab0884b2d9517475c27ef9db9b5104/splits/{split}.csv?inline=false"
)
_BEN_V1_SPLIT_MD5 = {
    "train": "623e501b38ab7b12fe44f0083c00986d",
    "val": "22efe8ed9cbd71fa10742ff7df2b7978",
    "test": "697fb90677e30571b9ac7699b7e5b432",
}

BIGEARTHNET_V1 = DownloadSpec(
    name="bigearthnet_v1",
    title="BigEarthNet v1.0 (BigEarthNet-S2 + BigEarthNet-S1, BigEarthNet-MM splits)",
    homepage="https://bigearth.net",
    licence="CDLA-Permissive-1.0",
    layout="BigEarthNet-v1.0/<S2 patch>/, BigEarthNet-S1-v1.0/<S1 patch>/, "
    "bigearthnet-{train,val,test}.csv",
    files=(
        RemoteFile(
            key="s2",
            name="BigEarthNet-S2-v1.0.tar.gz",
            url=_zenodo(12687186, "BigEarthNet-S2-v1.0.tar.gz"),
            checksum=("md5", "5a64e9ce38deb036a435a7b59494924c"),
            approx_size=66 * _GB,
            extract=True,
            provides=("BigEarthNet-v1.0",),
            note="md5: torchgeo BigEarthNet.metadata['s2']; size UNVERIFIED (~66 GB)",
        ),
        RemoteFile(
            key="s1",
            name="BigEarthNet-S1-v1.0.tar.gz",
            url=_zenodo(12687186, "BigEarthNet-S1-v1.0.tar.gz"),
            checksum=("md5", "94ced73440dea8c7b9645ee738c5a172"),
            approx_size=55 * _GB,
            extract=True,
            provides=("BigEarthNet-S1-v1.0",),
            note="md5: torchgeo BigEarthNet.metadata['s1']; size UNVERIFIED (~55 GB)",
        ),
        *(
            RemoteFile(
                key=f"split-{split}",
                name=f"bigearthnet-{split}.csv",
                url=_BEN_V1_SPLITS.format(split=split),
                checksum=("md5", md5),
                note="BigEarthNet-MM split (rows '<s2>,<s1>'); md5: torchgeo splits_metadata",
            )
            for split, md5 in _BEN_V1_SPLIT_MD5.items()
        ),
    ),
)

# ---- BigEarthNet v2.0 (reBEN) -----------------------------------------------------------
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
# Licence: CDLA-Permissive-1.0 per the HF cards earthnets/BigEarthNetV2 and
# isp-uv-es/bigearthnet-v2-reference-maps-taco and the same inventory (UNVERIFIED against
# bigearth.net).
BIGEARTHNET_V2 = DownloadSpec(
    name="bigearthnet_v2",
    title="BigEarthNet v2.0 (reBEN): S1, S2, reference maps, metadata",
    homepage="https://bigearth.net",
    licence="CDLA-Permissive-1.0 (UNVERIFIED)",
    layout="BigEarthNet-S2/<tile>/<patch>/, BigEarthNet-S1/<scene>/<patch>/, "
    "Reference_Maps/<tile>/<patch>/, metadata.parquet",
    files=(
        RemoteFile(
            key="s2",
            name="BigEarthNet-S2.tar.zst",
            url=_zenodo(10891137, "BigEarthNet-S2.tar.zst"),
            checksum=("md5", "2245ed2d1a93f6ce637d839bc856396e"),
            approx_size=63_251_710_377,
            extract=True,
            provides=("BigEarthNet-S2",),
            note="md5: torchgeo BigEarthNetV2 and a third-party inventory; size UNVERIFIED",
        ),
        RemoteFile(
            key="s1",
            name="BigEarthNet-S1.tar.zst",
            url=_zenodo(10891137, "BigEarthNet-S1.tar.zst"),
            checksum=("md5", "a55eaa2cdf6a917e296bd6601ec1e348"),
            approx_size=54_439_153_171,
            extract=True,
            provides=("BigEarthNet-S1",),
            note="md5: torchgeo BigEarthNetV2 and a third-party inventory; size UNVERIFIED",
        ),
        RemoteFile(
            key="maps",
            name="Reference_Maps.tar.zst",
            url=_zenodo(10891137, "Reference_Maps.tar.zst"),
            checksum=("md5", "95d85a222fa983faddcac51a19f28917"),
            approx_size=282_391_301,
            extract=True,
            provides=("Reference_Maps",),
            note="md5: torchgeo BigEarthNetV2 and a third-party inventory; size UNVERIFIED",
        ),
        RemoteFile(
            key="metadata",
            name="metadata.parquet",
            url=_zenodo(10891137, "metadata.parquet"),
            checksum=("md5", "55687065e77b6d0b0f1ff604a6e7b49c"),
            approx_size=3_600_000,
            note="md5: torchgeo (HF mirror) and a third-party inventory of the record agree",
        ),
        RemoteFile(
            key="metadata-snow-cloud",
            name="metadata_for_patches_with_snow_cloud_or_shadow.parquet",
            url=_zenodo(10891137, "metadata_for_patches_with_snow_cloud_or_shadow.parquet"),
            checksum=("md5", "fe31856f4986d446c9468b59d6387c91"),
            approx_size=710_200,
            note="md5 from a third-party inventory of the record only (UNVERIFIED)",
        ),
    ),
)

# ---- SkyScript ----------------------------------------------------------------------------
# wangzhecheng/SkyScript README.md (commit 15d59866): images2.zip … images7.zip and meta2.zip …
# meta7.zip at https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript/, each unzipping
# to a folder (images<N>/; meta<N>/ is UNVERIFIED, source-formats.md §3). Image MD5s and the
# three caption CSVs' MD5s: torchgeo torchgeo/datasets/skyscript.py (image_md5s,
# caption_md5s). torchgeo downloads the CSVs from ``SkyScript/<csv>``, the README documents
# ``SkyScript/dataframe/<csv>``: the URL whose MD5 is known is used; whether both copies are
# identical is UNVERIFIED. Meta zips and the optional CSVs have no published checksum
# (UNVERIFIED). Licence: not stated; the code is MIT and the imagery keeps its sources'
# licences (UNVERIFIED).
_SKYSCRIPT = "https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript/"
_SKYSCRIPT_IMAGE_MD5 = (
    "fbfb5f7aa1731f4106fc3ffbd608100a",
    "ad4fd9fdb9622d1ea360210cb222f2bd",
    "aeeb41e830304c74b14b5ffc1fc8e8c3",
    "02ee7e0e59f9ac1c87b678a155e1f1df",
    "350475f1e7fb996152fa16db891b4142",
    "5e2fbf3e9262b36e30b458ec9a1df625",
)
_SKYSCRIPT_CSV_MD5 = {
    "captions-train": (
        "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv",
        "05b362e43a852667b5374c9a5ae53f8e",
    ),
    "captions-val": (
        "SkyScript_val_5K_filtered_by_CLIP_openai.csv",
        "c8d278fd29b754361989d5e7a6608f69",
    ),
    "captions-test": (
        "SkyScript_test_30K_filtered_by_CLIP_openai.csv",
        "0135d9b49ce6751360912a4353e809dc",
    ),
}
_SKYSCRIPT_OPTIONAL_CSV = {
    "captions-train-top50": "SkyScript_train_top50pct_filtered_by_CLIP_openai.csv",
    "captions-train-5m": "SkyScript_train_unfiltered_5M.csv",
    "captions-train-polished": (
        "SkyScript_train_top30pct_filtered_by_CLIP_laion_RS_language_polished.csv"
    ),
}

SKYSCRIPT = DownloadSpec(
    name="skyscript",
    title="SkyScript (image-text pairs from OSM tags)",
    homepage="https://github.com/wangzhecheng/SkyScript",
    licence="UNVERIFIED (imagery keeps its sources' licences; code MIT)",
    layout="images{2..7}/<t><osm id>_<SRC>_<yy>.jpg, meta{2..7}/<stem>.pickle, caption CSVs",
    files=(
        *(
            RemoteFile(
                key=f"images{i}",
                name=f"images{i}.zip",
                url=f"{_SKYSCRIPT}images{i}.zip",
                checksum=("md5", md5),
                extract=True,
                provides=(f"images{i}",),
                note="md5: torchgeo SkyScript.image_md5s; size UNVERIFIED",
            )
            for i, md5 in zip(range(2, 8), _SKYSCRIPT_IMAGE_MD5, strict=True)
        ),
        *(
            RemoteFile(
                key=f"meta{i}",
                name=f"meta{i}.zip",
                url=f"{_SKYSCRIPT}meta{i}.zip",
                extract=True,
                provides=(f"meta{i}",),
                note="no published checksum (UNVERIFIED); folder name meta<N>/ UNVERIFIED",
            )
            for i in range(2, 8)
        ),
        *(
            RemoteFile(
                key=key,
                name=name,
                url=f"{_SKYSCRIPT}{name}",
                checksum=("md5", md5),
                note="md5: torchgeo SkyScript.caption_md5s (URL as torchgeo uses it)",
            )
            for key, (name, md5) in _SKYSCRIPT_CSV_MD5.items()
        ),
        *(
            RemoteFile(
                key=key,
                name=name,
                url=f"{_SKYSCRIPT}dataframe/{name}",
                default=False,
                note="README URL; no published checksum (UNVERIFIED)",
            )
            for key, name in _SKYSCRIPT_OPTIONAL_CSV.items()
        ),
    ),
)

# ---- SatlasPretrain -----------------------------------------------------------------------
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
# Licence: new labels ODC-BY (allenai/satlas DataLicense); imagery and other labels keep
# their licences (Sentinel legal notice, NAIP public domain, OSM ODbL, WorldCover CC-BY-4.0).
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

SATLASPRETRAIN = DownloadSpec(
    name="satlas",
    title="SatlasPretrain v1 (low-resolution mode by default; NAIP on request)",
    homepage="https://satlas-pretrain.allen.ai",
    licence="ODC-BY-1.0 (new labels); imagery and OSM keep their licences",
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
)

# ---- xBD (xView2) ---------------------------------------------------------------------------
# Registration at https://xview2.org is required (torchgeo XView2 has no download for this
# reason). Archive names and MD5s: torchgeo torchgeo/datasets/xview.py ``XView2.metadata``
# (commit 0150c32428213364c16a7e8948a94a5bf9727c02); approximate sizes from its docstring
# ("Challenge training set (~7.8 GB)", "Challenge test set (~2.6 GB)"). The tier3 and hold
# archive names are used by several third-party scripts; no checksum and the folders they
# extract to (tier3/, hold/) are UNVERIFIED. Licence: CC BY-NC-SA 4.0 (UNVERIFIED,
# source-formats.md §5).
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

XBD = DownloadSpec(
    name="xbd",
    title="xBD / xView2 challenge data (train, test; tier3 and hold optional)",
    homepage="https://xview2.org",
    licence="CC-BY-NC-SA-4.0 (UNVERIFIED)",
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
)

# ---- STARCOP ---------------------------------------------------------------------------------
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
# (approx only). Licence: CC-BY-NC-4.0 (Zenodo record as cited by third parties; HF
# isp-uv-es/starcop card) - UNVERIFIED on the record itself.
_STARCOP_ZIPS = (
    ("test", "STARCOP_test.zip", 5_250_000_000),
    ("train-easy", "STARCOP_train_easy.zip", 8_380_000_000),
    *((f"train-part{i}", f"STARCOP_train_remaining_part{i}.zip", None) for i in range(1, 6)),
)

STARCOP = DownloadSpec(
    name="starcop",
    title="STARCOP (AVIRIS-NG methane plumes, with simulated WorldView-3)",
    homepage="https://github.com/spaceml-org/STARCOP",
    licence="CC-BY-NC-4.0 (UNVERIFIED)",
    layout="STARCOP_test/, STARCOP_train_easy/, STARCOP_train_remaining_part{1..5}/ "
    "(each <id>/<product>.tif + CSV), train.csv, test.csv",
    files=(
        *(
            RemoteFile(
                key=key,
                name=name,
                url=_zenodo(7863343, name),
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
                url=_zenodo(7863343, f"{split}.csv"),
                must_exist=False,
                note="presence as a separate record file UNVERIFIED; no checksum",
            )
            for split in ("train", "test")
        ),
    ),
    # The adapter reads one folder of CSVs + event folders; each part is such a folder.
    params_root="STARCOP_test",
)

# ---- QuakeSet --------------------------------------------------------------------------------
# Hugging Face dataset DarthReca/quakeset, pinned to revision
# be03b4aab456a8fad10cd15a9a2e3492ebc97b2c ("Upload p_earthquakes.h5", the last commit that
# added a data file). Sizes and SHA-256 are the Git-LFS pointers shown on the Hub's commit
# pages: earthquakes.h5 added in bead1d25fb9979dbf703f9ede3e8b349f73b29f7 (unchanged since;
# torchgeo QuakeSet pins that revision, md5 76fc7c76b7ca56f4844d852e175e1560),
# epicenters.parquet in 73c7a43c1b216653efa079cdaeb86a9dbbf1b527, p_earthquakes.h5 in
# be03b4a… (its role is UNVERIFIED, so it is fetched only on request).
# Licence: openrail (dataset card front matter).
_QUAKESET_REPO = "DarthReca/quakeset"
QUAKESET_REVISION = "be03b4aab456a8fad10cd15a9a2e3492ebc97b2c"
"""The pinned revision of the QuakeSet Hub repository."""

QUAKESET = DownloadSpec(
    name="quakeset",
    title="QuakeSet (Sentinel-1 pre/post earthquake patches, HDF5)",
    homepage="https://huggingface.co/datasets/DarthReca/quakeset",
    licence="OpenRAIL",
    layout="earthquakes.h5 (+ epicenters.parquet)",
    files=(
        RemoteFile(
            key="earthquakes",
            name="earthquakes.h5",
            url=_hf_dataset(_QUAKESET_REPO, QUAKESET_REVISION, "earthquakes.h5"),
            size=9_666_460_547,
            checksum=("sha256", "11527e6a21c425b787d0952443e434f53d90a22ee16b75d20e17d54c2b091a78"),
            note="size and sha256: HF LFS pointer (commit bead1d2)",
        ),
        RemoteFile(
            key="epicenters",
            name="epicenters.parquet",
            url=_hf_dataset(_QUAKESET_REPO, QUAKESET_REVISION, "epicenters.parquet"),
            size=15_972_926,
            checksum=("sha256", "0632e0fb00f98c957531f9c5defee2cf41e960ae420f03f19a980d20254b613e"),
            note="size and sha256: HF LFS pointer (commit 73c7a43)",
        ),
        RemoteFile(
            key="p-earthquakes",
            name="p_earthquakes.h5",
            url=_hf_dataset(_QUAKESET_REPO, QUAKESET_REVISION, "p_earthquakes.h5"),
            size=1_119_966_020,
            checksum=("sha256", "5e9e16ec3b7a3dfd4aaac96769466adf7014167fdd7b590d68d5c4c167f4aea2"),
            default=False,
            note="size and sha256: HF LFS pointer (commit be03b4a); purpose UNVERIFIED",
        ),
    ),
)

SPECS: dict[str, DownloadSpec] = {
    spec.name: spec
    for spec in (
        BIGEARTHNET_V1,
        BIGEARTHNET_V2,
        SKYSCRIPT,
        SATLASPRETRAIN,
        XBD,
        STARCOP,
        QUAKESET,
    )
}
"""Download spec of every source, by source name."""

ALIASES: dict[str, str] = {
    "reben": "bigearthnet_v2",
    "satlaspretrain": "satlas",
    "xview2": "xbd",
}
"""Other names accepted for a source."""


def get_spec(name: str) -> DownloadSpec:
    """Return the download spec of a source.

    Args:
        name: Source name or alias (``reben``, ``satlaspretrain``, ``xview2``).

    Returns:
        The spec.

    Raises:
        ValueError: If no source has that name.
    """
    key = ALIASES.get(name, name)
    if key not in SPECS:
        raise ValueError(f"unknown source {name!r}; known sources: {', '.join(sorted(SPECS))}")
    return SPECS[key]


def manual_step(name: str, root: Path | str | None = None) -> str | None:
    """Return the instructions for a source that must be fetched by hand, else None.

    Args:
        name: Source name.
        root: The target folder to name in the text (a placeholder when None).

    Returns:
        The instructions, listing the expected files and the layout they extract to.
    """
    spec = get_spec(name)
    if spec.manual is None:
        return None
    lines = []
    for f in spec.files:
        facts = []
        if f.approx_size:
            facts.append(f"~{_human(f.approx_size)}")
        if f.checksum:
            facts.append(f"{f.checksum[0]} {f.checksum[1]}")
        if not f.default:
            facts.append("optional")
        lines.append(f"       {f.name:<40} {', '.join(facts)}")
    return spec.manual.format(
        root=str(root) if root is not None else "<root>", files="\n".join(lines)
    )


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------


def _check_checksum_spec(checksum: Checksum) -> tuple[str, str]:
    algorithm, digest = checksum
    if algorithm not in _HEX_LENGTH:
        raise ValueError(f"unsupported checksum algorithm {algorithm!r} (md5 or sha256)")
    digest = digest.lower()
    if len(digest) != _HEX_LENGTH[algorithm] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"malformed {algorithm} digest {digest!r}")
    return algorithm, digest


def file_digest(path: Path, algorithm: str, *, progress: bool = False) -> str:
    """Return the hex digest of a file.

    Args:
        path: The file.
        algorithm: ``md5`` or ``sha256``.
        progress: Show a progress bar.

    Returns:
        The lower-case hex digest.
    """
    digest = hashlib.new(algorithm)
    size = path.stat().st_size
    with (
        path.open("rb") as fh,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"{algorithm} {path.name}",
            disable=not progress or size < 64 * _CHUNK,
            leave=False,
        ) as bar,
    ):
        while chunk := fh.read(8 * _CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def verify_file(
    path: Path,
    *,
    expected_size: int | None = None,
    checksum: Checksum | None = None,
    progress: bool = False,
) -> str:
    """Check a file's size and checksum.

    Args:
        path: The file.
        expected_size: Size in bytes it must have, if known.
        checksum: ``(algorithm, hex digest)`` it must have, if known.
        progress: Show a progress bar while hashing.

    Returns:
        What was verified: ``md5``, ``sha256``, ``size`` or ``none``.

    Raises:
        VerificationError: If the size differs.
        ChecksumError: If the digest differs.
    """
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise VerificationError(
            f"{path.name}: {size} bytes, expected {expected_size}; the file is incomplete or "
            "not the published one"
        )
    if checksum is not None:
        algorithm, expected = _check_checksum_spec(checksum)
        actual = file_digest(path, algorithm, progress=progress)
        if actual != expected:
            raise ChecksumError(path, algorithm, expected, actual, "the file is corrupt")
        return algorithm
    return "size" if expected_size is not None else "none"


def _stamp_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.verified.json")


def _stamp_matches(dest: Path, expected_size: int | None, checksum: Checksum | None) -> str | None:
    stamp = _stamp_path(dest)
    try:
        data = json.loads(stamp.read_text())
        st = dest.stat()
    except (OSError, ValueError):
        return None
    wanted = list(_check_checksum_spec(checksum)) if checksum else None
    if (
        data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
        and data.get("checksum") == wanted
        and (expected_size is None or expected_size == st.st_size)
    ):
        return str(data.get("verified", "none"))
    return None


def _write_stamp(dest: Path, checksum: Checksum | None, verified: str) -> None:
    st = dest.stat()
    data = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "checksum": list(_check_checksum_spec(checksum)) if checksum else None,
        "verified": verified,
    }
    tmp = _stamp_path(dest).with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, _stamp_path(dest))


# --------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    """What :func:`download_file` did.

    Attributes:
        path: The final file.
        downloaded: False when the file was already complete and verified.
        transferred: Bytes received over the network in this call.
        verified: What was checked: ``md5``, ``sha256``, ``size`` or ``none``.
    """

    path: Path
    downloaded: bool
    transferred: int
    verified: str


class _Retryable(Exception):
    """A failure worth another attempt (dropped connection, 5xx, short body)."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CONTENT_RANGE_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


def new_session() -> requests.Session:
    """Return an HTTP session with this module's User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    return session


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download_file(
    url: str,
    dest: Path | str,
    *,
    expected_size: int | None = None,
    checksum: Checksum | None = None,
    session: requests.Session | None = None,
    progress: bool = True,
    retries: int = 8,
    timeout: float | tuple[float, float] = (15.0, 120.0),
    backoff: float = 2.0,
) -> FetchResult:
    """Download one URL to ``dest``, resumably, and verify it.

    The body goes to ``<dest>.part``. After a dropped connection or a timeout the download
    continues from the partial file's length with an HTTP ``Range`` request; if the server
    ignores ``Range`` (answers 200) or the partial file is larger than ``expected_size``,
    it starts over cleanly. Once complete, the size and checksum are checked; a mismatch
    deletes the partial file and raises. Only then is the file renamed to ``dest``
    (atomically) and a stamp written beside it, so a re-run skips it without hashing again.
    An existing ``dest`` is re-verified (unless its stamp matches) and downloaded again if
    it fails.

    Args:
        url: Where to fetch the file (redirects are followed).
        dest: Final path.
        expected_size: Size in bytes, if known (enforced).
        checksum: ``(algorithm, hex digest)``, if known (enforced).
        session: HTTP session to use (a new one by default).
        progress: Show a tqdm progress bar.
        retries: How many times in a row a failed attempt is retried; an attempt that
            received new bytes starts the count again, so a flaky connection can still
            finish a large file. 0 disables retrying (the partial file is kept either way,
            and a later call resumes it).
        timeout: Connect and read timeouts in seconds for each request.
        backoff: Seconds to wait before the first retry; doubled at each further one.

    Returns:
        What was done.

    Raises:
        RemoteFileNotFound: If the server answers 404 or 410.
        DownloadError: On another HTTP error, or when the retries are exhausted.
        VerificationError: If the size differs from ``expected_size`` (the partial file is
            deleted).
        ChecksumError: If the digest differs (the partial file is deleted).
    """
    dest = Path(dest)
    if checksum is not None:
        _check_checksum_spec(checksum)
    if dest.exists():
        level = _stamp_matches(dest, expected_size, checksum)
        if level is not None:
            log.debug("%s: already downloaded and verified (%s)", dest.name, level)
            return FetchResult(dest, False, 0, level)
        try:
            level = verify_file(
                dest, expected_size=expected_size, checksum=checksum, progress=progress
            )
        except VerificationError as exc:
            log.warning("%s exists but fails verification (%s); downloading it again", dest, exc)
            dest.unlink()
        else:
            _write_stamp(dest, checksum, level)
            return FetchResult(dest, False, 0, level)

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    own_session = session is None
    sess = session if session is not None else new_session()
    try:
        transferred = _fetch(
            sess, url, part, expected_size, progress, retries, timeout, backoff, dest.name
        )
    finally:
        if own_session:
            sess.close()
    try:
        level = verify_file(part, expected_size=expected_size, checksum=checksum, progress=progress)
    except ChecksumError as exc:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            dest,
            exc.algorithm,
            exc.expected,
            exc.actual,
            f"downloaded from {url}; the file was deleted (run again to download it anew)",
        ) from None
    except VerificationError as exc:
        part.unlink(missing_ok=True)
        raise VerificationError(f"{exc} (downloaded from {url}; the file was deleted)") from None
    os.replace(part, dest)
    _write_stamp(dest, checksum, level)
    return FetchResult(dest, True, transferred, level)


def _fetch(
    sess: requests.Session,
    url: str,
    part: Path,
    expected_size: int | None,
    progress: bool,
    retries: int,
    timeout: float | tuple[float, float],
    backoff: float,
    label: str,
) -> int:
    """Fill ``part`` with the body of ``url``, resuming and retrying; return bytes received."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        log.warning(
            "%s: partial file has %d bytes, more than the expected %d; starting over",
            part,
            offset,
            expected_size,
        )
        part.unlink()
        offset = 0
    if expected_size is not None and 0 < offset == expected_size:
        return 0
    failures = 0
    received = [0]
    with tqdm(
        total=expected_size,
        initial=offset,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        disable=not progress,
        leave=False,
    ) as bar:
        while True:
            before = received[0]
            try:
                _attempt(sess, url, part, offset, expected_size, timeout, bar, received)
                return received[0]
            except _Retryable as exc:
                offset = part.stat().st_size if part.exists() else 0
                failures = 1 if received[0] > before else failures + 1
                if failures > retries:
                    raise DownloadError(
                        f"{url}: download failed ({exc}); {offset} bytes are kept in {part} - "
                        "run the command again to resume"
                    ) from None
                wait = backoff * 2 ** min(failures - 1, 6)
                log.warning(
                    "%s: %s; retrying from byte %d in %.0f s (%d/%d)",
                    label,
                    exc,
                    offset,
                    wait,
                    failures,
                    retries,
                )
                if wait > 0:
                    time.sleep(wait)


def _attempt(
    sess: requests.Session,
    url: str,
    part: Path,
    offset: int,
    expected_size: int | None,
    timeout: float | tuple[float, float],
    bar: tqdm,
    received: list[int],
) -> None:
    """Make one request, appending to ``part``; raise :class:`_Retryable` on a transient failure.

    ``received[0]`` counts the bytes received, across attempts.
    """
    headers = {"Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    try:
        with sess.get(url, headers=headers, stream=True, timeout=timeout) as resp:
            status = resp.status_code
            if status in (404, 410):
                raise RemoteFileNotFound(f"{url}: HTTP {status} {resp.reason} (file not found)")
            if status == 416 and offset > 0:
                match = _CONTENT_RANGE_UNSATISFIED.match(resp.headers.get("Content-Range", ""))
                total = int(match.group(1)) if match else expected_size
                if total is not None and total == offset:
                    return
                part.unlink(missing_ok=True)
                bar.reset(total=expected_size)
                raise _Retryable(f"server refused the range from byte {offset}; starting over")
            if status in (408, 429) or status >= 500:
                raise _Retryable(f"HTTP {status} {resp.reason}")
            if status >= 400:
                raise DownloadError(f"{url}: HTTP {status} {resp.reason}")
            encoded = resp.headers.get("Content-Encoding", "identity").lower() not in (
                "",
                "identity",
            )
            if status == 206:
                match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
                if match is None or int(match.group(1)) != offset:
                    part.unlink(missing_ok=True)
                    bar.reset(total=expected_size)
                    raise _Retryable(
                        f"server answered range {resp.headers.get('Content-Range')!r} "
                        f"for bytes={offset}-; starting over"
                    )
                total = None if match.group(3) == "*" else int(match.group(3))
                mode = "ab"
            else:
                if offset > 0:
                    log.info(
                        "%s: the server ignored the Range request; downloading from the start",
                        url,
                    )
                    bar.reset(total=expected_size)
                offset = 0
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() and not encoded else None
                mode = "wb"
            if bar.total is None and total is not None:
                bar.total = total
                bar.refresh()
            if expected_size is not None and total is not None and total != expected_size:
                raise VerificationError(
                    f"{url}: the server reports {total} bytes, expected {expected_size}; "
                    "not downloading a different file"
                )
            with part.open(mode) as fh:
                for chunk in _body_chunks(resp):
                    fh.write(chunk)
                    offset += len(chunk)
                    received[0] += len(chunk)
                    bar.update(len(chunk))
                    if expected_size is not None and offset > expected_size:
                        fh.close()
                        part.unlink(missing_ok=True)
                        raise VerificationError(
                            f"{url}: received more than the expected {expected_size} bytes; "
                            "the partial file was deleted"
                        )
            if total is not None and offset < total:
                raise _Retryable(f"connection closed after {offset} of {total} bytes")
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.ReadTimeoutError,
        urllib3.exceptions.DecodeError,
    ) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None


def _body_chunks(resp: requests.Response) -> Iterator[bytes]:
    """Yield the body as it arrives, including the bytes received before a dropped connection.

    ``requests``' ``iter_content`` buffers up to a whole chunk and loses that buffer when the
    connection breaks; ``urllib3``'s ``read1`` returns whatever has arrived, so a resumed
    download continues exactly where the data stopped.
    """
    raw = resp.raw
    if not hasattr(raw, "read1"):
        yield from (chunk for chunk in resp.iter_content(_CHUNK) if chunk)
        return
    while True:
        chunk = raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            return
        yield chunk


def rebase_url(url: str, base_url: str | None) -> str:
    """Replace the scheme and host of ``url`` by those of ``base_url`` (a mirror or test server).

    A path in ``base_url`` is prefixed to the original path.

    Args:
        url: The official URL.
        base_url: E.g. ``http://127.0.0.1:8000`` or ``https://mirror.example/ds``; None keeps
            ``url``.

    Returns:
        The rebased URL (query kept).
    """
    if not base_url:
        return url
    base = urlsplit(base_url)
    orig = urlsplit(url)
    path = base.path.rstrip("/") + "/" + orig.path.lstrip("/")
    return urlunsplit((base.scheme, base.netloc, path, orig.query, ""))


# --------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------

_ARCHIVE_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".tar.gz", "tar.gz"),
    (".tgz", "tar.gz"),
    (".tar.bz2", "tar.bz2"),
    (".tar.xz", "tar.xz"),
    (".tar.zst", "tar.zst"),
    (".tzst", "tar.zst"),
    (".tar", "tar"),
    (".zip", "zip"),
)


def archive_kind(path: Path | str) -> str:
    """Return the archive format of a file from its name.

    Args:
        path: The archive.

    Returns:
        ``tar``, ``tar.gz``, ``tar.bz2``, ``tar.xz``, ``tar.zst`` or ``zip``.

    Raises:
        ArchiveError: If the name has none of these suffixes.
    """
    name = Path(path).name.lower()
    for suffix, kind in _ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            return kind
    raise ArchiveError(
        f"{Path(path).name}: not a supported archive (.tar[.gz|.bz2|.xz|.zst], .zip)"
    )


def zstd_backend() -> str | None:
    """Return how ``.tar.zst`` archives can be read here: ``zstandard``, ``zstd-cli`` or None."""
    try:
        import zstandard  # noqa: F401
    except ImportError:
        pass
    else:
        return "zstandard"
    if shutil.which("zstd"):
        return "zstd-cli"
    return None


@dataclass(frozen=True)
class ExtractResult:
    """What :func:`extract_archive` did.

    Attributes:
        root: The folder extracted into.
        entries: Top-level names the archive put in ``root``.
        members: Number of members extracted.
        skipped: True when a marker showed the archive was already extracted.
    """

    root: Path
    entries: tuple[str, ...]
    members: int
    skipped: bool


def extraction_marker(archive_name: str, root: Path) -> Path:
    """Return the marker file recording that an archive was fully extracted into ``root``."""
    return Path(root) / f".{archive_name}.extracted.json"


def read_extraction_marker(archive_name: str, root: Path) -> dict[str, Any] | None:
    """Return the contents of an archive's extraction marker, or None if there is none."""
    try:
        data = json.loads(extraction_marker(archive_name, root).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("archive") == archive_name else None


class _CountingReader:
    """File wrapper that reports bytes read to a progress bar."""

    def __init__(self, fh: IO[bytes], bar: tqdm) -> None:
        self._fh = fh
        self._bar = bar

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._bar.update(len(data))
        return data

    def close(self) -> None:
        self._fh.close()


@contextmanager
def _tar_stream(path: Path, kind: str, bar: tqdm) -> Iterator[tarfile.TarFile]:
    """Open a tar archive for sequential reading (no seeking, any size)."""
    if kind != "tar.zst":
        mode = {"tar": "r|", "tar.gz": "r|gz", "tar.bz2": "r|bz2", "tar.xz": "r|xz"}[kind]
        with path.open("rb") as raw:
            reader = _CountingReader(raw, bar)
            with tarfile.open(fileobj=reader, mode=mode) as tar:
                yield tar
        return
    backend = zstd_backend()
    if backend == "zstandard":
        import zstandard

        with path.open("rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(_CountingReader(raw, bar))
            try:
                with tarfile.open(fileobj=reader, mode="r|") as tar:
                    yield tar
            except zstandard.ZstdError as exc:
                raise ArchiveError(
                    f"{path.name}: the zstd stream is corrupt or truncated ({exc})"
                ) from exc
        return
    if backend == "zstd-cli":
        proc = subprocess.Popen(
            ["zstd", "-dcq", "--", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        ok = False
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                yield tar
            while proc.stdout.read(_CHUNK):  # drain the tar padding so zstd exits cleanly
                pass
            ok = True
        finally:
            if not ok:
                proc.kill()
            proc.stdout.close()
            stderr = proc.stderr.read().decode(errors="replace").strip()
            proc.stderr.close()
            code = proc.wait()
        if code != 0:
            raise ArchiveError(f"{path.name}: zstd failed (exit {code}): {stderr}")
        bar.update(path.stat().st_size)
        return
    raise ArchiveError(
        f"{path.name}: cannot read .tar.zst archives: the Python module 'zstandard' is not "
        "installed and no 'zstd' command is on PATH. Install one of them "
        "(pip install zstandard, or apt-get install zstd) and run the command again."
    )


_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)
"""tarfile's own refusals under the ``data`` extraction filter (Python >= 3.11.4)."""


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_name(name: str, archive: str) -> None:
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing it")


def _check_target(name: str, base: Path, archive: str) -> None:
    target = (base / name).resolve()
    if not _within(target, base):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} would be written outside the target folder; refusing it"
        )


def _check_link(name: str, link: str, base: Path, archive: str, *, hard: bool) -> None:
    kind = "hard link" if hard else "symlink"
    if not link or link.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", link):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is a {kind} to the absolute path {link!r}; refusing it"
        )
    anchor = base if hard else base / PurePosixPath(name).parent
    if not _within((anchor / link).resolve(), base):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is a {kind} to {link!r}, outside the target folder; "
            "refusing it"
        )


def _check_tar_member(member: tarfile.TarInfo, base: Path, archive: str) -> None:
    name = member.name
    _check_name(name, archive)
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is a device or FIFO file; refusing it"
        )
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an unsupported type")
    _check_target(name, base, archive)
    if member.issym():
        _check_link(name, member.linkname, base, archive, hard=False)
    elif member.islnk():
        _check_link(name, member.linkname, base, archive, hard=True)


def _extract_tar(path: Path, kind: str, staging: Path, bar: tqdm) -> int:
    count = 0
    extract_filter: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with _tar_stream(path, kind, bar) as tar:
        for member in tar:
            _check_tar_member(member, staging, path.name)
            tar.extract(member, staging, **extract_filter)
            count += 1
    return count


def _extract_zip(path: Path, staging: Path, bar: tqdm) -> int:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_name(info.filename, path.name)
            mode = info.external_attr >> 16
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                raise UnsafeArchiveError(
                    f"{path.name}: member {info.filename!r} is a device or FIFO file; refusing it"
                )
            _check_target(info.filename, staging, path.name)
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", errors="replace")
                _check_link(info.filename, link, staging, path.name, hard=False)
        for info in infos:
            zf.extract(info, staging)
            bar.update(info.compress_size)
    return len(infos)


def _merge_move(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, merging folders and replacing files."""
    if src.is_dir() and not src.is_symlink() and dst.is_dir():
        for child in list(src.iterdir()):
            _merge_move(child, dst / child.name)
        src.rmdir()
        return
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.exists():
        shutil.rmtree(dst)
    os.replace(src, dst)


def extract_archive(
    path: Path | str,
    root: Path | str,
    *,
    progress: bool = False,
    force: bool = False,
) -> ExtractResult:
    """Extract an archive into ``root`` safely, once.

    Every member is checked before it is written: absolute paths, paths that resolve
    outside ``root`` (``..``, or through a symlink), symlinks and hard links pointing
    outside ``root``, and device files or FIFOs make the whole archive refused. The
    archive is extracted into a staging folder inside ``root``; only when it has been
    read to the end without error are its top-level entries moved into ``root`` (merged
    with existing folders) and a marker ``.<archive>.extracted.json`` written. A corrupt
    or truncated archive leaves no file behind and no marker; a re-run with the marker in
    place does nothing.

    Args:
        path: The archive (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``,
            ``.tar.zst``/``.tzst``, ``.zip``).
        root: Folder to extract into (created if needed).
        progress: Show a progress bar (bytes of the archive read).
        force: Extract even if the marker says it was done.

    Returns:
        What was extracted.

    Raises:
        UnsafeArchiveError: If a member is unsafe (nothing is left extracted).
        ArchiveError: If the archive is corrupt, truncated or unsupported, or ``.tar.zst``
            cannot be decoded here (nothing is left extracted).
    """
    path = Path(path)
    root = Path(root)
    kind = archive_kind(path)
    root.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size
    marker = read_extraction_marker(path.name, root)
    if not force and marker is not None and marker.get("size") == size:
        return ExtractResult(
            root, tuple(marker.get("entries", ())), int(marker.get("members", 0)), True
        )
    extraction_marker(path.name, root).unlink(missing_ok=True)
    staging = root / f".{path.name}.extracting"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    staging = staging.resolve()
    try:
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"extract {path.name}",
            disable=not progress,
            leave=False,
        ) as bar:
            if kind == "zip":
                members = _extract_zip(path, staging, bar)
            else:
                members = _extract_tar(path, kind, staging, bar)
        entries = tuple(sorted(p.name for p in staging.iterdir()))
        for entry in entries:
            _merge_move(staging / entry, root / entry)
    except ArchiveError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except _FILTER_ERRORS as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnsafeArchiveError(f"{path.name}: {exc}; refusing the archive") from exc
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        OSError,
        ValueError,
    ) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ArchiveError(
            f"{path.name}: the archive is corrupt or truncated ({type(exc).__name__}: {exc}); "
            f"nothing was extracted. Delete {path} and download it again."
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    record = {"archive": path.name, "size": size, "members": members, "entries": list(entries)}
    tmp = root / f".{path.name}.extracted.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, extraction_marker(path.name, root))
    return ExtractResult(root, entries, members, False)


# --------------------------------------------------------------------------------------
# A whole source
# --------------------------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What happened to one file of a source.

    Attributes:
        key: The file's key.
        name: The file name.
        status: ``downloaded``, ``present`` (already complete), ``extracted-earlier``
            (marker found, archive not needed), ``found-extracted`` (its folders exist
            without a marker, not verified) or ``missing-upstream`` (404 on a file whose
            existence was UNVERIFIED).
        verified: ``md5``, ``sha256``, ``size``, ``none``, or ``marker`` (an earlier run
            verified and extracted it).
        extracted: Whether it was extracted in this run.
    """

    key: str
    name: str
    status: str
    verified: str = "none"
    extracted: bool = False


@dataclass
class DownloadReport:
    """Result of :func:`download_source`.

    Attributes:
        source: The source name.
        root: The folder the files were fetched into.
        files: One outcome per selected file.
        warnings: Degraded conditions (no checksum, unverified files, missing folders).
        params_root: The folder to set as ``sources.<source>.root`` in ``params.yaml``
            (``root`` itself, or the spec's ``params_root`` sub-folder when it exists).
    """

    source: str
    root: Path
    files: list[FileOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    params_root: Path | None = None

    def warn(self, message: str) -> None:
        """Record and log a warning."""
        log.warning("%s", message)
        self.warnings.append(message)

    def summary(self) -> str:
        """Return a human-readable summary, ending with the ``params.yaml`` setting."""
        lines = [f"{self.source}: {len(self.files)} file(s) in {self.root}"]
        for f in self.files:
            extra = ", extracted" if f.extracted else ""
            lines.append(f"  {f.name}: {f.status} (verified: {f.verified}{extra})")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        root = self.params_root if self.params_root is not None else self.root
        lines.append(f"params.yaml: sources.{self.source}: {{enabled: true, root: {root}}}")
        return "\n".join(lines)


def _found_extracted(spec: DownloadSpec, f: RemoteFile, root: Path) -> bool:
    """Whether ``f``'s folders already exist although no marker records extracting it.

    Only folders that no other file of the spec also provides count (two SatlasPretrain
    archives both fill ``sentinel2/``, so that folder says nothing about either).
    """
    if not f.extract or not f.provides:
        return False
    shared = {p for g in spec.files if g is not f for p in g.provides}
    if shared.intersection(f.provides):
        return False
    return all((root / p).exists() for p in f.provides)


def _present_manually(spec: DownloadSpec, f: RemoteFile, root: Path) -> bool:
    if (root / f.name).is_file() or read_extraction_marker(f.name, root) is not None:
        return True
    return _found_extracted(spec, f, root)


def download_source(
    name: str,
    root: Path | str,
    *,
    base_url: str | None = None,
    only: Sequence[str] | None = None,
    extract: bool = True,
    progress: bool = True,
    session: requests.Session | None = None,
) -> DownloadReport:
    """Download, verify and extract a source into the layout its adapter reads.

    Files already complete are not fetched again; archives whose extraction marker exists
    are neither fetched nor extracted again (so the archives may be deleted after a
    successful run). Files without a published checksum are checked by size (or not at
    all), with a warning in the report.

    Args:
        name: Source name (see :data:`SPECS`) or alias.
        root: Target folder; afterwards it (or the spec's ``params_root`` sub-folder, see
            :attr:`DownloadReport.params_root`) is the ``root`` to put in ``params.yaml``.
        base_url: Replace the scheme and host of every URL (a mirror or a test server).
        only: Keys or names of the files to fetch (default: the spec's default files).
        extract: Extract archives after download.
        progress: Show progress bars.
        session: HTTP session to use.

    Returns:
        What was done, with warnings.

    Raises:
        ValueError: Unknown source or file.
        ManualStepRequired: The source must be fetched by hand and some selected files
            are not in ``root`` yet (nothing is downloaded).
        DownloadError: A download failed (see :func:`download_file`).
        VerificationError: A file failed its size or checksum check.
        ArchiveError: An archive could not be extracted.
    """
    spec = get_spec(name)
    files = spec.select(only)
    root = Path(root)
    report = DownloadReport(spec.name, root)

    missing_manual = [f for f in files if f.url is None and not _present_manually(spec, f, root)]
    if missing_manual:
        text = manual_step(spec.name, root) or f"{spec.name}: fetch these files by hand"
        names = "\n".join(f"  - {f.name}" for f in missing_manual)
        raise ManualStepRequired(spec.name, f"{text}\n\nMissing in {root}:\n{names}")

    root.mkdir(parents=True, exist_ok=True)
    own_session = session is None
    sess = session if session is not None else new_session()
    try:
        for f in files:
            report.files.append(
                _fetch_one(spec, f, root, base_url, extract, progress, sess, report)
            )
    finally:
        if own_session:
            sess.close()
    sub = root / spec.params_root if spec.params_root else root
    report.params_root = sub if sub.is_dir() else root
    if spec.params_root and sub != report.params_root:
        report.warn(
            f"{spec.name}: {spec.params_root}/ is not in {root}; set sources.{spec.name}.root "
            f"to the folder that holds {spec.layout}"
        )
    elif spec.params_root:
        siblings = sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir() and p.name != spec.params_root and not p.name.startswith(".")
        )
        if siblings:
            log.info(
                "%s: the adapter reads one folder at a time; the other parts are %s",
                spec.name,
                ", ".join(siblings),
            )
    return report


def _fetch_one(
    spec: DownloadSpec,
    f: RemoteFile,
    root: Path,
    base_url: str | None,
    extract: bool,
    progress: bool,
    sess: requests.Session,
    report: DownloadReport,
) -> FileOutcome:
    dest = root / f.name
    marker = read_extraction_marker(f.name, root) if f.extract else None
    if marker is not None and (f.size is None or marker.get("size") == f.size):
        # Extracted from a verified archive before; the archive itself may have been deleted.
        # A present archive of another size (a newer download) is verified and extracted.
        if not dest.exists() or marker.get("size") == dest.stat().st_size:
            return FileOutcome(f.key, f.name, "extracted-earlier", "marker")
    if marker is None and not dest.exists() and _found_extracted(spec, f, root):
        report.warn(
            f"{spec.name}: {', '.join(f.provides)} already exist in {root} without a record "
            f"of extracting {f.name}; not fetching it (contents not verified)"
        )
        return FileOutcome(f.key, f.name, "found-extracted", "none")

    if f.url is None:
        level = verify_file(dest, expected_size=f.size, checksum=f.checksum, progress=progress)
        outcome = FileOutcome(f.key, f.name, "present", level)
    else:
        url = rebase_url(f.url, base_url)
        try:
            result = download_file(
                url,
                dest,
                expected_size=f.size,
                checksum=f.checksum,
                session=sess,
                progress=progress,
            )
        except RemoteFileNotFound:
            if f.must_exist:
                raise
            report.warn(
                f"{spec.name}: {f.name} is not at {url} (its presence there was UNVERIFIED); "
                "skipped"
            )
            return FileOutcome(f.key, f.name, "missing-upstream", "none")
        outcome = FileOutcome(
            f.key, f.name, "downloaded" if result.downloaded else "present", result.verified
        )
    if f.checksum is None:
        checked = "its size was checked" if f.size is not None else "it could not be verified"
        report.warn(f"{spec.name}: {f.name} has no published checksum (UNVERIFIED); {checked}")
    if f.extract and extract:
        extract_archive(dest, root, progress=progress)
        outcome.extracted = True
        for p in f.provides:
            if not (root / p).exists():
                report.warn(
                    f"{spec.name}: {f.name} did not provide {p}/ (the expected layout is "
                    f"UNVERIFIED or the archive differs); check {root}"
                )
    return outcome


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def describe(spec: DownloadSpec) -> str:
    """Return the facts of a source's files as text (``--list``)."""
    lines = [
        f"{spec.name}: {spec.title}",
        f"  homepage: {spec.homepage}",
        f"  licence:  {spec.licence}",
        f"  layout:   {spec.layout}",
    ]
    if spec.manual:
        lines.append("  MANUAL STEP: registration required (see the message without --list)")
    for f in spec.files:
        if f.size is not None:
            size = f"{f.size} B"
        elif f.approx_size:
            size = f"~{_human(f.approx_size)} (approx.)"
        else:
            size = "size ?"
        check = f"{f.checksum[0]}:{f.checksum[1]}" if f.checksum else "no checksum"
        flags = [] if f.default else ["optional"]
        if not f.must_exist:
            flags.append("may be absent")
        lines.append(
            f"  [{f.key}] {f.name}  {size}  {check}" + (f"  ({', '.join(flags)})" if flags else "")
        )
        lines.append(f"      {f.url or '(manual download)'}")
        if f.note:
            lines.append(f"      {f.note}")
    return "\n".join(lines)


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``download`` subcommand's arguments to a parser.

    Args:
        parser: The (sub)parser.
    """
    parser.add_argument("source", help="source name: " + ", ".join(sorted(SPECS)))
    parser.add_argument(
        "--root", type=Path, help="target folder (then set sources.<source>.root to it)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="FILE",
        help="fetch only these files (key or file name; repeat or separate with commas)",
    )
    parser.add_argument("--no-extract", action="store_true", help="do not extract archives")
    parser.add_argument(
        "--base-url", help="replace the scheme and host of every URL (a mirror or test server)"
    )
    parser.add_argument(
        "--list", action="store_true", help="show the files, sizes, checksums and licence"
    )


def run_download(args: argparse.Namespace, *, progress: bool = True) -> int:
    """Run ``eoinstruct download`` from parsed arguments.

    Args:
        args: Arguments from :func:`add_download_arguments`.
        progress: Show progress bars.

    Returns:
        The exit status: :data:`EXIT_OK`, :data:`EXIT_USAGE`, :data:`EXIT_MANUAL_STEP`,
        :data:`EXIT_VERIFICATION`, :data:`EXIT_DOWNLOAD` or :data:`EXIT_ARCHIVE`.
    """
    prog = "eoinstruct download"
    try:
        spec = get_spec(args.source)
        if args.list:
            print(describe(spec))
            return EXIT_OK
        if args.root is None:
            print(f"{prog}: error: --root is required", file=sys.stderr)
            return EXIT_USAGE
        report = download_source(
            spec.name,
            args.root,
            base_url=args.base_url,
            only=args.only,
            extract=not args.no_extract,
            progress=progress,
        )
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ManualStepRequired as exc:
        print(exc.instructions, file=sys.stderr)
        return EXIT_MANUAL_STEP
    except VerificationError as exc:
        print(f"{prog}: verification failed: {exc}", file=sys.stderr)
        return EXIT_VERIFICATION
    except DownloadError as exc:
        print(f"{prog}: download failed: {exc}", file=sys.stderr)
        return EXIT_DOWNLOAD
    except ArchiveError as exc:
        print(f"{prog}: extraction failed: {exc}", file=sys.stderr)
        return EXIT_ARCHIVE
    except OSError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_DOWNLOAD
    print(report.summary())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m sources.downloads SOURCE --root DIR``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (see :func:`run_download`).
    """
    parser = argparse.ArgumentParser(
        prog="eoinstruct download", description="Download, verify and extract a source dataset."
    )
    add_download_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_download(args, progress=not args.no_progress)


__all__ = [
    "ALIASES",
    "EXIT_ARCHIVE",
    "EXIT_DOWNLOAD",
    "EXIT_MANUAL_STEP",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_VERIFICATION",
    "SPECS",
    "ArchiveError",
    "ChecksumError",
    "DownloadError",
    "DownloadReport",
    "DownloadSpec",
    "ExtractResult",
    "FetchResult",
    "FileOutcome",
    "ManualStepRequired",
    "RemoteFile",
    "RemoteFileNotFound",
    "UnsafeArchiveError",
    "VerificationError",
    "add_download_arguments",
    "archive_kind",
    "download_file",
    "download_source",
    "extract_archive",
    "file_digest",
    "get_spec",
    "manual_step",
    "rebase_url",
    "run_download",
    "verify_file",
    "zstd_backend",
]

if __name__ == "__main__":
    sys.exit(main())
