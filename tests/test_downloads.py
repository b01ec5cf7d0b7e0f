"""Tests of ``sources.download``: resumable download, verification, safe extraction, specs.

Everything runs against a local HTTP server on 127.0.0.1 (``tests/http_fixtures.py``); no
test touches the network. The BigEarthNet archives are built from the sample-corpus writer,
so they hold the real layout, and the adapter reads the downloaded root.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import random
import re
import shutil
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from http_fixtures import FileServer

from eoinstruct.sources import download as dl
from eoinstruct.sources.bigearthnet_v1 import download as ben_download
from eoinstruct.sources.bigearthnet_v1 import sample as ben_corpus
from eoinstruct.sources.bigearthnet_v1.adapter import BigEarthNetV1
from eoinstruct.sources.download import archive as dl_archive
from eoinstruct.sources.download import http as dl_http
from eoinstruct.sources.satlas import download as satlas_download
from eoinstruct.sources.starcop import download as starcop_download
from eoinstruct.sources.xbd import download as xbd_download


@pytest.fixture
def server():
    srv = FileServer().start()
    yield srv
    srv.stop()


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tar_dir(base: Path, top: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        tar.add(base / top, arcname=top)
    return buf.getvalue()


def _tar_members(members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _with_facts(spec: dl.DownloadSpec, facts: dict[str, dict]) -> dl.DownloadSpec:
    files = tuple(
        dataclasses.replace(f, **facts[f.key]) if f.key in facts else f for f in spec.files
    )
    return dataclasses.replace(spec, files=files)


def _path(url: str) -> str:
    return urlsplit(url).path


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


# ---- download_file ----------------------------------------------------------------------


def test_download_verifies_and_renames_atomically(server, tmp_path):
    data = _bytes(50_000)
    url = server.add("/x/file.bin", data)
    dest = tmp_path / "file.bin"
    result = dl.download_file(
        url, dest, expected_size=len(data), checksum=("sha256", _sha256(data)), progress=False
    )
    assert dest.read_bytes() == data
    assert result.downloaded and result.transferred == len(data) and result.verified == "sha256"
    assert not (tmp_path / "file.bin.part").exists()
    # Complete and stamped: a second call makes no request and does not rehash.
    n = len(server.requests)
    again = dl.download_file(url, dest, checksum=("sha256", _sha256(data)), progress=False)
    assert not again.downloaded and again.verified == "sha256"
    assert len(server.requests) == n


def test_dropped_connection_resumes_with_range(server, tmp_path):
    data = _bytes(300_000, seed=1)
    url = server.add("/big.bin", data)
    server.drop_after["/big.bin"] = [120_000]
    dest = tmp_path / "big.bin"
    result = dl.download_file(
        url, dest, checksum=("md5", _md5(data)), progress=False, retries=2, backoff=0
    )
    seen = server.seen("/big.bin")
    assert [s.range for s in seen] == [None, "bytes=120000-"]
    assert [s.status for s in seen] == [200, 206]
    assert seen[1].sent == len(data) - 120_000
    assert dest.read_bytes() == data
    assert result.transferred == len(data)  # nothing fetched twice


def test_interrupted_download_resumes_in_a_later_call(server, tmp_path):
    data = _bytes(200_000, seed=2)
    url = server.add("/b.bin", data)
    server.drop_after["/b.bin"] = [70_000]
    dest = tmp_path / "b.bin"
    with pytest.raises(dl.DownloadError, match="run the command again to resume"):
        dl.download_file(url, dest, expected_size=len(data), progress=False, retries=0)
    part = tmp_path / "b.bin.part"
    assert part.read_bytes() == data[:70_000]
    assert not dest.exists()
    dl.download_file(url, dest, expected_size=len(data), progress=False, retries=0)
    assert server.seen("/b.bin")[-1].range == "bytes=70000-"
    assert dest.read_bytes() == data and not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    data = _bytes(100_000, seed=3)
    url = server.add("/r.bin", data)
    server.ignore_range = True
    dest = tmp_path / "r.bin"
    (tmp_path / "r.bin.part").write_bytes(b"\x00" * 40_000)  # stale, wrong prefix
    dl.download_file(url, dest, checksum=("md5", _md5(data)), progress=False)
    seen = server.seen("/r.bin")
    assert seen[0].range == "bytes=40000-" and seen[0].status == 200
    assert dest.read_bytes() == data


def test_partial_file_larger_than_expected_restarts(server, tmp_path):
    data = _bytes(10_000, seed=4)
    url = server.add("/s.bin", data)
    dest = tmp_path / "s.bin"
    (tmp_path / "s.bin.part").write_bytes(_bytes(20_000, seed=5))
    dl.download_file(url, dest, expected_size=len(data), progress=False)
    assert server.seen("/s.bin")[0].range is None
    assert dest.read_bytes() == data


def test_checksum_mismatch_deletes_and_names_both_digests(server, tmp_path):
    data = _bytes(30_000, seed=6)
    url = server.add("/c.bin", data)
    dest = tmp_path / "c.bin"
    wrong = "0" * 32
    with pytest.raises(dl.ChecksumError) as info:
        dl.download_file(url, dest, checksum=("md5", wrong), progress=False)
    message = str(info.value)
    assert wrong in message and _md5(data) in message and "c.bin" in message
    assert not dest.exists() and not (tmp_path / "c.bin.part").exists()


def test_size_reported_by_server_must_match(server, tmp_path):
    url = server.add("/d.bin", _bytes(1000))
    with pytest.raises(dl.VerificationError, match="expected 999"):
        dl.download_file(url, tmp_path / "d.bin", expected_size=999, progress=False)
    assert not (tmp_path / "d.bin").exists()


def test_corrupt_existing_file_is_downloaded_again(server, tmp_path):
    data = _bytes(5000, seed=7)
    url = server.add("/e.bin", data)
    dest = tmp_path / "e.bin"
    dest.write_bytes(b"garbage")
    result = dl.download_file(url, dest, checksum=("md5", _md5(data)), progress=False)
    assert result.downloaded and dest.read_bytes() == data


def test_http_errors(server, tmp_path):
    with pytest.raises(dl.RemoteFileNotFound):
        dl.download_file(server.url("/nope"), tmp_path / "n", progress=False)
    server.add("/flaky", b"x")
    server.status["/flaky"] = 503
    with pytest.raises(dl.DownloadError, match="HTTP 503"):
        dl.download_file(server.url("/flaky"), tmp_path / "f", progress=False, retries=2, backoff=0)
    assert len(server.seen("/flaky")) == 3


def test_retry_after_is_honoured(server, tmp_path):
    server.add("/busy", b"x")
    server.status["/busy"] = 429
    server.headers["/busy"] = {"Retry-After": "1"}
    start = time.monotonic()
    with pytest.raises(dl.DownloadError, match="HTTP 429"):
        dl.download_file(server.url("/busy"), tmp_path / "b", progress=False, retries=1, backoff=0)
    assert time.monotonic() - start >= 1.0  # the server's wait, not the backoff of 0 s
    assert len(server.seen("/busy")) == 2
    assert dl_http.retry_after_seconds("120") == 120.0
    assert dl_http.retry_after_seconds("99999") == dl_http.RETRY_AFTER_MAX_S
    assert dl_http.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert dl_http.retry_after_seconds(None) is None


# ---- extract_archive ----------------------------------------------------------------------


def test_extract_tar_once_with_marker(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(
        _tar_members([_file("top/x.txt", b"x"), _file("top/sub/y.txt", b"y")], mode="w:gz")
    )
    root = tmp_path / "root"
    result = dl.extract_archive(archive, root)
    assert result.entries == ("top",) and result.members == 2 and not result.skipped
    assert (root / "top/sub/y.txt").read_bytes() == b"y"
    (root / "top/x.txt").write_bytes(b"edited")
    again = dl.extract_archive(archive, root)
    assert again.skipped and (root / "top/x.txt").read_bytes() == b"edited"
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == [
        ".a.tar.gz.extracted.json"
    ]


def test_truncated_tar_leaves_nothing(tmp_path):
    big = _bytes(200_000, seed=8)
    data = _tar_members([_file("top/a.bin", big), _file("top/b.bin", big)], mode="w:gz")
    archive = tmp_path / "t.tar.gz"
    archive.write_bytes(data[: len(data) * 3 // 4])
    root = tmp_path / "root"
    with pytest.raises(dl.ArchiveError, match="corrupt or truncated"):
        dl.extract_archive(archive, root)
    assert list(root.iterdir()) == []  # no partial files, no staging folder, no marker


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (_file("../evil.txt", b"x"), "outside the target folder"),
        (_file("ok/../../evil.txt", b"x"), "outside the target folder"),
        (_file("/tmp/evil-abs.txt", b"x"), "absolute path"),
        (_link("etc", "/etc", tarfile.SYMTYPE), "absolute path"),
        (_link("up", "../../..", tarfile.SYMTYPE), "outside the target folder"),
        (_link("hard", "../outside.txt", tarfile.LNKTYPE), "outside the target folder"),
        (_link("dev", "", tarfile.CHRTYPE), "device or FIFO"),
        (_link("fifo", "", tarfile.FIFOTYPE), "device or FIFO"),
    ],
)
def test_unsafe_tar_members_are_refused(tmp_path, member, why):
    archive = tmp_path / "evil.tar"
    archive.write_bytes(_tar_members([_file("good/first.txt", b"ok"), member]))
    root = tmp_path / "deep" / "root"
    with pytest.raises(dl.UnsafeArchiveError, match=why):
        dl.extract_archive(archive, root)
    assert list(root.iterdir()) == []
    assert not (tmp_path / "deep" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_symlink_chains_are_resolved_on_disk(tmp_path):
    members = [
        _file("x/keep.txt", b"k"),
        _link("x/b", "..", tarfile.SYMTYPE),  # -> the root itself: allowed
        _link("inner", "x/keep.txt", tarfile.SYMTYPE),  # inside: allowed
        # Lexically "x/b/.." is "x", but x/b is a link to the root, so this is its parent.
        _link("a", "x/b/..", tarfile.SYMTYPE),
    ]
    archive = tmp_path / "s.tar"
    archive.write_bytes(_tar_members(members))
    root = tmp_path / "root"
    with pytest.raises(dl.UnsafeArchiveError, match="'a'"):
        dl.extract_archive(archive, root)
    assert list(root.iterdir()) == []
    ok = tmp_path / "ok.tar"
    ok.write_bytes(_tar_members(members[:3]))
    dl.extract_archive(ok, root)
    assert (root / "inner").is_symlink() and (root / "inner").read_bytes() == b"k"


def test_zip_extraction_and_traversal(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("images2/a.jpg", b"jpg")
    root = tmp_path / "root"
    assert dl.extract_archive(good, root).entries == ("images2",)
    assert (root / "images2/a.jpg").read_bytes() == b"jpg"

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("fine.txt", b"f")
        zf.writestr("../escaped.txt", b"x")
    with pytest.raises(dl.UnsafeArchiveError, match="outside the target folder"):
        dl.extract_archive(evil, root)
    assert not (tmp_path / "escaped.txt").exists() and not (root / "fine.txt").exists()

    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("etc-link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc")
    with pytest.raises(dl.UnsafeArchiveError, match="symlink"):
        dl.extract_archive(link, root)

    broken = tmp_path / "broken.zip"
    broken.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(dl.ArchiveError):
        dl.extract_archive(broken, tmp_path / "root2")


def _zst_compress(data: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        return subprocess.run(
            ["zstd", "-q", "-c"], input=data, capture_output=True, check=True
        ).stdout
    return zstandard.ZstdCompressor().compress(data)


def test_tar_zst_without_a_decoder_says_what_to_install(tmp_path, monkeypatch):
    archive = tmp_path / "BigEarthNet-S1.tar.zst"
    archive.write_bytes(b"(\xb5/\xfd not really zstd")
    monkeypatch.setattr(dl_archive, "zstd_backend", lambda: None)
    with pytest.raises(dl.ArchiveError, match="pip install zstandard") as info:
        dl.extract_archive(archive, tmp_path / "root")
    assert "'zstandard' is not installed" in str(info.value)
    assert list((tmp_path / "root").iterdir()) == []


@pytest.mark.parametrize("backend", ["zstandard", "zstd-cli"])
def test_tar_zst_extraction(tmp_path, monkeypatch, backend):
    if backend == "zstandard":
        pytest.importorskip("zstandard")
    elif shutil.which("zstd") is None:
        pytest.skip("no zstd command on PATH")
    monkeypatch.setattr(dl_archive, "zstd_backend", lambda: backend)
    tar = _tar_members([_file("BigEarthNet-S2/T/P/P_B02.tif", b"tif" * 1000)])
    compressed = _zst_compress(tar)
    archive = tmp_path / "BigEarthNet-S2.tar.zst"
    archive.write_bytes(compressed)
    root = tmp_path / "root"
    dl.extract_archive(archive, root)
    assert (root / "BigEarthNet-S2/T/P/P_B02.tif").read_bytes() == b"tif" * 1000

    truncated = tmp_path / "cut.tar.zst"
    truncated.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(dl.ArchiveError):
        dl.extract_archive(truncated, tmp_path / "root2")
    assert list((tmp_path / "root2").iterdir()) == []


def test_unsupported_archive_name(tmp_path):
    with pytest.raises(dl.ArchiveError, match="not a supported archive"):
        dl.archive_kind(tmp_path / "x.rar")


# ---- download_source ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ben_source(tmp_path_factory):
    """The sample corpus in the real v1 layout, and archives built from it."""
    src = tmp_path_factory.mktemp("ben_src")
    ben_corpus.write(src, 5)
    served = {
        "s2": _tar_dir(src, "BigEarthNet-v1.0"),
        "s1": _tar_dir(src, "BigEarthNet-S1-v1.0"),
        **{
            f"split-{s}": (src / f"bigearthnet-{s}.csv").read_bytes()
            for s in ("train", "val", "test")
        },
    }
    return src, served


def _serve_ben(server, monkeypatch, served):
    facts = {key: {"checksum": ("md5", _md5(data))} for key, data in served.items()}
    facts["s1"] = {"checksum": ("sha256", _sha256(served["s1"])), "size": len(served["s1"])}
    spec = _with_facts(dl.get_spec("bigearthnet_v1"), facts)
    monkeypatch.setattr(ben_download, "SPEC", spec)
    for f in spec.files:
        server.add(_path(f.url), served[f.key])
    return spec


def test_bigearthnet_v1_download_extract_and_adapter_reads_it(
    server, tmp_path, monkeypatch, ben_source
):
    src, served = ben_source
    _serve_ben(server, monkeypatch, served)
    root = tmp_path / "ben"
    report = dl.download_source("bigearthnet_v1", root, base_url=server.base_url, progress=False)

    assert {f.key: (f.status, f.verified, f.extracted) for f in report.files} == {
        "s2": ("downloaded", "md5", True),
        "s1": ("downloaded", "sha256", True),
        "split-train": ("downloaded", "md5", False),
        "split-val": ("downloaded", "md5", False),
        "split-test": ("downloaded", "md5", False),
    }
    assert report.warnings == []
    assert f"root: {root}" in report.summary()
    # The extracted tree is the corpus, byte for byte, and the adapter reads it.
    expected = _tree(src)
    got = {k: v for k, v in _tree(root).items() if not k.endswith(".tar.gz")}
    assert got == expected
    assert BigEarthNetV1(root).list_units() == BigEarthNetV1(src).list_units()
    assert not list(root.glob("*.part")) and not list(root.glob(".*.extracting"))
    # Re-run: nothing is fetched; delete the archives and it still does nothing.
    n = len(server.requests)
    again = dl.download_source("bigearthnet_v1", root, base_url=server.base_url, progress=False)
    assert {f.status for f in again.files} == {"extracted-earlier", "present"}
    for name in ("BigEarthNet-S2-v1.0.tar.gz", "BigEarthNet-S1-v1.0.tar.gz"):
        (root / name).unlink()
    third = dl.download_source("bigearthnet_v1", root, base_url=server.base_url, progress=False)
    assert [f.status for f in third.files][:2] == ["extracted-earlier"] * 2
    assert len(server.requests) == n


def test_only_selects_files(server, tmp_path, monkeypatch, ben_source):
    _, served = ben_source
    spec = _serve_ben(server, monkeypatch, served)
    root = tmp_path / "ben"
    report = dl.download_source(
        "bigearthnet_v1",
        root,
        base_url=server.base_url,
        only=["s1,bigearthnet-val.csv"],
        extract=False,
        progress=False,
    )
    assert [f.name for f in report.files] == ["BigEarthNet-S1-v1.0.tar.gz", "bigearthnet-val.csv"]
    assert {r.path for r in server.requests} == {
        _path(f.url) for f in spec.files if f.key in ("s1", "split-val")
    }
    assert not (root / "BigEarthNet-S1-v1.0").exists()  # --no-extract
    with pytest.raises(ValueError, match="unknown file"):
        dl.download_source("bigearthnet_v1", root, only=["s3"], progress=False)
    # Optional parts are not fetched unless asked for.
    satlas = dl.get_spec("satlas")
    assert not any(f.key.startswith("naip") for f in satlas.select())
    assert [f.key for f in satlas.select(["naip-2015"])] == ["naip-2015"]


def test_corrupt_archive_from_server_fails_cleanly(server, tmp_path, monkeypatch, ben_source):
    _, served = ben_source
    spec = _serve_ben(server, monkeypatch, served)
    s2 = next(f for f in spec.files if f.key == "s2")
    truncated = served["s2"][: len(served["s2"]) // 2]
    # Truncated on the server but matching the (test) checksum: extraction must fail.
    monkeypatch.setattr(
        ben_download,
        "SPEC",
        _with_facts(spec, {"s2": {"checksum": ("md5", _md5(truncated))}}),
    )
    server.add(_path(s2.url), truncated)
    root = tmp_path / "ben"
    with pytest.raises(dl.ArchiveError, match=re.escape("BigEarthNet-S2-v1.0.tar.gz")):
        dl.download_source(
            "bigearthnet_v1", root, base_url=server.base_url, only=["s2"], progress=False
        )
    assert not (root / "BigEarthNet-v1.0").exists()
    assert dl.read_extraction_marker("BigEarthNet-S2-v1.0.tar.gz", root) is None
    # With the real checksum the same bytes are rejected before extraction.
    monkeypatch.setattr(ben_download, "SPEC", spec)
    (root / "BigEarthNet-S2-v1.0.tar.gz").unlink()
    with pytest.raises(dl.ChecksumError):
        dl.download_source(
            "bigearthnet_v1", root, base_url=server.base_url, only=["s2"], progress=False
        )
    assert not (root / "BigEarthNet-S2-v1.0.tar.gz").exists()


def test_unverified_file_missing_upstream_is_a_warning(server, tmp_path):
    report = dl.download_source(
        "starcop", tmp_path, base_url=server.base_url, only=["train-csv"], progress=False
    )
    assert report.files[0].status == "missing-upstream"
    assert any("UNVERIFIED" in w for w in report.warnings)
    with pytest.raises(dl.RemoteFileNotFound):
        dl.download_source(
            "bigearthnet_v2", tmp_path, base_url=server.base_url, only=["metadata"], progress=False
        )


def test_file_without_checksum_is_reported(server, tmp_path):
    url = dl.get_spec("starcop").select(["test-csv"])[0].url
    server.add(_path(url), b"id,has_plume\n")
    report = dl.download_source(
        "starcop", tmp_path, base_url=server.base_url, only=["test-csv"], progress=False
    )
    assert report.files[0].verified == "none"
    assert any("no published checksum" in w for w in report.warnings)


def test_archives_sharing_a_folder_are_both_extracted(server, tmp_path, monkeypatch):
    parts = {
        "sentinel2-a": _tar_members([_file("sentinel2/S2A_X/tci/1_2.png", b"a")]),
        "sentinel2-b": _tar_members([_file("sentinel2/S2B_Y/tci/1_2.png", b"b")]),
    }
    spec = _with_facts(
        dl.get_spec("satlas"), {k: {"checksum": ("md5", _md5(v))} for k, v in parts.items()}
    )
    monkeypatch.setattr(satlas_download, "SPEC", spec)
    for f in spec.select(list(parts)):
        server.add(_path(f.url), parts[f.key])
    report = dl.download_source(
        "satlaspretrain", tmp_path, base_url=server.base_url, only=list(parts), progress=False
    )
    assert [f.status for f in report.files] == ["downloaded", "downloaded"]
    assert sorted(p.name for p in (tmp_path / "sentinel2").iterdir()) == ["S2A_X", "S2B_Y"]


def test_starcop_root_is_the_extracted_part(server, tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "STARCOP_test/test.csv", "id,has_plume\nang20191018t144405_r1_c1_w512_h512,True\n"
        )
        zf.writestr("STARCOP_test/ang20191018t144405_r1_c1_w512_h512/labelbinary.tif", b"II*")
    data = buf.getvalue()
    spec = _with_facts(dl.get_spec("starcop"), {"test": {"checksum": ("md5", _md5(data))}})
    monkeypatch.setattr(starcop_download, "SPEC", spec)
    server.add(_path(spec.select(["test"])[0].url), data)
    report = dl.download_source(
        "starcop", tmp_path, base_url=server.base_url, only=["test"], progress=False
    )
    assert report.params_root == tmp_path / "STARCOP_test"
    assert f"root: {tmp_path / 'STARCOP_test'}}}" in report.summary()
    assert (report.params_root / "test.csv").is_file()


def test_xbd_is_a_manual_step(server, tmp_path, monkeypatch):
    text = dl.manual_step("xbd")
    assert text is not None
    for needle in (
        "https://xview2.org",
        "train_images_labels_targets.tar.gz",
        "test_images_labels_targets.tar.gz",
        "a20ebbfb7eb3452785b63ad02ffd1e16",
        "train/{images,labels,targets}",
    ):
        assert needle in text
    assert dl.manual_step("quakeset") is None

    root = tmp_path / "xbd"
    with pytest.raises(dl.ManualStepRequired) as info:
        dl.download_source("xbd", root, base_url=server.base_url, progress=False)
    assert str(root) in info.value.instructions and "Missing in" in info.value.instructions
    assert server.requests == [] and not root.exists()

    # Once the archives are in place, the same call verifies and extracts them.
    archives = {
        "train": _tar_members(
            [
                _file("train/images/a_00000001_pre_disaster.png", b"p"),
                _file("train/labels/a_00000001_pre_disaster.json", b"{}"),
            ],
            "w:gz",
        ),
        "test": _tar_members(
            [
                _file("test/images/b_00000002_pre_disaster.png", b"p"),
                _file("test/labels/b_00000002_pre_disaster.json", b"{}"),
            ],
            "w:gz",
        ),
    }
    spec = _with_facts(
        dl.get_spec("xbd"), {k: {"checksum": ("md5", _md5(v))} for k, v in archives.items()}
    )
    monkeypatch.setattr(xbd_download, "SPEC", spec)
    root.mkdir()
    for f in spec.select():
        (root / f.name).write_bytes(archives[f.key])
    report = dl.download_source("xbd", root, progress=False)
    assert [(f.status, f.verified, f.extracted) for f in report.files] == [
        ("present", "md5", True)
    ] * 2
    assert (root / "test/labels/b_00000002_pre_disaster.json").exists()
    assert server.requests == []


def test_cli_exit_codes(server, tmp_path, capsys, monkeypatch, ben_source):
    parser = argparse.ArgumentParser()
    dl.add_download_arguments(parser)

    def run(*argv: str) -> int:
        return dl.run_download(parser.parse_args(list(argv)), progress=False)

    assert run("xbd", "--root", str(tmp_path / "x")) == dl.EXIT_MANUAL_STEP
    assert "xview2.org" in capsys.readouterr().err
    assert run("nosuch", "--root", str(tmp_path)) == dl.EXIT_USAGE
    assert run("quakeset", "--list") == dl.EXIT_OK
    assert QUAKE_REV_RE.search(capsys.readouterr().out)
    _, served = ben_source
    _serve_ben(server, monkeypatch, served)
    code = run(
        "bigearthnet_v1",
        "--root",
        str(tmp_path / "b"),
        "--base-url",
        server.base_url,
        "--only",
        "split-test",
    )
    assert code == dl.EXIT_OK and "params.yaml" in capsys.readouterr().out
    server.files[_path(dl.get_spec("bigearthnet_v1").select(["split-val"])[0].url)] = b"changed"
    assert (
        run(
            "bigearthnet_v1",
            "--root",
            str(tmp_path / "b"),
            "--base-url",
            server.base_url,
            "--only",
            "split-val",
        )
        == dl.EXIT_VERIFICATION
    )
    assert (
        run(
            "bigearthnet_v2",
            "--root",
            str(tmp_path / "c"),
            "--base-url",
            server.base_url,
            "--only",
            "metadata",
        )
        == dl.EXIT_DOWNLOAD
    )


QUAKE_REV_RE = re.compile(r"/resolve/[0-9a-f]{40}/earthquakes\.h5")


# ---- the facts ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(dl.download_specs()))
def test_spec_facts_are_well_formed(name):
    spec = dl.get_spec(name)
    assert spec.name == name and spec.licence and spec.layout and spec.files
    keys = [f.key for f in spec.files]
    names = [f.name for f in spec.files]
    assert len(set(keys)) == len(keys) and len(set(names)) == len(names)
    for f in spec.files:
        assert "/" not in f.name and f.note
        if f.checksum is not None:
            algo, digest = f.checksum
            assert re.fullmatch({"md5": "[0-9a-f]{32}", "sha256": "[0-9a-f]{64}"}[algo], digest)
        if f.url is not None:
            assert f.url.startswith("https://")
            if "huggingface.co" in f.url:
                assert re.search(r"/resolve/[0-9a-f]{40}/", f.url), "HF files must be pinned"
        else:
            assert spec.manual is not None
        if f.extract:
            dl.archive_kind(f.name)
    assert spec.select(), "a source must fetch something by default"


def test_known_facts():
    ben = dl.get_spec("bigearthnet_v1")
    assert ben.select(["s2"])[0].checksum == ("md5", "5a64e9ce38deb036a435a7b59494924c")
    assert "zenodo.org/records/12687186/" in ben.select(["s1"])[0].url
    quake = dl.get_spec("quakeset").select(["earthquakes"])[0]
    assert quake.size == 9_666_460_547 and quake.checksum[0] == "sha256"
    assert dl.get_spec("reben") is dl.download_specs()["bigearthnet_v2"]
    with pytest.raises(ValueError, match="known sources"):
        dl.get_spec("bogus")


def test_rebase_url():
    assert (
        dl.rebase_url("https://zenodo.org/records/1/files/a.tar?download=1", "http://127.0.0.1:9/m")
        == "http://127.0.0.1:9/m/records/1/files/a.tar?download=1"
    )
    assert dl.rebase_url("https://h/x", None) == "https://h/x"


def test_zstandard_availability_is_known():
    assert dl.zstd_backend() in ("zstandard", "zstd-cli", None)
