"""The measurements behind the Libraries table of ``docs/architecture.md``.

Where a maintained library could replace a part of eoinstruct, this measures whether it gives
the same outputs (or the same behaviour), on the sample build (``dvc repro`` first)::

    python -m benchmarks.libraries [--corpus data/corpus] [--work data/work]

1. **tar**: every WebDataset tar of the built corpus is written again from its members with
   ``webdataset.TarWriter`` (as :mod:`eoinstruct.pipeline.io.webdataset` does) and with the
   ``tarfile`` writer it replaced; both must give the corpus's bytes.
2. **phash**: ``imagehash.phash`` (when installed; ``pip install imagehash``) against
   :func:`eoinstruct.pipeline.quality.dedup.perceptual_hash` on the RGB renderings of every
   sample the build scored: differing hashes, and the near-duplicate pairs (within the
   ``dedup`` section's ``near_max_distance``) each finds.
3. **resume**: a file whose connection drops after 100 kB, six times in a row, fetched by
   ``huggingface_hub.hf_hub_download`` (from a local server that answers like the Hub) and by
   :func:`eoinstruct.sources.download.download_file`: the bytes each requests in all, and what
   a second run finds on disk.

It prints one line per measurement and exits 0; nothing it writes is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import os
import random
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def _members(path: Path) -> list[tuple[str, dict[str, bytes]]]:
    """Return a tar's samples: (key, extension → bytes), in order."""
    samples: list[tuple[str, dict[str, bytes]]] = []
    with tarfile.open(path) as tar:
        for member in tar:
            key, ext = member.name.split(".", 1)
            handle = tar.extractfile(member)
            assert handle is not None
            if not samples or samples[-1][0] != key:
                samples.append((key, {}))
            samples[-1][1][ext] = handle.read()
    return samples


def _tarfile_writer(samples: list[tuple[str, dict[str, bytes]]]) -> bytes:
    """The hand-written writer that ``webdataset.TarWriter`` replaced."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, members in samples:
            for ext in sorted(members):
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(members[ext])
                info.mtime, info.mode, info.uid, info.gid = 0, 0o644, 0, 0
                info.uname = info.gname = "root"
                tar.addfile(info, io.BytesIO(members[ext]))
    return buf.getvalue()


def _webdataset_writer(samples: list[tuple[str, dict[str, bytes]]]) -> bytes:
    import webdataset

    buf = io.BytesIO()
    writer = webdataset.TarWriter(
        buf, user="root", group="root", mode=0o644, mtime=0, encoder=False
    )
    for key, members in samples:
        writer.write({"__key__": key, **members})
    writer.close()
    return buf.getvalue()


def measure_tar(corpus: Path) -> str:
    """Compare both writers with the corpus's tars."""
    tars = sorted(corpus.rglob("*.tar"))
    same_wds = same_tarfile = 0
    for path in tars:
        data = path.read_bytes()
        samples = _members(path)
        same_wds += _webdataset_writer(samples) == data
        same_tarfile += _tarfile_writer(samples) == data
    return (
        f"tar: {len(tars)} shards; byte-identical: webdataset.TarWriter {same_wds}, "
        f"tarfile writer {same_tarfile}"
    )


def _near_pairs(hashes: list[int], distance: int) -> set[tuple[int, int]]:
    return {
        (i, j)
        for (i, a), (j, b) in itertools.combinations(enumerate(hashes), 2)
        if (a ^ b).bit_count() <= distance
    }


