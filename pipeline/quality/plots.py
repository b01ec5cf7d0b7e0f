"""Metrics and plots of the filter: what it dropped, per source and reason, and score histograms.

Written by the filter stage after its partitions, from its own ledgers and the score stage's
files (read one partition at a time):

- ``<metrics>/filter.json`` (a plain file, too wide for ``dvc metrics show``): per source,
  samples read and kept, drops by counted (first) reason and by every reason that applied;
  totals; the thresholds in force.
- ``<metrics>/plots/filter_drops.csv``: ``drop, source, reason, samples``, one bar per source
  and counted (first) reason (``drop`` is ``<source>: <reason>``).
- ``<metrics>/plots/filter_scores/<score>-<encoding>.csv``: ``bin_low, bin_high, images``, a
  histogram of one per-image score (brightness, valid fraction, dark fraction) for the images
  of one pixel encoding.
- ``<metrics>/plots/filter_tags.csv``: ``bin_low, bin_high, samples``, the tag fields per
  sample.
- ``<metrics>/plots/png/…``: a PNG of each (:mod:`eoinstruct.pipeline.io.charts`), the
  thresholds in force drawn as red lines.

One series per table, so each ``dvc plots`` plot shows one quantity. All values are
deterministic (sorted keys, fixed bins), so DVC sees no change on a re-run.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.charts import (
    PALETTE,
    bars_png,
    csv_text,
    histogram_png,
    replace_files,
    slug,
    write_file,
)
from eoinstruct.pipeline.quality.thresholds import Thresholds
from eoinstruct.pipeline.run.partitions import completed_records, output_of

BINS = 20
"""Histogram bins over [0, 1] (every plotted score is a fraction or a unit brightness)."""

PLOTTED_SCORES: tuple[str, ...] = ("brightness", "valid_fraction", "dark_fraction", "n_tags")

SCORE_TITLES = {
    "brightness": "brightness (mean unit brightness of the display bands)",
    "valid_fraction": "valid-pixel fraction",
    "dark_fraction": "dark-pixel fraction",
}
"""The x-axis title of each per-image score's histogram."""


def histogram(values: Sequence[float], bins: int = BINS, top: float = 1.0) -> list[int]:
    """Count values in ``bins`` equal bins over [0, top] (values outside are clipped in)."""
    counts = [0] * bins
    for value in values:
        index = int(min(max(value / top, 0.0), 1.0) * bins)
        counts[min(index, bins - 1)] += 1
    return counts


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
        if not any(stats.get("dropped", {}).values()):
            continue  # an empty ledger: not opened
        ledger = output_of(filter_dir, record, "dropped")
        if ledger is None:
            continue
        for row in pq.ParquetFile(ledger).read(columns=["reason", "reasons"]).to_pylist():
            entry["dropped"][row["reason"]] += 1
            for reason in row["reasons"]:
                entry["reasons_applied"][reason] += 1
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in completed_records(score_dir):
        path = output_of(score_dir, record, "scores")
        if path is None:
            continue
        columns = ["n_tags", "image_encodings", *PLOTTED_SCORES[:-1]]
        table = pq.ParquetFile(path).read(columns=columns, use_threads=False)
        if table.num_rows:
            values["n_tags"]["all"].extend(map(float, table.column("n_tags").to_pylist()))
        encodings = table.column("image_encodings").to_pylist()
        for key in PLOTTED_SCORES[:-1]:  # column by column: no dict per row
            found = values[key]
            for names, scores in zip(encodings, table.column(key).to_pylist(), strict=True):
                for encoding, value in zip(names, scores, strict=True):
                    if value is not None and value == value:  # skip null and NaN
                        found[str(encoding)].append(float(value))
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
    drops = [
        [f"{name}: {reason}", name, reason, count]
        for name, s in per_source.items()
        for reason, count in s["dropped"].items()
    ]
    files: dict[str, str | bytes] = {
        "filter_drops.csv": csv_text(["drop", "source", "reason", "samples"], drops),
        "png/filter_drops.png": bars_png(
            "filter: samples dropped per source and (first) reason",
            [(label, count) for label, _, _, count in drops],
            value_title="samples dropped",
            category_title="source: reason",
            colour=PALETTE[1],
        ),
    }
    scores: dict[str, str | bytes] = {}
    for key in PLOTTED_SCORES:
        top = 20.0 if key == "n_tags" else 1.0
        for encoding, values in sorted(data["values"][key].items()):
            bins = [
                (j * top / BINS, (j + 1) * top / BINS, count)
                for j, count in enumerate(histogram(values, top=top))
            ]
            table = [[f"{low:g}", f"{high:g}", count] for low, high, count in bins]
            marks = [float(v) for v in _thresholds_of(key, encoding, thresholds) if v]
            if key == "n_tags":
                files["filter_tags.csv"] = csv_text(["bin_low", "bin_high", "samples"], table)
                files["png/filter_tags.png"] = histogram_png(
                    "filter: tag fields per sample (min_tags in red)",
                    bins,
                    x_title="tag fields (the last bin: 19 or more)",
                    y_title="samples",
                    marks=marks,
                )
                continue
            name = f"{key}-{slug(encoding)}"
            scores[f"{name}.csv"] = csv_text(["bin_low", "bin_high", "images"], table)
            scores[f"png/{name}.png"] = histogram_png(
                f"filter: {key} of {encoding} images (thresholds in red)",
                bins,
                x_title=SCORE_TITLES[key],
                y_title="images",
                marks=marks,
            )
    for name, content in files.items():
        write_file(plots / name, content)
    replace_files(plots / "filter_scores", {k: v for k, v in scores.items() if k.endswith(".csv")})
    replace_files(
        plots / "png" / "filter_scores",
        {k[len("png/") :]: v for k, v in scores.items() if k.startswith("png/")},
    )
    return metrics
