"""The recipe for a new source: one folder (adapter, facts, sample writer, download spec) plus
one registry line; and every registered source follows it.

The smallest real source is written into a temporary package, registered through the
registry's run-time hook, and shown to work end to end: its facts make a row of the sources
table, its sample writer writes, ``eoinstruct download --list`` shows its spec with the facts'
licence, and ``eoinstruct ingest`` with a params.yaml enabling only that source reads its
units into samples (and records the broken one as a failure).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from eoinstruct.cli import main
from eoinstruct.pipeline.records import sample_from_row
from eoinstruct.sources import registry
from eoinstruct.sources.base import SourceAdapter, SourceFacts
from eoinstruct.sources.download import get_spec
from eoinstruct.sources.table import sources_markdown

REPO = Path(__file__).resolve().parents[1]

PACKAGE = "tiny_eo_source"
"""Import name of the temporary source package (not under ``eoinstruct.sources``)."""

FILES: dict[str, str] = {
    "__init__.py": '"""Source `tiny`: a test of the recipe for a new source."""\n',
    "facts.py": '''"""Facts of the source ``tiny``, stated once."""

from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.sensors import RGB_BANDS

FACTS = SourceFacts(
    name="tiny",
    title="Tiny places (a test source)",
    homepage="https://example.invalid/tiny",
    modalities=("rgb",),
    sensors=("synthetic camera",),
    bands=RGB_BANDS,
    gsd="about 6 m",
    temporal="single",
    tasks=("captioning",),
    licence="CC0-1.0",
    citation="nobody, 2025",
    layout="places.csv + <id>.png",
)
''',
    "adapter.py": '''"""Adapter of the source ``tiny``: one RGB PNG per row of ``places.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

import shapely
from PIL import Image

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.geo import box_pixel_size_m

HALF_DEG = 0.001


class TinyPlaces(SourceAdapter):
    """Reads ``places.csv`` (id, lon, lat, acquired, class, caption) and ``<id>.png``."""

    facts = facts_of(__package__)

    def _rows(self) -> dict[str, dict[str, str]]:
        path = self.root / "places.csv"
        if not path.is_file():
            raise SourceNotFoundError(f"{self.name}: {path} is missing")
        with path.open(newline="", encoding="utf-8") as fh:
            return {row["id"]: row for row in csv.DictReader(fh)}

    def list_units(self) -> list[str]:
        return sorted(self._rows())

    def unit_files(self, unit: str) -> list[Path]:
        paths = (self.root / "places.csv", self.root / f"{unit}.png")
        return [p for p in paths if p.is_file()]

    def read_unit(self, unit: str) -> list[Sample]:
        row = self._rows()[unit]
        png = self.root / f"{unit}.png"
        if not png.is_file():
            raise SourceError("missing_file", f"{self.name} {unit}: {png} is missing", unit)
        with Image.open(png) as image:
            width, height = image.size
        lon, lat = float(row["lon"]), float(row["lat"])
        box = (lon - HALF_DEG, lat - HALF_DEG, lon + HALF_DEG, lat + HALF_DEG)
        return [
            Sample(
                sample_id=f"{self.name}:{unit}",
                source=self.name,
                native_id=unit,
                modality="rgb",
                sensor=self.facts.sensors[0],
                bands=("R", "G", "B"),
                gsd_m=box_pixel_size_m(box, width, height),
                crs="EPSG:4326",
                footprint_wkt=shapely.to_wkt(shapely.box(*box, ccw=True), rounding_precision=7),
                acquired=(row["acquired"],),
                images=(ImageRef("image", (str(png),), ("R", "G", "B"), "uint8", width, height),),
                tags={"caption": row["caption"]},
                labels=Labels(scheme="tiny", classes=(row["class"],)),
                licence=self.licence,
            )
        ]
''',
    "sample.py": '''"""Sample writer of the source ``tiny``: two places with images, one without."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

PLACES = (
    ("field", 10.0, 50.0, "2024-05-01T10:00:00Z", "crops", "a green field"),
    ("harbour", 10.1, 50.1, "2024-05-02T10:00:00Z", "port", "boats in a harbour"),
    ("missing", 10.2, 50.2, "2024-05-03T10:00:00Z", "port", "its image is missing"),
)
NO_IMAGE = "missing"


def write(root: Path, seed: int) -> None:
    """Write ``places.csv`` and one 32x32 PNG per place but the broken one."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with (root / "places.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(("id", "lon", "lat", "acquired", "class", "caption"))
        out.writerows(PLACES)
    for place in PLACES:
        if place[0] != NO_IMAGE:
            pixels = rng.integers(40, 200, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / f"{place[0]}.png")
''',
    "download.py": '''"""Where and how to download the source ``tiny``."""

from eoinstruct.sources.download.spec import DownloadSpec, RemoteFile
from tiny_eo_source.facts import FACTS

