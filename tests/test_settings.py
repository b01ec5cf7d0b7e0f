"""params.yaml is checked as a whole, strictly, before any stage runs; overrides and the API."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from build_helpers import make_params

import eoinstruct
from eoinstruct.pipeline.config import ConfigError, load_params, parse_override
from eoinstruct.pipeline.run.partitions import completed_records

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, edit) -> Path:
    doc = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_repository_params_are_valid():
    settings = load_params(REPO / "params.yaml").settings
    assert settings.filter is not None and settings.filter.min_tags == 3
    assert settings.sources["stac"].model_extra["chips_dir"]


@pytest.mark.parametrize(
    "section, key, value, named",
    [
        ("filter", "min_tags", "three", "filter.min_tags = 'three'"),
        ("filter", "require_geolocation", "false", "filter.require_geolocation = 'false'"),
        ("score", "dark_level", 1.5, "score.dark_level = 1.5"),
        ("generate", "class_set", "ben43", "generate.class_set = 'ben43'"),
        ("shard", "max_rowz", 5, "shard.max_rowz: unknown key"),
        ("executor", "kind", "slurm", "executor.kind = 'slurm'"),
    ],
)
def test_a_bad_value_anywhere_is_refused_at_load_naming_the_key(
    tmp_path: Path, section: str, key: str, value: object, named: str
):
    path = write(tmp_path, lambda doc: doc[section].__setitem__(key, value))
    with pytest.raises(ConfigError) as info:
        load_params(path)
    assert named in str(info.value)


def test_an_enabled_source_needs_a_root(tmp_path: Path):
    path = write(tmp_path, lambda doc: doc["sources"]["xbd"].pop("root"))
    with pytest.raises(ConfigError, match=r"sources\.xbd"):
        load_params(path)


def test_the_cli_fails_before_any_stage_in_under_two_seconds(tmp_path: Path):
    path = write(tmp_path, lambda doc: doc["filter"].__setitem__("min_tags", "three"))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "eoinstruct.cli", "--params", str(path), "ingest"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert "filter.min_tags = 'three'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "data").exists()  # nothing ran
    assert elapsed < 10  # generous on a loaded machine; typically ~1 s


def test_overrides_are_yaml_values_and_are_checked():
    params = load_params(REPO / "params.yaml")
    key, value = parse_override("filter.min_tags=2")
    assert (key, value) == ("filter.min_tags", 2)
    assert params.with_overrides({key: value}).settings.filter.min_tags == 2
    assert parse_override("dedup.source_priority=[xbd, satlas]")[1] == ["xbd", "satlas"]
    with pytest.raises(ConfigError, match=r"filter\.min_tags"):
        params.with_overrides({"filter.min_tags": "two"})
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_override("filter.min_tags")


def test_the_python_api_runs_chosen_stages_in_build_order(tmp_path: Path):
    params = make_params(tmp_path)
    results = eoinstruct.build(
        params, stages=["ingest", "sample_data"], overrides={"ingest.partition_size": 4}
    )
    assert list(results) == ["sample_data", "ingest"]
    assert results["ingest"].read > 0
    assert (tmp_path / "work" / "ingest" / "_done").is_dir()


def test_stage_help_lists_its_settings_and_global_flags_work_after_the_subcommand(capsys):
    from eoinstruct.cli import build_parser

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["filter", "--help"])
    text = capsys.readouterr().out
    assert "filter.min_tags: int (required)" in text
    assert "filter.snow_cloud: Literal['drop', 'keep'] (default 'drop')" in text
    args = parser.parse_args(["ingest", "--no-progress", "--set", "ingest.partition_size=3"])
    assert args.no_progress and args.set == ["ingest.partition_size=3"]


def test_set_overrides_one_run_from_the_cli(tmp_path: Path):
    from eoinstruct.cli import main

    params = make_params(tmp_path)
    code = main(["--params", str(params), "sample-data", "--no-progress"])
    assert code == 0
    code = main(
        ["--params", str(params), "ingest", "--no-progress", "--set", "ingest.partition_size=3"]
    )
    assert code == 0
    records = completed_records(tmp_path / "work" / "ingest")
    # 3 units per partition instead of params.yaml's 8
    assert max(int(r["stats"]["read"]) for r in records) == 3
    assert main(["--params", str(params), "ingest", "--set", "ingest.partition_size=0"]) == 2
