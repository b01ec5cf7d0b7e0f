"""The wheel installs one package, ``eoinstruct``, with every data file, and builds anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PIP = (sys.executable, "-m", "pip", "-q")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # build from a copy, so the checkout gets no build/ or egg-info folder
    src = build / "src"
    shutil.copytree(
        REPO,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv*", "data", "*.egg-info", "__pycache__"),
    )
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("eoinstruct-*.whl")
    return found


def test_the_wheel_holds_one_top_level_package_and_every_template(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"eoinstruct"}
    for sub in ("pipeline", "sources", "templates"):
        assert any(n.startswith(f"eoinstruct/{sub}/") for n in names), sub
    yaml_files = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*.yaml")
    )
    assert yaml_files, "no template YAML in the checkout"
    for rel in yaml_files:
        assert f"eoinstruct/{rel}" in names, f"{rel} missing from the wheel"


def test_an_installed_wheel_builds_the_sample_corpus_from_another_folder(
    wheel: Path, tmp_path: Path
):
    # a fresh environment whose only eoinstruct is the wheel; the dependencies come from
    # this environment's site-packages (a path entry: its .pth files, the editable install's
    # among them, are not processed)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [*PIP, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run(
        [str(python), "-c", "import eoinstruct.pipeline as p; print(p.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site), where
    done = subprocess.run(
        [str(python), "-m", "eoinstruct.cli", "--no-progress", "all"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = work / "data" / "corpus" / "manifest.json"
    assert manifest.is_file()
    assert list((work / "data" / "corpus" / "data").glob("*.parquet"))
    assert "validate: read" in done.stdout
