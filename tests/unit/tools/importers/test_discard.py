"""guildlog_tools.importers.discard: a Discard run folder's REST pages, gateway frames and metadata."""

from __future__ import annotations

from guildlog_tools.importers import source_for
from guildlog_tools.importers.runner import run_import
from tests.unit.tools.importers.conftest import MemoryStack, own

RUN = own("discard/20240203T101500_guild")
FIRST = "1203300000000000201"


def test_discard_puts_page_messages_in_their_own_days_partition_when_page_spans_midnight(stack: MemoryStack) -> None:
    run_import(source_for("discard"), RUN, stack.sink)
    first = stack.row(f"import:message:{FIRST}")
    assert (first["occurred_at"], first["guild_id"]) == ("2024-02-02T23:59:00.000Z", "800000000000000001")
    day_two = stack.archive.objects
    assert any(k.startswith("events/year=2024/month=02/day=02/") for k in day_two)
    assert stack.row("import:message:1203300000000000202")["received_at"] == "2024-02-03T10:15:05.000Z"


def test_discard_keeps_edit_time_when_page_message_was_edited(stack: MemoryStack) -> None:
    run_import(source_for("discard"), RUN, stack.sink)
    edit = stack.row(f"import:message:{FIRST}:edit:2024-02-03T00:10:00.000Z")
    assert (edit["event_type"], edit["occurred_at"]) == ("MESSAGE_UPDATE", "2024-02-03T00:10:00.000Z")


def test_discard_archives_gateway_dispatch_as_it_came_when_run_has_frames(stack: MemoryStack) -> None:
    run_import(source_for("discard"), RUN, stack.sink)
    joins = [line["event"] for line in stack.lines("raw") if line["event"]["t"] == "GUILD_MEMBER_ADD"]
    assert joins[0]["d"] == {
        "guild_id": "800000000000000001",
        "user": {"id": "800000000000000104", "username": "dee"},
        "joined_at": "2024-02-03T10:15:02.500000+00:00",
        "roles": [],
    }
    assert joins[0]["source"] == "import"


def test_discard_keeps_run_metadata_in_raw_archive_when_run_has_meta_files(stack: MemoryStack) -> None:
    run_import(source_for("discard"), RUN, stack.sink)
    meta = [line["event"]["d"] for line in stack.lines("raw") if line["event"]["t"] == "IMPORT_META"]
    files = sorted(m["file"] for m in meta)
    assert files == [
        "20240203T101500_guild/800000000000000001/800000000000000010.meta.json",
        "20240203T101500_guild/800000000000000001/guild.jsonl",
        "20240203T101500_guild/800000000000000001/guild.meta.json",
        "20240203T101500_guild/run.jsonl",
        "20240203T101500_guild/run.meta.json",
    ]


def test_discard_reads_gzipped_channel_file_when_file_is_gzip(stack: MemoryStack) -> None:
    summary = run_import(source_for("discard"), RUN / "800000000000000001" / "800000000000000010.jsonl.gz", stack.sink)
    assert summary.read == 3  # two messages, one of them edited


def test_discard_skips_control_frames_with_reason_when_run_has_hello(stack: MemoryStack) -> None:
    summary = run_import(source_for("discard"), RUN, stack.sink)
    assert summary.problems == [
        "run.jsonl:2: gateway frame that is not a received dispatch (hello, heartbeat, identify)"
    ]


def test_discard_shares_message_key_with_other_formats_when_dispatch_is_a_message_create(stack: MemoryStack) -> None:
    run_import(source_for("discard"), RUN, stack.sink)
    assert stack.row("import:message:1203300000000000203")["content"] == "live during the run"
