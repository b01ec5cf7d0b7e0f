"""Hostile inputs fail their unit quickly and clearly: Pillow's bomb limit, bounded ``repr``
in messages, JSON nested too deeply."""

from __future__ import annotations

import io
import json
import pickle
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from eoinstruct.pipeline.io.rasters import RasterReadError, _read_pillow
from eoinstruct.sources.base import MESSAGE_CHARS, SourceError, json_loads, short_repr
from eoinstruct.sources.satlas.images import _header
from eoinstruct.sources.skyscript.meta import RestrictedUnpickler, parse_meta
from eoinstruct.sources.xbd.labels import _read_label


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A real 1 x 1 PNG whose header claims another size (CRC fixed)."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    start = data.index(b"IHDR")
    data[start + 4 : start + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[start : start + 17]))
    data[start + 17 : start + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("side", [50_000, 10_000])  # over twice the limit; over it, under twice
def test_a_png_header_over_pillows_limit_fails_its_unit(tmp_path: Path, side: int) -> None:
    png = _png_claiming(tmp_path / "big.png", side, side)
    start = time.monotonic()
    with pytest.raises(RasterReadError) as caught:
        _read_pillow(png)
    assert caught.value.kind == "too_large" and time.monotonic() - start < 2
    with pytest.raises(SourceError) as header:
        _header(png, ("RGB",), "tile", "missing_file")
    assert header.value.kind == "corrupt_raster"


def test_messages_show_a_bounded_repr_of_a_shared_reference_bomb(tmp_path: Path) -> None:
    nested: list[object] = [0]
    for _ in range(30):
        nested = [nested] * 1000  # 1000**30 leaves, a few kB pickled
    blob = pickle.dumps({"box": nested, "time": nested}, protocol=4)
    assert len(blob) < 200_000
    data = RestrictedUnpickler(io.BytesIO(blob)).load()
    start = time.monotonic()
    with pytest.raises(SourceError) as caught:
        parse_meta(data, tmp_path / "x.pickle", "unit")
    assert time.monotonic() - start < 1 and len(str(caught.value)) < 400
    assert len(short_repr(nested)) <= 120 and len(short_repr("x" * 10_000, 50)) == 50


def test_source_error_messages_are_bounded() -> None:
    assert len(str(SourceError("bad_metadata", "x" * 100_000))) == MESSAGE_CHARS


def test_json_nested_too_deeply_is_a_decoding_error(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        json_loads(deep)
    assert json_loads('{"a": [1, 2]}') == {"a": [1, 2]}
    label = tmp_path / "label.json"
    label.write_text('{"features": ' + deep + "}")
    with pytest.raises(SourceError) as caught:
        _read_label(label, "unit")
    assert caught.value.kind == "malformed_label"
