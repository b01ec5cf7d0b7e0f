"""Command-line entry point: ``eoinstruct <stage>``; each DVC stage calls one subcommand.

The stage subcommands are generated from the stage registry
(:func:`eoinstruct.pipeline.stages.all_stages`); ``download``, ``sources`` and ``audit`` (the
audit of a finished corpus) are tools beside the build.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

# The project registers no pydantic plugin; looking for them scans every installed package's
# entry points (importlib.metadata, ~25 ms of each stage's start-up). An explicit setting wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from eoinstruct.pipeline.run.startup import pydantic_plugins_unscanned

# ... nor import importlib.metadata (~20 ms) to not read those entry points (see there)
pydantic_plugins_unscanned()

import eoinstruct  # noqa: E402
from eoinstruct.pipeline.accounting import StageStats  # noqa: E402
from eoinstruct.pipeline.config import ConfigError, Params, load_params, parse_override  # noqa: E402
from eoinstruct.pipeline.stages import Stage, all_stages, build_order, stage  # noqa: E402

log = logging.getLogger("eoinstruct")


def _print_result(found: Stage, result: Any) -> None:
    """Print what a stage returned: counts, or the stage module's own ``summarize(result)``."""
    if isinstance(result, StageStats):
        parts = [f"read {result.read}", f"kept {result.kept}"]
        if result.dropped:
            parts.append(f"dropped {dict(sorted(result.dropped.items()))}")
        if result.failed:
            parts.append(f"failed {dict(sorted(result.failed.items()))}")
        print(f"{found.name}: " + ", ".join(parts))
        return
    summarize = getattr(found.load(), "summarize", None)
    if summarize is not None:
        print(summarize(result))
    else:
        print(f"{found.command}: {json.dumps(result, sort_keys=True, default=str)[:2000]}")


def run_stage(found: Stage, params: Params, progress: bool, **options: Any) -> Any:
    """Run one stage and print its result.

    Args:
        found: The stage.
        params: Parameters.
        progress: Show progress bars.
        **options: The stage's extra options (see :attr:`Stage.options`).

    Returns:
        What the stage's ``run`` returned.
    """
    result = found.runner()(params, progress=progress, **options)
    _print_result(found, result)
    return result


def _option_dest(flag: str) -> str:
    return flag.replace("-", "_")


def _overrides(params: Params, args: argparse.Namespace) -> Params:
    """Apply ``--set`` and the executor flags to the loaded parameters (checked again)."""
    values: dict[str, Any] = dict(parse_override(text) for text in args.set or ())
    if args.scheduler:
        values.update({"executor.kind": "dask", "executor.scheduler": args.scheduler})
    if args.executor:
        values["executor.kind"] = args.executor
    if args.workers:
        values["executor.workers"] = args.workers
    return params.with_overrides(values) if values else params


def _type_name(annotation: Any) -> str:
    generic = typing.get_origin(annotation) is not None
    text = str(annotation) if generic else getattr(annotation, "__name__", str(annotation))
    return re.sub(r"\b[\w.]+\.(\w+)", r"\1", text).replace("NoneType", "None")


def _settings_help(section: str) -> list[str]:
    """One line per setting of a params.yaml section (or ``section.key``)."""
    from eoinstruct.pipeline.settings import Section, Settings

    name, _, key = section.partition(".")
    field = Settings.model_fields.get(name)
    if field is None:
        return [f"  {section}"]
    model = field.annotation
    candidates = [a for a in getattr(model, "__args__", (model,)) if a is not type(None)]
    found = next((a for a in candidates if isinstance(a, type) and issubclass(a, Section)), None)
    if found is None:
        return [f"  {section}: {_type_name(model)}"]
    prefix = f"{name}.<name>" if typing.get_origin(model) is dict else name
    lines = []
    for field_name, info in found.model_fields.items():
        if key and field_name != key:
            continue
        default = "required" if info.is_required() else f"default {info.get_default()!r}"
        lines.append(f"  {prefix}.{field_name}: {_type_name(info.annotation)} ({default})")
    if found.model_config.get("extra") == "allow":
        lines.append(f"  {prefix}.*: the adapter's own options (see its docstring)")
    return lines


