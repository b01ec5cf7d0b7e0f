"""The corpus's Hugging Face features as plain data: Arrow schema and card YAML, no ``datasets``.

Importing :mod:`datasets` costs about a second of CPU, which the shard stage (it writes the
Parquet shards, their schema metadata and the card's ``dataset_info``) would pay once per
process for two constant schemas. The features are therefore described here in the JSON form
that ``datasets.Features.to_dict`` writes (``{"dtype": "string", "_type": "Value"}``,
``{"feature": …, "_type": "List"}``, ``{"_type": "Image"}``, a dict for a struct), and turned
into what ``Features.arrow_schema`` and ``DatasetInfosDict.to_dataset_card_data`` produce from
it: the same schema with the same ``huggingface`` metadata bytes, the same YAML. The tests
compare both with :mod:`datasets` itself (``tests/test_corpus_features.py``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

Feature = dict[str, Any]


def _value(dtype: str) -> Feature:
    return {"dtype": dtype, "_type": "Value"}


def _list(feature: Feature) -> Feature:
    return {"feature": feature, "_type": "List"}


def _string_list() -> Feature:
    return _list(_value("string"))


def _conversation() -> Feature:
    return _list({"from": _value("string"), "value": _value("string")})


def array_feature() -> Feature:
    """Return the feature of one lossless array (an item of a sample's ``arrays``)."""
    return {
        "role": _value("string"),
        "npy": _value("binary"),
        "shape": _list(_value("int32")),
        "dtype": _value("string"),
        "bands": _string_list(),
        "wavelengths_nm": _list(_value("float32")),
        "gsd_m": _value("float32"),
        "scale": _value("float64"),
        "offset": _value("float64"),
        "unit": _value("string"),
        "encoding": _value("string"),
        "nodata": _value("float64"),
    }


def dialogue_feature() -> Feature:
    """Return the feature of one dialogue (an item of a sample's ``dialogues``)."""
    return {
        "pair_id": _value("string"),
        "task": _value("string"),
        "template_id": _value("string"),
        "paraphrase_id": _value("int32"),
        "answer_style": _value("string"),
        "generator": _value("string"),
        "generator_params": _value("string"),
        "modality": _value("string"),
        "image_roles": _string_list(),
        "conversations": _conversation(),
    }


def corpus_feature_dict() -> Feature:
    """Return the features of a sample row (``data/*.parquet``), as ``Features.to_dict``."""
    return {
        "sample_id": _value("string"),
        "source": _value("string"),
        "modality": _value("string"),
        "sensor": _value("string"),
        "split": _value("string"),
        "acquired": _string_list(),
        "image_roles": _string_list(),
        "images": _list({"_type": "Image"}),
        "arrays": _list(array_feature()),
        "dialogues": _list(dialogue_feature()),
        "metadata": _value("string"),
    }


def pair_feature_dict() -> Feature:
    """Return the features of the text-only pair table (``pairs/*.parquet``)."""
    return {
        "pair_id": _value("string"),
        "sample_id": _value("string"),
        "source": _value("string"),
        "split": _value("string"),
        "task": _value("string"),
        "template_id": _value("string"),
        "paraphrase_id": _value("int32"),
        "answer_style": _value("string"),
        "modality": _value("string"),
        "sensor": _value("string"),
        "image_roles": _string_list(),
        "conversations": _conversation(),
        "generator": _value("string"),
        "generator_params": _value("string"),
    }


_ARROW_VALUES = ("string", "binary", "int32", "float32", "float64")
"""The ``Value`` dtypes the corpus uses (each the Arrow type of the same name)."""


def arrow_type(feature: Mapping[str, Any]) -> pa.DataType:
    """Return the Arrow type of a feature (as ``datasets`` maps it).

    Args:
        feature: A feature in ``Features.to_dict`` form.

    Returns:
        The Arrow type.
    """
    import pyarrow as pa

    kind = feature.get("_type")
    if kind == "Value":
        dtype = str(feature["dtype"])
        if dtype not in _ARROW_VALUES:
            raise ValueError(f"unsupported value dtype {dtype!r}")
        return pa.type_for_alias(dtype)
    if kind == "List":
        return pa.list_(arrow_type(feature["feature"]))
    if kind == "Image":
        return pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    if kind is not None:
        raise ValueError(f"unsupported feature type {kind!r}")
    return pa.struct([(name, arrow_type(sub)) for name, sub in feature.items()])


def arrow_schema(features: Mapping[str, Any]) -> pa.Schema:
    """Return what ``datasets.Features(features).arrow_schema`` returns, metadata included.

    Args:
        features: Top-level features in ``Features.to_dict`` form.

    Returns:
        The schema, with the ``huggingface`` metadata that lets readers decode images.
    """
    import pyarrow as pa

    schema = pa.schema([(name, arrow_type(sub)) for name, sub in features.items()])
    meta = json.dumps({"info": {"features": dict(features)}})
    return schema.with_metadata({"huggingface": meta})


def _yaml_inner(feature: Mapping[str, Any]) -> dict[str, Any]:
    kind = feature.get("_type")
    if kind == "List":
        inner = _yaml_inner(feature["feature"])
        if list(inner) == ["dtype"]:
            return {"list": inner["dtype"]}
        if list(inner) == ["struct"]:
            return {"list": inner["struct"]}
        return {"list": inner}
    if kind == "Value":
        return {k: v for k, v in feature.items() if k != "_type"}
    if kind == "Image":
        return {"dtype": "image"}
    if kind is not None:
        raise ValueError(f"unsupported feature type {kind!r}")
    return {"struct": [{"name": n, **_yaml_inner(sub)} for n, sub in feature.items()]}


def yaml_features(features: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the card's ``features`` list, as ``Features._to_yaml_list`` writes it.

    Args:
        features: Top-level features in ``Features.to_dict`` form.

    Returns:
        One ``{"name": …, …}`` entry per column.
    """
    return [{"name": name, **_yaml_inner(sub)} for name, sub in features.items()]


def leaf_paths(schema: pa.Schema) -> list[str]:
    """Return the Parquet column paths (``a.list.element.b``) of an Arrow schema's leaves."""
    import pyarrow as pa

    def walk(prefix: str, kind: pa.DataType) -> list[str]:
        if pa.types.is_struct(kind):
            return [p for f in kind for p in walk(f"{prefix}.{f.name}", f.type)]
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            return walk(f"{prefix}.list.element", kind.value_type)
        return [prefix]

    return [p for field in schema for p in walk(field.name, field.type)]


FAST_ZSTD_COLUMNS = {"arrays.list.element.npy": -1}
"""zstd level of the columns written with a faster level than the default (1) when the codec
is zstd: the ``.npy`` arrays, ~half the bytes of a BigEarthNet corpus, whose compression was
most of the shard stage's write (level -1: ~30 % less CPU for ~20 % more bytes)."""


def column_codecs(
    schema: pa.Schema, codec: str, stored: Collection[str]
) -> tuple[dict[str, str], dict[str, int]]:
    """Return the Parquet codec of each leaf column (``codec``, ``"none"`` for ``stored``).

    Args:
        schema: The Arrow schema.
        codec: The codec of every other column (``zstd``).
        stored: Leaf paths (:func:`leaf_paths`) written as they are (already compressed bytes).

    Returns:
        Leaf path → codec, and leaf path → level (:data:`FAST_ZSTD_COLUMNS` where the codec
        is zstd), as ``pyarrow.parquet.ParquetWriter(compression=…, compression_level=…)``
        take them.
    """
    codecs = {path: "none" if path in stored else codec for path in leaf_paths(schema)}
    levels = {p: v for p, v in FAST_ZSTD_COLUMNS.items() if codecs.get(p) == "zstd"}
    return codecs, levels
