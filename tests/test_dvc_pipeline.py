"""`dvc repro` on a copy of the repository: runs, is idempotent, and re-runs only what changed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
METRICS_WIDTH, METRICS_LINES = 200, 60
"""What `dvc metrics show` may print on the sample build: characters per line, lines."""


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def ran(output: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", output)


def up_to_date(status: str) -> bool:
    """`dvc status` lists nothing but the always-run fingerprint stage (and frozen ones)."""
    shown = [line for line in status.splitlines() if not line.startswith("WARNING:")]
    return " ".join(shown).split() == ["fingerprint:", "always", "changed"]


@pytest.mark.slow
def test_dvc_repro_runs_once_and_reruns_only_the_filter_and_what_follows(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is needed for dvc")
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    repo = tmp_path / "repo"
    for name in files:
        if not (REPO / name).is_file() or name.startswith(("data/", "metrics/")):
            continue
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, repo / name)
    (repo / "dvc.lock").unlink(missing_ok=True)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env.setdefault("GIT_AUTHOR_NAME", "test")
    env.setdefault("GIT_AUTHOR_EMAIL", "test@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "test")
    env.setdefault("GIT_COMMITTER_EMAIL", "test@example.invalid")
    run(["git", "init", "-q"], repo, env)
    dvc = [sys.executable, "-m", "dvc"]

    first = run([*dvc, "repro"], repo, env)
    assert ran(first) == [
        "sample_data",
        "fingerprint",
        "ingest",
        "enrich",
        "score",
        "filter",
        "dedup",
        "generate",
        "caption",
        "validate",
        "shard",
        "report",
        "build_report",
    ]
    assert (repo / "data" / "corpus" / "README.md").is_file()
    # storage once: DVC keeps no copy of any output (issue 19); the export is on demand
    cache = repo / ".dvc" / "cache"
    assert not [p for p in cache.rglob("*") if p.is_file() and "runs" not in p.parts]
    assert not (repo / "data" / "earthdial").exists()
    # bytes on disk (work, corpus, export, DVC cache; sources excluded) near the corpus's own
    printed = run([sys.executable, "-m", "benchmarks.storage"], repo, env)
    storage = json.loads(printed[printed.index("{") : printed.rindex("}") + 1])
    # the work folder beside the corpus is small: the score stage's renderings (each image
    # once, which the shard stage copies instead of decoding the pixels again) are a cache
    # that shard deletes once it has published the partition's shards
    assert storage["bytes"]["export"] == 0 and storage["bytes"]["dvc_cache"] == 0, storage
    assert storage["bytes"]["renderings"] == 0, storage
    assert not list((repo / "data" / "work" / "score").rglob("rendered*")), storage
    assert storage["total_vs_unique_images"] <= 1.3, storage  # the target
    print("storage after dvc repro:", json.dumps(storage))

    # `dvc metrics show` is one narrow table (one row per summary file): it fits a terminal
    shown = run([*dvc, "metrics", "show"], repo, env).splitlines()
    assert shown[0].split()[0] == "Path" and any("metrics/summary.json" in s for s in shown[1:])
    assert max(len(line) for line in shown) <= METRICS_WIDTH and len(shown) <= METRICS_LINES
    assert not [line for line in shown if line.startswith(("benchmarks/", "metrics/report"))]
    # `dvc plots show` renders every declared plot table, one file per plot
    page = run([*dvc, "plots", "show", "-o", str(tmp_path / "plots")], repo, env)
    html = (tmp_path / "plots" / "index.html").read_text(encoding="utf-8")
    assert "index.html" in page and html.count('"title": {"text": "metrics/plots/') > 50

    # only the always-run fingerprint stage runs: its file is unchanged, so DVC stops there
    again = run([*dvc, "repro"], repo, env)
    assert ran(again) == ["fingerprint"]

    params = yaml.safe_load((repo / "params.yaml").read_text())
    # the two low-coverage samples have 40 % and 69 % valid pixels: min_valid_fraction 0.8
    # still drops them, so the filter's outputs are byte-identical and DVC stops there;
    # min_tags 1 keeps xBD tile 902 (one tag field) and the rest re-runs.
    params["filter"]["min_valid_fraction"] = 0.8
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(run([*dvc, "repro"], repo, env)) == ["fingerprint", "filter"]
    params["filter"]["min_tags"] = 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(run([*dvc, "repro"], repo, env)) == [
        "fingerprint",
        "filter",
        "dedup",
        "generate",
        "caption",
        "validate",
        "shard",
        "report",
        "build_report",
    ]
    assert up_to_date(run([*dvc, "status"], repo, env))
    report = yaml.safe_load((repo / "metrics" / "report.json").read_text())
    assert "filter:too_few_tags" not in report["drop_reasons"]
