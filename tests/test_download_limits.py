"""Downloads and extractions are bounded: attempts that never reset, a byte cap, a deadline,
a learned size checked on resume, fast DNS failures; archive bytes, ratio and members, disk
full said as such, and markers that an archive cannot forge."""

from __future__ import annotations

import errno
import io
import random
import tarfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from http_fixtures import FileServer

from eoinstruct.sources.download import archive as dl_archive
from eoinstruct.sources.download import http as dl_http
from eoinstruct.sources.download.limits import (
    ArchiveLimitError,
    DownloadBudget,
    DownloadLimitError,
    ExtractLimits,
    is_dns_failure,
    learned_size_path,
)
from eoinstruct.sources.download.spec import DownloadError, UnsafeArchiveError


@pytest.fixture
def server():
    srv = FileServer().start()
    yield srv
    srv.stop()


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _fetch(url: str, dest: Path, **kwargs: object) -> dl_http.FetchResult:
    kwargs.setdefault("backoff", 0.01)
    return dl_http.download_file(url, dest, progress=False, **kwargs)  # type: ignore[arg-type]


def test_restarts_that_throw_bytes_away_do_not_reset_the_retries(server, tmp_path):
    # every answer ignores Range (a restart from byte 0) and drops after 10 kB: bytes arrive
    # on every attempt, but the partial file never grows past its largest size
    server.ignore_range = True
    url = server.add("/f.bin", _bytes(100_000))
    server.drop_after["/f.bin"] = [10_000] * 1000
    with pytest.raises(DownloadError, match="download failed"):
        _fetch(url, tmp_path / "f.bin", retries=2)
    assert len(server.seen("/f.bin")) == 3


def test_attempts_are_bounded_even_when_each_one_makes_progress(server, tmp_path):
    url = server.add("/f.bin", _bytes(1_000_000))
    server.drop_after["/f.bin"] = [20_000] * 1000
    budget = DownloadBudget.for_size(1_000_000, max_attempts=5)
    with pytest.raises(DownloadLimitError, match="5 attempts"):
        _fetch(url, tmp_path / "f.bin", retries=8, budget=budget)
    assert len(server.seen("/f.bin")) == 5
    assert (tmp_path / "f.bin.part").stat().st_size == 100_000  # kept for a later run


def test_byte_cap_and_deadline_stop_a_download(server, tmp_path):
    url = server.add("/f.bin", _bytes(3_000_000))
    with pytest.raises(DownloadLimitError, match="over the cap of 1000000"):
        _fetch(url, tmp_path / "f.bin", budget=DownloadBudget(max_bytes=1_000_000))
    assert (tmp_path / "f.bin.part").stat().st_size <= 1_000_000 + dl_http.CHUNK
    with pytest.raises(DownloadLimitError, match="deadline"):
        _fetch(url, tmp_path / "g.bin", budget=DownloadBudget(deadline_s=0.0))
    # the cap follows the spec's size: three times it, plus a margin
    assert DownloadBudget.for_size(10).max_bytes == 30 + (64 << 20)


def test_size_is_learned_from_the_first_response_and_checked_on_resume(server, tmp_path):
    url = server.add("/f.bin", _bytes(100_000))
    server.drop_after["/f.bin"] = [30_000]
    with pytest.raises(DownloadError):
        _fetch(url, tmp_path / "f.bin", retries=0)
    part = tmp_path / "f.bin.part"
    assert learned_size_path(part).read_text().strip() == "100000"
    # the file changed upstream: a resume that reports another size starts over
    server.files["/f.bin"] = _bytes(120_000, seed=1)
    result = _fetch(url, tmp_path / "f.bin", retries=2)
    assert (tmp_path / "f.bin").read_bytes() == _bytes(120_000, seed=1)
    assert result.verified == "none" and not learned_size_path(part).exists()


