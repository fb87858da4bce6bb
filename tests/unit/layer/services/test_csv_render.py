"""guildlog.services.csv_render: the archive's CSV (RFC 4180, one physical line per row, for Athena)
and the export's (RFC 4180 with the exact text, for people and their tools); both spreadsheet-safe."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from guildlog.models.row import ROW_FIELDS, EventRow
from guildlog.services.csv_render import (
    EXPORT_BOM,
    escape_cell,
    neutralize_formula,
    render_csv,
    render_export_csv,
    unescape_cell,
)

# Values that break naive CSV writers, or Athena's line-based reader, or a spreadsheet.
PLAIN_VALUES = [
    pytest.param("line one\nline two", id="lf"),
    pytest.param("line one\r\nline two", id="crlf"),
    pytest.param("carriage\rreturn", id="lone-cr"),
    pytest.param("ends with a newline\n", id="trailing-lf"),
    pytest.param('she said "hi", then left', id="quotes-and-commas"),
    pytest.param('""', id="only-quotes"),
    pytest.param("a,b,,c", id="commas"),
    pytest.param("C:\\temp\\new", id="windows-path"),
    pytest.param("literal \\n is not a newline", id="backslash-n-text"),
    pytest.param("ends with a backslash\\", id="trailing-backslash"),
    pytest.param("nul\0inside", id="nul"),
    pytest.param("backslash zero \\0 is text", id="backslash-zero-text"),
    pytest.param('back\\"slash quote', id="backslash-before-quote"),
    pytest.param("party 🎉🧑‍🤝‍🧑", id="emoji"),
    pytest.param("שלום עולם", id="rtl"),
    pytest.param("你好，世界", id="cjk"),
    pytest.param("\u202eevil", id="rtl-override"),
    pytest.param("", id="empty"),
]
FORMULA_VALUES = [
    pytest.param("=cmd|' /C calc'!A0", id="dde-cmd"),
    pytest.param("+1", id="plus"),
    pytest.param("-2", id="minus"),
    pytest.param("@SUM(A1:A9)", id="at-sum"),
    pytest.param("\tleading tab", id="leading-tab"),
    pytest.param('=HYPERLINK("http://x")\n=2', id="formula-with-newline"),
]


def make_row(**fields: Any) -> EventRow:
    base: dict[str, Any] = {
        "event_id": "gw:s1:42",
        "batch_id": "batch-1",
        "source": "gateway",
        "event_type": "MESSAGE_CREATE",
        "category": "message",
        "action": "create",
        "occurred_at": "2026-03-01T12:00:00.000Z",
        "received_at": "2026-03-01T12:00:00.120Z",
        "seq": 42,
        "shard_id": 0,
        "guild_id": "100000000000000001",
        "channel_id": "100000000000000002",
        "user_id": "100000000000000003",
        "message_id": "100000000000000004",
        "user_name": "alice",
        "content": "hello",
    }
    return EventRow(**{**base, **fields})


def physical_lines(text: str) -> list[str]:
    """The file's lines as a line-based reader (Athena's OpenCSVSerDe) sees them."""
    assert text.endswith("\r\n")
    return text[: -len("\r\n")].split("\r\n")


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def cell(text: str, column: str, row_index: int = 0) -> str:
    return parse(text)[1 + row_index][ROW_FIELDS.index(column)]


def test_render_csv_writes_row_fields_as_header_when_rendering() -> None:
    text = render_csv([make_row()])

    assert tuple(parse(text)[0]) == ROW_FIELDS


def test_render_csv_writes_only_the_header_when_there_are_no_rows() -> None:
    text = render_csv([])

    assert physical_lines(text) == [",".join(f'"{name}"' for name in ROW_FIELDS)]


@pytest.mark.parametrize("value", PLAIN_VALUES + FORMULA_VALUES)
def test_render_csv_writes_one_physical_line_per_row_when_content_is_tricky(value: str) -> None:
    text = render_csv([make_row(content=value, user_name=value, reason=value), make_row(event_id="gw:s1:43")])

    lines = physical_lines(text)
    assert len(lines) == 3
    assert not any("\n" in line or "\r" in line for line in lines)


@pytest.mark.parametrize("value", PLAIN_VALUES + FORMULA_VALUES)
def test_render_csv_parses_back_to_every_column_when_content_is_tricky(value: str) -> None:
    text = render_csv([make_row(content=value), make_row(event_id="gw:s1:43")])

    parsed = parse(text)
    assert [len(r) for r in parsed] == [len(ROW_FIELDS)] * 3
    assert parsed[2][ROW_FIELDS.index("content")] == "hello"


@pytest.mark.parametrize("value", PLAIN_VALUES)
def test_render_csv_round_trips_through_unescape_cell_when_value_is_not_a_formula(value: str) -> None:
    text = render_csv([make_row(content=value, user_name=value, reason=value)])

    for column in ("content", "user_name", "reason"):
        assert unescape_cell(cell(text, column)) == value


@pytest.mark.parametrize("value", FORMULA_VALUES)
def test_render_csv_prefixes_a_quote_when_value_starts_like_a_formula(value: str) -> None:
    text = render_csv([make_row(content=value, user_name=value, reason=value)])

    for column in ("content", "user_name", "reason"):
        written = cell(text, column)
        assert written.startswith("'")
        assert unescape_cell(written) == "'" + value


@pytest.mark.parametrize("value", ["hello", "'quoted already", "1+1", "a=b", " =spaced"])
def test_escape_cell_leaves_the_start_alone_when_value_does_not_start_like_a_formula(value: str) -> None:
    assert escape_cell(value) == value


def test_render_csv_writes_empty_cells_when_optional_fields_are_none() -> None:
    text = render_csv([make_row(seq=None, shard_id=None, user_id=None, content=None, user_name=None)])

    for column in ("seq", "shard_id", "user_id", "content", "user_name", "reason", "attachments", "actor_id"):
        assert cell(text, column) == ""


def test_render_csv_writes_the_number_when_an_int_field_is_zero() -> None:
    text = render_csv([make_row(seq=0, shard_id=3)])

    assert (cell(text, "seq"), cell(text, "shard_id")) == ("0", "3")


def test_render_csv_keeps_details_parseable_when_details_hold_awkward_json() -> None:
    details = {"text": 'multi\nline "quoted", with \\ and \r\n', "emoji": "🎉", "nested": {"ids": ["1", "2"]}, "n": -5}
    encoded = json.dumps(details, separators=(",", ":"), ensure_ascii=False)
    text = render_csv([make_row(details=encoded)])

    assert len(physical_lines(text)) == 2
    assert json.loads(cell(text, "details")) == details


def test_render_csv_keeps_one_line_per_row_when_a_machine_column_holds_a_line_break() -> None:
    # An import's natural key is the sender's text; the event id carries it.
    text = render_csv([make_row(event_id="import:first\nsecond\rthird")])

    assert len(physical_lines(text)) == 2
    assert len(parse(text)[1]) == len(ROW_FIELDS)


def test_escape_cell_is_undone_by_unescape_cell_when_value_mixes_backslashes_and_breaks() -> None:
    value = "\\\\n\n\\r\r\\"

    assert unescape_cell(escape_cell(value)) == value


def test_render_csv_writes_no_nul_when_any_column_holds_one() -> None:
    # The events_csv table disables OpenCSVSerDe's escape character by setting it to NUL.
    row = make_row(event_id="import:a\0b", content="x\0y", user_name="\0", reason="r\0")

    text = render_csv([row])

    assert "\0" not in text
    assert unescape_cell(parse(text)[1][ROW_FIELDS.index("content")]) == "x\0y"


def test_render_csv_is_read_by_duckdb_when_every_column_is_varchar(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    tricky = [p.values[0] for p in PLAIN_VALUES + FORMULA_VALUES]
    rows = [make_row(event_id=f"gw:s1:{i}", content=value, user_name=value) for i, value in enumerate(tricky)]
    path = tmp_path / "events.csv"
    path.write_text(render_csv(rows), encoding="utf-8", newline="")

    with duckdb.connect() as db:
        found = db.execute("SELECT * FROM read_csv(?, header = true, all_varchar = true)", [str(path)])
        columns = tuple(column[0] for column in found.description)
        found_rows = found.fetchall()

    assert columns == ROW_FIELDS
    assert len(found_rows) == len(tricky)
    content = ROW_FIELDS.index("content")
    assert [unescape_cell(r[content] or "") for r in found_rows] == [
        ("'" + v if escape_cell(v).startswith("'") else v) for v in tricky
    ]


# --- the export a person downloads ---------------------------------------------------------------

# Text that starts like a formula but that a spreadsheet keeps as text: the export leaves it alone.
SIGNED_TEXT_VALUES = [
    pytest.param("-5 is negative", id="minus-number-words"),
    pytest.param("+1 for this", id="plus-one"),
    pytest.param("-5", id="negative-number"),
    pytest.param("+1.5", id="signed-decimal"),
    pytest.param("+1", id="plus"),
    pytest.param("-2", id="minus"),
]
SIGNED_FORMULA_VALUES = [
    pytest.param("-2+3+cmd|' /C calc'!A0", id="dde-after-minus"),
    pytest.param("+A1", id="reference"),
    pytest.param("-SUM(A1:A2)", id="call"),
    pytest.param("- item", id="name"),
    pytest.param("-1+1", id="arithmetic"),
]
EXACT_VALUES = PLAIN_VALUES + SIGNED_TEXT_VALUES


def export_rows(values: list[str]) -> list[EventRow]:
    return [
        make_row(event_id=f"gw:s1:{i}", seq=i, content=value, user_name=value, reason=value, attachments=None)
        for i, value in enumerate(values)
    ]


def expected_cells(rows: list[EventRow]) -> list[list[str]]:
    """Every cell as the export must read back: the row's own text, "" for None."""
    return [["" if v is None else str(v) for v in (r.model_dump()[name] for name in ROW_FIELDS)] for r in rows]