def _stage_description(found: Stage) -> str:
    lines = [found.summary + "."]
    if found.inputs:
        lines.append(f"Reads the outputs of: {', '.join(found.inputs)}.")
    if found.frozen:
        lines.append("Frozen in dvc.yaml: `dvc repro` never runs it.")
    if found.params:
        lines.append("")
        lines.append(f"Settings (params.yaml {', '.join(found.params)}; override with --set):")
        for section in found.params:
            lines += _settings_help(section)
    return "\n".join(lines)


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the subcommand."""
    keep = {} if defaults else {"default": argparse.SUPPRESS}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--params",
        type=Path,
        help="parameters file (default: params.yaml)",
        **(keep or {"default": Path("params.yaml")}),
    )
    common.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="override one setting for this run (YAML value; repeatable), e.g. "
        "--set filter.min_tags=2",
        **(keep or {"default": []}),
    )
    common.add_argument(
        "--no-progress", action="store_true", help="hide progress bars", **(keep or {})
    )
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging", **keep)
    common.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the traceback (default: one line saying what to do)",
        **keep,
    )
    common.add_argument(
        "--executor",
        choices=["inprocess", "local", "dask"],
        help="where partitions run (default: params.yaml executor.kind, else in-process)",
        **keep,
    )
    common.add_argument(
        "--workers", type=int, help="worker processes of a local Dask cluster", **keep
    )
    common.add_argument(
        "--scheduler", help="address of an existing Dask scheduler (tcp://host:port)", **keep
    )
    return common


def build_parser(describe: bool = True) -> argparse.ArgumentParser:
    """Return the argument parser of the ``eoinstruct`` command.

    Args:
        describe: Build every subcommand's help in full. Without it (a run that shows no
            help, see :func:`_describes`) the stages' descriptions, which list their settings
            from the settings models (importing pydantic), are left empty and ``download``
            gets no arguments (its help lists the sources, importing each one's download
            module); parsing any other command is unchanged.
    """
    parser = argparse.ArgumentParser(
        prog="eoinstruct",
        description="Build EarthDial-Instruct-style instruction corpora for Earth observation. "
        "Each stage subcommand is one DVC stage (see dvc.yaml); `dvc repro` runs them in order.",
        parents=[_global_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=eoinstruct.__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    later = [_global_options(defaults=False)]
    for found in all_stages():
        cmd = sub.add_parser(
            found.command,
            help=found.summary,
            description=_stage_description(found) if describe else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=later,
        )
        for flag, text in found.options:
            if text.startswith("[switch]"):
                cmd.add_argument(f"--{flag}", action="store_true", help=text[8:].strip())
            else:
                cmd.add_argument(f"--{flag}", help=text)
    every = sub.add_parser(
        "all", help="run every stage in order, without DVC (frozen ones left out)", parents=later
    )
    every.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="STAGE",
        help="leave a stage out (repeatable), e.g. sample_data on a build of real data",
    )
    download = sub.add_parser("download", help="download, verify and extract a source dataset")
    if describe:
        from eoinstruct.sources.download import add_download_arguments

        add_download_arguments(download)
    audit = sub.add_parser(
        "audit",
        help="audit a corpus: flags per template, answer balance, variety",
        description="Audit every pair of a corpus (its Parquet rows, images not read): the "
        "family rules re-derive each answer from the labels in the row's metadata, and the "
        "generic checks look for metadata answers, unanswered yes/no questions and grammar "
        "slips. Prints a table per template and per family; exits 1 when the flags or the "
        "answer balance exceed params.yaml audit (max_flagged_rate, "
        "max_flagged_rate_captioner, max_answer_share, balance_min_pairs).",
        parents=later,
    )
    audit.add_argument(
        "corpus", nargs="?", type=Path, help="corpus folder (default: params.yaml paths.corpus)"
    )
    audit.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON")
    webdataset = sub.add_parser(
        "webdataset",
        help="write the corpus's WebDataset tars from its Parquet shards, on demand",
        description="Stream every data/<stem>.parquet of the corpus into <stem>.tar, "
        "byte-identical to the tars the shard stage writes with shard.webdataset: true. Each "
        "tar is written atomically; a re-run keeps the tars already complete. Into "
        "<corpus>/wds (the default) the tars also join the corpus's manifest, so that "
        "`eoinstruct publish` uploads them.",
        parents=later,
    )
    webdataset.add_argument(
        "corpus", nargs="?", type=Path, help="corpus folder (default: params.yaml paths.corpus)"
    )
    webdataset.add_argument(
        "--out", type=Path, metavar="DIR", help="where the tars go (default: <corpus>/wds)"
    )
    cluster = sub.add_parser(
        "cluster",
        help="start/stop one local Dask cluster that every --executor local stage of a run uses",
        description="`cluster start` runs a Dask LocalCluster in the background and records "
        "its address in <paths.work>/_state/cluster.json; every stage run with --executor "
        "local (e.g. by `dvc repro`) connects to it instead of starting its own. `cluster "
        "stop` ends it; `cluster status` prints it.",
        parents=later,
    )
    cluster.add_argument("action", choices=["start", "stop", "status"])
    sources = sub.add_parser("sources", help="print the table of sources (from the adapters)")
    sources.add_argument(
        "--update-readme", type=Path, metavar="README", help="rewrite the table in a README"
    )
    return parser


def _cmd_sources(args: argparse.Namespace) -> int:
    from eoinstruct.sources.table import sources_markdown, update_readme

    if args.update_readme:
        changed = update_readme(args.update_readme)
        print(f"{args.update_readme}: {'updated' if changed else 'already current'}")
    else:
        print(sources_markdown(), end="")
    return 0


def _cmd_cluster(args: argparse.Namespace, params: Params) -> int:
    from eoinstruct.pipeline.run.cluster import running_cluster, start_cluster, stop_cluster
    from eoinstruct.pipeline.run.runner import cluster_state_file

    path = cluster_state_file(params)
    if args.action == "start":
        state = start_cluster(path, params.settings.executor.workers)
        print(f"cluster at {state.address}, {state.workers} workers, pid {state.pid} ({path})")
        print("stages run with --executor local (or executor.kind: local) now use it")
    elif args.action == "stop":
        stopped = stop_cluster(path)
        print(f"stopped the cluster of pid {stopped.pid}" if stopped else "no cluster running")
    else:
        state = running_cluster(path)
        print(
            f"cluster at {state.address}, {state.workers} workers, pid {state.pid}"
            if state
            else "no cluster running"
        )
        return 0 if state else 1
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from eoinstruct.pipeline.audit.corpus import audit_corpus
    from eoinstruct.pipeline.audit.render import text_report
    from eoinstruct.pipeline.settings import AuditSettings

    # without a params file, the defaults (AuditSettings, data/corpus) and any --set apply
    loaded = load_params(args.params) if args.params.is_file() else Params({}, args.params)
    params = _overrides(loaded, args)
    settings: AuditSettings = params.settings.audit
    corpus = args.corpus or Path(params.settings.paths.corpus)
    report = audit_corpus(corpus)
    violations = report.violations(settings)
    print(text_report(report, violations), end="")
    if args.json:
        doc = {**report.to_dict(full=False), "violations": violations}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 1 if violations else 0


def _cmd_webdataset(args: argparse.Namespace, progress: bool) -> int:
    from eoinstruct.pipeline.corpus.webdataset import write_webdataset

    loaded = load_params(args.params) if args.params.is_file() else Params({}, args.params)
    params = _overrides(loaded, args)
    corpus = args.corpus or Path(params.settings.paths.corpus)
    write_webdataset(corpus, args.out, progress=progress)
    return 0


def _errors() -> tuple[type[Exception], ...]:
    from eoinstruct.pipeline.corpus.manifest import ManifestError
    from eoinstruct.pipeline.corpus.publish import PublishError

    return (ConfigError, FileNotFoundError, KeyError, ValueError, PublishError, ManifestError)


MESSAGE_CHARS = 500
"""Longest error text printed before the advice (a longer one is cut: --debug has it all)."""

EXIT_LOCKED = 75
"""Exit status when another run holds the stage's lock (EX_TEMPFAIL: try again later)."""


