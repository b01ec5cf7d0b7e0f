"""Command-line entry point: ``eoinstruct <stage>``; each DVC stage calls one subcommand."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import eoinstruct
from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import ConfigError, Params, load_params

log = logging.getLogger("eoinstruct")


def _stage_runner(module: str) -> Callable[[Params, bool], StageStats]:
    def run(params: Params, progress: bool) -> StageStats:
        mod = __import__(f"eoinstruct.pipeline.stages.{module}", fromlist=["run"])
        return mod.run(params, progress=progress)

    return run


PARTITIONED: dict[str, tuple[str, str]] = {
    "ingest": ("ingest", "read every enabled source into samples (metadata only)"),
    "enrich": ("enrich", "add OpenStreetMap tags to samples by footprint"),
    "score": ("score", "compute tag, brightness and coverage scores (reads pixels)"),
    "filter": ("filter", "apply the filter thresholds of params.yaml, recording each drop"),
    "dedup": ("dedup", "remove exact, near and same-place-and-time duplicates; assign splits"),
    "generate": ("generate", "make template-based instruction pairs from the labels"),
    "caption": ("caption", "free-form pairs from a VLM server (when caption.enabled)"),
    "validate": ("validate", "check every pair against its sample and labels"),
    "shard": ("shard", "write Parquet + WebDataset shards and the corpus card"),
}


def _print_stats(stage: str, stats: StageStats) -> None:
    parts = [f"read {stats.read}", f"kept {stats.kept}"]
    if stats.dropped:
        parts.append(f"dropped {dict(sorted(stats.dropped.items()))}")
    if stats.failed:
        parts.append(f"failed {dict(sorted(stats.failed.items()))}")
    print(f"{stage}: " + ", ".join(parts))


def _cmd_sample_data(params: Params, args: argparse.Namespace) -> int:
    from eoinstruct.pipeline.stages import sample_data

    counts = sample_data.run(params)
    for name, n in counts.items():
        print(f"sample_data: {name}: {n} files")
    return 0


def _cmd_report(params: Params, args: argparse.Namespace) -> int:
    from eoinstruct.pipeline.stages import report

    data = report.run(params)
    print(json.dumps(data["corpus"], indent=2, sort_keys=True))
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    from eoinstruct.sources.table import sources_markdown, update_readme

    if args.update_readme:
        changed = update_readme(args.update_readme)
        print(f"{args.update_readme}: {'updated' if changed else 'already current'}")
    else:
        print(sources_markdown(), end="")
    return 0


def _cmd_export(params: Params, args: argparse.Namespace) -> int:
    from eoinstruct.pipeline.stages import export

    result = export.run(params)
    print(f"export: {json.dumps(result, sort_keys=True, default=str)[:2000]}")
    return 0


def _cmd_build_report(params: Params, args: argparse.Namespace) -> int:
    from eoinstruct.pipeline.stages import build_report

    print(f"build-report: {build_report.run(params)}")
    return 0


def _cmd_publish(params: Params, args: argparse.Namespace) -> int:
    from eoinstruct.pipeline.corpus.manifest import ManifestError
    from eoinstruct.pipeline.corpus.publish import PublishError
    from eoinstruct.pipeline.stages import publish

    try:
        result = publish.run(params, args.repo_id, dry_run=args.dry_run, revision=args.revision)
    except (PublishError, ManifestError) as exc:
        print(f"eoinstruct publish: error: {exc}", file=sys.stderr)
        return 2
    print(f"publish: {result}")
    return 0


def _cmd_all(params: Params, args: argparse.Namespace) -> int:
    _cmd_sample_data(params, args)
    for stage, (module, _) in PARTITIONED.items():
        _print_stats(stage, _stage_runner(module)(params, not args.no_progress))
    status = _cmd_report(params, args)
    _cmd_export(params, args)
    _cmd_build_report(params, args)
    return status


def _executor_overrides(params: Params, args: argparse.Namespace) -> Params:
    settings = dict(params.raw.get("executor") or {})
    if args.scheduler:
        settings.update(kind="dask", scheduler=args.scheduler)
    if args.executor:
        settings["kind"] = args.executor
    if args.workers:
        settings["workers"] = args.workers
    return params.with_section("executor", settings)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``eoinstruct`` command."""
    parser = argparse.ArgumentParser(
        prog="eoinstruct",
        description="Build EarthDial-Instruct-style instruction corpora for Earth observation. "
        "Each subcommand is one DVC stage (see dvc.yaml); `dvc repro` runs them in order.",
    )
    parser.add_argument("--version", action="version", version=eoinstruct.__version__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="parameters file")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--executor",
        choices=["inprocess", "local", "dask"],
        help="where partitions run (default: params.yaml executor.kind, else in-process)",
    )
    parser.add_argument("--workers", type=int, help="worker processes of a local Dask cluster")
    parser.add_argument(
        "--scheduler", help="address of an existing Dask scheduler (tcp://host:port)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("sample-data", help="write the embedded sample corpus (real layouts)")
    for stage, (_, text) in PARTITIONED.items():
        sub.add_parser(stage, help=text)
    sub.add_parser("report", help="write the build's metrics (counts per stage and source)")
    sub.add_parser(
        "export", help="export the corpus for EarthDial's trainer (save_to_disk + mixture)"
    )
    sub.add_parser("build-report", help="write the HTML build report and the DVC plot data")
    publish = sub.add_parser("publish", help="upload the corpus to the Hugging Face Hub, verified")
    publish.add_argument("--repo-id", help="ORG/NAME (default: params.yaml publish.repo_id)")
    publish.add_argument("--revision", help="branch to upload to")
    publish.add_argument("--dry-run", action="store_true", help="list what would be uploaded")
    sub.add_parser("all", help="run every stage in order, without DVC")
    from eoinstruct.sources.download import add_download_arguments

    download = sub.add_parser("download", help="download, verify and extract a source dataset")
    add_download_arguments(download)
    sources = sub.add_parser("sources", help="print the table of sources (from the adapters)")
    sources.add_argument(
        "--update-readme", type=Path, metavar="README", help="rewrite the table in a README"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 on a configuration or missing-input error.
    """
    args = build_parser().parse_args(argv)
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
    try:
        params = load_params(args.params)
        params = _executor_overrides(params, args)
        if args.command == "sample-data":
            return _cmd_sample_data(params, args)
        if args.command == "report":
            return _cmd_report(params, args)
        if args.command == "all":
            return _cmd_all(params, args)
        if args.command == "export":
            return _cmd_export(params, args)
        if args.command == "build-report":
            return _cmd_build_report(params, args)
        if args.command == "publish":
            return _cmd_publish(params, args)
        module, _ = PARTITIONED[args.command]
        stats = _stage_runner(module)(params, not args.no_progress)
        _print_stats(args.command, stats)
        return 0
    except (ConfigError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"eoinstruct {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
