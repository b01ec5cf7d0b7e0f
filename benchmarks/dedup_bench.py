"""Micro-benchmark of dedup's global pass: CPU time in dense cells, peak memory at N vs 10N.

Run ``python -m benchmarks.dedup_bench`` (or ``python benchmarks/dedup_bench.py`` with another
checkout first on ``PYTHONPATH`` to measure that checkout's code: the benchmark only uses
functions both the old and the new implementation have).

- **CPU**: ``n`` samples (8k, 16k, 64k by default) in two dense 50 km cells (every sample
  within about 50 km of most others), official splits drawn per sample, so the leakage check
  sees every kind of pair. Reports process CPU seconds of the leakage check at the block size
  (50 km) alone and of the whole decision (duplicates, places and splits, metrics with all
  leakage figures).
- **Memory**: writes ``N`` and ``10 N`` samples (spread over Europe, so that the old
  implementation finishes too) as the stage reads them (per partition, the
  filter's kept samples with the sample schema and the score stage's ``content_sha256`` and
  ``phash``), then runs the stage's global pass over them in a fresh process and reports its
  peak RSS (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.quality.dedup import IndexEntry, find_duplicates
from eoinstruct.pipeline.quality.splits import SplitConfig, assign_splits, leakage
from eoinstruct.pipeline.records import SAMPLE_SCHEMA
from eoinstruct.pipeline.stages.dedup import DedupConfig, dedup_metrics

CELLS = ((10.2, 45.2), (10.9, 45.2))
"""Centres of the dense cells (lon, lat): about 55 km apart."""

SPREAD_DEG = 0.2
"""Standard deviation of a sample's offset from its cell centre (about 20 km)."""

PARTITION_ROWS = 2_000

OFFICIAL = [0.7, 0.2, 0.05, 0.05]
"""Shares of samples with no official split, train, validation, test."""

CONFIG = DedupConfig(4, 100.0, ("bigearthnet_v2", "bigearthnet_v1"), SplitConfig())


