"""The VLM captioner: config, parsing, provenance, cache, faults, kill/resume, real vLLM on the CPU.

Prompts, facts and the reply schema are tested in ``test_caption_prompts.py``, the reply checks
in ``test_caption_checks.py``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from caption_helpers import (
    PINNED,
    outputs,
    png,
    sample,
    satlas_sample,
    write_filter_output,
    write_params,
)
from vlm_server import STUB_FINGERPRINT, STUB_VERSION, StubServer, start_vllm

from eoinstruct.pipeline.caption.cache import Reply, RequestCache
from eoinstruct.pipeline.caption.client import CaptionClient
from eoinstruct.pipeline.caption.config import CaptionConfig, weights_digest
from eoinstruct.pipeline.caption.prompts import build_request, load_prompts
from eoinstruct.pipeline.caption.replies import ReplyRejected, make_pair, parse_reply
from eoinstruct.pipeline.config import ConfigError, load_params
from eoinstruct.pipeline.stages import caption

REPO = Path(__file__).resolve().parents[1]
PROMPTS = load_prompts()
QA = PROMPTS["qa/2"]
CAPTION = PROMPTS["detailed/2"]


# --------------------------------------------------------------------------- units


def test_config_rejects_unknown_keys_engines_and_reserved_body_fields() -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        CaptionConfig.from_mapping({"enabld": True})
    with pytest.raises(ConfigError, match="engine"):
        CaptionConfig.from_mapping({"engine": "tgi"})
    with pytest.raises(ConfigError, match="may not set"):
        CaptionConfig.from_mapping({"extra_body": {"messages": []}})
    with pytest.raises(ConfigError, match=r"vllm_offline needs launch\.model_path"):
        CaptionConfig.from_mapping({"engine": "vllm_offline"})
    offline = CaptionConfig.from_mapping(
        {
            "engine": "vllm_offline",
            "launch": {"model_path": "m", "engine_kwargs": {"dtype": "bf16"}},
        }
    )
    assert offline.launch is not None and offline.launch.engine_kwargs == {"dtype": "bf16"}
    config = CaptionConfig.from_mapping({"base_urls": "http://h:1/v1/", "top_p": 0.9})
    assert config.base_urls == ("http://h:1/v1",) and config.sampling()["top_p"] == 0.9


@pytest.mark.parametrize("revision", ["main", "", "v1.0", "abc123", "sha256:xyz"])
def test_unpinned_revision_is_refused_unless_allowed(
    revision: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError, match="does not pin"):
        CaptionConfig.from_mapping({"enabled": True, "revision": revision})
    CaptionConfig.from_mapping({"enabled": False, "revision": revision})  # off: not checked
    with caplog.at_level(logging.WARNING):
        config = CaptionConfig.from_mapping(
            {"enabled": True, "revision": revision, "allow_unpinned_revision": True}
        )
    assert config.revision == revision and "does not pin" in caplog.text


def test_pinned_revisions_commit_or_folder_digest(tmp_path: Path) -> None:
    assert CaptionConfig.from_mapping({"enabled": True, "revision": PINNED}).revision == PINNED
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights v1")
    first = weights_digest(folder)
    assert CaptionConfig.from_mapping({"enabled": True, "revision": first}).revision == first
    (folder / "model.safetensors").write_bytes(b"weights v2")
    assert weights_digest(folder) != first  # changed weights: a new revision, a new cache key


def test_params_yaml_caption_section_is_checked_at_load_time(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"caption.* does not pin"):
        load_params(write_params(tmp_path / "a", revision="main"))
    with pytest.raises(ConfigError, match=r"caption\.max_tokens = '5'"):
        load_params(write_params(tmp_path / "b", max_tokens="5"))
    with pytest.raises(ConfigError, match="may not set"):
        load_params(write_params(tmp_path / "c", extra_body={"model": "x"}))
    assert load_params(write_params(tmp_path / "d")).raw["caption"]["revision"] == PINNED


def test_default_params_section_is_valid_and_pins_nothing_silently() -> None:
    section = yaml.safe_load((REPO / "params.yaml").read_text())["caption"]
    config = CaptionConfig.from_mapping(section)
    assert not config.enabled and config.max_tokens == 1024 and config.chars_per_token == 1.0
    assert config.prompt_template == "default" and config.extra_body == {}
    with pytest.raises(ConfigError, match="does not pin"):
        CaptionConfig.from_mapping({**section, "enabled": True})


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
        ('{"pairs": [{"question": " ", "answer": "x"}]}', "garbled_reply"),
        ('{"caption": "x"}', "garbled_reply"),
    ],
)
def test_bad_replies_are_rejected_with_a_reason(content: str, reason: str) -> None:
    with pytest.raises(ReplyRejected) as info:
        parse_reply(Reply(content, "stop", 0), QA)
    assert info.value.reason == reason


def test_good_replies_parse_fenced_or_not_control_characters_included() -> None:
    text = '```json\n{"pairs": [{"question": "What is it?", "answer": "A  field."}]}\n```'
    assert parse_reply(Reply(text, "stop", 0), QA) == [("What is it?", "A field.")]
    assert parse_reply(Reply('Sure: {"caption": "Fields."}', "stop", 0), CAPTION) == [
        ("", "Fields.")
    ]
    # raw control characters inside strings (guided decoding lets them through): valid JSON
    # for json.loads(strict=False), kept
    raw = '{"pairs":[{"question":"What\tis\x10 it?","answer":"A\x7f field\nof maize."}]}'
    with pytest.raises(ValueError):
        json.loads(raw)
    assert parse_reply(Reply(raw, "length", 0), QA) == [
        ("What is\x10 it?", "A\x7f field of maize.")
    ]


def test_pair_form_and_provenance(tmp_path: Path) -> None:
    config = CaptionConfig(enabled=True, model="m", revision=PINNED, engine="lmdeploy", seed=3)
    s = sample(1, tmp_path)
    request = build_request(s, QA, config)
    assert request.body["response_format"]["type"] == "json_schema"
    reply = Reply(
        '{"pairs": [{"question": "Q1?", "answer": "A1."}, {"question": "Q2?", "answer": "A2."}]}',
        "stop",
        1,
        served_model="m-served",
        system_fingerprint="fp-9",
        prompt_tokens=321,
        completion_tokens=45,
        engine_version="0.14.0",
    )
    pair, _ = make_pair(s, QA, config, request, reply)
    assert pair.turns[0].value == "[hr_rgb_0.5] <image>\nQ1?"  # no VQA task tag in EarthDial
    assert [t.speaker for t in pair.turns] == ["human", "gpt", "human", "gpt"]
    assert pair.generator == "captioner/lmdeploy" and pair.image_roles == ("image",)
    params = pair.generator_params
    assert (params["engine"], params["model"], params["revision"]) == ("lmdeploy", "m", PINNED)
    assert params["prompt_template"] == "qa/2" and params["base_url_index"] == "1"
    assert json.loads(params["sampling"]) == {"max_tokens": 1024, "seed": 3, "temperature": 0.0}
    assert (params["served_model"], params["system_fingerprint"]) == ("m-served", "fp-9")
    assert json.loads(params["usage"]) == {"prompt_tokens": 321, "completion_tokens": 45}
    assert params["engine_version"] == "0.14.0" and "extra_body" not in params


def test_region_pair_asks_about_the_region_of_its_prompt(tmp_path: Path) -> None:
    config = CaptionConfig(enabled=True, revision=PINNED, seed=5)
    template = PROMPTS["region/2"]
    regions = set()
    for i in range(12):
        s = sample(i, tmp_path)
        request = build_request(s, template, config)
        assert request.region in template.regions
        assert (
            f"the {request.region} of the image"
            in request.body["messages"][1]["content"][1]["text"]
        )
        pair, _ = make_pair(s, template, config, request, Reply('{"caption": "Grass."}', "stop", 0))
        assert request.region in pair.turns[0].value
        assert pair.generator_params["region"] == request.region
        regions.add(request.region)
    assert len(regions) > 2  # drawn per sample


def test_extra_body_is_sent_keyed_and_recorded(tmp_path: Path) -> None:
    extra = {"mm_processor_kwargs": {"max_dynamic_patch": 1}, "repetition_penalty": 1.05}
    config = CaptionConfig(enabled=True, revision=PINNED, extra_body=extra)
    s = sample(1, tmp_path)
    request = build_request(s, QA, config)
    assert request.body["mm_processor_kwargs"] == {"max_dynamic_patch": 1}
    assert request.body["repetition_penalty"] == 1.05 and request.body["max_tokens"] == 1024
    # the tile cap sizes the image; the per-request field (refused by vLLM 0.32 unless
    # --trust-request-mm-kwargs) is only sent when extra_body asks for it
    plain = build_request(s, QA, dataclasses.replace(config, extra_body={}))
    assert plain.key != request.key and "mm_processor_kwargs" not in plain.body
    with pytest.raises(ConfigError, match=r"differs from caption\.max_dynamic_patch 1"):
        CaptionConfig.from_mapping(
            {"extra_body": {"mm_processor_kwargs": {"max_dynamic_patch": 6}}}
        )
    reply = Reply('{"pairs": [{"question": "Q?", "answer": "Fields."}]}', "stop", 0)
    pair, _ = make_pair(s, QA, config, request, reply)
    assert json.loads(pair.generator_params["extra_body"]) == extra


def test_cache_key_covers_weights_engine_sampling_prompt_image(tmp_path: Path) -> None:
    config = CaptionConfig(enabled=True, revision=PINNED)
    s = sample(1, tmp_path)
    base = build_request(s, QA, config).key
    variants = [
        build_request(s, QA, dataclasses.replace(config, model="other")),
        build_request(s, QA, dataclasses.replace(config, revision="f" * 40)),
        build_request(s, QA, dataclasses.replace(config, engine="lmdeploy")),
        build_request(s, QA, dataclasses.replace(config, temperature=0.7)),
        build_request(s, QA, dataclasses.replace(config, structured_output=False)),
        build_request(s, QA, dataclasses.replace(config, max_tokens=2048)),
        build_request(s, CAPTION, config),
        build_request(s, QA, config, image_bytes=png(tmp_path / "other.png", 7).read_bytes()),
        build_request(s, QA, dataclasses.replace(config, max_dynamic_patch=4)),
        build_request(dataclasses.replace(s, tags={"center:natural": "water"}), QA, config),
    ]
    keys = {v.key for v in variants}
    assert base not in keys and len(keys) == len(variants)
    assert (
        build_request(s, QA, dataclasses.replace(config, concurrency=99, base_urls=("u",))).key
        == base
    )
    # tags the prompt does not show do not change the request
    hidden = dataclasses.replace(s, tags={**s.tags, "osm_id": "42", "year": "2001"})
    assert build_request(hidden, QA, config).key == base
    cache = RequestCache(tmp_path / "c")
    stored = Reply("x", "stop", 2, served_model="m", system_fingerprint="fp", prompt_tokens=9,
                   completion_tokens=3, engine_version="1.2")  # fmt: skip
    cache.put(base, stored)
    (cache.path(base).parent / ".junk.tmp-1").write_text("{half")
    assert cache.get(base) == dataclasses.replace(stored, cached=True)
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
        params = write_params(
            tmp_path, base_urls=[stub.base_url], timeout_s=0.5, retries=2, max_failure_rate=1.0
        )
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
    # provenance from the server's responses, kept through the cache
    for row in outputs(tmp_path / "again", "pairs"):
        params_ = dict(row["generator_params"])
        assert params_["served_model"] == "stub-model"
        assert params_["system_fingerprint"] == STUB_FINGERPRINT
        assert params_["engine_version"] == STUB_VERSION
        assert json.loads(params_["usage"])["completion_tokens"] > 0


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


KEEP_RATE_SAMPLES = 20
"""Samples of the keep-rate measurement against the real server (SkyScript- and Satlas-like)."""


def test_vllm_default_template_keeps_at_least_90_percent(vllm_server, tmp_path: Path) -> None:
    """The default mix and max_tokens on the real CPU vLLM: replies close and are kept."""
    skyscript = [sample(i, tmp_path) for i in range(KEEP_RATE_SAMPLES // 2)]
    satlas = [satlas_sample(i, tmp_path) for i in range(KEEP_RATE_SAMPLES // 2)]
    write_filter_output(tmp_path, {"skyscript-00000": skyscript, "satlas-00000": satlas})
    params = write_params(
        tmp_path,
        base_urls=[vllm_server.base_url],
        model=vllm_server.model,
        revision=vllm_server.revision,
        concurrency=8,
        timeout_s=300,
    )
    section = yaml.safe_load(params.read_text())["caption"]
    assert "max_tokens" not in section and "prompt_template" not in section  # the defaults
    served = vllm_server.metric("vllm:request_success_total")
    stats = caption.run(load_params(params), progress=False)
    assert vllm_server.metric("vllm:request_success_total") - served == KEEP_RATE_SAMPLES
    pairs, dropped = outputs(tmp_path, "pairs"), outputs(tmp_path, "dropped")
    keep_rate = stats.kept / stats.read
    templates = {k: v for k, v in stats.produced.items() if k.startswith("template:")}
    print(
        f"\nkeep rate {keep_rate:.0%} ({stats.kept}/{stats.read}), dropped {dict(stats.dropped)}, "
        f"failed {dict(stats.failed)}, kept per template {templates}, completion tokens "
        f"{stats.produced['completion_tokens']}; drops: {[r['detail'][:80] for r in dropped]}"
    )
    assert stats.read == KEEP_RATE_SAMPLES and not stats.failed
    assert keep_rate >= 0.9
    assert len(templates) >= 3  # the mix drew several kinds of pair
    for row in pairs:
        params_ = dict(row["generator_params"])
        assert params_["finish_reason"] == "stop"  # closed inside max_tokens
        usage = json.loads(params_["usage"])
        assert 0 < usage["completion_tokens"] <= 1024 and usage["prompt_tokens"] > 0
        # provenance from the server's response, not from the configuration
        assert params_["served_model"] == vllm_server.model
        assert params_["system_fingerprint"].startswith("vllm-")
        assert params_["engine_version"] == vllm_server.version
        assert params_["revision"] == vllm_server.revision
    # a second build (fresh work folder, same cache) asks the server nothing
    again = tmp_path / "again"
    write_filter_output(again, {"skyscript-00000": skyscript, "satlas-00000": satlas})
    stats2 = caption.run(load_params(write_params(again, **section)), progress=False)
    assert vllm_server.metric("vllm:request_success_total") - served == KEEP_RATE_SAMPLES
    assert stats2.produced["cache_hits"] == KEEP_RATE_SAMPLES and stats2.kept == stats.kept


OFFLINE_ENGINE_KWARGS = {
    "dtype": "float32",
    "max_model_len": 2048,
    "enforce_eager": True,
    "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
}
"""``vllm.LLM`` arguments matching the test server's command line."""


