"""The corpus card: ``README.md`` of the corpus folder, generated from the build.

Its YAML front matter declares the configurations that ``datasets.load_dataset`` reads:

- ``default``: every pair (``load_dataset(<corpus>)``);
- ``<source>`` (e.g. ``xbd``): the pairs of one source;
- ``<task>`` (e.g. ``grounding``): the pairs of one task family, over all sources;
- ``<source>_<task>`` (e.g. ``xbd_disaster_assessment``): one source's pairs of one task.

Each is a set of globs over the same Parquet files (their names carry split, source and task,
see ``pipeline/corpus/layout.py``), so no configuration copies any bytes. A name that would
be declared twice (a task named like a source) is an error. The body states the counts per
source, task, modality and split, the features, the file layout, the box convention, the band
lists and renderings per sensor, the filter thresholds and what every stage dropped or failed
on, the generator and model per subset, and the licence and citation of every source that
contributed, with how to build a commercial-safe corpus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from eoinstruct.pipeline.accounting import StageStats, total
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.layout import config_patterns
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.render import DISPLAY_RANGES, SAR_RANGES_DB
from eoinstruct.pipeline.run.partitions import completed_records
from eoinstruct.pipeline.stages import REGISTRY
from eoinstruct.sources.registry import facts, source_names

NON_COMMERCIAL = {"CC-BY-NC-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0"}
"""Licences whose data may not be used commercially."""

ACCOUNTED_STAGES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.card)
"""Stages the card's accounting table lists (from the stage registry)."""

FEATURES: tuple[tuple[str, str, str], ...] = (
    ("pair_id", "string", "stable id (hash of sample, template, paraphrase, generator)"),
    ("sample_id", "string", "`<source>:<native id>`"),
    ("source", "string", "source adapter name"),
    ("task", "string", "task family"),
    ("template_id", "string", "template that produced the pair"),
    ("paraphrase_id", "int32", "paraphrase chosen within the template"),
    ("modality", "string", "rgb, multispectral, sar, infrared, thermal or hyperspectral"),
    ("sensor", "string", "sensor or platform"),
    ("images", "list of Image", "RGB renderings, one per `<image>` token, in order"),
    ("image_roles", "list of string", "role of each image (`image`, `pre`, `post`…)"),
    ("conversations", "list of {from, value}", "the dialogue, human first"),
    ("generator", "string", "generator name and version (`template/1`…)"),
    ("generator_params", "string (JSON)", "seed, box convention, class set, model…"),
    ("metadata", "string (JSON)", "native id, bands, GSD, CRS, footprint, times, tags…"),
)


def _encoding_note(encoding: str) -> str:
    if encoding in ("sar_db", "sar_linear"):
        co, cross, ratio = SAR_RANGES_DB["co"], SAR_RANGES_DB["cross"], SAR_RANGES_DB["ratio"]
        prefix = "linear power converted to dB; " if encoding == "sar_linear" else ""
        return (
            f"{prefix}R = co-pol in [{co[0]:g}, {co[1]:g}] dB, G = cross-pol in "
            f"[{cross[0]:g}, {cross[1]:g}] dB, B = co − cross in [{ratio[0]:g}, {ratio[1]:g}] dB "
            f"(single-pol: grey over [{co[0]:g}, {co[1]:g}] dB)"
        )
    if encoding == "uint8":
        return "8-bit RGB, unchanged (original PNG/JPEG bytes)"
    if encoding == "float":
        return "grey, 2nd–98th percentile of the image stretched to 0–255"
    if encoding in DISPLAY_RANGES:
        low, high = DISPLAY_RANGES[encoding]
        return f"raw values {low:g}–{high:g} stretched linearly to 0–255, clipped"
    return "unknown"


def _raster_note(encoding: str) -> str:
    if encoding == "uint8":
        return "no raster member (the PNG is the data)"
    if encoding == "reflectance_1e4":
        return "`.npy` uint16, reflectance × 10 000, 0 = nodata"
    return "`.npy` float32 in the source unit, NaN = nodata"


