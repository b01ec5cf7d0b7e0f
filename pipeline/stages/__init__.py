"""The stages of a build, declared once, in build order (:data:`REGISTRY`).

Each :class:`Stage` names its module (``pipeline/stages/<name>.py``, which has
``run(params, progress=…)``), the stages it reads, the ``params.yaml`` sections it depends
on, the code it depends on and what it writes. Everything that lists stages reads this
registry: the command line (one subcommand per stage), ``eoinstruct all``, the report stage
(which stages it accounts and the links between them), the dataset card's accounting table
and the tests; ``tests/test_stage_registry.py`` checks ``dvc.yaml`` against it.

This module imports no stage module: :meth:`Stage.load` imports one when it runs, so the
registry sits below every stage and nothing here can form an import circle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

WORK = "${paths.work}"
CORPUS = "${paths.corpus}"
METRICS = "${paths.metrics}"
PLOTS = f"{METRICS}/plots"


@dataclass(frozen=True)
class Stage:
    """One stage of the build.

    Attributes:
        name: The DVC stage name (``sample_data``, ``ingest``…); the subcommand is the same
            with ``-`` for ``_``.
        summary: One line for ``--help``.
        inputs: Stages whose outputs it reads.
        params: ``params.yaml`` sections (or ``section.key``) its outputs depend on.
        code: Code it depends on besides its own module (paths relative to the repository
            root: DVC re-runs the stage when they change).
        outputs: What it writes (DVC ``outs``; ``${…}`` are ``params.yaml`` paths), plain
            files included (``cache: false``: the full report, timings, PNG charts).
        metrics: What ``dvc metrics show`` lists (DVC ``metrics``): small files of numbers.
        plots: Plot tables it writes (DVC ``plots``, a CSV file or a folder of them, each
            one series).
        partitioned: Whether it runs partition by partition, resumably, and returns counts.
        accounted: Whether the report stage checks its counts (read = kept + dropped +
            failed) and the links between such stages.
        link: ``(upstream, upstream count, own count)`` that must be equal, e.g.
            ``("ingest", "produced:samples", "read")``; ``+`` sums stages or counts.
        card: Whether the dataset card's accounting table lists it.
        frozen: Never run by ``dvc repro`` (e.g. the upload to the Hub).
        always_changed: Run by every ``dvc repro`` (DVC ``always_changed``): a cheap stage
            whose output is what DVC compares (the sources' fingerprints).
        options: Extra command-line options: ``(flag, help)``; ``--flag-name`` is passed to
            ``run`` as ``flag_name``; a help text starting with ``[switch]`` is a boolean.
        module_name: The module's import path, for a stage that lives outside
            ``pipeline/stages`` (a plugin); empty for the project's own stages.
    """

    name: str
    summary: str
    inputs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    partitioned: bool = False
    accounted: bool = False
    link: tuple[str, str, str] | None = None
    card: bool = False
    frozen: bool = False
    always_changed: bool = False
    options: tuple[tuple[str, str], ...] = ()
    module_name: str = ""

    @property
    def command(self) -> str:
        """The ``eoinstruct`` subcommand."""
        return self.name.replace("_", "-")

    @property
    def module(self) -> str:
        """The import path of the stage's module."""
        return self.module_name or f"{__name__}.{self.name}"

    @property
    def module_path(self) -> str:
        """The stage module's file, relative to the repository root."""
        return f"pipeline/stages/{self.name}.py"

    def load(self) -> ModuleType:
        """Import the stage's module."""
        return importlib.import_module(self.module)

    def runner(self) -> Callable[..., Any]:
        """Return the stage's ``run(params, progress=…, **options)``."""
        run: Callable[..., Any] = self.load().run
        return run


def _work(name: str) -> str:
    return f"{WORK}/{name}"


REGISTRY: tuple[Stage, ...] = (
    Stage(
        "sample_data",
        "write the embedded sample corpus (real layouts, synthetic pixels)",
        params=("sample_data", "paths.sample"),
        code=("sources", "pipeline/enrich/sample_extract.py"),
        outputs=("${paths.sample}",),
    ),
    Stage(
        "fingerprint",
        "fingerprint the enabled sources' roots (file sizes and times) for DVC",
        inputs=("sample_data",),
        params=("sources",),
        code=("sources", "pipeline/run/fingerprint.py"),
        outputs=(f"{WORK}/sources.json",),
        always_changed=True,
    ),
    Stage(
        "ingest",
        "read every enabled source into samples (metadata only)",
        inputs=("fingerprint",),
        params=("sources", "ingest"),
        code=("sources", "pipeline/records.py"),
        outputs=(_work("ingest"), "${sources.stac.chips_dir}"),
        partitioned=True,
        accounted=True,
        card=True,
    ),
    Stage(
        "enrich",
        "add OpenStreetMap tags to samples by footprint",
        inputs=("ingest",),
        params=("osm",),
        code=("pipeline/enrich/osm",),
        outputs=(_work("enrich"),),
        partitioned=True,
        accounted=True,
        link=("ingest", "produced:samples", "read"),
        card=True,
    ),
    Stage(
        "score",
        "compute tag, brightness and coverage scores (reads pixels)",
        inputs=("enrich",),
        params=("score",),
        code=(
            "pipeline/quality/scores.py",
            "pipeline/io/rasters.py",
            "pipeline/quality/dedup.py",
            "pipeline/io/render.py",
            "pipeline/io/rendered.py",
            "pipeline/corpus/rows.py",
        ),
        outputs=(_work("score"),),
        partitioned=True,
        accounted=True,
        link=("enrich", "kept", "read"),
        card=True,
    ),
    Stage(
        "filter",
        "apply the filter thresholds of params.yaml, recording each drop",
        inputs=("enrich", "score"),
        params=("filter",),
        code=(
            "pipeline/quality/thresholds.py",
            "pipeline/quality/plots.py",
            "pipeline/io/charts.py",
        ),
        outputs=(
            _work("filter"),
            f"{METRICS}/filter.json",
            f"{PLOTS}/png/filter_drops.png",
            f"{PLOTS}/png/filter_tags.png",
            f"{PLOTS}/png/filter_scores",
        ),
        plots=(
            f"{PLOTS}/filter_drops.csv",
            f"{PLOTS}/filter_tags.csv",
            f"{PLOTS}/filter_scores",
        ),
        partitioned=True,
        accounted=True,
        link=("score", "kept", "read"),
        card=True,
    ),
    Stage(
        "dedup",
        "remove exact, near and same-place-and-time duplicates; assign splits",
        inputs=("filter", "score"),
        params=("dedup",),
        code=(
            "pipeline/quality/dedup.py",
            "pipeline/quality/places.py",
            "pipeline/quality/splits.py",
        ),
        outputs=(_work("dedup"), f"{METRICS}/dedup.json"),
        partitioned=True,
        accounted=True,
        link=("filter", "kept", "read"),
        card=True,
    ),
    Stage(
        "generate",
        "make template-based instruction pairs from the labels",
        inputs=("dedup",),
        params=("generate",),
        code=("templates", "pipeline/instructions"),
        outputs=(_work("generate"),),
        partitioned=True,
        accounted=True,
        link=("dedup", "kept", "read"),
        card=True,
    ),
    Stage(
        "caption",
        "free-form pairs from a VLM server (when caption.enabled)",
        inputs=("dedup",),
        params=("caption",),
        code=("templates/captioner", "pipeline/caption", "pipeline/io/render.py"),
        outputs=(_work("caption"),),
        partitioned=True,
        accounted=True,
        link=("dedup", "kept", "read+produced:not_marked"),
    ),
    Stage(
        "validate",
        "check every pair against its sample and labels, and audit it",
        inputs=("generate", "caption", "dedup"),
        params=("generate", "audit"),
        code=("templates", "pipeline/instructions", "pipeline/audit"),
        outputs=(_work("validate"), f"{METRICS}/audit.json", f"{METRICS}/audit/balance"),
        metrics=(f"{METRICS}/audit/template.json",),
        partitioned=True,
        accounted=True,
        link=("generate+caption", "produced:pairs", "read"),
        card=True,
    ),
    Stage(
        "shard",
        "write the Parquet shards (WebDataset tars on request) and the corpus card",
        inputs=("validate", "dedup", "score"),
        params=("shard", "generate.box_scale"),
        code=(
            "pipeline/io/render.py",
            "pipeline/io/rendered.py",
            "pipeline/io/webdataset.py",
            "pipeline/corpus/card.py",
            "pipeline/corpus/card_splits.py",
            "pipeline/corpus/citation.py",
            "pipeline/corpus/hub.py",
            "pipeline/corpus/layout.py",
            "pipeline/corpus/licences.py",
            "pipeline/corpus/manifest.py",
            "sources",
        ),
        outputs=(CORPUS, _work("shard")),
        partitioned=True,
        accounted=True,
        link=("validate", "kept", "read"),
    ),
    Stage(
        "report",
        "write the build's accounting and metrics (counts per stage, source, task…)",
        inputs=(
            "ingest",
            "enrich",
            "score",
            "filter",
            "dedup",
            "generate",
            "caption",
            "validate",
            "shard",
        ),
        code=("pipeline/io/charts.py",),
        outputs=(f"{METRICS}/report.json",),
        metrics=(f"{METRICS}/summary.json", f"{METRICS}/summary"),
    ),
    # On demand, never by `dvc repro` (frozen): the export repeats the corpus's images in
    # EarthDial's Arrow layout, a second copy of every byte; write it where it trains.
    Stage(
        "export",
        "export the corpus for EarthDial's trainer (save_to_disk + mixture), on demand",
        inputs=("shard",),
        params=("earthdial",),
        code=(
            "pipeline/corpus/earthdial.py",
            "pipeline/corpus/views.py",
            "pipeline/corpus/webdataset.py",
        ),
        frozen=True,
    ),
    Stage(
        "build_report",
        "write the HTML build report and the DVC plot data",
        inputs=("shard",),
        params=("build_report", "generate.box_scale"),
        code=("pipeline/corpus/html_report.py", "pipeline/io/charts.py", "pipeline/audit"),
        outputs=(
            f"{METRICS}/report.html",
            f"{PLOTS}/png/counts",
            f"{PLOTS}/png/drops.png",
            f"{PLOTS}/png/locations.png",
            f"{PLOTS}/png/band_values",
            f"{PLOTS}/png/answer_lengths",
        ),
        plots=(
            *(f"{PLOTS}/counts/{dim}.csv" for dim in ("source", "task", "modality", "split")),
            f"{PLOTS}/drops.csv",
            f"{PLOTS}/locations.csv",
            f"{PLOTS}/band_values",
            f"{PLOTS}/answer_lengths",
        ),
    ),
    Stage(
        "publish",
        "upload the corpus to the Hugging Face Hub, verified",
        inputs=("shard",),
        params=("publish",),
        frozen=True,
        options=(
            ("repo-id", "ORG/NAME (default: params.yaml publish.repo_id)"),
            ("revision", "branch to upload to"),
            ("dry-run", "[switch] list what would be uploaded"),
        ),
    ),
)
"""Every stage, in build order."""

_REGISTERED: list[Stage] = []
"""Stages added at run time (:func:`register_stage`), after the built-in ones."""


def register_stage(new: Stage) -> None:
    """Add a stage after the built-in ones (a plugin; tests).

    The command line then has its subcommand and ``eoinstruct all`` runs it last; give it a
    ``dvc.yaml`` entry to run it under DVC.

    Args:
        new: The stage; its ``module_name`` must be importable.

    Raises:
        ValueError: If a stage of that name exists.
    """
    if any(s.name == new.name for s in all_stages()):
        raise ValueError(f"a stage named {new.name!r} exists")
    _REGISTERED.append(new)


def unregister_stage(name: str) -> None:
    """Remove a stage added with :func:`register_stage` (built-in stages stay)."""
    _REGISTERED[:] = [s for s in _REGISTERED if s.name != name]


def all_stages() -> tuple[Stage, ...]:
    """The built-in stages then the registered ones, in build order."""
    return (*REGISTRY, *_REGISTERED)


def stage(name: str) -> Stage:
    """Return a stage by name (``_`` or ``-``).

    Raises:
        KeyError: If no stage has that name.
    """
    key = name.replace("-", "_")
    for found in all_stages():
        if found.name == key:
            return found
    names = ", ".join(s.name for s in all_stages())
    raise KeyError(f"unknown stage {name!r}; stages: {names}")


def outputs_of(name: str) -> tuple[str, ...]:
    """Return where a stage's outputs are, as ``dvc.yaml`` names them.

    The shard stage's records live in ``<paths.work>/shard`` beside the corpus; a reader of
    the shard stage depends on the corpus.
    """
    found = stage(name)
    return found.outputs[:1] if found.outputs else ()


def accounted() -> tuple[Stage, ...]:
    """The stages whose counts the report checks, in build order."""
    return tuple(s for s in all_stages() if s.accounted)


def build_order(include_frozen: bool = False) -> tuple[Stage, ...]:
    """The stages ``eoinstruct all`` runs, in order (frozen ones left out by default)."""
    return tuple(s for s in all_stages() if include_frozen or not s.frozen)
