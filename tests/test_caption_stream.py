"""The captioner's stream and tile cap: one window of requests across partitions, bodies built
just in time, partitions committed in order, and images sent within ``max_dynamic_patch``."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from caption_helpers import sample, write_filter_output, write_params
from PIL import Image
from vlm_server import StubServer

from eoinstruct.pipeline.caption import stream as stream_module
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import build_request, caption_bytes, load_prompts
from eoinstruct.pipeline.caption.tiles import (
    TOKENS_PER_TILE,
    capped_size,
    internvl_grid,
    internvl_tiles,
)
from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.render import render_png
from eoinstruct.pipeline.stages import caption

QA = load_prompts()["qa/2"]


def _sent_image(body: dict) -> Image.Image:
    url = body["messages"][1]["content"][0]["image_url"]["url"]
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def _big(tmp_path: Path, width: int, height: int) -> Path:
    rng = np.random.default_rng(width + height)
    path = tmp_path / f"big{width}x{height}.png"
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
    return path


# --------------------------------------------------------------------------- tile cap


def test_internvl_tiling_rule() -> None:
    # InternVL2's dynamic_preprocess: closest grid ratio, the larger grid on a tie when the
    # image covers more than half of it, plus a thumbnail when there are several tiles
    assert internvl_grid(448, 448) == (1, 1) and internvl_tiles(448, 448) == 1
    assert internvl_grid(633, 633) == (1, 1)  # area just under half of a 2x2 grid
    assert internvl_grid(634, 634) == (2, 2) and internvl_tiles(634, 634) == 5
    assert internvl_grid(1024, 1024) == (3, 3) and internvl_tiles(1024, 1024) == 10
    assert internvl_grid(896, 448) == (2, 1) and internvl_tiles(896, 448) == 3
    assert internvl_grid(1024, 1024, max_num=4) == (2, 2)
    # the worst case the issue measured: 12 tiles + thumbnail = 3,328 image tokens
    assert max(internvl_tiles(w, 1000) for w in range(100, 13000, 50)) * TOKENS_PER_TILE == 3328


@pytest.mark.parametrize("cap", [1, 2, 4, 12])
@pytest.mark.parametrize("size", [(1024, 1024), (2000, 1500), (640, 700), (300, 300)])
def test_capped_size_is_the_largest_within_the_cap(cap: int, size: tuple[int, int]) -> None:
    width, height = size
    target = capped_size(width, height, cap)
    assert target[0] <= width and target[1] <= height
    if internvl_tiles(width, height) <= cap:
        assert target == size  # never resized when within the cap
    elif internvl_tiles(width / 1e3, height / 1e3) <= cap:  # a size exists that fits
        assert internvl_tiles(*target) <= cap
        longer = (target[0] + 2, round((target[0] + 2) * height / width))
        assert internvl_tiles(*longer) > cap  # and it is the largest one
    else:  # the aspect ratio alone picks a bigger grid: at most cap tiles' pixels
        assert target[0] * target[1] <= cap * 448 * 448


@pytest.mark.parametrize("cap", [1, 4])
def test_the_sent_image_respects_the_cap(cap: int, tmp_path: Path) -> None:
    config = CaptionConfig(enabled=True, revision="f" * 40, max_dynamic_patch=cap)
    plain = sample(0, tmp_path)
    path = _big(tmp_path, 800, 800)
    image = dataclasses.replace(plain.images[0], files=(str(path),), width=800, height=800)
    big = dataclasses.replace(plain, images=(image,))
    request = build_request(big, QA, config)
    sent = _sent_image(dict(request.body))
    assert internvl_tiles(sent.width, sent.height) <= cap
    assert internvl_tiles(sent.width, sent.height) * TOKENS_PER_TILE <= cap * 256
    assert sent.width == sent.height and 448 <= sent.width < 800
    # an image within the cap is sent as its own bytes; no cap: the original size
    small = sample(1, tmp_path)
    url = build_request(small, QA, config).body["messages"][1]["content"][0]["image_url"]["url"]
    assert base64.b64decode(url.split(",", 1)[1]) == Path(small.images[0].files[0]).read_bytes()
    uncapped = build_request(big, QA, CaptionConfig(enabled=True, max_dynamic_patch=0))
    assert _sent_image(dict(uncapped.body)).size == (800, 800)


# --------------------------------------------------------------------------- stream


def test_requests_stream_across_partitions_without_a_barrier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 samples in 4 partitions of 3, concurrency 8: 8 in flight at once (a barrier per
    partition would allow 3), at most concurrency + 1 bodies built and unanswered, and the
    partitions written in order with their own samples in file order."""
    parts = {
        f"skyscript-{p:05d}": [sample(3 * p + i, tmp_path) for i in range(3)] for p in range(4)
    }
    write_filter_output(tmp_path, parts)
    built: list[int] = []
    lock = threading.Lock()
    real_prepare = stream_module.prepare

    with StubServer(delay_s=0.4) as stub:

        def prepare(*args: object, **kwargs: object) -> object:
            with lock:
                built.append(len(built) + 1 - sum(stub.answered.values()))
            return real_prepare(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(stream_module, "prepare", prepare)
        params = write_params(tmp_path, base_urls=[stub.base_url], concurrency=8, timeout_s=10)
        stats = caption.run(load_params(params), progress=False)
    assert stats.read == 12 and stats.kept == 12
    assert stub.peak_active == 8
    assert len(built) == 12 and max(built) <= 8 + 2  # +1 waiting for a slot, +1 reply racing
    for name, samples in parts.items():
        rows = pq.read_table(
            tmp_path / "work" / "caption" / "pairs" / f"{name}.parquet"
        ).to_pylist()
        assert [r["sample_id"] for r in rows] == [s.sample_id for s in samples]
    done = tmp_path / "work" / "caption" / "_done"
    records = [json.loads(p.read_text()) for p in sorted(done.glob("*.json"))]
    assert [r["stats"]["kept"] for r in records] == [3, 3, 3, 3]
    assert sum(r["stats"]["produced"]["requests"] for r in records) == 12


def test_a_partition_done_before_is_not_asked_again_and_later_ones_stream(
    tmp_path: Path,
) -> None:
    parts = {
        f"skyscript-{p:05d}": [sample(4 * p + i, tmp_path) for i in range(4)] for p in range(3)
    }
    write_filter_output(tmp_path, {"skyscript-00000": parts["skyscript-00000"]})
    with StubServer() as stub:
        params = load_params(write_params(tmp_path, base_urls=[stub.base_url], concurrency=16))
        assert caption.run(params, progress=False).kept == 4
        write_filter_output(tmp_path, parts)
        (tmp_path / "cache").rename(tmp_path / "old-cache")  # nothing can come from the cache
        stats = caption.run(params, progress=False)
    assert stats.kept == 12 and sum(stub.requests.values()) == 4 + 8
    assert stats.produced["cache_hits"] == 0


def test_a_png_is_sent_as_is_and_a_damaged_one_fails_with_its_kind(tmp_path: Path) -> None:
    good = sample(0, tmp_path)
    image = good.images[0]
    assert caption_bytes(image) == render_png(image)  # the file's own bytes, checked
    data = Path(image.files[0]).read_bytes()
    for name, broken in (("cut", data[: len(data) // 2]), ("flip", _flip(data, len(data) // 2))):
        path = tmp_path / f"{name}.png"
        path.write_bytes(broken)
        with pytest.raises(RasterReadError) as caught:
            caption_bytes(dataclasses.replace(image, files=(str(path),)))
        assert caught.value.kind == "corrupt_raster"
    with pytest.raises(RasterReadError) as caught:
        caption_bytes(dataclasses.replace(image, files=(str(tmp_path / "gone.png"),)))
    assert caught.value.kind == "missing_file"
    # the stage records the failure and goes on with the other samples
    cut = dataclasses.replace(image, files=(str(tmp_path / "cut.png"),))
    write_filter_output(
        tmp_path,
        {"skyscript-00000": [dataclasses.replace(good, images=(cut,)), sample(1, tmp_path)]},
    )
    with StubServer() as stub:
        stats = caption.run(load_params(write_params(tmp_path, base_urls=[stub.base_url])), False)
    assert stats.kept == 1 and dict(stats.failed) == {"corrupt_raster": 1}


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
