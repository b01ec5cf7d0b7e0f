"""Benchmark of the captioner's client: requests per second and overhead per request.

By default it starts a fast local stub (an aiohttp server in its own process that answers every
chat-completions request at once with a fixed JSON reply), so what is measured is the client:
building requests (rendering, base64, cache key), sending them under the concurrency limit,
parsing the replies, and serving them again from the request cache. With ``--base-url`` it
measures a running server instead (e.g. vLLM on the CPU with the tiny test model).

Usage::

    .venv/bin/python benchmarks/captioner_bench.py [--requests 1000] \\
        [--out benchmarks/captioner_results.json]
    .venv/bin/python benchmarks/captioner_bench.py --base-url http://127.0.0.1:8000/v1 \\
        --model tiny-vlm --requests 64 --concurrency 1 8 --max-tokens 16

The results go to a JSON file (DVC can read it as metrics): per concurrency level, requests
per second, wall seconds, and the client's CPU seconds per request (its overhead: what each
request costs the machine that runs the captioner, independent of the server's latency).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eoinstruct.pipeline.caption.cache import Reply, RequestCache
from eoinstruct.pipeline.caption.client import CaptionClient
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import build_request, load_prompts
from eoinstruct.pipeline.caption.replies import ReplyRejected, parse_reply
from eoinstruct.pipeline.records import ImageRef, Labels, Sample

BENCH_TEMPLATE = "qa/2"
"""The prompt template of the benchmark's requests (the stub answers QA JSON)."""

REPLY = {
    "id": "bench",
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": json.dumps(
                    {"pairs": [{"question": "What is shown?", "answer": "Farmland and a road."}]}
                ),
            },
            "finish_reason": "stop",
        }
    ],
}


def _serve_stub(port: int) -> None:
    from aiohttp import web

    payload = json.dumps(REPLY).encode()

    async def completions(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=payload, content_type="application/json")

    app = web.Application(client_max_size=64 * 1024**2)
    app.router.add_post("/v1/chat/completions", completions)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"stub did not start on port {port}")


def make_samples(folder: Path, n: int, size: int) -> list[Sample]:
    """Write ``n`` distinct RGB PNGs of ``size`` px and return samples pointing at them."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    samples = []
    for i in range(n):
        path = folder / f"b{i}.png"
        image = base.copy()
        image[0, :8] = np.frombuffer(i.to_bytes(24, "little"), dtype=np.uint8).reshape(8, 3)
        Image.fromarray(image).save(path)
        samples.append(
            Sample(
                sample_id=f"skyscript:b{i}",
                source="skyscript",
                native_id=f"b{i}",
                modality="rgb",
                sensor="NAIP aerial orthophoto",
                bands=("R", "G", "B"),
                gsd_m=1.0,
                crs="EPSG:4326",
                footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
                acquired=("2019",),
                images=(ImageRef("image", (str(path),), ("R", "G", "B"), "uint8", size, size),),
                tags={"center:landuse": "farmland", "osm:highway": "residential", "n": str(i)},
                labels=Labels(),
                licence="unknown",
            )
        )
    return samples


def run_level(
    config: CaptionConfig, requests: list[Any], cache: RequestCache | None
) -> dict[str, float]:
    """Send all requests at one concurrency level and time it."""
    client = CaptionClient(config, cache)
    cpu, wall = time.process_time(), time.perf_counter()
    results = client.fetch_sync(requests)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    template = load_prompts()[BENCH_TEMPLATE]
    parsed = 0
    for result in results.values():
        if isinstance(result, Reply):
            try:
                parse_reply(result, template)
                parsed += 1
            except ReplyRejected:
                pass
    n = len(requests)
    return {
        "concurrency": config.concurrency,
        "requests": n,
        "ok": sum(isinstance(r, Reply) for r in results.values()),
        "parsed": parsed,
        "wall_s": round(wall, 3),
        "requests_per_s": round(n / wall, 1),
        "client_cpu_ms_per_request": round(1000 * cpu / n, 3),
        "mean_latency_ms_at_this_concurrency": round(1000 * wall * config.concurrency / n, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its JSON.

    Args:
        argv: Command-line arguments.

    Returns:
        The results.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--image-px", type=int, default=224)
    parser.add_argument("--base-url", default="", help="measure this server instead of the stub")
    parser.add_argument("--model", default="bench")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--structured-output", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/captioner_results.json"))
    args = parser.parse_args(argv)

    stub = None
    base_url = args.base_url
    if not base_url:
        port = _free_port()
        stub = multiprocessing.get_context("spawn").Process(
            target=_serve_stub, args=(port,), daemon=True
        )
        stub.start()
        _wait_for(port)
        base_url = f"http://127.0.0.1:{port}/v1"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            samples = make_samples(folder, args.requests, args.image_px)
            config = CaptionConfig(
                enabled=True,
                base_urls=(base_url,),
                model=args.model,
                max_tokens=args.max_tokens,
                structured_output=args.structured_output,
                retries=0,
                timeout_s=600,
            )
            template = load_prompts()[BENCH_TEMPLATE]
            started = time.process_time()
            requests = [build_request(s, template, config) for s in samples]
            build_ms = 1000 * (time.process_time() - started) / len(requests)
            body_kb = len(json.dumps(requests[0].body)) / 1024
            levels = []
            for concurrency in args.concurrency:
                level_config = CaptionConfig(**{**config.__dict__, "concurrency": concurrency})
                levels.append(run_level(level_config, requests, None))
            cache = RequestCache(folder / "cache")
            fill = run_level(
                CaptionConfig(**{**config.__dict__, "concurrency": max(args.concurrency)}),
                requests,
                cache,
            )
            hits = run_level(config, requests, cache)
    finally:
        if stub is not None:
            stub.terminate()
            stub.join(5)
    results = {
        "target": "stub (aiohttp, separate process)" if stub is not None else base_url,
        "machine": {"cpus": multiprocessing.cpu_count(), "python": platform.python_version()},
        "image_px": args.image_px,
        "request_body_kb": round(body_kb, 1),
        "build_request_cpu_ms": round(build_ms, 3),
        "levels": levels,
        "with_cache_write": fill,
        "all_cache_hits": {"requests_per_s": hits["requests_per_s"], "wall_s": hits["wall_s"]},
        "best_requests_per_s": max(level["requests_per_s"] for level in levels),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
