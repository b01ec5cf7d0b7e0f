"""The build report: one self-contained HTML page plus plot data for ``dvc plots``.

:func:`write_build_report` writes into ``<paths.metrics>``:

- ``report.html``: counts per source, task, modality and split; drops per stage and reason
  (and failures per error kind); a world map of sample locations (footprint centroids on an
  equirectangular grid with a 30° graticule, no coastlines, nothing downloaded); histograms of
  band values per sensor and band; histograms of answer lengths per task; the audit of the
  corpus (:mod:`eoinstruct.pipeline.audit`: flagged pairs, 0 expected, per template with the
  answer balance of the balanced ones, and per family the distinct questions and phrasings,
  the answer styles and the share of one-word answers); and a gallery of
  samples per task, drawn with a seeded hash of the pair ids (same build, same gallery), each
  image with the answer's boxes drawn and the conversation beside it. Charts and images are
  inline PNG (``data:`` URIs, drawn with Pillow by :mod:`eoinstruct.pipeline.io.charts`), so
  the page needs no network and no plotting library.
- ``plots/``: the data of each chart as a CSV table of one series, for ``dvc plots show``:
  ``counts/{source,task,modality,split}.csv`` (pairs per value), ``drops.csv`` (units per
  stage and reason), ``locations.csv`` (lon, lat), ``band_values/<sensor>-<band>.csv``
  (pixels per value bin) and ``answer_lengths/<task>.csv`` (answers per length bin);
  ``plots/png/`` holds the charts under the same names.

It also holds the drawing helpers the browsing notebook shares: :func:`parse_boxes`,
:func:`draw_boxes` and :func:`raster_views` (band composites for multispectral rasters, SAR
in dB).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from eoinstruct.pipeline.audit.corpus import audit_corpus
from eoinstruct.pipeline.audit.render import html_report
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.card import stage_totals
from eoinstruct.pipeline.corpus.layout import merge_summaries, storage_figures, summary_paths
from eoinstruct.pipeline.corpus.views import pair_rows
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.charts import (
    PALETTE,
    bars_png,
    csv_text,
    data_uri,
    histogram_png,
    map_png,
    replace_files,
    slug,
    write_file,
)
from eoinstruct.pipeline.settings_cache import require

BOX = re.compile(r"\[\[([^\[\]]+)\]\]")
BOX_SPAN = re.compile(r"<box>(.*?)</box>", re.S)

COMPOSITES: tuple[tuple[str, tuple[str, str, str], float], ...] = (
    ("true colour B04/B03/B02", ("B04", "B03", "B02"), 3000.0),
    ("false colour B08/B04/B03", ("B08", "B04", "B03"), 5000.0),
    ("SWIR B12/B8A/B04", ("B12", "B8A", "B04"), 5000.0),
)
"""Band composites of Sentinel-2-like rasters: name, bands, value shown as white (×10 000)."""


def parse_boxes(text: str) -> list[tuple[float, ...]]:
    """Return the boxes of an answer, ``<box>[[x1, y1, x2, y2, angle]][[…]]</box>``.

    Args:
        text: The answer.

    Returns:
        One tuple per box, in the order written (numbers as floats).
    """
    boxes = []
    for span in BOX_SPAN.findall(text):
        for inner in BOX.findall(span):
            try:
                boxes.append(tuple(float(v) for v in inner.split(",")))
            except ValueError:
                continue
    return boxes


def draw_boxes(
    image: Image.Image, boxes: Sequence[Sequence[float]], scale: float = 100.0
) -> Image.Image:
    """Draw boxes given on a ``0..scale`` grid onto a copy of an image.

    Args:
        image: The image.
        boxes: ``(x1, y1, x2, y2[, angle])`` boxes; the angle is ignored (axis-aligned).
        scale: The grid the coordinates are on (``generate.box_scale``).

    Returns:
        An RGB copy with the boxes outlined.
    """
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width, height = out.size
    line = max(1, round(min(width, height) / 150))
    for i, box in enumerate(boxes):
        if len(box) < 4:
            continue
        x1, y1, x2, y2 = (
            box[0] * width / scale,
            box[1] * height / scale,
            box[2] * width / scale,
            box[3] * height / scale,
        )
        draw.rectangle([x1, y1, x2, y2], outline=PALETTE[i % len(PALETTE)], width=line)
    return out


def _grey(layer: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (np.nan_to_num(layer.astype(np.float32), nan=low) - low) / (high - low)
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)


def raster_views(array: np.ndarray, info: Mapping[str, Any]) -> dict[str, Image.Image]:
    """Return viewable images of a raster from a corpus tar (``<role>.npy`` + its JSON).

    Sentinel-2-like reflectance gives true colour, false colour (NIR) and SWIR composites
    where the bands exist; SAR in dB gives one grey image per polarisation over
    [−25, 0] dB; other rasters give their first band stretched between its 2nd and 98th
    percentiles.

    Args:
        array: The raster (bands, height, width).
        info: Its description (``bands``, ``encoding``, ``nodata``).

    Returns:
        Title → RGB image.
    """
    bands = list(info["bands"])
    encoding = info["encoding"]
    data = array.astype(np.float32)
    if info.get("nodata") == 0:
        data[data == 0] = np.nan
    views: dict[str, Image.Image] = {}
    if encoding in ("reflectance_1e4", "reflectance"):
        factor = 1.0 if encoding == "reflectance_1e4" else 1e-4
        for title, triple, white in COMPOSITES:
            if all(b in bands for b in triple):
                layers = [_grey(data[bands.index(b)], 0, white * factor) for b in triple]
                views[title] = Image.fromarray(np.stack(layers, axis=-1), "RGB")
    elif encoding in ("sar_db", "sar_linear"):
        for i, band in enumerate(bands):
            layer = data[i]
            if encoding == "sar_linear":
                with np.errstate(divide="ignore", invalid="ignore"):
                    layer = 10 * np.log10(np.where(layer > 0, layer, np.nan))
            views[f"{band} dB [-25, 0]"] = Image.fromarray(_grey(layer, -25, 0)).convert("RGB")
    if not views:
        layer = data[0]
        finite = layer[np.isfinite(layer)]
        low, high = (
            (float(np.percentile(finite, 2)), float(np.percentile(finite, 98)))
            if finite.size
            else (0.0, 1.0)
        )
        high = high if high > low else low + 1
        views[f"{bands[0]} (2–98 %)"] = Image.fromarray(_grey(layer, low, high)).convert("RGB")
    return views


def png_data_uri(image: Image.Image, max_side: int = 256) -> str:
    """Return a ``data:image/png;base64,…`` URI of an image, shrunk to ``max_side``."""
    copy = image.convert("RGB")
    if max(copy.size) > max_side:
        ratio = max_side / max(copy.size)
        copy = copy.resize((max(1, round(copy.width * ratio)), max(1, round(copy.height * ratio))))
    buffer = io.BytesIO()
    copy.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def gallery_rows(corpus: Path, per_task: int = 3, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Pick sample pairs per task: the ``per_task`` pair ids with the smallest seeded hash.

    Args:
        corpus: The corpus folder.
        per_task: Pairs per task.
        seed: Seed of the hash (same seed and corpus, same picks).

    Returns:
        Task → rows (``pair_id``, ``source``, ``images`` bytes, ``image_roles``,
        ``conversations``, ``metadata``).
    """
    ranked: dict[str, list[tuple[str, Path, int, str]]] = {}
    for path in sorted((corpus / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=["dialogues"]).column(0).to_pylist()
        for index, dialogues in enumerate(table):
            for dialogue in dialogues:
                pair_id = dialogue["pair_id"]
                key = hashlib.sha256(f"{seed}:{pair_id}".encode()).hexdigest()
                ranked.setdefault(dialogue["task"], []).append((key, path, index, pair_id))
    out: dict[str, list[dict[str, Any]]] = {}
    for task, entries in sorted(ranked.items()):
        rows = []
        for _, path, index, pair_id in sorted(entries)[:per_task]:
            row = pq.read_table(path).slice(index, 1).to_pylist()[0]
            rows += [p for p in pair_rows(row) if p["pair_id"] == pair_id]
        out[task] = rows
    return out


def _storage_html(summary: Mapping[str, Any]) -> str:
    """The storage section: bytes stored vs the unique images' bytes."""
    figures = storage_figures(dict(summary))
    if not figures.get("unique_images"):
        return ""
    tars = bool(figures.get("tar_files"))
    shown = [
        ("unique images (rendering + array, once each)", "unique_images"),
        ("image bytes in Parquet", "parquet_images"),
        ("image bytes in tars", "tar_images"),
        ("Parquet files (samples + pair table)", "parquet_files"),
        ("tar files", "tar_files"),
    ]
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{int(figures.get(key, 0)):,}</td>"
        f"<td>{figures.get(f'{key}_ratio', 1.0):.3f}</td></tr>"
        for name, key in shown
        if tars or not key.startswith("tar_")
    )
    text = (
        "One row and one tar key per sample: each image is stored once per format."
        if tars
        else "One row per sample: each image is stored once, in the Parquet shards (no "
        "WebDataset tars stored; <code>eoinstruct webdataset</code> writes them on demand)."
    )
    return (
        f"<h2>Storage</h2><p>{text}</p>"
        "<table class='audit'><tr><th>what</th><th>bytes</th><th>× unique</th></tr>"
        f"{rows}</table>"
    )


