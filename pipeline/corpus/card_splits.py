"""The corpus card's "Splits" section: how splits were drawn and how far apart they are.

Read from the ``dedup`` stage's metrics (``<paths.metrics>/dedup.json``,
:func:`eoinstruct.pipeline.stages.dedup.dedup_metrics`): samples per split and source, the
official splits the place rule overrode, and the cross-split figures per pair of sources
(pairs of samples in different splits closer than the block size, closer than
``same_place_m``, sharing a location key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import Params

FIGURES: tuple[tuple[str, str], ...] = (
    ("closer_than_block", "closer than the block"),
    ("closer_than_same_place_m", "closer than same_place_m"),
    ("same_location_key", "same location key"),
)
"""``leakage.by_sources`` figure → column title."""


def read_dedup_metrics(params: Params) -> dict[str, Any] | None:
    """Return the dedup stage's metrics, or None when the build has not written them."""
    path = Path(params.path_of("metrics")) / "dedup.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def splits_section(metrics: Mapping[str, Any] | None) -> list[str]:
    """Return the card's lines about the splits (none when there are no metrics).

    Args:
        metrics: The dedup stage's metrics (:func:`read_dedup_metrics`).

    Returns:
        Markdown lines, ending with an empty line.
    """
    if not metrics or "leakage" not in metrics:
        return []
    leak = metrics["leakage"]
    block_km = f"{leak.get('block_km', 0):g}"
    same_m = f"{leak.get('same_place_m') or 0:g}"
    lines = [
        "## Splits",
        "",
        "Every view of one place (the same patch in two distributions, the Sentinel-1 and "
        "Sentinel-2 patches of one position, the chips of one footprint, samples whose "
        f"centroids are closer than {same_m} m) is in one split. A place keeps its members' "
        "official split, the most restrictive where they differ (test > validation > train); "
        f"a place without one takes the split of its {block_km} km geographic block.",
        "",
        "| source | " + " | ".join(["train", "validation", "test"]) + " | official split changed |",
        "|---|---:|---:|---:|---:|",
    ]
    changed = metrics.get("official_splits_overridden", {})
    for source, counts in sorted(metrics.get("splits_by_source", {}).items()):
        cells = [str(counts.get(s, 0)) for s in ("train", "validation", "test")]
        lines.append(f"| {source} | {' | '.join(cells)} | {changed.get(source, 0)} |")
    lines += [
        "",
        f"Pairs of samples in different splits: {leak.get('pairs_closer_than_block', 0)} closer "
        f"than the block ({block_km} km), {leak.get('pairs_closer_than_same_place_m', 0)} "
        f"closer than {same_m} m, {leak.get('pairs_sharing_a_location_key', 0)} sharing a "
        "location key. Official splits are usually not geographic, so nearby places of a source "
        "that has them can be in different splits (pairs closer than the block).",
        "",
    ]
    by_sources: Mapping[str, Mapping[str, int]] = leak.get("by_sources", {})
    if by_sources:
        lines += [
            "| sources | " + " | ".join(title for _, title in FIGURES) + " |",
            "|---|" + "---:|" * len(FIGURES),
        ]
        for pair, figures in sorted(by_sources.items()):
            cells = [str(figures.get(name, 0)) for name, _ in FIGURES]
            lines.append(f"| {pair.replace('|', ' – ')} | {' | '.join(cells)} |")
        lines.append("")
    return lines
