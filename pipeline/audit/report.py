"""Run the audit over pairs and sum it up per template: flags, balance, duplicates, variety.

:func:`audit_items` runs, for each pair, the family rule of its template (:data:`RULES`;
a template without one counts as *unchecked*) and the generic checks (:mod:`.checks`), and
tallies per template (:class:`TemplateTally`):

- ``pairs``, ``flagged`` (pairs with at least one problem) and ``codes`` (pairs per problem
  code: the code's first part, two parts for ``metadata_answer:…`` and ``grammar:…``);
- ``unchecked``: template pairs whose template has no rule;
- ``duplicates``: pairs with the same sample, question texts and answers as an earlier pair
  (across templates; counted where the later pair belongs);
- variety: distinct question texts (the first question, tags stripped, hashed), distinct
  phrasings (``paraphrase_id``), answer styles drawn, and one-word answers (the first answer
  is a single word once ``<ref>``/boxes and final punctuation are removed);
- **answer balance** of a template marked ``balanced: true``: the *answer value* of a pair is
  ``yes`` or ``no`` when its first answer starts with that word and its first question is a
  yes/no question; otherwise, for a ``terse``
  answer (or one without a style), the answer itself, lower-cased, without final ``.``/``!``;
  otherwise (a sentence) the one terse value of the same template that the sentence contains
  as a whole phrase (none or several: the pair is *unmatched* and left out of the shares).
  The shares are taken over the matched pairs.

A report is additive (:meth:`AuditReport.merge`), so the validate stage audits each partition
on its own and sums the partitions' reports (a sample's pairs are all in one partition, so
duplicates are found within partitions). :meth:`AuditReport.violations` compares it with
the ``audit`` section of ``params.yaml``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.audit.checks import clean, generic_problems, is_yes_no_question
from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules import RULES, Rule

if TYPE_CHECKING:
    from eoinstruct.pipeline.settings import AuditSettings

CAPTIONER = "captioner"
"""Family (and kind) of the captioner's pairs."""

MAX_EXAMPLES = 3
"""Flagged pairs kept per template as examples (pair id and codes)."""


class AuditError(ValueError):
    """The audit found more than ``params.yaml`` ``audit`` allows (one line, worst first)."""


@dataclass(frozen=True)
class TemplateInfo:
    """What the report needs to know of a template: its family and whether it is balanced."""

    family: str
    balanced: bool = False


def template_infos() -> dict[str, TemplateInfo]:
    """Family and ``balanced`` flag of every template of the package, by template id."""
    from eoinstruct.templates import load_templates

    return {t.id: TemplateInfo(t.family, t.balanced) for t in load_templates()}


def code_key(code: str) -> str:
    """The part of a problem code that is counted: ``grammar:article``, ``wrong_yes_no``."""
    parts = code.split(":")
    keep = 2 if parts[0] in {"metadata_answer", "grammar"} else 1
    return ":".join(parts[:keep])


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=8192)  # a template's pairs share a few phrasings
def _question_hash(question: str) -> str:
    """The hash a first question is counted by (distinct questions): ``_hash(question)``."""
    return _hash(question)


@functools.lru_cache(maxsize=4096)
def _whole_word(value: str) -> re.Pattern[str]:
    """The whole-word pattern of one answer value, compiled once."""
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")


_SPACES = re.compile(r"\s+")
_YES_NO = re.compile(r"(yes|no)\b", re.IGNORECASE)


def _norm_value(text: str) -> str:
    return _SPACES.sub(" ", text.strip().rstrip(".!").strip().lower())


@functools.lru_cache(maxsize=16384)  # answers repeat
def answer_value(answer: str, style: str, question: str = "") -> tuple[str, bool]:
    """Return the balance value of a first answer, and whether it is final.

    Args:
        answer: The answer text.
        style: Its answer style.
        question: Its question (a leading No of "No damage" answers no yes/no question).

    Returns:
        ``("yes"|"no", True)``; ``(terse answer normalised, True)``; or, for a sentence,
        ``(sentence normalised, False)``: to be matched against the template's terse values.
    """
    text = clean(answer)
    found = _YES_NO.match(text)
    if found and (not question or is_yes_no_question(question)):
        return found.group(1).lower(), True
    return _norm_value(text), style in {"terse", ""}