def _gallery_html(gallery: Mapping[str, list[dict[str, Any]]], scale: float) -> str:
    parts = []
    for task, rows in gallery.items():
        parts.append(f"<h3>{html.escape(task)}</h3>")
        for row in rows:
            answer = " ".join(t["value"] for t in row["conversations"] if t["from"] == "gpt")
            boxes = parse_boxes(answer)
            images = []
            for role, image in zip(row["image_roles"], row["images"], strict=True):
                pil = Image.open(io.BytesIO(image["bytes"]))
                drawn = draw_boxes(pil, boxes, scale) if boxes else pil
                images.append(
                    f'<figure><img src="{png_data_uri(drawn)}" alt="{html.escape(role)}"/>'
                    f"<figcaption>{html.escape(role)}</figcaption></figure>"
                )
            turns = "".join(
                f'<p class="{html.escape(t["from"])}"><b>{html.escape(t["from"])}:</b> '
                f"{html.escape(t['value'])}</p>"
                for t in row["conversations"]
            )
            parts.append(
                f'<div class="sample"><div class="imgs">{"".join(images)}</div>'
                f'<div class="conv"><code>{html.escape(row["pair_id"])}</code> '
                f"({html.escape(row['source'])}){turns}</div></div>"
            )
    return "".join(parts)