def make_configs(groups: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    """Return the ``configs`` of the card's front matter.

    Args:
        groups: ``"<split>|<source>|<task>"`` → counts (``pairs``…), from the shard summary.

    Returns:
        One entry per configuration, ``default`` first, each listing only splits it has.

    Raises:
        ValueError: If two configurations would get the same name.
    """
    keys = [tuple(k.split("|")) for k in groups if groups[k].get("pairs", 0) > 0]
    wanted: dict[str, tuple[str | None, str | None]] = {"default": (None, None)}
    for _, source, task in sorted(keys):
        for name, sel in (
            (source, (source, None)),
            (task, (None, task)),
            (f"{source}_{task}", (source, task)),
        ):
            if name in wanted and wanted[name] != sel:
                raise ValueError(f"configuration name {name!r} is ambiguous: rename a task")
            wanted[name] = sel
    configs = []
    for name, (source, task) in sorted(wanted.items(), key=lambda kv: (kv[0] != "default", kv[0])):
        splits = sorted(
            {
                split
                for split, s, t in keys
                if (source is None or s == source) and (task is None or t == task)
            }
        )
        entry: dict[str, Any] = {
            "config_name": name,
            "data_files": [
                {"split": split, "path": config_patterns(source, task, split)} for split in splits
            ],
        }
        if name == "default":
            entry["default"] = True
        configs.append(entry)
    return configs


def _table(title: str, counts: Mapping[str, int], unit: str = "pairs") -> list[str]:
    lines = [f"| {title} | {unit} |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(counts.items())]
    return [*lines, ""]


def _prefixed(produced: Mapping[str, int], prefix: str) -> Counter[str]:
    return Counter({k[len(prefix) :]: v for k, v in produced.items() if k.startswith(prefix)})


def stage_totals(params: Params) -> dict[str, StageStats]:
    """Return the summed counts of the stages before ``shard`` that have run.

    Args:
        params: Parameters (paths).

    Returns:
        Stage name → counts, in pipeline order.
    """
    out: dict[str, StageStats] = {}
    for stage in ACCOUNTED_STAGES:
        try:
            records = completed_records(params.work_dir(stage))
        except FileNotFoundError:
            continue
        out[stage] = total(StageStats.from_dict(r["stats"]) for r in records)  # type: ignore[arg-type]
    return out


def _band_text(source: str, band: str) -> str:
    try:
        bands = {b.name: b for b in facts(source).bands}
    except KeyError:
        return f"`{band}`"
    info = bands.get(band)
    if info is None:
        return f"`{band}`"
    extra = [info.description] if info.description else []
    if info.wavelength_nm:
        extra.append(f"{info.wavelength_nm:g} nm")
    if info.gsd_m:
        extra.append(f"{info.gsd_m:g} m")
    return f"`{band}` ({', '.join(extra)})" if extra else f"`{band}`"


def card_text(
    stats: StageStats,
    summary: Mapping[str, Any],
    params: Params,
    box_convention: str,
) -> str:
    """Return the text of the corpus card.

    Args:
        stats: The shard stage's summed counts.
        summary: The merged shard summary (``layout.merge_summaries``).
        params: The build's parameters (``filter`` thresholds; earlier stages' records).
        box_convention: Description of the box format.

    Returns:
        The Markdown document with its YAML front matter.
    """
    groups: Mapping[str, Mapping[str, int]] = summary["groups"]
    configs = make_configs(groups)
    produced = stats.produced
    sources = sorted(_prefixed(produced, "source:"))
    infos = {name: facts(name) for name in sources if name in source_names()}
    licences = sorted({info.licence for info in infos.values()})
    front = yaml.safe_dump(
        {
            "configs": configs,
            "license": "other",
            "license_name": "per-source",
            "license_details": "Each pair carries the licence of its source (metadata.licence); "
            "see the Licences section.",
            "pretty_name": "eoinstruct corpus",
            "task_categories": ["image-text-to-text", "visual-question-answering"],
            "tags": ["remote-sensing", "earth-observation", "instruction-tuning"],
        },
        sort_keys=True,
        allow_unicode=True,
    )
    example = next(
        ("_".join(key.split("|")[1:]) for key in sorted(groups, key=lambda k: k.split("|")[1:])),
        "default",
    )
    lines = [
        "---",
        front.rstrip(),
        "---",
        "",
        "# eoinstruct instruction corpus",
        "",
        "Image–dialogue pairs over Earth-observation imagery, built by eoinstruct from the "
        "sources below. Every number on this card is computed by the build.",
        "",
        f"**{stats.kept} pairs**; {sum(stats.failed.values())} pairs failed to render.",
        "",
        "## Loading",
        "",
        "```python",
        "import datasets",
        "",
        'ds = datasets.load_dataset("<this folder or hub id>")  # every pair',
        f'sub = datasets.load_dataset("<this folder or hub id>", "{example}")',
        "```",
        "",
        "Configurations: `default` (all pairs), `<source>`, `<task>` and `<source>_<task>`. "
        "They select files by name (`data/<split>-<source>-<part>-<task>-<n>.parquet`), so "
        "they share the same files and no image is stored twice.",
        "",
        "| configuration | splits (pairs) |",
        "|---|---|",
    ]
    for config in configs:
        name = config["config_name"]
        parts = []
        for entry in config["data_files"]:
            split = entry["split"]
            n = sum(
                c.get("pairs", 0) for key, c in groups.items() if _matches(key, name, split, config)
            )
            parts.append(f"{split} ({n})")
        lines.append(f"| `{name}` | {', '.join(parts)} |")
    lines += [
        "",
        "## Counts",
        "",
        *_table("split", _prefixed(produced, "split:")),
        *_table("source", _prefixed(produced, "source:")),
        *_table("task", _prefixed(produced, "task:")),
        *_table("modality", _prefixed(produced, "modality:")),
        "| split | source | task | pairs | modalities | generator | model |",
        "|---|---|---|---:|---|---|---|",
    ]
    for key, counts in sorted(groups.items()):
        split, source, task = key.split("|")
        modalities = ", ".join(sorted(_prefixed(counts, "modality:")))
        generators = ", ".join(sorted(_prefixed(counts, "generator:")))
        models = ", ".join(sorted(_prefixed(counts, "model:"))) or "—"
        lines.append(
            f"| {split} | {source} | {task} | {counts.get('pairs', 0)} | {modalities} | "
            f"{generators} | {models} |"
        )
    lines += [
        "",
        "## Features",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        *[f"| `{name}` | {kind} | {text} |" for name, kind, text in FEATURES],
        "",
        "## Files",
        "",
        "- `data/*.parquet`: the pairs with their embedded RGB renderings (zstd; Hugging Face "
        "features in the schema metadata, so images decode as PIL images).",
        "- `wds/*.tar`: the same pairs as WebDataset shards, same file stems: "
        "`<pair_id>.json` (all columns but images, plus `rasters`), one `<pair_id>.<role>.png` "
        "rendering per image and, for every image that is not 8-bit RGB, "
        "`<pair_id>.<role>.npy` with the raster itself (all bands; band names, dtype and "
        "nodata in the JSON's `rasters.<role>`).",
        "- `manifest.json`: SHA-256, bytes and rows of every file, and totals; "
        '`python -c "from eoinstruct.pipeline.corpus.manifest import verify_manifest as v; '
        "print(v(__import__('pathlib').Path('.')).describe())\"` checks a download.",
        "",
        "## Conventions",
        "",
        f"- Boxes: `<box>[[x1, y1, x2, y2, angle]]</box>` — {box_convention}. Several boxes "
        "concatenate `[[…]][[…]]`; boxes are sorted top to bottom, left to right; referred "
        "objects are in `<ref>…</ref>`. The same text is in every row's `metadata.box_convention`.",
        '- Conversations: `[{"from": "human"|"gpt", "value": ...}]`, human first; the first '
        "human turn is `[task tag] [sensor tag] <image>…` then the instruction, with one "
        "`<image>` per entry of `images` (roles in `image_roles`), as in EarthDial.",
        "- Closed-set questions list their options; class lists are separated by semicolons.",
        "",
        "## Sensors, bands and renderings",
        "",
        "| sensor | modality | sources | encoding | bands | RGB rendering | raster member |",
        "|---|---|---|---|---|---|---|",
    ]
    for sensor, entry in summary["sensors"].items():
        for image in entry["images"].values():
            source = entry["sources"][0] if entry["sources"] else ""
            bands = ", ".join(_band_text(source, b) for b in image["bands"])
            shown = ", ".join(image["display_bands"]) or "guessed from band names"
            lines.append(
                f"| {sensor} | {entry['modality']} | {', '.join(entry['sources'])} | "
                f"`{image['encoding']}` | {bands} | {shown}: {_encoding_note(image['encoding'])} "
                f"| {_raster_note(image['encoding'])} |"
            )
    lines += ["", *_filter_section(params), *_licence_section(infos, licences)]
    return "\n".join(lines) + "\n"


def _matches(key: str, name: str, split: str, config: Mapping[str, Any]) -> bool:
    import fnmatch

    g_split, source, task = key.split("|")
    if g_split != split:
        return False
    pattern = next(e["path"] for e in config["data_files"] if e["split"] == split)
    probe = f"data/{split}-{source}-00000-{task}-00000.parquet"
    return fnmatch.fnmatchcase(probe, pattern)


def _filter_section(params: Params) -> list[str]:
    lines = ["## Filtering", ""]
    section = params.raw.get("filter") or {}
    lines += ["Thresholds (`params.yaml`, section `filter`):", ""]
    lines += ["| param | value |", "|---|---|"]
    for key, value in sorted(section.items()):
        if isinstance(value, Mapping):
            for sub, inner in sorted(value.items()):
                lines.append(f"| `filter.{key}.{sub}` | {_value_text(inner)} |")
        else:
            lines.append(f"| `filter.{key}` | {_value_text(value)} |")
    lines += [""]
    totals = stage_totals(params)
    if totals:
        lines += [
            "What each stage read, kept, dropped (by reason) and failed on (by error kind):",
            "",
            "| stage | read | kept | dropped | failed |",
            "|---|---:|---:|---|---|",
        ]
        for stage, st in totals.items():
            dropped = ", ".join(f"{k} {v}" for k, v in sorted(st.dropped.items())) or "—"
            failed = ", ".join(f"{k} {v}" for k, v in sorted(st.failed.items())) or "—"
            lines.append(f"| {stage} | {st.read} | {st.kept} | {dropped} | {failed} |")
        lines.append("")
    return lines


def _value_text(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    return str(value)


def _licence_section(infos: Mapping[str, Any], licences: list[str]) -> list[str]:
    lines = [
        "## Sources, licences and citations",
        "",
        "| source | dataset | licence | citation |",
        "|---|---|---|---|",
    ]
    for name, info in sorted(infos.items()):
        note = " — **non-commercial**" if info.licence in NON_COMMERCIAL else ""
        lines.append(
            f"| `{name}` | [{info.title}]({info.homepage}) | {info.licence}{note} | "
            f"{info.citation} |"
        )
    lines.append("")
    non_commercial = sorted(n for n, i in infos.items() if i.licence in NON_COMMERCIAL)
    if non_commercial:
        lines += [
            f"**Non-commercial data**: {', '.join(f'`{n}`' for n in non_commercial)}. A "
            "commercial-safe corpus is built by excluding them: set "
            + ", ".join(f"`sources.{n}.enabled: false`" for n in non_commercial)
            + " in `params.yaml` and run `dvc repro` (each pair also carries its source's "
            "licence in `metadata.licence`).",
            "",
        ]
    else:
        lines += ["No source of this build is licensed for non-commercial use only.", ""]
    lines += [
        "Licences in this build: " + ", ".join(licences) + ". Cite the sources you use.",
        "",
    ]
    return lines


def write_card(
    corpus: Path,
    stats: StageStats,
    summary: Mapping[str, Any],
    params: Params,
    box_convention: str,
) -> Path:
    """Write the corpus ``README.md``.

    Args:
        corpus: The corpus folder.
        stats: The shard stage's summed counts.
        summary: The merged shard summary.
        params: The build's parameters.
        box_convention: Description of the box format.

    Returns:
        The path written.
    """
    path = corpus / "README.md"
    write_text_atomic(path, card_text(stats, summary, params, box_convention))
    return path