def _points(n: int, seed: int, wide: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if wide:
        return rng.uniform(-10.0, 30.0, n), rng.uniform(35.0, 60.0, n)
    centre = np.array(CELLS)[rng.integers(len(CELLS), size=n)]
    lon = centre[:, 0] + rng.normal(0, SPREAD_DEG, n)
    lat = centre[:, 1] + rng.normal(0, SPREAD_DEG * 0.7, n)
    return lon, lat


def entries(n: int, seed: int = 0, wide: bool = False) -> list[IndexEntry]:
    """``n`` index entries in dense cells (or all over Europe), a few duplicates of each kind."""
    rng = np.random.default_rng(seed + 1)
    lon, lat = _points(n, seed, wide)
    hashes = rng.integers(0, 2**63, size=n, dtype=np.int64)
    out = []
    for i in range(n):
        twin = i - 1 if i and rng.random() < 0.02 else i  # 2 % near or exact copies
        out.append(
            IndexEntry(
                sample_id=f"{'bigearthnet_v1' if i % 2 else 'bigearthnet_v2'}:p{i:07d}",
                source="bigearthnet_v1" if i % 2 else "bigearthnet_v2",
                modality="multispectral",
                sensor="Sentinel-2 MSI",
                content=f"{twin:064x}" if rng.random() < 0.5 else f"{i:064x}",
                phashes=(int(hashes[twin]) ^ (1 << int(rng.integers(64))),),
                lon=float(lon[twin]),
                lat=float(lat[twin]),
                dates=(f"2020-01-{1 + i % 28:02d}",),
                split=str(
                    rng.choice(["", "train", "validation", "test"], p=[0.7, 0.2, 0.05, 0.05])
                ),
                places=(f"mgrs:33UUP:{i // 3}_{i % 7}",),
            )
        )
    return out


def cpu(sizes: list[int], skip_full_over: int) -> list[dict[str, Any]]:
    """CPU seconds of the leakage check and of the whole decision per size."""
    rows = []
    for n in sizes:
        sample = entries(n)
        rng = np.random.default_rng(n)
        split = rng.choice(["train", "validation", "test"], n, p=[0.8, 0.1, 0.1])
        points = [(e.sample_id, e.lon, e.lat, str(s)) for e, s in zip(sample, split, strict=True)]
        sources = [e.source for e in sample]
        start = time.process_time()
        leak = leakage(points, 50_000.0, sources=sources)
        leak_s = time.process_time() - start
        row: dict[str, Any] = {"n": n, "leakage_cpu_s": round(leak_s, 3), "pairs": leak.pairs}
        if n <= skip_full_over:
            start = time.process_time()
            removed = find_duplicates(sample, CONFIG.near_max_distance, CONFIG.place_time_m,
                                      CONFIG.source_priority)  # fmt: skip
            kept = [e for e in sample if e.sample_id not in removed]
            splits = assign_splits(kept, CONFIG.splits)
            metrics = dedup_metrics(sample, removed, splits, CONFIG)
            row["decision_cpu_s"] = round(time.process_time() - start, 3)
            row["removed"] = len(removed)
            row["block_pairs"] = metrics["leakage"]["pairs_closer_than_block"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def write_inputs(root: Path, n: int) -> list[tuple[Path, Path]]:
    """Write ``n`` samples as partitions of kept samples and scores; return their paths."""
    sample = entries(n, wide=True)
    score_schema = pa.schema([("sample_id", pa.string()), ("content_sha256", pa.string()),
                              ("phash", pa.list_(pa.uint64()))])  # fmt: skip
    out = []
    for p, start in enumerate(range(0, n, PARTITION_ROWS)):
        part = sample[start : start + PARTITION_ROWS]
        rows = []
        for e in part:
            x, y, d = e.lon, e.lat, 0.005
            rows.append({
                "sample_id": e.sample_id, "source": e.source,
                "native_id": f"S2A_MSIL2A_20200101T101031_N9999_R022_T33UUP_{e.places[0][12:]}",
                "modality": e.modality, "sensor": e.sensor,
                "footprint_wkt": f"POLYGON (({x} {y}, {x + d} {y}, {x + d} {y + d}, {x} {y}))",
                "acquired": [f"{e.dates[0]}T10:10:31Z"], "split": e.split,
                "tags": [("mgrs_tile", "T33UUP")], "labels": {"properties": []},
            })  # fmt: skip
        kept = root / f"kept-{p:04d}.parquet"
        scores = root / f"scores-{p:04d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA), kept)
        pq.write_table(
            pa.Table.from_pylist(
                [
                    {
                        "sample_id": e.sample_id,
                        "content_sha256": e.content,
                        "phash": list(e.phashes),
                    }
                    for e in part
                ],
                schema=score_schema,
            ),
            scores,
        )
        out.append((kept, scores))
    return out


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (``VmHWM``, else ``ru_maxrss``)."""
    from eoinstruct.pipeline.run.startup import peak_rss_bytes

    peak = peak_rss_bytes()
    if peak:
        return round(peak / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def global_pass(listing: Path) -> dict[str, Any]:
    """Run the stage's global pass over the partitions listed in a JSON file (in this process)."""
    from eoinstruct.pipeline.stages import dedup as stage

    files = [(Path(a), Path(b)) for a, b in json.loads(listing.read_text())]
    start = time.process_time()
    if hasattr(stage, "decide_all"):  # the streamed index
        index, _, decisions, codes = stage.decide_all(files, CONFIG)
        metrics = stage.index_metrics(index, decisions, codes, stage.SPLITS, CONFIG)
    else:  # the implementation before it: one IndexEntry per sample
        every: list[IndexEntry] = []
        for kept, scores in files:
            every += stage.read_index(kept, scores)
        removed = find_duplicates(every, CONFIG.near_max_distance, CONFIG.place_time_m,
                                  CONFIG.source_priority)  # fmt: skip
        splits = assign_splits([e for e in every if e.sample_id not in removed], CONFIG.splits)
        metrics = dedup_metrics(every, removed, splits, CONFIG)
    return {
        "cpu_s": round(time.process_time() - start, 2),
        "peak_rss_mb": peak_rss_mb(),
        "kept": metrics["kept"],
    }


def memory(base: int, repeats: int = 3) -> list[dict[str, Any]]:
    """Peak RSS of the global pass over ``base`` and ``10 * base`` samples (fresh processes).

    Each size runs ``repeats`` times (the allocators' retention varies from run to run); the
    median is reported.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (base, 10 * base):
            root = Path(tmp) / str(n)
            root.mkdir()
            listing = root / "files.json"
            listing.write_text(json.dumps([[str(a), str(b)] for a, b in write_inputs(root, n)]))
            code = (
                "import json, sys; sys.path.insert(0, sys.argv[2]); "
                "from dedup_bench import global_pass; from pathlib import Path; "
                "print(json.dumps(global_pass(Path(sys.argv[1]))))"
            )
            runs = []
            for _ in range(repeats):
                done = subprocess.run(
                    [sys.executable, "-c", code, str(listing), str(Path(__file__).parent)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            peaks = sorted(r["peak_rss_mb"] for r in runs)
            row = {**runs[0], "n": n, "peak_rss_mb": peaks[len(peaks) // 2], "runs_mb": peaks}
            rows.append(row)
            print(json.dumps(row), flush=True)
    rows.append({"rss_ratio_10n_over_n": round(rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"], 3)})
    print(json.dumps(rows[-1]))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--sizes``, ``--rss-n``, ``--full-up-to``, ``--skip-cpu``/``--skip-rss``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8_000, 16_000, 64_000])
    parser.add_argument("--full-up-to", type=int, default=64_000,
                        help="time the whole decision only up to this many samples")  # fmt: skip
    parser.add_argument("--rss-n", type=int, default=10_000)
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_cpu:
        cpu(args.sizes, args.full_up_to)
    if not args.skip_rss:
        memory(args.rss_n)


if __name__ == "__main__":
    main()
