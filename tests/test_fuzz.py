"""Fuzz every registered source: seeded mutations of its sample corpus, each with a declared outcome.

The sample corpus of every source is written once (seed 0); then, for each source, a seeded
plan of mutations (truncated, garbled, emptied, deleted or renamed files; NaN or wrongly typed
JSON values; deeply nested JSON; NUL bytes and unbalanced quotes in CSV rows; images of another
size; HDF5 datasets removed) is applied one at a time, the source is listed and read
in-process, and the outcome is compared with the declared one (see
:mod:`fuzz_mutations`). No mutation may end in a traceback, a hang or a silently wrong
record. A summary per source is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from build_helpers import REPO
from fuzz_mutations import RASTERS, Mutation, Reading, read_source, run_mutation, unit_files

from eoinstruct.sources.registry import source_names, writer

SEED = 16
"""Seed of the mutation plan (and of the random bytes each mutation writes)."""

PER_SOURCE = 15
"""Mutations per source (fewer where a source has fewer candidates)."""

BUDGET_S = 90.0
"""Longest the whole fuzz may take."""

XFAIL_GENERIC: dict[tuple[str, str], str] = {}
"""(source, kind) → why the mutation is left to the generic raster checks of
``pipeline/io/rasters.py`` (another branch adds them; remove the entry after the merge)."""

DESTROY = ("truncate", "garbage_header", "delete", "empty")


def _kinds(path: Path, own: bool, multi_image: bool) -> list[tuple[str, tuple[str, ...], int]]:
    """Mutation kinds for one file: ``(kind, expected outcomes, variants)``."""
    suffix = path.suffix.lower()
    if not own:  # a file several units (or the listing) read: an index of the dataset
        stop = ("clean_stop", "quarantined")
        if suffix == ".csv":
            return [(k, stop, 1) for k in ("csv_nul", "csv_quote", "truncate", "delete")]
        if suffix == ".json":
            return [(k, stop, 1) for k in ("truncate", "deep_json", "json_wrong_type")]
        if suffix == ".h5":
            return [("h5_drop", ("quarantined",), 3), ("truncate", stop, 1)]
        return [(k, stop, 1) for k in ("truncate", "garbage_header", "delete")]
    quarantined = ("quarantined",)
    if suffix in RASTERS:
        kinds = [(k, quarantined, 1) for k in (*DESTROY, "rename")]
        if multi_image:
            kinds.append(("other_size", quarantined, 1))
        return kinds
    if suffix == ".json":
        values = ("quarantined", "harmless")
        return [
            ("truncate", quarantined, 1),
            ("deep_json", quarantined, 1),
            ("json_nan", values, 1),
            ("json_wrong_type", values, 1),
            ("delete", quarantined, 1),
        ]
    return [(k, quarantined, 1) for k in ("garbage_header", "empty", "delete")]


def plan(name: str, root: Path, files: dict[str, set[Path]], base: Reading) -> list[Mutation]:
    """The seeded mutations of one source."""
    rng = random.Random(f"{SEED}:{name}")
    users: dict[Path, list[str]] = {}
    for unit, paths in files.items():
        for path in paths:
            users.setdefault(path, []).append(unit)
    good = sorted(u for u, text in base.units.items() if not text.startswith("error:"))
    candidates: list[Mutation] = []
    for unit in rng.sample(good, min(3, len(good))):
        multi = any(len(s.images) > 1 or len(s.images[0].files) > 1 for s in base.samples[unit])
        mine = sorted(p for p in files[unit] if len(users[p]) <= 3 and p.is_relative_to(root))
        for path in rng.sample(mine, min(2, len(mine))):
            for kind, expect, _ in _kinds(path, own=True, multi_image=multi):
                rel = str(path.relative_to(root))
                candidates.append(Mutation(name, kind, rel, expect, tuple(sorted(users[path]))))
    shared = sorted(
        p
        for p in root.resolve().rglob("*")
        if p.is_file() and (len(users.get(p, ())) > 3 or not users.get(p))
    )
    for path in rng.sample(shared, min(3, len(shared))):
        for kind, expect, variants in _kinds(path, own=False, multi_image=False):
            for variant in range(variants):
                rel = str(path.relative_to(root.resolve()))
                candidates.append(Mutation(name, kind, rel, expect, variant=variant))
    chosen = rng.sample(candidates, min(PER_SOURCE, len(candidates)))
    return [
        m
        if (name, m.kind) not in XFAIL_GENERIC
        else Mutation(m.source, m.kind, m.target, ("xfail_generic",), m.units, XFAIL_GENERIC[name, m.kind])
        for m in chosen
    ]


def _options(name: str, root: Path, work: Path) -> dict[str, Any]:
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))["sources"]
    options = {**params[name], "root": str(root)}
    if "chips_dir" in options:
        options["chips_dir"] = str(work / f"{name}_chips")
    return options


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every registered source's sample corpus, written once."""
    root = tmp_path_factory.mktemp("fuzz")
    for name in source_names():
        writer(name)(root / name, 0)
    return root


def test_fuzz_every_source(corpus: Path) -> None:
    start = time.monotonic()
    table: dict[str, Counter[str]] = {}
    failures: list[str] = []
    xfailed: list[str] = []
    for name in source_names():
        root = (corpus / name).resolve()
        options = _options(name, root, corpus)
        base = read_source(name, options)
        assert not base.stop, f"{name}: the unmutated corpus does not list: {base.stop}"
        files = unit_files(name, options, base)
        counts: Counter[str] = Counter()
        for mutation in plan(name, root, files, base):
            outcome = run_mutation(mutation, root, options, base, SEED)
            counts["mutations"] += 1
            counts[outcome.kind] += 1
            label = f"{name} {mutation.kind} {mutation.target}#{mutation.variant}"
            if mutation.expect == ("xfail_generic",):
                xfailed.append(f"{label}: {outcome.kind} ({mutation.note})")
            elif outcome.kind not in mutation.expect:
                failures.append(
                    f"{label}: {outcome.kind} (expected {'|'.join(mutation.expect)}): "
                    f"{outcome.detail}"
                )
        assert read_source(name, options).units == base.units, f"{name}: corpus not restored"
        table[name] = counts
    elapsed = time.monotonic() - start
    lines = [f"{'source':16} mutations quarantined clean_stop harmless other"]
    for name, c in table.items():
        other = c["mutations"] - c["quarantined"] - c["clean_stop"] - c["harmless"]
        lines.append(
            f"{name:16} {c['mutations']:9} {c['quarantined']:11} {c['clean_stop']:10} "
            f"{c['harmless']:8} {other:5}"
        )
    total = sum((c for c in table.values()), Counter())
    lines.append(f"{'total':16} {total['mutations']:9} {total['quarantined']:11} "
                 f"{total['clean_stop']:10} {total['harmless']:8} in {elapsed:.1f} s")
    print("\n".join(lines))
    print("\n".join(f"xfail_generic: {x}" for x in xfailed))
    assert not failures, f"{len(failures)} mutation(s) not as declared:\n" + "\n".join(failures)
    assert total["mutations"] >= 200
    assert elapsed < BUDGET_S