@functools.lru_cache(maxsize=16384)  # answers repeat
def is_one_word(answer: str) -> bool:
    """Whether an answer is a single word (tags and final punctuation removed)."""
    words = clean(answer).rstrip(".!?").split()
    return len(words) == 1


@dataclass
class TemplateTally:
    """The audit's counts for one template (see the module docstring)."""

    family: str
    task: str
    kind: str
    balanced: bool = False
    pairs: int = 0
    flagged: int = 0
    unchecked: int = 0
    duplicates: int = 0
    one_word: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    styles: Counter[str] = field(default_factory=Counter)
    phrasings: set[int] = field(default_factory=set)
    questions: set[str] = field(default_factory=set)
    values: Counter[str] = field(default_factory=Counter)
    sentences: Counter[str] = field(default_factory=Counter)
    examples: list[list[str]] = field(default_factory=list)

    def merge(self, other: TemplateTally) -> None:
        """Add another tally of the same template."""
        for name in ("pairs", "flagged", "unchecked", "duplicates", "one_word"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("codes", "styles", "values", "sentences"):
            getattr(self, name).update(getattr(other, name))
        self.phrasings |= other.phrasings
        self.questions |= other.questions
        self.examples = (self.examples + other.examples)[:MAX_EXAMPLES]

    def balance(self) -> tuple[dict[str, int], int]:
        """Pairs per answer value (sentences matched to the terse values) and unmatched."""
        counts = Counter(self.values)
        vocabulary = sorted(
            (v for v in self.values if v not in {"yes", "no"}), key=len, reverse=True
        )
        unmatched = 0
        for text, n in self.sentences.items():
            hits = [v for v in vocabulary if v in text and _whole_word(v).search(text)]
            hits = [v for v in hits if not any(v != h and v in h for h in hits)]
            if len(hits) == 1:
                counts[hits[0]] += n
            else:
                unmatched += n
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), unmatched

    def max_answer_share(self) -> float | None:
        """The largest answer value's share of the matched pairs (None: none matched)."""
        counts, _ = self.balance()
        total = sum(counts.values())
        return max(counts.values()) / total if total else None

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """Plain data: ``full`` keeps the sets and counters needed to merge; else a summary."""
        data: dict[str, Any] = {
            "family": self.family,
            "task": self.task,
            "kind": self.kind,
            "balanced": self.balanced,
            "pairs": self.pairs,
            "flagged": self.flagged,
            "unchecked": self.unchecked,
            "duplicates": self.duplicates,
            "one_word": self.one_word,
            "codes": dict(sorted(self.codes.items())),
            "styles": dict(sorted(self.styles.items())),
            "examples": self.examples,
        }
        if full:
            data.update(
                phrasings=sorted(self.phrasings),
                questions=sorted(self.questions),
                values=dict(sorted(self.values.items())),
                sentences=dict(sorted(self.sentences.items())),
            )
            return data
        data.update(phrasings=len(self.phrasings), distinct_questions=len(self.questions))
        if self.balanced:
            counts, unmatched = self.balance()
            share = self.max_answer_share()
            data["balance"] = {
                "values": counts,
                "unmatched": unmatched,
                "max_answer_share": None if share is None else round(share, 4),
            }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemplateTally:
        """Read :meth:`to_dict` (``full``) back."""
        return cls(
            family=str(data["family"]),
            task=str(data["task"]),
            kind=str(data["kind"]),
            balanced=bool(data["balanced"]),
            pairs=int(data["pairs"]),
            flagged=int(data["flagged"]),
            unchecked=int(data["unchecked"]),
            duplicates=int(data["duplicates"]),
            one_word=int(data["one_word"]),
            codes=Counter(data["codes"]),
            styles=Counter(data["styles"]),
            phrasings={int(p) for p in data["phrasings"]},
            questions=set(data["questions"]),
            values=Counter(data["values"]),
            sentences=Counter(data["sentences"]),
            examples=[list(e) for e in data["examples"]],
        )


