"""The stage registry is the one list of stages: dvc.yaml, the CLI and the report agree with it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from eoinstruct.cli import build_parser
from eoinstruct.pipeline.stages import REGISTRY, Stage, outputs_of, stage
from eoinstruct.pipeline.stages.report import LINKS, STAGES

REPO = Path(__file__).resolve().parents[1]
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
TOOL_STAGES = {"benchmark", "captioner_bench"}
"""dvc.yaml stages that are tools beside the build (benchmarks), not pipeline stages."""


def _paths(entries: list[object]) -> list[str]:
    out = []
    for entry in entries or []:
        out.append(next(iter(entry)) if isinstance(entry, dict) else str(entry))
    return out


def test_dvc_yaml_has_exactly_the_registered_stages_in_build_order():
    names = [name for name in DVC if name not in TOOL_STAGES]
    assert names == [s.name for s in REGISTRY]


@pytest.mark.parametrize("found", REGISTRY, ids=lambda s: s.name)
def test_each_dvc_stage_matches_its_registry_entry(found: Stage):
    entry = DVC[found.name]
    assert entry["cmd"] == f"eoinstruct {found.command}"
    assert sorted(entry.get("params", [])) == sorted(found.params)
    deps = _paths(entry.get("deps", []))
    for path in (found.module_path, *found.code):
        assert path in deps, f"{found.name}: dvc.yaml deps lack {path}"
        assert (REPO / path).exists(), f"{found.name}: {path} does not exist"
    for upstream in found.inputs:
        if stage(upstream).outputs:
            assert set(stage(upstream).outputs) & set(deps), (
                f"{found.name}: no output of {upstream} ({outputs_of(upstream)}) in deps"
            )
    assert _paths(entry.get("outs", [])) == list(found.outputs)
    assert _paths(entry.get("metrics", [])) == list(found.metrics)
    assert _paths(entry.get("plots", [])) == list(found.plots)
    assert bool(entry.get("frozen", False)) == found.frozen
    assert bool(entry.get("always_changed", False)) == found.always_changed


@pytest.mark.parametrize("found", REGISTRY, ids=lambda s: s.name)
def test_each_stage_module_has_run_with_progress_and_its_options(found: Stage):
    tree = ast.parse((REPO / found.module_path).read_text(encoding="utf-8"))
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    names = {a.arg for a in (*run.args.args, *run.args.kwonlyargs)}
    assert {"params", "progress"} <= names
    assert {flag.replace("-", "_") for flag, _ in found.options} <= names


def test_the_cli_has_one_subcommand_per_stage_with_its_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = set(sub.choices)  # type: ignore[attr-defined]
    assert {s.command for s in REGISTRY} <= commands
    assert commands - {s.command for s in REGISTRY} == {
        "all",
        "download",
        "sources",
        "audit",
        "cluster",
        "webdataset",
    }
    help_text = sub.choices["filter"].format_help()  # type: ignore[attr-defined]
    assert "params.yaml filter" in help_text


def test_the_report_accounts_the_registered_stages_and_links():
    assert STAGES == tuple(s.name for s in REGISTRY if s.accounted)
    downstream = {link[2] for link in LINKS}
    assert downstream == {s.name for s in REGISTRY if s.link}
    for up, _, _, _ in LINKS:
        for name in up.split("+"):
            assert stage(name).accounted


def test_stage_modules_import_no_other_stage_module():
    """Stages share code through the layers below them, never through each other."""
    names = {s.name for s in REGISTRY}
    for found in REGISTRY:
        tree = ast.parse((REPO / found.module_path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[:3] == ["eoinstruct", "pipeline", "stages"] and len(parts) > 3:
                    assert parts[3] not in names, f"{found.name} imports stage {parts[3]}"
