"""EventRow → CSV, in two dialects.

`render_csv` writes the archive's `events_csv/` objects: RFC 4180, one physical line per row, for
Athena. `render_export_csv` writes the file a person downloads (`/logs export`, `guildlog export`):
plain RFC 4180 that keeps the exact text, for spreadsheets and data tools.

The archive's dialect: Athena's OpenCSVSerDe cannot read a line break inside a quoted field, so CR and LF inside a
value are written as the two-character escapes `\\r` and `\\n` (a literal backslash is doubled
first, so the mapping is reversible). A NUL is written as `\\0`: the events_csv table's
OpenCSVSerDe uses NUL as its (disabled) escape character, which the file must then never contain.
A value that a spreadsheet would run as a formula (`= + - @`, tab, CR at the start) is prefixed
with a single quote, as OWASP advises.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable

from guildlog.models.row import ROW_FIELDS, EventRow

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Columns whose values are machine text (ids, ISO times, JSON): never formulas, so left as they are
# to stay parseable; `details` is JSON and starts with `{`.
_FREE_TEXT = frozenset({"content", "user_name", "reason", "attachments", "action"})


def escape_cell(value: str) -> str:
    """Fold line breaks into escapes and defuse spreadsheet formulas."""
    text = value.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0")
    if text.startswith(_FORMULA_PREFIXES):
        text = "'" + text
    return text


def unescape_cell(value: str) -> str:
    """The inverse of escape_cell's line-break folding (the formula quote is kept: it is data now)."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"n": "\n", "r": "\r", "0": "\0", "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _write(rows: Iterable[EventRow], free_text: Callable[[str], str], other: Callable[[str], str]) -> str:
    """A header row then one record per row, every field quoted, CRLF between records (RFC 4180);
    a null is an empty cell, free-text fields go through `free_text`, the others through `other`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(ROW_FIELDS)
    for row in rows:
        values = row.model_dump()
        writer.writerow(
            "" if values[name] is None else (free_text if name in _FREE_TEXT else other)(str(values[name]))
            for name in ROW_FIELDS
        )
    return buffer.getvalue()


def _escape_line_breaks(value: str) -> str:
    return value.replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0")


def render_csv(rows: Iterable[EventRow]) -> str:
    """The archive's CSV (`events_csv/`): no raw line break inside a field, for Athena's OpenCSVSerDe."""
    return _write(rows, escape_cell, _escape_line_breaks)


# A UTF-8 byte order mark: without it Excel reads a CSV file in the machine's legacy code page and
# garbles every non-ASCII name and emoji. Python's csv (encoding "utf-8-sig"), pandas and DuckDB skip it.
EXPORT_BOM = "\ufeff"
# Cells a spreadsheet evaluates whatever follows: `=`, `@` (a function in Excel), and a leading tab
# or CR (some spreadsheets strip them and evaluate the rest).
_ALWAYS_EVALUATED = ("=", "@", "\t", "\r")
# After a leading `+` or `-`, a spreadsheet evaluates an expression (an operator, a call, a range)
# or a name; plain text such as "-5 is negative" or "+1 for this" stays text, so it is left as it is.
_SIGNED_FORMULA = re.compile(r"^[+-](?:\s*[A-Za-z_$]|.*[-+=*/^&|!(<>%:])", re.DOTALL)


def neutralize_formula(value: str) -> str:
    """`value` with a leading `'` when a spreadsheet would run it as a formula, else unchanged."""
    if value.startswith(_ALWAYS_EVALUATED) or _SIGNED_FORMULA.match(value):
        return "'" + value
    return value


def render_export_csv(rows: Iterable[EventRow]) -> str:
    """The export a person downloads: a BOM, a header row, then one record per row.

    RFC 4180 (every field quoted, CRLF between records, line breaks kept inside their quoted
    field), so Python's csv, DuckDB, pandas and spreadsheets read back the exact text. The only
    change: a free-text cell that a spreadsheet would run as a formula starts with `'`.
    """
    return EXPORT_BOM + _write(rows, neutralize_formula, str)
