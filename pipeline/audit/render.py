"""The audit as tables: plain text for ``eoinstruct audit``, HTML for the build report."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from eoinstruct.pipeline.audit.report import AuditReport, TemplateTally


def _top_codes(tally: TemplateTally, n: int = 3) -> str:
    codes = sorted(tally.codes.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{code} {count}" for code, count in codes) or "-"


def _balance(tally: TemplateTally) -> str:
    if not tally.balanced:
        return ""
    counts, unmatched = tally.balance()
    total = sum(counts.values())
    if not total:
        return "no values"
    shown = [f"{value} {n / total:.0%}" for value, n in list(counts.items())[:4]]
    more = ", …" if len(counts) > 4 else ""
    text = f"{', '.join(shown)}{more} of {total}"
    return text + (f" ({unmatched} unmatched)" if unmatched else "")


def template_rows(report: AuditReport) -> list[list[str]]:
    """One row per template: id, family, pairs, flagged, unchecked, top codes, balance."""
    rows = []
    for template_id, tally in sorted(
        report.templates.items(), key=lambda kv: (kv[1].family, kv[0])
    ):
        rows.append(
            [
                template_id,
                tally.family,
                str(tally.pairs),
                str(tally.flagged),
                str(tally.unchecked),
                _top_codes(tally),
                _balance(tally),
            ]
        )
    return rows


TEMPLATE_HEADER = ("template", "family", "pairs", "flagged", "unchecked", "top codes", "balance")
FAMILY_HEADER = ("family", "pairs", "templates", "questions", "phrasings", "one-word", "styles")


def family_rows(report: AuditReport) -> list[list[str]]:
    """One row per family: pairs, templates, distinct questions, phrasings, one-word, styles."""
    rows = []
    for family, row in report.families().items():
        styles = ", ".join(f"{k} {v}" for k, v in row["styles"].items())
        rows.append(
            [
                family,
                str(row["pairs"]),
                str(row["templates"]),
                str(row["questions"]),
                str(row["phrasings"]),
                f"{row['one_word_share']:.0%}",
                styles,
            ]
        )
    return rows


def _text_table(header: Sequence[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [list(header), *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def text_report(report: AuditReport, violations: Sequence[str] = ()) -> str:
    """The audit as plain-text tables (per template, per family) and a verdict line.

    Args:
        report: The audit.
        violations: What exceeds the limits (:meth:`AuditReport.violations`).

    Returns:
        The text.
    """
    totals = report.totals()
    lines = [
        _text_table(TEMPLATE_HEADER, template_rows(report)),
        "",
        _text_table(FAMILY_HEADER, family_rows(report)),
        "",
    ]
    for kind, row in totals.items():
        if row["pairs"]:
            lines.append(
                f"{kind} pairs: {row['pairs']}, flagged {row['flagged']} ({row['share']:.1%}), "
                f"duplicates {row['duplicates']}, unchecked {row['unchecked']}"
            )
    lines.append("audit: " + ("; ".join(violations) if violations else "within the limits"))
    return "\n".join(lines) + "\n"


def _html_table(header: Sequence[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table class='audit'><tr>{head}</tr>{body}</table>"


def html_report(report: AuditReport, violations: Sequence[str] = ()) -> str:
    """The audit as HTML: totals, the per-family variety table and the per-template table.

    Args:
        report: The audit of the corpus.
        violations: What exceeds the limits.

    Returns:
        An HTML fragment (a heading, paragraphs and two tables).
    """
    totals: dict[str, Any] = report.totals()
    parts = ["<h2>Audit</h2>"]
    for kind, row in totals.items():
        if row["pairs"]:
            parts.append(
                f"<p>{html.escape(kind)} pairs: {row['pairs']}, flagged {row['flagged']} "
                f"(0 expected: the validate stage rejects flagged pairs), duplicates "
                f"{row['duplicates']}, without a family rule {row['unchecked']}.</p>"
            )
    if violations:
        parts.append(f"<p><b>Above the limits:</b> {html.escape('; '.join(violations))}</p>")
    parts.append("<h3>Variety per family</h3>")
    parts.append(_html_table(FAMILY_HEADER, family_rows(report)))
    parts.append("<h3>Per template (balance: the most frequent answer of a balanced template)</h3>")
    parts.append(_html_table(TEMPLATE_HEADER, template_rows(report)))
    return "\n".join(parts)
