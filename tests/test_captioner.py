"""The VLM captioner: prompts, parsing, cache, faults, kill/resume, and a real vLLM on the CPU."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image
from vlm_server import StubServer, start_vllm

from eoinstruct.pipeline.caption.cache import Reply, RequestCache
from eoinstruct.pipeline.caption.client import CaptionClient
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import build_request, load_prompts
from eoinstruct.pipeline.caption.replies import (
    ReplyRejected,
    contradictions,
    make_pair,
    parse_reply,
)
from eoinstruct.pipeline.config import ConfigError, load_params
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample, samples_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, run_partitions
from eoinstruct.pipeline.stages import caption

REPO = Path(__file__).resolve().parents[1]
PROMPTS = load_prompts()
QA = PROMPTS["qa_tags/1"]


def png(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(30, 220, (24, 24, 3), dtype=np.uint8)).save(path)
    return path


def sample(i: int, folder: Path, fault: str = "", source: str = "skyscript", **kw) -> Sample:
    tags = {"center:landuse": "farmland", "osm_id": str(1000 + i), "year": "2019"}
    if fault:
        tags["fault"] = fault
    fields = dict(
        sample_id=f"{source}:img{i}",
        source=source,
        native_id=f"img{i}",
        modality="rgb",
        sensor="NAIP aerial orthophoto",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2019-06-01",),
        images=(
            ImageRef(
                "image", (str(png(folder / f"img{i}.png", i)),), ("R", "G", "B"), "uint8", 24, 24
            ),
        ),
        tags=tags,
        labels=Labels(),
        licence="unknown",
        split="train",
    )
    fields.update(kw)
    return Sample(**fields)


def write_filter_output(root: Path, partitions: dict[str, list[Sample]]) -> None:
    """Write ``<root>/work/dedup`` (the samples the caption stage reads) as that stage would."""

    def step(partition: Partition, outputs: PartitionOutputs):
        from eoinstruct.pipeline.accounting import StageStats
        from eoinstruct.pipeline.io.parquet import write_table

        rows = partitions[partition.name]
        write_table(outputs.path("kept"), samples_table(rows))
        return StageStats(read=len(rows), kept=len(rows))

    parts = [Partition(name=n, source=n.split("-")[0], items=(n,)) for n in sorted(partitions)]
    run_partitions("dedup", root / "work" / "dedup", parts, step, {}, progress=False)


def write_params(root: Path, **caption_section) -> Path:
    params = {
        "paths": {k: str(root / k) for k in ("sample", "work", "corpus", "metrics")},
        "caption": {
            "enabled": True,
            "engine": "vllm",
            "model": "stub-model",
            "revision": "r1",
            "concurrency": 4,
            "timeout_s": 2.0,
            "retries": 2,
            "backoff_s": 0.01,
            "max_tokens": 64,
            "seed": 3,
            "cache_dir": str(root / "cache"),
            **caption_section,
        },
    }
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def outputs(root: Path, kind: str) -> list[dict]:
    folder = root / "work" / "caption" / kind
    return [row for f in sorted(folder.glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


# --------------------------------------------------------------------------- units


def test_prompt_templates_load_and_are_checked(tmp_path: Path) -> None:
    assert {"qa_tags/1", "caption_tags/1"} <= set(PROMPTS)
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump({"templates": [{**dataclasses.asdict(QA), "user": "{nope}"}]}))
    with pytest.raises(ValueError, match="placeholder"):
        load_prompts(bad)


def test_config_rejects_unknown_keys_and_engines() -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        CaptionConfig.from_mapping({"enabld": True})
    with pytest.raises(ConfigError, match="engine"):
        CaptionConfig.from_mapping({"engine": "tgi"})
    config = CaptionConfig.from_mapping({"base_urls": "http://h:1/v1/", "top_p": 0.9})
    assert config.base_urls == ("http://h:1/v1",) and config.sampling()["top_p"] == 0.9


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty_reply"),
        ("   \n", "empty_reply"),
        ("I'm sorry, but I cannot describe this image.", "refusal"),
        ('{"pairs": [{"question": "What?", "answer": "I cannot determine that."}]}', "refusal"),
        ('{"pairs": [{"question": "What', "garbled_reply"),
        ("car car car", "garbled_reply"),
        ('{"pairs": []}', "garbled_reply"),
        ('{"pairs": [{"question": "", "answer": "x"}]}', "garbled_reply"),
        ('{"caption": "x"}', "garbled_reply"),
    ],
)
def test_bad_replies_are_rejected_with_a_reason(content: str, reason: str) -> None:
    with pytest.raises(ReplyRejected) as info:
        parse_reply(Reply(content, "stop", 0), QA)
    assert info.value.reason == reason


def test_good_replies_parse_fenced_or_not() -> None:
    text = '```json\n{"pairs": [{"question": "What is it?", "answer": "A  field."}]}\n```'
    assert parse_reply(Reply(text, "stop", 0), QA) == [("What is it?", "A field.")]
    caption_template = PROMPTS["caption_tags/1"]
    assert parse_reply(Reply('Sure: {"caption": "Fields."}', "stop", 0), caption_template) == [
        ("", "Fields.")
    ]


def test_contradiction_checks(tmp_path: Path) -> None:
    s = sample(1, tmp_path)
    assert contradictions([("q", "Farmland next to a road.")], s, "image") == []
    assert contradictions([("q", "There is no farmland here.")], s, "image") == ["denies:farmland"]
    buildings = tuple(ObjectLabel("building", "", "image", (0, 0, 2, 2)) for _ in range(5))
    s2 = dataclasses.replace(s, labels=Labels(objects=buildings))
    assert contradictions([("q", "I count 3 small buildings.")], s2, "image") == [
        "count:building:3!=5"
    ]
    assert contradictions([("q", "five buildings")], s2, "image") == []
    s3 = dataclasses.replace(s, labels=Labels(scheme="ben19", classes=("Pastures",)))
    assert contradictions([("q", "Pastures and arable land.")], s3, "image") == [
        "absent_class:Arable land"
    ]
    assert contradictions([("q", "Pastures, not arable land.")], s3, "image") == []


def test_pair_form_and_provenance(tmp_path: Path) -> None:
    config = CaptionConfig(enabled=True, model="m", revision="abc", engine="lmdeploy", seed=3)
    s = sample(1, tmp_path)
    request = build_request(s, QA, config)
    assert request.body["messages"][1]["content"][0]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    assert "center:landuse: farmland" in request.body["messages"][1]["content"][1]["text"]
    assert request.body["response_format"]["type"] == "json_schema"
    reply = Reply(
        '{"pairs": [{"question": "Q1?", "answer": "A1."}, {"question": "Q2?", "answer": "A2."}]}',
        "stop",
        1,
    )
    pair, _ = make_pair(s, QA, config, request, reply)
    assert pair.turns[0].value == "[vqa] [hr_rgb_1] <image>\nQ1?"
    assert [t.speaker for t in pair.turns] == ["human", "gpt", "human", "gpt"]
    assert pair.generator == "captioner/lmdeploy" and pair.image_roles == ("image",)
    params = pair.generator_params
    assert (params["engine"], params["model"], params["revision"]) == ("lmdeploy", "m", "abc")
    assert params["prompt_template"] == "qa_tags/1" and params["base_url_index"] == "1"
    assert json.loads(params["sampling"]) == {"max_tokens": 512, "seed": 3, "temperature": 0.0}


def test_cache_key_covers_model_revision_sampling_prompt_image(tmp_path: Path) -> None:
    config = CaptionConfig(enabled=True)
    s = sample(1, tmp_path)
    base = build_request(s, QA, config).key
    variants = [
        build_request(s, QA, dataclasses.replace(config, model="other")),
        build_request(s, QA, dataclasses.replace(config, revision="v2")),
        build_request(s, QA, dataclasses.replace(config, temperature=0.7)),
        build_request(s, QA, dataclasses.replace(config, structured_output=False)),
        build_request(s, PROMPTS["caption_tags/1"], config),
        build_request(s, QA, config, image_bytes=b"\x89PNG other"),
        build_request(dataclasses.replace(s, tags={"x": "y"}), QA, config),
    ]
    keys = {v.key for v in variants}
    assert base not in keys and len(keys) == len(variants)
    assert (
        build_request(s, QA, dataclasses.replace(config, concurrency=99, base_urls=("u",))).key
        == base
    )
    cache = RequestCache(tmp_path / "c")
    cache.put(base, Reply("x", "stop", 2))
    (cache.path(base).parent / ".junk.tmp-1").write_text("{half")
    assert cache.get(base) == Reply("x", "stop", 2, cached=True)
    assert cache.keys() == [base]


# --------------------------------------------------------------------------- stub server


def test_disabled_stage_writes_empty_outputs(tmp_path: Path) -> None:
    write_filter_output(tmp_path, {"skyscript-00000": [sample(0, tmp_path)]})
    stats = caption.run(load_params(write_params(tmp_path, enabled=False)), progress=False)
    assert stats.read == 0 and stats.kept == 0
    for kind in ("pairs", "dropped", "failed"):
        assert (tmp_path / "work" / "caption" / kind / "skyscript-00000.parquet").is_file()
        assert outputs(tmp_path, kind) == []


def test_faults_are_retried_recorded_and_nothing_half_written(tmp_path: Path) -> None:
    plans = {
        0: "",
        1: "500,ok",
        2: "drop,ok",
        3: "malformed,ok",
        4: "500",
        5: "timeout",
        6: "drop",
        7: "malformed",
        8: "empty",
        9: "refusal",
        10: "garbled",
    }
    samples = [sample(i, tmp_path, fault=plan) for i, plan in plans.items()]
    other = sample(99, tmp_path, source="bigearthnet_v1")
    write_filter_output(
        tmp_path, {"skyscript-00000": samples[:6], "skyscript-00001": [*samples[6:], other]}
    )
    with StubServer(hang_s=1.5) as stub:
        params = write_params(tmp_path, base_urls=[stub.base_url], timeout_s=0.5, retries=2)
        stats = caption.run(load_params(params), progress=False)
    assert stats.read == 11 and stats.produced["not_marked"] == 1
    assert stats.kept == 4
    assert dict(stats.dropped) == {"empty_reply": 1, "refusal": 1, "garbled_reply": 1}
    assert dict(stats.failed) == {
        "server_error": 1,
        "timeout": 1,
        "connection_error": 1,
        "bad_response": 1,
    }
    kept = {r["sample_id"] for r in outputs(tmp_path, "pairs")}
    assert kept == {f"skyscript:img{i}" for i in (0, 1, 2, 3)}
    failed = {r["item"]: r["kind"] for r in outputs(tmp_path, "failed")}
    assert (
        failed["skyscript:img4"] == "server_error"
        and "3 attempts" in outputs(tmp_path, "failed")[0]["message"]
    )
    dropped = {r["item"]: r["reason"] for r in outputs(tmp_path, "dropped")}
    assert dropped == {
        "skyscript:img8": "empty_reply",
        "skyscript:img9": "refusal",
        "skyscript:img10": "garbled_reply",
    }
    # every always-failing sample was tried 1 + retries times, the recovering ones twice
    assert sorted(stub.requests.values()) == [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    assert not list((tmp_path / "work" / "caption").rglob("*.tmp-*"))
    assert not list((tmp_path / "cache").rglob(".*tmp-*"))


def test_rerun_makes_no_requests(tmp_path: Path) -> None:
    write_filter_output(tmp_path, {"skyscript-00000": [sample(i, tmp_path) for i in range(4)]})
    with StubServer() as stub:
        params = load_params(write_params(tmp_path, base_urls=[stub.base_url, stub.base_url]))
        first = caption.run(params, progress=False)
        assert first.kept == 4 and sum(stub.requests.values()) == 4
        # a fresh work folder: every partition is redone, every reply comes from the cache
        params = load_params(
            write_params(
                tmp_path / "again", base_urls=[stub.base_url], cache_dir=str(tmp_path / "cache")
            )
        )
        write_filter_output(
            tmp_path / "again", {"skyscript-00000": [sample(i, tmp_path) for i in range(4)]}
        )
        second = caption.run(params, progress=False)
    assert sum(stub.requests.values()) == 4
    assert (
        second.kept == 4 and second.produced["cache_hits"] == 4 and second.produced["requests"] == 0
    )
    assert outputs(tmp_path, "pairs") == outputs(tmp_path / "again", "pairs")


def test_killed_run_resumes_without_repeating_answered_requests(tmp_path: Path) -> None:
    parts = {
        f"skyscript-0000{p}": [sample(10 * p + i, tmp_path) for i in range(6)] for p in range(3)
    }
    write_filter_output(tmp_path, parts)
    cache = RequestCache(tmp_path / "cache")
    with StubServer(delay_s=0.08) as stub:
        params = write_params(tmp_path, base_urls=[stub.base_url], concurrency=2, timeout_s=10)
        command = [
            sys.executable,
            "-m",
            "eoinstruct.pipeline.stages.caption",
            "--params",
            str(params),
            "--no-progress",
        ]
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while len(cache.keys()) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        before = set(cache.keys())
        asked_before = dict(stub.requests)
        assert 8 <= len(before) < 18, "the kill should land mid-run"
        stats = caption.run(load_params(params), progress=False)
    assert stats.read == 18 and stats.kept == 18
    pairs = outputs(tmp_path, "pairs")
    assert sorted(r["sample_id"] for r in pairs) == sorted(
        s.sample_id for p in parts.values() for s in p
    )
    assert outputs(tmp_path, "failed") == [] and outputs(tmp_path, "dropped") == []
    asked_again = {k: n - asked_before.get(k, 0) for k, n in stub.requests.items()}
    # no reply that reached the cache was asked for again; at most the requests in flight
    # when the process died (concurrency 2) were asked twice
    cached_stub_keys = {k for k in asked_before if stub.answered[k] and asked_again.get(k, 0) == 0}
    assert len(cached_stub_keys) >= len(before) - 2
    assert sum(1 for k, n in stub.requests.items() if n > 1) <= 2
    assert len(cache.keys()) == 18


# --------------------------------------------------------------------------- real vLLM


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    server = start_vllm(tmp_path_factory.mktemp("vllm"))
    try:
        yield server
    finally:
        server.process.stop()


def test_vllm_images_cache_and_garbled_replies(vllm_server, tmp_path: Path) -> None:
    samples = [sample(i, tmp_path) for i in range(3)]
    write_filter_output(tmp_path, {"skyscript-00000": samples})
    params = write_params(
        tmp_path,
        base_urls=[vllm_server.base_url],
        model=vllm_server.model,
        structured_output=False,
        max_tokens=16,
        timeout_s=60,
    )
    served = vllm_server.metric("vllm:request_success_total")
    stats = caption.run(load_params(params), progress=False)
    assert vllm_server.metric("vllm:request_success_total") - served == 3
    # random weights: the text is gibberish, so every reply is dropped as garbled, with a reason
    assert stats.read == 3 and stats.kept == 0 and dict(stats.dropped) == {"garbled_reply": 3}
    assert all(r["detail"] for r in outputs(tmp_path, "dropped"))
    # a second build (fresh work folder, same cache) asks the server nothing
    again = tmp_path / "again"
    write_filter_output(again, {"skyscript-00000": samples})
    params2 = write_params(again, **{**yaml.safe_load(params.read_text())["caption"]})
    stats2 = caption.run(load_params(params2), progress=False)
    assert vllm_server.metric("vllm:request_success_total") - served == 3
    assert stats2.produced["cache_hits"] == 3 and dict(stats2.dropped) == {"garbled_reply": 3}


def test_vllm_structured_output_gives_parseable_pairs(vllm_server, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.yaml"
    doc = yaml.safe_load((REPO / "templates" / "captioner" / "prompts.yaml").read_text())
    template = next(t for t in doc["templates"] if t["id"] == "caption_tags/1")
    prompts.write_text(
        yaml.safe_dump({"templates": [{**template, "id": "short/1", "max_chars": 12}]})
    )
    write_filter_output(tmp_path, {"skyscript-00000": [sample(i, tmp_path) for i in range(2)]})
    params = write_params(
        tmp_path,
        base_urls=[vllm_server.base_url],
        model=vllm_server.model,
        revision="local",
        prompts_file=str(prompts),
        prompt_template="short/1",
        structured_output=True,
        max_tokens=64,
        timeout_s=60,
    )
    stats = caption.run(load_params(params), progress=False)
    pairs = outputs(tmp_path, "pairs")
    assert stats.kept + sum(stats.dropped.values()) == 2
    # guided decoding: the replies are JSON of the schema, so none is garbled
    assert "garbled_reply" not in stats.dropped
    for row in pairs:
        params_ = dict(row["generator_params"])
        assert row["generator"] == "captioner/vllm" and params_["model"] == vllm_server.model
        assert params_["structured_output"] == "true" and params_["prompt_template"] == "short/1"
        assert row["conversations"][0]["value"].startswith("[caption] [hr_rgb_1] <image>\n")
        assert 1 <= len(row["conversations"][1]["value"]) <= 12


def test_client_waits_for_retry_after(tmp_path: Path) -> None:
    with StubServer() as stub:
        config = CaptionConfig(enabled=True, base_urls=(stub.base_url,), retries=1, backoff_s=0.01)
        request = build_request(sample(0, tmp_path, fault="429,ok"), QA, config)
        client = CaptionClient(config, None)
        start = time.monotonic()
        results = client.fetch_sync([request])
    assert time.monotonic() - start >= 1.0  # the server's Retry-After, not the 0.01 s backoff
    assert isinstance(results[request.key], Reply)
    assert client.counters.attempts == 2 and client.counters.retries == 1


def test_client_spreads_requests_over_servers(tmp_path: Path) -> None:
    with StubServer() as a, StubServer() as b:
        config = CaptionConfig(enabled=True, base_urls=(a.base_url, b.base_url), retries=0)
        requests = [build_request(sample(i, tmp_path), QA, config) for i in range(12)]
        results = CaptionClient(config, None).fetch_sync(requests)
    assert all(isinstance(r, Reply) for r in results.values())
    assert sum(a.requests.values()) + sum(b.requests.values()) == 12
    assert sum(a.requests.values()) > 0 and sum(b.requests.values()) > 0
    assert {r.base_url_index for r in results.values()} == {0, 1}
