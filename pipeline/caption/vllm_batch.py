r"""Offline batch worker of the captioner: vLLM's ``LLM.chat`` over a file of requests.

Run by :class:`~eoinstruct.pipeline.caption.offline.OfflineEngine` with the interpreter of the
environment that has vLLM (``caption.launch.python``, e.g. ``.venv-vllm/bin/python``), so it
imports nothing of this project: only the standard library and vLLM::

    python vllm_batch.py --model DIR --served-model-name NAME --requests IN.jsonl \
        --replies OUT.jsonl [--engine-kwargs JSON] [--batch-size N]

Each line of ``IN.jsonl`` is one request: ``key``, ``messages`` (the chat messages the server
engine would send), ``sampling`` (the request body's other fields: ``temperature``,
``max_tokens``, ``seed``…; ``mm_processor_kwargs`` goes to ``LLM.chat``) and ``schema`` (the
reply's JSON schema, or null). Replies are appended to ``OUT.jsonl`` one line each (``key``,
``text``, ``finish_reason``, ``prompt_tokens``, ``completion_tokens``, ``served_model``,
``engine_version``), flushed after every batch of ``--batch-size`` requests, so the caller can
store them while the worker runs. Guided decoding is vLLM's ``StructuredOutputsParams(json=…,
disable_any_whitespace=True)``, as the server engine is run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def main(argv: list[str] | None = None) -> int:
    """Answer every request of ``--requests`` into ``--replies``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--served-model-name", required=True)
    parser.add_argument("--requests", required=True)
    parser.add_argument("--replies", required=True)
    parser.add_argument("--engine-kwargs", default="{}")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)

    import vllm  # type: ignore[import-not-found]
    from vllm import LLM, SamplingParams
    from vllm.sampling_params import StructuredOutputsParams  # type: ignore[import-not-found]

    with open(args.requests, encoding="utf-8") as handle:
        requests = [json.loads(line) for line in handle if line.strip()]
    llm = LLM(model=args.model, **json.loads(args.engine_kwargs))
    known = set(SamplingParams.__struct_fields__)  # a msgspec Struct
    with open(args.replies, "a", encoding="utf-8") as out:
        for batch in _batches(requests, max(1, args.batch_size)):
            params = []
            mm_kwargs = None
            for request in batch:
                sampling = dict(request["sampling"])
                mm_kwargs = sampling.pop("mm_processor_kwargs", None) or mm_kwargs
                unknown = sorted(set(sampling) - known)
                if unknown:
                    raise SystemExit(f"vllm_batch: request fields vLLM does not take: {unknown}")
                if request.get("schema") is not None:
                    sampling["structured_outputs"] = StructuredOutputsParams(
                        json=request["schema"], disable_any_whitespace=True
                    )
                params.append(SamplingParams(**sampling))
            outputs = llm.chat(
                [request["messages"] for request in batch],
                params,
                use_tqdm=False,
                mm_processor_kwargs=mm_kwargs,
            )
            for request, output in zip(batch, outputs, strict=True):
                completion = output.outputs[0]
                reply = {
                    "key": request["key"],
                    "text": completion.text,
                    "finish_reason": completion.finish_reason or "",
                    "prompt_tokens": len(output.prompt_token_ids or ()),
                    "completion_tokens": len(completion.token_ids),
                    "served_model": args.served_model_name,
                    "engine_version": str(vllm.__version__),
                }
                out.write(json.dumps(reply, ensure_ascii=False) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
