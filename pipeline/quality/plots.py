"""Metrics and plots of the filter: what it dropped, per source and reason, and score histograms.

Written by the filter stage after its partitions, from its own ledgers and the score stage's
files (read one partition at a time):

- ``<metrics>/filter.json`` (a DVC metrics file): per source, samples read and kept, drops by
  counted (first) reason and by every reason that applied; totals; the thresholds in force.
- ``<metrics>/plots/filter_drops.csv``: ``source, reason, count`` (counted reasons), for
  ``dvc plots`` (bar chart).
- ``<metrics>/plots/filter_scores.csv``: ``score, encoding, bin_low, bin_high, count,
  threshold_min, threshold_max``: a histogram of each score per encoding with the thresholds.
- ``<metrics>/plots/filter_<score>.svg``: the same histograms drawn, threshold lines in red
  (plain SVG: no plotting library needed).

All values are deterministic (sorted keys, fixed bins), so DVC sees no change on a re-run.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.quality.thresholds import Thresholds
from eoinstruct.pipeline.run.partitions import completed_records, output_of

BINS = 20
"""Histogram bins over [0, 1] (every plotted score is a fraction or a unit brightness)."""

PLOTTED_SCORES: tuple[str, ...] = ("brightness", "valid_fraction", "dark_fraction", "n_tags")


def histogram(values: Sequence[float], bins: int = BINS, top: float = 1.0) -> list[int]:
    """Count values in ``bins`` equal bins over [0, top] (values outside are clipped in)."""
    counts = [0] * bins
    for value in values:
        index = int(min(max(value / top, 0.0), 1.0) * bins)
        counts[min(index, bins - 1)] += 1
    return counts


def _per_image_values(row: Mapping[str, Any], key: str) -> list[tuple[str, float]]:
    out = []
    for encoding, value in zip(row["image_encodings"], row[key], strict=True):
        if value is not None and value == value:  # skip null and NaN
            out.append((str(encoding), float(value)))
    return out


def collect(filter_dir: Path, score_dir: Path) -> dict[str, Any]:
    """Gather the counts and score values of a finished filter stage.

    Args:
        filter_dir: The filter stage's folder.
        score_dir: The score stage's folder.

    Returns:
        ``sources`` (per source counts), ``values`` (score → encoding → values).
    """
    sources: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"read": 0, "kept": 0, "dropped": Counter(), "reasons_applied": Counter()}
    )
    for record in completed_records(filter_dir):
        stats = record["stats"]
        entry = sources[str(record["source"])]
        entry["read"] += int(stats["read"])
        entry["kept"] += int(stats["kept"])
        ledger = output_of(filter_dir, record, "dropped")
        if ledger is None:
            continue
        for row in pq.read_table(ledger, columns=["reason", "reasons"]).to_pylist():
            entry["dropped"][row["reason"]] += 1
            for reason in row["reasons"]:
                entry["reasons_applied"][reason] += 1
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in completed_records(score_dir):
        path = output_of(score_dir, record, "scores")
        if path is None:
            continue
        columns = ["n_tags", "image_encodings", *PLOTTED_SCORES[:-1]]
        for row in pq.read_table(path, columns=columns).to_pylist():
            values["n_tags"]["all"].append(float(row["n_tags"]))
            for key in PLOTTED_SCORES[:-1]:
                for encoding, value in _per_image_values(row, key):
                    values[key][encoding].append(value)
    return {"sources": sources, "values": values}


def _thresholds_of(key: str, encoding: str, thresholds: Thresholds) -> tuple[str, str]:
    if key == "brightness" and encoding in thresholds.brightness:
        low, high = thresholds.brightness[encoding]
        return f"{low:g}", f"{high:g}"
    if key == "valid_fraction":
        return f"{thresholds.min_valid_fraction:g}", ""
    if key == "n_tags":
        return f"{thresholds.min_tags:g}", ""
    return "", ""


def svg_histogram(
    title: str, series: Mapping[str, list[int]], lines: Mapping[str, Sequence[float]], top: float
) -> str:
    """Draw histograms (one row per series) as an SVG document.

    Args:
        title: Title line.
        series: Name → bin counts.
        lines: Name → threshold positions (in the values' unit) drawn as red lines.
        top: The value at the right end of the axis.

    Returns:
        SVG text.
    """
    width, row_h, left, pad = 520, 70, 150, 20
    height = pad * 2 + row_h * max(1, len(series))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="4" y="14" font-size="12">{title}</text>',
    ]
    plot_w = width - left - 10
    for i, (name, counts) in enumerate(sorted(series.items())):
        y0 = pad + i * row_h + row_h - 10
        peak = max(counts) or 1
        parts.append(f'<text x="4" y="{y0 - 20}">{name} (n={sum(counts)})</text>')
        bar_w = plot_w / len(counts)
        for j, count in enumerate(counts):
            h = (row_h - 20) * count / peak
            parts.append(
                f'<rect x="{left + j * bar_w:.1f}" y="{y0 - h:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="#4878a8"/>'
            )
        parts.append(f'<line x1="{left}" y1="{y0}" x2="{left + plot_w}" y2="{y0}" stroke="#333"/>')
        for value in lines.get(name, ()):
            x = left + plot_w * min(max(value / top, 0.0), 1.0)
            parts.append(
                f'<line x1="{x:.1f}" y1="{y0 - row_h + 20}" x2="{x:.1f}" y2="{y0}" '
                'stroke="#c03030" stroke-width="2"/>'
            )
        parts.append(f'<text x="{left}" y="{y0 + 10}">0</text>')
        parts.append(f'<text x="{left + plot_w - 20}" y="{y0 + 10}">{top:g}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_filter_metrics(
    filter_dir: Path, score_dir: Path, metrics_dir: Path, thresholds: Thresholds
) -> dict[str, Any]:
    """Write ``filter.json`` and the filter plots.

    Args:
        filter_dir: The filter stage's folder.
        score_dir: The score stage's folder.
        metrics_dir: ``paths.metrics``.
        thresholds: The thresholds in force.

    Returns:
        The metrics written to ``filter.json``.
    """
    data = collect(filter_dir, score_dir)
    sources = data["sources"]
    per_source = {
        name: {
            "read": s["read"],
            "kept": s["kept"],
            "dropped": dict(sorted(s["dropped"].items())),
            "reasons_applied": dict(sorted(s["reasons_applied"].items())),
        }
        for name, s in sorted(sources.items())
    }
    totals: Counter[str] = Counter()
    for s in sources.values():
        totals.update(s["dropped"])
    metrics = {
        "read": sum(s["read"] for s in sources.values()),
        "kept": sum(s["kept"] for s in sources.values()),
        "dropped": dict(sorted(totals.items())),
        "sources": per_source,
        "thresholds": {
            "min_tags": thresholds.min_tags,
            "min_valid_fraction": thresholds.min_valid_fraction,
            "brightness": {k: list(v) for k, v in sorted(thresholds.brightness.items())},
            "aoi": list(thresholds.aoi) if thresholds.aoi else None,
            "snow_cloud": thresholds.snow_cloud,
            "max_cloud_fraction": thresholds.max_cloud_fraction,
        },
    }
    metrics_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        metrics_dir / "filter.json", json.dumps(metrics, indent=1, sort_keys=True) + "\n"
    )
    plots = metrics_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    drops = io.StringIO()
    writer = csv.writer(drops, lineterminator="\n")
    writer.writerow(["source", "reason", "count"])
    for name, s in per_source.items():
        for reason, count in s["dropped"].items():
            writer.writerow([name, reason, count])
    write_text_atomic(plots / "filter_drops.csv", drops.getvalue())
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(
        ["score", "encoding", "bin_low", "bin_high", "count", "threshold_min", "threshold_max"]
    )
    for key in PLOTTED_SCORES:
        top = 20.0 if key == "n_tags" else 1.0
        series: dict[str, list[int]] = {}
        lines: dict[str, list[float]] = {}
        for encoding, values in sorted(data["values"][key].items()):
            counts = histogram(values, top=top)
            series[encoding] = counts
            low, high = _thresholds_of(key, encoding, thresholds)
            lines[encoding] = [float(v) for v in (low, high) if v]
            for j, count in enumerate(counts):
                writer.writerow(
                    [
                        key,
                        encoding,
                        f"{j * top / BINS:g}",
                        f"{(j + 1) * top / BINS:g}",
                        count,
                        low,
                        high,
                    ]
                )
        write_text_atomic(
            plots / f"filter_{key}.svg",
            svg_histogram(
                f"{key}: per image (n_tags: per sample), thresholds in red", series, lines, top
            ),
        )
    write_text_atomic(plots / "filter_scores.csv", table.getvalue())
    return metrics
