"""The corpus card: ``README.md`` of the corpus folder, generated from the build.

Its YAML front matter is the Hub's dataset metadata (:mod:`eoinstruct.pipeline.corpus.hub`):
name, language, licences, size and task categories, source datasets, tags, ``dataset_info``
and the configurations that ``datasets.load_dataset`` reads:

- ``default``: every sample (``load_dataset(<corpus>)``), one row per sample with its pairs;
- ``<source>`` (e.g. ``xbd``): the samples of one source;
- ``pairs``: the text-only pair table (one row per pair, no pixels);
- ``commercial_safe``: the samples of the sources whose every licence permits commercial use
  (:mod:`eoinstruct.pipeline.corpus.licences`).

Each is a set of globs over the same Parquet files (their names carry split and source, see
``pipeline/corpus/layout.py``), so no configuration copies any bytes. A name that would
be declared twice (a task named like a source) is an error. The body says first when the build
read the embedded sample corpus (synthetic pixels and labels: not for training), then states
the configurations with their licences, the counts per source, task, modality and split, the
features, the file layout, the box convention, the band lists and renderings per sensor, the
filter thresholds and what every stage dropped or failed on, the splits and their cross-split
figures per source pair (:mod:`eoinstruct.pipeline.corpus.card_splits`), the generator and
model per subset, the licence of every source that contributed, and the BibTeX of eoinstruct,
EarthDial and every source.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from eoinstruct.pipeline.accounting import StageStats, total
from eoinstruct.pipeline.config import FAST_DUMPER, Params
from eoinstruct.pipeline.corpus.card_features import (
    FEATURES,
    PAIR_FEATURES,
    storage_lines,
    tar_lines,
)
from eoinstruct.pipeline.corpus.card_splits import read_dedup_metrics, splits_section
from eoinstruct.pipeline.corpus.citation import citation_section
from eoinstruct.pipeline.corpus.hub import ParquetFile, front_matter, parquet_files
from eoinstruct.pipeline.corpus.layout import config_patterns
from eoinstruct.pipeline.corpus.licences import (
    commercial_use,
    licence,
    licence_ids,
    licences_of,
)
from eoinstruct.pipeline.instructions.tags import card_section
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.render import DISPLAY_RANGES, SAR_RANGES_DB
from eoinstruct.pipeline.run.partitions import completed_records
from eoinstruct.pipeline.stages import REGISTRY
from eoinstruct.sources.base import SourceFacts
from eoinstruct.sources.registry import facts, source_names

COMMERCIAL_SAFE = "commercial_safe"
"""The configuration of the sources whose licences all permit commercial use."""

PAIRS_CONFIG = "pairs"
"""The configuration of the text-only pair table (one row per pair, no pixels)."""

ACCOUNTED_STAGES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.card)
"""Stages the card's accounting table lists (from the stage registry)."""


def _encoding_note(encoding: str) -> str:
    if encoding in ("sar_db", "sar_linear"):
        co, cross, ratio = SAR_RANGES_DB["co"], SAR_RANGES_DB["cross"], SAR_RANGES_DB["ratio"]
        prefix = "linear power converted to dB; " if encoding == "sar_linear" else ""
        return (
            f"{prefix}R = co-pol in [{co[0]:g}, {co[1]:g}] dB, G = cross-pol in "
            f"[{cross[0]:g}, {cross[1]:g}] dB, B = co − cross in [{ratio[0]:g}, {ratio[1]:g}] dB "
            f"(single-pol: grey over [{co[0]:g}, {co[1]:g}] dB)"
        )
    if encoding == "uint8":  # a 4-band colour-infrared image shows its R, G, B bands
        return "8-bit RGB, unchanged (original PNG/JPEG bytes); of 4 bands, R, G, B"
    if encoding == "float":
        return "grey, 2nd–98th percentile of the image stretched to 0–255"
    if encoding in DISPLAY_RANGES:
        low, high = DISPLAY_RANGES[encoding]
        return f"raw values {low:g}–{high:g} stretched linearly to 0–255, clipped"
    return "unknown"


_RASTER_NOTES = {
    "uint8": "RGB or grey: none (the PNG is the data); 4 bands: uint8 array",
    "reflectance_1e4": "uint16, scale 1e-4 (reflectance), 0 = nodata",
    "": "float32 in the source unit, NaN = nodata",
}
"""How an encoding's array is stored (``""``: every other encoding)."""


