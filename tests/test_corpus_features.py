"""The corpus features without ``datasets`` (pipeline/corpus/features.py) equal ``datasets``' own.

The shard stage writes the Parquet schemas and the card's ``dataset_info`` from plain feature
dicts; these tests compare each with what :mod:`datasets` derives from the same features, and
check that the shard stage's code path does not import :mod:`datasets` at all.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from eoinstruct.pipeline.corpus.card import make_configs
from eoinstruct.pipeline.corpus.features import (
    arrow_schema,
    corpus_feature_dict,
    pair_feature_dict,
    yaml_features,
)
from eoinstruct.pipeline.corpus.hub import ParquetFile, _globs, _matching, dataset_info
from eoinstruct.pipeline.corpus.layout import (
    corpus_features,
    corpus_schema,
    pair_features,
    pair_schema,
)


@pytest.mark.parametrize(
    ("plain", "features", "schema"),
    [
        (corpus_feature_dict, corpus_features, corpus_schema),
        (pair_feature_dict, pair_features, pair_schema),
    ],
)
def test_schema_and_yaml_equal_datasets(plain: Any, features: Any, schema: Any) -> None:
    reference = features()
    assert reference.to_dict() == plain()
    assert schema().equals(reference.arrow_schema, check_metadata=True)
    assert schema().metadata == reference.arrow_schema.metadata  # the same bytes
    assert arrow_schema(plain()).equals(reference.arrow_schema, check_metadata=True)
    assert yaml_features(plain()) == reference._to_yaml_list()


def _reference_info(
    configs: Sequence[Mapping[str, Any]], files: Mapping[str, ParquetFile]
) -> dict[str, Any]:
    """``dataset_info`` as ``datasets`` writes it (the code the shard stage used before)."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict

    infos = {}
    for config in configs:
        paths = [p for e in config["data_files"] for p in _globs(e["path"])]
        pair_table = bool(paths) and all(p.startswith("pairs/") for p in paths)
        splits = SplitDict()
        for entry in config["data_files"]:
            chosen = [files[n] for n in _matching(files, entry["path"])]
            splits.add(
                SplitInfo(
                    name=entry["split"],
                    num_bytes=sum(f.data_bytes for f in chosen),
                    num_examples=sum(f.rows for f in chosen),
                )
            )
        chosen = [files[n] for e in config["data_files"] for n in _matching(files, e["path"])]
        infos[config["config_name"]] = DatasetInfo(
            features=pair_features() if pair_table else corpus_features(),
            splits=splits,
            download_size=sum(f.file_bytes for f in chosen),
            dataset_size=sum(f.data_bytes for f in chosen),
        )
    out: dict[str, Any] = {}
    DatasetInfosDict(infos).to_dataset_card_data(out)
    return out


GROUPS = {
    "train|xbd|detection": {"pairs": 5},
    "test|xbd|detection": {"pairs": 2},
    "train|quakeset|earthquake": {"pairs": 3},
}
FILES = {
    "data/train-xbd-00000-00000.parquet": ParquetFile(3, 1000, 2100),
    "data/test-xbd-00000-00000.parquet": ParquetFile(1, 400, 810),
    "data/train-quakeset-00001-00000.parquet": ParquetFile(2, 700, 1500),
    "pairs/train-xbd-00000-00000.parquet": ParquetFile(5, 90, 300),
    "pairs/test-xbd-00000-00000.parquet": ParquetFile(2, 50, 120),
    "pairs/train-quakeset-00001-00000.parquet": ParquetFile(3, 60, 200),
}


@pytest.mark.parametrize("files", [FILES, {}])
def test_dataset_info_equals_datasets(files: Mapping[str, ParquetFile]) -> None:
    configs = make_configs(GROUPS, commercial=["xbd"])
    assert len(configs) > 1
    assert dataset_info(configs, files) == _reference_info(configs, files)
    for single in (configs[:1], [c for c in configs if c["config_name"] == "xbd"]):
        assert dataset_info(single, files) == _reference_info(single, files)
    assert dataset_info([], files) == _reference_info([], files) == {}


def test_shard_stage_does_not_import_datasets() -> None:
    code = (
        "import sys\n"
        "from eoinstruct.pipeline.stages import shard\n"
        "from eoinstruct.pipeline.corpus.card import make_configs\n"
        "from eoinstruct.pipeline.corpus.hub import dataset_info\n"
        "shard._schemas()\n"
        f"dataset_info(make_configs({GROUPS!r}), {{}})\n"
        "print('datasets' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
