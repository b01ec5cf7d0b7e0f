"""The ``fingerprint`` stage: what DVC's ingest depends on instead of the source roots.

The file must change when an enabled root's index file or a unit's file changes (so
``dvc repro`` re-runs ingest), stay byte-identical (and untouched) when nothing changed (so
DVC skips ingest), and never look at a disabled source's root.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from build_helpers import make_params

from eoinstruct.cli import main
from eoinstruct.sources.registry import writer

SOURCE = "bigearthnet_v1"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BigEarthNet v1's sample root alone (the other sources' roots do not exist)."""
    base = tmp_path_factory.mktemp("fingerprint")
    writer(SOURCE)(base / "sample" / SOURCE, 0)
    return base


def _fingerprint(params: Path) -> Path:
    assert main(["--params", str(params), "--no-progress", "fingerprint"]) == 0
    work = Path(yaml.safe_load(params.read_text())["paths"]["work"])
    return work / "sources.json"


def _bump(path: Path, data: bytes | None = None) -> None:
    """Rewrite a file (same bytes unless given) with a later modification time."""
    st = path.stat()
    path.write_bytes(path.read_bytes() if data is None else data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_fingerprint_tracks_index_and_unit_files_and_skips_disabled_roots(sample: Path) -> None:
    params = make_params(sample, sources=(SOURCE,))
    out = _fingerprint(params)
    first = out.read_bytes()
    doc = json.loads(first)
    # only the enabled source, with its units and every file it stat'ed
    assert list(doc["sources"]) == [SOURCE]
    entry = doc["sources"][SOURCE]
    root = sample / "sample" / SOURCE
    patches = [p for d in root.iterdir() if d.is_dir() for p in d.iterdir() if p.is_dir()]
    assert entry["units"] == len(patches) > 0
    on_disk = sum(1 for p in root.rglob("*") if p.is_file())
    assert entry["files"] == on_disk

    # nothing changed: byte-identical and not rewritten (DVC skips ingest)
    mtime = out.stat().st_mtime_ns
    assert _fingerprint(params).read_bytes() == first and out.stat().st_mtime_ns == mtime

    # an index file at the top of the root (a split CSV) changes: so does the fingerprint
    split = sorted(root.glob("*.csv"))[0]
    _bump(split)
    second = _fingerprint(params).read_bytes()
    assert second != first

    # a band file inside a patch folder is rewritten: the fingerprint changes again
    band = sorted(patches[0].glob("*.tif"))[0]
    _bump(band)
    third = _fingerprint(params).read_bytes()
    assert third not in (first, second)


def test_an_enabled_source_without_root_fails_with_one_line(sample: Path, capsys) -> None:
    params_path = make_params(sample, sources=("xbd",))
    assert main(["--params", str(params_path), "--no-progress", "fingerprint"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "xbd" in err[0]


def test_a_changed_split_list_reaches_the_ingested_samples(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    writer(SOURCE)(tmp_path / "sample" / SOURCE, 0)
    params = make_params(tmp_path, sources=(SOURCE,))
    argv = ["--params", str(params), "--no-progress", "ingest"]
    work = Path(yaml.safe_load(params.read_text())["paths"]["work"])

    def splits() -> dict[str, str]:
        rows = [
            r
            for p in sorted((work / "ingest" / "samples").glob("*.parquet"))
            for r in pq.read_table(p, columns=["native_id", "split"]).to_pylist()
        ]
        return {r["native_id"]: r["split"] for r in rows}

    assert main(argv) == 0
    before = splits()
    root = tmp_path / "sample" / SOURCE
    val, test = root / "bigearthnet-val.csv", root / "bigearthnet-test.csv"
    line = val.read_text().splitlines()[0]
    moved = line.split(",")[0]  # S2 patch name, its S1 partner
    assert before[moved] == "validation"
    # one validation patch moves to the test list: only index files change, no unit file
    _bump(val, "".join(f"{n}\n" for n in val.read_text().splitlines()[1:]).encode())
    _bump(test, (test.read_text() + f"{line}\n").encode())
    assert main(argv) == 0
    after = splits()
    pair = set(line.split(","))  # the S2 patch and its S1 partner move together
    assert {after[name] for name in pair} == {"test"}
    assert {k: v for k, v in after.items() if k not in pair} == {
        k: v for k, v in before.items() if k not in pair
    }
