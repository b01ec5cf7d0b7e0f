"""The corpus card: ``README.md`` of the corpus folder, generated from the build.

Its YAML front matter declares the Parquet shards per split as the ``default`` configuration,
which is what ``datasets.load_dataset(<corpus folder>)`` reads (the WebDataset tars beside
them are then ignored by that call). The body states the counts, the box convention, the image
renderings and the licences of the sources that contributed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from pipeline.accounting import StageStats
from pipeline.atomic import write_text_atomic
from sources.registry import ADAPTERS, adapter_class

NON_COMMERCIAL = {"CC-BY-NC-SA-4.0", "CC-BY-NC-4.0"}


def _table(title: str, counts: Mapping[str, int]) -> list[str]:
    lines = [f"| {title} | pairs |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(counts.items())]
    return [*lines, ""]


def _prefixed(produced: Mapping[str, int], prefix: str) -> Counter[str]:
    return Counter({k[len(prefix) :]: v for k, v in produced.items() if k.startswith(prefix)})


def write_card(
    corpus: Path,
    stats: StageStats,
    splits: Mapping[str, int],
    box_convention: str,
    records: Sequence[Mapping[str, object]],
) -> Path:
    """Write the corpus ``README.md``.

    Args:
        corpus: The corpus folder.
        stats: The shard stage's summed counts.
        splits: Pairs per split.
        box_convention: Description of the box format.
        records: The shard stage's completion records (to list the files).

    Returns:
        The path written.
    """
    configs = [
        {
            "config_name": "default",
            "data_files": [
                {"split": split, "path": f"data/{split}-*.parquet"} for split in sorted(splits)
            ],
        }
    ]
    sources = sorted(_prefixed(stats.produced, "source:"))
    licences = {name: adapter_class(name).licence for name in sources if name in ADAPTERS}
    front = yaml.safe_dump(
        {"configs": configs, "license": "other", "pretty_name": "eoinstruct corpus"},
        sort_keys=True,
    )
    n_files = sum(len(r["outputs"]) for r in records)  # type: ignore[arg-type]
    lines = [
        "---",
        front.rstrip(),
        "---",
        "",
        "# eoinstruct instruction corpus",
        "",
        "Built by eoinstruct from the sources below. Load it with "
        '`datasets.load_dataset("<this folder>")`; the same pairs are in `wds/*.tar` as '
        "WebDataset shards (`<pair_id>.json` plus one `<pair_id>.<role>.png` per image).",
        "",
        f"{stats.kept} pairs in {n_files} files; {sum(stats.failed.values())} pairs failed "
        "to render.",
        "",
        *_table("split", splits),
        *_table("source", _prefixed(stats.produced, "source:")),
        *_table("task", _prefixed(stats.produced, "task:")),
        *_table("modality", _prefixed(stats.produced, "modality:")),
        "## Conventions",
        "",
        f"- Boxes: `<box>{box_convention.split(' with ')[0]}</box>` — {box_convention}.",
        '- Conversations: a list of `{"from": "human"|"gpt", "value": ...}` turns; the '
        "first human turn is `<task tag> <sensor tag> <image>…` with one `<image>` per entry of "
        "`images` (whose roles are in `image_roles`).",
        "- Images: Sentinel-2 as true colour B04/B03/B02 with reflectance 0–0.3 stretched to "
        "0–255; Sentinel-1 as R=VV [−25, 0] dB, G=VH [−30, −5] dB, B=VV−VH [0, 15] dB; 8-bit RGB "
        "sources unchanged.",
        "- `metadata` (JSON): native id, bands, GSD, CRS, lon/lat footprint, acquisition "
        "times, licence, tags, image sizes.",
        "",
        "## Licences",
        "",
    ]
    for name, licence in licences.items():
        note = " — **non-commercial**" if licence in NON_COMMERCIAL else ""
        lines.append(f"- `{name}`: {licence}{note}")
    if any(lic in NON_COMMERCIAL for lic in licences.values()):
        lines += [
            "",
            "Some sources are non-commercial: disable them in `params.yaml` "
            "(`sources.<name>.enabled: false`) to build a commercial-safe corpus.",
        ]
    path = corpus / "README.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