class AuditReport:
    """The audit of a set of pairs, per template (see the module docstring).

    Args:
        infos: Template id → family and balance flag (default: the package's templates).
        rules: Template id → rule (default: :data:`RULES`).
    """

    def __init__(
        self,
        infos: Mapping[str, TemplateInfo] | None = None,
        rules: Mapping[str, Rule] | None = None,
    ) -> None:
        self.infos = dict(template_infos() if infos is None else infos)
        self._rules = rules  # None: the registry, looked up when used (a step stays picklable)
        self.templates: dict[str, TemplateTally] = {}
        self._seen: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()

    @property
    def rules(self) -> Mapping[str, Rule]:
        """Template id → rule."""
        return RULES if self._rules is None else self._rules

    def _tally(self, item: AuditItem) -> TemplateTally:
        tally = self.templates.get(item.template_id)
        if tally is None:
            kind = "template" if item.is_template else CAPTIONER
            info = self.infos.get(item.template_id)
            family = CAPTIONER if kind == CAPTIONER else (info.family if info else item.task)
            balanced = bool(info and info.balanced and kind == "template")
            tally = TemplateTally(family=family, task=item.task, kind=kind, balanced=balanced)
            self.templates[item.template_id] = tally
        return tally

    def problems(self, item: AuditItem) -> list[str]:
        """The problems of one pair: its template's rule, then the generic checks."""
        found: list[str] = []
        rule = self.rules.get(item.template_id) if item.is_template else None
        if rule is not None:
            try:
                found += rule(item)
            except Exception as exc:  # a rule's bug must show, not stop the build
                found.append(f"rule_error:{type(exc).__name__}")
        found += generic_problems(item)
        return list(dict.fromkeys(found))

    def add(self, item: AuditItem) -> list[str]:
        """Audit one pair and count it.

        Args:
            item: The pair.

        Returns:
            Its problems (empty: none).
        """
        found = self.problems(item)
        tally = self._tally(item)
        tally.pairs += 1
        if item.is_template and item.template_id not in self.rules:
            tally.unchecked += 1
        if found:
            tally.flagged += 1
            tally.codes.update({code_key(code) for code in found})
            if len(tally.examples) < MAX_EXAMPLES:
                tally.examples.append([item.pair_id, *found])
        key = (item.sample_id, item.questions, item.answers)  # equal tuples: equal texts
        if key in self._seen:
            tally.duplicates += 1
        self._seen.add(key)
        tally.styles[item.answer_style or "unknown"] += 1
        tally.phrasings.add(item.paraphrase_id)
        if item.questions:
            tally.questions.add(_question_hash(item.questions[0]))
        if item.answers:
            tally.one_word += is_one_word(item.answers[0])
            if tally.balanced:
                question = item.questions[0] if item.questions else ""
                value, final = answer_value(item.answers[0], item.answer_style, question)
                (tally.values if final else tally.sentences)[value] += 1
        return found

    def merge(self, other: AuditReport) -> AuditReport:
        """Add another report's counts (of other samples) to this one; return self."""
        for template_id, tally in other.templates.items():
            if template_id in self.templates:
                self.templates[template_id].merge(tally)
            else:
                self.templates[template_id] = tally
        return self

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """Plain data (``full``: mergeable, for the partitions' files; else the summary)."""
        return {
            "templates": {k: self.templates[k].to_dict(full=full) for k in sorted(self.templates)},
            **({} if full else {"totals": self.totals(), "families": self.families()}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        """Read a full :meth:`to_dict` back."""
        report = cls(infos={}, rules={})
        report.templates = {
            k: TemplateTally.from_dict(v) for k, v in dict(data["templates"]).items()
        }
        return report

    def _kind(self, kind: str) -> list[TemplateTally]:
        return [t for t in self.templates.values() if t.kind == kind]

    def totals(self) -> dict[str, dict[str, Any]]:
        """Pairs, flagged pairs and their share, codes, duplicates, unchecked: per kind."""
        out: dict[str, dict[str, Any]] = {}
        for kind in ("template", CAPTIONER):
            tallies = self._kind(kind)
            pairs = sum(t.pairs for t in tallies)
            flagged = sum(t.flagged for t in tallies)
            codes: Counter[str] = Counter()
            for t in tallies:
                codes.update(t.codes)
            out[kind] = {
                "pairs": pairs,
                "flagged": flagged,
                "share": round(flagged / pairs, 4) if pairs else 0.0,
                "codes": dict(codes.most_common()),
                "duplicates": sum(t.duplicates for t in tallies),
                "unchecked": sum(t.unchecked for t in tallies),
            }
        return out

    def families(self) -> dict[str, dict[str, Any]]:
        """Per family: pairs, templates, distinct questions and phrasings, styles, one-word."""
        out: dict[str, dict[str, Any]] = {}
        for template_id in sorted(self.templates):
            tally = self.templates[template_id]
            row = out.setdefault(
                tally.family,
                {"pairs": 0, "templates": 0, "questions": 0, "phrasings": 0, "one_word": 0,
                 "flagged": 0, "styles": Counter()},
            )  # fmt: skip
            row["pairs"] += tally.pairs
            row["templates"] += 1
            row["questions"] += len(tally.questions)
            row["phrasings"] += len(tally.phrasings)
            row["one_word"] += tally.one_word
            row["flagged"] += tally.flagged
            row["styles"].update(tally.styles)
        for row in out.values():
            row["styles"] = dict(sorted(row["styles"].items()))
            row["one_word_share"] = round(row["one_word"] / row["pairs"], 4) if row["pairs"] else 0
        return dict(sorted(out.items()))

    def to_metrics(self) -> dict[str, dict[str, Any]]:
        """The DVC metrics: a few numbers per file, few distinct keys (a narrow table).

        Returns:
            Path relative to the metrics folder → content: ``audit/template.json``
            (``pairs``, ``flagged``, ``share`` flagged) and ``audit/balance/<template>.json``
            (``pairs`` matched, ``max_answer_share``) for each balanced template; when
            they are not zero (so that ``dvc metrics show`` stays short),
            ``audit/captioner.json`` (as for templates), ``audit/duplicates.json`` and
            ``audit/unchecked.json`` (``pairs``, ``share`` of all audited pairs).
        """
        totals = self.totals()
        everything = sum(t["pairs"] for t in totals.values())
        files: dict[str, dict[str, Any]] = {}
        for kind, row in totals.items():
            if kind == "template" or row["pairs"]:
                files[f"audit/{kind}.json"] = {
                    "pairs": row["pairs"],
                    "flagged": row["flagged"],
                    "share": row["share"],
                }
        for name in ("duplicates", "unchecked"):
            n = sum(t[name] for t in totals.values())
            if n:
                share = round(n / everything, 4) if everything else 0.0
                files[f"audit/{name}.json"] = {"pairs": n, "share": share}
        for template_id, tally in sorted(self.templates.items()):
            if tally.balanced:
                counts, _ = tally.balance()
                share = tally.max_answer_share()
                files[f"audit/balance/{template_id}.json"] = {
                    "pairs": sum(counts.values()),
                    "max_answer_share": round(share, 4) if share is not None else 0.0,
                }
        return files

    def violations(self, settings: AuditSettings) -> list[str]:
        """What exceeds the limits of ``params.yaml`` ``audit``, worst codes named.

        Args:
            settings: The limits.

        Returns:
            One short message per violation (empty: within limits).
        """
        found = []
        limits = {
            "template": settings.max_flagged_rate,
            CAPTIONER: settings.max_flagged_rate_captioner,
        }
        for kind, row in self.totals().items():
            if row["pairs"] and row["flagged"] / row["pairs"] > limits[kind]:
                worst = ", ".join(f"{c} {n}" for c, n in list(row["codes"].items())[:3])
                found.append(
                    f"{row['flagged']} of {row['pairs']} {kind} pairs flagged "
                    f"({row['flagged'] / row['pairs']:.1%} > {limits[kind]:.1%}: {worst})"
                )
        for template_id, tally in sorted(self.templates.items()):
            if not tally.balanced:
                continue
            counts, _ = tally.balance()
            total = sum(counts.values())
            share = tally.max_answer_share()
            if total >= settings.balance_min_pairs and share and share > settings.max_answer_share:
                top = next(iter(counts))
                found.append(
                    f"{template_id} answers {top!r} in {share:.0%} of {total} pairs "
                    f"(> {settings.max_answer_share:.0%})"
                )
        return found

    def check(self, settings: AuditSettings) -> None:
        """Raise :class:`AuditError` (one line) if the report exceeds the limits."""
        found = self.violations(settings)
        if found:
            raise AuditError("audit: " + "; ".join(found))


def audit_items(
    items: Iterable[AuditItem],
    infos: Mapping[str, TemplateInfo] | None = None,
    rules: Mapping[str, Rule] | None = None,
) -> AuditReport:
    """Audit pairs.

    Args:
        items: The pairs, as the audit sees them.
        infos: Template id → family and balance flag (default: the package's templates).
        rules: Template id → rule (default: :data:`RULES`).

    Returns:
        The report.
    """
    report = AuditReport(infos, rules)
    for item in items:
        report.add(item)
    return report
