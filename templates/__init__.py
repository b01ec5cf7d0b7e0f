"""Instruction templates, as data: one YAML file per task family in this folder.

Each file holds ``family`` and a list of ``templates``. A template names the ``builder`` that
computes its values from a sample's labels (:mod:`eoinstruct.pipeline.instructions.builders`),
the ``sources`` it applies to, its EarthDial ``task_tag``, the image roles it shows
(``images``; default: all of the sample's images, or as the builder decides), whether its
closed answers are ``balanced`` (the audit reports each answer value's share), and its
wording:

- ``questions``: the phrasings of the question (at least :data:`MIN_QUESTIONS`), and
- ``answers``: answer styles (``terse``, ``sentence``, ``explanatory``…; at least
  :data:`MIN_STYLES`), each a list of ``frames`` (answer format strings) and optional
  ``hints`` (one is appended to the question when the style is drawn, e.g. "Answer yes or
  no." for a terse answer).

A multi-turn template lists ``turns`` instead, each with its own ``id``, ``questions`` and
``answers``: one builder computes the values of every turn, so later turns can refer to
earlier answers ("Which of them…", "Where are they?"). The question, style, frame and hint
are seeded draws per (sample, template). :func:`load_templates` validates all of it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

from eoinstruct.pipeline.instructions.tags import check_task_tag

TEMPLATE_DIR = Path(__file__).resolve().parent

MIN_QUESTIONS = 12
"""Fewest question phrasings a turn may have."""

MIN_STYLES = 2
"""Fewest answer styles a turn may have."""


class TemplateError(ValueError):
    """A template file is malformed."""


def fields_of(text: str) -> set[str]:
    """Return the placeholder names of a format string."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@dataclass(frozen=True)
class AnswerStyle:
    """One way of answering: answer frames and optional hints appended to the question."""

    name: str
    frames: tuple[str, ...]
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnTemplate:
    """One question/answer exchange: its phrasings and answer styles."""

    id: str
    questions: tuple[str, ...]
    styles: tuple[AnswerStyle, ...]

    def fields(self) -> set[str]:
        """Return every placeholder used by the questions, hints and frames."""
        names: set[str] = set()
        for text in self.questions:
            names |= fields_of(text)
        for style in self.styles:
            for text in (*style.frames, *style.hints):
                names |= fields_of(text)
        return names

    def style(self, name: str) -> AnswerStyle:
        """Return the style of that name, or the first style when the turn lacks it."""
        return next((s for s in self.styles if s.name == name), self.styles[0])


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
    turns: tuple[TurnTemplate, ...]
    file: str
    balanced: bool = False

    @property
    def style_names(self) -> tuple[str, ...]:
        """The answer styles of the first turn (the ones drawn for the pair)."""
        return tuple(s.name for s in self.turns[0].styles)

    def digest(self) -> str:
        """A short hash of the template's whole wording (part of stage fingerprints)."""
        doc = [
            self.id,
            self.builder,
            self.task_tag,
            list(self.images),
            [
                [
                    t.id,
                    list(t.questions),
                    [[s.name, list(s.frames), list(s.hints)] for s in t.styles],
                ]
                for t in self.turns
            ],
        ]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:16]


def _require(entry: dict[str, object], key: str, where: str) -> object:
    if key not in entry or entry[key] in (None, "", []):
        raise TemplateError(f"{where}: missing {key!r}")
    return entry[key]


def _task_tag(entry: dict[str, object], where: str) -> str:
    try:
        return check_task_tag(str(entry.get("task_tag", "")), where)
    except ValueError as exc:
        raise TemplateError(str(exc)) from exc


