"""guildlog_tools.importers.dce: DiscordChatExporter JSON exports, streamed message by message."""

from __future__ import annotations

import json

from guildlog_tools.importers import source_for
from guildlog_tools.importers.runner import run_import
from tests.unit.tools.importers.conftest import DCE_SAMPLES, MemoryStack, need_shared_fixtures, own

EDITED = "1203300000000000101"


def test_dce_keeps_deleted_users_id_and_name_when_export_has_deleted_user(stack: MemoryStack) -> None:
    run_import(source_for("dce"), own("dce/deleted-user.json"), stack.sink)
    row = stack.row(f"import:message:{EDITED}")
    assert (row["user_id"], row["user_name"], row["guild_id"], row["channel_id"]) == (
        "456226577798135808",
        "Deleted User",
        "800000000000000001",
        "800000000000000010",
    )


def test_dce_adds_update_row_at_edit_time_when_message_was_edited(stack: MemoryStack) -> None:
    run_import(source_for("dce"), own("dce/deleted-user.json"), stack.sink)
    update = stack.row(f"import:message:{EDITED}:edit:2024-02-04T09:30:00.500Z")
    assert (update["event_type"], update["occurred_at"]) == ("MESSAGE_UPDATE", "2024-02-04T09:30:00.500Z")
    assert any(key.startswith("events/year=2024/month=02/day=04/") for key in stack.archive.objects)


def test_dce_maps_attachments_mentions_and_reply_when_message_has_them(stack: MemoryStack) -> None:
    run_import(source_for("dce"), own("dce/deleted-user.json"), stack.sink)
    edited = stack.row(f"import:message:{EDITED}")
    assert json.loads(edited["attachments"]) == [
        {"id": "1203300000000000901", "filename": "a.txt", "size": 12, "url": "https://cdn.example/a.txt"}
    ]
    assert json.loads(edited["details"])["mentions"] == ["800000000000000100"]
    reply = stack.row("import:message:1203300000000000102")
    assert json.loads(reply["details"])["reply_to"] == EDITED


def test_dce_keeps_reactions_in_raw_archive_when_message_has_reactions(stack: MemoryStack) -> None:
    run_import(source_for("dce"), own("dce/deleted-user.json"), stack.sink)
    raw = [line for line in stack.lines("raw") if line["event_id"] == f"import:message:{EDITED}"]
    assert raw[0]["event"]["d"]["reactions"][0]["emoji"]["name"] == "👍"
    assert raw[0]["event"]["d"]["reactions"][0]["count"] == 2


def test_dce_maps_system_message_type_when_message_is_a_join(stack: MemoryStack) -> None:
    run_import(source_for("dce"), own("dce/deleted-user.json"), stack.sink)
    assert json.loads(stack.row("import:message:1203300000000000103")["details"])["type"] == 7


def test_dce_keeps_messages_before_the_cut_and_reports_file_when_export_is_truncated(stack: MemoryStack) -> None:
    summary = run_import(source_for("dce"), own("dce/truncated.json"), stack.sink)
    assert summary.imported == 3  # the first message (create and edit) and the reply
    assert summary.problems[0].startswith("truncated.json: file is not in this format (not a JSON document")


def test_dce_skips_file_with_reason_when_file_is_not_an_export(stack: MemoryStack) -> None:
    summary = run_import(source_for("dce"), own("not-the-format.json"), stack.sink)
    assert summary.read == 0
    assert summary.problems == [
        "not-the-format.json: file is not in this format (no `channel` and no `messages`: "
        "not a DiscordChatExporter JSON export)"
    ]


def test_dce_imports_shared_samples_without_guild_for_direct_messages_when_read_in_place(stack: MemoryStack) -> None:
    need_shared_fixtures()
    summary = run_import(source_for("dce"), DCE_SAMPLES, stack.sink)
    dm = stack.row("import:message:538148765782114306")
    assert dm["guild_id"] is None and dm["channel_id"] == "530805775262679064"
    assert stack.row("import:message:447793085255123004")["user_name"] == "mlomb"
    # SV repeats its edited message (its create and its edit are duplicates); two calls have the id "100".
    assert (summary.duplicates, summary.skipped["message id is not a snowflake"]) == (2, 2)
