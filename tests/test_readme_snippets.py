"""The README's Python snippets run as written on the sample build's corpus.

Every tested snippet is a fenced ``python`` block right after an HTML comment
``<!-- snippet: NAME -->`` in README.md. The sample corpus is built once for this module into
a temporary folder laid out like a checkout after ``dvc repro``: the corpus in
``<root>/data/corpus`` and the EarthDial export in ``<root>/data/earthdial`` (the params'
``paths.corpus`` and ``earthdial.out``). Each snippet then runs unchanged, with ``<root>`` as
the working directory, so its relative paths (``data/corpus``, ``data/earthdial``) point at
that build. The one substitution: when torch is not installed (it is not a dependency), the
lines of a snippet that mention ``torch`` are left out (the test checks that only the two
lines of the ``tensor`` snippet's last step are). The Hugging Face caches point into the
temporary folder and the hubs are offline.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SNIPPET = re.compile(r"<!-- snippet: ([\w-]+) -->\n```python\n(.*?)```", re.DOTALL)
EXPECTED = {"load_dataset", "wds", "tensor", "earthdial"}
S2_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]


def snippets() -> dict[str, str]:
    """The marked snippets of README.md by name."""
    found = SNIPPET.findall(README.read_text(encoding="utf-8"))
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), f"a snippet name is used twice: {names}"
    return dict(found)


def without_torch(code: str) -> tuple[str, list[str]]:
    """Drop the lines that mention torch when it is not installed; return the code and them."""
    if importlib.util.find_spec("torch") is not None:
        return code, []
    lines = code.splitlines(keepends=True)
    dropped = [line.strip() for line in lines if "torch" in line]
    return "".join(line for line in lines if "torch" not in line), dropped


def run_snippet(name: str) -> dict[str, Any]:
    """Execute a README snippet in a fresh namespace in the working directory; return it."""
    code, _ = without_torch(snippets()[name])
    namespace: dict[str, Any] = {"__name__": f"readme_{name}"}
    exec(compile(code, f"README.md <snippet: {name}>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def built(
    sample_build: Path, sample_tars: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A folder where ``data/corpus`` and ``data/earthdial`` are the shared sample build's.

    The snippets read the README's paths; links to the session build (``conftest.sample_build``,
    never changed) spare a second build. ``data/corpus/wds`` holds the tars written on demand
    (``eoinstruct webdataset``, as the README says to run first). The Hugging Face cache is
    this module's own.
    """
    root = tmp_path_factory.mktemp("readme")
    (root / "data" / "corpus").mkdir(parents=True)
    for entry in (sample_build / "corpus").iterdir():
        (root / "data" / "corpus" / entry.name).symlink_to(entry)
    (root / "data" / "corpus" / "wds").symlink_to(sample_tars, target_is_directory=True)
    (root / "data" / "earthdial").symlink_to(sample_build / "earthdial", target_is_directory=True)
    home = root / "hf"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HOME", str(home))
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        import datasets

        # datasets reads HF_HOME at import: point its cache at the temporary folder too.
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
        yield root


@pytest.fixture
def in_build(built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(built)
    return built


def tar_samples(tar: Path) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    """The samples of a tar: each key's JSON and its other members by suffix."""
    members: dict[str, dict[str, bytes]] = {}
    with tarfile.open(tar) as tf:
        for info in tf.getmembers():
            stem, _, suffix = info.name.partition(".")
            handle = tf.extractfile(info)
            assert handle is not None
            members.setdefault(stem, {})[suffix] = handle.read()
    return [(json.loads(m.pop("json")), m) for m in members.values()]


def test_readme_marks_every_corpus_snippet() -> None:
    assert set(snippets()) == EXPECTED
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"(?m)^(.*)\n```python\n((?s:.*?))```", text)
    reading = [(mark, code) for mark, code in blocks if "data/" in code]
    assert reading and all(mark.startswith("<!-- snippet:") for mark, _ in reading)


def test_load_dataset_snippet(in_build: Path) -> None:
    ns = run_snippet("load_dataset")
    assert set(ns["ds"]) == {"train", "validation", "test"}
    assert all(len(ns["ds"][split]) > 0 for split in ns["ds"])
    sample = ns["sample"]
    assert len(sample["images"]) == len(sample["image_roles"]) == len(sample["acquired"])
    assert sample["dialogues"] and {"pair_id", "task", "conversations"} <= set(
        sample["dialogues"][0]
    )
    # the pair view has one row per dialogue
    n_pairs = sum(len(d) for split in ns["ds"].values() for d in split["dialogues"])
    assert sum(len(split) for split in ns["train"].values()) == n_pairs
    row, images, turns = ns["row"], ns["images"], ns["turns"]
    assert images and all(isinstance(im, Image.Image) for im in images)
    assert len(images) == len(row["image_roles"]) == turns[0]["value"].count("<image>")
    assert [t["from"] for t in turns[:2]] == ["human", "gpt"]
    assert all(isinstance(t["value"], str) and t["value"] for t in turns)