def test_vllm_offline_engine_gives_the_servers_pairs(vllm_server, tmp_path: Path) -> None:
    """engine: vllm_offline (LLM.chat in the vLLM venv) gives the pairs the server gives."""
    samples = [sample(i, tmp_path) for i in range(3)] + [
        satlas_sample(i, tmp_path) for i in range(3)
    ]
    common = {"model": vllm_server.model, "revision": vllm_server.revision, "timeout_s": 300}
    write_filter_output(tmp_path / "server", {"skyscript-00000": samples})
    caption.run(
        load_params(write_params(tmp_path / "server", base_urls=[vllm_server.base_url], **common)),
        progress=False,
    )
    launch = vllm_server.launch
    offline = {
        **common,
        "engine": "vllm_offline",
        "launch": {
            "model_path": launch.model_path,
            "python": launch.python,
            "env": dict(launch.env),
            "engine_kwargs": OFFLINE_ENGINE_KWARGS,
            "batch_size": 4,
        },
    }
    write_filter_output(tmp_path / "offline", {"skyscript-00000": samples})
    params = write_params(tmp_path / "offline", **offline)
    stats = caption.run(load_params(params), progress=False)
    assert stats.read == 6 and not stats.failed and stats.produced["requests"] == 6
    by_server = {r["sample_id"]: r for r in outputs(tmp_path / "server", "pairs")}
    by_offline = {r["sample_id"]: r for r in outputs(tmp_path / "offline", "pairs")}
    assert by_offline and set(by_offline) == set(by_server)
    for sample_id, row in by_offline.items():
        twin = by_server[sample_id]
        assert row["conversations"] == twin["conversations"]  # same prompt, same greedy reply
        assert (
            row["template_id"] == twin["template_id"]
            and row["generator"] == "captioner/vllm_offline"
        )
        params_ = dict(row["generator_params"])
        assert params_["served_model"] == vllm_server.model and params_["system_fingerprint"] == ""
        assert params_["engine_version"] == vllm_server.version
        assert json.loads(params_["usage"])["completion_tokens"] > 0
        assert params_["finish_reason"] == "stop"
    # again with the same cache: no worker runs
    write_filter_output(tmp_path / "again", {"skyscript-00000": samples})
    cache = str(tmp_path / "offline" / "cache")
    again = caption.run(
        load_params(write_params(tmp_path / "again", **offline, cache_dir=cache)), progress=False
    )
    assert again.produced["requests"] == 0 and again.produced["cache_hits"] == 6


