"""EventRow → CSV: RFC 4180, one physical line per row, safe to open in a spreadsheet.

Athena's OpenCSVSerDe cannot read a line break inside a quoted field, so CR and LF inside a
value are written as the two-character escapes `\\r` and `\\n` (a literal backslash is doubled
first, so the mapping is reversible). A NUL is written as `\\0`: the events_csv table's
OpenCSVSerDe uses NUL as its (disabled) escape character, which the file must then never contain.
A value that a spreadsheet would run as a formula (`= + - @`, tab, CR at the start) is prefixed
with a single quote, as OWASP advises.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

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


def render_csv(rows: Iterable[EventRow]) -> str:
    """A header row then one line per row, every field quoted, CRLF line ends (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(ROW_FIELDS)
    for row in rows:
        values = row.model_dump()
        cells = []
        for name in ROW_FIELDS:
            value = values[name]
            if value is None:
                cells.append("")
            elif name in _FREE_TEXT:
                cells.append(escape_cell(str(value)))
            else:
                cells.append(str(value).replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0"))
        writer.writerow(cells)
    return buffer.getvalue()