def test_a_host_that_does_not_resolve_fails_at_once(tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match="cannot resolve"):
        dl_http.download_file(
            "http://no-such-host.invalid/f.bin", tmp_path / "f.bin", progress=False, retries=8
        )
    assert time.monotonic() - start < 30  # 8 retries with backoff 2 s would take ~4 min


def test_dns_failures_are_recognised_through_the_exception_chain() -> None:
    inner = OSError("[Errno -2] Name or service not known")
    outer = ConnectionError("Max retries exceeded")
    outer.__cause__ = inner
    assert is_dns_failure(outer)
    assert not is_dns_failure(ConnectionError("Connection refused"))


# ------------------------------------------------------------------ extraction


def _tar_gz(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(("name", "pack"), [("bomb.tar.gz", _tar_gz), ("bomb.zip", _zip)])
def test_decompression_bombs_are_refused_and_leave_nothing(tmp_path, name, pack):
    archive = tmp_path / name
    archive.write_bytes(pack({"a/zeros.bin": bytes(8_000_000)}))
    assert archive.stat().st_size < 40_000
    root = tmp_path / "root"
    with pytest.raises(ArchiveLimitError, match="decompression bomb"):
        dl_archive.extract_archive(archive, root)
    assert list(root.iterdir()) == []
    # an explicit byte limit and a member limit
    small = tmp_path / ("small" + name.removeprefix("bomb"))
    small.write_bytes(pack({f"f{i}.bin": _bytes(1000, i) for i in range(5)}))
    with pytest.raises(ArchiveLimitError, match="members"):
        dl_archive.extract_archive(small, root, limits=ExtractLimits(max_members=3))
    with pytest.raises(ArchiveLimitError, match="more than 2000 bytes"):
        dl_archive.extract_archive(small, root, limits=ExtractLimits(max_bytes=2000))
    assert dl_archive.extract_archive(small, root).members == 5


@pytest.mark.parametrize(
    "forged", [".other.tar.gz.extracted.json", "sub/.x.zip.extracted.json", ".f.verified.json"]
)
def test_an_archive_cannot_ship_a_marker(tmp_path, forged):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar_gz({forged: b'{"size": 1}', "ok.txt": b"x"}))
    with pytest.raises(UnsafeArchiveError, match="record"):
        dl_archive.extract_archive(archive, tmp_path / "root")
    assert not list((tmp_path / "root").rglob("*.json"))


def test_disk_full_is_reported_as_disk_full(tmp_path, monkeypatch):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({"a.txt": b"hello"}))

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extract", full)
    with pytest.raises(OSError, match="disk full") as caught:
        dl_archive.extract_archive(archive, tmp_path / "root")
    assert caught.value.errno == errno.ENOSPC and "not at fault" in str(caught.value)
    assert list((tmp_path / "root").iterdir()) == []


def test_the_spec_sets_an_archives_limits(server, tmp_path, monkeypatch):
    import dataclasses
    import hashlib

    from eoinstruct.sources import download as dl
    from eoinstruct.sources.satlas import download as satlas_download

    data = _tar_gz({f"sentinel2/S2A_X/tci/{i}_2.png": b"a" for i in range(4)}, mode="w")
    spec = dl.get_spec("satlas")
    files = tuple(
        dataclasses.replace(
            f, checksum=("md5", hashlib.md5(data).hexdigest()), size=None, max_members=2
        )
        if f.key == "sentinel2-a"
        else f
        for f in spec.files
    )
    monkeypatch.setattr(satlas_download, "SPEC", dataclasses.replace(spec, files=files))
    url = next(f.url for f in files if f.key == "sentinel2-a")
    server.add(urlsplit(url).path, data)
    with pytest.raises(ArchiveLimitError, match="more than 2 members"):
        dl.download_source(
            "satlas", tmp_path, base_url=server.base_url, only=["sentinel2-a"], progress=False
        )
    assert not (tmp_path / "sentinel2").exists()