def explain(exc: BaseException) -> tuple[int, str]:
    """Turn an error into an exit status and one line saying what happened and what to do.

    Args:
        exc: The error.

    Returns:
        ``(status, message)``: 2 for a configuration or missing-input error, 75 when the
        stage is locked by another run, 1 otherwise.
    """
    import errno

    from eoinstruct.pipeline.enrich.osm.match import OsmError
    from eoinstruct.pipeline.errors import StageFailed
    from eoinstruct.pipeline.run.lock import StageLocked

    text = " ".join(str(exc).split())  # one line, bounded: the advice after it is kept
    if len(text) > MESSAGE_CHARS:
        text = text[: MESSAGE_CHARS - 1] + "…"
    status, message = 1, text
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = exc.filename or "a file"
        message = (
            f"disk full writing {where}: free space on that disk (or point paths.work / "
            "paths.corpus elsewhere), then re-run: finished partitions are kept"
        )
    elif isinstance(exc, StageLocked):
        status = EXIT_LOCKED
    elif isinstance(exc, _errors()):
        status = 2
    elif isinstance(exc, StageFailed):
        pass
    elif isinstance(exc, OsmError):
        message = (
            f"OpenStreetMap: {text}; check osm.extract or osm.overpass_url (or set "
            "osm.enabled: false), then re-run"
        )
    elif isinstance(exc, RecursionError):
        message = (
            "an input file is nested too deeply to parse (RecursionError); re-run with "
            "--debug to see which, then fix or remove it"
        )
    elif isinstance(exc, MemoryError):
        message = (
            "out of memory; lower ingest.partition_size or executor.workers, then re-run "
            "(finished partitions are kept)"
        )
    elif isinstance(exc, OSError):
        message = f"{text}; check the path, its permissions and the disk, then re-run"
    else:
        message = (
            f"unexpected {type(exc).__name__}: {text}; re-run with --debug for the traceback "
            "and report it"
        )
    return status, message