def _strings(value: object, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TemplateError(f"{where}: {what} must be a list of non-empty strings")
    if len(set(value)) != len(value):
        raise TemplateError(f"{where}: {what} has duplicates")
    return tuple(value)


def _turn(entry: dict[str, object], where: str, turn_id: str) -> TurnTemplate:
    questions = _strings(_require(entry, "questions", where), where, "questions")
    if len(questions) < MIN_QUESTIONS:
        raise TemplateError(
            f"{where}: {len(questions)} question phrasings; at least {MIN_QUESTIONS} are needed"
        )
    answers = _require(entry, "answers", where)
    if not isinstance(answers, dict):
        raise TemplateError(f"{where}: answers must map style names to frames and hints")
    styles = []
    for name, spec in answers.items():
        if not isinstance(spec, dict) or set(spec) - {"frames", "hints"}:
            raise TemplateError(f"{where}: answer style {name!r} takes 'frames' and 'hints'")
        frames = _strings(_require(spec, "frames", f"{where}:{name}"), where, f"{name} frames")
        hints = _strings(spec["hints"], where, f"{name} hints") if spec.get("hints") else ()
        styles.append(AnswerStyle(str(name), frames, hints))
    if len(styles) < MIN_STYLES:
        raise TemplateError(f"{where}: {len(styles)} answer styles; at least {MIN_STYLES}")
    return TurnTemplate(turn_id, questions, tuple(styles))


def _template(entry: dict[str, object], family: str, file_name: str) -> Template:
    where = f"{file_name}:{entry.get('id', '?')}"
    unknown = set(entry) - {
        "id", "task", "builder", "sources", "task_tag", "images", "balanced",
        "questions", "answers", "turns",
    }  # fmt: skip
    if unknown:
        raise TemplateError(f"{where}: unknown keys {sorted(unknown)}")
    if "turns" in entry:
        raw = entry["turns"]
        if not isinstance(raw, list) or len(raw) < 2:
            raise TemplateError(f"{where}: turns must list at least 2 exchanges")
        turns = tuple(_turn(t, f"{where}:turn {i}", str(t.get("id", i))) for i, t in enumerate(raw))
        if len({t.id for t in turns}) != len(turns):
            raise TemplateError(f"{where}: turn ids repeat")
    else:
        turns = (_turn(entry, where, "main"),)
    return Template(
        id=str(_require(entry, "id", where)),
        family=family,
        task=str(_require(entry, "task", where)),
        builder=str(_require(entry, "builder", where)),
        sources=tuple(_require(entry, "sources", where)),  # type: ignore[arg-type]
        task_tag=_task_tag(entry, where),
        images=tuple(entry.get("images", ())),  # type: ignore[arg-type]
        turns=turns,
        file=file_name,
        balanced=bool(entry.get("balanced", False)),
    )


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (the same documents, parsed ~10x faster)."""


def load_templates(folder: Path = TEMPLATE_DIR) -> list[Template]:
    """Load and validate every ``*.yaml`` template file in a folder.

    Parsed once per process and folder state: the result is cached under the folder and every
    file's name, size and modification time, so ``eoinstruct all`` (generate, validate, the
    audit) parses the YAML once, and an edited, added or removed file is read again. The
    templates are frozen; each call returns a new list of them.

    Args:
        folder: The folder (default: this package).

    Returns:
        The templates, sorted by id.

    Raises:
        TemplateError: If a file is malformed or two templates share an id.
    """
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise TemplateError(f"no template files in {folder}")
    key = (str(folder.resolve()), tuple(_file_key(path) for path in files))
    return list(_load_cached(key, tuple(files)))


def _file_key(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return (path.name, stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=8)
def _load_cached(key: tuple[object, ...], files: tuple[Path, ...]) -> tuple[Template, ...]:
    """Parse and validate the files (``key``: the folder's state, for the cache only)."""
    del key
    templates: dict[str, Template] = {}
    for path in files:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        except yaml.YAMLError as exc:
            raise TemplateError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("templates"), list):
            raise TemplateError(f"{path.name}: expected 'family' and a list 'templates'")
        family = str(_require(doc, "family", path.name))
        for entry in doc["templates"]:
            if not isinstance(entry, dict):
                raise TemplateError(f"{path.name}: each template must be a mapping")
            template = _template(entry, family, path.name)
            if template.id in templates:
                raise TemplateError(f"{path.name}: duplicate template id {template.id!r}")
            templates[template.id] = template
    return tuple(templates[k] for k in sorted(templates))
