"""The files one partition's step writes, published together: :class:`PartitionOutputs`.

A step writes every output to a temporary path reserved by :meth:`PartitionOutputs.path`;
:meth:`PartitionOutputs.commit` then publishes them (hash, flush, rename) and writes the
partition's completion record (part of the stage's outputs) and its state record (the
fingerprint and the time taken, in the local state folder), in that order, so a record on disk
always stands for outputs on disk. In a run with deferred commits
(:mod:`eoinstruct.pipeline.run.commits`) the flush-rename-record tail is finished by the
process's committer thread instead. :mod:`eoinstruct.pipeline.run.partitions` runs steps over
partitions with these outputs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.io.atomic import (
    Published,
    hash_files,
    publish_many,
    rename_files,
    rename_transient,
    temporary_path,
    write_text_atomic,
)
from eoinstruct.pipeline.run import commits
from eoinstruct.pipeline.run.records import AUX_PREFIX, DONE_DIR, CompletionRecord, OutputEntry

log = logging.getLogger(__name__)

FAULT_ENV = "EOINSTRUCT_FAULT"
"""Fault injection for the crash-resume harness: ``<stage>:<partition>:<phase>`` makes the
process SIGKILL itself at that point (phases: ``step`` — outputs written, nothing published;
``publish`` — one output published; ``record`` — completion record written, state not)."""


@dataclass(frozen=True)
class Partition:
    """A unit of scheduled work.

    Attributes:
        name: Unique, filesystem-safe name, e.g. ``xbd-00000``; output files are named by it.
        source: Source adapter the partition's data comes from.
        items: What to process: source unit ids (ingest) or names of inputs.
        inputs: Files the outputs depend on; their content is part of the fingerprint.
        signature: Extra text that changes when the inputs change in ways file content
            hashing does not see (e.g. sizes and mtimes of raw source files).
    """

    name: str
    source: str
    items: tuple[str, ...] = ()
    inputs: tuple[Path, ...] = ()
    signature: str = ""


class PartitionOutputs:
    """The files one step writes for one partition, published together at the end.

    Args:
        stage_dir: The stage's output folder.
        partition: The partition being processed.
        records_dir: Folder of completion records (default ``<stage_dir>/_done``).
        state_dir: Folder of state records (default :func:`default_state_dir`).
        stage: Stage name (default: the stage folder's name).
    """

    def __init__(
        self,
        stage_dir: Path,
        partition: Partition,
        records_dir: Path | None = None,
        state_dir: Path | None = None,
        stage: str = "",
    ) -> None:
        self.stage = stage or stage_dir.name
        self.stage_dir = stage_dir
        self.partition = partition
        self.records_dir = records_dir or stage_dir / DONE_DIR
        self.state_dir = state_dir or default_state_dir(stage_dir)
        self.aux_dir = self.records_dir.parent
        self._pending: dict[Path, Path] = {}
        self._transient: set[Path] = set()
        self._digests: dict[Path, tuple[str, int]] = {}
        self._consumed: list[Path] = []

    def path(
        self,
        kind: str,
        suffix: str = ".parquet",
        stem: str | None = None,
        aux: bool = False,
        transient: bool = False,
    ) -> Path:
        """Reserve an output file and return the temporary path to write it to.

        Args:
            kind: Sub-folder of the stage folder (``samples``, ``failed``…).
            suffix: File extension including the dot.
            stem: File name without extension; defaults to the partition name.
            aux: Write under the folder that holds the records instead of the stage folder
                (for ledgers of a stage whose folder is published).
            transient: A hand-off cache for a later stage, not an output of this one: it
                becomes ``<stage_dir>/../_<kind>/<stem><suffix>`` (outside the stage folder,
                so no DVC out and no cleanup of this stage owns it), is published with the
                partition's files but not listed in its completion record (a later stage may
                delete it without making this partition stale). A transient file the step
                does not write is deleted on commit, so a stale one never outlives a redo.

        Returns:
            The temporary path; it becomes ``<stage_dir>/<kind>/<stem><suffix>`` on commit.
        """
        base = self.aux_dir if aux else self.stage_dir
        if transient:
            base, kind = self.stage_dir.parent, f"_{kind}"
        final = base / kind / f"{stem or self.partition.name}{suffix}"
        if final in self._pending:
            raise ValueError(f"output {final} reserved twice")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_path(final)
        self._pending[final] = tmp
        if transient:
            self._transient.add(final)
        return tmp

    def digest_of(self, tmp: Path, sha256: str, size: int) -> None:
        """Give the digest of a reserved file hashed while it was written (not re-read).

        Args:
            tmp: The temporary path :meth:`path` returned.
            sha256: SHA-256 of its complete bytes.
            size: Its size in bytes (checked against the file on commit).
        """
        self._digests[tmp] = (sha256, size)

    def consumed(self, path: Path) -> None:
        """Name a hand-off cache file this partition has read and no longer needs.

        It is deleted once the partition's records are written (by the committer thread of a
        run with deferred commits, off the steps' path): a kill before that leaves it for a
        redo, and a reader of such a cache falls back to its sources where it is absent.

        Args:
            path: The file (a missing one is skipped).
        """
        self._consumed.append(path)

    def abort(self) -> None:
        """Delete every temporary file written so far."""
        for tmp in self._pending.values():
            if tmp.exists():
                tmp.unlink()
        self._pending.clear()
        self._transient.clear()
        self._digests.clear()
        self._consumed.clear()

    def commit(self, stats: StageStats, fingerprint: str) -> CompletionRecord:
        """Publish all reserved files, then the completion record.

        Reserved files that the step did not create are skipped (a step may reserve a split
        it then finds empty).

        Args:
            stats: The partition's counts (checked: read = kept + dropped + failed).
            fingerprint: The partition fingerprint to record.

        Returns:
            The completion record written.
        """
        stats.check(f"{self.stage_dir.name}/{self.partition.name}")
        stage = self.stage
        _fault_point(stage, self.partition.name, "step")
        outputs: dict[str, OutputEntry] = {}
        written = [(tmp, final) for final, tmp in sorted(self._pending.items()) if tmp.exists()]
        for final in sorted(self._transient):
            if not self._pending[final].exists():
                final.unlink(missing_ok=True)  # no stale hand-off from an earlier run
        # a transient cache is renamed unhashed and unflushed (its reader verifies it)
        cache = [(tmp, final) for tmp, final in written if final in self._transient]
        durable = [(tmp, final) for tmp, final in written if final not in self._transient]
        background = commits.active()
        if background is None:  # one read per file (hash), one flush per partition
            published = publish_many(
                durable,
                lambda _: _fault_point(stage, self.partition.name, "publish"),
                known=self._digests,
                transient=cache,
            )
        else:  # hashed here; flushed, renamed and recorded by the run's committer thread
            published = hash_files(durable, self._digests)
        for done in published:
            key = _output_key(self.stage_dir, self.aux_dir, done.final)
            outputs[key] = {"sha256": done.sha256, "bytes": done.bytes}
        self._pending.clear()
        self._transient.clear()
        self._digests.clear()
        record: CompletionRecord = {
            "partition": self.partition.name,
            "source": self.partition.source,
            "outputs": outputs,
            "stats": stats.to_dict(with_seconds=False),
        }
        text = json.dumps(record, indent=1, sort_keys=True) + "\n"
        state = {"fingerprint": fingerprint, "seconds": round(stats.seconds, 3)}
        consumed, self._consumed = tuple(self._consumed), []
        if background is None:
            write_text_atomic(self.records_dir / f"{self.partition.name}.json", text)
            self._recorded(json.dumps(state), consumed)
        else:
            # with a hand-off cache in the partition, its durable files are flushed one by
            # one: a syncfs would write the cache to the disk as well
            background.submit(
                [tmp for tmp, _ in durable],
                functools.partial(
                    self._finish, durable, published, text, json.dumps(state), consumed, cache
                ),
                self.records_dir,
                one_by_one=bool(cache),
            )
        return record

    def _finish(
        self,
        files: list[tuple[Path, Path]],
        published: list[Published],
        text: str,
        state: str,
        consumed: tuple[Path, ...] = (),
        cache: list[tuple[Path, Path]] | None = None,
    ) -> None:
        """A deferred commit's tail, on the committer thread: rename, then the records.

        The hand-off cache files are renamed first, unflushed, as :func:`publish_many` does.
        The completion record is renamed into place unflushed (the run flushes it when it
        drains its commits); its outputs were flushed before it. The consumed hand-off files
        are deleted last.
        """
        fault = functools.partial(_fault_point, self.stage, self.partition.name, "publish")
        rename_transient(cache or [])
        rename_files(files, published, lambda _: fault())
        write_state_file(self.records_dir / f"{self.partition.name}.json", text)
        self._recorded(state, consumed)

    def _recorded(self, state: str, consumed: tuple[Path, ...] = ()) -> None:
        _fault_point(self.stage, self.partition.name, "record")
        write_state_file(self.state_dir / f"{self.partition.name}.json", state)
        for path in consumed:
            path.unlink(missing_ok=True)


Step = Callable[[Partition, PartitionOutputs], StageStats]


def _fault_point(stage: str, partition: str, phase: str) -> None:
    spec = os.environ.get(FAULT_ENV)
    if spec and spec == f"{stage}:{partition}:{phase}":
        log.warning("fault injection: killing the process at %s", spec)
        os.kill(os.getpid(), signal.SIGKILL)


def write_state_file(final: Path, text: str) -> None:
    """Write a state folder file (a state record, the timings) by rename, without a flush.

    The state folder is local bookkeeping like a cache: a record a power loss leaves absent,
    old or garbled reads as missing or stale (:func:`read_record`), and its partition is
    redone; so it is renamed into place (a kill leaves it old or complete) but not
    ``fsync``-ed, which the outputs and completion records are (one flush saved per
    partition).

    Args:
        final: The file.
        text: Its content (UTF-8).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def default_state_dir(stage_dir: Path) -> Path:
    """Return the state folder of a stage: ``_state/<stage folder name>`` beside it."""
    return stage_dir.parent / "_state" / stage_dir.name


def _output_key(stage_dir: Path, aux_dir: Path, path: Path) -> str:
    if path.is_relative_to(stage_dir):
        return path.relative_to(stage_dir).as_posix()
    return AUX_PREFIX + path.relative_to(aux_dir).as_posix()
