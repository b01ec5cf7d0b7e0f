"""Fixed costs of a run: templates parsed once per process, Dask settings that exist."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dask
import distributed  # noqa: F401  (registers Dask's distributed settings)

from eoinstruct.pipeline.run.cluster import QUIET_MONITORS
from eoinstruct.templates import TEMPLATE_DIR, load_templates


def test_templates_are_parsed_once_and_again_after_an_edit(tmp_path: Path) -> None:
    for path in TEMPLATE_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    first = load_templates(tmp_path)
    again = load_templates(tmp_path)
    assert again == first and again is not first  # a new list of the same (frozen) templates
    assert all(a is b for a, b in zip(first, again, strict=True))  # parsed once
    target = tmp_path / "scene_facts.yaml"
    text = target.read_text(encoding="utf-8")
    old = next(t for t in first if t.file == target.name).turns[0].questions[0]
    target.write_text(text.replace(old, old + " Please.", 1), encoding="utf-8")
    os.utime(target, ns=(1, 1))  # a different stat even within the clock's resolution
    edited = {t.id: t for t in load_templates(tmp_path)}
    assert any(old + " Please." in t.turns[0].questions for t in edited.values())
    assert load_templates() == load_templates(TEMPLATE_DIR)


def test_quiet_monitor_settings_are_dask_settings() -> None:
    for key in QUIET_MONITORS:
        assert dask.config.get(key, default=KeyError) is not KeyError, key
