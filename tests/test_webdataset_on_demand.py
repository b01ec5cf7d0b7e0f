"""WebDataset tars on demand: ``shard.webdataset`` and ``eoinstruct webdataset``.

The build stores each image once (Parquet); the tars the command streams from the Parquet
shards must be the very bytes the shard stage writes with ``shard.webdataset: true``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from eoinstruct.cli import main
from eoinstruct.pipeline.corpus.manifest import read_manifest, verify_manifest
from eoinstruct.pipeline.corpus.webdataset import write_webdataset
from eoinstruct.pipeline.io.webdataset import TarShardWriter


@pytest.fixture(scope="module")
def with_tars(sample_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shard stage re-run on the sample build's upstream outputs with tars on."""
    root = tmp_path_factory.mktemp("shard-with-tars")
    shutil.copytree(sample_build / "work", root / "work", ignore=shutil.ignore_patterns("shard"))
    params = yaml.safe_load((sample_build / "params.yaml").read_text())
    params["paths"]["work"] = str(root / "work")
    params["paths"]["corpus"] = str(root / "corpus")
    params["paths"]["metrics"] = str(root / "metrics")
    params["shard"]["webdataset"] = True
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["--params", str(path), "--no-progress", "shard"]) == 0
    return root / "corpus"


def _tars(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tar"))}


def test_on_demand_tars_are_byte_identical_to_the_shard_stage_tars(
    with_tars: Path, sample_tars: Path, sample_build: Path
) -> None:
    written = _tars(with_tars / "wds")
    produced = _tars(sample_tars)
    parquet = sorted(p.stem for p in (sample_build / "corpus" / "data").glob("*.parquet"))
    assert sorted(Path(n).stem for n in written) == parquet  # one tar per Parquet shard
    assert written.keys() == produced.keys()
    assert [n for n in written if written[n] != produced[n]] == []
    assert not list(sample_tars.glob(".*.partial"))


def test_command_lists_the_tars_in_the_manifest_as_the_option_does(
    with_tars: Path, sample_build: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(sample_build / "corpus", corpus)
    before = read_manifest(corpus)["files"]
    assert not any(rel.startswith("wds/") for rel in before)
    params = sample_build / "params.yaml"
    assert main(["--params", str(params), "--no-progress", "webdataset", str(corpus)]) == 0
    after = read_manifest(corpus)["files"]
    option = read_manifest(with_tars)["files"]
    shards = {rel: e for rel, e in after.items() if rel.split("/")[0] in ("data", "pairs", "wds")}
    assert shards == {rel: e for rel, e in option.items() if rel != "README.md"}
    assert verify_manifest(corpus, check_rows=True).ok


def test_command_is_atomic_per_tar_and_resumes(
    sample_build: Path, sample_tars: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "wds"
    calls = {"n": 0}
    real = TarShardWriter.write

    def failing(self: TarShardWriter, key: str, members: dict[str, bytes]) -> None:
        calls["n"] += 1
        if calls["n"] == 40:
            raise OSError("disk gone")
        real(self, key, members)

    monkeypatch.setattr(TarShardWriter, "write", failing)
    with pytest.raises(OSError, match="disk gone"):
        write_webdataset(sample_build / "corpus", out, progress=False, echo=lambda _: None)
    done = _tars(out)
    assert 0 < len(done) < len(_tars(sample_tars))  # complete tars only, no partial file
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    assert all(done[n] == sample_tars.joinpath(n).read_bytes() for n in done)
    monkeypatch.setattr(TarShardWriter, "write", real)
    counts = write_webdataset(sample_build / "corpus", out, progress=False, echo=lambda _: None)
    assert counts["kept"] == len(done) and counts["written"] == len(_tars(sample_tars)) - len(done)
    assert _tars(out) == _tars(sample_tars)
    again = write_webdataset(sample_build / "corpus", out, progress=False, echo=lambda _: None)
    assert again["written"] == 0 and again["kept"] == len(done) + counts["written"]


def test_card_and_report_say_whether_tars_are_stored(with_tars: Path, sample_build: Path) -> None:
    card = (sample_build / "corpus" / "README.md").read_text(encoding="utf-8")
    assert "not stored by the build" in card and "`eoinstruct webdataset`" in card
    assert "no tars stored" in card
    option = (with_tars / "README.md").read_text(encoding="utf-8")
    assert "- `wds/*.tar`: the same samples as WebDataset shards" in option
    assert "not stored by the build" not in option
    report = (sample_build / "metrics" / "report.html").read_text(encoding="utf-8")
    assert "no WebDataset tars stored" in report and "image bytes in tars" not in report
