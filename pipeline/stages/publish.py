"""Stage ``publish``: upload the corpus to the Hugging Face Hub (``pipeline/corpus/publish.py``).

``eoinstruct publish --repo-id ORG/NAME [--revision BRANCH] [--dry-run]``; the repository can
also come from ``publish.repo_id`` in ``params.yaml``. The token is never a parameter: it
comes from ``HF_TOKEN`` or ``hf auth login``.
"""

from __future__ import annotations

from eoinstruct.pipeline.config import ConfigError, Params
from eoinstruct.pipeline.corpus.publish import PublishResult, publish


def run(
    params: Params,
    repo_id: str | None = None,
    *,
    progress: bool = True,
    dry_run: bool = False,
    revision: str | None = None,
) -> PublishResult:
    """Publish ``paths.corpus``.

    Args:
        params: Parameters (``paths.corpus``; optional section ``publish`` with ``repo_id``,
            ``revision``, ``private``).
        repo_id: Overrides ``publish.repo_id``.
        dry_run: Only print what would be uploaded.
        revision: Overrides ``publish.revision``.
        progress: Unused; accepted like every stage.

    Returns:
        What was uploaded and its verification.

    Raises:
        ConfigError: If no repository is given.
    """
    options = params.settings.publish
    repo = repo_id or options.repo_id
    if not repo:
        raise ConfigError("no repository: pass --repo-id ORG/NAME or set publish.repo_id")
    return publish(
        params.path_of("corpus"),
        str(repo),
        dry_run=dry_run,
        revision=revision or options.revision,
        private=options.private,
    )
