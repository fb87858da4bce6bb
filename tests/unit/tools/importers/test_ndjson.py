"""guildlog_tools.importers.ndjson: one message per line, Discord-shaped or flat."""

from __future__ import annotations

import json

from guildlog_tools.importers import source_for
from guildlog_tools.importers.runner import run_import
from tests.unit.tools.importers.conftest import MemoryStack, own


def test_ndjson_maps_api_shaped_line_to_message_row_when_line_is_a_discord_message(stack: MemoryStack) -> None:
    run_import(source_for("ndjson"), own("ndjson/messages.ndjson"), stack.sink)
    row = stack.row("import:message:1203300000000000001")
    assert (row["event_type"], row["source"], row["guild_id"], row["channel_id"], row["user_id"]) == (
        "MESSAGE_CREATE",
        "import",
        "800000000000000001",
        "800000000000000010",
        "800000000000000100",
    )
    assert row["content"] == "hello from the api shape"
    assert json.loads(row["attachments"])[0]["filename"] == "cat.png"


def test_ndjson_reads_flat_field_names_and_unix_time_when_line_is_not_api_shaped(stack: MemoryStack) -> None:
    run_import(source_for("ndjson", guild="800000000000000001"), own("ndjson/messages.ndjson"), stack.sink)
    row = stack.row("import:message:1203300000000000002")
    assert (row["channel_id"], row["user_id"], row["user_name"], row["content"]) == (
        "800000000000000010",
        "800000000000000101",
        "bo",
        "a flat record, unix time",
    )
    assert row["occurred_at"] == "2024-02-03T10:01:00.000Z"
    assert row["guild_id"] == "800000000000000001"


def test_ndjson_keeps_edit_time_as_update_row_when_line_has_edited_time(stack: MemoryStack) -> None:
    run_import(source_for("ndjson"), own("ndjson/messages.ndjson"), stack.sink)
    row = stack.row("import:message:1203300000000000002:edit:2024-02-03T10:05:00.000Z")
    assert (row["event_type"], row["occurred_at"]) == ("MESSAGE_UPDATE", "2024-02-03T10:05:00.000Z")


def test_ndjson_reports_path_and_line_when_lines_are_malformed(stack: MemoryStack) -> None:
    summary = run_import(source_for("ndjson"), own("ndjson/messages.ndjson"), stack.sink)
    assert summary.problems[0] == "messages.ndjson:3: line is not a JSON object"
    assert summary.problems[1].startswith("messages.ndjson:4: message id is not a snowflake")
    assert summary.problems[2].startswith("messages.ndjson:5: line is not JSON")
    assert (summary.read, summary.skipped_total) == (3, 3)
