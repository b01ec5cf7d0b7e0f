"""Benchmark of the caption stage against a server with a fixed latency: does it keep it full?

A local aiohttp server (its own process, 127.0.0.1, unlimited connections) answers every
chat-completions request after exactly ``--latency-s`` seconds, as a GPU server with a full
batch would, and logs every change of the number of requests it holds. The caption stage
(``pipeline.stages.caption.run``, the real stage: partitions, stream, cache, pairs, commits)
captions ``--samples`` distinct images over ``--partitions`` partitions against it. Measured:

- **sustained in-flight**: the time-weighted mean number of requests the server holds, from one
  latency after the first request (ramp-up) to the arrival of the last one (after which only the
  final drain is left), as a share of ``concurrency``; and its minimum over the same span (a
  barrier between partitions would show as a dip towards zero);
- **throughput** (requests per second over the whole run) and the ideal
  ``concurrency / latency``; the client's CPU per request (this process: building bodies,
  sending, parsing, caching, writing the partitions);
- **peak RSS for 1,000 samples in one partition** (a child process per measurement, 512 px
  images), for this tree and, with ``--before PATH``, for another checkout (e.g. the main
  branch before the stream), so that bodies built up front show against bodies built in time.

The JSON (``benchmarks/captioner_results.json``, read by ``dvc metrics``) also holds the
**projection** of H100-hours for 7.6 M captions at the default settings (see
:func:`projection` for its basis and citation).

Usage::

    .venv/bin/python benchmarks/captioner_bench.py [--samples 600 --partitions 8
        --concurrency 128 --latency-s 4.0 0.2] [--before ../other-checkout] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from PIL import Image

if TYPE_CHECKING:
    from eoinstruct.pipeline.records import Sample

REPO = Path(__file__).resolve().parents[1]
PINNED = "0" * 40
REPLY = {"pairs": [{"question": "What is shown?", "answer": "Farmland with a road."}]}
TAGS = {
    "center:landuse": "farmland",
    "center:crop": "maize",
    "surrounding:highway": "residential (3); footway (1)",
    "surrounding:building": "house (2)",
}


# -- the fixed-latency server ------------------------------------------------------------------


def _serve(port: int, latency_s: float) -> None:
    import asyncio

    from aiohttp import web

    events: list[tuple[float, int]] = []  # (time, requests held) at every change
    arrivals: list[float] = []
    state = {"active": 0}

    def change(delta: int) -> None:
        state["active"] += delta
        events.append((time.monotonic(), state["active"]))

    async def completions(request: web.Request) -> web.Response:
        await request.read()
        arrivals.append(time.monotonic())
        change(+1)
        try:
            await asyncio.sleep(latency_s)
        finally:
            change(-1)
        body = {
            "id": "bench",
            "object": "chat.completion",
            "model": "bench",
            "usage": {"prompt_tokens": 0, "completion_tokens": 12},
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": json.dumps(REPLY)},
                    "finish_reason": "stop",
                }
            ],
        }
        return web.json_response(body)

    async def stats(request: web.Request) -> web.Response:
        data = {"events": events, "arrivals": arrivals}
        return web.json_response(data)

    async def reset(request: web.Request) -> web.Response:
        events.clear()
        arrivals.clear()
        return web.json_response({})

    app = web.Application(client_max_size=256 * 1024**2)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/stats", stats)
    app.router.add_get("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


class FixedLatencyServer:
    """The server in a spawned process (context manager)."""

    def __init__(self, latency_s: float) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=_serve, args=(self.port, latency_s), daemon=True)

    @property
    def base_url(self) -> str:
        """API root."""
        return f"http://127.0.0.1:{self.port}/v1"

    def get(self, path: str) -> Any:
        """GET a JSON endpoint of the server."""
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
            return json.loads(r.read())

    def __enter__(self) -> FixedLatencyServer:
        self.process.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the fixed-latency server did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)


def in_flight(
    events: list[list[float]], arrivals: list[float], latency_s: float
) -> dict[str, float]:
    """Time-weighted in-flight requests between ramp-up and drain.

    Args:
        events: ``(time, requests held)`` at every change.
        arrivals: Arrival time of every request.
        latency_s: The server's latency (the ramp-up excluded is one latency).

    Returns:
        Mean and minimum held over ``[first arrival + latency, last arrival]``, that span,
        and the mean over the whole run.
    """
    start, end = arrivals[0] + latency_s, arrivals[-1]
    weighted = whole = 0.0
    low = float("inf")
    for (t, held), (t_next, _) in itertools.pairwise(events):
        whole += held * (t_next - t)
        a, b = max(t, start), min(t_next, end)
        if b > a:
            weighted += held * (b - a)
            low = min(low, held)
    span = max(end - start, 1e-9)
    return {
        "window_s": round(end - start, 3),
        "mean": weighted / span,
        "min": low if low != float("inf") else 0,
        "mean_whole_run": whole / max(events[-1][0] - events[0][0], 1e-9),
    }


# -- samples as the dedup stage writes them ----------------------------------------------------


def _image(path: Path, i: int, px: int) -> None:
    """A distinct, image-like PNG: smooth structure plus a little noise (not pure noise)."""
    rng = np.random.default_rng(i)
    coarse = rng.integers(0, 255, (px // 32, px // 32, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((px, px), Image.Resampling.BILINEAR))
    noise = rng.integers(-6, 7, smooth.shape)
    Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8)).save(path)


def bench_sample(native_id: str, path: str, px: int) -> Sample:
    """A SkyScript-like training sample: one ``px``-square 8-bit RGB image and :data:`TAGS`."""
    from eoinstruct.pipeline.records import ImageRef, Labels, Sample

    return Sample(
        sample_id=f"skyscript:{native_id}",
        source="skyscript",
        native_id=native_id,
        modality="rgb",
        sensor="NAIP aerial orthophoto",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2019-06-01",),
        images=(ImageRef("image", (path,), ("R", "G", "B"), "uint8", px, px),),
        tags=dict(TAGS),
        labels=Labels(),
        licence="unknown",
        split="train",
    )


def write_samples(root: Path, n: int, partitions: int, px: int) -> None:
    """Write ``<root>/work/dedup`` with ``n`` SkyScript-like samples in ``partitions`` parts."""
    from eoinstruct.pipeline.accounting import StageStats
    from eoinstruct.pipeline.io.parquet import write_table
    from eoinstruct.pipeline.records import samples_table
    from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, run_partitions

    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(n):
        path = images / f"b{i}.png"
        _image(path, i, px)
        samples.append(bench_sample(f"b{i}", str(path), px))
    size = -(-n // partitions)
    parts = {f"skyscript-{p:05d}": samples[p * size : (p + 1) * size] for p in range(partitions)}

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        rows = parts[partition.name]
        write_table(outputs.path("kept"), samples_table(rows))
        return StageStats(read=len(rows), kept=len(rows))

    names = [Partition(name=name, source="skyscript", items=(name,)) for name in sorted(parts)]
    run_partitions("dedup", root / "work" / "dedup", names, step, {}, progress=False)


def write_params(root: Path, base_url: str, concurrency: int) -> Path:
    """A ``params.yaml`` with the caption stage on (the keys every version of it knows)."""
    params = {
        "paths": {k: str(root / k) for k in ("sample", "work", "corpus", "metrics")},
        "caption": {
            "enabled": True,
            "base_urls": [base_url],
            "model": "bench",
            "revision": PINNED,
            "concurrency": concurrency,
            "timeout_s": 600,
            "retries": 0,
            "prompt_template": "qa/2",
            "cache_dir": str(root / "cache"),
        },
    }
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


# -- measurements ------------------------------------------------------------------------------


def stream_run(
    samples: int, partitions: int, concurrency: int, latency_s: float, px: int
) -> dict[str, Any]:
    """Run the caption stage against the fixed-latency server and measure it."""
    from eoinstruct.pipeline.config import load_params
    from eoinstruct.pipeline.stages import caption

    with tempfile.TemporaryDirectory() as tmp, FixedLatencyServer(latency_s) as server:
        root = Path(tmp)
        write_samples(root, samples, partitions, px)
        params = load_params(write_params(root, server.base_url, concurrency))
        server.get("/reset")
        cpu, wall = time.process_time(), time.perf_counter()
        stats = caption.run(params, progress=False)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        log = server.get("/stats")
    held = in_flight(log["events"], log["arrivals"], latency_s)
    return {
        "samples": samples,
        "partitions": partitions,
        "concurrency": concurrency,
        "latency_s": latency_s,
        "image_px": px,
        "kept": stats.kept,
        "requests": len(log["arrivals"]),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(log["arrivals"]) / wall, 1),
        "ideal_requests_per_s": round(concurrency / latency_s, 1),
        "in_flight_mean": round(held["mean"], 1),
        "in_flight_min": held["min"],
        "in_flight_share": round(held["mean"] / concurrency, 4),
        "in_flight_window_s": held["window_s"],
        "in_flight_mean_whole_run": round(held["mean_whole_run"], 1),
        "client_cpu_ms_per_request": round(1000 * cpu / max(samples, 1), 2),
    }


RSS_CHILD = """
import sys, time
from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.stages import caption
def status(key):  # VmHWM/VmRSS: this process's own (ru_maxrss inherits the parent's at fork)
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
params = load_params(sys.argv[1])
base = status("VmRSS")
t = time.perf_counter()
stats = caption.run(params, progress=False)
print(base, status("VmHWM"), stats.kept, time.perf_counter() - t)
"""


def _commit(tree: Path) -> str:
    """The checkout's commit (short hash), so results name the code, not a local path."""
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def rss_run(
    tree: Path, samples: int, concurrency: int, latency_s: float, px: int
) -> dict[str, Any]:
    """Peak RSS of the caption stage of ``tree`` over ``samples`` samples in one partition."""
    with tempfile.TemporaryDirectory() as tmp, FixedLatencyServer(latency_s) as server:
        root = Path(tmp)
        write_samples(root, samples, 1, px)
        params = write_params(root, server.base_url, concurrency)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        out = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, str(params)],
            env=env,
            cwd=tree,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    base_kb, peak_kb, kept, seconds = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    return {
        "commit": _commit(tree),
        "samples": samples,
        "image_px": px,
        "kept": kept,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_after_imports_mb": round(base_kb / 1024, 1),
        "rss_growth_mb": round((peak_kb - base_kb) / 1024, 1),
        "wall_s": round(seconds, 2),
    }


