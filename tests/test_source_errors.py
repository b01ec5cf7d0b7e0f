"""A missing or unrecognised source root says, in one line, what to do about it.

Every :class:`SourceNotFoundError` that leaves an adapter ends with the remedy: the
``eoinstruct download`` command for sources with a download spec (xBD's says it needs a
manual step first), else the ``params.yaml`` keys to fix.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from build_helpers import REPO

from eoinstruct.cli import main
from eoinstruct.sources.base import SourceAdapter, SourceNotFoundError, remedy
from eoinstruct.sources.download.lookup import download_specs
from eoinstruct.sources.registry import adapter_class, source_names

OPTIONS = {"stac": {"chips_dir": "chips", "catalog": "catalog.json"}}
"""Options an adapter needs before it looks at its root."""

DOWNLOADABLE = sorted(download_specs())


def _adapter(name: str, root: Path) -> SourceAdapter:
    return adapter_class(name)(root, OPTIONS.get(name, {}))


def _command(name: str, root: Path) -> str:
    return f"run eoinstruct download {name} --root {shlex.quote(str(root))}"


def test_at_least_three_sources_can_be_downloaded() -> None:
    assert len(DOWNLOADABLE) >= 3 and "xbd" in DOWNLOADABLE and "stac" not in DOWNLOADABLE


@pytest.mark.parametrize("name", DOWNLOADABLE)
def test_missing_root_ends_with_the_download_command(name: str, tmp_path: Path) -> None:
    root = tmp_path / "not here"
    with pytest.raises(SourceNotFoundError) as err:
        _adapter(name, root)
    message = str(err.value)
    assert message.endswith(_command(name, root)), message
    assert "\n" not in message and message.count("eoinstruct download") == 1
    assert f"sources.{name}.root" in message and f"sources.{name}.enabled: false" in message
    assert err.value.remedy and message.endswith(err.value.remedy)


@pytest.mark.parametrize("name", DOWNLOADABLE)
def test_root_without_the_layout_ends_with_the_download_command(name: str, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError) as err:
        _adapter(name, tmp_path).list_units()  # exists, holds nothing of the layout
    message = str(err.value)
    assert message.startswith(f"{name}: ") and message.endswith(_command(name, tmp_path))
    assert "\n" not in message and message.count("eoinstruct download") == 1


def test_xbd_says_the_download_needs_a_manual_step(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="registering") as err:
        _adapter("xbd", tmp_path / "xbd")
    assert str(err.value).endswith(_command("xbd", tmp_path / "xbd"))


def test_a_source_without_download_spec_points_at_params(tmp_path: Path) -> None:
    assert "stac" in source_names()
    with pytest.raises(SourceNotFoundError) as err:
        _adapter("stac", tmp_path / "nowhere")
    message = str(err.value)
    assert "eoinstruct download" not in message
    assert message.endswith(
        "point sources.stac.root in params.yaml at the dataset or set sources.stac.enabled: false"
    )
    assert remedy("tiny", "x") == (
        "point sources.tiny.root in params.yaml at the dataset or set sources.tiny.enabled: false"
    )


def test_the_command_line_prints_the_remedy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["paths"] = {k: str(tmp_path / k) for k in ("sample", "work", "corpus", "metrics")}
    for name, section in params["sources"].items():
        section["enabled"] = name == "bigearthnet_v1"
    root = tmp_path / "BigEarthNet"
    params["sources"]["bigearthnet_v1"]["root"] = str(root)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["--params", str(path), "--no-progress", "ingest"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("eoinstruct ingest: error: bigearthnet_v1: dataset root")
    assert err[-1].endswith(_command("bigearthnet_v1", root))