def _asks_help(word: str) -> bool:
    """``-h``, short flags with ``h`` (``-vh``) or ``--help`` and what argparse reads as it."""
    if word.startswith("--"):
        return len(word) > 2 and "--help".startswith(word.partition("=")[0])
    return word.startswith("-") and "h" in word


def _describes(argv: Sequence[str] | None) -> bool:
    """Whether parsing ``argv`` may show help or need ``download``'s arguments."""
    words = sys.argv[1:] if argv is None else argv
    return not words or "download" in words or any(_asks_help(w) for w in words)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Every error is printed as one line saying what to do (:func:`explain`), the traceback
    only with ``--debug``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 on a configuration or missing-input error, 75 when
        another run holds the stage's lock, 130 when interrupted, 1 on any other error.
    """
    args = build_parser(describe=_describes(argv)).parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        print(
            f"eoinstruct {args.command}: interrupted; re-run to resume (finished partitions "
            "are kept)",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        status, message = explain(exc)
        print(f"eoinstruct {args.command}: error: {message}", file=sys.stderr)
        return status


def _main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # GDAL's own messages about a broken file repeat what the failure ledgers record.
    logging.getLogger("rasterio").setLevel(logging.ERROR)
    if args.command == "sources":
        return _cmd_sources(args)
    if args.command == "download":
        from eoinstruct.sources.download import run_download

        return run_download(args, progress=not args.no_progress)
    progress = not args.no_progress
    if args.command == "audit":
        return _cmd_audit(args)
    if args.command == "webdataset":
        return _cmd_webdataset(args, progress)
    params = _overrides(load_params(args.params), args)
    if args.command == "cluster":
        return _cmd_cluster(args, params)
    if args.command == "all":
        unknown = sorted(set(args.skip) - {s.name for s in build_order()})
        if unknown:
            raise SystemExit(f"eoinstruct all --skip: no stage {', '.join(unknown)}")
        from eoinstruct.pipeline.run.backends import InProcessExecutor, shared_executor
        from eoinstruct.pipeline.run.epilogues import overlapped, settle
        from eoinstruct.pipeline.run.runner import cluster_state_file

        # one executor (one local cluster, one client) for every stage of the run; on a
        # cluster, a stage's closing figures are written beside the next stage's partitions
        settings = params.settings.executor.as_dict()
        with (
            shared_executor(settings, cluster_state_file(params)) as executor,
            overlapped(not isinstance(executor, InProcessExecutor)),
        ):
            previous = None
            for found in build_order():
                if found.name not in args.skip:
                    settle(keep=previous)
                    run_stage(found, params, progress)
                    previous = found.name
        return 0
    found = stage(args.command)
    options = {_option_dest(flag): getattr(args, _option_dest(flag)) for flag, _ in found.options}
    run_stage(found, params, progress, **options)
    return 0


def entry() -> NoReturn:
    """The ``eoinstruct`` program: :func:`main` in a process of its own.

    Only here, never on import, pyarrow is spared importing pandas
    (:func:`~eoinstruct.pipeline.run.startup.arrow_lists_without_pandas`), the objects of
    the modules imported at start-up are left out of garbage collection, and the process
    ends without the interpreter's teardown
    (:func:`~eoinstruct.pipeline.run.startup.exit_without_teardown`), with :func:`main`'s
    exit status.
    """
    import gc

    from eoinstruct.pipeline.run.startup import arrow_lists_without_pandas, exit_without_teardown

    arrow_lists_without_pandas()
    # the modules imported so far (numpy, pyarrow, pydantic…) live as long as the process:
    # moved out of the collector's generations, each full collection skips them (≈ 6-9 ms
    # of a stage that allocates much, such as ingest or generate)
    gc.freeze()
    exit_without_teardown(main())


if __name__ == "__main__":
    entry()