ENCODING_UNITS = {
    "uint8": "8-bit value",
    "reflectance_1e4": "reflectance (scaled by 10 000)",
    "reflectance": "reflectance",
    "sar_db": "backscatter (dB)",
    "sar_linear": "backscatter (dB, from linear)",
    "radiance": "radiance",
    "normalized_radiance": "normalised radiance",
    "kelvin": "brightness temperature (K)",
}
"""The x-axis title of a band-value histogram, by pixel encoding."""

LENGTH_BINS = 20
"""Bins of an answer-length histogram (over 0 … the longest answer of the task)."""


def _dimensions(groups: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    dims: dict[str, dict[str, int]] = {"source": {}, "task": {}, "modality": {}, "split": {}}
    for key, counts in groups.items():
        split, source, task = key.split("|")
        for dim, value in (("split", split), ("source", source), ("task", task)):
            dims[dim][value] = dims[dim].get(value, 0) + counts.get("pairs", 0)
        for name, n in counts.items():
            if name.startswith("modality:"):
                modality = name.split(":", 1)[1]
                dims["modality"][modality] = dims["modality"].get(modality, 0) + n
    return {dim: dict(sorted(values.items())) for dim, values in dims.items()}


def _length_bins(lengths: Mapping[str, int]) -> list[tuple[float, float, float]]:
    """Answer lengths (characters → answers) in :data:`LENGTH_BINS` integer-wide bins."""
    top = max((int(n) for n in lengths), default=0)
    width = max(1, -(-(top + 1) // LENGTH_BINS))
    counts = [0] * LENGTH_BINS
    for n, c in lengths.items():
        counts[min(int(n) // width, LENGTH_BINS - 1)] += int(c)
    return [(i * width, (i + 1) * width, counts[i]) for i in range(LENGTH_BINS)]


def plot_files(
    summary: Mapping[str, Any], totals: Mapping[str, Any]
) -> dict[str, dict[str, str | bytes]]:
    """Return the build report's plots: one CSV table and one PNG per plot.

    Args:
        summary: The merged shard summary (``layout.merge_summaries``).
        totals: Stage name → :class:`~eoinstruct.pipeline.accounting.StageStats` of the stages
            before ``shard`` (for drops and failures).

    Returns:
        Group → file name → content, for the groups ``counts``, ``drops``, ``locations``,
        ``band_values`` and ``answer_lengths`` (each plot is ``<name>.csv`` and
        ``<name>.png``; the single-plot groups name theirs after the group).
    """
    out: dict[str, dict[str, str | bytes]] = {}
    counts: dict[str, str | bytes] = {}
    for i, (dim, values) in enumerate(_dimensions(summary["groups"]).items()):
        counts[f"{dim}.csv"] = csv_text([dim, "pairs"], sorted(values.items()))
        counts[f"{dim}.png"] = bars_png(
            f"pairs per {dim}",
            sorted(values.items(), key=lambda kv: (-kv[1], kv[0])),
            value_title="pairs",
            category_title=dim,
            colour=PALETTE[i],
        )
    out["counts"] = counts
    drop_rows = []
    for stage, stats in totals.items():
        for reason, n in sorted(stats.dropped.items()):
            drop_rows.append([f"{stage}: {reason}", stage, "dropped", reason, n])
        for kind, n in sorted(stats.failed.items()):
            drop_rows.append([f"{stage}: {kind} (failed)", stage, "failed", kind, n])
    out["drops"] = {
        "drops.csv": csv_text(["drop", "stage", "outcome", "reason", "units"], drop_rows),
        "drops.png": bars_png(
            "units dropped or failed per stage and reason",
            [(row[0], row[4]) for row in drop_rows],
            value_title="units (samples; ingest: source units)",
            category_title="stage: reason",
            colour=PALETTE[1],
        ),
    }
    points = summary["points"]
    out["locations"] = {
        "locations.csv": csv_text(["lon", "lat", "source", "modality"], points),
        "locations.png": map_png(f"sample locations ({len(points)} footprint centroids)", points),
    }
    bands: dict[str, str | bytes] = {}
    for sensor, slots in summary["band_histograms"].items():
        for band, slot in slots.items():
            low, high = slot["range"]
            step = (high - low) / len(slot["counts"])
            bins = [(low + i * step, low + (i + 1) * step, c) for i, c in enumerate(slot["counts"])]
            name = f"{slug(sensor)}-{slug(band)}"
            bands[f"{name}.csv"] = csv_text(
                ["bin_low", "bin_high", "pixels"], [[f"{a:g}", f"{b:g}", c] for a, b, c in bins]
            )
            bands[f"{name}.png"] = histogram_png(
                f"{sensor} {band}: pixel values",
                bins,
                x_title=ENCODING_UNITS.get(slot["encoding"], slot["encoding"]),
                y_title="pixels",
            )
    out["band_values"] = bands
    lengths: dict[str, str | bytes] = {}
    for task, per_length in summary["answer_lengths"].items():
        bins = _length_bins(per_length)
        lengths[f"{slug(task)}.csv"] = csv_text(
            ["bin_low", "bin_high", "answers"], [[int(a), int(b), c] for a, b, c in bins]
        )
        lengths[f"{slug(task)}.png"] = histogram_png(
            f"{task}: answer lengths",
            bins,
            x_title="answer length (characters of one answer turn)",
            y_title="answers",
        )
    out["answer_lengths"] = lengths
    return out


SINGLE_PLOTS = ("drops", "locations")
"""Groups of one plot (a file, not a folder)."""


def write_plots(plots: Path, files: Mapping[str, Mapping[str, str | bytes]]) -> None:
    """Write :func:`plot_files` under ``<metrics>/plots``: tables there, PNGs under ``png/``.

    A group of one plot is a file (``drops.csv``); a group of several a folder
    (``band_values/<sensor>-<band>.csv``) whose files from earlier builds are removed.
    """
    for group, named in files.items():
        tables = {k: v for k, v in named.items() if k.endswith(".csv")}
        images = {k: v for k, v in named.items() if k.endswith(".png")}
        if group in SINGLE_PLOTS:
            for name, content in tables.items():
                write_file(plots / name, content)
            for name, content in images.items():
                write_file(plots / "png" / name, content)
        else:
            replace_files(plots / group, tables)
            replace_files(plots / "png" / group, images)


def write_build_report(
    corpus: Path,
    summary: Mapping[str, Any],
    totals: Mapping[str, Any],
    out: Path,
    *,
    seed: int = 0,
    per_task: int = 3,
    box_scale: float = 100.0,
    audit_html: str = "",
) -> Path:
    """Write ``report.html`` and the plots (tables and PNGs).

    Args:
        corpus: The corpus folder (for the gallery).
        summary: The merged shard summary (``layout.merge_summaries``).
        totals: Stage name → :class:`~eoinstruct.pipeline.accounting.StageStats` of the stages
            before ``shard`` (for drops and failures).
        out: The metrics folder.
        seed: Seed of the gallery's picks.
        per_task: Gallery samples per task.
        box_scale: The grid of the answers' boxes.
        audit_html: The audit's section (:func:`eoinstruct.pipeline.audit.render.html_report`).

    Returns:
        The path of ``report.html``.
    """
    files = plot_files(summary, totals)
    write_plots(out / "plots", files)

    def images(group: str) -> list[str]:
        return [
            f'<img src="{data_uri(png)}" alt="{html.escape(f"{group}/{name}")}"/>'
            for name, png in files[group].items()
            if isinstance(png, bytes)
        ]

    gallery = gallery_rows(corpus, per_task=per_task, seed=seed)
    total_pairs = sum(c.get("pairs", 0) for c in summary["groups"].values())
    body = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>eoinstruct build report</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:1200px}",
        ".row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}",
        ".sample{display:flex;gap:1em;border-top:1px solid #ddd;padding:0.6em 0}",
        ".imgs{display:flex;gap:0.5em}figure{margin:0}figcaption{font-size:11px}",
        ".conv{font-size:13px;max-width:560px}.human{color:#225}.gpt{color:#252}",
        "table.audit{border-collapse:collapse;font-size:13px}",
        "table.audit td,table.audit th{border:1px solid #ddd;padding:2px 6px;text-align:left}",
        "</style></head><body>",
        "<h1>eoinstruct build report</h1>",
        f"<p>{total_pairs} pairs, {len(summary['points'])} located samples. Charts are PNG "
        "copies of <code>metrics/plots/png/</code>; their data are the CSV tables beside them "
        "(<code>dvc plots show</code>).</p>",
        "<h2>Counts</h2><div class='row'>",
        *images("counts"),
        "</div><h2>Drops and failures</h2>",
        *images("drops"),
        "<h2>Sample locations</h2>",
        *images("locations"),
        "<h2>Band values</h2><div class='row'>",
        *images("band_values"),
        "</div><h2>Answer lengths</h2><div class='row'>",
        *images("answer_lengths"),
        "</div>",
        _storage_html(summary),
        audit_html,
        f"<h2>Gallery (seed {seed}, {per_task} per task)</h2>",
        _gallery_html(gallery, box_scale),
        "</body></html>",
    ]
    path = out / "report.html"
    write_text_atomic(path, "\n".join(body) + "\n")
    return path


def build_html_report(params: Params) -> Path:
    """Write the build report of a finished build into ``paths.metrics``.

    Args:
        params: Parameters (paths; optional section ``build_report`` with ``seed`` and
            ``per_task``; ``generate.box_scale``).

    Returns:
        The path of ``report.html``.
    """
    options = params.settings.build_report
    summary = merge_summaries(summary_paths(params))
    return write_build_report(
        params.path_of("corpus"),
        summary,
        stage_totals(params),
        params.path_of("metrics"),
        seed=options.seed,
        per_task=options.per_task,
        box_scale=float(require(params.settings.generate, "generate").box_scale),
        audit_html=html_report(audit_corpus(params.path_of("corpus"))),
    )
