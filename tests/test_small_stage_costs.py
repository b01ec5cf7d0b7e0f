"""Fixed costs of the small stages: samples passed through as columns, the same bytes.

enrich (OSM off), filter and dedup write the samples they keep by taking rows of the input
table instead of rebuilding one :class:`Sample` per row; these tests check that gives the
same file bytes as ``samples_table`` of the same samples, without importing
``pyarrow.compute``; and that the C YAML loader reads the project's YAML as PyYAML's
``safe_load`` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eoinstruct.pipeline.config import safe_load_yaml
from eoinstruct.pipeline.io.parquet import (
    iter_samples,
    read_samples_table,
    take_rows,
    write_table,
)
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample, samples_table
from eoinstruct.pipeline.run.partitions import read_record, write_state_file
from eoinstruct.templates import TEMPLATE_DIR

REPO = Path(__file__).resolve().parent.parent


def _samples(n: int) -> list[Sample]:
    """Varied samples: lists, maps, objects with boxes, nulls (gsd), empty and full fields."""
    out = []
    for i in range(n):
        bands = ("B02", "B03", "B04")[: 1 + i % 3]
        objects = tuple(
            ObjectLabel("building", ("no-damage", "destroyed")[k % 2], "post", (k, 2.5, k + 9, 30))
            for k in range(i % 4)
        )
        out.append(
            Sample(
                sample_id=f"src:s{i:03d}",
                source="src",
                native_id=f"s{i:03d}",
                modality=("rgb", "multispectral", "sar")[i % 3],
                sensor="" if i % 5 == 0 else "Sentinel-2 MSI",
                bands=bands,
                gsd_m=None if i % 7 == 0 else 10.0 + i,
                crs="EPSG:32633",
                footprint_wkt="" if i % 6 == 0 else f"POLYGON (({i} 0, {i + 1} 0, {i} 1, {i} 0))",
                acquired=tuple(f"2021-0{1 + k}-01T00:00:00Z" for k in range(i % 3)),
                images=(
                    ImageRef("image", tuple(f"{b}.tif" for b in bands), bands, "uint8", 120, 120),
                ),
                tags={f"k{k}": f"v{i}" for k in range(i % 4)},
                labels=Labels(
                    scheme="clc43" if i % 2 else "",
                    classes=tuple(f"class {k}" for k in range(i % 5)),
                    objects=objects,
                    properties={"patch": str(i)} if i % 3 else {},
                ),
                licence="CC-BY-4.0",
                split=("", "train", "test")[i % 3],
            )
        )
    return out


@pytest.mark.parametrize("pick", ["none", "first", "runs", "all_but_one", "all"])
def test_taken_rows_write_the_bytes_of_the_rebuilt_samples(tmp_path: Path, pick: str) -> None:
    samples = _samples(40)
    n = len(samples)
    rows = {
        "none": [],
        "first": [0],
        "runs": [i for i in range(n) if i % 5 not in (1, 2)],
        "all_but_one": list(range(1, n)),
        "all": list(range(n)),
    }[pick]
    source = tmp_path / "in.parquet"
    write_table(source, samples_table(samples))
    taken, rebuilt = tmp_path / "taken.parquet", tmp_path / "rebuilt.parquet"
    write_table(taken, take_rows(read_samples_table(source), rows))
    write_table(rebuilt, samples_table([samples[i] for i in rows]))
    assert taken.read_bytes() == rebuilt.read_bytes()
    assert [s.sample_id for s in iter_samples(taken)] == [samples[i].sample_id for i in rows]


def test_taking_rows_imports_no_pyarrow_compute(tmp_path: Path) -> None:
    samples = _samples(10)
    source = tmp_path / "in.parquet"
    write_table(source, samples_table(samples))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from eoinstruct.pipeline.io.parquet import read_samples_table, take_rows\n"
        f"t = take_rows(read_samples_table(Path({str(source)!r})), [0, 2, 3])\n"
        "print(t.num_rows, 'pyarrow.compute' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["3", "False"]


def test_caption_stage_imports_no_rasterio_nor_pillow() -> None:
    code = (
        "import sys, eoinstruct.cli, eoinstruct.pipeline.stages.caption\n"
        "print([m for m in ('rasterio', 'PIL') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_c_yaml_loader_reads_the_project_yaml_as_safe_load() -> None:
    files = [REPO / "params.yaml", *TEMPLATE_DIR.rglob("*.yaml")]
    files += list((REPO / "pipeline").rglob("*.yaml"))
    assert len(files) > 5
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert safe_load_yaml(text) == yaml.safe_load(text), path
    with pytest.raises(yaml.YAMLError):
        safe_load_yaml("a: [1, 2\nb: c")


def test_state_file_is_renamed_into_place_and_read_back(tmp_path: Path) -> None:
    target = tmp_path / "state" / "p-00000.json"
    write_state_file(target, json.dumps({"fingerprint": "f", "seconds": 1.0}))
    write_state_file(target, json.dumps({"fingerprint": "g", "seconds": 2.0}))
    assert read_record(target.parent, "p-00000") == {"fingerprint": "g", "seconds": 2.0}
    assert [p.name for p in target.parent.iterdir()] == ["p-00000.json"]  # no temporary left
    target.write_text("{", encoding="utf-8")  # garbled by a power loss: read as missing
    assert read_record(target.parent, "p-00000") is None


def test_cli_process_skips_the_plugin_scan_until_plugins_are_allowed() -> None:
    code = (
        "import os, sys\n"
        "os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
        "import eoinstruct.cli\n"
        "from eoinstruct.pipeline.config import load_params\n"
        "load_params(eoinstruct.cli.Path('params.yaml')).settings\n"
        "print('importlib.metadata' in sys.modules)\n"
        "os.environ['PYDANTIC_DISABLE_PLUGINS'] = 'some_plugin'\n"
        "from pydantic import BaseModel\n"
        "class Late(BaseModel):\n"
        "    a: int\n"
        "print(Late(a=1).a, 'importlib.metadata' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.stdout.split() == ["False", "1", "True"]  # the real loader once allowed


def test_footprint_centres_equal_one_by_one() -> None:
    from eoinstruct.pipeline.quality.places import footprint_centre, footprint_centres

    wkts = [
        "POLYGON ((10 45, 11 45, 11 46, 10 46, 10 45))",
        "",
        "   ",
        "POLYGON EMPTY",
        "MULTIPOLYGON (((179 0, 180 0, 180 1, 179 1, 179 0)), ((-180 0, -179.5 0, -179.5 1, "
        "-180 1, -180 0)))",  # across the antimeridian: its centre is near ±180°
        "POLYGON ((-73.1 40.2, -73.05 40.2, -73.05 40.27, -73.1 40.27, -73.1 40.2))",
        "POINT (179.9 -12.5)",
    ]
    assert footprint_centres(wkts) == [footprint_centre(w) for w in wkts]
    bad = [*wkts, "POLYGON ((0 0, 1"]  # one unreadable: the batch goes one by one
    assert footprint_centres(bad) == [footprint_centre(w) for w in bad]
    assert footprint_centres(bad)[-1] is None and footprint_centres(wkts)[1] is None
    assert abs(abs(footprint_centres(wkts)[4][0]) - 180.0) < 1.0  # type: ignore[index]
