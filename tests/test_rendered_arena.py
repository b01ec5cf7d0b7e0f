"""Rendered files written through the reused arena: the same bytes as from new buffers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eoinstruct.pipeline.io import rendered
from eoinstruct.pipeline.io.rendered import (
    load_rendered,
    rendered_table,
    write_rendered,
    write_rendered_rows,
)


def _rows(seed: int, count: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for index in range(count):
        array = rng.integers(0, 60000, (2, 7, int(rng.integers(1, 9))), dtype=np.uint16)
        png = (rng.bytes(int(rng.integers(0, 300))), rng.bytes(5), b"")
        rows.append(
            {
                "sample_id": f"s:{index}",
                "role": "image",
                "png": None if index % 5 == 3 else png,
                "npy": None if index % 3 else (b"head", array.data.cast("B")),
                "array_info": None if index % 3 else "{}",
                "histograms": "{}",
                "error_kind": "missing_band" if index % 5 == 3 else None,
            }
        )
    return rows


def test_arena_writes_the_bytes_of_new_buffers(tmp_path: Path) -> None:
    # several tables in turn (the arena grows, then is reused): each file as without it
    for turn, count in enumerate((70, 3, 130, 0, 64)):
        rows = _rows(turn, count)
        expected, got = tmp_path / f"new{turn}.arrow", tmp_path / f"arena{turn}.arrow"
        write_rendered(expected, rendered_table(rows))
        write_rendered_rows(got, rows)
        assert got.read_bytes() == expected.read_bytes()
        assert sorted(load_rendered(got, {f"s:{i}" for i in range(count)})) == sorted(
            f"s:{i}" for i in range(count)
        )
    arena = rendered._thread_arena()
    assert arena.memory.size > 0 and arena.used <= arena.memory.size