def request_tokens(px: int) -> dict[str, Any]:
    """Tokens of one default request: image tokens after the tile cap, prompt text, reply."""
    from eoinstruct.pipeline.caption.config import CaptionConfig
    from eoinstruct.pipeline.caption.prompts import load_prompt_book, system_text, user_text
    from eoinstruct.pipeline.caption.tiles import TOKENS_PER_TILE, capped_size, internvl_tiles

    config = CaptionConfig()
    book = load_prompt_book()
    mix = book.selection(config.prompt_template)
    sample = bench_sample("t", "x.png", px)
    chars_per_token = 4.0  # English text with a BPE tokenizer, a rule of thumb
    system = sum(len(system_text(t, config)) for t in mix) / len(mix) / chars_per_token
    user = sum(len(user_text(sample, t, config)) for t in mix) / len(mix) / chars_per_token
    capped = internvl_tiles(*capped_size(px, px, config.max_dynamic_patch))
    worst = max(internvl_tiles(w, 1000) for w in range(100, 13000, 50))
    return {
        "image_tokens_capped": capped * TOKENS_PER_TILE,
        "image_tokens_uncapped_square_2048px": internvl_tiles(2048, 2048) * TOKENS_PER_TILE,
        "image_tokens_uncapped_worst": worst * TOKENS_PER_TILE,
        "system_tokens_prefix_cached": round(system),
        "user_text_tokens": round(user),
        "chat_template_tokens": 20,
        "reply_tokens_max": round(config.max_tokens * config.chars_per_token / chars_per_token),
        "chars_per_token_assumed": chars_per_token,
    }


