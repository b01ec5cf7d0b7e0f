"""Which download spec a source has: found through the source registry, and manual steps.

:func:`download_specs` and :func:`get_spec` read ``SPEC`` of each registered source's
``sources/<name>/download.py`` (through :mod:`eoinstruct.sources.registry`, so a source with a
``download.py`` needs no other listing); :func:`manual_step` words the instructions for a
source that must be fetched by hand. Kept apart from :mod:`~eoinstruct.sources.download.spec`,
which the registry names for its types, so that no import circle joins the two.
"""

from __future__ import annotations

from pathlib import Path

from eoinstruct.sources import registry
from eoinstruct.sources.download.spec import DownloadSpec, human_size


def download_specs() -> dict[str, DownloadSpec]:
    """Return the download spec of every registered source that has one, by source name.

    Returns:
        ``SPEC`` of each source's ``download.py``, found through the source registry.
    """
    specs = {name: registry.download_spec(name) for name in registry.source_names()}
    return {name: spec for name, spec in specs.items() if spec is not None}


def get_spec(name: str) -> DownloadSpec:
    """Return the download spec of a source.

    Args:
        name: Source name or alias (``reben``, ``satlaspretrain``, ``xview2``).

    Returns:
        The spec.

    Raises:
        ValueError: If no source has that name.
    """
    if name in registry.source_names():
        spec = registry.download_spec(name)
        if spec is not None:
            return spec
    specs = download_specs()
    aliases = {alias: spec.name for spec in specs.values() for alias in spec.aliases}
    key = aliases.get(name, name)
    if key not in specs:
        raise ValueError(f"unknown source {name!r}; known sources: {', '.join(sorted(specs))}")
    return specs[key]


def manual_step(name: str, root: Path | str | None = None) -> str | None:
    """Return the instructions for a source that must be fetched by hand, else None.

    Args:
        name: Source name.
        root: The target folder to name in the text (a placeholder when None).

    Returns:
        The instructions, listing the expected files and the layout they extract to.
    """
    spec = get_spec(name)
    if spec.manual is None:
        return None
    lines = []
    for f in spec.files:
        facts = []
        if f.approx_size:
            facts.append(f"~{human_size(f.approx_size)}")
        if f.checksum:
            facts.append(f"{f.checksum[0]} {f.checksum[1]}")
        if not f.default:
            facts.append("optional")
        lines.append(f"       {f.name:<40} {', '.join(facts)}")
    return spec.manual.format(
        root=str(root) if root is not None else "<root>", files="\n".join(lines)
    )