SPEC = DownloadSpec(
    facts=FACTS,
    layout="places.csv + <id>.png",
    files=(
        RemoteFile(
            key="all",
            name="tiny.zip",
            url="https://example.invalid/tiny.zip",
            extract=True,
            note="a test spec; no such file",
        ),
    ),
)
''',
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Write the ``tiny`` source package, register it, and remove it afterwards."""
    base = tmp_path_factory.mktemp("plugins")
    (base / PACKAGE).mkdir()
    for name, text in FILES.items():
        (base / PACKAGE / name).write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(base))
        registry.register_source("tiny", PACKAGE)
        try:
            yield "tiny"
        finally:
            registry.unregister_source("tiny")
            for module in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
                del sys.modules[module]


def test_a_registered_source_gets_its_name_and_licence_from_its_facts(tiny: str) -> None:
    assert tiny in registry.source_names()
    cls = registry.adapter_class(tiny)
    facts = registry.facts(tiny)
    assert cls.__name__ == "TinyPlaces" and cls.facts is facts
    assert cls.name == "tiny" and cls.licence == facts.licence == "CC0-1.0"
    with pytest.raises(ValueError, match="registered already"):
        registry.register_source(tiny, PACKAGE)


def test_a_registered_source_appears_in_the_sources_table(tiny: str) -> None:
    rows = [line for line in sources_markdown().splitlines() if line.startswith("| `tiny` |")]
    assert rows == [
        "| `tiny` | [Tiny places (a test source)](https://example.invalid/tiny) | rgb | "
        "synthetic camera | R, G, B | about 6 m | single | captioning | CC0-1.0 | "
        "nobody, 2025 |"
    ]


def test_a_registered_source_is_downloadable_with_its_facts_licence(
    tiny: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = get_spec(tiny)
    assert spec.facts is registry.facts(tiny) and spec.licence == "CC0-1.0"
    assert main(["download", tiny, "--list"]) == 0
    out = capsys.readouterr().out
    assert "tiny: Tiny places (a test source)" in out and "licence:  CC0-1.0" in out


def _rows(folder: Path) -> list[dict]:
    return [row for p in sorted(folder.glob("*.parquet")) for row in pq.read_table(p).to_pylist()]


def test_a_registered_source_is_ingested_by_the_pipeline(tiny: str, tmp_path: Path) -> None:
    sample_root = tmp_path / "sample" / tiny
    registry.writer(tiny)(sample_root, 5)
    assert sorted(p.name for p in sample_root.iterdir()) == [
        "field.png",
        "harbour.png",
        "places.csv",
    ]
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["paths"] = {k: str(tmp_path / k) for k in ("sample", "work", "corpus", "metrics")}
    params["sources"] = {tiny: {"enabled": True, "root": str(sample_root)}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")

    assert main(["--params", str(path), "--no-progress", "ingest"]) == 0

    work = tmp_path / "work" / "ingest"
    samples = {s.native_id: s for s in map(sample_from_row, _rows(work / "samples"))}
    assert sorted(samples) == ["field", "harbour"]
    harbour = samples["harbour"]
    assert harbour.sample_id == "tiny:harbour" and harbour.licence == "CC0-1.0"
    assert harbour.labels.classes == ("port",) and harbour.tags["caption"] == "boats in a harbour"
    assert harbour.footprint_wkt.startswith("POLYGON ((10.101 50.099")
    assert harbour.gsd_m == pytest.approx(5.7, abs=0.05)
    failed = [
        r for p in sorted(work.glob("failed/*.parquet")) for r in pq.read_table(p).to_pylist()
    ]
    assert [(r["item"], r["kind"]) for r in failed] == [("missing", "missing_file")]


# ---- every registered source follows the recipe -----------------------------------------


@pytest.mark.parametrize("name", registry.source_names())
def test_every_source_folder_has_an_adapter_facts_and_a_sample_writer(name: str) -> None:
    entry = registry.entry(name)
    assert entry.package == f"eoinstruct.sources.{name}"
    folder = Path(entry.module("adapter").__file__).resolve().parent
    assert folder == (REPO / "sources" / name).resolve()
    assert {"adapter.py", "facts.py", "sample.py"} <= {p.name for p in folder.iterdir()}
    facts = entry.facts()
    assert isinstance(facts, SourceFacts) and facts.name == name
    cls = entry.adapter_class()
    assert issubclass(cls, SourceAdapter) and cls.facts is facts and cls.name == name
    assert cls.licence in (facts.licence, facts.sample_licence)
    assert list(inspect.signature(entry.writer()).parameters) == ["root", "seed"]


@pytest.mark.parametrize("name", registry.source_names())
def test_a_download_spec_states_no_fact_of_its_own(name: str) -> None:
    entry = registry.entry(name)
    spec = entry.download_spec()
    if spec is None:
        assert name == "stac"  # read from a STAC catalog or API, nothing to download
        return
    facts = entry.facts()
    assert spec.facts is facts and spec.name == name
    assert spec.licence == facts.licence
    assert (spec.title, spec.homepage) == (facts.title, facts.homepage)


def test_the_starcop_licence_is_one_value() -> None:
    facts = registry.facts("starcop")
    assert facts.licence.startswith("NOASSERTION (third parties cite CC-BY-NC-4.0")
    assert get_spec("starcop").licence == facts.licence
    assert registry.adapter_class("starcop").licence == "NOASSERTION"
    assert f"| {facts.licence} |" in (REPO / "README.md").read_text(encoding="utf-8")


def test_unknown_sources_are_named_errors() -> None:
    with pytest.raises(KeyError, match="known sources: bigearthnet_v1"):
        registry.entry("nope")
    with pytest.raises(ValueError, match="built-in"):
        registry.unregister_source("xbd")
