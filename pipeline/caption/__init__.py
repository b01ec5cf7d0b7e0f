"""The VLM captioner: instruction pairs from an image and its tags, asked of a served model.

The captioner is a client of an OpenAI-compatible chat-completions server (vLLM, LMDeploy's
``api_server`` or a hosted endpoint); which engine and model is configuration (``params.yaml``
section ``caption``, read by
:meth:`~eoinstruct.pipeline.caption.config.CaptionConfig.from_mapping`). Per sample it draws a
prompt template of the configured mix (detailed description, short caption, QA, region
description; ``templates/captioner/prompts.yaml``) and sends

- the template's constant instruction as the system message (prefix-cacheable), then
- the RGB rendering of the sample's captioned image
  (:func:`eoinstruct.pipeline.io.render.render_png`) as a base64 ``image_url`` part and the
  facts of the sample that the image can show (``templates/captioner/tag_policy.yaml``: visible
  classes as readable phrases, labelled objects, conditions; never identifiers, dates, imagery
  sources or the source's own captions),

with a reply schema sized to close inside ``max_tokens``, and turns the reply into one
:class:`~eoinstruct.pipeline.records.InstructionPair` in EarthDial form (first human turn
``<task tag> <sensor tag> <image>``, a newline and the question) carrying the server's own
provenance (served model, ``system_fingerprint``, token usage, engine version).

Modules, each importing only those above it:

- :mod:`~eoinstruct.pipeline.caption.config`: the ``caption`` settings (and ``caption.launch``),
  pinned revisions;
- :mod:`~eoinstruct.pipeline.caption.cache`: replies and the request cache, by cache key;
- :mod:`~eoinstruct.pipeline.caption.schema`: the reply schema and its character budget;
- :mod:`~eoinstruct.pipeline.caption.facts`: the tag policy and the facts of a sample;
- :mod:`~eoinstruct.pipeline.caption.prompts`: prompt templates, mixes and the request of a sample;
- :mod:`~eoinstruct.pipeline.caption.client`: the asynchronous client (concurrency, retries);
- :mod:`~eoinstruct.pipeline.caption.offline`: the offline batch engine (``engine:
  vllm_offline``), which runs :mod:`~eoinstruct.pipeline.caption.vllm_batch` (vLLM's
  ``LLM.chat``; standard library and vLLM only) with the vLLM environment's interpreter;
- :mod:`~eoinstruct.pipeline.caption.checks`: checks of a reply against the sample's labels;
- :mod:`~eoinstruct.pipeline.caption.replies`: reply parsing and the pair;
- :mod:`~eoinstruct.pipeline.caption.server`: starting and stopping a server (``launch``).
"""
