"""Instruction templates, as data: one YAML file per task family in this folder.

Each file holds ``family`` and a list of ``templates``; a template names the ``builder`` that
computes its values from a sample's labels (see :mod:`pipeline.tasks`), the ``sources`` it
applies to, its EarthDial ``task_tag``, the image roles it shows (``images``; default: all
of the sample's images, or as the builder decides) and several ``paraphrases``, each a
``question`` and an ``answer`` format string. A multi-turn template instead lists the ids of
other templates in ``chain``: its dialogue asks their questions in turn about one sample.
:func:`load_templates` validates all of it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent


class TemplateError(ValueError):
    """A template file is malformed."""


@dataclass(frozen=True)
class Paraphrase:
    """One wording of a template: a question and an answer format string."""

    question: str
    answer: str

    def fields(self) -> set[str]:
        """Return the placeholder names used by the question and the answer."""
        names: set[str] = set()
        for text in (self.question, self.answer):
            names.update(f for _, f, _, _ in string.Formatter().parse(text) if f)
        return names


@dataclass(frozen=True)
class Template:
    """An instruction template (see the module docstring for the fields)."""

    id: str
    family: str
    task: str
    builder: str
    sources: tuple[str, ...]
    task_tag: str
    images: tuple[str, ...]
    paraphrases: tuple[Paraphrase, ...]
    file: str
    chain: tuple[Template, ...] = ()


def _require(entry: dict[str, object], key: str, where: str) -> object:
    if key not in entry or entry[key] in (None, "", []):
        raise TemplateError(f"{where}: missing {key!r}")
    return entry[key]


def load_templates(folder: Path = TEMPLATE_DIR) -> list[Template]:
    """Load and validate every ``*.yaml`` template file in a folder.

    Args:
        folder: The folder (default: this package).

    Returns:
        The templates, sorted by id.

    Raises:
        TemplateError: If a file is malformed or two templates share an id.
    """
    templates: dict[str, Template] = {}
    chains: list[tuple[dict[str, object], str, str, str]] = []
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise TemplateError(f"no template files in {folder}")
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise TemplateError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("templates"), list):
            raise TemplateError(f"{path.name}: expected 'family' and a list 'templates'")
        family = str(_require(doc, "family", path.name))
        for entry in doc["templates"]:
            where = f"{path.name}:{entry.get('id', '?')}"
            if entry.get("chain"):
                chains.append((entry, family, path.name, where))
                continue
            paraphrases = _require(entry, "paraphrases", where)
            assert isinstance(paraphrases, list)
            parsed = []
            for i, p in enumerate(paraphrases):
                if not isinstance(p, dict) or not p.get("question") or not p.get("answer"):
                    raise TemplateError(f"{where}: paraphrase {i} needs a question and an answer")
                parsed.append(Paraphrase(str(p["question"]), str(p["answer"])))
            template = Template(
                id=str(_require(entry, "id", where)),
                family=family,
                task=str(_require(entry, "task", where)),
                builder=str(_require(entry, "builder", where)),
                sources=tuple(_require(entry, "sources", where)),  # type: ignore[arg-type]
                task_tag=str(entry.get("task_tag", "")),
                images=tuple(entry.get("images", ())),
                paraphrases=tuple(parsed),
                file=path.name,
            )
            if template.id in templates:
                raise TemplateError(f"{where}: duplicate template id {template.id!r}")
            templates[template.id] = template
    for entry, family, file_name, where in chains:
        ids = list(entry["chain"])  # type: ignore[call-overload]
        missing = [i for i in ids if i not in templates]
        if missing or len(ids) < 2:
            raise TemplateError(f"{where}: chain needs ≥ 2 known template ids (unknown {missing})")
        template = Template(
            id=str(_require(entry, "id", where)),
            family=family,
            task=str(_require(entry, "task", where)),
            builder="chain",
            sources=tuple(_require(entry, "sources", where)),  # type: ignore[arg-type]
            task_tag="",
            images=(),
            paraphrases=(),
            file=file_name,
            chain=tuple(templates[i] for i in ids),
        )
        if template.id in templates:
            raise TemplateError(f"{where}: duplicate template id {template.id!r}")
        templates[template.id] = template
    return [templates[k] for k in sorted(templates)]