THROUGHPUT: dict[str, Any] = {
    "figure_output_tokens_per_s": 8088.35,
    "mean_input_tokens": 215,
    "mean_output_tokens": 198,
    "what": "vLLM v0.6.0 (num-scheduler-steps 10, max-num-seqs 256), Llama 3.1 8B, 1x H100 80GB "
    "SXM, 5,000 ShareGPT prompts at rps=inf: 8,088 output tokens/s",
    "source": "https://github.com/LambdaLabsML/vllm-benchmark/blob/main/benchmark_v0.md",
    "sharegpt_lengths_source": "vLLM benchmark_serving on ShareGPT V3: ~215 input and ~198 "
    "output tokens per request (the benchmark's usual sample)",
}
"""The published throughput the projection scales (an 8B text model: InternVL2-4B's language
model, Phi-3-mini 3.8B, decodes faster, which the projection does not credit)."""

CAPTIONS = 7_600_000
VIT_MS_PER_TILE = 1.5
"""InternViT-300M on one 448-px tile: 2 x 0.3 G parameters x 1,025 patches = 0.6 TFLOP, at
~400 dense bf16 TFLOP/s on an H100 (a stated estimate, not a citation)."""


def projection(tokens: dict[str, Any]) -> dict[str, Any]:
    """H100-hours for :data:`CAPTIONS` captions at the default settings.

    Basis: the cited H100 rate is 8,088 output tokens/s on requests of ~215 input and ~198
    output tokens, i.e. 16,870 tokens/s of prompt + reply. Every token of a caption request
    that is not prefix-cached (image tokens after the tile cap, user text, chat template,
    the reply at its ``max_tokens`` bound) is charged at that rate — conservative, since a
    prefill token costs far less than a decoded one — plus the vision encoder per tile.
    """
    per_s = THROUGHPUT["figure_output_tokens_per_s"] * (
        (THROUGHPUT["mean_input_tokens"] + THROUGHPUT["mean_output_tokens"])
        / THROUGHPUT["mean_output_tokens"]
    )
    text = tokens["user_text_tokens"] + tokens["chat_template_tokens"] + tokens["reply_tokens_max"]

    def hours(image_tokens: int) -> tuple[float, float]:
        tiles = image_tokens / 256
        seconds = (image_tokens + text) / per_s + tiles * VIT_MS_PER_TILE / 1000
        return 1 / seconds, CAPTIONS * seconds / 3600

    rate, h100_hours = hours(tokens["image_tokens_capped"])
    _, uncapped = hours(tokens["image_tokens_uncapped_square_2048px"])
    _, worst = hours(tokens["image_tokens_uncapped_worst"])
    return {
        "captions": CAPTIONS,
        "basis": THROUGHPUT,
        "tokens_per_s_prompt_plus_reply": round(per_s),
        "tokens_per_request": tokens,
        "requests_per_s_per_h100": round(rate, 1),
        "h100_hours": round(h100_hours, 1),
        "h100_hours_without_tile_cap_square_2048px": round(uncapped, 1),
        "h100_hours_without_tile_cap_worst_case": round(worst, 1),
        "target_h100_hours": 100,
        "concurrency_needed": "at the default 128 in flight: a request may take up to "
        f"{128 / rate:.1f} s and the server still never waits on the client",
    }


