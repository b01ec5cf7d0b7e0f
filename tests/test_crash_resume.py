"""Crash-resume harness: SIGKILL the build inside every stage, resume, compare.

Each round kills the build once per stage, at a partition and a phase drawn from a seeded
generator (after a step wrote its temporary files, after one output was published, after
the completion record), using the executor's fault-injection hook; then resumes it. The
resumed build must equal an uninterrupted one byte for byte (corpus and every stage's
completion records, the manifest of what was written) and leave no temporary file. A last
test kills a real `dvc repro` at a random time and re-runs it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from build_helpers import make_params, tree_digest

from eoinstruct.pipeline.run.partitions import FAULT_ENV, completed_records
from eoinstruct.pipeline.stages import REGISTRY

# every partitioned stage of the registry; the caption stage is off in the sample build
STAGES = tuple(s.name for s in REGISTRY if s.partitioned and s.name != "caption")
PHASES = ("step", "publish", "record")
REPO = Path(__file__).resolve().parents[1]
SEEDS = tuple(int(s) for s in os.environ.get("EOINSTRUCT_CRASH_SEEDS", "11").split(","))
"""Seeds of the kill rounds: one in the suite (each round is a dozen builds); more with e.g.
``EOINSTRUCT_CRASH_SEEDS=11,29,47``."""
SOURCES = ("bigearthnet_v1", "xbd", "stac", "quakeset", "dota", "so2sat")
"""The sources these builds read: every stage has several partitions with them, and they cover
per-band GeoTIFFs, PNG pairs, STAC chips written by ingest, HDF5 entries and windows of large
images; the other sources add time, not paths through the stages."""


def manifest(root: Path) -> dict[str, str]:
    out = {f"corpus/{k}": v for k, v in tree_digest(root / "corpus").items()}
    for stage in (*STAGES, "shard"):
        folder = root / "work" / stage
        if folder.is_dir():
            out.update({f"work/{stage}/{k}": v for k, v in tree_digest(folder).items()})
    return out


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp-" in p.name]


def run_build(root: Path, fault: str | None = None) -> int:
    """Build in ``root`` (relative paths, ``root`` as working directory) in a new process."""
    env = dict(os.environ)
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    params = make_params(root, relative=True, sources=SOURCES)
    cmd = [sys.executable, "-m", "eoinstruct.cli", "--params", str(params), "--no-progress", "all"]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, check=False).returncode


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("baseline")
    assert run_build(root) == 0
    return root


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_in_every_stage_then_resume_is_lossless(
    seed: int, baseline: Path, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    for stage in STAGES:
        if stage == "shard":
            names = [
                str(r["partition"])
                for r in completed_records(
                    baseline / "corpus", baseline / "work" / "shard" / "_done"
                )
            ]
        else:
            names = [str(r["partition"]) for r in completed_records(baseline / "work" / stage)]
        fault = f"{stage}:{rng.choice(names)}:{rng.choice(PHASES)}"
        assert run_build(tmp_path, fault) == -signal.SIGKILL, fault
    assert run_build(tmp_path) == 0
    assert manifest(tmp_path) == manifest(baseline)
    assert temporaries(tmp_path) == []


@pytest.mark.slow
def test_killed_dvc_repro_resumes(baseline: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is needed for dvc")
    files = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    repo = tmp_path / "repo"
    for name in files:
        if (REPO / name).is_file() and not name.startswith(("data/", "metrics/")):
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    (repo / "dvc.lock").unlink(missing_ok=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for name in params["sources"]:  # the sources of the baseline
        params["sources"][name]["enabled"] = name in SOURCES
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop(FAULT_ENV, None)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    dvc = [sys.executable, "-m", "dvc", "repro"]
    proc = subprocess.Popen(
        dvc,
        cwd=repo,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(random.Random(5).uniform(6.0, 12.0))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # A killed DVC leaves its lock behind; the README says to remove it before re-running.
    for lock in ("lock", "rwlock"):
        (repo / ".dvc" / "tmp" / lock).unlink(missing_ok=True)
    done = subprocess.run(dvc, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree_digest(repo / "data" / "corpus") == tree_digest(baseline / "corpus")
    assert temporaries(repo / "data") == []
