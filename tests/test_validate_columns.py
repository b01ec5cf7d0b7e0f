"""The validate stage's column reader and writers give what the row-by-row ones give."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit import checks
from eoinstruct.pipeline.instructions.pairs import pairs_columns
from eoinstruct.pipeline.io.parquet import iter_pairs, write_table
from eoinstruct.pipeline.records import InstructionPair, Turn, pairs_table
from eoinstruct.pipeline.stages.validate import read_pairs


def _pairs() -> list[InstructionPair]:
    params = {"seed": "1", "box_scale": "100"}
    return [
        InstructionPair(
            pair_id=f"p{i}",
            sample_id=f"src:{i // 2}",
            source="src",
            task="classification",
            template_id=f"t/{i % 3}",
            paraphrase_id=i,
            generator="template/2" if i % 2 else "captioner/vllm",
            generator_params=params if i % 3 else {"z": "9", "a": "é"},
            image_roles=("pre", "post")[: 1 + i % 2],
            turns=tuple(
                Turn(speaker, f"{speaker} {i} {n} ☃")
                for n, speaker in enumerate(("human", "gpt") * (1 + i % 3))
            ),
            split=("train", "val", "")[i % 3],
            answer_style=("terse", "")[i % 2],
        )
        for i in range(7)
    ]


def test_the_column_table_is_the_row_table(tmp_path: Path) -> None:
    pairs = _pairs()
    assert pairs_columns(pairs).equals(pairs_table(pairs))
    assert pairs_columns([]).equals(pairs_table([]))
    write_table(tmp_path / "rows.parquet", pairs_table(pairs))
    write_table(tmp_path / "columns.parquet", pairs_columns(pairs))
    assert (tmp_path / "rows.parquet").read_bytes() == (tmp_path / "columns.parquet").read_bytes()


def test_read_pairs_gives_the_pairs_and_the_table_as_written(tmp_path: Path) -> None:
    pairs = _pairs()
    path = tmp_path / "pairs.parquet"
    write_table(path, pairs_table(pairs))
    table, read = read_pairs(path)
    assert read == list(iter_pairs(path)) == pairs
    assert table.equals(pairs_table(pairs))


_EMISSION_TEXTS = [
    "about 1,200 kg/h of methane",
    "900 KG H-1",
    "3 kilograms per hour",
    "2 t / h",
    "5 Tonnes an hour",
    "a plume of 40 kg/hr",
    "no rate stated",
    "7 kiloGrams a hour",
]
_NUMBER_TEXTS = [
    "3 buildings",
    "One building",
    "TEN trees were cut",
    "the stone wall",
    "no count here",
    "Two roads and seven bridges",
    "1 pools",
]


@pytest.mark.parametrize(
    ("pattern", "needles", "texts"),
    [
        (checks._EMISSION, checks._EMISSION_NEEDLES, _EMISSION_TEXTS),
        (checks._NUMBER_NOUN, checks._NUMBER_NEEDLES, _NUMBER_TEXTS),
        (checks._ALL_TWO, ("all",), ["All two of them", "all 2", "ALL TWO", "both"]),
    ],
)
def test_a_prefilter_never_hides_a_match(pattern, needles, texts) -> None:  # type: ignore[no-untyped-def]
    joined = [" ".join(p) for p in itertools.permutations(texts, 2)]
    matched = 0
    for text in (*texts, *joined, *(t.upper() for t in texts), *(t.swapcase() for t in texts)):
        if pattern.search(text):
            matched += 1
            assert checks.may_match(text, needles), text
    assert matched > len(texts)
    assert not checks.may_match("nothing to see", needles)
    assert checks.may_match("ſome non-ASCII text", needles)  # non-ASCII: always to the regex
