"""What a query returns on either engine, and how the CLI prints it (table, CSV or JSON)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

# Athena's on-demand price: USD 5 per TB scanned (10^12 bytes), at least 10 MB per query.
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BYTES = 10 * 1024 * 1024
_TABLE_CELL = 60


@dataclass
class QueryResult:
    """Columns and rows of one query, with what it cost to read.

    `bytes_scanned` is Athena's DataScannedInBytes, or locally the bytes DuckDB fetched from S3;
    `objects_read` is how many S3 objects the local engine fetched (None on Athena).
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]
    engine: str
    bytes_scanned: int = 0
    objects_read: int | None = None
    elapsed_seconds: float = 0.0
    execution_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def athena_cost_usd(self) -> float:
        """What Athena bills for this many bytes (the 10 MB minimum applies to every query)."""
        return max(self.bytes_scanned, ATHENA_MIN_BYTES) / 1e12 * ATHENA_USD_PER_TB

    def summary(self) -> str:
        """One line: rows, bytes read, cost or objects, time."""
        parts = [f"{len(self.rows)} row{'s' if len(self.rows) != 1 else ''}"]
        if self.engine == "athena":
            parts.append(f"{human_bytes(self.bytes_scanned)} scanned ({self.bytes_scanned} bytes)")
            parts.append(f"cost ${self.athena_cost_usd():.6f}")
        else:
            parts.append(f"{human_bytes(self.bytes_scanned)} read from {self.objects_read or 0} S3 object(s)")
        parts.append(f"{self.elapsed_seconds:.2f} s on {self.engine}")
        return ", ".join(parts)


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def render(result: QueryResult, output_format: str = "table") -> str:
    """The result as text: `table` (aligned, long cells cut), `csv` (RFC 4180) or `json` (an array)."""
    if output_format == "json":
        return json.dumps(result.records(), ensure_ascii=False, indent=2, default=str) + "\n"
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(["" if v is None else v for v in row] for row in result.rows)
        return buffer.getvalue()
    if output_format != "table":
        raise ValueError(f"unknown output format {output_format!r}")
    return render_table(result.columns, result.rows)


def render_table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= _TABLE_CELL else text[: _TABLE_CELL - 1] + "…"
