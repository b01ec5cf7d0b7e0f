"""Stage ``report``: the build's accounting, in full and as DVC metrics.

Writes into ``<paths.metrics>``:

- ``report.json``: per stage the counts (read, kept, dropped by reason, failed by kind) with
  the identity read = kept + dropped + failed checked, the same per source, the links between
  stages (what one stage passed on is what the next one read), pairs per task, modality,
  split and source, task families per source, modality and temporal type.
- ``summary.json`` and ``summary/``: the DVC metrics, a few numbers per file so that
  ``dvc metrics show`` (one row per file, one column per key) is a table that fits a terminal
  (:func:`summary_files`).
- ``timings.json``: seconds and partitions per stage (from the stages' local state folders),
  apart from the metrics so that ``dvc metrics diff`` compares only counts; like the state
  folders it is local bookkeeping, tracked by neither DVC nor git (it differs on every run).

The stage fails if any identity or link does not hold.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from eoinstruct.pipeline.accounting import AccountingError, StageStats, total
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.charts import replace_files, write_file
from eoinstruct.pipeline.run.partitions import TIMINGS_FILE, completed_records
from eoinstruct.pipeline.stages import accounted

STAGES: tuple[str, ...] = tuple(s.name for s in accounted())
"""The stages whose counts are checked, in build order (from the stage registry)."""

LINKS: tuple[tuple[str, str, str, str], ...] = tuple(
    (s.link[0], s.link[1], s.name, s.link[2]) for s in accounted() if s.link is not None
)
"""(upstream stage, its count, downstream stage, its count) that must be equal."""


def _records_dir(params: Params, stage: str) -> tuple[Path, Path | None]:
    if stage == "shard":
        return params.path_of("corpus"), params.work_dir("shard") / "_done"
    return params.work_dir(stage), None


def _value(stats: StageStats, what: str) -> int:
    if "+" in what:
        return sum(_value(stats, part) for part in what.split("+"))
    if what.startswith("produced:"):
        return stats.produced.get(what.split(":", 1)[1], 0)
    return int(getattr(stats, what))


def _prefixed(produced: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in sorted(produced.items()) if k.startswith(prefix)}


def _nested(flat: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, value in sorted(flat.items()):
        outer, inner = key.split("/", 1)
        out.setdefault(outer, {})[inner] = value
    return out


def collect_report(params: Params) -> tuple[dict[str, Any], dict[str, Any]]:
    """Collect the counts of every stage.

    Args:
        params: Parameters (paths).

    Returns:
        The report and the timings.

    Raises:
        AccountingError: If a stage's identity or a link between stages does not hold.
    """
    per_stage: dict[str, StageStats] = {}
    per_source: dict[str, dict[str, StageStats]] = defaultdict(dict)
    timings: dict[str, Any] = {}
    for stage in STAGES:
        stage_dir, records_dir = _records_dir(params, stage)
        records = completed_records(stage_dir, records_dir)
        by_source: dict[str, list[StageStats]] = defaultdict(list)
        for record in records:
            by_source[str(record["source"])].append(StageStats.from_dict(record["stats"]))
        summary = total(s for group in by_source.values() for s in group)
        summary.check(stage)
        per_stage[stage] = summary
        for source, group in sorted(by_source.items()):
            per_source[source][stage] = total(group)
            per_source[source][stage].check(f"{stage}/{source}")
        timing_path = params.state_dir(stage) / TIMINGS_FILE
        if timing_path.is_file():
            timing = json.loads(timing_path.read_text(encoding="utf-8"))
            seconds = float(timing["seconds"])
            timings[stage] = {
                "seconds": seconds,
                "partitions": timing["partitions"],
                "partitions_redone_last_run": timing["redone"],
                "items_per_second": round(summary.read / seconds, 1) if seconds else None,
            }
    links = []
    for up, up_what, down, down_what in LINKS:
        a = sum(_value(per_stage[name], up_what) for name in up.split("+"))
        b = _value(per_stage[down], down_what)
        links.append({"from": f"{up}.{up_what}", "to": f"{down}.{down_what}", "equal": a == b})
        if a != b:
            raise AccountingError(f"{up}.{up_what} = {a} but {down}.{down_what} = {b}")

    def clean(stats: StageStats) -> dict[str, Any]:
        data = stats.to_dict()
        data.pop("seconds")
        return data

    shard = per_stage["shard"].produced
    report: dict[str, Any] = {
        "stages": {name: clean(stats) for name, stats in per_stage.items()},
        "sources": {
            source: {stage: clean(stats) for stage, stats in stages.items()}
            for source, stages in sorted(per_source.items())
        },
        "links": links,
        "corpus": {
            "pairs": per_stage["shard"].kept,
            "splits": _prefixed(dict(shard), "split:"),
            "tasks": _prefixed(dict(shard), "task:"),
            "sources": _prefixed(dict(shard), "source:"),
            "modalities": _prefixed(dict(shard), "modality:"),
        },
        "families": {
            "by_source": {
                source: _prefixed(dict(stages["validate"].produced), "pairs:")
                for source, stages in sorted(per_source.items())
                if "validate" in stages
            },
            "by_modality": _nested(_prefixed(dict(per_stage["validate"].produced), "by_modality:")),
            "by_temporal": _nested(_prefixed(dict(per_stage["validate"].produced), "by_temporal:")),
        },
        "drop_reasons": dict(
            sorted(
                {
                    f"{stage}:{reason}": n
                    for stage, stats in per_stage.items()
                    for reason, n in stats.dropped.items()
                }.items()
            )
        ),
        "failures": {
            stage: dict(sorted(stats.failed.items()))
            for stage, stats in per_stage.items()
            if stats.failed
        },
        "accounting_ok": True,
    }
    return report, timings


def corpus_samples(corpus: Path) -> int:
    """Count the distinct samples that have pairs in a corpus (``data/*.parquet``)."""
    ids: set[str] = set()
    for path in sorted((corpus / "data").glob("*.parquet")):
        ids.update(pq.read_table(path, columns=["sample_id"]).column(0).to_pylist())
    return len(ids)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def summary_files(report: dict[str, Any], samples: int) -> dict[str, dict[str, Any]]:
    """Cut the report's headline numbers into DVC metrics files of a few numbers each.

    ``dvc metrics show`` prints one row per file and one column per key of any file, so one
    file with all these numbers would be a single row thousands of characters wide. Files
    that share their keys make a narrow table instead, one row per file, the path saying
    what the row is:

    - ``summary.json``: ``pairs``, ``samples`` (with pairs), ``sources``, ``accounting_ok``;
    - ``summary/split/<split>.json``, ``summary/modality/<modality>.json``,
      ``summary/task/<task>.json``: ``pairs``;
    - ``summary/stage/<n>-<stage>.json`` (``n``: build order): ``read``, ``kept``,
      ``dropped``, ``failed``;
    - ``summary/stage/<n>-<stage>/<reason>.json``: ``dropped`` (or ``failed``, by error
      kind) and ``share``, that count over the stage's ``read``.

    Args:
        report: The report (:func:`collect_report`).
        samples: Samples with pairs in the corpus (:func:`corpus_samples`).

    Returns:
        Path relative to ``paths.metrics`` → content.
    """
    corpus = report["corpus"]
    files: dict[str, dict[str, Any]] = {
        "summary.json": {
            "pairs": corpus["pairs"],
            "samples": samples,
            "sources": len(corpus["sources"]),
            "accounting_ok": report["accounting_ok"],
        }
    }
    for dim, key in (("split", "splits"), ("modality", "modalities"), ("task", "tasks")):
        for value, pairs in corpus[key].items():
            files[f"summary/{dim}/{value}.json"] = {"pairs": pairs}
    digits = len(str(len(STAGES)))
    for index, name in enumerate(STAGES, 1):
        stats = report["stages"][name]
        stem = f"summary/stage/{index:0{digits}d}-{name}"
        read = stats["read"]
        files[f"{stem}.json"] = {
            "read": read,
            "kept": stats["kept"],
            "dropped": sum(stats["dropped"].values()),
            "failed": sum(stats["failed"].values()),
        }
        for outcome in ("dropped", "failed"):
            for reason, n in stats[outcome].items():
                row = f"{stem}/{reason}.json"
                if row in files:  # a failure kind named like a drop reason
                    row = f"{stem}/{outcome}-{reason}.json"
                files[row] = {outcome: n, "share": round(n / read, 4) if read else 0.0}
    return files


def run(params: Params, progress: bool = True) -> dict[str, Any]:
    """Write ``report.json``, ``summary.json``, ``summary/`` and ``timings.json``.

    Args:
        params: Parameters.
        progress: Unused (the stage is quick); accepted like every stage.

    Returns:
        The report.
    """
    report, timings = collect_report(params)
    out = params.path_of("metrics")
    write_text_atomic(out / "report.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
    write_text_atomic(out / "timings.json", json.dumps(timings, indent=2, sort_keys=True) + "\n")
    summary = summary_files(report, corpus_samples(params.path_of("corpus")))
    write_file(out / "summary.json", _json(summary.pop("summary.json")))
    replace_files(
        out / "summary", {name[len("summary/") :]: _json(data) for name, data in summary.items()}
    )
    return report


def summarize(report: dict[str, Any]) -> str:
    """The corpus counts of the report, as indented JSON (printed by the CLI)."""
    return json.dumps(report["corpus"], indent=2, sort_keys=True)