def measure_phash(work: Path) -> str:
    """Compare imagehash's pHash with ours on the scored samples' renderings."""
    try:
        import imagehash
    except ImportError:
        return "phash: imagehash is not installed (pip install imagehash); not measured"
    from PIL import Image

    from eoinstruct.pipeline.io.parquet import iter_samples
    from eoinstruct.pipeline.io.rasters import RasterReadError
    from eoinstruct.pipeline.io.render import render_rgb
    from eoinstruct.pipeline.quality.dedup import perceptual_hash

    ours: list[int] = []
    theirs: list[int] = []
    for path in sorted((work / "enrich" / "samples").glob("*.parquet")):
        for sample in iter_samples(path):
            for image in sample.images:
                try:
                    rgb = render_rgb(image)
                except (RasterReadError, ValueError):
                    continue
                ours.append(perceptual_hash(rgb))
                pil = Image.fromarray(np.ascontiguousarray(np.moveaxis(rgb, 0, -1)))
                theirs.append(int(str(imagehash.phash(pil)), 16))
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    distance = int(params["dedup"]["near_max_distance"])
    bits = [(a ^ b).bit_count() for a, b in zip(ours, theirs, strict=True)]
    differ = sum(1 for b in bits if b)
    pairs_ours, pairs_theirs = _near_pairs(ours, distance), _near_pairs(theirs, distance)
    return (
        f"phash: {len(ours)} images; imagehash.phash differs on {differ} "
        f"(mean {np.mean(bits):.2f} bits, max {max(bits, default=0)}); near-duplicate pairs "
        f"within {distance} bits: ours {len(pairs_ours)}, imagehash {len(pairs_theirs)}, "
        f"in common {len(pairs_ours & pairs_theirs)}"
    )


def measure_resume() -> str:
    """Fetch a file whose connection keeps dropping with both downloaders."""
    sys.path.insert(0, str(REPO / "tests"))
    from http_fixtures import FileServer

    from eoinstruct.sources.download import DownloadError, download_file

    data = random.Random(0).randbytes(300_000)
    digest = hashlib.sha256(data).hexdigest()
    revision = "0" * 40
    path = f"/datasets/owner/name/resolve/{revision}/big.bin"
    server = FileServer()
    handler: Any = server._httpd.RequestHandlerClass

    class HubHandler(handler):  # type: ignore[misc, valid-type]
        def do_HEAD(self) -> None:  # the metadata the Hub answers a HEAD with
            self.send_response(200)
            self.send_header("X-Repo-Commit", revision)
            self.send_header("ETag", f'"{digest}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()

    server._httpd.RequestHandlerClass = HubHandler
    server.start()
    out: list[str] = []
    try:
        server.add(path, data)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.pop("HF_HUB_OFFLINE", None)
            from huggingface_hub import constants, hf_hub_download

            constants.HF_HUB_OFFLINE = False
            target = Path(tmp) / "hf"
            sent: list[int] = []
            for run in (1, 2):
                server.drop_after[path] = [100_000] * 6 if run == 1 else []
                before = len(server.seen(path))
                try:
                    hf_hub_download(
                        "owner/name",
                        "big.bin",
                        repo_type="dataset",
                        revision=revision,
                        local_dir=target,
                        endpoint=server.base_url,
                    )
                except Exception:
                    pass
                sent.append(sum(s.sent for s in server.seen(path)[before:]))
                if run == 1:
                    kept = sum(
                        p.stat().st_size
                        for p in target.rglob("*")
                        if p.is_file() and ".cache" not in p.parts
                    )
            out.append(
                f"hf_hub_download (its 5 retries) sent {sent[0]} bytes in run 1 (failed), "
                f"kept {kept}, sent {sent[1]} in run 2"
            )
            for retries in (5, 0):
                target = Path(tmp) / f"ours{retries}" / "big.bin"
                sent = []
                for run in (1, 2):
                    server.drop_after[path] = [100_000] * 6 if run == 1 else []
                    before = len(server.seen(path))
                    try:
                        download_file(
                            server.url(path),
                            target,
                            checksum=("sha256", digest),
                            progress=False,
                            retries=retries,
                            backoff=0,
                        )
                    except DownloadError:
                        pass
                    sent.append(sum(s.sent for s in server.seen(path)[before:]))
                    if run == 1:
                        part = target.with_name("big.bin.part")
                        kept = part.stat().st_size if part.exists() else 0
                        done = target.exists()
                out.append(
                    f"download_file (retries={retries}) sent {sent[0]} bytes in run 1 "
                    f"({'complete' if done else 'failed'}), kept {kept} in .part, "
                    f"sent {sent[1]} in run 2"
                )
    finally:
        server.stop()
    return "resume: " + "; ".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus")
    parser.add_argument("--work", type=Path, default=REPO / "data" / "work")
    args = parser.parse_args(argv)
    print(measure_tar(args.corpus))
    print(measure_phash(args.work))
    print(measure_resume())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
