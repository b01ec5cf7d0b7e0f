"""Stage ``caption``: free-form instruction pairs from a vision-language model.

For every kept sample of a source marked for captioning (``caption.sources``) the captioner
(``pipeline/caption/``) draws a prompt template of the configured mix (detailed description,
short caption, QA, region description), sends the sample's RGB rendering and the template's
prompt (the facts of its tags that the image can show) to an OpenAI-compatible server and
turns the reply into one multi-turn pair. Outputs per
partition (the filter stage's partitions, same names): ``pairs/<partition>.parquet``
(:data:`~eoinstruct.pipeline.records.PAIR_SCHEMA`), ``dropped/<partition>.parquet`` (replies that
are
empty, refusals, garbled or contradict the tags, with the reason and detail) and
``failed/<partition>.parquet`` (requests that failed after their retries, images that could
not be rendered, unexpected errors).

Accounting is per sample marked for captioning: read = kept (one pair) + dropped + failed.
Samples of other sources (all samples, when disabled) are not read; their number is in
``produced["not_marked"]``. With
``caption.enabled: false`` (the default) every partition gets empty outputs, so the DVC graph
is the same either way.

Requests stream across partitions (``pipeline/caption/stream.py``): one window of
``caption.concurrency`` requests stays full from the first partition to the last, bodies are
built just in time, and the partitions are written in order, each when its last sample is in.
Replies are cached as they arrive (``pipeline/caption/cache.py``) while a partition's files are
published only when it completes: a killed run leaves no half-written output, and its restart
re-asks nothing already answered. The stage always runs in this process (the work is the
server's; a Dask executor setting does not apply to it).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.facts import POLICY_FILE
from eoinstruct.pipeline.caption.prompts import PromptBook, load_prompt_book, template_budget
from eoinstruct.pipeline.caption.replies import GENERATOR_VERSION
from eoinstruct.pipeline.config import ConfigError, Params, load_params
from eoinstruct.pipeline.errors import StageFailed
from eoinstruct.pipeline.io.parquet import (
    Drop,
    Failure,
    write_drops,
    write_failures,
    write_table,
)
from eoinstruct.pipeline.records import InstructionPair, Sample, pairs_table
from eoinstruct.pipeline.run.backends import enclosing_executor
from eoinstruct.pipeline.run.partitions import (
    DONE_DIR,
    UNFINISHED,
    Partition,
    PartitionOutputs,
    partition_fingerprint,
    partitions_from,
    read_record,
    record_is_current,
    run_partitions,
)

if TYPE_CHECKING:
    # captioning only: the client (asyncio, tenacity), the stream, the server, the offline
    # engine and the pair checks (the instruction builders) are imported when enabled, so the
    # default build's caption stage (disabled: empty outputs) starts without them
    from eoinstruct.pipeline.caption.cache import Reply
    from eoinstruct.pipeline.caption.client import CircuitBreaker
    from eoinstruct.pipeline.caption.prompts import CaptionRequest, PromptTemplate
    from eoinstruct.pipeline.caption.stream import CaptionStream, PartitionOutcomes

log = logging.getLogger(__name__)

STAGE = "caption"
BOX_SCALE = 100
"""Upper bound of box coordinates for the validator (captions carry no boxes)."""


def caption_config(params: Params) -> CaptionConfig:
    """Read the ``caption`` section (all defaults, i.e. disabled, when it is absent)."""
    section = params.raw.get("caption")
    if section is None:
        return CaptionConfig()
    if not isinstance(section, dict):
        raise ConfigError(f"{params.path}: section 'caption' is not a mapping")
    return CaptionConfig.from_mapping(section)


def caption_partition(
    partition: Partition,
    outputs: PartitionOutputs,
    config: CaptionConfig,
    book: PromptBook,
    breaker: CircuitBreaker | None = None,
    stream: CaptionStream | None = None,
) -> StageStats:
    """Caption the marked samples of one partition.

    Args:
        partition: The partition (input: the dedup stage's kept samples).
        outputs: Where to write.
        config: Captioner settings.
        book: The prompt templates and mixes (``config.prompt_template`` names one of them).
        breaker: The run's circuit breaker; once open, the marked samples fail at once as
            ``server_unavailable`` (nothing rendered, nothing sent).
        stream: The run's request stream: the partition's replies are collected from it
            (asked while earlier partitions finished); without one, or for a partition it
            does not plan, the partition's requests are built and asked here.

    Returns:
        Counts per sample; ``produced`` has pairs, turns, pairs per template, requests,
        cache hits, retries and the completion tokens of the replies, and ``unfinished``
        (samples whose request failed: the partition is redone by the next run, the
        answered requests coming from the cache).
    """
    stats = StageStats()
    if not config.enabled:
        # counted from the file's footer: no row is decoded when nothing is captioned
        stats.produced["not_marked"] = pq.ParquetFile(partition.inputs[0]).metadata.num_rows
        for key in ("requests", "cache_hits", "retries", "pairs"):
            stats.produced[key] += 0  # the same record as a captioning run with nothing asked
        _write_outputs(partition, outputs, [], [], [])
        return stats
    from eoinstruct.pipeline.caption.client import CircuitBreaker, RequestFailure

    breaker = breaker if breaker is not None else CircuitBreaker(config.circuit_breaker)
    collected = stream.collect(partition) if stream is not None else None
    found = collected or _ask_here(partition, config, book, breaker)
    stats.produced["not_marked"] += found.not_marked
    pairs: list[InstructionPair] = []
    drops: list[Drop] = []
    failures: list[Failure] = []
    counters = found.counters
    stats.produced["requests"] += counters.attempts
    stats.produced["cache_hits"] += counters.cache_hits
    stats.produced["retries"] += counters.retries
    for outcome in found.outcomes:
        stats.read += 1
        sample, result = outcome.sample, outcome.result
        if isinstance(result, Failure):
            failures.append(result)
            stats.fail(result.kind)
            if result.kind == "server_unavailable":
                stats.produced[UNFINISHED] += 1
            continue
        if isinstance(result, RequestFailure):
            failures.append(
                Failure(
                    sample.sample_id,
                    result.kind,
                    f"{result.message} (after {result.attempts} attempts)",
                )
            )
            stats.fail(result.kind)
            stats.produced[UNFINISHED] += 1
            continue
        assert outcome.request is not None
        if result.completion_tokens >= 0:
            stats.produced["completion_tokens"] += result.completion_tokens
        _turn_into_pair(
            sample, outcome.request, result, config, outcome.template, stats, pairs, drops, failures
        )
    stats.produced["pairs"] = len(pairs)
    _write_outputs(partition, outputs, pairs, drops, failures)
    return stats


def _write_outputs(
    partition: Partition,
    outputs: PartitionOutputs,
    pairs: list[InstructionPair],
    drops: list[Drop],
    failures: list[Failure],
) -> None:
    """Write a partition's pairs, drops and failures (each file, empty or not)."""
    write_table(outputs.path("pairs"), pairs_table(pairs))
    write_drops(outputs.path("dropped"), STAGE, partition.name, partition.source, drops)
    write_failures(outputs.path("failed"), STAGE, partition.name, partition.source, failures)


def _ask_here(
    partition: Partition, config: CaptionConfig, book: PromptBook, breaker: CircuitBreaker
) -> PartitionOutcomes:
    """Build and ask one partition's requests at once (the offline engine's batches)."""
    from eoinstruct.pipeline.caption.cache import RequestCache
    from eoinstruct.pipeline.caption.client import CaptionClient
    from eoinstruct.pipeline.caption.facts import load_policy
    from eoinstruct.pipeline.caption.offline import OfflineEngine
    from eoinstruct.pipeline.caption.stream import Outcome, PartitionOutcomes, prepare, read_marked

    found = PartitionOutcomes()
    marked, found.not_marked = read_marked(partition, config)
    policy = load_policy(config.tag_policy_file)
    cache = RequestCache(config.cache_dir)
    slots: list[Outcome | None] = [None] * len(marked)
    todo: list[tuple[int, Sample, PromptTemplate, CaptionRequest]] = []
    for position, sample in enumerate(marked):
        template = book.choose(config.prompt_template, config.seed, sample.sample_id)
        if breaker.open:
            failure = Failure(sample.sample_id, "server_unavailable", f"not sent: {breaker.reason}")
            slots[position] = Outcome(sample, template, None, failure)
            continue
        request, known = prepare(sample, template, config, policy, None)
        if request is None:
            assert isinstance(known, Failure)
            slots[position] = Outcome(sample, template, None, known)
        else:
            todo.append((position, sample, template, request))
    if todo:
        client = (
            OfflineEngine(config, cache)
            if config.engine == "vllm_offline"
            else CaptionClient(config, cache, breaker)
        )
        results = client.fetch_sync([request for _, _, _, request in todo])
        found.counters = client.counters
        for position, sample, template, request in todo:
            slots[position] = Outcome(sample, template, request, results[request.key])
    found.outcomes = [o for o in slots if o is not None]
    return found


def _turn_into_pair(
    sample: Sample,
    request: CaptionRequest,
    reply: Reply,
    config: CaptionConfig,
    template: PromptTemplate,
    stats: StageStats,
    pairs: list[InstructionPair],
    drops: list[Drop],
    failures: list[Failure],
) -> None:
    from eoinstruct.pipeline.caption.replies import ReplyRejected, make_pair
    from eoinstruct.pipeline.instructions.pairs import Candidate
    from eoinstruct.pipeline.instructions.validate import validate_pair

    try:
        pair, expected = make_pair(sample, template, config, request, reply)
    except ReplyRejected as exc:
        drops.append(Drop(sample.sample_id, (exc.reason,), exc.detail[:500]))
        stats.drop(exc.reason)
        return
    except Exception as exc:  # a parser bug must not lose the run
        log.exception("caption: unexpected error on %s", sample.sample_id)
        failures.append(
            Failure(sample.sample_id, "unexpected_error", f"{type(exc).__name__}: {exc}")
        )
        stats.fail("unexpected_error")
        return
    problems = validate_pair(Candidate(pair, expected), sample, BOX_SCALE)
    if problems:
        drops.append(Drop(sample.sample_id, ("invalid_pair", *problems)))
        stats.drop("invalid_pair")
        return
    pairs.append(pair)
    stats.kept += 1
    stats.produced[f"turns:{len(pair.turns)}"] += 1
    stats.produced[f"template:{template.id}"] += 1


@contextlib.contextmanager
def serving(config: CaptionConfig) -> Iterator[CaptionConfig]:
    """Start the configured server for the duration of a block, if ``launch`` is set.

    Args:
        config: Captioner settings.

    Yields:
        The settings to use: with the started server's URL as the only ``base_urls`` when
        the stage launched one, else unchanged.
    """
    if not config.enabled or config.launch is None or config.engine == "vllm_offline":
        yield config
        return
    from eoinstruct.pipeline.caption.server import ServerProcess

    with ServerProcess(config) as server:
        yield dataclasses.replace(config, base_urls=(server.base_url,))


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the caption stage.

    Args:
        params: Parameters (section ``caption``; absent means disabled).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    config = caption_config(params)
    book = load_prompt_book(config.prompts_file)
    templates = {t.id: t for t in book.selection(config.prompt_template)}
    for template in templates.values():
        template_budget(template, config)  # raises when max_tokens cannot hold the reply
    policy_file = Path(config.tag_policy_file) if config.tag_policy_file else POLICY_FILE
    fingerprint_config = {
        "caption": config.output_params(),
        "generator_version": GENERATOR_VERSION,
        "templates": {i: dataclasses.asdict(t) for i, t in sorted(templates.items())},
        "mix": [t.id for t in book.selection(config.prompt_template)],
        "tag_policy": policy_file.read_text(encoding="utf-8"),
    }
    partitions = partitions_from([(params.work_dir("dedup"), "kept")])
    breaker = None
    if config.enabled:
        from eoinstruct.pipeline.caption.client import CircuitBreaker

        breaker = CircuitBreaker(config.circuit_breaker)
    with (
        serving(config) as live,
        _stream(live, params, book, partitions, fingerprint_config, breaker) as stream,
    ):
        step = functools.partial(
            caption_partition, config=live, book=book, breaker=breaker, stream=stream
        )
        # captioning: in this process, in order (the stream's thread feeds the partitions
        # ahead); disabled, a partition only counts its samples: on the run's executor
        # (``eoinstruct all``), never on a cluster started for so little
        stats = run_partitions(
            STAGE,
            params.work_dir(STAGE),
            partitions,
            step,
            fingerprint_config,
            progress=progress,
            state_dir=params.state_dir(STAGE),
            executor=None if live.enabled else enclosing_executor(),
        )
    check_failures(stats, config, breaker)
    return stats


@contextlib.contextmanager
def _stream(
    config: CaptionConfig,
    params: Params,
    book: PromptBook,
    partitions: list[Partition],
    fingerprint_config: Mapping[str, Any],
    breaker: CircuitBreaker | None,
) -> Iterator[CaptionStream | None]:
    """Yield the run's request stream over the partitions still to do.

    None when disabled or offline (the offline engine batches per partition).
    """
    if not config.enabled or config.engine == "vllm_offline" or breaker is None:
        yield None
        return
    from eoinstruct.pipeline.caption.cache import RequestCache
    from eoinstruct.pipeline.caption.facts import load_policy
    from eoinstruct.pipeline.caption.stream import CaptionStream

    stage_dir = params.work_dir(STAGE)
    records, states = stage_dir / DONE_DIR, params.state_dir(STAGE)
    plan = [
        p
        for p in partitions
        if not record_is_current(
            stage_dir,
            records,
            read_record(records, p.name),
            read_record(states, p.name),
            partition_fingerprint(STAGE, fingerprint_config, p),
        )
    ]
    cache = RequestCache(config.cache_dir)
    policy = load_policy(config.tag_policy_file)
    with CaptionStream(config, book, policy, cache, breaker, plan) as stream:
        yield stream


def check_failures(
    stats: StageStats, config: CaptionConfig, breaker: CircuitBreaker | None
) -> None:
    """Fail the run when the server is down or too many samples failed.

    Args:
        stats: The run's counts.
        config: Captioner settings (``max_failure_rate``).
        breaker: The run's circuit breaker (None when captioning is disabled).

    Raises:
        StageFailed: With one line saying what to do; the outputs are kept and the failed
            samples are asked again by the next run.
    """
    where = ", ".join(config.base_urls) or "the launched server"
    if breaker is not None and breaker.open:
        raise StageFailed(
            f"the captioner server ({where}) is not answering ({breaker.reason}); "
            f"start it or fix caption.base_urls, then re-run: answered samples are cached, "
            f"the {stats.produced[UNFINISHED]} others are asked again"
        )
    unfinished = stats.produced[UNFINISHED]
    if stats.read and unfinished / stats.read > config.max_failure_rate:
        raise StageFailed(
            f"{unfinished} of {stats.read} captioned samples failed "
            f"({dict(stats.failed)}), above caption.max_failure_rate "
            f"{config.max_failure_rate}; see {STAGE}'s failed/*.parquet, then re-run: "
            "the failed samples are asked again"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the stage from the command line: ``python -m pipeline.stages.caption --params P``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status 0.
    """
    parser = argparse.ArgumentParser(description="Run the caption stage.")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stats = run(load_params(args.params), progress=not args.no_progress)
    print(f"caption: {stats.to_dict(with_seconds=False)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