def _rss(args: argparse.Namespace) -> dict[str, Any]:
    rss = {"after": rss_run(REPO, args.rss_samples, args.concurrency, 0.05, args.image_px)}
    if args.before is not None:
        rss["before"] = rss_run(
            args.before, args.rss_samples, args.concurrency, 0.05, args.image_px
        )
    return rss


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its JSON.

    Args:
        argv: Command-line arguments.

    Returns:
        The results.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument(
        "--latency-s",
        type=float,
        nargs="+",
        default=[4.0, 0.2],
        help="one run per latency (the first is the headline: about what a GPU server takes "
        "per request with 128 in flight, see the projection)",
    )
    parser.add_argument("--image-px", type=int, default=512)
    parser.add_argument("--rss-samples", type=int, default=1000)
    parser.add_argument("--before", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--no-rss", action="store_true")
    parser.add_argument(
        "--rss-only", action="store_true", help="redo only the RSS part of an existing --out"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/captioner_results.json"))
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    if args.rss_only:
        results: dict[str, Any] = json.loads(args.out.read_text())
        results["rss_1000_samples_one_partition"] = _rss(args)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(json.dumps(results["rss_1000_samples_one_partition"], indent=1))
        return results
    streams = [
        stream_run(args.samples, args.partitions, args.concurrency, latency, args.image_px)
        for latency in args.latency_s
    ]
    rss = {} if args.no_rss else _rss(args)
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
            "peak_rss_this_process_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
        },
        "stream": streams[0],
        "stream_other_latencies": streams[1:],
        "rss_1000_samples_one_partition": rss,
        "projection": projection(request_tokens(args.image_px)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
