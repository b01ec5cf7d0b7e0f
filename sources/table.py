"""The table of all sources, generated from their declared facts (``sources/<name>/facts.py``).

``eoinstruct sources`` prints it; ``eoinstruct sources --update-readme README.md`` rewrites the
part of the README between :data:`START` and :data:`END`, and a test checks that the README
is current.
"""

from __future__ import annotations

import re
from pathlib import Path

from eoinstruct.sources.registry import facts, source_names

START = "<!-- sources-table:start -->"
END = "<!-- sources-table:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sources_markdown() -> str:
    """Return the Markdown table of every registered source.

    Returns:
        The table, one row per registered source, sorted by source name.
    """
    header = ("source", "dataset", "modality", "sensors", "bands", "GSD", "time", "tasks")
    header += ("licence", "citation")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in source_names():
        info = facts(name)
        bands = ", ".join(b.name for b in info.bands)
        cells = [
            f"`{name}`",
            f"[{info.title}]({info.homepage})",
            ", ".join(info.modalities),
            "; ".join(info.sensors),
            bands,
            info.gsd,
            info.temporal,
            "; ".join(info.tasks),
            info.licence,
            info.citation,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def update_readme(path: Path) -> bool:
    """Replace the sources table in a README between the markers.

    Args:
        path: The README.

    Returns:
        Whether the file changed.

    Raises:
        ValueError: If the markers are missing.
    """
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{path} has no {START} … {END} markers")
    new = pattern.sub(lambda _: f"{START}\n{sources_markdown()}{END}", text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