def test_wds_snippet_reads_every_sample_of_every_tar(
    in_build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webdataset

    tars = sorted((in_build / "data" / "corpus" / "wds").glob("*.tar"))
    docs = [doc for tar in tars for doc, _ in tar_samples(tar)]
    expected = [doc["sample_id"] for doc in docs]
    roles = {role for doc in docs for role in doc["image_roles"]}
    assert {"image", "pre", "post", "t0", "thermal", "mag1c"} <= roles  # no fixed member name
    real = webdataset.WebDataset
    seen: list[str] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        def note(sample: dict[str, Any]) -> dict[str, Any]:
            seen.append(json.loads(sample["json"])["sample_id"])
            return sample

        return real(*args, **kwargs).map(note)

    monkeypatch.setattr(webdataset, "WebDataset", counting)
    ns = run_snippet("wds")
    assert [Path(s).name for s in ns["shards"]] == [t.name for t in tars]
    # The loop ran to its end (no KeyError) over every sample of every tar, in order.
    assert seen == expected
    doc, images, arrays = ns["doc"], ns["images"], ns["arrays"]
    assert doc["sample_id"] == expected[-1]
    assert isinstance(doc, dict) and len(images) == len(doc["image_roles"])
    assert all(isinstance(im, Image.Image) for im in images)
    assert set(arrays) == set(doc["arrays"])
    for role, array in arrays.items():
        assert isinstance(array, np.ndarray)
        assert list(array.shape) == doc["arrays"][role]["shape"]
    seen.clear()
    per_pair = list(ns["per_pair"])  # one item per dialogue, in order
    want = [d["pair_id"] for doc in docs for d in doc["dialogues"]]
    assert [p["__key__"] for p in per_pair] == want
    for pair in per_pair:
        assert [k for k in pair if k.endswith(".png")] == [
            f"{r}.png" for r in pair["json"]["image_roles"]
        ]


def test_tensor_snippet_gives_reflectance(in_build: Path) -> None:
    _, dropped = without_torch(snippets()["tensor"])
    assert len(dropped) in (0, 2) and all("torch" in line for line in dropped)
    ns = run_snippet("tensor")
    x, item, row = ns["x"], ns["item"], ns["row"]
    assert row["source"] == "bigearthnet_v1" and row["sensor"] == "Sentinel-2 MSI"
    assert item["encoding"] == "reflectance_1e4" and item["bands"] == S2_BANDS
    assert item["scale"] == pytest.approx(1e-4) and item["unit"] == "surface reflectance"
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (12, 120, 120)
    finite = x[np.isfinite(x)]
    assert finite.size >= 0.9 * x.size
    assert finite.min() >= 0.0 and finite.max() <= 1.5
    stored = np.lib.format.read_array(io.BytesIO(item["npy"]))
    valid = stored != 0
    assert np.allclose(x[valid] * 10_000, stored[valid], atol=0.5)
    assert np.isnan(x[~valid]).all()
    if not dropped:
        assert tuple(ns["tensor"].shape) == (12, 120, 120)


PLAUSIBLE = {
    "reflectance_1e4": (-0.2, 1.5),
    "reflectance": (-0.2, 1.5),
    "sar_db": (-60.0, 30.0),
    "sar_linear": (0.0, 1000.0),
    "kelvin": (150.0, 400.0),
    "float": (-100.0, 100_000.0),  # STARCOP mag1c methane enhancement, ppm·m
    "normalized_radiance": (0.0, 1_000.0),  # STARCOP AVIRIS-NG TOA bands
    "uint8": (0.0, 255.0),  # Satlas 8-bit bands
}
"""Physical ranges (with a margin) that every raster of the sample corpus must fall in."""


def test_tensor_snippet_converts_every_raster_of_the_corpus(in_build: Path) -> None:
    to_physical = run_snippet("tensor")["to_physical"]
    encodings: set[str] = set()
    for tar in sorted((in_build / "data" / "corpus" / "wds").glob("*.tar")):
        for doc, members in tar_samples(tar):
            for role, info in doc["arrays"].items():
                x = to_physical({**info, "npy": members[f"{role}.npy"]})
                assert x.dtype == np.float32 and list(x.shape) == info["shape"]
                finite = x[np.isfinite(x)]
                assert finite.size > 0
                low, high = PLAUSIBLE[info["encoding"]]
                assert low <= finite.min() and finite.max() <= high, (doc["sample_id"], role)
                encodings.add(info["encoding"])
    assert encodings == set(PLAUSIBLE)


def test_earthdial_snippet(in_build: Path) -> None:
    ns = run_snippet("earthdial")
    entry, turns, images = ns["entry"], ns["turns"], ns["images"]
    assert entry["image_key"] == "tif_ms" and entry["bands"] == 12
    assert [t["from"] for t in turns[:2]] == ["human", "gpt"]
    assert turns[0]["value"].count("<image>") == len(images) == 1
    assert images[0].shape == (12, 120, 120)
    assert len(ns["subset"]) > 0 and entry["annotation"] in ns["mixture"]
