"""Ingest's plan: a partition's signature changes exactly when one of its units' files does.

The signature holds a digest of the units' ``path:size:mtime_ns`` lines (not the lines), so
a rewritten file redoes its partition and only it; an index file at the root redoes them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from build_helpers import make_params

from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.stages import ingest
from eoinstruct.sources.registry import writer

SOURCE = "bigearthnet_v1"


def _bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_signatures_follow_the_units_files(tmp_path: Path) -> None:
    writer(SOURCE)(tmp_path / "sample" / SOURCE, 0)
    params = load_params(make_params(tmp_path, sources=(SOURCE,))).with_overrides(
        {"ingest.partition_size": 4}
    )

    def signatures() -> dict[str, str]:
        _, partitions = ingest.plan(params)
        return {p.name: p.signature for p in partitions}

    first = signatures()
    assert len(first) > 2 and signatures() == first  # nothing changed: the same
    _, partitions = ingest.plan(params)
    unit = partitions[1].items[0]
    sensor, _, patch = unit.partition("/")
    folder = "BigEarthNet-v1.0" if sensor == "s2" else "BigEarthNet-S1-v1.0"
    _bump(sorted((tmp_path / "sample" / SOURCE / folder / patch).iterdir())[0])
    second = signatures()
    assert [n for n in first if first[n] != second[n]] == [partitions[1].name]
    _bump(next((tmp_path / "sample" / SOURCE).glob("*.csv")))
    third = signatures()
    assert all(third[n] != second[n] for n in first)