def make_configs(
    groups: Mapping[str, Mapping[str, int]], commercial: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Return the ``configs`` of the card's front matter.

    ``default`` and ``<source>`` read sample rows (``data/``), ``pairs`` the text-only pair
    table (``pairs/``); filter either by ``task`` (one documented line) instead of per-task
    files.

    Args:
        groups: ``"<split>|<source>|<task>"`` → counts (``pairs``…), from the shard summary.
        commercial: Sources whose licences permit commercial use; when any of them has pairs,
            :data:`COMMERCIAL_SAFE` selects their sample files (one glob per source and split).

    Returns:
        One entry per configuration, ``default`` first, each listing only splits it has.

    Raises:
        ValueError: If two configurations would get the same name.
    """
    keys = [tuple(k.split("|")) for k in groups if groups[k].get("pairs", 0) > 0]
    splits = sorted({split for split, _, _ in keys})
    configs: list[dict[str, Any]] = [
        {
            "config_name": "default",
            "data_files": [{"split": s, "path": config_patterns(None, s)} for s in splits],
            "default": True,
        },
        {
            "config_name": PAIRS_CONFIG,
            "data_files": [{"split": s, "path": config_patterns(None, s, "pairs")} for s in splits],
        },
    ]
    for source in sorted({source for _, source, _ in keys}):
        if source in (PAIRS_CONFIG, COMMERCIAL_SAFE, "default"):
            raise ValueError(f"configuration name {source!r} is taken: rename the source")
        configs.append(
            {
                "config_name": source,
                "data_files": [
                    {"split": s, "path": config_patterns(source, s)}
                    for s in sorted({split for split, src, _ in keys if src == source})
                ],
            }
        )
    safe = sorted({s for _, s, _ in keys if s in commercial})
    if safe:
        by_split: dict[str, set[str]] = {}
        for split, source, _ in keys:
            if source in safe:
                by_split.setdefault(split, set()).add(source)
        configs.append(
            {
                "config_name": COMMERCIAL_SAFE,
                "data_files": [
                    {
                        "split": split,
                        "path": [config_patterns(s, split) for s in sorted(names)],
                    }
                    for split, names in sorted(by_split.items())
                ],
            }
        )
    return sorted(configs, key=lambda c: (c["config_name"] != "default", c["config_name"]))


def config_sources(config: Mapping[str, Any], groups: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Return the sources whose pairs a configuration selects (sorted)."""
    found = set()
    for key, counts in groups.items():
        split, source, task = key.split("|")
        if counts.get("pairs", 0) > 0 and _selects(config, split, source, task):
            found.add(source)
    return sorted(found)


def _selects(config: Mapping[str, Any], split: str, source: str, task: str) -> bool:
    """Whether a configuration's globs select the shards of one split, source and task."""
    for folder in ("data", "pairs"):
        probe = f"{folder}/{split}-{source}-00000-00000.parquet"
        for entry in config["data_files"]:
            if entry["split"] != split:
                continue
            patterns = [entry["path"]] if isinstance(entry["path"], str) else entry["path"]
            if any(fnmatch.fnmatchcase(probe, pattern) for pattern in patterns):
                return True
    return False


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


def synthetic_sources(params: Params, sources: Sequence[str]) -> list[str]:
    """Return the sources whose root lies in the embedded sample corpus (``paths.sample``).

    Their data was written by the ``sample_data`` stage: real layouts, synthetic content.
    """
    try:
        sample = params.path_of("sample").resolve()
    except Exception:  # no paths.sample: nothing is known to be synthetic
        return []
    options = params.raw.get("sources") or {}
    found = []
    for name in sources:
        root = (options.get(name) or {}).get("root")
        if root and Path(str(root)).resolve().is_relative_to(sample):
            found.append(name)
    return found


def link(text: str, target: str) -> str:
    """Return a Markdown link when ``target`` starts with a well-formed http(s) URL.

    A target that is a URL followed by words (``https://stacspec.org (Earth Search, …)``) links
    the URL and keeps the words after the link; anything else is plain text.
    """
    url, _, rest = target.strip().partition(" ")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or re.search(r"[\s<>]", url):
        return f"{text} ({target})" if target else text
    return f"[{text}]({url})" + (f" {rest.strip()}" if rest.strip() else "")


def card_text(
    stats: StageStats,
    summary: Mapping[str, Any],
    params: Params,
    box_convention: str,
    files: Mapping[str, ParquetFile] | None = None,
) -> str:
    """Return the text of the corpus card.

    Args:
        stats: The shard stage's summed counts.
        summary: The merged shard summary (``layout.merge_summaries``).
        params: The build's parameters (``filter`` thresholds; earlier stages' records; the
            sources' roots, to tell a sample build).
        box_convention: Description of the box format.
        files: The corpus's Parquet shards and their sizes (``hub.parquet_files``), for
            ``dataset_info``; None counts none.

    Returns:
        The Markdown document with its YAML front matter.
    """
    groups: Mapping[str, Mapping[str, int]] = summary["groups"]
    produced = stats.produced
    sources = sorted(_prefixed(produced, "source:"))
    infos = {name: facts(name) for name in sources if name in source_names()}
    commercial = sorted(name for name, info in infos.items() if commercial_use(info))
    configs = make_configs(groups, commercial)
    synthetic = synthetic_sources(params, sources)
    meta = front_matter(
        configs=configs,
        files=files or {},
        pairs=stats.kept,
        tasks=sorted(_prefixed(produced, "task:")),
        modalities=sorted(_prefixed(produced, "modality:")),
        infos=list(infos.values()),
        licence_ids=licences_of(infos.values()),
        synthetic=bool(synthetic) and set(synthetic) == set(sources),
    )
    front = yaml.dump(meta, Dumper=FAST_DUMPER, sort_keys=False, allow_unicode=True, width=100)
    example = next((c["config_name"] for c in configs if c["config_name"] in sources), "default")
    lines = [
        "---",
        front.rstrip(),
        "---",
        "",
        "# eoinstruct instruction corpus",
        "",
        *_sample_caveat(synthetic, sources),
        "Image–dialogue pairs over Earth-observation imagery, built by eoinstruct from the "
        "sources below. Every number on this card is computed by the build.",
        "",
        f"**{stats.kept} pairs** over {int(summary.get('bytes', {}).get('samples', 0))} samples; "
        f"{sum(stats.failed.values())} pairs failed to render.",
        "",
        "## Loading",
        "",
        "One row per **sample**: its images are stored once (RGB renderings in `images`, every "
        "band losslessly in `arrays`) and its pairs ride along in `dialogues`. The per-pair "
        "training view is one line away:",
        "",
        "```python",
        "import datasets",
        "from eoinstruct.pipeline.corpus.views import pairs, to_physical",
        "",
        'ds = datasets.load_dataset("<this folder or hub id>")  # one row per sample',
        "train = pairs(ds)  # one row per pair: its images, arrays, conversations, metadata",
        'grounding = train["train"].filter(lambda r: r["task"] == "grounding")',
        f'sub = datasets.load_dataset("<this folder or hub id>", "{example}")  # one source',
        'x = to_physical(ds["train"][0]["arrays"][0])  # float32 (bands, H, W), NaN = nodata',
        "```",
        "",
        "Without eoinstruct: explode `dialogues` yourself (a pair's images are the entries of "
        "`images` whose `image_roles` are the pair's `image_roles`), and read an array with "
        "`np.load(io.BytesIO(a['npy'])) * a['scale'] + a['offset']`.",
        "",
        "Configurations: `default` (all samples), `<source>` (one source's samples), "
        f"`{PAIRS_CONFIG}` (the text-only pair table: one row per pair with its `sample_id`, "
        "task and conversation; no pixels)"
        + (
            f" and `{COMMERCIAL_SAFE}` (the sources whose licences all permit commercial use)"
            if any(c["config_name"] == COMMERCIAL_SAFE for c in configs)
            else ""
        )
        + ". They select files by name (`data/<split>-<source>-<part>-<n>.parquet`, "
        "`pairs/<split>-<source>-<part>-<n>.parquet`), so no image is stored twice; select a "
        "task with `.filter` on `task` (pair view or pair table).",
        "",
        "| configuration | splits (pairs) | licences | commercial use |",
        "|---|---|---|---|",
    ]
    for config in configs:
        parts = []
        for entry in config["data_files"]:
            split = entry["split"]
            n = sum(
                c.get("pairs", 0)
                for key, c in groups.items()
                if key.startswith(f"{split}|") and _selects(config, *key.split("|"))
            )
            parts.append(f"{split} ({n})")
        chosen = [infos[n] for n in config_sources(config, groups) if n in infos]
        blocked = [info.name for info in chosen if info.name not in commercial]
        use = "yes" if chosen and not blocked else f"no ({', '.join(blocked)})"
        lines.append(
            f"| `{config['config_name']}` | {', '.join(parts)} | "
            f"{', '.join(licences_of(chosen)) or '—'} | {use} |"
        )
    lines += ["", *_commercial_note(infos, commercial)]
    lines += [
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
        "Sample rows (`data/*.parquet`, configurations `default`, `<source>`"
        f", `{COMMERCIAL_SAFE}`):",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        *[f"| `{name}` | {kind} | {text} |" for name, kind, text in FEATURES],
        "",
        f"Pair table (`pairs/*.parquet`, configuration `{PAIRS_CONFIG}`): "
        + ", ".join(f"`{name}`" for name in PAIR_FEATURES)
        + ".",
        "",
        "## Files",
        "",
        "- `data/*.parquet`: one row per sample with its RGB renderings, arrays and dialogues "
        "(zstd; Hugging Face features in the schema metadata, so images decode as PIL images).",
        "- `pairs/*.parquet`: the same samples' pairs, text only, same file stems.",
        *tar_lines(summary),
        *storage_lines(summary),
        "- [`manifest.json`](manifest.json): SHA-256, bytes and rows of every file, and totals; "
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
                f"| {_RASTER_NOTES.get(image['encoding'], _RASTER_NOTES[''])} |"
            )
    tags: Counter[str] = Counter()
    for counts in groups.values():
        tags.update({k[4:]: v for k, v in counts.items() if k.startswith("tag:")})
    lines += [
        "",
        *card_section(tags),
        *_filter_section(params),
        *splits_section(read_dedup_metrics(params)),
        *_licence_section(infos, commercial),
        *citation_section(infos),
    ]
    return "\n".join(lines) + "\n"


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


def _sample_caveat(synthetic: Sequence[str], sources: Sequence[str]) -> list[str]:
    if not synthetic:
        return []
    which = (
        "Every source of this build was"
        if set(synthetic) == set(sources)
        else f"The sources {', '.join(f'`{n}`' for n in synthetic)} were"
    )
    return [
        "> **Sample build: synthetic data, not for training.** "
        f"{which} read from the embedded sample corpus (`paths.sample`, written by the "
        "`sample_data` stage): the real folder layouts and file formats of the datasets, "
        "filled with synthetic pixels and labels. The pairs exist to test the pipeline; do not "
        "use them to train or evaluate models. Point `sources.<name>.root` in `params.yaml` at "
        "the real datasets (`eoinstruct download <name> --root <folder>`) to build a real corpus.",
        "",
    ]


def _commercial_note(infos: Mapping[str, SourceFacts], commercial: Sequence[str]) -> list[str]:
    others = [
        f"`{name}` ({', '.join(licence_ids(info.licence))})"
        for name, info in sorted(infos.items())
        if name not in commercial
    ]
    if not commercial:
        return [f"No source of this build permits commercial use: no `{COMMERCIAL_SAFE}`.", ""]
    text = (
        f"`{COMMERCIAL_SAFE}` holds the pairs of {', '.join(f'`{n}`' for n in commercial)}: "
        "every licence they state permits commercial use (table below)"
    )
    text += f"; it leaves out {', '.join(others)}." if others else "; that is every source."
    return [
        text + " Attribution, share-alike and use restrictions of those licences still apply.",
        "",
    ]


def _licence_section(infos: Mapping[str, SourceFacts], commercial: Sequence[str]) -> list[str]:
    lines = [
        "## Sources and licences",
        "",
        "| source | dataset | licence | commercial use | citation |",
        "|---|---|---|---|---|",
    ]
    for name, info in sorted(infos.items()):
        noncommercial = [i for i in licence_ids(info.licence) if not licence(i).commercial]
        note = ""
        if any(i.startswith("CC-BY-NC") for i in noncommercial):
            note = " — **non-commercial**"
        elif noncommercial:
            note = " — **not cleared for commercial use**"
        lines.append(
            f"| `{name}` | {link(info.title, info.homepage)} | {info.licence}{note} | "
            f"{'yes' if name in commercial else 'no'} | {info.citation} |"
        )
    lines += [
        "",
        "Each pair also carries its source's licence in `metadata.licence` (finer where a "
        "source knows it per sensor or collection). Whether a licence permits commercial use "
        "is decided by this table:",
        "",
        "| licence | Hub id | commercial use | note |",
        "|---|---|---|---|",
    ]
    for licence_id in licences_of(infos.values()):
        terms = licence(licence_id)
        lines.append(
            f"| {link(terms.id, terms.url) if terms.url else terms.id} | `{terms.hub_id}` | "
            f"{'yes' if terms.commercial else 'no'} | {terms.note} |"
        )
    lines.append("")
    blocked = sorted(n for n in infos if n not in commercial)
    if blocked:
        lines += [
            f"**Not for commercial use**: {', '.join(f'`{n}`' for n in blocked)}. Use the "
            f"`{COMMERCIAL_SAFE}` configuration, or build a corpus without them: set "
            + ", ".join(f"`sources.{n}.enabled: false`" for n in blocked)
            + " in `params.yaml` and run `dvc repro`.",
            "",
        ]
    else:
        lines += ["Every source of this build permits commercial use.", ""]
    return lines


def write_card(
    corpus: Path,
    stats: StageStats,
    summary: Mapping[str, Any],
    params: Params,
    box_convention: str,
    files: Mapping[str, ParquetFile] | None = None,
) -> Path:
    """Write the corpus ``README.md`` (after the shards, whose sizes it states).

    Args:
        corpus: The corpus folder.
        stats: The shard stage's summed counts.
        summary: The merged shard summary.
        params: The build's parameters.
        box_convention: Description of the box format.
        files: Shard sizes the shard stage kept (others: read, ``hub.parquet_files``).

    Returns:
        The path written.
    """
    text = card_text(stats, summary, params, box_convention, parquet_files(corpus, files))
    write_text_atomic(corpus / "README.md", text)
    return corpus / "README.md"