def test_vllm_without_structured_output_gibberish_is_dropped(vllm_server, tmp_path: Path) -> None:
    samples = [sample(i, tmp_path) for i in range(3)]
    write_filter_output(tmp_path, {"skyscript-00000": samples})
    params = write_params(
        tmp_path,
        base_urls=[vllm_server.base_url],
        model=vllm_server.model,
        revision=vllm_server.revision,
        structured_output=False,
        max_tokens=16,
        timeout_s=60,
    )
    stats = caption.run(load_params(params), progress=False)
    # random weights and no grammar: the text is not JSON, every reply is dropped with a reason
    assert stats.read == 3 and stats.kept == 0 and dict(stats.dropped) == {"garbled_reply": 3}
    assert all(r["detail"] for r in outputs(tmp_path, "dropped"))


def test_offline_engine_failure_fails_its_requests(tmp_path: Path) -> None:
    """A worker that cannot run (here: an interpreter without vLLM) fails every request."""
    write_filter_output(tmp_path, {"skyscript-00000": [sample(i, tmp_path) for i in range(2)]})
    launch = {"model_path": "m", "python": sys.executable, "log_file": str(tmp_path / "w.log")}
    params = write_params(tmp_path, engine="vllm_offline", launch=launch, max_failure_rate=1.0)
    stats = caption.run(load_params(params), progress=False)
    assert stats.read == 2 and stats.kept == 0 and dict(stats.failed) == {"engine_error": 2}
    failed = outputs(tmp_path, "failed")
    assert all("vllm" in r["message"] and "exited with 1" in r["message"] for r in failed)
    assert RequestCache(tmp_path / "cache").keys() == []  # nothing cached: retried next run


def test_client_waits_for_retry_after(tmp_path: Path) -> None:
    with StubServer() as stub:
        config = CaptionConfig(
            enabled=True, base_urls=(stub.base_url,), retries=1, backoff_s=0.01, revision=PINNED
        )
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
