"""DVC's own time over a large source root: the root as a dependency vs its fingerprint.

Writes a synthetic BigEarthNet v1 root of ``--files`` small files (13 per S2 patch folder,
64 random bytes each; nothing is committed) and two throw-away DVC projects beside it:

- ``tree``: an ``ingest`` stand-in that depends on the root itself (what dvc.yaml did
  before): DVC hashes every file once, then stats every file on each ``dvc status``;
- ``fingerprint``: the project's ``fingerprint`` stage (always run, ``eoinstruct
  fingerprint``) writes ``sources.json`` and the stand-in depends on that file.

Both stand-ins only write a small file, so what is timed is DVC's bookkeeping (and the
fingerprint stage). Prints one JSON object: seconds for the first ``dvc repro``, the median
of ``--repeat`` ``dvc status`` and no-op ``dvc repro`` runs, per project.

Run: ``python -m benchmarks.dvc_overhead --files 1000000 --work DIR`` (default: a folder in the
system's temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")


def make_root(root: Path, files: int) -> int:
    """Write a BigEarthNet v1 S2 layout of about ``files`` files; return the count."""
    base = root / "BigEarthNet-v1.0"
    base.mkdir(parents=True, exist_ok=True)
    written = 0
    for i in range(files // (len(BANDS) + 1)):
        name = f"S2A_MSIL2A_20170613T101031_{i // 1000}_{i % 1000}"
        folder = base / name
        folder.mkdir(exist_ok=True)
        for band in BANDS:
            (folder / f"{name}_{band}.tif").write_bytes(os.urandom(64))
        (folder / f"{name}_labels_metadata.json").write_text('{"labels": []}')
        written += len(BANDS) + 1
    (root / "bigearthnet-train.csv").write_text("patch\n")
    return written + 1


def _params(root: Path, work: Path) -> dict[str, Any]:
    params: dict[str, Any] = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    for name, section in params["sources"].items():
        section["enabled"] = name == "bigearthnet_v1"
    params["sources"]["bigearthnet_v1"].update(root=str(root), sensors=["s2"])
    params["paths"]["work"] = str(work)
    return params


def _project(
    folder: Path, stages: dict[str, Any], params: dict[str, Any], env: dict[str, str]
) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (folder / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True, env=env)
    _dvc(folder, env, "init", "-q")


def _dvc(folder: Path, env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=folder, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed in {folder}:\n{proc.stderr}")
    return time.perf_counter() - start


def measure(folder: Path, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Time the first ``dvc repro``, then ``dvc status`` and no-op ``dvc repro`` (medians)."""
    first = _dvc(folder, env, "repro")
    status = [_dvc(folder, env, "status") for _ in range(repeat)]
    again = [_dvc(folder, env, "repro") for _ in range(repeat)]
    return {
        "first_repro_s": round(first, 2),
        "status_s": round(statistics.median(status), 2),
        "noop_repro_s": round(statistics.median(again), 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "eoinstruct-dvcbench"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    work = args.work.resolve()
    root = work / "root"
    marker = work / f"root-{args.files}.done"
    if not marker.is_file():
        shutil.rmtree(root, ignore_errors=True)
        marker.write_text(str(make_root(root, args.files)))
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONPATH=str(REPO))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.invalid")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.invalid")
    stand_in = {"cmd": "echo done > ingested.txt", "outs": [{"ingested.txt": {"cache": False}}]}
    # the tree case: the root inside the project, as a plain dependency (DVC's own hashing)
    tree = work / "tree"
    _project(tree, {"ingest": {**stand_in, "deps": [str(root)]}}, {}, env)
    fp = work / "fingerprint"
    stages = {
        "fingerprint": {
            "cmd": "eoinstruct --params params.yaml --no-progress fingerprint",
            "always_changed": True,
            "outs": [{"work/sources.json": {"cache": False}}],
        },
        "ingest": {**stand_in, "deps": ["work/sources.json"]},
    }
    _project(fp, stages, _params(root, Path("work")), env)
    result = {
        "files": int(marker.read_text()),
        "tree": measure(tree, env, args.repeat),
        "fingerprint": measure(fp, env, args.repeat),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
