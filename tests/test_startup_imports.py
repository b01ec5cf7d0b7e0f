"""Stage start-up: the command line and the text stages import only what they use.

Each DVC stage is a fresh ``eoinstruct <stage>`` process, so a heavy import at module level
is paid once per stage per build (pandas alone ≈ 0.4 CPU-s). These tests run a clean
interpreter and list which heavy packages an import pulls in; they also check that the
audit's faster class-name finder names the same classes as the plain regex search.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit.rules import landcover

HEAVY = ("pandas", "requests", "tenacity", "rasterio", "osmnx", "geopandas", "typeguard")


def _loaded_after(code: str) -> list[str]:
    """Which of :data:`HEAVY` a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_cli_imports_no_heavy_package() -> None:
    assert _loaded_after("import eoinstruct.cli") == []


@pytest.mark.parametrize("stage", ["enrich", "filter", "generate", "validate"])
def test_text_stage_imports_no_heavy_package(stage: str) -> None:
    assert _loaded_after(f"import eoinstruct.cli, eoinstruct.pipeline.stages.{stage}") == []


def test_validate_imports_no_pillow() -> None:
    """validate writes its audit as text: the file helpers come without the chart drawing."""
    code = "import sys, eoinstruct.cli, eoinstruct.pipeline.stages.validate\n"
    assert _loaded_after(code + "assert 'PIL' not in sys.modules") == []


def test_fingerprinting_bigearthnet_v1_imports_no_rasterio_nor_tqdm(tmp_path: Path) -> None:
    """The fingerprint stage lists and stats: no GDAL, no progress bar without one."""
    folder = tmp_path / "BigEarthNet-v1.0" / "P"
    folder.mkdir(parents=True)
    (folder / "P_B01.tif").write_bytes(b"")
    code = (
        "from eoinstruct.pipeline.stages.fingerprint import source_fingerprint\n"
        "from eoinstruct.pipeline.run import partitions\n"
        "from eoinstruct.sources.bigearthnet_v1.adapter import BigEarthNetV1\n"
        f"assert source_fingerprint(BigEarthNetV1({str(tmp_path)!r}))['files'] == 1\n"
        "import sys\n"
        "assert 'tqdm' not in sys.modules and 'shapely' not in sys.modules"
    )
    assert _loaded_after(code) == []


def test_writing_a_table_in_a_cli_process_imports_no_pandas() -> None:
    code = (
        "from eoinstruct.pipeline.run.startup import arrow_lists_without_pandas\n"
        "arrow_lists_without_pandas()\n"
        "from eoinstruct.pipeline.records import InstructionPair, Turn, pairs_table\n"
        "pair = InstructionPair(pair_id='p', sample_id='s', source='x', task='t',"
        " template_id='x', paraphrase_id=0, generator='g', generator_params={},"
        " image_roles=('image',), turns=(Turn('human', '<image> Q?'), Turn('gpt', 'A.')))\n"
        "assert pairs_table([pair]).num_rows == 1"
    )
    assert "pandas" not in _loaded_after(code)


def test_importing_the_pipeline_leaves_pyarrow_as_it_is() -> None:
    """Only the CLI's entry point hides pandas from pyarrow; a notebook's import does not."""
    code = (
        "import eoinstruct.cli, eoinstruct.pipeline.records\n"
        "import pyarrow as pa\n"
        "import pandas as pd\n"
        "assert pa.array(pd.Series([1.0, float('nan')]), from_pandas=True).null_count == 1\n"
        "assert pa.array(pd.Series([1.0, float('nan')])).null_count == 1"
    )
    assert "pandas" in _loaded_after(code)


def test_inflect_still_works_without_typeguard() -> None:
    code = (
        "from eoinstruct.pipeline.inflection import engine\n"
        "assert engine().plural('patch') == 'patches'\n"
        "import typeguard  # the real package still imports afterwards\n"
        "assert hasattr(typeguard, 'TypeCheckError')"
    )
    assert "typeguard" in _loaded_after(code)


def _plain_mentions(text: str, wordings: landcover.Wordings) -> list[tuple[int, int, str]]:
    """The finder before its speed-up: every wording's regex over the whole text."""
    folded = text.casefold()
    taken: list[tuple[int, int, str]] = []
    for wording, name in wordings:
        for match in re.finditer(rf"(?<![\w-]){re.escape(wording)}(?![\w-])", folded):
            start, end = match.span()
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, name))
    return sorted(taken)


def test_mentions_equal_the_plain_search() -> None:
    lists = (landcover._ALL_BEN, landcover._ONLY_BEN19, landcover._ONLY_CLC43, landcover._SATLAS)
    words = [w for wordings in lists for w, _ in wordings]
    texts = [
        "Label the land cover. Allowed classes: " + "; ".join(w.capitalize() for w in words),
        "The patch is mostly non-irrigated arable land (about 40 %) and some arable land.",
        *(f"x{w} {w}-y ({w}) {w.upper()}, non-{w} {w}s and {w}." for w in words),
    ]
    for wordings in lists:
        for text in texts:
            assert landcover.mentions(text, wordings) == _plain_mentions(text, wordings)
