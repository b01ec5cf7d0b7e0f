"""The VLM captioner: instruction pairs from an image and its tags, asked of a served model.

The captioner is a client of an OpenAI-compatible chat-completions server (vLLM, LMDeploy's
``api_server`` or a hosted endpoint); which engine and model is configuration (``params.yaml``
section ``caption``, read by
:meth:`~eoinstruct.pipeline.caption.config.CaptionConfig.from_mapping`). Per
sample it sends

- the RGB rendering of the sample's first displayable image
(:func:`eoinstruct.pipeline.io.render.render_png`:
  8-bit files unchanged, reflectance/SAR/thermal data with the fixed stretches documented
  there) as a base64 ``image_url`` part, and
- a prompt built from the sample's sensor, GSD, tags, classes, objects and label properties
  with a template of ``templates/captioner/prompts.yaml``
  (:func:`~eoinstruct.pipeline.caption.prompts.load_prompts`),

and turns the reply into one :class:`~eoinstruct.pipeline.records.InstructionPair` in EarthDial form
(first human turn ``<task tag> <sensor tag> <image>``, a newline and the question).

Modules, each importing only those above it:

- :mod:`~eoinstruct.pipeline.caption.config`: the ``caption`` settings (and ``caption.launch``);
- :mod:`~eoinstruct.pipeline.caption.cache`: replies and the request cache, by cache key;
- :mod:`~eoinstruct.pipeline.caption.prompts`: prompt templates and the request of a sample;
- :mod:`~eoinstruct.pipeline.caption.client`: the asynchronous client (concurrency, retries);
- :mod:`~eoinstruct.pipeline.caption.replies`: reply parsing, the checks against the tags, the pair;
- :mod:`~eoinstruct.pipeline.caption.server`: starting and stopping a server (``launch``).
"""
