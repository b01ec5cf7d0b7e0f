"""The shard stage's per-partition summary: what a partition contributes to the card.

Pairs per split/source/task (with modality, sensor, generator, tag and model counts), sensors
and their bands, sample locations, band value histograms, answer lengths and the ``bytes``
stored vs the unique images' bytes; written as ``<work>/shard/summary/<partition>.json`` and
merged by :func:`eoinstruct.pipeline.corpus.layout.merge_summaries`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from eoinstruct.pipeline.corpus.rows import first_tags
from eoinstruct.pipeline.io.render import display_bands
from eoinstruct.pipeline.quality.histograms import HIST_BINS, VALUE_RANGES
from eoinstruct.pipeline.quality.places import footprint_centres
from eoinstruct.pipeline.records import InstructionPair, Sample


class PartitionSummary:
    """What a partition contributes to the card and the build report (written as JSON)."""

    def __init__(self) -> None:
        self.groups: dict[str, Counter[str]] = defaultdict(Counter)
        self.sensors: dict[str, dict[str, Any]] = {}
        self.footprints: list[tuple[str, str, str]] = []
        """(footprint WKT, source, modality) of each sample: centred in one GEOS call."""
        self.hist: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.answer_lengths: dict[str, Counter[int]] = defaultdict(Counter)
        self.seen_samples: set[str] = set()
        self.bytes: Counter[str] = Counter()

    def add_pair(self, pair: InstructionPair, sample: Sample, split: str, modality: str) -> None:
        """Count a written pair under its split/source/task group, and its answer lengths."""
        group = self.groups[f"{split}|{pair.source}|{pair.task}"]
        group["pairs"] += 1
        group[f"modality:{modality}"] += 1
        group[f"sensor:{sample.sensor}"] += 1
        group[f"generator:{pair.generator}"] += 1
        for tag in first_tags(pair.turns[0].value):
            group[f"tag:{tag}"] += 1
        model = pair.generator_params.get("model", "")
        if model:
            group[f"model:{model}"] += 1
        for turn in pair.turns:
            if turn.speaker == "gpt":
                self.answer_lengths[pair.task][len(turn.value)] += 1

    def add_sample(self, sample: Sample, hists: Mapping[str, Mapping[str, list[int]]]) -> None:
        """Record a written sample once: its location, sensor, images and band histograms."""
        if sample.sample_id in self.seen_samples:
            return
        self.seen_samples.add(sample.sample_id)
        self.footprints.append((sample.footprint_wkt, sample.source, sample.modality))
        entry = self.sensors.setdefault(
            sample.sensor, {"modality": sample.modality, "images": {}, "sources": []}
        )
        if sample.source not in entry["sources"]:
            entry["sources"] = sorted([*entry["sources"], sample.source])
        for image in sample.images:
            key = f"{image.encoding}|{','.join(image.bands)}"
            entry["images"].setdefault(
                key,
                {
                    "encoding": image.encoding,
                    "bands": list(image.bands),
                    "display_bands": list(display_bands(image)),
                },
            )
            for band, counts in hists.get(image.role, {}).items():
                slot = self.hist[sample.sensor].setdefault(
                    band,
                    {
                        "encoding": image.encoding,
                        "range": list(VALUE_RANGES[image.encoding]),
                        "counts": [0] * HIST_BINS,
                    },
                )
                if slot["encoding"] == image.encoding:
                    slot["counts"] = [a + b for a, b in zip(slot["counts"], counts, strict=True)]

    def points(self) -> list[list[Any]]:
        """``[lon, lat, source, modality]`` of each sample with a readable footprint."""
        centres = footprint_centres([wkt for wkt, _, _ in self.footprints])
        return [
            [round(centre[0], 4), round(centre[1], 4), source, modality]
            for centre, (_, source, modality) in zip(centres, self.footprints, strict=True)
            if centre is not None
        ]

    def to_json(self) -> str:
        """The summary as sorted, indented JSON (one file per partition)."""
        data = {
            "groups": {k: dict(sorted(v.items())) for k, v in sorted(self.groups.items())},
            "sensors": dict(sorted(self.sensors.items())),
            "points": sorted(self.points()),
            "band_histograms": {k: dict(sorted(v.items())) for k, v in sorted(self.hist.items())},
            "answer_lengths": {
                task: {str(n): c for n, c in sorted(lengths.items())}
                for task, lengths in sorted(self.answer_lengths.items())
            },
            "bytes": dict(sorted(self.bytes.items())),
        }
        return json.dumps(data, sort_keys=True, indent=1) + "\n"
