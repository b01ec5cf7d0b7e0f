"""The build report: one self-contained HTML page plus plot data for ``dvc plots``.

:func:`write_build_report` writes into ``<paths.metrics>``:

- ``report.html``: counts per source, task, modality and split; drops per stage and reason
  (and failures per error kind); a world map of sample locations (footprint centroids on an
  equirectangular grid with a 30° graticule, no coastlines, nothing downloaded); histograms of
  band values per sensor and band; histograms of answer lengths per task; and a gallery of
  samples per task, drawn with a seeded hash of the pair ids (same build, same gallery), each
  image with the answer's boxes drawn and the conversation beside it. Charts are inline SVG
  and images inline PNG (``data:`` URIs), so the page needs no network and no plotting
  library.
- ``plots/counts.csv``, ``plots/drops.csv``, ``plots/locations.csv``,
  ``plots/band_values.csv``, ``plots/answer_lengths.csv``: the same data as tables for
  ``dvc plots show``.

It also holds the drawing helpers the browsing notebook shares: :func:`parse_boxes`,
:func:`draw_boxes` and :func:`raster_views` (band composites for multispectral rasters, SAR
in dB).
"""

from __future__ import annotations

import base64
import csv
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

from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.card import stage_totals
from eoinstruct.pipeline.corpus.layout import merge_summaries, parse_stem, summary_paths
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.settings import require

BOX = re.compile(r"\[\[([^\[\]]+)\]\]")
BOX_SPAN = re.compile(r"<box>(.*?)</box>", re.S)
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")

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


