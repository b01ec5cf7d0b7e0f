"""One CSV row read strictly: a malformed row is an error, never text in a label.

Sources whose index files are CSV (SkyScript's captions, STARCOP's tables) read each row with
:func:`strict_row`, so a NUL byte, a stray quote or an unbalanced one fails that row's unit
instead of reaching a label or joining the rows after it.
"""

from __future__ import annotations

import csv
import io


def strict_row(text: str) -> list[str]:
    """Parse one CSV record (one line, or several joined by a quoted line break).

    Args:
        text: The record's text.

    Returns:
        Its cells.

    Raises:
        csv.Error: If the text is not exactly one well-formed row: a bad quote in a quoted
            cell (``strict``), a record spanning several rows (an unbalanced quote joins the
            following lines), a NUL byte, or a quote inside an unquoted cell (which
            :mod:`csv` would take literally; a quoted cell's escaped ``""`` is fine).
    """
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    if len(rows) > 1:
        raise csv.Error(f"unbalanced quote: the record spans {len(rows)} rows")
    row = rows[0] if rows else []
    if "\x00" in text:
        raise csv.Error("NUL byte in the record")
    if any('"' in cell for cell in row) and '""' not in text:
        raise csv.Error("stray quote inside an unquoted cell")
    return row
