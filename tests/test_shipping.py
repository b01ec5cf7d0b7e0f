"""Shipping the corpus: configurations, tars with rasters, manifest, EarthDial export,
publish (up to the Hub client), the browsing notebook and the build report.

The corpus is built once per module from the embedded sample corpus.

Not run here (no Hub is reachable from the test machines): the real HTTP upload by
huggingface_hub's ``upload_folder``/``upload_large_folder`` and the real ``list_repo_tree``
call. Everything around them runs: the upload is a stand-in client that copies the folder to
a local "remote" and lists it as the Hub would (``RepoFile`` objects with git blob ids and
LFS SHA-256), and the verification runs on that listing.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from build_helpers import make_params

from eoinstruct.cli import main
from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.corpus.card import COMMERCIAL_SAFE
from eoinstruct.pipeline.corpus.earthdial import (
    IMAGE_TOKEN,
    ExportError,
    check_conversation,
    export_earthdial,
    place_image_tokens,
    split_leading_tags,
)
from eoinstruct.pipeline.corpus.html_report import draw_boxes, parse_boxes, raster_views
from eoinstruct.pipeline.corpus.hub import HUB_TASK_CATEGORIES, size_category, source_dataset
from eoinstruct.pipeline.corpus.layout import (
    config_patterns,
    corpus_features,
    pair_features,
    parse_stem,
    shard_stem,
)
from eoinstruct.pipeline.corpus.licences import HUB_LICENCE_IDS, commercial_use
from eoinstruct.pipeline.corpus.manifest import MANIFEST_NAME, read_manifest, verify_manifest
from eoinstruct.pipeline.corpus.publish import (
    PublishError,
    hub_listing,
    local_listing,
    publish,
    verify_remote,
)
from eoinstruct.pipeline.stages import build_report as build_report_stage
from eoinstruct.sources.registry import facts

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hf_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("hf")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HOME", str(home))
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        yield


@pytest.fixture(scope="module")
def built(sample_build: Path, hf_env: None) -> Path:
    """The shared sample build (``conftest.sample_build``): tests that change it copy it."""
    return sample_build


@pytest.fixture(scope="module")
def earthdial(built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("export") / "earthdial"
    return out, export_earthdial(built / "corpus", out)


def front_matter(card: Path) -> dict[str, Any]:
    text = card.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def n_samples(built: Path) -> int:
    """Samples with pairs in the build (``metrics/summary.json``)."""
    return int(json.loads((built / "metrics" / "summary.json").read_text())["samples"])


def report(built: Path) -> dict[str, Any]:
    return json.loads((built / "metrics" / "report.json").read_text())


# --- shards and configurations ------------------------------------------------------------


def test_shard_names_round_trip_and_select_by_glob() -> None:
    stem = shard_stem("train", "xbd", "xbd-00003", 2)
    assert stem == "train-xbd-00003-00002"
    assert parse_stem(stem) == {
        "split": "train",
        "source": "xbd",
        "partition": "00003",
        "index": "00002",
    }
    import fnmatch

    name = f"data/{stem}.parquet"
    assert fnmatch.fnmatchcase(name, config_patterns("xbd", "train"))
    assert fnmatch.fnmatchcase(name, config_patterns(None, "train"))
    assert not fnmatch.fnmatchcase(name, config_patterns("xbd", "test"))
    assert fnmatch.fnmatchcase(f"pairs/{stem}.parquet", config_patterns("xbd", "train", "pairs"))
    assert not fnmatch.fnmatchcase(name, config_patterns("xbd", "train", "pairs"))
    # a source whose name is a prefix of another does not select the other's files
    other = "data/train-bigearthnet_v10-00000-00000.parquet"
    assert not fnmatch.fnmatchcase(other, config_patterns("bigearthnet_v1", "train"))


def test_default_and_every_named_configuration_load(built: Path) -> None:
    import datasets

    from eoinstruct.pipeline.corpus.views import pairs

    corpus = built / "corpus"
    configs = front_matter(corpus / "README.md")["configs"]
    names = [c["config_name"] for c in configs]
    assert names[0] == "default" and configs[0]["default"] is True
    counts = report(built)["corpus"]
    assert {"xbd", "pairs", *counts["sources"]} <= set(names)
    total = counts["pairs"]
    ds = datasets.load_dataset(str(corpus), cache_dir=str(built / "hf-cache"))
    assert sum(len(split) for split in ds.values()) == n_samples(built)
    assert sum(len(d) for split in ds.values() for d in split["dialogues"]) == total
    commercial = {s for s in counts["sources"] if commercial_use(facts(s))}
    assert commercial and commercial < set(counts["sources"])
    for name in names[1:]:
        loaded = datasets.load_dataset(str(corpus), name, cache_dir=str(built / "hf-cache"))
        if name == "pairs":  # the text-only pair table
            assert set(loaded["train"].column_names) >= {"pair_id", "sample_id", "task"}
            assert "images" not in loaded["train"].column_names
            assert sum(len(split) for split in loaded.values()) == total
            continue
        rows = [(r["source"], r["task"]) for split in pairs(loaded).values() for r in split]
        assert rows, name
        if name == COMMERCIAL_SAFE:
            assert {s for s, _ in rows} == commercial
            assert len(rows) == sum(counts["sources"][s] for s in commercial)
        else:
            assert {s for s, _ in rows} == {name} and len(rows) == counts["sources"][name]
    xbd = pairs(datasets.load_dataset(str(corpus), "xbd", cache_dir=str(built / "hf-cache")))
    sub = xbd["train"].filter(lambda r: r["task"] == "disaster_assessment")
    # pre/post questions show both images; [identify] shows the post image it points into
    assert {len(r["images"]) for r in sub} == {1, 2}


def test_card_states_conventions_sensors_filters_and_licences(built: Path) -> None:
    text = (built / "corpus" / "README.md").read_text(encoding="utf-8")
    assert "[[x1, y1, x2, y2, angle]]" in text and "0..100" in text
    assert "`reflectance_1e4`" in text and "B04" in text and "[-25, 0] dB" in text
    assert "`filter.min_tags` | 3" in text and "too_dark" in text and "low_coverage" in text
    assert "CC-BY-NC-SA-4.0 — **non-commercial**" in text
    assert "`sources.xbd.enabled: false`" in text
    assert "Gupta et al., xBD" in text and "template/1" in text


HUB_FIELDS = (
    "pretty_name",
    "language",
    "license",
    "size_categories",
    "task_categories",
    "task_ids",
    "source_datasets",
    "tags",
    "dataset_info",
    "configs",
)
"""Front-matter fields the card must carry."""


def test_card_front_matter_is_hub_metadata(built: Path) -> None:
    from huggingface_hub import DatasetCard, DatasetCardData

    card = DatasetCard.load(built / "corpus" / "README.md", repo_type="dataset")
    assert isinstance(card.data, DatasetCardData)
    data = card.data.to_dict()
    assert not [f for f in HUB_FIELDS if not data.get(f)], data.keys()
    # the same metadata survives DatasetCardData's own round trip
    again = DatasetCardData(**data).to_dict()
    assert {f: again.get(f) for f in HUB_FIELDS} == {f: data[f] for f in HUB_FIELDS}

    counts = report(built)["corpus"]
    assert data["language"] == ["en"] and data["size_categories"] == [
        size_category(counts["pairs"])
    ]
    assert set(data["license"]) <= HUB_LICENCE_IDS and "cc-by-nc-sa-4.0" in data["license"]
    assert data["license_name"] and data["license_link"] == "README.md"  # "other" is present
    categories = data["task_categories"]
    assert set(categories) <= set(HUB_TASK_CATEGORIES)
    assert {"visual-question-answering", "image-to-text", "object-detection"} <= set(categories)
    valid_ids = {i for c in categories for i in HUB_TASK_CATEGORIES[c]}
    assert data["task_ids"] and set(data["task_ids"]) <= valid_ids
    assert (
        set(data["source_datasets"]) == {source_dataset(facts(s)) for s in counts["sources"]}
        and "DarthReca/quakeset" in data["source_datasets"]
    )
    assert {"remote-sensing", "earth-observation", "synthetic"} <= set(data["tags"])

    # dataset_info: one entry per configuration, the datasets features, the real counts
    infos = {i["config_name"]: i for i in data["dataset_info"]}
    assert set(infos) == {c["config_name"] for c in data["configs"]}
    features = [f["name"] for f in infos["default"]["features"]]
    assert features == list(corpus_features())
    assert [f["name"] for f in infos["pairs"]["features"]] == list(pair_features())
    pair_splits = {s["name"]: s["num_examples"] for s in infos["pairs"]["splits"]}
    assert pair_splits == counts["splits"]  # pairs per split
    splits = {s["name"]: s for s in infos["default"]["splits"]}
    assert sum(v["num_examples"] for v in splits.values()) == n_samples(built)
    assert all(v["num_bytes"] > 0 for v in splits.values())
    on_disk = sum(p.stat().st_size for p in (built / "corpus" / "data").glob("*.parquet"))
    assert infos["default"]["download_size"] == on_disk


def test_card_lists_licences_per_configuration(built: Path) -> None:
    text = (built / "corpus" / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(" `"): [c.strip() for c in line.split("|")[2:-1]]
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 5
    }
    assert rows["xbd"][1:] == ["CC-BY-NC-SA-4.0", "no (xbd)"]
    assert rows["satlas"][1:] == ["ODC-BY-1.0, ODbL-1.0, CC-BY-4.0", "yes"]
    assert rows[COMMERCIAL_SAFE][2] == "yes" and "CC-BY-NC" not in rows[COMMERCIAL_SAFE][1]
    assert rows["default"][2] == (
        "no (dior, dota, fmow, hit_uav, hrsid, levircd, rsvqa, skyscript, starcop, xbd)"
    )
    assert "`dior` (research-only)" in text and "`hrsid` (unstated)" in text
    assert "`starcop` (NOASSERTION)" in text and "`xbd`" in text


def test_sample_build_card_says_synthetic_first(built: Path) -> None:
    text = (built / "corpus" / "README.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    caveat = body.index("**Sample build: synthetic data, not for training.**")
    assert caveat < body.index("## Loading") and caveat < body.index("pairs**")
    assert "synthetic pixels and labels" in body and "do not use them to train" in body


def test_card_links_resolve(built: Path) -> None:
    corpus = built / "corpus"
    text = (corpus / "README.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    targets = re.findall(r"\]\(([^)]*)\)", body)
    assert targets
    for target in targets:
        assert target and not re.search(r"\s", target), target
        parsed = urlparse(target)
        if parsed.scheme:
            assert parsed.scheme in ("http", "https") and parsed.netloc, target
        else:
            assert (corpus / target).is_file(), target
    assert "](manifest.json)" in body and "[Sentinel-2 L2A" in body


def test_card_cites_every_source_with_bibtex(built: Path) -> None:
    text = (built / "corpus" / "README.md").read_text(encoding="utf-8")
    citation = text.split("## Citation", 1)[1]
    assert "@software{eoinstruct," in citation and "@inproceedings{soni2025earthdial," in citation
    for source in report(built)["corpus"]["sources"]:
        bibtex = facts(source).bibtex
        assert bibtex and bibtex in citation, source
    assert citation.count("```bibtex") == 2


def test_shards_rotate_by_rows_without_changing_the_pairs(built: Path, tmp_path: Path) -> None:
    # Re-run only the shard stage on the module build's upstream outputs, 2 pairs per file.
    shutil.copytree(built / "work", tmp_path / "work", ignore=shutil.ignore_patterns("shard"))
    params = yaml.safe_load((built / "params.yaml").read_text())
    params["paths"]["work"] = str(tmp_path / "work")
    params["paths"]["corpus"] = str(tmp_path / "corpus")
    params["shard"]["max_rows"] = 2
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["--params", str(path), "--no-progress", "shard"]) == 0
    files = sorted((tmp_path / "corpus" / "data").glob("*.parquet"))
    rows = {f.stem: pq.ParquetFile(f).metadata.num_rows for f in files}
    assert max(rows.values()) == 2  # max_rows counts samples
    assert any(parse_stem(stem)["index"] == "00001" for stem in rows)
    assert sum(rows.values()) == n_samples(built)
    pair_files = sorted((tmp_path / "corpus" / "pairs").glob("*.parquet"))
    assert sorted(f.stem for f in pair_files) == sorted(rows)
    pair_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in pair_files)
    assert pair_rows == report(built)["corpus"]["pairs"]
    assert not (tmp_path / "corpus" / "wds").exists()  # tars only with shard.webdataset
    ids = lambda folder: sorted(  # noqa: E731
        i
        for f in sorted((folder / "pairs").glob("*.parquet"))
        for i in pq.read_table(f, columns=["pair_id"]).column(0).to_pylist()
    )
    assert ids(tmp_path / "corpus") == ids(built / "corpus")
    assert verify_manifest(tmp_path / "corpus", check_rows=True).ok


def test_webdataset_reads_tars_with_raster_members(sample_tars: Path) -> None:
    import webdataset as wds

    tars = sorted(str(p) for p in sample_tars.glob("*.tar"))
    seen = {"multispectral": 0, "sar": 0, "rgb": 0}
    for sample in wds.WebDataset(tars, shardshuffle=False).decode("rgb8"):
        doc = sample["json"]
        seen[doc["modality"]] = seen.get(doc["modality"], 0) + 1
        for role in doc["image_roles"]:
            assert isinstance(sample[f"{role}.png"], np.ndarray)  # decoded rendering
            if role not in doc["arrays"]:  # 8-bit RGB: the PNG is the image itself
                assert f"{role}.npy" not in sample
                continue
            array, info = sample[f"{role}.npy"], doc["arrays"][role]
            assert list(array.shape) == info["shape"] and array.shape[0] == len(info["bands"])
            assert set(info["bands"]) <= set(doc["metadata"]["bands"])
            if doc["source"].startswith("bigearthnet") and doc["modality"] == "multispectral":
                assert array.dtype == np.uint16 and "B04" in info["bands"]
                assert 0 < np.nanmean(array[info["bands"].index("B04")]) < 10000
            elif doc["source"].startswith("bigearthnet"):
                assert array.dtype == np.float32 and info["bands"] == ["VV", "VH"]
                assert -40 < np.nanmean(array) < 5  # backscatter in dB
    assert seen["multispectral"] and seen["sar"] and seen["rgb"]


def test_raster_views_give_composites_and_db(sample_tars: Path) -> None:
    docs = {}
    for tar in sorted(sample_tars.glob("*.tar")):
        with tarfile.open(tar) as handle:
            members = {m.name: handle.extractfile(m).read() for m in handle if m.isfile()}
        for name, data in members.items():
            if name.endswith(".image.npy"):
                key = name.split(".")[0]
                doc = json.loads(members[f"{key}.json"])
                docs[doc["modality"]] = (np.load(io.BytesIO(data)), doc["arrays"]["image"])
    ms = raster_views(*docs["multispectral"])
    assert {"true colour B04/B03/B02", "false colour B08/B04/B03"} <= set(ms)
    sar = raster_views(*docs["sar"])
    assert set(sar) == {"VV dB [-25, 0]", "VH dB [-25, 0]"}
    assert all(v.mode == "RGB" for v in [*ms.values(), *sar.values()])


def test_boxes_parse_and_draw() -> None:
    from PIL import Image

    text = "<ref>destroyed buildings</ref><box>[[10, 20, 30, 40, 0]][[50, 50, 60, 70, 0]]</box>"
    assert parse_boxes(text) == [(10, 20, 30, 40, 0), (50, 50, 60, 70, 0)]
    drawn = draw_boxes(Image.new("RGB", (100, 100)), parse_boxes(text))
    assert drawn.getpixel((10, 30)) != (0, 0, 0) and drawn.getpixel((20, 30)) == (0, 0, 0)


# --- manifest ----------------------------------------------------------------------------


def test_manifest_lists_every_file_and_verifies(built: Path) -> None:
    corpus = built / "corpus"
    manifest = read_manifest(corpus)
    on_disk = {p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file()} - {
        MANIFEST_NAME
    }
    assert set(manifest["files"]) == on_disk
    rows: dict[str, int] = {}
    for rel, entry in manifest["files"].items():
        rows[rel.split("/")[0]] = rows.get(rel.split("/")[0], 0) + (entry["rows"] or 0)
    counts = report(built)["corpus"]
    assert rows["data"] == n_samples(built) and rows["pairs"] == counts["pairs"]
    assert "wds" not in rows  # the tars are written on demand, not stored by the build
    assert manifest["totals"]["bytes"] == sum(e["bytes"] for e in manifest["files"].values())
    assert verify_manifest(corpus, check_rows=True).ok


def test_manifest_detects_tampered_missing_and_extra_files(built: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(built / "corpus", corpus)
    parquet = sorted((corpus / "data").glob("*.parquet"))[0]
    data = bytearray(parquet.read_bytes())
    data[100] ^= 0xFF
    parquet.write_bytes(bytes(data))  # same size, different content
    table = sorted((corpus / "pairs").glob("*.parquet"))[0]
    table.unlink()
    (corpus / "data" / "stray.parquet").write_bytes(b"x")
    result = verify_manifest(corpus)
    assert not result.ok
    assert result.mismatched == {f"data/{parquet.name}": "SHA-256 differs"}
    assert result.missing == [f"pairs/{table.name}"]
    assert result.unexpected == ["data/stray.parquet"]


# --- EarthDial export ----------------------------------------------------------------------


def test_earthdial_export_loads_and_conversations_start_with_images(
    built: Path, earthdial: tuple[Path, dict[str, Any]]
) -> None:
    import datasets

    out, mixtures = earthdial
    assert set(mixtures) == {"train", "validation", "test"}
    assert json.loads((out / "mixture_train.json").read_text()) == mixtures["train"]
    total = 0
    for mixture in mixtures.values():
        for name, entry in mixture.items():
            assert set(entry) == {
                "annotation",
                "image_key",
                "conversation",
                "bands",
                "normalization",
                "data_augment",
                "dynamic_image",
                "repeat_time",
            }
            ds = datasets.load_from_disk(str(out / entry["annotation"]))
            keys = entry["image_key"].split(",")
            assert all(k in ds.column_names for k in keys), (name, keys)
            for row in ds.with_format("numpy") if "tif_ms" in keys[0] else ds:
                turns = json.loads(row[entry["conversation"]])
                assert turns and turns[0]["from"] == "human" and turns[-1]["from"] == "gpt"
                tags, rest = split_leading_tags(turns[0]["value"])
                assert tags, turns[0]["value"]
                assert rest.startswith(" ".join([IMAGE_TOKEN] * len(keys)))
                assert sum(t["value"].count(IMAGE_TOKEN) for t in turns) == len(keys)
                if keys[0].startswith("tif_ms"):  # Change_SAR arrays are (H, W, C)
                    axis = -1 if name.startswith("Change_SAR") else 0
                    assert row[keys[0]].shape[axis] == entry["bands"]
                total += 1
            if name.startswith("bigearthnet") and "multispectral" in name:
                assert entry["normalization"] == "s2_l2a" and entry["bands"] == 12
            if name.startswith("bigearthnet") and "_sar_" in name:
                assert entry["normalization"] == "s1" and entry["bands"] == 2
            if name.startswith("Change_xbd") and "pre_post" in name:
                assert keys == ["png_pre", "png_post"]
            assert (len(keys) > 1) == name.startswith("Change_"), name
    assert total == report(built)["corpus"]["pairs"]
    # STAC time series of Sentinel-2 (12 bands) and Landsat (7) are entries of their own
    # (named Change_… so that EarthDial's loader takes its multi-image branch)
    series = {n for m in mixtures.values() for n in m if "stac_change_detection" in n}
    assert {"Change_stac_change_detection_multispectral_t0_t1_12b_train"} <= series
    assert {"Change_stac_change_detection_multispectral_t0_t1_7b_train"} <= series


def test_image_token_placement_and_conversation_checks() -> None:
    text = "[changedet] [hr_rgb_temp_0.5] <image> <image>\nWhat changed?"
    assert place_image_tokens(text, 2, "after_tags") == text
    moved = place_image_tokens(text, 2, "first")
    assert moved == "<image> <image>\n[changedet] [hr_rgb_temp_0.5] What changed?"
    turns = [{"from": "human", "value": text}, {"from": "gpt", "value": "Roofs."}]
    check_conversation(turns, 2, "ok")
    with pytest.raises(ExportError, match="images"):
        check_conversation(turns, 1, "one image")
    with pytest.raises(ExportError, match="empty conversation"):
        check_conversation([], 1, "empty")
    with pytest.raises(ExportError, match="gpt"):
        check_conversation([turns[0], {"from": "gpt", "value": " "}], 2, "blank answer")


# --- publish -----------------------------------------------------------------------------


class FakeHub:
    """Stands in for ``HfApi``: the "upload" copies files into ``remote``."""

    def __init__(self, remote: Path, corrupt: str | None = None) -> None:
        self.remote = remote
        self.corrupt = corrupt
        self.calls: list[str] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> None:
        assert kwargs["repo_type"] == "dataset" and kwargs["exist_ok"] is True
        self.calls.append("create_repo")

    def create_branch(self, repo_id: str, **kwargs: Any) -> None:
        self.calls.append(f"create_branch:{kwargs['branch']}")

    def upload_folder(self, **kwargs: Any) -> None:
        self.calls.append("upload_folder")
        assert kwargs["repo_type"] == "dataset"
        source = Path(kwargs["folder_path"])
        for rel in kwargs["allow_patterns"]:
            target = self.remote / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
        (self.remote / ".gitattributes").write_text("*.parquet filter=lfs\n")
        if self.corrupt:
            path = self.remote / self.corrupt
            data = bytearray(path.read_bytes())
            data[-1] ^= 0xFF
            path.write_bytes(bytes(data))

    def list_repo_tree(self, repo_id: str, **kwargs: Any) -> list[Any]:
        from huggingface_hub.hf_api import RepoFile

        assert kwargs["recursive"] is True and kwargs["repo_type"] == "dataset"
        out = []
        for f in local_listing(self.remote, lfs_threshold=20_000):
            lfs = {"size": f.size, "oid": f.sha256, "pointerSize": 134} if f.sha256 else None
            out.append(RepoFile(path=f.path, size=f.size, oid=f.git_sha1 or "0" * 40, lfs=lfs))
        return out


class LargeFolderHub(FakeHub):
    """An older huggingface_hub with ``upload_large_folder``."""

    def upload_large_folder(self, **kwargs: Any) -> None:
        self.upload_folder(**kwargs)
        self.calls[-1] = "upload_large_folder"


class NoNetwork:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"dry run called the Hub: {name}")


def test_publish_dry_run_prints_and_sends_nothing(built: Path) -> None:
    lines: list[str] = []
    result = publish(built / "corpus", "org/eo", dry_run=True, api=NoNetwork(), echo=lines.append)
    assert not result.uploaded
    assert len(lines) == len(result.files) + 1 and lines[-1].startswith("dry run:")
    assert MANIFEST_NAME in result.files and "README.md" in result.files
    assert any("rows" in line and ".parquet" in line for line in lines)


def test_publish_uploads_then_verifies_the_listing(built: Path, tmp_path: Path) -> None:
    for hub_class, method in ((FakeHub, "upload_folder"), (LargeFolderHub, "upload_large_folder")):
        remote = tmp_path / method
        hub = hub_class(remote)
        result = publish(built / "corpus", "org/eo", revision="v1", api=hub, echo=lambda _: None)
        assert result.uploaded and result.verification.ok
        assert hub.calls == ["create_repo", "create_branch:v1", method]
        assert result.verification.checked == len(result.files)
    # the stand-in listing used both kinds of hashes
    listing = local_listing(tmp_path / "upload_folder", lfs_threshold=20_000)
    assert any(f.sha256 for f in listing) and any(f.git_sha1 for f in listing)


def test_publish_fails_on_a_corrupted_remote_and_a_broken_local_corpus(
    built: Path, tmp_path: Path
) -> None:
    victim = sorted(read_manifest(built / "corpus")["files"])[-1]
    hub = FakeHub(tmp_path / "remote", corrupt=victim)
    with pytest.raises(PublishError, match="differs"):
        publish(built / "corpus", "org/eo", api=hub, echo=lambda _: None)
    corpus = tmp_path / "corpus"
    shutil.copytree(built / "corpus", corpus)
    next((corpus / "pairs").glob("*.parquet")).unlink()
    with pytest.raises(PublishError, match="does not match its manifest"):
        publish(corpus, "org/eo", dry_run=True, api=NoNetwork(), echo=lambda _: None)


def test_remote_verification_flags_missing_and_stale_files(built: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    shutil.copytree(built / "corpus", remote)
    gone = sorted((remote / "data").glob("*.parquet"))[0]
    gone.unlink()
    (remote / "data" / "train-xbd-99999-grounding-00000.parquet").write_bytes(b"old")
    result = verify_remote(built / "corpus", local_listing(remote))
    assert result.missing == [f"data/{gone.name}"]
    assert result.unexpected == ["data/train-xbd-99999-grounding-00000.parquet"]


def test_hub_listing_reads_repo_files(tmp_path: Path) -> None:
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    class Api:
        def list_repo_tree(self, repo_id: str, **kwargs: Any) -> list[Any]:
            return [
                RepoFolder(path="data", oid="1" * 40),
                RepoFile(path="README.md", size=5, oid="a" * 40),
                RepoFile(
                    path="data/x.parquet",
                    size=9,
                    oid="b" * 40,
                    lfs={"size": 9, "oid": "c" * 64, "pointerSize": 130},
                ),
            ]

    files = {f.path: f for f in hub_listing(Api(), "org/eo")}
    assert set(files) == {"README.md", "data/x.parquet"}
    assert files["README.md"].git_sha1 == "a" * 40 and files["README.md"].sha256 is None
    assert files["data/x.parquet"].sha256 == "c" * 64


# --- notebook and build report -------------------------------------------------------------


def _notebook_env(built: Path) -> dict[str, str]:
    return {"EOINSTRUCT_CORPUS": str(built / "corpus"), "EOINSTRUCT_SPLIT": "train"}


def test_notebook_cells_run_as_a_script(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**_notebook_env(built), "EOINSTRUCT_TASK": "grounding"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)
    notebook = json.loads((REPO / "notebooks" / "browse.ipynb").read_text())
    shown: list[Any] = []
    namespace: dict[str, Any] = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), namespace)
            namespace["display"] = shown.append
    assert namespace["config"] == "default"
    assert set(namespace["ds"]["task"]) == {"grounding"}
    assert len(shown) == 2 * min(4, len(namespace["ds"]))  # a panel and a conversation each
    assert any("<box>" in str(getattr(item, "data", item)) for item in shown)


def test_notebook_executes_headless(built: Path) -> None:
    missing = [
        name
        for name in ("nbclient", "nbformat", "ipykernel")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.skip(f"not installed in this environment: {', '.join(missing)}")
    import nbclient
    import nbformat

    notebook = nbformat.read(REPO / "notebooks" / "browse.ipynb", as_version=4)
    os.environ.update(_notebook_env(built))
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]


def test_build_report_renders_with_plots(built: Path) -> None:
    params = load_params(built / "params.yaml")
    html_path = build_report_stage.run(params)
    html = html_path.read_text(encoding="utf-8")
    assert "<svg" not in html and "Sample locations" in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    gallery = html.split("Gallery")[1]
    tasks = report(built)["corpus"]["tasks"]
    assert all(f"<h3>{task}</h3>" in gallery for task in tasks)
    assert gallery.count("data:image/png;base64,") >= len(tasks)
    plots = built / "metrics" / "plots"
    charts = [p for p in (plots / "png").rglob("*.png") if not p.name.startswith("filter_")]
    charts = [p for p in charts if p.parent.name != "filter_scores"]
    # every chart of the build report is embedded, as the PNG written beside the tables
    for chart in charts:
        assert (
            f'src="data:image/png;base64,{base64.b64encode(chart.read_bytes()).decode()}"' in html
        )
    counts = [
        line.split(",") for line in (plots / "counts" / "source.csv").read_text().splitlines()
    ]
    assert counts[0] == ["source", "pairs"]
    assert {v: int(n) for v, n in counts[1:]} == report(built)["corpus"]["sources"]
    for dim in ("task", "modality", "split"):
        assert (plots / "counts" / f"{dim}.csv").read_text().startswith(f"{dim},pairs\n")
    locations = (plots / "locations.csv").read_text().splitlines()[1:]
    assert locations and f"{len(locations)} located samples" in html
    drops = (plots / "drops.csv").read_text()
    assert "filter: too_dark,filter,dropped,too_dark," in drops
    assert "ingest: missing_file (failed),ingest,failed,missing_file," in drops
    bands = {p.stem for p in (plots / "band_values").glob("*.csv")}
    assert {"sentinel-2_msi-b04", "sentinel-1_c-sar-vv"} <= bands
    assert {p.stem for p in (plots / "answer_lengths").glob("*.csv")} == set(tasks)
    # same build, same report and charts
    before = {p: p.read_bytes() for p in plots.rglob("*") if p.is_file()}
    assert build_report_stage.run(params).read_text(encoding="utf-8") == html
    assert before == {p: p.read_bytes() for p in plots.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_commercial_safe_build_has_no_non_commercial_source(tmp_path: Path) -> None:
    params = make_params(tmp_path)
    data = yaml.safe_load(params.read_text())
    blocked = [name for name in data["sources"] if not commercial_use(facts(name))]
    assert "xbd" in blocked
    for name in blocked:
        data["sources"][name]["enabled"] = False
    params.write_text(yaml.safe_dump(data))
    assert main(["--params", str(params), "--no-progress", "all"]) == 0
    text = (tmp_path / "corpus" / "README.md").read_text()
    assert "non-commercial**" not in text and "`xbd`" not in text
    assert "Every source of this build permits commercial use." in text
    assert not list((tmp_path / "corpus" / "data").glob("*-xbd-*"))
    configs = {
        c["config_name"]: c for c in front_matter(tmp_path / "corpus" / "README.md")["configs"]
    }
    assert "| `default` |" in text and "| no (" not in text
    assert len(configs[COMMERCIAL_SAFE]["data_files"]) == len(configs["default"]["data_files"])
