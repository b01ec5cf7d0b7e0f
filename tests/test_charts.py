"""Plot files: PNG charts drawn with Pillow, CSV tables, folders rewritten without stale files."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from eoinstruct.pipeline.io.charts import (
    bars_png,
    csv_text,
    data_uri,
    histogram_png,
    map_png,
    replace_files,
    slug,
)


def test_charts_are_deterministic_small_pngs() -> None:
    bars = [("vqa", 57), ("a very long category name that does not fit the label column", 3)]
    for draw in (
        lambda: bars_png("pairs per task", bars, value_title="pairs", category_title="task"),
        lambda: histogram_png(
            "brightness", [(i / 4, (i + 1) / 4, i) for i in range(4)], x_title="x", y_title="y"
        ),
        lambda: map_png("locations", [(8.5, 47.4, "a"), (-122.3, 37.8, "b")]),
        lambda: bars_png("nothing", [], value_title="v", category_title="c"),
    ):
        png = draw()
        assert png == draw()
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width >= 400 and len(png) < 20_000
    assert data_uri(b"\x89PNG").startswith("data:image/png;base64,")


def test_threshold_marks_are_drawn_in_red() -> None:
    bins = [(i / 10, (i + 1) / 10, 1) for i in range(10)]
    plain = histogram_png("h", bins, x_title="x", y_title="y")
    marked = histogram_png("h", bins, x_title="x", y_title="y", marks=[0.05])
    assert plain != marked
    colours = Image.open(io.BytesIO(marked)).convert("RGB").getcolors(4096) or []
    assert any(r > 150 and g < 80 and b < 80 for _, (r, g, b) in colours)


def test_csv_tables_and_file_names() -> None:
    assert csv_text(["drop", "n"], [["a: b, c", 1]]) == 'drop,n\n"a: b, c",1\n'
    assert slug("Sentinel-2 MSI") == "sentinel-2_msi"
    assert slug("Landsat 8 OLI/TIRS") == "landsat_8_oli_tirs"
    assert slug("TOA_AVIRIS_2004nm") == "toa_aviris_2004nm"


def test_replace_files_removes_what_the_last_build_wrote_and_this_one_did_not(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "band_values"
    replace_files(folder, {"a.csv": "x\n", "sub/b.png": b"png"})
    first = (folder / "a.csv").stat().st_mtime_ns
    replace_files(folder, {"a.csv": "x\n", "c.csv": "y\n"})
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "a.csv",
        "c.csv",
    ]
    assert (folder / "a.csv").stat().st_mtime_ns == first  # unchanged content, not rewritten