@pytest.mark.parametrize("value", SIGNED_FORMULA_VALUES + [p for p in FORMULA_VALUES if p.id not in ("plus", "minus")])
def test_neutralize_formula_prefixes_a_quote_when_a_spreadsheet_would_run_the_value(value: str) -> None:
    assert neutralize_formula(value) == "'" + value


@pytest.mark.parametrize("value", EXACT_VALUES)
def test_neutralize_formula_keeps_the_text_when_a_spreadsheet_would_show_it_as_text(value: str) -> None:
    assert neutralize_formula(value) == value


def test_render_export_csv_keeps_line_breaks_inside_quoted_fields_when_content_has_them() -> None:
    text = render_export_csv([make_row(content="line one\nline two")])

    assert '"line one\nline two"' in text and "\\n" not in text


def test_render_export_csv_starts_with_a_utf8_bom_and_the_header_when_rendering() -> None:
    text = render_export_csv([])

    assert text == EXPORT_BOM + ",".join(f'"{name}"' for name in ROW_FIELDS) + "\r\n"


def test_render_export_csv_neutralizes_only_free_text_when_a_cell_would_run_as_a_formula() -> None:
    row = make_row(content="=1+1", user_name="@everyone", details='{"k":"=x"}')

    [values] = parse(render_export_csv([row]).removeprefix(EXPORT_BOM))[1:]

    by_name = dict(zip(ROW_FIELDS, values, strict=True))
    assert (by_name["content"], by_name["user_name"], by_name["details"]) == ("'=1+1", "'@everyone", '{"k":"=x"}')


