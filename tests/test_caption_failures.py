"""The captioner against failing servers: failed samples are asked again by the next run,
the stage fails above ``caption.max_failure_rate``, a circuit breaker stops a run against a
dead server quickly with one message, and ``Retry-After`` is honoured (seconds or a date).
"""

from __future__ import annotations

import email.utils
import json
import socket
import time
from pathlib import Path

import pytest
from caption_helpers import PINNED, outputs, sample, write_filter_output, write_params
from vlm_server import StubServer

from eoinstruct.cli import main
from eoinstruct.pipeline.caption.client import CaptionClient, CircuitBreaker, _retry_after
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import build_request, load_prompts
from eoinstruct.pipeline.config import ConfigError, load_params
from eoinstruct.pipeline.errors import StageFailed
from eoinstruct.pipeline.stages import caption

QA = load_prompts()["qa/2"]


def _dead_url() -> str:
    """The URL of a port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _parts(tmp_path: Path, n_parts: int, per_part: int) -> None:
    write_filter_output(
        tmp_path,
        {
            f"skyscript-{p:05d}": [sample(per_part * p + i, tmp_path) for i in range(per_part)]
            for p in range(n_parts)
        },
    )


def test_dead_server_stops_the_run_quickly_and_a_later_run_asks_again(tmp_path: Path) -> None:
    _parts(tmp_path, n_parts=3, per_part=4)
    params = write_params(
        tmp_path, base_urls=[_dead_url()], retries=3, backoff_s=0.05, circuit_breaker=6
    )
    start = time.monotonic()
    with pytest.raises(StageFailed, match="not answering") as caught:
        caption.run(load_params(params), progress=False)
    assert time.monotonic() - start < 10
    assert "\n" not in str(caught.value) and "re-run" in str(caught.value)
    failed = outputs(tmp_path, "failed")
    assert len(failed) == 12
    # the breaker opened in the first partition: the later ones sent (and rendered) nothing
    kinds = {r["item"]: r["kind"] for r in failed}
    assert kinds["skyscript:img11"] == "server_unavailable"
    # the server is back: the next run asks every failed sample, nothing else
    with StubServer() as stub:
        again = write_params(tmp_path, base_urls=[stub.base_url], retries=0)
        stats = caption.run(load_params(again), progress=False)
        assert stats.kept == 12 and stats.read == 12 and not stats.failed
        assert sum(stub.requests.values()) == 12
        # now all are final (kept): a third run sends nothing and redoes no partition
        third = caption.run(load_params(again), progress=False)
        assert third.kept == 12 and sum(stub.requests.values()) == 12
    timings = json.loads((tmp_path / "work" / "_state" / "caption" / "_timings.json").read_text())
    assert timings["redone"] == 0


def test_failed_samples_are_retried_next_run_and_the_rate_fails_the_stage(
    tmp_path: Path,
) -> None:
    # sample 1 fails its 3 attempts (retries=2) in the first run, then succeeds
    samples = [sample(i, tmp_path, fault="500,500,500,ok" if i == 1 else "") for i in range(4)]
    write_filter_output(tmp_path, {"skyscript-00000": samples})
    with StubServer() as stub:
        params = write_params(tmp_path, base_urls=[stub.base_url], max_failure_rate=0.2)
        with pytest.raises(StageFailed, match="max_failure_rate"):
            caption.run(load_params(params), progress=False)
        assert {r["item"]: r["kind"] for r in outputs(tmp_path, "failed")} == {
            "skyscript:img1": "server_error"
        }
        assert sum(stub.requests.values()) == 3 + 3
        stats = caption.run(load_params(params), progress=False)
        # only the failed sample was sent again; the answered ones came from the cache
        assert sum(stub.requests.values()) == 3 + 3 + 1
        assert stats.kept == 4 and stats.produced["cache_hits"] == 3 and not stats.failed
    assert outputs(tmp_path, "failed") == []


def test_failures_under_the_rate_pass_and_the_cli_reports_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = [sample(i, tmp_path, fault="500" if i == 0 else "") for i in range(4)]
    write_filter_output(tmp_path, {"skyscript-00000": samples})
    with StubServer() as stub:
        params = write_params(tmp_path, base_urls=[stub.base_url], max_failure_rate=0.25)
        stats = caption.run(load_params(params), progress=False)
        assert stats.kept == 3 and dict(stats.failed) == {"server_error": 1}
        params = write_params(tmp_path, base_urls=[stub.base_url], max_failure_rate=0.1)
        assert main(["--params", str(params), "--no-progress", "caption"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("eoinstruct caption: error: 1 of 4 captioned samples failed")
    assert not any("Traceback" in line for line in err)


def test_breaker_counts_only_signs_of_a_dead_server() -> None:
    breaker = CircuitBreaker(3)
    breaker.failed("a")
    breaker.failed("b")
    breaker.replied()
    breaker.failed("c")
    breaker.failed("d")
    assert not breaker.open
    breaker.failed("e")
    assert breaker.open and "3 consecutive" in breaker.reason and "e" in breaker.reason
    never = CircuitBreaker(0)
    for _ in range(100):
        never.failed("x")
    assert not never.open


def test_busy_server_429_does_not_open_the_breaker(tmp_path: Path) -> None:
    with StubServer() as stub:
        config = CaptionConfig(
            enabled=True,
            base_urls=(stub.base_url,),
            retries=1,
            backoff_s=0.01,
            revision=PINNED,
            circuit_breaker=1,
        )
        request = build_request(sample(0, tmp_path, fault="429,ok"), QA, config)
        client = CaptionClient(config, None)
        results = client.fetch_sync([request])
    assert not client.breaker.open and not hasattr(results[request.key], "kind")


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert _retry_after("3") == 3.0
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (_retry_after(soon) or 0) <= 30
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after("soon") is None and _retry_after(None) is None
    assert _retry_after("99999") == 300.0


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        CaptionConfig.from_mapping({"max_failure_rate": 1.5})
    with pytest.raises(ConfigError):
        CaptionConfig.from_mapping({"circuit_breaker": -1})
