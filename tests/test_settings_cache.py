"""The validated-settings record: a later stage process gets the same settings without pydantic.

A ``params.yaml`` validated once is recorded under ``<paths.work>/_state/settings.json``;
loading the same bytes again rebuilds the sections from it. These tests check that the rebuilt
sections equal pydantic's (every attribute, ``as_dict``, extras), that any change of the file
is validated again (the same error for a bad value), that nothing is written outside an
existing work folder, and that a stage process on a hit imports no pydantic.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoinstruct.pipeline.config import ConfigError, load_params
from eoinstruct.pipeline.settings import Section, Settings, validate_settings
from eoinstruct.pipeline.settings_cache import PlainSection, cache_file, encode_settings

REPO = Path(__file__).resolve().parents[1]


def _params(tmp_path: Path, edit: Any = None, work: bool = True) -> Path:
    doc = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    doc["paths"]["work"] = str(tmp_path / "work")
    if edit is not None:
        edit(doc)
    if work:
        (tmp_path / "work").mkdir(exist_ok=True)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _same_values(plain: Any, model: Any) -> None:
    """Every attribute of the rebuilt section equals the model's, of the same type."""
    if isinstance(model, Section):
        assert isinstance(plain, PlainSection)
        assert type(model).__name__ in repr(plain)
        for name in type(model).model_fields:
            _same_values(getattr(plain, name), getattr(model, name))
        assert plain.model_extra == model.model_extra
        assert json.dumps(plain.as_dict()) == json.dumps(model.as_dict())
    elif isinstance(model, dict):
        assert type(plain) is dict and list(plain) == list(model)
        for key in model:
            _same_values(plain[key], model[key])
    elif isinstance(model, list):
        assert type(plain) is list and len(plain) == len(model)
        for a, b in zip(plain, model, strict=True):
            _same_values(a, b)
    else:
        assert type(plain) is type(model) and plain == model


def test_a_second_load_rebuilds_the_same_settings(tmp_path: Path) -> None:
    path = _params(tmp_path)
    first = load_params(path)
    assert isinstance(first.settings, Settings)  # validated by pydantic, then recorded
    assert cache_file(first.raw) == tmp_path / "work" / "_state" / "settings.json"
    assert cache_file(first.raw).is_file()  # type: ignore[union-attr]
    again = load_params(path)
    assert isinstance(again.settings, PlainSection)
    assert again == first  # raw and path; the settings are not part of equality
    _same_values(again.settings, first.settings)
    assert again.settings.sources["stac"].model_extra["chips_dir"]
    assert again.settings.paths.model_extra is None
    with pytest.raises(TypeError, match="frozen"):
        again.settings.filter.min_tags = 1
    with pytest.raises(AttributeError):
        _ = again.settings.filter.no_such_key
    thawed = pickle.loads(pickle.dumps(again))  # as sent to Dask workers
    assert thawed.settings == again.settings
    assert thawed.settings.as_dict() == first.settings.as_dict()


def test_an_edited_file_is_validated_again_with_the_same_message(tmp_path: Path) -> None:
    path = _params(tmp_path)
    load_params(path)
    load_params(path)
    bad = _params(tmp_path, lambda doc: doc["filter"].__setitem__("min_tags", "three"))
    with pytest.raises(ConfigError) as info:
        load_params(bad)
    assert "filter.min_tags = 'three'" in str(info.value)
    with pytest.raises(ConfigError) as direct:
        validate_settings(yaml.safe_load(bad.read_text(encoding="utf-8")), str(bad))
    assert str(info.value) == str(direct.value)
    good = _params(tmp_path, lambda doc: doc["filter"].__setitem__("min_tags", 2))
    loaded = load_params(good)
    assert isinstance(loaded.settings, Settings) and loaded.settings.filter.min_tags == 2
    assert load_params(good).settings.filter.min_tags == 2  # now from the record


def test_a_stale_or_broken_record_is_ignored(tmp_path: Path) -> None:
    path = _params(tmp_path)
    first = load_params(path)
    record = cache_file(first.raw)
    assert record is not None
    data = json.loads(record.read_text(encoding="utf-8"))
    data["key"] = "0" * 64
    record.write_text(json.dumps(data), encoding="utf-8")
    assert isinstance(load_params(path).settings, Settings)  # a miss: validated, rewritten
    record.write_text("{not json", encoding="utf-8")
    assert isinstance(load_params(path).settings, Settings)
    assert isinstance(load_params(path).settings, PlainSection)


def test_no_record_without_an_existing_work_folder(tmp_path: Path) -> None:
    path = _params(tmp_path, work=False)
    assert isinstance(load_params(path).settings, Settings)
    assert not (tmp_path / "work").exists()
    assert isinstance(load_params(path).settings, Settings)


def test_values_json_cannot_keep_exactly_are_not_recorded(tmp_path: Path) -> None:
    # a YAML date among an adapter's options: JSON would turn it into a string
    path = _params(tmp_path, lambda doc: doc["sources"]["xbd"].__setitem__("since", "x"))
    path.write_text(
        path.read_text(encoding="utf-8").replace("since: x", "since: 2021-01-01"),
        encoding="utf-8",
    )
    loaded = load_params(path)
    assert encode_settings(loaded.settings) is None
    assert not (tmp_path / "work" / "_state" / "settings.json").exists()
    again = load_params(path).settings
    assert isinstance(again, Settings)
    assert type(again.sources["xbd"].model_extra["since"]).__name__ == "date"


def test_a_stage_process_on_a_hit_imports_no_pydantic(tmp_path: Path) -> None:
    path = _params(tmp_path)
    load_params(path)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import eoinstruct.cli\n"
        "from eoinstruct.pipeline.config import load_params\n"
        "import eoinstruct.pipeline.stages.filter, eoinstruct.pipeline.stages.dedup\n"
        f"s = load_params(Path({str(path)!r})).settings\n"
        "assert s.filter.min_tags >= 0 and s.dedup.splits.block_km > 0\n"
        "eoinstruct.cli.build_parser(describe=False).parse_args(['filter'])\n"
        "print('pydantic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_help_still_lists_the_settings() -> None:
    from eoinstruct.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "filter.min_tags" in sub.choices["filter"].format_help()  # type: ignore[attr-defined]
    lean = build_parser(describe=False)
    assert lean.parse_args(["filter", "--no-progress"]).command == "filter"