def _svg_bars(title: str, counts: Mapping[str, int], colour: str = PALETTE[0]) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not items:
        return f"<p><em>{html.escape(title)}: none</em></p>"
    top = max(v for _, v in items) or 1
    row, label_w, bar_w = 18, 220, 300
    height = row * len(items) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 60}" '
        f'height="{height}" role="img"><title>{html.escape(title)}</title>',
        f'<text x="0" y="14" font-weight="bold" font-size="13">{html.escape(title)}</text>',
    ]
    for i, (name, value) in enumerate(items):
        y = 24 + i * row
        width = bar_w * value / top
        parts += [
            f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end" font-size="11">'
            f"{html.escape(name)}</text>",
            f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{row - 4}" '
            f'fill="{colour}"/>',
            f'<text x="{label_w + width + 4:.1f}" y="{y + 12}" font-size="11">{value}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _svg_hist(title: str, counts: Sequence[int], low: float, high: float) -> str:
    width, height, pad = 220, 90, 16
    top = max(counts) if counts and max(counts) else 1
    bar = (width - 2 * pad) / max(len(counts), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
        f'role="img"><title>{html.escape(title)}</title>',
        f'<text x="{pad}" y="12" font-size="11">{html.escape(title)}</text>',
    ]
    for i, count in enumerate(counts):
        h = (height - 20) * count / top
        parts.append(
            f'<rect x="{pad + i * bar:.1f}" y="{height - h:.1f}" width="{max(bar - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}"/>'
        )
    parts += [
        f'<text x="{pad}" y="{height + 14}" font-size="10">{low:g}</text>',
        f'<text x="{width - pad}" y="{height + 14}" font-size="10" text-anchor="end">'
        f"{high:g}</text>",
        "</svg>",
    ]
    return "".join(parts)


def _svg_map(points: Sequence[Sequence[Any]]) -> str:
    width, height = 720, 360
    sources = sorted({str(p[2]) for p in points})
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sources)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 24}" '
        'role="img"><title>Sample locations</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f4f8fb" stroke="#999"/>',
    ]
    for lon in range(-180, 181, 30):
        x = (lon + 180) * width / 360
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height}" stroke="#ccd"/>')
    for lat in range(-90, 91, 30):
        y = (90 - lat) * height / 180
        parts.append(f'<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="#ccd"/>')
        parts.append(f'<text x="2" y="{y - 2}" font-size="9" fill="#667">{lat}°</text>')
    for lon, lat, source, *_ in points:
        x, y = (float(lon) + 180) * width / 360, (90 - float(lat)) * height / 180
        parts.append(
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="3" fill="{colours[str(source)]}" '
            'fill-opacity="0.7"/>'
        )
    for i, source in enumerate(sources):
        parts.append(
            f'<circle cx="{10 + i * 140}" cy="{height + 14}" r="5" fill="{colours[source]}"/>'
            f'<text x="{18 + i * 140}" y="{height + 18}" font-size="11">'
            f"{html.escape(source)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


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
    ranked: dict[str, list[tuple[str, Path, int]]] = {}
    for path in sorted((corpus / "data").glob("*.parquet")):
        task = parse_stem(path.stem)["task"]
        ids = pq.read_table(path, columns=["pair_id"]).column(0).to_pylist()
        for index, pair_id in enumerate(ids):
            key = hashlib.sha256(f"{seed}:{pair_id}".encode()).hexdigest()
            ranked.setdefault(task, []).append((key, path, index))
    out: dict[str, list[dict[str, Any]]] = {}
    for task, entries in sorted(ranked.items()):
        rows = []
        for _, path, index in sorted(entries)[:per_task]:
            row = pq.read_table(path).slice(index, 1).to_pylist()[0]
            rows.append(row)
        out[task] = rows
    return out


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


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def write_build_report(
    corpus: Path,
    summary: Mapping[str, Any],
    totals: Mapping[str, Any],
    out: Path,
    *,
    seed: int = 0,
    per_task: int = 3,
    box_scale: float = 100.0,
) -> Path:
    """Write ``report.html`` and the plot tables.

    Args:
        corpus: The corpus folder (for the gallery).
        summary: The merged shard summary (``layout.merge_summaries``).
        totals: Stage name → :class:`~eoinstruct.pipeline.accounting.StageStats` of the stages
            before
            ``shard`` (for drops and failures).
        out: The metrics folder.
        seed: Seed of the gallery's picks.
        per_task: Gallery samples per task.
        box_scale: The grid of the answers' boxes.

    Returns:
        The path of ``report.html``.
    """
    groups: Mapping[str, Mapping[str, int]] = summary["groups"]
    dims: dict[str, dict[str, int]] = {"source": {}, "task": {}, "modality": {}, "split": {}}
    for key, counts in groups.items():
        split, source, task = key.split("|")
        for dim, value in (("split", split), ("source", source), ("task", task)):
            dims[dim][value] = dims[dim].get(value, 0) + counts.get("pairs", 0)
        for name, n in counts.items():
            if name.startswith("modality:"):
                modality = name.split(":", 1)[1]
                dims["modality"][modality] = dims["modality"].get(modality, 0) + n
    drops: dict[str, int] = {}
    drop_rows = []
    for stage, stats in totals.items():
        for reason, n in sorted(stats.dropped.items()):
            drops[f"{stage}: {reason}"] = n
            drop_rows.append([stage, "dropped", reason, n])
        for kind, n in sorted(stats.failed.items()):
            drops[f"{stage}: failed {kind}"] = n
            drop_rows.append([stage, "failed", kind, n])
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    _write_csv(
        plots / "counts.csv",
        ["dimension", "value", "pairs"],
        [[d, v, n] for d, values in dims.items() for v, n in sorted(values.items())],
    )
    _write_csv(plots / "drops.csv", ["stage", "outcome", "reason", "count"], drop_rows)
    _write_csv(plots / "locations.csv", ["lon", "lat", "source", "modality"], summary["points"])
    band_rows = []
    hists = []
    for sensor, bands in summary["band_histograms"].items():
        for band, slot in bands.items():
            low, high = slot["range"]
            step = (high - low) / len(slot["counts"])
            for i, count in enumerate(slot["counts"]):
                band_rows.append(
                    [sensor, band, slot["encoding"], low + i * step, low + (i + 1) * step, count]
                )
            hists.append(
                _svg_hist(f"{sensor} {band} ({slot['encoding']})", slot["counts"], low, high)
            )
    _write_csv(
        plots / "band_values.csv",
        ["sensor", "band", "encoding", "bin_low", "bin_high", "count"],
        band_rows,
    )
    length_rows = [
        [task, int(n), c]
        for task, lengths in summary["answer_lengths"].items()
        for n, c in sorted(lengths.items(), key=lambda kv: int(kv[0]))
    ]
    _write_csv(plots / "answer_lengths.csv", ["task", "length", "count"], length_rows)
    length_svgs = []
    for task, lengths in summary["answer_lengths"].items():
        values = [int(n) for n, c in lengths.items() for _ in range(int(c))]
        top = max(values) if values else 1
        counts, _ = np.histogram(values, bins=20, range=(0, max(top, 1)))
        length_svgs.append(
            _svg_hist(f"{task}: answer length (characters)", [int(c) for c in counts], 0, top)
        )
    gallery = gallery_rows(corpus, per_task=per_task, seed=seed)
    total_pairs = sum(c.get("pairs", 0) for c in groups.values())
    body = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>eoinstruct build report</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:1200px}",
        ".row{display:flex;flex-wrap:wrap;gap:1.5em}",
        ".sample{display:flex;gap:1em;border-top:1px solid #ddd;padding:0.6em 0}",
        ".imgs{display:flex;gap:0.5em}figure{margin:0}figcaption{font-size:11px}",
        ".conv{font-size:13px;max-width:560px}.human{color:#225}.gpt{color:#252}",
        "</style></head><body>",
        "<h1>eoinstruct build report</h1>",
        f"<p>{total_pairs} pairs, {len(summary['points'])} located samples.</p>",
        "<h2>Counts</h2><div class='row'>",
        *[_svg_bars(f"pairs per {d}", v, PALETTE[i]) for i, (d, v) in enumerate(dims.items())],
        "</div><h2>Drops and failures</h2>",
        _svg_bars("units per stage and reason", drops, PALETTE[1]),
        "<h2>Sample locations</h2>",
        _svg_map(summary["points"]),
        "<h2>Band values</h2><div class='row'>",
        *hists,
        "</div><h2>Answer lengths</h2><div class='row'>",
        *length_svgs,
        f"</div><h2>Gallery (seed {seed}, {per_task} per task)</h2>",
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
    )