def test_render_export_csv_reads_back_the_exact_text_when_read_with_python_csv(tmp_path: Path) -> None:
    rows = export_rows([p.values[0] for p in EXACT_VALUES])
    path = tmp_path / "export.csv"
    path.write_text(render_export_csv(rows), encoding="utf-8", newline="")

    with path.open(encoding="utf-8-sig", newline="") as f:
        header, *found = list(csv.reader(f))

    assert tuple(header) == ROW_FIELDS and found == expected_cells(rows)


def test_render_export_csv_reads_back_the_exact_text_when_read_with_duckdb(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    rows = export_rows([p.values[0] for p in EXACT_VALUES])
    path = tmp_path / "export.csv"
    path.write_text(render_export_csv(rows), encoding="utf-8", newline="")

    with duckdb.connect() as db:
        found = db.execute("SELECT * FROM read_csv(?, all_varchar = true)", [str(path)])
        columns = tuple(column[0] for column in found.description)
        cells = [["" if v is None else v for v in r] for r in found.fetchall()]

    assert columns == ROW_FIELDS and cells == expected_cells(rows)


def test_render_export_csv_reads_back_the_exact_text_when_read_with_pandas(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    rows = export_rows([p.values[0] for p in EXACT_VALUES])
    path = tmp_path / "export.csv"
    path.write_text(render_export_csv(rows), encoding="utf-8", newline="")

    frame = pandas.read_csv(path, dtype=str, keep_default_na=False)

    assert tuple(frame.columns) == ROW_FIELDS and frame.to_numpy().tolist() == expected_cells(rows)
