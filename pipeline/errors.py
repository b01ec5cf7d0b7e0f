"""The project's configuration error, in a module of its own so that every room can raise it.

``pipeline.settings`` and ``pipeline.config`` re-export it; rooms that check their own section
(the captioner's ``CaptionConfig``) import it from here, so the settings can call their checks
without an import circle.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """``params.yaml`` is missing a section or holds a bad value."""


class StageFailed(RuntimeError):
    """A stage ran but its result must not pass (too many failures, a dead server…).

    The message is one line saying what happened and what to do; its outputs are kept, so
    the next run resumes.
    """
