"""Every enabled/disabled combination of sources builds.

Each registered source is disabled in turn (its root pointing at a folder that does not
exist: a disabled source needs no root), and every source is also left enabled with no unit
at all; each time the stages after ``sample_data`` run in-process, as ``eoinstruct all`` does (up to
``validate``, the last stage that reads per-source data, except in two cases that run them
all). To stay cheap, every adapter lists only its first units (a tiny subset of the sample
corpus, written once). The DVC side (``sources.stac.chips_dir`` always created, so ``dvc repro``
finds the declared output) is pinned by the folder's existence, and by one real ``dvc repro``
with STAC and most sources disabled, their roots absent (marked slow).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from build_helpers import make_params

from eoinstruct.api import build
from eoinstruct.cli import main
from eoinstruct.pipeline.stages import build_order
from eoinstruct.sources import registry
from eoinstruct.sources.base import SourceAdapter

UNITS_PER_SOURCE = 1
"""Units each adapter lists (the first ones, in its stable order)."""

STAGES = [s.name for s in build_order() if s.name != "sample_data"]
CORE = STAGES[: STAGES.index("validate") + 1]
"""The stages every case runs: those that read per-source data (the rest read the corpus)."""
FULL_CASE = "stac"
"""The disabled source whose case runs every stage (issue 16: no STAC chip broke the build)."""


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus, written once for every case."""
    root = tmp_path_factory.mktemp("combinations")
    params = make_params(root)
    assert main(["--params", str(params), "--no-progress", "sample-data"]) == 0
    return root


def _limited(units: int | None) -> Callable[[str, Mapping[str, Any]], SourceAdapter]:
    """``make_adapter`` whose adapters list their first ``units`` units (all with None)."""
    real = registry.make_adapter

    def make(name: str, options: Mapping[str, Any]) -> SourceAdapter:
        adapter = real(name, options)
        listed = adapter.list_units
        adapter.list_units = lambda: listed()[:units]  # type: ignore[method-assign]
        return adapter

    return make


def _params(sample_root: Path, case: Path) -> dict[str, Any]:
    params = yaml.safe_load((sample_root / "params.yaml").read_text())
    for key in ("work", "corpus", "metrics"):
        params["paths"][key] = str(case / key)
    params["earthdial"]["out"] = str(case / "earthdial")
    params["sources"]["stac"]["chips_dir"] = str(case / "work" / "stac_chips")
    params["ingest"]["partition_size"] = UNITS_PER_SOURCE
    return params


def _build(params: dict[str, Any], case: Path, stages: list[str]) -> dict[str, Any]:
    path = case / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return build(path, stages=stages)


def _ingested_sources(case: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted((case / "work" / "ingest" / "samples").glob("*.parquet")):
        found.update(pq.read_table(path, columns=["source"]).column("source").to_pylist())
    return found


@pytest.fixture()
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int | None], None]]:
    """Limit the units every adapter lists, for the in-process ingest stage."""

    def limit(units: int | None) -> None:
        monkeypatch.setattr("eoinstruct.pipeline.stages.ingest.make_adapter", _limited(units))

    yield limit


@pytest.mark.parametrize("disabled", registry.source_names())
def test_build_with_one_source_disabled_and_its_root_absent(
    disabled: str, sample_root: Path, tmp_path: Path, limited: Callable[[int | None], None]
) -> None:
    limited(UNITS_PER_SOURCE)
    params = _params(sample_root, tmp_path)
    params["sources"][disabled].update(enabled=False, root=str(tmp_path / "absent"))
    results = _build(params, tmp_path, STAGES if disabled == FULL_CASE else CORE)
    assert results["ingest"].read > 0 and results["validate"].kept > 0
    found = _ingested_sources(tmp_path)
    assert disabled not in found and found
    # declared by dvc.yaml as an output of ingest: present even when STAC wrote no chip
    assert (tmp_path / "work" / "stac_chips").is_dir()


def test_build_with_every_source_enabled_and_no_unit(
    sample_root: Path, tmp_path: Path, limited: Callable[[int | None], None]
) -> None:
    limited(0)
    results = _build(_params(sample_root, tmp_path), tmp_path, STAGES)
    assert results["ingest"].read == 0
    # enrich and what follows see a finished, empty ingest, not "run the upstream stage first"
    assert all(results[name].read == 0 for name in ("enrich", "score", "filter", "dedup"))
    assert (tmp_path / "work" / "stac_chips").is_dir()


@pytest.mark.slow
def test_dvc_repro_with_stac_disabled(tmp_path: Path) -> None:
    """One real ``dvc repro`` with ``sources.stac.enabled: false``: no chip is written, yet
    the declared output ``data/work/stac_chips`` exists (an empty folder) and the build ends
    up to date, with an audit that flags nothing."""
    import json
    import os
    import re
    import shutil
    import subprocess
    import sys

    if shutil.which("git") is None:
        pytest.skip("git is needed for dvc")
    repo_root = Path(__file__).resolve().parents[1]
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    repo = tmp_path / "repo"
    for name in files:
        source = repo_root / name
        if name.startswith(("data/", "metrics/")) or not (source.is_file() or source.is_symlink()):
            continue
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # eoinstruct/pipeline -> ../pipeline …
            (repo / name).symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, repo / name)
    (repo / "dvc.lock").unlink(missing_ok=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["sources"]["stac"]["enabled"] = False
    for name in params["sources"]:  # the other sources add time, not DVC paths
        if name not in ("bigearthnet_v1", "xbd", "quakeset"):
            # a disabled source needs no root: DVC depends on the fingerprints, not the roots
            params["sources"][name].update(enabled=False, root=f"data/absent/{name}")
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(repo)
    env.update(DVC_NO_ANALYTICS="1", HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    env.update(HF_DATASETS_OFFLINE="1", GIT_AUTHOR_NAME="t", GIT_COMMITTER_NAME="t")
    env.update(GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_EMAIL="t@example.invalid")

    def run(*cmd: str) -> str:
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout + proc.stderr

    run("git", "init", "-q")
    run(sys.executable, "-m", "dvc", "repro")
    chips = repo / "data" / "work" / "stac_chips"
    assert chips.is_dir() and not any(chips.iterdir())
    # nothing but the always-run fingerprint stage is listed
    status = run(sys.executable, "-m", "dvc", "status").splitlines()
    shown = [line for line in status if not line.startswith("WARNING:")]  # frozen stages
    assert " ".join(shown).split() == ["fingerprint:", "always", "changed"], status
    # a file of an enabled root is rewritten: ingest re-runs (its partition again), writes
    # the same samples, and DVC stops there
    band = sorted((repo / "data" / "sample" / "xbd").rglob("*.png"))[0]
    stamp = band.stat().st_mtime_ns + 1_000_000_000
    band.write_bytes(band.read_bytes())
    os.utime(band, ns=(stamp, stamp))
    again = run(sys.executable, "-m", "dvc", "repro")
    assert re.findall(r"Running stage '([^']+)'", again) == ["fingerprint", "ingest"], again
    audit = json.loads((repo / "metrics" / "audit.json").read_text())
    assert sum(family["flagged"] for family in audit["families"].values()) == 0
    report = json.loads((repo / "metrics" / "report.json").read_text())
    assert "stac" not in report["sources"] and report["accounting_ok"]
